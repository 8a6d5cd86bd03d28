// The one RPC layer between the page and the Python workers.
//
// Message schema (structured-clone objects):
//   page -> worker   { id, method, args, channel? } a request: `method` is a key of the worker's
//                                                  table in filterlab.worker_api (GPU_METHODS,
//                                                  REFERENCE_METHODS), `args` its keyword
//                                                  arguments, named as the Python parameters
//                                                  are; the first request is "init"
//                                                  ({ pyodideURL, ... })
//                    { cancel: id }                drop request `id` if it has not started
//   worker -> page   { id, ok: true, result }      the request's result (camelCase records)
//                    { id, ok: false, error }      error = { kind, message, detail? }
//                    { event, ...detail }          unsolicited: "phase" (start-up progress,
//                                                  { phase, label, ms }) and device events
// Workers run requests one at a time, in order, each in its own task, so a cancel sent while
// one runs is seen before the next starts. A request with a `channel` supersedes the requests
// of that channel still waiting in the worker: they never start (they answer AbortError).
// Every typed array and ImageBitmap in a result is transferred, not copied; pixels sent to a
// worker are transferred when the caller says so.
//
// Every call takes an optional AbortSignal. Aborting rejects the call at once with an
// AbortError and tells the worker to skip it if it has not started; a request already running
// in Python finishes there, and its result is dropped. If a worker dies (a crash, or Pyodide's
// fatal error), every pending call rejects with a WorkerCrashed error and `onCrash` is called.

export class WorkerError extends Error {
  constructor({ kind = "Error", message = "unknown error", detail } = {}) {
    super(message);
    this.name = kind;
    this.detail = detail;
  }
}

export function abortError() {
  return new DOMException("superseded by a newer request", "AbortError");
}

export class WorkerClient {
  /**
   * @param {Worker} worker
   * @param {(event: object) => void} onEvent   unsolicited events
   * @param {(error: WorkerError) => void} onCrash   the worker died
   */
  constructor(worker, onEvent = () => {}, onCrash = () => {}) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    this.dead = null;
    this.onCrash = onCrash;
    worker.onmessage = (e) => {
      const msg = e.data;
      if (msg.event) {
        if (msg.event === "fatal") this.crash(msg.message);
        else onEvent(msg);
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
      e.preventDefault?.();
      this.crash(e.message ?? "unknown error");
    };
  }

  /** Mark the worker dead: reject every pending call, and say so once. */
  crash(reason) {
    if (this.dead) return;
    this.dead = new WorkerError({ kind: "WorkerCrashed", message: `The worker stopped: ${reason}` });
    for (const entry of this.pending.values()) {
      entry.cleanup();
      entry.reject(this.dead);
    }
    this.pending.clear();
    this.worker.terminate();
    this.onCrash(this.dead);
  }

  /** Call `method` in the worker. */
  call(method, args = {}, { signal, transfer = [], channel } = {}) {
    if (this.dead) return Promise.reject(this.dead);
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
      this.worker.postMessage({ id, method, args, channel }, transfer);
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

  abort() {
    this.controller?.abort();
  }
}

export const isAbort = (err) => err?.name === "AbortError";

/** Resolve after `ms`, or reject with an AbortError when `signal` aborts first. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
