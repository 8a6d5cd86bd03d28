// The runtime alone, for the start-up benchmark (bench.html?mode=startup): Pyodide, NumPy and
// Pillow loaded and imported the way the app's workers do it, with nothing of Filter Lab's.
// What the app's start-up adds is the difference.
self.onmessage = async ({ data: { pyodideURL, overlap } }) => {
  const at = {};
  const mark = (name) => {
    at[name] = Math.round(performance.timeOrigin + performance.now());
  };
  try {
    mark("runtime");
    const { loadPyodide } = await import(/* @vite-ignore */ `${pyodideURL}pyodide.mjs`);
    const packages = ["numpy", "pillow"];
    const options = { indexURL: pyodideURL, fullStdLib: false, ...(overlap ? { packages } : {}) };
    const pyodide = await loadPyodide(options);
    mark("packages");
    if (!overlap) await pyodide.loadPackage(packages, { messageCallback: () => {} });
    mark("imports");
    pyodide.runPython("import numpy, PIL.Image");
    mark("ready");
    self.postMessage({ at });
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};
