// The reference pool: Pyodide workers that compute the NumPy reference tile by tile
// (filterlab.worker_api.REFERENCE_METHODS). It starts after the GPU path is ready, so it never
// delays the first frame, and a worker that dies is replaced.
import { WorkerClient } from "./bridge.js";

// Memory a reference worker may need: Pyodide with NumPy and Pillow, plus a few tiles.
const WORKER_BUDGET_MB = 400;

/**
 * How many reference workers this browser should run: one per core, leaving one for the page
 * and one for the GPU worker; at least one; no more than the device's memory allows
 * (navigator.deviceMemory, which browsers report in GiB, capped at 8).
 */
export function poolSize(nav = navigator) {
  const cores = nav.hardwareConcurrency || 2;
  const memoryMb = (nav.deviceMemory || 4) * 1024;
  return Math.max(1, Math.min(cores - 2, Math.floor(memoryMb / WORKER_BUDGET_MB)));
}

export class ReferencePool extends EventTarget {
  constructor(pyodideURL, size = poolSize()) {
    super();
    this.pyodideURL = pyodideURL;
    this.size = size;
    this.workers = []; // { client, outstanding, ready }
    this.ready = null;
  }

  /** Start every worker; `ready` resolves once at least one can take tiles. */
  start() {
    const starts = Array.from({ length: this.size }, (_, i) => this.spawn(i));
    this.ready = Promise.any(starts).then(() => this).catch(() => {
      throw new Error("No reference worker could start.");
    });
    this.ready.catch(() => {});
    Promise.allSettled(starts).then(() => this.dispatchEvent(new Event("started")));
    return this.ready;
  }

  async spawn(i) {
    const worker = new Worker(new URL("./workers/reference.worker.js", import.meta.url),
      { type: "module", name: `reference-${i}` });
    const slot = { client: null, outstanding: 0, ready: false, index: i };
    slot.client = new WorkerClient(worker, () => {}, () => {
      slot.ready = false;
      this.dispatchEvent(new CustomEvent("crashed", { detail: { index: i } }));
      this.spawn(i); // a fresh worker takes its place
    });
    this.workers[i] = slot;
    await slot.client.call("init", { pyodideURL: this.pyodideURL });
    slot.ready = true;
    this.dispatchEvent(new CustomEvent("worker-ready", { detail: { index: i } }));
    return slot;
  }

  /** The ready worker with the fewest tiles outstanding, or null. */
  idlest(limit) {
    let best = null;
    for (const slot of this.workers) {
      if (slot?.ready && slot.outstanding < limit && (!best || slot.outstanding < best.outstanding)) best = slot;
    }
    return best;
  }

  get readyCount() {
    return this.workers.filter((slot) => slot?.ready).length;
  }

  /** Every ready worker's counters: tiles checked and wasm memory (its peak) in bytes. */
  async stats() {
    return Promise.all(this.workers.filter((s) => s?.ready).map((s) => s.client.call("stats")));
  }
}
