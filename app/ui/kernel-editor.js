// The kernel editor of a "kernel" parameter (the convolution matrix): every odd size the
// catalog allows, cells that take numbers, fractions and simple expressions (cells.js),
// presets shown as exact fractions, Normalise (the divisor becomes the weights' sum), and
// what Python says about the kernel: its numerical rank and singular values, and whether it
// runs as two 1-D passes (filterlab.kernels.analyse, through the GPU worker's kernel_facts).
import { Latest, isAbort } from "../bridge.js";
import { evaluateCell } from "./cells.js";
import { el, formatValue } from "./dom.js";

// The text each cell shows, kept per kernel (the array), so a redraw keeps what was typed.
const typed = new WeakMap();

/** A square kernel of size `n` holding `kernel`'s values, centre-padded with `fill` or cropped. */
export function resized(kernel, n, fill = 0) {
  const shift = (n - kernel.length) / 2;
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => {
    const row = kernel[r - shift];
    return row === undefined || c - shift < 0 || c - shift >= row.length ? fill : row[c - shift];
  }));
}

function singularValues(values, rank) {
  const shown = values.slice(0, 6).map((v, i) => (i >= rank && v !== 0 ? "≈0" : formatValue(v)));
  return values.length > 6 ? `${shown.join(", ")}, … (${values.length} in all)` : shown.join(", ");
}

/** The readout for kernel_facts' answer. */
export function describeFacts(facts) {
  const rank = facts.rank === 0 ? "Rank 0 (all weights are 0)" : `Rank ${facts.rank}`;
  const runs = facts.separable
    ? `runs as two 1-D passes of ${facts.taps} taps`
    : `runs as one 2-D pass of ${facts.taps} taps`;
  return `${rank}; singular values ${singularValues(facts.singularValues, facts.rank)}. It ${runs}.`;
}

export class KernelEditor {
  /**
   * @param {object} options
   *   session: for kernel_facts; step, index: the chain step and its position; param: the
   *   catalog's kernel parameter; label: the step's name for accessible names;
   *   divisor: whether the operation has a "divisor" parameter (Normalise sets it);
   *   onEdit({ commit, redraw }): the kernel (or the divisor) changed.
   */
  constructor({ session, step, index, param, label, divisor, onEdit }) {
    Object.assign(this, { session, step, index, param, label, divisor, onEdit });
    this.facts = new Latest();
    this.errors = new Map(); // "r,c" -> reason
    const id = (name) => `kernel-${index}-${name}`;
    this.size = el("select", { id: id("size"), testid: id("size"), "aria-label": `Kernel size of ${label}` },
      ...param.sizes.map((n) => el("option", { value: n, textContent: `${n}×${n}` })));
    this.size.addEventListener("change", () => this.resize(Number(this.size.value)));
    this.normalise = el("button", {
      type: "button", testid: id("normalise"), textContent: "Normalise",
      "aria-label": `Normalise the kernel of ${label}: set the divisor to the sum of its weights`,
    });
    this.normalise.hidden = !divisor;
    this.normalise.addEventListener("click", () => this.normaliseWeights());
    this.grid = el("div", { className: "kernel", role: "group", "aria-label": `Kernel of ${label}` });
    this.error = el("p", { id: id("error"), testid: id("error"), className: "kernel-error", role: "alert" });
    this.error.hidden = true;
    this.readout = el("p", { testid: id("separability"), className: "kernel-facts", "aria-live": "polite" });
    this.sumNote = el("span", { className: "muted", testid: id("sum") });
    const presets = el("div", { className: "presets", role: "group", "aria-label": `Kernel presets for ${label}` },
      ...Object.keys(param.presets ?? {}).map((name) => {
        const b = el("button", { type: "button", testid: `preset-${index}-${name}`, textContent: name.replace("_", " ") });
        b.addEventListener("click", () => this.preset(name));
        return b;
      }));
    this.element = el("div", { className: "kernel-editor" },
      el("div", { className: "kernel-head" },
        el("label", { htmlFor: id("size"), textContent: param.label, title: param.help }),
        this.size, this.normalise, this.sumNote),
      el("div", { className: "kernel-scroll" }, this.grid),
      this.error, this.readout, presets);
    this.draw();
  }

  get kernel() {
    return this.step.params[this.param.name];
  }

  texts() {
    const kernel = this.kernel;
    let texts = typed.get(kernel);
    if (!texts || texts.length !== kernel.length) {
      texts = kernel.map((row) => row.map((v) => (v === null ? "" : String(v))));
      typed.set(kernel, texts);
    }
    return texts;
  }

  /** Replace the kernel (and what its cells show) and redraw. */
  replace(kernel, texts) {
    this.step.params[this.param.name] = kernel;
    typed.set(kernel, texts ?? kernel.map((row) => row.map((v) => String(v))));
    this.draw();
  }

  draw() {
    const kernel = this.kernel;
    const texts = this.texts();
    const n = kernel.length;
    this.size.value = String(n);
    this.grid.style.gridTemplateColumns = `repeat(${n}, var(--cell))`;
    this.grid.replaceChildren(...kernel.flatMap((row, r) => row.map((_, c) => {
      const cell = el("input", {
        type: "text", inputMode: "decimal", value: texts[r][c], spellcheck: false, autocomplete: "off",
        testid: `kernel-${this.index}-${r}-${c}`,
        "aria-label": `Kernel of ${this.label}, row ${r + 1}, column ${c + 1}`,
      });
      cell.addEventListener("input", () => {
        texts[r][c] = cell.value;
        if (!evaluateCell(cell.value).error && this.errors.has(`${r},${c}`)) { // errors clear as you type
          this.mark(cell, r, c, null);
          this.showErrors();
        }
      });
      cell.addEventListener("change", () => this.cellChanged(cell, r, c));
      return cell;
    })));
    // What was typed decides which cells are marked, also after a redraw of the chain.
    this.errors.clear();
    texts.forEach((row, r) => row.forEach((text, c) => {
      const { error } = evaluateCell(text);
      if (error || kernel[r][c] === null) this.mark(this.grid.children[r * n + c], r, c, error ?? "not a number");
    }));
    this.showErrors();
    this.update();
  }

  cellChanged(cell, r, c) {
    const { value, error } = evaluateCell(cell.value);
    this.texts()[r][c] = cell.value;
    this.mark(cell, r, c, error ?? null);
    this.showErrors();
    // An invalid cell is still sent, as NaN's JSON (null), so the chain refuses to run and
    // the status line says so; the last good result stays on screen.
    this.kernel[r][c] = error ? null : value;
    this.update();
    this.onEdit({ commit: this.errors.size === 0 });
  }

  mark(cell, r, c, reason) {
    const key = `${r},${c}`;
    if (reason) this.errors.set(key, reason);
    else this.errors.delete(key);
    cell.classList.toggle("invalid", Boolean(reason));
    cell.setAttribute("aria-invalid", String(Boolean(reason)));
    if (reason) cell.setAttribute("aria-describedby", this.error.id);
    else cell.removeAttribute("aria-describedby");
    cell.title = reason ? `Row ${r + 1}, column ${c + 1}: ${reason}` : "";
  }

  showErrors() {
    const entries = [...this.errors].sort(([a], [b]) => {
      const [ra, ca] = a.split(",").map(Number);
      const [rb, cb] = b.split(",").map(Number);
      return ra - rb || ca - cb;
    });
    this.error.hidden = entries.length === 0;
    if (!entries.length) return;
    const [[key, reason]] = entries;
    const [r, c] = key.split(",").map(Number);
    const more = entries.length > 1 ? ` (and ${entries.length - 1} more cell${entries.length > 2 ? "s" : ""})` : "";
    this.error.textContent = `Row ${r + 1}, column ${c + 1}: ${reason}${more}.`;
  }

  /** Refresh what depends on the values: the sum, Normalise and the readout from Python. */
  update() {
    const kernel = this.kernel;
    const valid = this.errors.size === 0 && kernel.every((row) => row.every((v) => v !== null));
    const sum = valid ? kernel.flat().reduce((a, b) => a + b, 0) : NaN;
    this.sumNote.textContent = valid ? `sum ${formatValue(sum)}` : "";
    this.normalise.disabled = !valid || sum === 0;
    this.normalise.title = !valid ? "Fix the marked cells first."
      : sum === 0 ? "The weights sum to 0, so there is nothing to divide by." : "";
    if (!valid) {
      this.readout.textContent = "";
      this.facts.abort();
      return;
    }
    const snapshot = structuredClone(kernel);
    this.facts.run((signal) => this.session.gpuCall("kernel_facts", { kernel: snapshot }, { signal, channel: "kernel-facts" }))
      .then((facts) => {
        if (this.kernel !== kernel) return;
        this.readout.textContent = describeFacts(facts);
        this.readout.dataset.rank = String(facts.rank);
        this.readout.dataset.separable = String(facts.separable);
        this.exactTexts(kernel, facts.cells);
      })
      .catch((err) => {
        if (!isAbort(err)) this.readout.textContent = err.message;
      });
  }

  /** Cells still showing a number's plain form get Python's exact form ("1/9"). */
  exactTexts(kernel, cells) {
    const texts = this.texts();
    kernel.forEach((row, r) => row.forEach((v, c) => {
      if (texts[r][c] !== String(v) || cells[r][c] === texts[r][c]) return;
      const cell = this.grid.children[r * kernel.length + c];
      if (document.activeElement === cell) return;
      texts[r][c] = cells[r][c];
      cell.value = cells[r][c];
    }));
  }

  resize(n) {
    const texts = this.texts();
    this.replace(resized(this.kernel, n), resized(texts, n, "0"));
    this.onEdit({ commit: true });
  }

  preset(name) {
    const kernel = structuredClone(this.param.presets[name]);
    if (this.divisor) this.step.params.divisor = 1; // a preset's weights are complete
    this.replace(kernel, structuredClone(this.param.cells?.[name] ?? kernel.map((row) => row.map(String))));
    this.onEdit({ commit: true, redraw: this.divisor });
  }

  normaliseWeights() {
    const sum = this.kernel.flat().reduce((a, b) => a + b, 0);
    if (!Number.isFinite(sum) || sum === 0) return;
    this.step.params.divisor = sum;
    this.onEdit({ commit: true, redraw: true });
  }
}
