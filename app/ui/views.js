// What the session's events show: the four panels (original, GPU, CPU, error map) in the
// viewer, the verdict and metrics, the error map's scale, the pixel inspector, the histograms
// and the timings. Verified tiles are drawn as they arrive; a view that no longer matches the
// controls is marked out of date until it is replaced.
//
// The panels show either the chain's result or, when a step is selected, that step's own
// output: its GPU and CPU tiles and its error map come from the verification of every stage
// (worker_api.check_tile's `view`). Display aids (auto contrast, the error map's range) change
// only what is drawn: never what is exported or compared.
import { colourErrors, errorEdges, extremes } from "./errormap.js";
import { ErrorScale } from "./errorscale.js";
import { formatNumber } from "./format.js";
import { Histogram } from "./histogram.js";
import { Inspector } from "./inspector.js";
import { Timings } from "./timings.js";
import { Verdict } from "./verdict.js";
import { VIEWS, Viewer } from "./viewer.js";

export { formatNumber };

const $ = (id) => document.getElementById(id);
const ZOOM_TO_WORST = 8; // "show me the worst pixel" zooms to at least 800 %
// Colouring the error map again (a new range) happens in idle time, at most this long at once,
// so that verification's messages and the next GPU frame never wait behind it; under a
// steady load it still goes on after REPAINT_WAIT_MS.
const REPAINT_MS = 8;
const REPAINT_WAIT_MS = 250;
// Tiles are drawn for at most this long an animation frame while results arrive (showTile).
const PAINT_MS = 6;
const LABELS = { original: "Original", gpu: "GPU result", cpu: "CPU reference", error: "Error map" };

function sized(canvas, width, height) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

function clear(canvas) {
  if (canvas.dataset.context === "bitmaprenderer") {
    canvas.getContext("bitmaprenderer").transferFromImageBitmap(null);
  } else {
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }
}

export class Views {
  /** @param {{ refresh: () => void }} hooks  refresh: run and verify the chain again */
  constructor(session, hooks) {
    this.session = session;
    this.hooks = hooks;
    this.el = {
      original: $("canvas-original"), gpu: $("canvas-gpu"), gpuStage: $("canvas-gpu-stage"),
      cpu: $("canvas-cpu"), heatmap: $("canvas-heatmap"), gpuNote: $("gpu-note"), info: $("image-info"),
      metrics: $("metrics"), progress: $("verify-progress"), autoContrast: $("auto-contrast"),
      viewStage: $("view-stage"), viewStageText: $("view-stage-text"), stage: $("stage"),
    };
    const figures = Object.fromEntries(VIEWS.map((name, i) => [name, this.el.stage.querySelectorAll("figure")[i]]));
    for (const select of [$("split-left"), $("split-right")]) {
      for (const name of VIEWS) select.append(new Option(LABELS[name], name));
    }
    this.viewer = new Viewer({
      stage: this.el.stage, figures, divider: $("split-divider"), mode: $("view-mode"),
      left: $("split-left"), right: $("split-right"), zoomIn: $("zoom-in"), zoomOut: $("zoom-out"),
      fit: $("zoom-fit"), actual: $("zoom-100"), level: $("zoom-level"),
      splitControls: [...document.querySelectorAll(".split-control")],
    });
    this.timings = new Timings($("timings"), $("speedup"));
    this.histogram = new Histogram($("histogram"), $("histogram-scale"));
    this.inspector = new Inspector(session, this.viewer,
      { root: $("inspector"), where: $("inspector-where"), table: $("inspector-table") },
      () => this.context());
    this.errors = null; // Float32Array H×W: the viewed output's max |Δ| over channels
    this.size = null;
    this.done = []; // verified tiles, whose error map is drawn
    this.unpainted = []; // verified tiles not drawn yet (showTile)
    this.paintFrame = 0;
    this.range = { smallest: Infinity, largest: 0 };
    this.job = null;
    this.original = null; // the original's summary (histograms, stretch)
    this.stretch = null; // the display stretch of the result in view, when auto contrast is on
    this.contrast = false;
    this.listen();
  }

  /** Once the session has started (its defaults are known): the parts that need them. */
  start(gpu) {
    const { defaults } = this.session;
    this.verdict = new Verdict(this.session,
      { verdict: $("verdict"), detail: $("verdict-detail"), tolerance: $("tolerance"), chain: $("chain") },
      {
        onTolerance: () => this.hooks.refresh(),
        onWorst: ({ x, y }) => {
          this.viewer.showPixel(x, y, ZOOM_TO_WORST);
          this.viewer.setPin({ x, y });
        },
        onView: (step) => this.view(step),
      });
    this.scale = new ErrorScale(defaults,
      { legend: $("error-legend"), auto: $("error-auto"), min: $("error-min"), max: $("error-max") });
    this.scale.addEventListener("change", () => this.drawHeatmap());
    this.el.autoContrast.addEventListener("change", () => {
      this.contrast = this.el.autoContrast.checked;
      this.showOriginal();
      this.hooks.refresh();
    });
    $("view-result").addEventListener("click", () => this.view(null));
    if (!gpu.available) {
      this.el.gpuNote.hidden = false;
      this.el.gpuNote.textContent = `No GPU result: ${gpu.reason}`;
    }
  }

  /** The chain editor's hook: each step's verdict and its "view" switch. */
  decorateStep = (header, step, i, item) => this.verdict?.decorate(header, step, i, item);

  /** What session.process needs to show what the viewer shows (main.js passes it on). */
  processOptions() {
    const stage = this.stageIndex();
    const stretch = this.contrast ? this.stretch : null;
    return {
      tol: this.verdict?.tolerance,
      stages: "auto",
      display: {
        run: { stretch },
        verify: { view: stage, summary: true, contrast: this.contrast, shown: stretch },
      },
    };
  }

  /** The enabled step in view (its index among enabled steps), or null for the result. */
  stageIndex() {
    const viewed = this.verdict?.viewed;
    if (!viewed) return null;
    const enabled = this.session.chain.filter((step) => step.enabled);
    const k = enabled.indexOf(viewed);
    if (k < 0) this.verdict.viewed = null; // removed or switched off: back to the result
    return k < 0 || k === enabled.length - 1 ? null : k;
  }

  context() {
    const stage = this.stageIndex();
    const number = stage === null ? null : this.session.chain.indexOf(this.verdict.viewed) + 1;
    return { chain: JSON.stringify(this.session.chain), stage, stepNumber: number };
  }

  /** Show `step`'s own output in the viewer (null: the chain's result). */
  view(step) {
    this.verdict.viewed = step;
    for (const button of this.verdict.el.chain.querySelectorAll(".step-view")) {
      const pressed = button.parentElement.querySelector("[data-step-verdict]")?.stepRef === step && step !== null;
      button.setAttribute("aria-pressed", String(pressed));
      button.closest("li")?.classList.toggle("viewed", pressed);
    }
    this.hooks.refresh();
  }

  listen() {
    const { session, el } = this;
    session.addEventListener("image", ({ detail }) => this.showImage(detail));
    session.addEventListener("stale", () => {
      this.pauseHeatmap();
      this.markStale(true);
    });
    session.addEventListener("gpu-result", ({ detail }) => {
      this.showFrame(el.gpu, detail, "gpu");
      this.mark(el.gpu, false);
      // A presented run comes back before the GPU is done; its timings follow.
      if (!detail.timings.pending) this.timings.showGpu(detail.timings);
    });
    session.addEventListener("gpu-timings", ({ detail }) => {
      if (!detail.timings.error) this.timings.showGpu(detail.timings);
    });
    session.addEventListener("gpu-error", () => {
      clear(el.gpu);
      this.mark(el.gpu, false);
      this.showMetrics(null);
      this.timings.showGpu(null);
    });
    session.addEventListener("verify-tiles", ({ detail }) => this.startTiles(detail));
    session.addEventListener("verify-tile", ({ detail }) => this.showTile(detail));
    session.addEventListener("verify-summary", ({ detail }) => this.histogram.set("result", detail.summary));
    session.addEventListener("verify-progress", ({ detail }) => {
      this.progress(detail.fraction);
      if (detail.metrics && detail.fraction < 1) this.showMetrics(detail.metrics, detail.first ? "first" : "partial", detail.chain, detail.fraction);
    });
    session.addEventListener("verified", ({ detail }) => {
      this.paintTiles(); // every tile is drawn when the final verdict shows
      this.progress(1);
      this.markStale(false);
      this.showMetrics(detail.metrics, "final", detail.chain);
      this.verdict?.showSteps(detail.chain, detail.stages, detail.metrics, this.job?.stagesNote ?? "");
      this.timings.showCpu({ referenceMs: detail.referenceMs, wallMs: detail.wallMs, workers: detail.workers, tiles: detail.tiles });
    });
  }

  showImage(detail) {
    const { el } = this;
    const { info } = detail;
    this.showFrame(el.original, detail, "original");
    const facts = [`${info.width}×${info.height}`, `${info.mode}`, `${info.bitDepth}-bit`];
    if (info.hasAlpha) facts.push("alpha");
    if (info.animated) facts.push("animated: first frame");
    if (info.exifOriented) facts.push(`EXIF orientation ${info.exifOrientation} applied`);
    el.info.textContent = facts.join(" · ");
    el.info.dataset.loads = String(Number(el.info.dataset.loads ?? 0) + 1);
    this.size = [info.width, info.height];
    this.viewer.setSize(info.width, info.height);
    this.errors = null;
    this.done = [];
    this.dropTiles();
    for (const canvas of [el.cpu, el.heatmap, el.gpuStage]) {
      sized(canvas, info.width, info.height);
      clear(canvas);
    }
    this.original = detail.summary ?? null;
    this.stretch = null;
    this.histogram.set("original", this.original, this.original?.scale > 1 ? this.original.scale : null);
    this.histogram.set("result", null);
    if (this.contrast) this.showOriginal();
    this.showMetrics(null);
    this.progress(0);
  }

  /** Draw the original again, stretched when auto contrast is on. */
  async showOriginal() {
    const stretch = this.contrast ? this.original?.stretch ?? null : null;
    this.histogram.mark("original", stretch);
    if (!this.session.image) return;
    try {
      const out = await this.session.gpuCall("original", { stretch }, { channel: "original" });
      this.showFrame(this.el.original, { ...out, width: this.size[0], height: this.size[1] }, "original");
    } catch {
      // superseded by a newer request, or a new image: that one is drawn instead
    }
  }

  startTiles(job) {
    const { el } = this;
    this.job = job;
    this.size = [job.width, job.height];
    this.viewer.setSize(job.width, job.height);
    // Only verified tiles' values are ever read, so the last verification's array serves
    // again (at 4096² a new one is 64 MiB to allocate and zero while tiles are due).
    const pixels = job.width * job.height;
    this.errors = job.gpu ? (this.errors?.length === pixels ? this.errors : new Float32Array(pixels)) : null;
    this.done = [];
    this.dropTiles();
    this.range = { smallest: Infinity, largest: 0 };
    this.scale?.setData(Infinity, 0);
    // The CPU view and the error map are rebuilt tile by tile for the current settings, on a
    // cleared canvas, so no tile of the previous settings is mistaken for a current one.
    for (const canvas of [el.cpu, el.heatmap, el.gpuStage]) {
      sized(canvas, job.width, job.height);
      clear(canvas);
    }
    this.mark(el.cpu, false);
    this.mark(el.heatmap, false);
    const stage = job.view ?? null;
    el.gpuStage.hidden = stage === null;
    this.caption(stage);
    if (job.stretch) this.stretch = job.stretch;
    if (job.frame || job.display) this.showFrame(el.gpu, job, "gpu"); // presented again with the stretch
    // A script's run asks for none; without auto contrast it follows (verify-summary).
    this.histogram.set("result", job.summary ?? null);
    this.histogram.mark("result", this.contrast && job.stretch ? job.stretch : null);
    this.progress(0);
  }

  caption(stage) {
    const selected = this.stageIndex() === null ? null : this.verdict.viewed;
    const step = stage === null ? null : selected;
    const number = step ? this.session.chain.indexOf(step) + 1 : null;
    const op = step ? this.session.catalog.find((o) => o.name === step.op)?.label ?? step.op : "";
    const text = step ? `step ${number}: ${op}` : "";
    for (const name of ["gpu", "cpu", "error"]) $(`caption-${name}`).textContent = text;
    this.el.viewStage.hidden = !selected;
    this.el.viewStageText.textContent = step ? `Showing step ${number} (${op}), not the result.`
      : selected ? `Showing the result: ${this.job?.stagesNote || "this step's output is not kept for viewing."}` : "";
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
    $("verdict").classList.toggle("stale", stale);
    this.verdict?.markStale(stale);
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

  /**
   * A verified tile: its errors and the map's range now, its drawing (the reference's preview,
   * the error map's colours) at the next animation frames, a few milliseconds of tiles a frame.
   * The page's thread then turns back to the tiles' messages at once, and hands the workers
   * their next tiles, instead of drawing while results wait; the final verdict draws whatever
   * is left first (paintTiles with no budget).
   */
  showTile({ tile, preview, error, gpuPreview }) {
    const [y0, y1, x0, x1] = tile;
    const w = x1 - x0;
    const h = y1 - y0;
    const heat = Boolean(error && this.errors);
    if (heat) {
      const width = this.size[0];
      for (let y = 0; y < h; y++) this.errors.set(error.subarray(y * w, (y + 1) * w), (y0 + y) * width + x0);
      this.done.push(tile);
      extremes(error, this.range);
      this.scale.setData(this.range.smallest, this.range.largest); // a new range repaints all
    }
    this.unpainted.push({ tile, preview, gpuPreview, error: heat ? error : null });
    this.paintFrame ||= requestAnimationFrame(() => this.paintTiles(PAINT_MS));
  }

  /** Draw the tiles shown since the last frame, for at most `budget` ms, then go on next frame. */
  paintTiles(budget = Infinity) {
    const started = performance.now();
    const until = started + budget;
    cancelAnimationFrame(this.paintFrame);
    while (this.unpainted.length && performance.now() < until) {
      const { tile, preview, gpuPreview, error } = this.unpainted.shift();
      const [y0, y1, x0, x1] = tile;
      const w = x1 - x0;
      const h = y1 - y0;
      this.el.cpu.getContext("2d").putImageData(new ImageData(preview, w, h), x0, y0);
      if (gpuPreview) this.el.gpuStage.getContext("2d").putImageData(new ImageData(gpuPreview, w, h), x0, y0);
      if (error) this.paintTile(tile, error);
    }
    this.session.spent("tile drawing", performance.now() - started);
    this.paintFrame = this.unpainted.length ? requestAnimationFrame(() => this.paintTiles(PAINT_MS)) : 0;
  }

  /** Drop the tiles not drawn yet: they belong to a verification that was replaced. */
  dropTiles() {
    cancelAnimationFrame(this.paintFrame);
    this.paintFrame = 0;
    this.unpainted = [];
  }

  /**
   * Colour the whole error map again (a new range): every verified tile, a few milliseconds
   * of tiles at a time in idle time, so that a large image never blocks the page. A newer
   * range restarts it.
   */
  drawHeatmap() {
    this.repaint = 0; // the next tile to colour again
    if (this.redraw) return;
    const step = (deadline) => {
      const started = performance.now();
      const until = started + Math.max(1, Math.min(REPAINT_MS, deadline.timeRemaining()));
      while (this.errors && this.repaint < this.done.length && performance.now() < until) {
        this.paintTile(this.done[this.repaint++]);
      }
      this.session.spent("heatmap repaint", performance.now() - started);
      this.redraw = this.errors && this.repaint < this.done.length
        ? requestIdleCallback(step, { timeout: REPAINT_WAIT_MS }) : 0;
    };
    this.redraw = requestIdleCallback(step, { timeout: REPAINT_WAIT_MS });
  }

  /**
   * Stop colouring the error map again: after a parameter change, the GPU frame never waits
   * behind it. The map is out of date then, and the next verification draws it afresh.
   */
  pauseHeatmap() {
    cancelIdleCallback(this.redraw);
    this.redraw = 0;
  }

  paintTile([y0, y1, x0, x1], values = null) {
    const width = this.size[0];
    const w = x1 - x0;
    const h = y1 - y0;
    let errors = values;
    if (!errors) {
      errors = new Float32Array(w * h);
      for (let y = 0; y < h; y++) errors.set(this.errors.subarray((y0 + y) * width + x0, (y0 + y) * width + x1), y * w);
    }
    const limits = this.scale.limits;
    if (this.edgesFor !== limits) {
      this.edges = errorEdges(...limits);
      this.edgesFor = limits;
    }
    const rgba = colourErrors(errors, this.edges, this.session.defaults);
    this.el.heatmap.getContext("2d").putImageData(new ImageData(rgba, w, h), x0, y0);
  }

  /**
   * Show metrics; `state` says how much of the image they cover: "partial", "first" (the
   * first verdict: edges, corners and a sample), "final" (the whole image), or "none".
   */
  showMetrics(m, state = "none", chain = "", fraction = 1) {
    if (m) {
      this.el.metrics.classList.remove("stale"); // they belong to the settings shown
      this.el.metrics.dataset.stale = "false";
      $("verdict").classList.remove("stale");
    }
    const set = (id, v) => (document.getElementById(id).textContent = m ? formatNumber(v) : "–");
    set("metric-max-abs-error", m?.maxAbsError);
    set("metric-mean-abs-error", m?.meanAbsError);
    set("metric-rmse", m?.rmse);
    set("metric-psnr", m?.psnr);
    this.el.metrics.dataset.verdict = m ? state : "none";
    this.el.metrics.dataset.chain = m ? chain : ""; // the chain these metrics belong to
    this.verdict?.show(m, m ? state : "none", fraction);
  }
}
