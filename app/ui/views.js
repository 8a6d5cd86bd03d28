// The four views (original, GPU, CPU, error heatmap), the image facts, the metrics, the
// verification progress and the timings panel. Verified tiles are drawn as they arrive; a view
// that no longer matches the controls is marked out of date until it is replaced.

function sized(canvas, width, height) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

function draw(canvas, rgba, width, height) {
  sized(canvas, width, height);
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
}

export function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return Math.abs(value) >= 0.01 || value === 0 ? value.toPrecision(4) : value.toExponential(3);
}

/**
 * Colour an error map as filterlab.compare.heatmap does: |Δ| × gain, clipped to [0, 1], as an
 * index into the ramp; NaN and infinity at full scale. A browser test checks the two agree.
 */
export function colourErrors(errors, gain, ramp, out = new Uint8ClampedArray(errors.length * 4)) {
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    const level = Number.isFinite(e) ? rint(Math.min(Math.max(e * gain, 0), 1) * 255) : 255;
    const [r, g, b] = ramp[level];
    out[4 * i] = r;
    out[4 * i + 1] = g;
    out[4 * i + 2] = b;
    out[4 * i + 3] = 255;
  }
  return out;
}

/** Round half to even, as numpy.rint does (Math.round rounds halves up). */
function rint(x) {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export class Views {
  constructor(session, el) {
    this.session = session;
    this.el = el;
    this.errors = null; // Float32Array H×W: the final output's max |Δ| over channels
    this.size = null;
    session.addEventListener("image", ({ detail }) => {
      const { info } = detail;
      this.showFrame(el.original, detail, "original");
      const facts = [`${info.width}×${info.height}`, `${info.mode}`, `${info.bitDepth}-bit`];
      if (info.hasAlpha) facts.push("alpha");
      if (info.animated) facts.push("animated: first frame");
      if (info.exifOriented) facts.push(`EXIF orientation ${info.exifOrientation} applied`);
      el.info.textContent = facts.join(" · ");
      el.info.dataset.loads = String(Number(el.info.dataset.loads ?? 0) + 1);
      this.size = [info.width, info.height];
      this.errors = null;
      for (const canvas of [el.cpu, el.heatmap]) sized(canvas, info.width, info.height);
      this.clear(el.cpu);
      this.clear(el.heatmap);
      this.showMetrics(null);
      this.progress(0);
    });
    session.addEventListener("stale", () => this.markStale(true));
    session.addEventListener("gpu-result", ({ detail }) => {
      this.showFrame(el.gpu, detail, "gpu");
      this.mark(el.gpu, false);
      if (!detail.timings.pending) this.showTimings(detail.timings);
    });
    session.addEventListener("gpu-timings", ({ detail }) => {
      if (!detail.timings.error) this.showTimings(detail.timings);
    });
    session.addEventListener("gpu-error", () => {
      this.clear(el.gpu);
      this.mark(el.gpu, false);
      this.showMetrics(null);
      this.el.timings.replaceChildren();
    });
    session.addEventListener("verify-tiles", ({ detail }) => {
      // The CPU view and the error map are rebuilt tile by tile for the current settings, on a
      // cleared canvas, so no tile of the previous settings is mistaken for a current one.
      this.size = [detail.width, detail.height];
      this.errors = detail.gpu ? new Float32Array(detail.width * detail.height) : null;
      for (const canvas of [el.cpu, el.heatmap]) {
        sized(canvas, detail.width, detail.height);
        this.clear(canvas);
        this.mark(canvas, false);
      }
      this.progress(0);
    });
    session.addEventListener("verify-tile", ({ detail }) => this.showTile(detail));
    session.addEventListener("verify-progress", ({ detail }) => {
      this.progress(detail.fraction);
      if (detail.metrics && detail.fraction < 1) this.showMetrics(detail.metrics, detail.first ? "first" : "partial", detail.chain);
    });
    session.addEventListener("verified", ({ detail }) => {
      this.progress(1);
      this.markStale(false);
      this.showMetrics(detail.metrics, "final", detail.chain);
      this.showVerification(detail);
    });
  }

  clear(canvas) {
    if (canvas.dataset.context === "bitmaprenderer") {
      canvas.getContext("bitmaprenderer").transferFromImageBitmap(null);
    } else {
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
  }

  /** Mark a view out of date (dimmed and labelled) or current. */
  mark(canvas, stale) {
    const figure = canvas.closest("figure");
    figure.classList.toggle("stale", stale);
    figure.dataset.stale = String(stale);
  }

  markStale(stale) {
    for (const canvas of [this.el.gpu, this.el.cpu, this.el.heatmap]) this.mark(canvas, stale);
    this.el.metrics.classList.toggle("stale", stale);
    this.el.metrics.dataset.stale = String(stale);
  }

  progress(fraction) {
    const percent = Math.round(fraction * 100);
    this.el.progress.value = percent;
    this.el.progress.textContent = `${percent} %`;
    this.el.progress.dataset.percent = String(percent);
  }

  /**
   * Show a frame the GPU worker made: an ImageBitmap rendered by its WebGPU canvas, or 8-bit
   * pixels read back where the browser cannot present WebGPU (or the image is banded).
   * A canvas keeps the kind of context it first gets, so later frames follow that kind.
   */
  showFrame(canvas, { frame, display, width, height, info }, name) {
    width ??= info?.width;
    height ??= info?.height;
    if (!frame && !display) return;
    canvas.dataset.context ??= frame ? "bitmaprenderer" : "2d";
    const shown = () => {
      canvas.dataset.frames = String(Number(canvas.dataset.frames ?? 0) + 1);
      canvas.dispatchEvent(new CustomEvent("frame", { detail: { name } }));
    };
    if (canvas.dataset.context === "2d") {
      sized(canvas, width, height);
      const ctx = canvas.getContext("2d");
      if (display) {
        ctx.putImageData(new ImageData(display, width, height), 0, 0);
      } else {
        ctx.clearRect(0, 0, width, height);
        ctx.drawImage(frame, 0, 0);
        frame.close();
      }
      shown();
    } else {
      const bitmap = frame ? Promise.resolve(frame) : createImageBitmap(new ImageData(display, width, height));
      bitmap.then((b) => {
        sized(canvas, b.width, b.height);
        canvas.getContext("bitmaprenderer").transferFromImageBitmap(b);
        shown();
      }).catch(() => {}); // a frame that cannot be shown leaves the previous one
    }
  }

  showTile({ tile: [y0, y1, x0, x1], preview, error }) {
    const w = x1 - x0;
    const h = y1 - y0;
    this.el.cpu.getContext("2d").putImageData(new ImageData(preview, w, h), x0, y0);
    if (error && this.errors) {
      const width = this.size[0];
      for (let y = 0; y < h; y++) this.errors.set(error.subarray(y * w, (y + 1) * w), (y0 + y) * width + x0);
      this.drawHeatmap([y0, y1, x0, x1], error);
    }
  }

  /** Colour the error map (or one tile of it) at the session's gain. */
  drawHeatmap(tile = null, values = null) {
    if (!this.errors) return;
    const [width, height] = this.size;
    const [y0, y1, x0, x1] = tile ?? [0, height, 0, width];
    const w = x1 - x0;
    const h = y1 - y0;
    let errors = values;
    if (!errors) {
      errors = new Float32Array(w * h);
      for (let y = 0; y < h; y++) errors.set(this.errors.subarray((y0 + y) * width + x0, (y0 + y) * width + x1), y * w);
    }
    const { ramp } = this.session.defaults;
    const gain = this.session.gain ?? this.session.defaults.gain;
    this.el.heatmap.getContext("2d").putImageData(new ImageData(colourErrors(errors, gain, ramp), w, h), x0, y0);
  }

  /**
   * Show metrics; `verdict` says how much of the image they cover: "partial", "first" (the
   * first verdict: edges, corners and a sample), "final" (the whole image), or "none".
   */
  showMetrics(m, verdict = "none", chain = "") {
    if (m) {
      this.el.metrics.classList.remove("stale"); // they belong to the settings shown
      this.el.metrics.dataset.stale = "false";
    }
    const set = (id, v) => (document.getElementById(id).textContent = m ? formatNumber(v) : "–");
    set("metric-max-abs-error", m?.maxAbsError);
    set("metric-mean-abs-error", m?.meanAbsError);
    set("metric-rmse", m?.rmse);
    set("metric-psnr", m?.psnr);
    this.el.metrics.dataset.verdict = m ? verdict : "none";
    this.el.metrics.dataset.chain = m ? chain : ""; // the chain these metrics belong to
  }

  setGpuAvailability(gpu) {
    if (gpu.available) return;
    this.el.gpuNote.hidden = false;
    this.el.gpuNote.textContent = `No GPU result: ${gpu.reason}`;
  }

  showTimings(t) {
    this.gpuTimings = t;
    this.renderTimings();
  }

  showVerification(v) {
    this.verification = v;
    this.renderTimings();
  }

  renderTimings() {
    const t = this.gpuTimings ?? {};
    const v = this.verification;
    const rows = [
      ["upload", t.uploadMs],
      [`GPU (${t.gpuClock === "timestamp" ? "timestamps" : "wall clock"})`, t.gpuMs],
      ...(t.passes ?? []).map((p) => [`  ${p.label}`, p.ms]),
      ["readback", t.readbackMs],
      ["total", t.totalMs],
    ];
    if (v) {
      rows.push([`CPU reference (${v.workers} workers, summed)`, v.referenceMs]);
      rows.push(["verification, wall clock", v.wallMs]);
    }
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
