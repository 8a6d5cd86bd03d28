// Histograms of the original and of the result (filterlab.display.Summary), one line per
// channel, on a logarithmic or linear count axis. The range each covers is its own data's
// (smallest to largest sample), labelled in working values; with auto contrast on, the
// stretch's black and white points are marked.
import { formatShort } from "./format.js";

const STROKES = {
  1: ["#888"], 2: ["#888", "#b8b"], 3: ["#e33", "#2a2", "#36e"], 4: ["#e33", "#2a2", "#36e", "#999"],
};
const NAMES = { 1: ["grey"], 2: ["grey", "alpha"], 3: ["red", "green", "blue"], 4: ["red", "green", "blue", "alpha"] };
const HEIGHT = 84; // CSS pixels per chart

export class Histogram {
  constructor(root, scaleSelect) {
    this.root = root;
    this.scaleSelect = scaleSelect;
    this.summaries = { original: null, result: null };
    this.scales = { original: null, result: null }; // native full scale, for labels
    this.stretch = { original: null, result: null };
    this.charts = {};
    for (const [key, title] of [["original", "Original"], ["result", "Result"]]) {
      const figure = document.createElement("figure");
      figure.className = "chart";
      const caption = document.createElement("figcaption");
      caption.textContent = title;
      const canvas = document.createElement("canvas");
      canvas.dataset.testid = `histogram-${key}`;
      canvas.setAttribute("role", "img");
      const axis = document.createElement("div");
      axis.className = "axis";
      figure.append(caption, canvas, axis);
      root.append(figure);
      this.charts[key] = { figure, caption, canvas, axis, title };
    }
    scaleSelect.addEventListener("change", () => this.draw());
    new ResizeObserver(() => this.draw()).observe(root);
    this.draw();
  }

  /**
   * Show `summary` (or none) as the `key` chart ("original" or "result"); with `scale` (255
   * or 65535), its range is labelled in native units too.
   */
  set(key, summary, scale = null) {
    this.summaries[key] = summary;
    this.scales[key] = scale;
    this.draw();
  }

  /** Mark a display stretch ([black, white], or null) on the `key` chart. */
  mark(key, stretch) {
    this.stretch[key] = stretch;
    this.draw();
  }

  draw() {
    const log = this.scaleSelect.value === "log";
    this.root.dataset.scale = log ? "log" : "linear";
    for (const [key, chart] of Object.entries(this.charts)) {
      this.drawChart(chart, this.summaries[key], this.stretch[key], log, this.scales[key]);
    }
  }

  drawChart({ figure, caption, canvas, axis, title }, s, stretch, log, scale) {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, figure.clientWidth || 240);
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(HEIGHT * dpr);
    canvas.style.height = `${HEIGHT}px`;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    figure.dataset.empty = String(!s);
    if (!s) {
      caption.textContent = `${title}: not yet`;
      canvas.setAttribute("aria-label", `${title} histogram: nothing to show yet`);
      axis.replaceChildren();
      return;
    }
    const bins = s.counts[0].length;
    const value = (n) => (log ? Math.log10(1 + n) : n);
    const top = Math.max(1, ...s.counts.flatMap((row) => row.map(value)));
    const strokes = STROKES[s.channels] ?? STROKES[4];
    ctx.lineWidth = Math.max(1, dpr);
    ctx.globalCompositeOperation = "source-over";
    s.counts.forEach((row, c) => {
      ctx.strokeStyle = strokes[c % strokes.length];
      ctx.beginPath();
      row.forEach((n, i) => {
        const x = ((i + 0.5) / bins) * canvas.width;
        const y = canvas.height - (value(n) / top) * (canvas.height - 2 * dpr);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
    if (stretch) {
      ctx.setLineDash([4 * dpr, 3 * dpr]);
      ctx.strokeStyle = "#999";
      for (const v of stretch) {
        const x = ((v - s.lo) / (s.hi - s.lo)) * canvas.width;
        ctx.beginPath();
        ctx.moveTo(x, 0);
        ctx.lineTo(x, canvas.height);
        ctx.stroke();
      }
      ctx.setLineDash([]);
    }
    const sampled = s.sampled ? `, ${s.pixels.toLocaleString()} pixels sampled` : "";
    const skipped = s.nonFinite ? `, ${s.nonFinite.toLocaleString()} NaN or infinite left out` : "";
    caption.textContent = `${title} (${log ? "log" : "linear"} counts${sampled}${skipped})`;
    const names = NAMES[s.channels] ?? [];
    canvas.setAttribute("aria-label", `${title} histogram of ${names.join(", ")} from ${formatShort(s.lo)}`
      + ` to ${formatShort(s.hi)}${stretch ? `; auto contrast from ${formatShort(stretch[0])} to ${formatShort(stretch[1])}` : ""}`);
    const label = (v) => {
      const span = document.createElement("span");
      span.textContent = scale ? `${Math.round(v * scale)} (${formatShort(v)})` : formatShort(v);
      return span;
    };
    axis.replaceChildren(label(s.lo), label(s.hi));
  }
}
