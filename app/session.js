// The app's state machine on the main thread: one image, one chain, two workers.
// The UI and window.filterlab both go through here, so scripts see exactly what users see.
import { isAbort, Latest, WorkerClient } from "./bridge.js";

const PYODIDE_URL = new URL("pyodide/", document.baseURI).href;

export class Session extends EventTarget {
  constructor() {
    super();
    this.gpuInfo = { available: false, adapter: null, reason: "starting" };
    this.image = null; // { info, bytes }
    this.chain = [];
    this.defaults = null; // filterlab.worker_api.defaults(): tolerance, gain, gainRange
    this.gain = undefined; // the heatmap gain the user chose; undefined keeps Python's default
    this.referenceId = null; // the CPU reference the last comparison used
    this.latestGpu = new Latest();
    this.latestCpu = new Latest();
    this.latestHeat = new Latest(); // gain changes must not cancel a run's reference or compare
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Start both workers; resolves when both report ready. */
  async start() {
    const onEvent = (worker) => (msg) => this.emit(msg.event, { worker, ...msg });
    this.gpu = new WorkerClient(
      new Worker(new URL("./workers/gpu.worker.js", import.meta.url), { type: "module", name: "gpu" }),
      onEvent("gpu"),
    );
    this.cpu = new WorkerClient(
      new Worker(new URL("./workers/cpu.worker.js", import.meta.url), { type: "module", name: "cpu" }),
      onEvent("cpu"),
    );
    const allowed = "gpu" in navigator && Boolean(navigator.gpu);
    const [gpuReady, cpuReady] = await Promise.all([
      this.gpu.call("init", { pyodideURL: PYODIDE_URL, allowed }),
      this.cpu.call("init", { pyodideURL: PYODIDE_URL }),
    ]);
    const { startupMs, ...gpuInfo } = gpuReady;
    this.gpuInfo = gpuInfo;
    this.startup = { gpuMs: startupMs, cpuMs: cpuReady.startupMs };
    [this.catalog, this.defaults] = await Promise.all([this.cpu.call("ops"), this.cpu.call("defaults")]);
    return this;
  }

  /**
   * Decode `bytes` (an encoded image file) in both workers; pending work for the old image
   * is then dropped. If either worker refuses the file, both go back to the previous image.
   */
  async loadImage(bytes) {
    const load = (bytes) => Promise.allSettled([
      this.cpu.call("load", { data: new Uint8Array(bytes) }),
      this.gpuInfo.available ? this.gpu.call("load", { data: new Uint8Array(bytes) }) : null,
    ]);
    const [cpu, gpu] = await load(bytes);
    const failed = [cpu, gpu].find((r) => r.status === "rejected");
    if (failed) {
      if (this.image && [cpu, gpu].some((r) => r.status === "fulfilled" && r.value)) await load(this.image.bytes);
      throw failed.reason;
    }
    this.latestGpu.run(() => {}); // drop pending runs for the old image
    this.latestCpu.run(() => {});
    this.image = { info: cpu.value.info, bytes };
    this.emit("image", { info: cpu.value.info, preview: cpu.value.preview });
    return cpu.value.info;
  }

  /**
   * The current chain's result as a PNG file (Uint8Array): the GPU result when there is a GPU,
   * else the CPU reference. `bits` is 8 or 16.
   */
  async exportPng(bits = 8) {
    if (!this.image) throw new Error("No image is loaded yet: open or drop an image first.");
    const chain = JSON.stringify(this.chain);
    const source = this.gpuInfo.available
      ? await this.gpu.call("run", { chain, pixels: true, present: false })
      : await this.cpu.call("reference", { chain, pixels: true, preview: false });
    return this.cpu.call("encode", { pixels: source.pixels, bits }, { transfer: [source.pixels.buffer] });
  }

  /** Redraw the error heatmap of the last comparison at `gain`, without running anything. */
  async regain(gain) {
    this.gain = gain;
    if (this.referenceId === null) return;
    const id = this.referenceId;
    try {
      const out = await this.latestHeat.run((signal) => this.cpu.call("heatmap", { id, gain }, { signal }));
      this.emit("heatmap", out);
    } catch {
      // nothing compared yet, or superseded by a newer gain or run
    }
  }

  /**
   * Run the chain on the GPU (presenting it) and on the CPU, then compare.
   * Newer calls abort older ones. Resolves to the combined result, or null if superseded.
   */
  async process(chain = this.chain, { compare = true, pixels = null, tol, stages = false } = {}) {
    if (!this.image) throw new Error("No image is loaded yet: open or drop an image first.");
    const chainJson = typeof chain === "string" ? chain : JSON.stringify(chain);
    const gpuWanted = this.gpuInfo.available;
    const needGpuPixels = gpuWanted && (compare || pixels === "gpu");
    const result = {
      width: this.image.info.width,
      height: this.image.info.height,
      channels: this.image.info.channels,
      gpu: { available: this.gpuInfo.available, adapter: this.gpuInfo.adapter, reason: this.gpuInfo.reason },
      metrics: null,
      timings: {},
    };
    try {
      // Each side is shown as soon as it is done: the GPU preview never waits for the CPU.
      const gpuRun = gpuWanted
        ? this.latestGpu.run((signal) => this.gpu.call("run", { chain: chainJson, pixels: needGpuPixels, stages }, { signal }))
          .then((out) => {
            for (const ev of out.events ?? []) this.emit("device", ev);
            this.emit("gpu-result", out);
            return out;
          })
        : Promise.resolve(null);
      const cpuRun = this.latestCpu.run((signal) =>
        this.cpu.call("reference", { chain: chainJson, pixels: pixels === "cpu" }, { signal }))
        .then((out) => {
          this.emit("cpu-result", out);
          return out;
        });
      const [gpuOut, cpuOut] = await Promise.all([gpuRun, cpuRun]);
      if (gpuOut) {
        result.timings = gpuOut.timings;
        result.gpu.adapter = gpuOut.adapter;
      }
      if (stages && gpuOut) result.stages = gpuOut.stages;
      if (pixels === "cpu") {
        result.pixels = cpuOut.pixels;
      } else if (pixels === "gpu") {
        if (!gpuOut) throw new Error(this.gpuInfo.reason || "The GPU is not available.");
        result.pixels = compare ? gpuOut.pixels.slice() : gpuOut.pixels;
      }
      if (compare && gpuOut) {
        const cmp = await this.latestCpu.run((signal) =>
          this.cpu.call("compare", { id: cpuOut.id, pixels: gpuOut.pixels, tol, gain: this.gain },
            { signal, transfer: [gpuOut.pixels.buffer] }));
        this.referenceId = cpuOut.id;
        result.metrics = cmp.metrics;
        this.emit("compare", cmp);
      }
      this.emit("result", result);
      return result;
    } catch (err) {
      if (isAbort(err)) return null;
      this.emit("error", { message: err.message, kind: err.name });
      throw err;
    }
  }
}
