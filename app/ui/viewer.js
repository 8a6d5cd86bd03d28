// The viewer: four panels (original, GPU result, CPU reference, error map) side by side, or
// any two of them split by a draggable divider, all showing the same region at the same zoom.
//
// Each panel's canvases hold the whole image at one canvas pixel per image pixel, and are
// placed by one CSS transform (translate, then scale) on a layer inside a clipping viewport.
// Zooming and panning change that transform only: nothing is redrawn and no pixels are
// copied, the compositor shows the visible region of each canvas. Past 100 % the canvases are
// drawn with `image-rendering: pixelated` (sharp pixels); below, smoothed.
//
// The view is one state for all panels: the scale and the image point at the centre of each
// viewport. Input: wheel and pinch (two pointers, or a trackpad's ctrl+wheel) zoom about the
// pointer, a drag pans, a double-click zooms in (with Shift, out), a click pins the pixel
// under the pointer for the inspector (a second click on it unpins, as does Escape); keys `+`,
// `-`, `0` (fit) and `1` (100 %) anywhere outside a text field, arrow keys pan a focused
// panel. Events: "hover" and "pin" ({ x, y } or null, image pixels).

export const VIEWS = ["original", "gpu", "cpu", "error"];
export const MAX_SCALE = 32; // 3200 %
const WHEEL_DOUBLING = 400; // wheel pixels (deltaMode 0) that double or halve the scale
const PINCH_DOUBLING = 100; // the same for a trackpad pinch, which arrives as ctrl+wheel
const DRAG_SLOP = 4; // CSS pixels a press may move and still count as a click
const LINE_PIXELS = 33; // a wheel "line" (deltaMode 1), in pixels
const HOVER_MARKER_SCALE = 4; // the hovered pixel is outlined from this zoom on

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

function editable(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement
    && !["checkbox", "radio", "button", "submit", "reset", "file", "color"].includes(target.type);
}

export class Viewer extends EventTarget {
  /**
   * @param {object} el  stage (the panels' container), figures ({ original, gpu, cpu, error }:
   *   each a figure holding a .viewport with a .layer), divider, and the controls: mode,
   *   left, right (selects), zoomIn, zoomOut, fit, actual (buttons), level (the readout).
   */
  constructor(el) {
    super();
    this.el = el;
    this.size = null; // [width, height] of the image
    this.scale = 1;
    this.cx = 0;
    this.cy = 0;
    this.fitted = true; // follow the viewport's size until the user zooms or pans
    this.mode = "grid";
    this.left = "original";
    this.right = "gpu";
    this.split = 0.5;
    this.hover = null;
    this.pin = null;
    this.pointers = new Map(); // pointerId -> { x, y, startX, startY }
    this.gesture = null;
    for (const name of VIEWS) {
      const figure = el.figures[name];
      figure.dataset.view = name;
      const marks = document.createElement("div");
      marks.className = "marks";
      marks.setAttribute("aria-hidden", "true");
      marks.innerHTML = '<div class="mark hover" hidden></div><div class="mark pin" hidden></div>';
      figure.querySelector(".viewport").append(marks);
    }
    this.wire();
    new ResizeObserver(() => (this.fitted ? this.fit() : this.apply())).observe(el.stage);
    this.setMode("grid");
  }

  // -- the state ----------------------------------------------------------------------------

  /** The image's size changed (a new image): fit it. */
  setSize(width, height) {
    const same = this.size && this.size[0] === width && this.size[1] === height;
    this.size = [width, height];
    for (const name of VIEWS) {
      const layer = this.layer(name);
      layer.style.width = `${width}px`;
      layer.style.height = `${height}px`;
    }
    this.el.stage.dataset.empty = "false";
    if (!same) {
      this.pin = null;
      this.fit();
    } else this.apply();
  }

  layer(name) {
    return this.el.figures[name].querySelector(".layer");
  }

  viewport(name) {
    return this.el.figures[name].querySelector(".viewport");
  }

  /** The panels on screen: all four side by side, or the two of the split. */
  shown() {
    return this.mode === "grid" ? VIEWS : [...new Set([this.left, this.right])];
  }

  setMode(mode) {
    this.mode = mode === "split" ? "split" : "grid";
    this.el.mode.value = this.mode;
    this.el.stage.dataset.mode = this.mode;
    this.el.left.value = this.left;
    this.el.right.value = this.right;
    for (const name of VIEWS) {
      const figure = this.el.figures[name];
      const shown = this.shown().includes(name);
      figure.hidden = !shown;
      figure.classList.toggle("split-left", this.mode === "split" && name === this.left);
      figure.classList.toggle("split-right", this.mode === "split" && name === this.right && name !== this.left);
    }
    this.el.divider.hidden = this.mode !== "split";
    for (const control of this.el.splitControls) control.hidden = this.mode !== "split";
    if (this.fitted) this.fit();
    else this.apply();
  }

  setSplitSides(left, right) {
    this.left = VIEWS.includes(left) ? left : this.left;
    this.right = VIEWS.includes(right) ? right : this.right;
    this.setMode(this.mode);
  }

  /** The size of the viewport the panels share (the smallest shown, to fit). */
  viewportSize() {
    let best = null;
    for (const name of this.shown()) {
      const v = this.viewport(name);
      if (!v.clientWidth || !v.clientHeight) continue;
      if (!best || v.clientWidth * v.clientHeight < best[0] * best[1]) best = [v.clientWidth, v.clientHeight];
    }
    return best ?? [1, 1];
  }

  fitScale() {
    if (!this.size) return 1;
    const [vw, vh] = this.viewportSize();
    return clamp(Math.min(vw / this.size[0], vh / this.size[1]), 1e-3, MAX_SCALE);
  }

  minScale() {
    return Math.min(this.fitScale(), 1);
  }

  fit() {
    if (!this.size) return;
    this.scale = this.fitScale();
    this.cx = this.size[0] / 2;
    this.cy = this.size[1] / 2;
    this.fitted = true;
    this.apply();
  }

  /**
   * Zoom to `scale`, keeping the image point under point (`vx`, `vy`) of `viewport` where it
   * is (the centre by default).
   */
  zoomTo(scale, vx = null, vy = null, viewport = null) {
    if (!this.size) return;
    const [vw, vh] = viewport ? [viewport.clientWidth, viewport.clientHeight] : this.viewportSize();
    const px = vx ?? vw / 2;
    const py = vy ?? vh / 2;
    const next = clamp(scale, this.minScale(), MAX_SCALE);
    const ix = this.cx + (px - vw / 2) / this.scale;
    const iy = this.cy + (py - vh / 2) / this.scale;
    this.scale = next;
    this.cx = ix - (px - vw / 2) / next;
    this.cy = iy - (py - vh / 2) / next;
    this.fitted = false;
    this.apply();
  }

  /** Centre pixel (x, y) at `scale` (at least the current one). */
  showPixel(x, y, scale = this.scale) {
    if (!this.size) return;
    this.scale = clamp(Math.max(scale, this.scale), this.minScale(), MAX_SCALE);
    this.cx = x + 0.5;
    this.cy = y + 0.5;
    this.fitted = false;
    this.apply();
  }

  panBy(dx, dy) {
    if (!this.size) return;
    this.cx -= dx / this.scale;
    this.cy -= dy / this.scale;
    this.fitted = false;
    this.apply();
  }

  /** Where the image lies in a viewport of size vw × vh: [tx, ty] in CSS pixels. */
  offset(vw, vh) {
    const dpr = window.devicePixelRatio || 1;
    // Whole device pixels, so that at 100 % an image pixel lands on a screen pixel.
    const snap = (v) => Math.round(v * dpr) / dpr;
    return [snap(vw / 2 - this.cx * this.scale), snap(vh / 2 - this.cy * this.scale)];
  }

  apply() {
    if (this.size) {
      this.cx = clamp(this.cx, 0, this.size[0]);
      this.cy = clamp(this.cy, 0, this.size[1]);
    }
    const s = this.scale;
    for (const name of this.shown()) {
      const v = this.viewport(name);
      const [tx, ty] = this.offset(v.clientWidth, v.clientHeight);
      const layer = this.layer(name);
      layer.style.transform = `translate(${tx}px, ${ty}px) scale(${s})`;
      layer.classList.toggle("pixelated", s >= 1);
      this.placeMarks(v, tx, ty);
    }
    if (this.mode === "split") {
      const percent = this.split * 100;
      this.el.figures[this.right].style.clipPath = this.right === this.left ? "" : `inset(0 0 0 ${percent}%)`;
      for (const name of VIEWS) if (name !== this.right) this.el.figures[name].style.clipPath = "";
      this.el.divider.style.left = `${percent}%`;
      this.el.divider.setAttribute("aria-valuenow", String(Math.round(percent)));
      this.el.divider.setAttribute("aria-valuetext",
        `${Math.round(percent)} %: ${this.label(this.left)} on the left, ${this.label(this.right)} on the right`);
      this.el.divider.dataset.position = String(this.split);
    } else {
      for (const name of VIEWS) this.el.figures[name].style.clipPath = "";
    }
    const percent = s * 100;
    this.el.level.textContent = `${percent >= 10 ? Math.round(percent) : percent.toFixed(1)}%`;
    this.el.level.dataset.scale = String(s);
  }

  label(name) {
    return this.el.figures[name].querySelector("figcaption .name")?.textContent ?? name;
  }

  placeMarks(viewport, tx, ty) {
    const s = this.scale;
    const place = (mark, point, minimum) => {
      mark.hidden = !point || (mark.classList.contains("hover") && s < HOVER_MARKER_SCALE);
      if (mark.hidden) return;
      const side = Math.max(s, minimum);
      mark.style.transform = `translate(${tx + (point.x + 0.5) * s - side / 2}px, ${ty + (point.y + 0.5) * s - side / 2}px)`;
      mark.style.width = mark.style.height = `${side}px`;
    };
    place(viewport.querySelector(".mark.hover"), this.hover, 0);
    place(viewport.querySelector(".mark.pin"), this.pin, 11);
  }

  // -- input --------------------------------------------------------------------------------

  /** The shown viewport under a client point, and the point in it. */
  hit(clientX, clientY) {
    for (const name of this.shown()) {
      const v = this.viewport(name);
      const r = v.getBoundingClientRect();
      if (clientX >= r.left && clientX < r.right && clientY >= r.top && clientY < r.bottom) {
        return { viewport: v, vx: clientX - r.left, vy: clientY - r.top };
      }
    }
    return null;
  }

  /** The image pixel under a client point, or null. */
  pixelAt(clientX, clientY) {
    const at = this.hit(clientX, clientY);
    if (!at || !this.size) return null;
    const { clientWidth: vw, clientHeight: vh } = at.viewport;
    const [tx, ty] = this.offset(vw, vh);
    const x = Math.floor((at.vx - tx) / this.scale);
    const y = Math.floor((at.vy - ty) / this.scale);
    return x >= 0 && y >= 0 && x < this.size[0] && y < this.size[1] ? { x, y } : null;
  }

  setHover(point) {
    const same = point && this.hover && point.x === this.hover.x && point.y === this.hover.y;
    if (same || (!point && !this.hover)) return;
    this.hover = point;
    this.apply();
    this.dispatchEvent(new CustomEvent("hover", { detail: point }));
  }

  setPin(point) {
    this.pin = point;
    this.apply();
    this.dispatchEvent(new CustomEvent("pin", { detail: point }));
  }

  wire() {
    const { stage, divider } = this.el;
    this.el.mode.addEventListener("change", () => this.setMode(this.el.mode.value));
    this.el.left.addEventListener("change", () => this.setSplitSides(this.el.left.value, this.right));
    this.el.right.addEventListener("change", () => this.setSplitSides(this.left, this.el.right.value));
    this.el.zoomIn.addEventListener("click", () => this.zoomTo(this.scale * 2));
    this.el.zoomOut.addEventListener("click", () => this.zoomTo(this.scale / 2));
    this.el.fit.addEventListener("click", () => this.fit());
    this.el.actual.addEventListener("click", () => this.zoomTo(1));

    stage.addEventListener("wheel", (e) => {
      const at = this.hit(e.clientX, e.clientY);
      if (!at || !this.size) return;
      e.preventDefault();
      const pixels = e.deltaY * (e.deltaMode === 1 ? LINE_PIXELS : e.deltaMode === 2 ? at.viewport.clientHeight : 1);
      const factor = 2 ** (-pixels / (e.ctrlKey ? PINCH_DOUBLING : WHEEL_DOUBLING));
      this.zoomTo(this.scale * factor, at.vx, at.vy, at.viewport);
    }, { passive: false });

    stage.addEventListener("pointerdown", (e) => {
      if (e.target.closest(".split-divider") || !this.hit(e.clientX, e.clientY) || !this.size) return;
      if (e.pointerType === "mouse" && e.button !== 0) return;
      stage.setPointerCapture(e.pointerId);
      this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, startX: e.clientX, startY: e.clientY });
      this.gesture = this.pointers.size === 1 ? { kind: "press", moved: false } : this.pinchStart();
      stage.classList.add("grabbing");
    });
    stage.addEventListener("pointermove", (e) => {
      const p = this.pointers.get(e.pointerId);
      if (!p) {
        if (e.pointerType !== "touch") this.setHover(this.pixelAt(e.clientX, e.clientY));
        return;
      }
      const dx = e.clientX - p.x;
      const dy = e.clientY - p.y;
      p.x = e.clientX;
      p.y = e.clientY;
      if (this.gesture?.kind === "pinch") {
        this.pinchMove();
        return;
      }
      if (Math.hypot(e.clientX - p.startX, e.clientY - p.startY) > DRAG_SLOP) this.gesture.moved = true;
      if (this.gesture?.moved) this.panBy(dx, dy);
      if (e.pointerType !== "touch") this.setHover(this.pixelAt(e.clientX, e.clientY));
    });
    const release = (e) => {
      const p = this.pointers.get(e.pointerId);
      if (!p) return;
      this.pointers.delete(e.pointerId);
      if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
      if (e.type === "pointerup" && this.gesture?.kind === "press" && !this.gesture.moved) {
        const point = this.pixelAt(e.clientX, e.clientY);
        const again = point && this.pin && point.x === this.pin.x && point.y === this.pin.y;
        if (point) this.setPin(again ? null : point);
      }
      if (this.pointers.size === 0) {
        this.gesture = null;
        stage.classList.remove("grabbing");
      } else if (this.gesture?.kind === "pinch") {
        this.gesture = { kind: "press", moved: true }; // one finger left: it pans on
      }
    };
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);
    stage.addEventListener("pointerleave", (e) => {
      if (!this.pointers.size && e.pointerType !== "touch") this.setHover(null);
    });
    stage.addEventListener("dblclick", (e) => {
      const at = this.hit(e.clientX, e.clientY);
      if (!at || !this.size) return;
      this.zoomTo(e.shiftKey ? this.scale / 2 : this.scale * 2, at.vx, at.vy, at.viewport);
    });

    document.addEventListener("keydown", (e) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || editable(e.target) || !this.size) return;
      const zoom = { "+": 2, "=": 2, "-": 0.5, _: 0.5 }[e.key];
      if (zoom) this.zoomTo(this.scale * zoom);
      else if (e.key === "0") this.fit();
      else if (e.key === "1") this.zoomTo(1);
      else if (e.key === "Escape" && this.pin) this.setPin(null);
      else return;
      e.preventDefault();
    });
    stage.addEventListener("keydown", (e) => {
      const viewport = e.target.closest?.(".viewport");
      const step = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key];
      if (!viewport || !step || !this.size) return;
      e.preventDefault();
      this.panBy(step[0] * viewport.clientWidth / 8, step[1] * viewport.clientHeight / 8);
    });

    divider.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      divider.setPointerCapture(e.pointerId);
      divider.classList.add("dragging");
    });
    divider.addEventListener("pointermove", (e) => {
      if (!divider.hasPointerCapture(e.pointerId)) return;
      const r = stage.getBoundingClientRect();
      this.split = clamp((e.clientX - r.left) / r.width, 0, 1);
      this.apply();
    });
    const drop = (e) => {
      if (divider.hasPointerCapture(e.pointerId)) divider.releasePointerCapture(e.pointerId);
      divider.classList.remove("dragging");
    };
    divider.addEventListener("pointerup", drop);
    divider.addEventListener("pointercancel", drop);
    divider.addEventListener("keydown", (e) => {
      const moves = { ArrowLeft: -0.02, ArrowRight: 0.02, PageDown: -0.1, PageUp: 0.1 };
      if (e.key in moves) this.split = clamp(this.split + moves[e.key], 0, 1);
      else if (e.key === "Home") this.split = 0;
      else if (e.key === "End") this.split = 1;
      else return;
      e.preventDefault();
      this.apply();
    });
  }

  pinchStart() {
    const [a, b] = [...this.pointers.values()];
    return { kind: "pinch", distance: Math.hypot(a.x - b.x, a.y - b.y) || 1, mid: [(a.x + b.x) / 2, (a.y + b.y) / 2] };
  }

  pinchMove() {
    const [a, b] = [...this.pointers.values()];
    const distance = Math.hypot(a.x - b.x, a.y - b.y) || 1;
    const mid = [(a.x + b.x) / 2, (a.y + b.y) / 2];
    const g = this.gesture;
    this.panBy(mid[0] - g.mid[0], mid[1] - g.mid[1]);
    const at = this.hit(mid[0], mid[1]);
    if (at) this.zoomTo(this.scale * (distance / g.distance), at.vx, at.vy, at.viewport);
    g.distance = distance;
    g.mid = mid;
  }
}
