// Shared start-up for the Python workers: load Pyodide from our own origin, load the wasm
// wheels, install the filterlab package into the in-memory file system, and serve requests.
//
// The request/response schema is the one written down in app/bridge.js. Requests run one at a
// time, in order; a request cancelled before it starts is dropped without running.

const PY_SOURCES = import.meta.glob("/py/filterlab/**/*.py", {
  query: "?raw",
  import: "default",
  eager: true,
});
const SHADER_SOURCES = import.meta.glob("/shaders/**/*.wgsl", {
  query: "?raw",
  import: "default",
  eager: true,
});

const SITE = "/home/pyodide";
export const SHADER_DIR = "/home/pyodide/shaders";

function emit(event, detail = {}) {
  self.postMessage({ event, ...detail });
}

function writeTree(FS, sources, stripPrefix, root) {
  for (const [path, text] of Object.entries(sources)) {
    const target = `${root}/${path.slice(stripPrefix.length)}`;
    FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    FS.writeFile(target, text);
  }
}

/** Start Pyodide and import `filterlab.worker_api`; report each named phase as it happens. */
export async function startPython({ pyodideURL }) {
  const started = performance.now();
  const phase = (name, label) =>
    emit("phase", { phase: name, label, ms: Math.round(performance.now() - started) });

  phase("runtime", "Starting the Python runtime");
  const { loadPyodide } = await import(/* @vite-ignore */ `${pyodideURL}pyodide.mjs`);
  const pyodide = await loadPyodide({ indexURL: pyodideURL, fullStdLib: false });

  phase("packages", "Loading NumPy and Pillow");
  await pyodide.loadPackage(["numpy", "pillow"], { messageCallback: () => {} });

  phase("filterlab", "Loading the filterlab package");
  writeTree(pyodide.FS, PY_SOURCES, "/py/", SITE);
  writeTree(pyodide.FS, SHADER_SOURCES, "/shaders/", SHADER_DIR);
  // Look every entry point up once and keep it: each attribute access on a PyProxy makes a
  // new proxy. These few live as long as the worker.
  const module = pyodide.pyimport("filterlab.worker_api");
  const names = module.ENTRY_POINTS;
  const api = Object.fromEntries(names.toJs().map((name) => [name, module[name]]));
  names.destroy();
  return { pyodide, api, phase, elapsed: () => Math.round(performance.now() - started) };
}

/** Turn anything thrown by Python or JS into the bridge's error shape. */
export function toError(err) {
  const text = String(err?.message ?? err);
  // A PythonError's message is the whole traceback, ending in "module.Type: message", and the
  // message itself may run over several lines (GPU validation errors do).
  const lines = text.trim().split("\n");
  const kind = err?.type;
  const head = kind ? lines.findLastIndex((line) => new RegExp(`^(?:[\\w.]+\\.)?${kind}: `).test(line)) : -1;
  if (head >= 0) {
    const message = [lines[head].slice(lines[head].indexOf(": ") + 2), ...lines.slice(head + 1)].join("\n");
    return { kind, message, detail: text };
  }
  const match = /^([\w.]+): ([\s\S]*)$/.exec(lines[lines.length - 1] ?? "");
  if (match) return { kind: kind ?? match[1].split(".").pop(), message: match[2], detail: text };
  if (kind) {
    const message = kind === "MemoryError" ? "The browser ran out of memory." : lines[lines.length - 1];
    return { kind, message, detail: text };
  }
  return { kind: err?.name ?? "Error", message: text };
}

/**
 * Serve bridge requests with `handlers[method](args)`, one at a time.
 * A handler returns `{ result, transfer }` or a plain result.
 */
export function serve(handlers) {
  const queued = new Set();
  const cancelled = new Set();
  let queue = Promise.resolve();
  self.onmessage = (e) => {
    const msg = e.data;
    if (msg.cancel !== undefined) {
      if (queued.has(msg.cancel)) cancelled.add(msg.cancel);
      return;
    }
    const { id, method, args } = msg;
    queued.add(id);
    queue = queue.then(async () => {
      queued.delete(id);
      if (cancelled.delete(id)) {
        self.postMessage({ id, ok: false, error: { kind: "AbortError", message: "superseded" } });
        return;
      }
      try {
        const handler = handlers[method];
        if (!handler) throw new Error(`unknown method ${method}`);
        const out = await handler(args ?? {});
        const wrapped = out !== null && typeof out === "object" && "result" in out;
        const { result, transfer = [] } = wrapped ? out : { result: out };
        self.postMessage({ id, ok: true, result }, transfer);
      } catch (err) {
        self.postMessage({ id, ok: false, error: toError(err) });
      } finally {
        cancelled.delete(id);
      }
    });
  };
}

export { emit };
