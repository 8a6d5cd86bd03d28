// The chain editor, generated from the catalog (filterlab.catalog.describe()): every
// operation's parameters get a control from their metadata (kind, min, max, step, unit,
// choices), so adding a parameter in Python adds it here. Fires "change" on every edit;
// sliders fire while they move, for a live preview.

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

const KERNEL_SIZES = [1, 3, 5, 7, 9, 11, 15, 21, 31];

export class ChainEditor extends EventTarget {
  /** `decorateStep(header, step, i, item)`, if given, adds to each step's header as it is drawn. */
  constructor(session, list, addSelect, addButton, { decorateStep } = {}) {
    super();
    this.session = session;
    this.list = list;
    this.addSelect = addSelect;
    this.decorateStep = decorateStep;
    this.ops = new Map(session.catalog.map((op) => [op.name, op]));
    for (const op of session.catalog) addSelect.append(el("option", { value: op.name, textContent: op.label }));
    addButton.addEventListener("click", () => this.add(addSelect.value));
    const first = this.ops.get("convolve") ? this.step("convolve") : this.step(session.catalog[0].name);
    if (first.params.kernel && this.ops.get("convolve").params[0].presets?.sharpen) {
      first.params.kernel = structuredClone(this.ops.get("convolve").params[0].presets.sharpen);
    }
    session.chain = [first];
    this.render();
  }

  /** Replace the whole chain (e.g. from the page address) and redraw. */
  setChain(chain) {
    this.session.chain = chain.filter((step) => this.ops.has(step.op));
    this.render();
  }

  step(name) {
    const op = this.ops.get(name);
    const params = Object.fromEntries(op.params.map((p) => [p.name, structuredClone(p.default)]));
    return { op: name, params, enabled: true };
  }

  add(name) {
    this.session.chain.push(this.step(name));
    this.render();
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  render() {
    const chain = this.session.chain;
    // A step's header control that had focus keeps it, on the step's new row: moving a step
    // or switching it off and on leaves keyboard users where they were.
    const active = this.list.contains(document.activeElement) ? document.activeElement : null;
    const item = active?.closest("li.step");
    const control = item && /^step-\d+-(.+)$/.exec(active.dataset.testid ?? "")?.[1];
    const row = item ? [...this.list.children].indexOf(item) : -1;
    this.list.replaceChildren(...chain.map((step, i) => this.renderStep(step, i, chain)));
    if (control) this.refocus(item.step, row, control);
  }

  refocus(step, row, control) {
    const at = this.session.chain.indexOf(step);
    const i = at >= 0 ? at : Math.min(row, this.session.chain.length - 1); // removed: the next one
    const candidates = [control, "down", "up", "enabled"].map((id) => this.list.querySelector(`[data-testid="step-${i}-${id}"]`));
    const target = candidates.find((node) => node && !node.disabled);
    (target ?? this.addSelect).focus();
  }

  renderStep(step, i, chain) {
    const op = this.ops.get(step.op);
    const enabled = el("input", { type: "checkbox", checked: step.enabled, title: "Enabled" });
    enabled.dataset.testid = `step-${i}-enabled`;
    enabled.addEventListener("change", () => {
      step.enabled = enabled.checked;
      this.render();
      this.changed();
    });
    const button = (text, title, id, action, disabled = false) => {
      const b = el("button", { type: "button", textContent: text, title, disabled });
      b.dataset.testid = `step-${i}-${id}`;
      b.addEventListener("click", () => {
        action();
        this.render();
        this.changed();
      });
      return b;
    };
    const swap = (j) => ([chain[i], chain[j]] = [chain[j], chain[i]]);
    const header = el("header", {}, enabled, el("strong", { textContent: `${i + 1}. ${op.label}`, title: op.summary }),
      button("↑", "Move up", "up", () => swap(i - 1), i === 0),
      button("↓", "Move down", "down", () => swap(i + 1), i === chain.length - 1),
      button("✕", "Remove step", "remove", () => chain.splice(i, 1)));
    const item = el("li", { className: `step${step.enabled ? "" : " disabled"}` }, header);
    item.dataset.testid = `step-${i}`;
    item.step = step;
    this.decorateStep?.(header, step, i, item);
    for (const param of op.params) item.append(this.control(step, i, param));
    return item;
  }

  control(step, i, param) {
    const id = `param-${i}-${param.name}`;
    if (param.kind === "kernel") return this.kernelControl(step, i, param);
    if (param.kind === "choice") {
      const select = el("select", { id });
      select.dataset.testid = id;
      for (const choice of param.choices) {
        select.append(el("option", { value: String(choice), textContent: String(choice), selected: choice === step.params[param.name] }));
      }
      select.addEventListener("change", () => {
        const match = param.choices.find((c) => String(c) === select.value);
        step.params[param.name] = match;
        this.changed();
      });
      return el("div", { className: "param" }, el("label", { htmlFor: id, textContent: param.label, title: param.help }), select, el("span"));
    }
    const slider = el("input", { id, type: "range", min: param.min, max: param.max, step: param.step ?? "any", value: step.params[param.name] });
    slider.dataset.testid = id;
    const number = el("input", { type: "number", min: param.min, max: param.max, step: param.step ?? "any", value: step.params[param.name] });
    number.dataset.testid = `${id}-number`;
    number.setAttribute("aria-label", `${param.label} value`);
    const row = el("div", { className: "param" },
      el("label", { htmlFor: id, textContent: param.unit ? `${param.label} (${param.unit})` : param.label, title: param.help }),
      slider, number);
    const set = (raw, source) => {
      const value = param.kind === "int" ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
      const ok = Number.isFinite(value) && value >= param.min && value <= param.max;
      row.classList.toggle("invalid", !ok);
      row.title = ok ? "" : `${param.label} must be between ${param.min} and ${param.max}`;
      if (!ok) return;
      step.params[param.name] = value;
      if (source !== slider) slider.value = String(value);
      if (source !== number) number.value = String(value);
      this.changed();
    };
    slider.addEventListener("input", () => set(slider.value, slider));
    number.addEventListener("change", () => set(number.value, number));
    return row;
  }

  kernelControl(step, i, param) {
    const box = el("div", { className: "kernel-editor" });
    const grid = el("div", { className: "kernel" });
    const size = el("select", { title: "Kernel size" });
    size.dataset.testid = `kernel-${i}-size`;
    const current = () => step.params[param.name];
    for (const n of KERNEL_SIZES) size.append(el("option", { value: n, textContent: `${n}×${n}`, selected: n === current().length }));
    const drawGrid = () => {
      const k = current();
      grid.style.gridTemplateColumns = `repeat(${k.length}, 1fr)`;
      grid.replaceChildren(...k.flatMap((row, r) => row.map((v, c) => {
        const cell = el("input", { type: "text", inputMode: "decimal", value: String(v) });
        cell.dataset.testid = `kernel-${i}-${r}-${c}`;
        cell.setAttribute("aria-label", `kernel row ${r + 1} column ${c + 1}`);
        cell.addEventListener("change", () => {
          const value = Number(cell.value.trim());
          const ok = cell.value.trim() !== "" && Number.isFinite(value);
          cell.classList.toggle("invalid", !ok);
          cell.title = ok ? "" : "Not a finite number";
          // A bad entry is still sent, as NaN's JSON (null), so the chain validator names it.
          k[r][c] = ok ? value : null;
          this.changed();
        });
        return cell;
      })));
    };
    size.addEventListener("change", () => {
      const n = Number(size.value);
      const k = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r === (n >> 1) && c === (n >> 1) ? 1 : 0)));
      step.params[param.name] = k;
      drawGrid();
      this.changed();
    });
    const presets = el("div", { className: "presets" });
    for (const [name, kernel] of Object.entries(param.presets ?? {})) {
      const b = el("button", { type: "button", textContent: name.replace("_", " ") });
      b.dataset.testid = `preset-${i}-${name}`;
      b.addEventListener("click", () => {
        step.params[param.name] = structuredClone(kernel);
        size.value = String(kernel.length);
        drawGrid();
        this.changed();
      });
      presets.append(b);
    }
    drawGrid();
    box.append(el("div", { className: "param" }, el("label", { textContent: param.label }), size, el("span")), grid, presets);
    return box;
  }
}
