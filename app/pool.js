// The reference pool: Pyodide workers that compute the NumPy reference tile by tile
// (filterlab.worker_api.REFERENCE_METHODS). It starts after the GPU path is ready, so it never
// delays the first frame. Each worker decodes the current image itself, once, and takes tiles
// of it once it has; a worker that dies is replaced and given the image again.
import { WorkerClient } from "./bridge.js";

// Memory a reference worker may need: Pyodide with NumPy and Pillow, plus a few tiles.
const WORKER_BUDGET_MB = 400;
// Memory all the workers' copies of an image (native samples) may take together; large images
// are verified by fewer workers.
const IMAGES_BUDGET_MB = 2048;

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
    this.workers = []; // { client, outstanding, started, image, index }
    this.ready = null;
    this.image = null; // { id, bytes, workers }: the current image and how many workers take it
  }

  /** Start every worker; `ready` resolves once at least one has started. */
  start() {
    const starts = Array.from({ length: this.size }, (_, i) => this.spawn(i));
    this.ready = Promise.any(starts).then(() => this).catch(() => {
      throw new Error("No reference worker could start.");
    });
    this.ready.catch(() => {});
    return this.ready;
  }

  async spawn(i) {
    const worker = new Worker(new URL("./workers/reference.worker.js", import.meta.url),
      { type: "module", name: `reference-${i}` });
    const slot = { client: null, outstanding: 0, started: false, image: null, index: i };
    slot.client = new WorkerClient(worker, () => {}, () => {
      slot.started = false;
      this.dispatchEvent(new CustomEvent("crashed", { detail: { index: i } }));
      this.spawn(i); // a fresh worker takes its place
    });
    this.workers[i] = slot;
    await slot.client.call("init", { pyodideURL: this.pyodideURL });
    slot.started = true;
    this.give(slot);
    return slot;
  }

  /**
   * Make `bytes` (an encoded image file) the image the workers verify, as image `id`. Every
   * worker decodes it itself; it takes tiles once it has. Images too large for every worker
   * to hold a copy go to fewer workers.
   */
  setImage(bytes, id, nativeBytes) {
    const workers = Math.max(1, Math.min(this.size, Math.floor(IMAGES_BUDGET_MB * 2 ** 20 / nativeBytes)));
    this.image = { id, bytes, workers };
    for (const slot of this.workers) if (slot?.started) this.give(slot);
  }

  /** Give a started worker the current image, if it is one of the image's workers. */
  async give(slot) {
    const image = this.image;
    if (!image || slot.index >= image.workers || slot.image === image.id) return;
    slot.image = null;
    try {
      await slot.client.call("load", { data: new Uint8Array(image.bytes), image: image.id }, { channel: "load" });
    } catch (err) {
      // Superseded by a newer image, or the worker died (and is being replaced); anything
      // else means the worker cannot decode what the GPU worker could, which verification
      // must hear about rather than wait for.
      if (err.name !== "AbortError" && err.name !== "WorkerCrashed" && this.image?.id === image.id) {
        image.failure = err;
        this.dispatchEvent(new CustomEvent("worker-failed", { detail: { index: slot.index, error: err } }));
      }
      return;
    }
    if (this.image?.id !== image.id) return;
    slot.image = image.id;
    this.dispatchEvent(new CustomEvent("worker-ready", { detail: { index: slot.index } }));
  }

  /** The workers that hold the current image. */
  get holders() {
    return this.workers.filter((slot) => slot?.started && slot.image !== null && slot.image === this.image?.id);
  }

  /** Resolves once a worker holds the current image (rejects when `signal` aborts). */
  imageReady(signal) {
    if (this.holders.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = () => {
        this.removeEventListener("worker-ready", done);
        this.removeEventListener("worker-failed", failed);
      };
      const done = () => {
        if (!this.holders.length) return;
        stop();
        resolve();
      };
      const failed = ({ detail }) => {
        stop();
        reject(detail.error);
      };
      this.addEventListener("worker-ready", done);
      this.addEventListener("worker-failed", failed);
      signal?.addEventListener("abort", () => {
        stop();
        reject(new DOMException("superseded", "AbortError"));
      }, { once: true });
    });
  }

  /** The holder of the current image with the fewest tiles outstanding, or null. */
  idlest(limit) {
    let best = null;
    for (const slot of this.holders) {
      if (slot.outstanding < limit && (!best || slot.outstanding < best.outstanding)) best = slot;
    }
    return best;
  }

  get readyCount() {
    return this.holders.length;
  }

  /** Every started worker's counters: tiles checked and wasm memory (its peak) in bytes. */
  async stats() {
    return Promise.all(this.workers.filter((s) => s?.started).map((s) => s.client.call("stats")));
  }
}
