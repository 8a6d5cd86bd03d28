// window.filterlab: the scripting API, in every build. It drives the same Session as the UI.
//
//   await filterlab.ready
//   const r = await filterlab.run({ image, chain: [...], compare: true, pixels: "gpu" })
//   // image: a File, Blob, ArrayBuffer or Uint8Array holding an encoded image file
//   // r = { width, height, channels, gpu: {available, adapter}, metrics: {maxAbsError,
//   //       meanAbsError, rmse, psnr, fractionOverTolerance, tolerance, worstX, worstY} | null,
//   //       timings: {uploadMs, gpuMs, gpuClock, passes, readbackMs, totalMs, bands},
//   //       verification: {tiles, workers, referenceMs, wallMs},
//   //       pixels?: Float32Array (H×W×C) }
//   stages: true adds r.stages, the GPU output of every enabled step (Float32Array each), and
//   r.stageMetrics, the metrics of each. onProgress(progress) is called as tiles are verified;
//   the first call with progress.first === true carries the first verdict (edges, corners and
//   a sample); run() resolves when verification is complete.
//   await filterlab.ops()     // the catalog
//   filterlab.chain()         // the page's chain, a copy
//   filterlab.heatmap.range(errors), filterlab.heatmap.colours(errors, [lo, hi]?)
//     // the error map's colour rule (filterlab.compare.error_colours), as the page draws it
// Every record uses camelCase names. Errors reject with the message the UI shows.
import { imageBytes } from "./files.js";
import { heatmapRule } from "./ui/errormap.js";

export function installApi(session) {
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a failed start is shown on the page; scripts see it when they await
  let queue = Promise.resolve();

  const api = {
    ready,
    async ops() {
      await ready;
      return session.catalog;
    },
    /** Load `image` (optional: the current image stays), run `chain` on the GPU, verify it. */
    run({ image, chain, compare = true, pixels = null, tol, stages = false, onProgress } = {}) {
      const job = queue.then(async () => {
        if (pixels !== null && pixels !== "gpu" && pixels !== "cpu") {
          throw new Error(`pixels must be "gpu", "cpu" or null, got ${JSON.stringify(pixels)}`);
        }
        const bytes = image === undefined ? undefined : await imageBytes(image);
        await ready;
        if (bytes !== undefined) await session.loadImage(bytes);
        const result = await session.process(chain ?? session.chain, { compare, pixels, tol, stages, onProgress });
        if (result === null) throw new Error("The run was superseded by a newer one.");
        return result;
      });
      queue = job.catch(() => {});
      return job;
    },
    gpuInfo() {
      return session.gpuInfo;
    },
    /** A copy of the chain the page shows (its steps, as the chain JSON holds them). */
    chain() {
      return structuredClone(session.chain);
    },
    /**
     * The heatmap's colours, as the page draws them: `range(errors)` the automatic range of
     * an error map (absolute differences), `colours(errors, [lo, hi]?)` its RGBA8 colours.
     * Available once `ready` has resolved.
     */
    get heatmap() {
      return session.defaults ? heatmapRule(session.defaults) : undefined;
    },
    /**
     * Diagnostics: "stats" (live GPU buffers, pipelines, background compiles, JS references
     * held by Python, wasm memory), "destroy-device" (simulates a lost GPU), "band-rows" with
     * a row count (forces banded processing; "" restores automatic banding), "pipelines"
     * ("auto", "general" or "specialised"), "fatal" (forces a fatal error in the GPU worker,
     * which the page recovers from), "pool" (each reference worker's tiles checked and wasm
     * memory), "pool-fatal" (the same in a reference worker, which the pool replaces),
     * "verification" (tiles, workers and times of the last complete verification), "last-run"
     * (when the last GPU run was sent, started and returned in the worker, and came back, in
     * ms since the epoch, with `hostMs`: the worker's steps before the GPU starts), "startup"
     * (when the GPU worker was made and each of its start-up phases began, in page time),
     * "costs" (main-thread time spent on each session event's listeners and on repainting
     * the error map since the last call, with counts).
     */
    async debug(action, argument = "") {
      await ready;
      if (action === "verification") return session.lastVerification ?? null;
      if (action === "last-run") return session.lastRun ?? null;
      if (action === "startup") return session.phaseTimes;
      if (action === "costs") {
        const costs = session.costs;
        session.costs = {};
        return costs;
      }
      if (action === "pool") return { size: session.pool.size, ready: session.pool.readyCount, workers: await session.pool.stats() };
      if (action === "pool-fatal") {
        const slot = session.pool.holders[0] ?? session.pool.workers.find((s) => s?.started);
        return slot.client.call("debug", { action: "fatal" }).catch((err) => ({ stopped: err.name }));
      }
      return session.gpuCall("debug", { action, argument: String(argument) });
    },
  };
  Object.defineProperty(window, "filterlab", { value: api, configurable: false, enumerable: true });
  return {
    ready: () => resolveReady(),
    fail: (err) => rejectReady(err),
  };
}
