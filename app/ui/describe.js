// Text alternatives for the four views: each canvas is an image (role="img") whose name says
// what it shows, kept current as images load, the GPU runs and the CPU verifies.

const CANVASES = ["original", "gpu", "cpu", "heatmap"];

export function describeCanvases(session, formatNumber) {
  const canvas = Object.fromEntries(CANVASES.map((name) => [name, document.querySelector(`[data-testid=canvas-${name}]`)]));
  const say = (name, text) => {
    if (!canvas[name]) return;
    canvas[name].setAttribute("role", "img");
    canvas[name].setAttribute("aria-label", text);
  };
  const labels = new Map((session.catalog ?? []).map((op) => [op.name, op.label]));
  const chain = () => {
    const steps = session.chain.filter((step) => step.enabled).map((step) => labels.get(step.op) ?? step.op);
    return steps.length ? `the chain ${steps.join(", then ")}` : "an empty chain (the image unchanged)";
  };
  let size = "";

  say("original", "Original image: none loaded yet. Open, drop or paste an image, or try a sample.");
  say("gpu", "GPU result: no image yet.");
  say("cpu", "CPU reference result: no image yet.");
  say("heatmap", "Error heatmap: no image yet.");
  session.addEventListener("image", ({ detail: { info } }) => {
    size = `${info.width}×${info.height}`;
    const alpha = info.hasAlpha ? ", with transparency" : "";
    say("original", `Original image: ${size}, ${info.mode}, ${info.bitDepth}-bit${alpha}.`);
    say("cpu", "CPU reference result: being computed.");
    say("heatmap", "Error heatmap: waiting for the CPU reference.");
  });
  session.addEventListener("gpu-result", () => say("gpu", `GPU result of ${chain()}, ${size}.`));
  session.addEventListener("gpu-error", () => say("gpu", "GPU result: none, the chain could not run."));
  session.addEventListener("verified", ({ detail }) => {
    say("cpu", `CPU reference result (NumPy) of ${chain()}, ${size}.`);
    say("heatmap", detail.metrics
      ? "Error heatmap: brighter where the GPU and CPU results differ more; the largest difference is "
        + `${formatNumber(detail.metrics.maxAbsError)}.`
      : "Error heatmap: empty, there is no GPU result to compare.");
  });
}
