// The error map's scale: the legend (the colour ramp on a log axis with round ticks, and the
// colours of an exact zero and of NaN or infinity) and the range, from the data or set by
// hand. Fires "change" when the range the map should be drawn with changes.
import { autoRange, niceSteps } from "./errormap.js";
import { formatShort } from "./format.js";

const css = ([r, g, b]) => `rgb(${r} ${g} ${b})`;
const MIN_GAP = 0.2; // the least distance between two ticks, as a share of the ramp: labels never touch

export class ErrorScale extends EventTarget {
  /** @param {object} el  legend, auto (checkbox), min, max (number inputs) */
  constructor(facts, el) {
    super();
    this.facts = facts;
    this.el = el;
    this.data = null; // [lo, hi] from the data
    this.limits = autoRange(Infinity, 0, facts);
    const stops = facts.ramp.filter((_, i) => i % 15 === 0 || i === 255).map(css);
    el.legend.innerHTML = "";
    this.bar = document.createElement("div");
    this.bar.className = "ramp";
    this.bar.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
    this.ticks = document.createElement("div");
    this.ticks.className = "ticks";
    const keys = document.createElement("p");
    keys.className = "keys";
    for (const [colour, text] of [[facts.zeroColour, "exactly 0"], [facts.invalidColour, "NaN or infinite"]]) {
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = css(colour);
      keys.append(swatch, ` ${text} `);
    }
    el.legend.append(this.bar, this.ticks, keys);
    el.auto.addEventListener("change", () => this.update());
    for (const input of [el.min, el.max]) {
      input.addEventListener("change", () => {
        el.auto.checked = false;
        this.update();
      });
    }
    this.update();
  }

  /** The data's smallest and largest positive finite |Δ| so far (Infinity and 0: none). */
  setData(smallest, largest) {
    this.data = autoRange(smallest, largest, this.facts);
    if (this.el.auto.checked) this.update();
  }

  update() {
    const { auto, min, max } = this.el;
    let limits = this.data ?? autoRange(Infinity, 0, this.facts);
    let valid = true;
    if (!auto.checked) {
      const lo = Number(min.value);
      const hi = Number(max.value);
      valid = min.value.trim() !== "" && max.value.trim() !== "" && lo > 0 && hi > lo && Number.isFinite(hi);
      if (valid) limits = [lo, hi];
    }
    for (const input of [min, max]) {
      input.setAttribute("aria-invalid", String(!valid));
      input.title = valid ? "" : "The range needs 0 < from < to, such as 1e-9 to 1e-5.";
    }
    if (auto.checked) {
      min.value = formatShort(limits[0]);
      max.value = formatShort(limits[1]);
    }
    const changed = limits[0] !== this.limits[0] || limits[1] !== this.limits[1];
    if (changed) this.limits = limits; // the same array while the range holds
    this.drawTicks();
    if (changed) this.dispatchEvent(new Event("change"));
  }

  drawTicks() {
    const [lo, hi] = this.limits;
    const span = Math.log(hi / lo);
    const at = (v) => Math.log(v / lo) / span; // 0 to 1 along the ramp
    // Both ends, and the powers of ten between them (every other one when there are many),
    // none closer to another than MIN_GAP of the ramp.
    const decades = niceSteps(lo, hi, [1]).filter((v) => v > lo && v < hi);
    const every = Math.ceil(decades.length / 5);
    const ticks = [lo];
    for (const v of decades.filter((_, i) => i % every === 0)) {
      if (at(v) - at(ticks[ticks.length - 1]) >= MIN_GAP && at(hi) - at(v) >= MIN_GAP) ticks.push(v);
    }
    ticks.push(hi);
    this.ticks.replaceChildren(...ticks.map((v) => {
      const tick = document.createElement("span");
      tick.textContent = formatShort(v);
      tick.style.left = `${at(v) * 100}%`;
      return tick;
    }));
    const { legend } = this.el;
    legend.dataset.lo = String(lo);
    legend.dataset.hi = String(hi);
    legend.dataset.auto = String(this.el.auto.checked);
    legend.setAttribute("aria-label", `Error map colours: |Δ| from ${formatShort(lo)} (dark) to ${formatShort(hi)}`
      + " (light) on a logarithmic scale; exact zeros and NaN or infinite differences have colours of their own.");
  }
}
