// The four views (original, GPU, CPU, heatmap), the image facts, and the timings panel.

function draw(canvas, rgba, width, height) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
}

function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : String(value);
  return Math.abs(value) >= 0.01 || value === 0 ? value.toPrecision(4) : value.toExponential(3);
}

export class Views {
  constructor(session, el) {
    this.el = el;
    session.addEventListener("image", ({ detail }) => {
      const { info, preview } = detail;
      draw(el.original, preview, info.width, info.height);
      const facts = [`${info.width}×${info.height}`, `${info.mode}`, `${info.bitDepth}-bit`];
      if (info.hasAlpha) facts.push("alpha");
      if (info.animated) facts.push("animated: first frame");
      if (info.exifOrientation && info.exifOrientation !== 1) facts.push(`EXIF orientation ${info.exifOrientation} applied`);
      el.info.textContent = facts.join(" · ");
    });
    session.addEventListener("cpu-result", ({ detail }) => draw(el.cpu, detail.preview, detail.width, detail.height));
    session.addEventListener("heatmap", ({ detail }) => draw(el.heatmap, detail.heatmap, detail.width, detail.height));
    session.addEventListener("compare", ({ detail }) => {
      draw(el.heatmap, detail.heatmap, detail.width, detail.height);
      const m = detail.metrics;
      const set = (id, v) => (document.getElementById(id).textContent = formatNumber(v));
      set("metric-max-abs-error", m.maxAbsError);
      set("metric-mean-abs-error", m.meanAbsError);
      set("metric-rmse", m.rmse);
      set("metric-psnr", m.psnr);
    });
    session.addEventListener("gpu-result", ({ detail }) => {
      this.showTimings(detail.timings);
      this.showGpuFrame(detail);
    });
  }

  /**
   * Show a GPU result: an ImageBitmap rendered by the worker's WebGPU canvas, or 8-bit pixels
   * read back where the browser cannot present WebGPU (or the image was processed in bands).
   * A canvas keeps the kind of context it first gets, so later frames follow that kind.
   */
  showGpuFrame({ frame, display, width, height }) {
    const canvas = this.el.gpu;
    if (!frame && !display) return;
    this.gpuContext ??= frame ? "bitmaprenderer" : "2d";
    if (this.gpuContext === "2d") {
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext("2d");
      if (display) {
        ctx.putImageData(new ImageData(display, width, height), 0, 0);
      } else {
        ctx.clearRect(0, 0, width, height);
        ctx.drawImage(frame, 0, 0);
        frame.close();
      }
      return;
    }
    const bitmap = frame ? Promise.resolve(frame) : createImageBitmap(new ImageData(display, width, height));
    bitmap.then((b) => {
      canvas.width = b.width;
      canvas.height = b.height;
      canvas.getContext("bitmaprenderer").transferFromImageBitmap(b);
    }).catch(() => {}); // a frame that cannot be shown leaves the previous one
  }

  setGpuAvailability(gpu) {
    if (gpu.available) return;
    this.el.gpuNote.hidden = false;
    this.el.gpuNote.textContent = `No GPU result: ${gpu.reason}`;
  }

  showTimings(t) {
    const rows = [
      ["upload", t.uploadMs],
      [`GPU (${t.gpuClock === "timestamp" ? "timestamps" : "wall clock"})`, t.gpuMs],
      ...(t.passes ?? []).map((p) => [`  ${p.label}`, p.ms]),
      ["readback", t.readbackMs],
      ["total", t.totalMs],
    ];
    this.el.timings.replaceChildren(
      ...rows.flatMap(([label, ms]) => {
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.textContent = ms === undefined ? "–" : `${ms.toFixed(3)} ms`;
        dd.dataset.testid = `timing-${label.trim().split(" ")[0]}`;
        return [dt, dd];
      }),
    );
  }
}
