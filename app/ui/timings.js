// The timings: the GPU's time per pass and in total, the upload and the readback, the CPU
// reference's time for the same chain, and the speed-up (CPU ÷ GPU) as a small bar chart.
// The clock is named: timestamp queries time the GPU's passes themselves; without them the
// wall clock from submit to completion includes the wait.
import { formatMs } from "./format.js";

export class Timings {
  constructor(list, speedup) {
    this.list = list;
    this.speedup = speedup;
    this.gpu = null;
    this.cpu = null;
    this.render();
  }

  /** A GPU run's timings (null clears them, and the comparison). */
  showGpu(timings) {
    this.gpu = timings;
    this.cpu = null;
    this.render();
  }

  /** A verification's: referenceMs (the reference's own time, summed over tiles), wallMs, workers. */
  showCpu(verification) {
    this.cpu = verification;
    this.render();
  }

  render() {
    const t = this.gpu ?? {};
    const v = this.cpu;
    const clock = t.gpuClock === "timestamp" ? "timestamps" : "wall clock";
    const rows = [
      ["upload", t.uploadMs],
      [`GPU (${clock})`, t.gpuMs],
      ...(t.passes ?? []).map((p) => [`  ${p.label}`, p.ms]),
      ["readback", t.readbackMs],
      ["total", t.totalMs],
    ];
    if (v) {
      rows.push([`CPU reference (${v.workers} ${v.workers === 1 ? "worker" : "workers"}, summed)`, v.referenceMs]);
      rows.push(["verification, wall clock", v.wallMs]);
    }
    this.list.replaceChildren(...rows.flatMap(([label, ms]) => {
      const dt = document.createElement("dt");
      dt.textContent = label;
      if (label.startsWith("  ")) dt.className = "pass";
      const dd = document.createElement("dd");
      dd.textContent = formatMs(ms);
      // timing-upload, timing-GPU, timing-1:gaussian_blur…, timing-total, timing-CPU…
      dd.dataset.testid = `timing-${label.trim().split(" ")[0]}`;
      return [dt, dd];
    }));
    this.renderSpeedup(t, v);
  }

  renderSpeedup(t, v) {
    const box = this.speedup;
    const gpuMs = t.gpuMs;
    if (!v || !(gpuMs > 0) || !(v.referenceMs > 0)) {
      box.dataset.value = "";
      box.replaceChildren(Object.assign(document.createElement("p"), {
        className: "muted",
        textContent: gpuMs === undefined ? "Run a chain to time it." : "The speed-up follows once the CPU check is done.",
      }));
      return;
    }
    const ratio = v.referenceMs / gpuMs;
    box.dataset.value = String(ratio);
    const headline = document.createElement("p");
    headline.className = "headline";
    const times = (r) => (r >= 10 ? Math.round(r).toLocaleString() : r.toFixed(1));
    if (ratio >= 1.05) headline.textContent = `The GPU is ${times(ratio)}× faster than the CPU reference`;
    else if (ratio > 1 / 1.05) headline.textContent = "The GPU is about as fast as the CPU reference";
    else headline.textContent = `The GPU is ${times(1 / ratio)}× slower than the CPU reference`;
    const top = Math.max(gpuMs, v.referenceMs);
    const bar = (label, ms, kind, note) => {
      const row = document.createElement("div");
      row.className = `bar-row ${kind}`;
      const name = document.createElement("span");
      name.className = "bar-label";
      name.textContent = label;
      const track = document.createElement("span");
      track.className = "bar-track";
      const fill = document.createElement("span");
      fill.className = "speed-bar";
      fill.style.width = `${Math.max(0.5, (ms / top) * 100)}%`;
      track.append(fill);
      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = formatMs(ms);
      row.append(name, track, value);
      row.title = note;
      return row;
    };
    const chart = document.createElement("div");
    chart.className = "bars";
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-label", `GPU ${formatMs(gpuMs)}, CPU reference ${formatMs(v.referenceMs)}`);
    chart.append(
      bar("GPU", gpuMs, "gpu", t.gpuClock === "timestamp"
        ? "The chain's passes, timed on the GPU with timestamp queries."
        : "From submitting the chain to the GPU finishing it, by the wall clock (this GPU has no timestamp queries)."),
      bar("CPU", v.referenceMs, "cpu",
        `The NumPy reference for the same chain, one CPU core: its time summed over ${v.tiles} tiles (halos included).`),
    );
    const clock = document.createElement("p");
    clock.className = "muted";
    clock.textContent = t.gpuClock === "timestamp"
      ? "GPU time measured with timestamp queries; CPU time on one core, summed over tiles."
      : "GPU time by the wall clock (no timestamp queries here): it includes waiting. CPU time on one core, summed over tiles.";
    box.replaceChildren(headline, chart, clock);
  }
}
