// Shared bootstrap of the Python workers: load Pyodide from our own origin, load the wasm
// wheels, install the filterlab package into the in-memory file system, then serve one of
// filterlab.worker_api's method tables. The message schema is the one app/bridge.js writes down.

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
const SHADER_DIR = "/home/pyodide/shaders"; // filterlab.worker_api reads the shaders here

export function emit(event, detail = {}) {
  self.postMessage({ event, ...detail });
}

function writeTree(FS, sources, stripPrefix, root) {
  for (const [path, text] of Object.entries(sources)) {
    const target = `${root}/${path.slice(stripPrefix.length)}`;
    FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    FS.writeFile(target, text);
  }
}

/**
 * Start Pyodide and import filterlab.worker_api; report each named phase as it happens.
 * `early`, "module:function", names an async function awaited before that import (which is
 * long and holds the worker), to start work the browser can do meanwhile.
 */
async function startPython(pyodideURL, tableName, early) {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const phase = (name, label) => emit("phase", { phase: name, label, ms: elapsed() });

  // NumPy and Pillow download while the runtime starts, not after it, so a slow network
  // fetches them beside the runtime's own files. Served from the same machine, the two orders
  // start in the same time (bench.html?mode=startup).
  phase("runtime", "Starting Python with NumPy and Pillow");
  const { loadPyodide } = await import(/* @vite-ignore */ `${pyodideURL}pyodide.mjs`);
  const titles = { numpy: "NumPy", pillow: "Pillow" };
  const packages = Object.keys(titles);
  const pyodide = await loadPyodide({ indexURL: pyodideURL, fullStdLib: false, packages });
  // A package that failed to load is only logged by loadPyodide: say so here, not as an
  // import error later.
  const loaded = new Set(Object.keys(pyodide.loadedPackages).map((name) => name.toLowerCase()));
  const missing = packages.filter((name) => !loaded.has(name));
  if (missing.length) throw new Error(`${missing.map((name) => titles[name]).join(" and ")} could not be loaded.`);

  phase("filterlab", "Loading the filterlab package");
  writeTree(pyodide.FS, PY_SOURCES, "/py/", SITE);
  writeTree(pyodide.FS, SHADER_SOURCES, "/shaders/", SHADER_DIR);
  if (early) {
    const [name, fn] = early.split(":");
    await pyodide.runPythonAsync(`import ${name}\nawait ${name}.${fn}()`);
  }
  // Look every method up once and keep it: each attribute access on a PyProxy makes a new
  // proxy. These few live as long as the worker.
  const module = pyodide.pyimport("filterlab.worker_api");
  const table = module[tableName];
  const methods = new Map();
  for (const name of table.keys()) methods.set(name, table.get(name));
  table.destroy();
  module.destroy();
  return { pyodide, methods, phase, elapsed };
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

/** Every transferable in a result: whole buffers of typed arrays, and ImageBitmaps. */
function transferables(value, found = new Set()) {
  if (value instanceof ImageBitmap) {
    found.add(value);
  } else if (ArrayBuffer.isView(value)) {
    // Only arrays that own their whole buffer (fresh copies, never a view of wasm memory).
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) found.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) transferables(item, found);
  } else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) transferables(item, found);
  }
  return found;
}

const defined = (args) => Object.fromEntries(Object.entries(args ?? {}).filter(([, v]) => v !== undefined));

// A task boundary: lets the worker's pending messages (cancels, newer requests) arrive before
// the next request starts. A MessageChannel tick is much quicker than setTimeout(0).
const nextTask = () => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    channel.port1.close();
    resolve();
  };
  channel.port2.postMessage(null);
});

/**
 * Serve `filterlab.worker_api.<table>` in this worker. The first request must be `init`
 * ({ pyodideURL, ...arguments of the table's own `init`, if it has one }); `initPhase` names
 * the start-up phase that the table's `init` makes up. Requests run one at a time, in order,
 * each in its own task; a request cancelled or superseded on its channel before it starts is
 * answered with an AbortError and never reaches Python.
 *
 * Methods named in `concurrent` do not wait their turn: once the worker has started, each
 * starts as it arrives and runs beside the others, interleaving at its awaits. They must
 * keep every GPU error scope they push free of awaits. `early` is startPython's.
 */
export function serveWorker(tableName, initPhase = null, { concurrent = [], early = null } = {}) {
  const waiting = []; // requests not started yet, in order
  const beside = new Set(concurrent);
  let py = null;
  let busy = false;

  async function init({ pyodideURL, ...args }) {
    py = await startPython(pyodideURL, tableName, early);
    let result = {};
    if (py.methods.has("init")) {
      if (initPhase) py.phase(...initPhase);
      result = await py.methods.get("init").callKwargs(defined(args));
    }
    emit("phase", { phase: "ready", label: "Ready", ms: py.elapsed() });
    return result;
  }

  async function handle(method, args) {
    if (method === "init") return init(args);
    if (!py) throw new Error("The worker has not started yet.");
    const fn = py.methods.get(method);
    if (!fn) throw new Error(`unknown method ${method}`);
    return fn.callKwargs(defined(args));
  }

  const abort = (id) => self.postMessage({ id, ok: false, error: { kind: "AbortError", message: "superseded" } });

  async function drain() {
    if (busy) return;
    busy = true;
    try {
      while (waiting.length) {
        await nextTask(); // cancels and newer requests sent meanwhile are in `waiting` now
        const request = waiting.shift();
        if (!request) break;
        if (!(await serve(request))) return;
      }
    } finally {
      busy = false;
    }
  }

  /** Run one request and post its answer; false once Python has stopped for good. */
  async function serve({ id, method, args }) {
    try {
      const result = await handle(method, args);
      self.postMessage({ id, ok: true, result }, [...transferables(result)]);
    } catch (err) {
      if (isFatal(err)) {
        emit("fatal", { message: "Python suffered a fatal error and stopped." });
        return false;
      }
      self.postMessage({ id, ok: false, error: toError(err) });
    }
    return true;
  }

  self.onmessage = (e) => {
    const msg = e.data;
    if (msg.cancel !== undefined) {
      const at = waiting.findIndex((r) => r.id === msg.cancel);
      if (at >= 0) abort(waiting.splice(at, 1)[0].id);
      return;
    }
    if (py && beside.has(msg.method)) {
      serve(msg);
      return;
    }
    if (msg.channel) {
      for (let i = waiting.length - 1; i >= 0; i--) {
        if (waiting[i].channel === msg.channel) abort(waiting.splice(i, 1)[0].id);
      }
    }
    waiting.push(msg);
    drain();
  };
}

/** Whether Pyodide can no longer run Python after `err` (its fatal_error() marks it so). */
function isFatal(err) {
  return err?.pyodide_fatal_error === true || /Pyodide already fatally failed/.test(String(err?.message ?? err));
}
