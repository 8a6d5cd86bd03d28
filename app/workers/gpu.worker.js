// GPU worker: Pyodide + filterlab.gpu, serving filterlab.worker_api.GPU_METHODS. It decodes
// the image at native depth, runs chains as WGSL compute passes, and draws results on its own
// OffscreenCanvas, handing frames to the page as ImageBitmaps (no pixel readback).
import { serveWorker } from "./runtime.js";

// The adapter is requested at once, while Python starts; filterlab.gpu.device takes it
// (once) for its first device.
let adapter = self.navigator.gpu?.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
self.takeAdapter = () => {
  const taken = adapter;
  adapter = undefined;
  return taken;
};

// Verification's tile reads and metric combines run beside the queue: a read waiting for its
// mapAsync holds up neither the next read nor a slider move's run. The device is requested
// before the rest of filterlab is imported, and is created meanwhile.
serveWorker("GPU_METHODS", ["device", "Requesting a WebGPU device"], {
  concurrent: ["verify_read", "combine"],
  early: "filterlab.gpu.device:request_early",
});
