// window.filterlab: the scripting API, in every build. It drives the same Session as the UI.
//
//   await filterlab.ready
//   const r = await filterlab.run({ image: Uint8Array, chain: [...], compare: true, pixels: "gpu" })
//   // r = { width, height, channels, gpu: {available, adapter}, metrics: {maxAbsError,
//   //       meanAbsError, rmse, psnr, fractionOverTolerance, tolerance} | null,
//   //       timings: {uploadMs, gpuMs, gpuClock, passes, readbackMs, totalMs, bands},
//   //       pixels?: Float32Array (H×W×C) }
//   stages: true adds r.stages, the GPU output of every enabled step (Float32Array each)
//   await filterlab.ops()     // the catalog
// Every record uses camelCase names. Errors reject with the message the UI shows.

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
    /** Load `image` (encoded file bytes), run `chain` on GPU and CPU, and compare. */
    run({ image, chain, compare = true, pixels = null, tol, stages = false } = {}) {
      const job = queue.then(async () => {
        await ready;
        if (pixels !== null && pixels !== "gpu" && pixels !== "cpu") {
          throw new Error(`pixels must be "gpu", "cpu" or null, got ${JSON.stringify(pixels)}`);
        }
        if (image !== undefined) await session.loadImage(image instanceof Uint8Array ? image : new Uint8Array(image));
        const result = await session.process(chain ?? session.chain, { compare, pixels, tol, stages });
        if (result === null) throw new Error("The run was superseded by a newer one.");
        return result;
      });
      queue = job.catch(() => {});
      return job;
    },
    gpuInfo() {
      return session.gpuInfo;
    },
    /**
     * Diagnostics: "stats" (live GPU buffers, pipelines, JS references held by Python),
     * "destroy-device" (simulates a lost GPU), "band-rows" with a row count (forces banded
     * processing; "" restores automatic banding).
     */
    debug(action, argument = "") {
      return session.gpu.call("debug", { action, argument: String(argument) });
    },
  };
  Object.defineProperty(window, "filterlab", { value: api, configurable: false, enumerable: true });
  return {
    ready: () => resolveReady(),
    fail: (err) => rejectReady(err),
  };
}
