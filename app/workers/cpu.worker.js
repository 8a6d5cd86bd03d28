// CPU worker: Pyodide + the NumPy reference. Decodes the image independently of the GPU
// worker, computes the reference result, and compares GPU pixels against it.
import { emit, serve, startPython } from "./runtime.js";

let py = null;

serve({
  async init({ pyodideURL }) {
    py = await startPython({ pyodideURL });
    emit("phase", { phase: "ready", label: "Ready", ms: py.elapsed() });
    return { startupMs: py.elapsed() };
  },
  load({ bytes }) {
    const out = py.api.load_image.callKwargs(bytes, { preview: true });
    return { result: out, transfer: [out.preview.buffer] };
  },
  reference({ chain, pixels = false }) {
    const out = py.api.reference.callKwargs(chain, { pixels, preview: true });
    const transfer = [out.preview.buffer];
    if (out.pixels) transfer.push(out.pixels.buffer);
    return { result: out, transfer };
  },
  compare({ pixels, tol = 1e-5, gain = 100 }) {
    const out = py.api.compare.callKwargs(pixels, { tol, gain });
    return { result: out, transfer: [out.heatmap.buffer] };
  },
  heatmap({ gain }) {
    const out = py.api.heatmap(gain);
    return { result: out, transfer: [out.heatmap.buffer] };
  },
  encode({ pixels, bits = 8 }) {
    const out = py.api.encode_png.callKwargs(pixels, { bits });
    return { result: out, transfer: [out.buffer] };
  },
  ops() {
    return py.api.ops();
  },
  toUrl({ chain }) {
    return py.api.chain_to_url(chain);
  },
  fromUrl({ token }) {
    return py.api.chain_from_url(token);
  },
});
