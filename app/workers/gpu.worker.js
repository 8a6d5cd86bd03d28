// GPU worker: Pyodide + filterlab.gpu. Decodes the image, runs chains as WGSL compute passes,
// and presents results on the OffscreenCanvas it was given, without reading them back.
import { emit, serve, startPython } from "./runtime.js";

let py = null;
// The worker renders into its own OffscreenCanvas and hands each frame to the page as an
// ImageBitmap (GPU-side; no pixel readback), which the page shows with a bitmaprenderer.
const surface = new OffscreenCanvas(1, 1);

serve({
  async init({ pyodideURL, gpuAllowed }) {
    py = await startPython({ pyodideURL });
    py.phase("device", "Requesting a WebGPU device");
    const gpu = (await py.api.gpu_init.callKwargs(surface, { allowed: Boolean(gpuAllowed) }));
    emit("phase", { phase: "ready", label: "Ready", ms: py.elapsed() });
    return { gpu, startupMs: py.elapsed() };
  },
  load({ bytes }) {
    return py.api.load_image.callKwargs(bytes, { for_gpu: true, preview: false });
  },
  async run({ chain, pixels = false, perStage = false, present = true }) {
    const out = await py.api.gpu_run.callKwargs(chain, { pixels, per_stage: perStage, present });
    const transfer = [];
    if (out.display) transfer.push(out.display.buffer);
    else if (present && surface.width === out.width && surface.height === out.height) {
      out.frame = surface.transferToImageBitmap();
      transfer.push(out.frame);
    }
    if (out.pixels) transfer.push(out.pixels.buffer);
    for (const stage of out.stages ?? []) transfer.push(stage.buffer);
    return { result: out, transfer };
  },
  ops() {
    return py.api.ops();
  },
  debug({ action, argument = "" }) {
    const out = py.api.gpu_debug(action, argument);
    // JS values Python holds references to (JsProxies): a leak shows up as growth here.
    if (action === "stats") out.jsRefs = py.pyodide._module._hiwire_num_refs();
    return out;
  },
});
