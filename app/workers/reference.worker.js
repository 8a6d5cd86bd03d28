// Reference worker: Pyodide + the NumPy reference, serving
// filterlab.worker_api.REFERENCE_METHODS. It computes the reference for one tile at a time and
// compares it with the GPU's output for that tile; it never holds a whole image.
import { serveWorker } from "./runtime.js";

serveWorker("REFERENCE_METHODS");
