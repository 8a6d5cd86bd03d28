// The app's state machine on the main thread: one image, one chain, the GPU worker and the
// reference pool. The UI and window.filterlab both go through here, so scripts see exactly
// what users see.
//
// A parameter change takes the GPU path only: the GPU worker runs the chain and presents the
// frame, with nothing read back and nothing waited for on the CPU. Verification starts once
// the input has been idle for a moment (or at once when a script asks), runs in the reference
// pool tile by tile, and is cancelled by the next change.
import { isAbort, Latest, sleep, WorkerClient } from "./bridge.js";
import { ReferencePool } from "./pool.js";
import { Verifier } from "./verifier.js";

const PYODIDE_URL = new URL("pyodide/", document.baseURI).href;
// Milliseconds since the epoch on the clock the page and its workers share.
const epochMs = () => performance.timeOrigin + performance.now();

export class Session extends EventTarget {
  constructor() {
    super();
    this.gpuInfo = { available: false, adapter: null, reason: "starting" };
    this.image = null; // { info, bytes, name, id }
    this.chain = [];
    this.defaults = null; // filterlab.worker_api.defaults(): tolerance, the heatmap's rule
    this.latestGpu = new Latest();
    this.verifying = new Latest();
    this.recovering = null;
    this.lateTimings = new Map(); // run id -> resolve, for runs that returned before the GPU was done
    this.costs = {}; // main-thread time per event and page task (debug "costs")
  }

  emit(type, detail) {
    const started = performance.now();
    this.dispatchEvent(new CustomEvent(type, { detail }));
    this.spent(type, performance.now() - started);
  }

  /** Count main-thread time spent on `what` (an event's listeners, or page work by name). */
  spent(what, ms) {
    const cost = (this.costs[what] ??= { count: 0, ms: 0 });
    cost.count++;
    cost.ms += ms;
  }

  /** Start the GPU worker; resolves when it is ready. The reference pool starts after it. */
  async start() {
    await this.startGpu();
    [this.catalog, this.defaults] = await Promise.all([this.gpu.call("ops"), this.gpu.call("defaults")]);
    this.pool = new ReferencePool(PYODIDE_URL);
    this.pool.addEventListener("worker-ready", () => this.emit("pool", { ready: this.pool.readyCount, size: this.pool.size }));
    this.pool.addEventListener("crashed", () => this.emit("notice", {
      message: "A reference worker stopped; a fresh one took its place and the check carries on.",
    }));
    this.verifier = new Verifier(this.gpu, this.pool);
    this.pool.start().catch((err) => this.emit("notice", { message: err.message, level: "error" }));
    return this;
  }

  async startGpu() {
    const onEvent = (msg) => {
      if (msg.event === "timings") {
        this.emit("gpu-timings", msg);
        this.lateTimings.get(msg.run)?.(msg.timings);
        this.lateTimings.delete(msg.run);
        return;
      }
      // when each start-up phase began, in ms since the page began loading
      if (msg.event === "phase") this.phaseTimes.push({ phase: msg.phase, at: Math.round(performance.now()) });
      this.emit(msg.event, { worker: "gpu", ...msg });
    };
    this.phaseTimes = [{ phase: "worker", at: Math.round(performance.now()) }];
    const worker = new Worker(new URL("./workers/gpu.worker.js", import.meta.url), { type: "module", name: "gpu" });
    this.gpu = new WorkerClient(worker, onEvent, () => {
      for (const resolve of this.lateTimings.values()) resolve({});
      this.lateTimings.clear();
      this.recover();
    });
    if (this.verifier) this.verifier.gpu = this.gpu;
    const allowed = "gpu" in navigator && Boolean(navigator.gpu);
    this.gpuInfo = await this.gpu.call("init", { pyodideURL: PYODIDE_URL, allowed });
  }

  /**
   * The GPU worker died (a crash, or Python's fatal error): start a fresh one, give it the
   * current image, run the current chain again, and say so.
   */
  recover() {
    if (this.recovering) return this.recovering;
    this.emit("notice", { message: "The GPU worker stopped; restarting it…", level: "warn" });
    this.recovering = (async () => {
      try {
        await this.startGpu();
        if (this.image) await this.gpu.call("load", { data: new Uint8Array(this.image.bytes) });
        this.emit("notice", {
          message: "The GPU worker stopped and was restarted; your image and chain are restored.",
          level: "warn",
        });
        this.emit("recovered", {});
      } catch (err) {
        this.emit("notice", { message: `The GPU worker could not be restarted: ${err.message}`, level: "error" });
      } finally {
        this.recovering = null;
      }
    })();
    return this.recovering;
  }

  /** Calls into the GPU worker wait for a restart in progress, and survive one once. */
  async gpuCall(method, args, options) {
    if (this.recovering) await this.recovering;
    try {
      return await this.gpu.call(method, args, options);
    } catch (err) {
      if (err.name !== "WorkerCrashed") throw err;
      await this.recover();
      throw err;
    }
  }

  /**
   * Decode `bytes` (an encoded image file, called `name`) in the GPU worker and make it the
   * current image. Pending work for the old image is dropped; if the file is refused, the old
   * image stays.
   */
  async loadImage(bytes, name = "image") {
    this.verifying.abort();
    this.latestGpu.abort();
    this.emit("decoding", {});
    const out = await this.gpuCall("load", { data: new Uint8Array(bytes) }, { channel: "load" });
    this.imageId = (this.imageId ?? 0) + 1;
    this.image = { info: out.info, bytes, name, id: this.imageId };
    const { width, height, channels, bitDepth } = out.info;
    const sample = bitDepth > 16 ? 4 : bitDepth > 8 ? 2 : 1;
    this.pool.setImage(bytes, this.imageId, width * height * channels * sample);
    this.emit("image", out);
    return out.info;
  }

  /**
   * The current chain's result as a PNG file (Uint8Array): the GPU result when there is a GPU,
   * else the CPU reference. `bits` is 8 or 16.
   */
  async exportPng(bits = 8) {
    const chain = JSON.stringify(this.chain);
    if (this.gpuInfo.available) return this.gpuCall("export", { chain, bits });
    const { pixels } = await this.verifier.run({ chain, pixels: true });
    return this.gpuCall("encode", { pixels, bits }, { transfer: [pixels.buffer] });
  }

  /**
   * Run `chain` on the GPU and present it, then verify it against the reference.
   *
   * Options: `compare` (verify; default true), `idle` (ms to wait for further input before
   * verifying; 0 starts at once), `tol`, `stages` (true: the GPU output and the metrics of
   * every enabled step; "auto": the metrics of every step when there are several and they
   * fit, as the page shows them), `pixels` ("gpu" or "cpu": that result as H×W×C float32),
   * `onProgress`, and `display`: `{ run, verify }`, further arguments of the GPU worker's
   * `run` and `verify_start` that change only what is shown (filterlab.display: a stretch,
   * the stage in view, histograms). A newer call supersedes this one: it then resolves to null.
   */
  async process(chain = this.chain, options = {}) {
    const { compare = true, pixels = null, tol, stages = false, idle = 0, onProgress, display = {} } = options;
    const idleUntil = performance.now() + idle; // the idle wait counts from the call, the input's time
    const generation = (this.generation = (this.generation ?? 0) + 1);
    const superseded = () => {
      if (generation !== this.generation) throw new DOMException("superseded", "AbortError");
    };
    if (this.recovering) await this.recovering;
    superseded();
    const chainJson = typeof chain === "string" ? chain : JSON.stringify(chain);
    this.verifying.abort(); // the shown metrics would no longer match the controls
    this.emit("stale", {});
    const info = this.image?.info ?? {};
    const result = {
      width: info.width, height: info.height, channels: info.channels,
      gpu: { available: this.gpuInfo.available, adapter: this.gpuInfo.adapter, reason: this.gpuInfo.reason },
      metrics: null, timings: {},
    };
    try {
      if (this.gpuInfo.available) {
        this.emit("running", {});
        let out;
        let timings;
        try {
          const sent = epochMs();
          out = await this.latestGpu.run((signal) => this.gpuCall("run",
            { chain: chainJson, pixels: pixels === "gpu", stages: stages === true, ...display.run },
            { signal, channel: "run" }));
          this.lastRun = { sent, received: epochMs(), ...out.clock, hostMs: out.timings.hostMs };
          // A presented run comes back before the GPU is done; its timings follow.
          timings = out.timings.pending
            ? new Promise((resolve) => this.lateTimings.set(out.run, resolve))
            : Promise.resolve(out.timings);
        } catch (err) {
          if (!isAbort(err)) this.emit("gpu-error", { message: err.message });
          throw err;
        }
        for (const event of out.events ?? []) this.emit("device", event);
        this.emit("gpu-result", out);
        Object.assign(result, { width: out.width, height: out.height, channels: out.channels });
        result.timings = await timings;
        superseded();
        if (result.timings.error) {
          this.emit("gpu-error", { message: result.timings.error });
          throw new Error(result.timings.error);
        }
        result.gpu.adapter = out.adapter;
        if (pixels === "gpu") result.pixels = out.pixels;
        if (stages === true) result.stages = out.stages;
      }
      if (compare || pixels === "cpu" || !this.gpuInfo.available) {
        await this.verify(chainJson, { tol, stages, pixels: pixels === "cpu", idleUntil, onProgress, result, display: display.verify });
      }
      this.emit("result", result);
      return result;
    } catch (err) {
      if (isAbort(err)) return null;
      this.emit("error", { message: err.message, kind: err.name });
      throw err;
    }
  }

  async verify(chainJson, { tol, stages, pixels, idleUntil, onProgress, result, display }) {
    await this.verifying.run(async (signal) => {
      const wait = idleUntil - performance.now(); // the GPU run took part of the idle wait
      if (wait > 0) await sleep(wait, signal);
      this.emit("verify-start", {});
      const verdict = await this.verifier.run({ ...display, chain: chainJson, stages, tol, pixels }, {
        signal,
        onStart: (job) => this.emit("verify-tiles", job),
        onSummary: (summary) => this.emit("verify-summary", { summary }),
        onTile: (tile) => this.emit("verify-tile", tile),
        onProgress: (progress) => {
          this.emit("verify-progress", { ...progress, chain: chainJson });
          onProgress?.(progress);
        },
      });
      result.metrics = verdict.metrics;
      if (stages) result.stageMetrics = verdict.stages;
      if (pixels) result.pixels = verdict.pixels;
      result.verification = {
        tiles: verdict.tiles, workers: verdict.workers, referenceMs: verdict.referenceMs,
        readMs: verdict.readMs, wallMs: verdict.wallMs, marks: verdict.marks,
      };
      this.lastVerification = result.verification;
      this.emit("verified", { ...verdict, chain: chainJson });
    });
  }
}
