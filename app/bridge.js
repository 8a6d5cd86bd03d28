// The one RPC layer between the page and the Python workers.
//
// Message schema (structured-clone objects):
//   page -> worker   { id, method, args }          a request: `method` is a key of the worker's
//                                                  table in filterlab.worker_api (GPU_METHODS,
//                                                  CPU_METHODS), `args` its keyword arguments,
//                                                  named as the Python parameters are; the first
//                                                  request is "init" ({ pyodideURL, ... })
//                    { cancel: id }                drop request `id` if it has not started
//   worker -> page   { id, ok: true, result }      the request's result (camelCase records)
//                    { id, ok: false, error }      error = { kind, message, detail? }
//                    { event, ...detail }          unsolicited: "phase" (start-up progress,
//                                                  { phase, label, ms }) and device events
// Workers run requests one at a time, in order. Every typed array and ImageBitmap in a result
// is transferred, not copied; pixels sent to a worker are transferred when the caller says so.
//
// Every call takes an optional AbortSignal. Aborting rejects the call at once with an
// AbortError and tells the worker to skip it if it has not started; a request already running
// in Python finishes there, and its result is dropped.

export class WorkerError extends Error {
  constructor({ kind = "Error", message = "unknown error", detail } = {}) {
    super(message);
    this.name = kind;
    this.detail = detail;
  }
}

function abortError() {
  return new DOMException("superseded by a newer request", "AbortError");
}

export class WorkerClient {
  /** @param {Worker} worker  @param {(event: object) => void} onEvent */
  constructor(worker, onEvent = () => {}) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    worker.onmessage = (e) => {
      const msg = e.data;
      if (msg.event) {
        onEvent(msg);
        return;
      }
      const entry = this.pending.get(msg.id);
      if (!entry) return;
      this.pending.delete(msg.id);
      entry.cleanup();
      if (msg.ok) entry.resolve(msg.result);
      else entry.reject(msg.error?.kind === "AbortError" ? abortError() : new WorkerError(msg.error));
    };
    worker.onerror = (e) => {
      const err = new WorkerError({ kind: "WorkerCrashed", message: `The worker failed: ${e.message ?? "unknown error"}` });
      for (const entry of this.pending.values()) {
        entry.cleanup();
        entry.reject(err);
      }
      this.pending.clear();
      onEvent({ event: "crashed", message: err.message });
    };
  }

  /** Call `method` in the worker. */
  call(method, args = {}, { signal, transfer = [] } = {}) {
    if (signal?.aborted) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        this.worker.postMessage({ cancel: id });
        reject(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const cleanup = () => signal?.removeEventListener("abort", onAbort);
      this.pending.set(id, { resolve, reject, cleanup });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }
}

/**
 * Latest wins: each `run(fn)` aborts the previous run's signal, so a newer slider value
 * supersedes older pending work.
 */
export class Latest {
  constructor() {
    this.controller = null;
  }

  run(fn) {
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    return fn(controller.signal);
  }
}

export const isAbort = (err) => err?.name === "AbortError";
