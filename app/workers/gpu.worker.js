// GPU worker: Pyodide + filterlab.gpu, serving filterlab.worker_api.GPU_METHODS. It decodes
// the image at native depth, runs chains as WGSL compute passes, and draws results on its own
// OffscreenCanvas, handing frames to the page as ImageBitmaps (no pixel readback).
import { serveWorker } from "./runtime.js";

serveWorker("GPU_METHODS", ["device", "Requesting a WebGPU device"]);
