// CPU worker: Pyodide + the NumPy reference, serving filterlab.worker_api.CPU_METHODS. It
// decodes the image independently of the GPU worker, computes the reference result, and
// compares GPU pixels against it.
import { serveWorker } from "./runtime.js";

serveWorker("CPU_METHODS");
