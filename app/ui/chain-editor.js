// The chain editor, generated from the catalog (filterlab.catalog.describe()): every
// operation's parameters get a control from their metadata (kind, min, max, step, unit,
// choices, slider, when), so adding a parameter in Python adds it here. Kernels get the
// kernel editor (kernel-editor.js).
//
// Events:
//   "change"  the chain changed: run it again (sliders fire this while they move);
//   "commit"  an edit is finished (a slider let go, a value typed, a step moved): the undo
//             history records the chain;
//   "render"  the steps were drawn again: detail.items are the step elements.
//   "announce" detail.message: a sentence for the status line ("Removed step 2 ...").
// A step can be reordered by its buttons or by dragging its handle; focus stays on the
// control that was used, wherever the step moves.
import { KernelEditor } from "./kernel-editor.js";
import { el } from "./dom.js";

const DRAG_TYPE = "application/x-filterlab-step";

/** Whether `param` applies to `params` (the catalog's `when`: e.g. cval only when constant). */
export function applies(param, params) {
  return Object.entries(param.when ?? {}).every(([name, values]) => values.includes(params[name]));
}

export class ChainEditor extends EventTarget {
  /** `decorateStep(header, step, i, item)`, if given, adds to each step's header as it is drawn. */
  constructor(session, list, addSelect, addButton, { decorateStep } = {}) {
    super();
    this.session = session;
    this.list = list;
    this.addSelect = addSelect;
    this.decorateStep = decorateStep;
    this.ops = new Map(session.catalog.map((op) => [op.name, op]));
    this.dragging = null;
    for (const op of session.catalog) addSelect.append(el("option", { value: op.name, textContent: op.label }));
    addButton.addEventListener("click", () => this.add(addSelect.value));
    const first = this.ops.get("convolve") ? this.step("convolve") : this.step(session.catalog[0].name);
    const sharpen = this.ops.get("convolve")?.params.find((p) => p.kind === "kernel")?.presets?.sharpen;
    if (first.params.kernel && sharpen) first.params.kernel = structuredClone(sharpen);
    session.chain = [first];
    this.render();
  }

  /**
   * Replace the whole chain (from the address, the undo history, a file) and redraw. It is a
   * finished edit ("commit"; the history ignores a chain equal to its current one), but the
   * caller runs it.
   */
  setChain(chain) {
    this.session.chain = structuredClone(chain).filter((step) => this.ops.has(step.op));
    this.render();
    this.dispatchEvent(new Event("commit"));
  }

  step(name) {
    const op = this.ops.get(name);
    const params = Object.fromEntries(op.params.map((p) => [p.name, structuredClone(p.default)]));
    return { op: name, params, enabled: true };
  }

  add(name) {
    this.session.chain.push(this.step(name));
    this.render();
    this.edited();
    this.announce(`Added step ${this.session.chain.length}, ${this.ops.get(name).label}.`);
  }

  /** The chain changed; `commit` says the edit is finished. */
  edited(commit = true) {
    this.dispatchEvent(new Event("change"));
    if (commit) this.dispatchEvent(new Event("commit"));
  }

  announce(message) {
    this.dispatchEvent(new CustomEvent("announce", { detail: { message } }));
  }

  name(i) {
    return `step ${i + 1}, ${this.ops.get(this.session.chain[i].op).label}`;
  }

  /** Draw every step; then focus the control with data-testid `focus`, if any. */
  render(focus = null) {
    const chain = this.session.chain;
    const items = chain.map((step, i) => this.renderStep(step, i, chain));
    this.list.replaceChildren(...items);
    if (focus) this.list.querySelector(`[data-testid="${focus}"]`)?.focus();
    this.dispatchEvent(new CustomEvent("render", { detail: { items } }));
  }

  /** Move step `from` to position `to` (both in the current chain). */
  move(from, to) {
    const chain = this.session.chain;
    if (to === from || to < 0 || to >= chain.length) return false;
    const [step] = chain.splice(from, 1);
    chain.splice(to, 0, step);
    return true;
  }

  renderStep(step, i, chain) {
    const op = this.ops.get(step.op);
    const name = this.name(i);
    const enabled = el("input", { type: "checkbox", checked: step.enabled, testid: `step-${i}-enabled`,
      "aria-label": `Enable ${name}` });
    const item = el("li", { className: `step${step.enabled ? "" : " disabled"}`, testid: `step-${i}`,
      "aria-label": name.replace(/^s/, "S") });
    enabled.addEventListener("change", () => {
      step.enabled = enabled.checked;
      this.render(`step-${i}-enabled`); // the step's verdict and view button follow
      this.edited();
    });
    const last = chain.length - 1;
    // Each button acts, redraws and puts focus back on the control that was used.
    const button = (text, id, label, action, disabled = false) => {
      const b = el("button", { type: "button", textContent: text, title: label, disabled, testid: `step-${i}-${id}`,
        "aria-label": label, className: "icon" });
      b.addEventListener("click", () => {
        const { focus, message } = action();
        this.render(focus);
        this.edited();
        this.announce(message);
      });
      return b;
    };
    const moved = (to, id, other) => ({
      focus: `step-${to}-${(id === "up" ? to === 0 : to === last) ? other : id}`,
      message: `Moved ${name} to position ${to + 1}.`,
    });
    const grip = el("span", { className: "grip", textContent: "⠿", title: "Drag to move this step", draggable: true,
      "aria-hidden": "true" });
    const header = el("header", {}, grip, enabled,
      el("strong", { textContent: `${i + 1}. ${op.label}`, title: op.summary }),
      button("↑", "up", `Move ${name}, up`, () => (this.move(i, i - 1), moved(i - 1, "up", "down")), i === 0),
      button("↓", "down", `Move ${name}, down`, () => (this.move(i, i + 1), moved(i + 1, "down", "up")), i === last),
      button("❐", "duplicate", `Duplicate ${name}`, () => {
        chain.splice(i + 1, 0, structuredClone(step));
        return { focus: `step-${i}-duplicate`, message: `Duplicated ${name} as step ${i + 2}.` };
      }),
      button("✕", "remove", `Remove ${name}`, () => {
        chain.splice(i, 1);
        const focus = chain.length === 0 ? null : `step-${Math.min(i, chain.length - 1)}-remove`;
        if (!focus) this.addSelect.focus();
        return { focus, message: `Removed ${name}. Undo (Ctrl+Z, ⌘Z) brings it back.` };
      }));
    item.append(header);
    item.step = step;
    this.decorateStep?.(header, step, i, item);
    this.draggable(item, grip, i);
    for (const param of op.params) item.append(this.control(step, i, param, op, item));
    this.showApplicable(item, step, op);
    return item;
  }

  /** Reorder by dragging the handle onto another step: above its middle or below. */
  draggable(item, grip, i) {
    grip.addEventListener("dragstart", (e) => {
      this.dragging = i;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData(DRAG_TYPE, String(i));
      e.dataTransfer.setDragImage(item, 12, 12);
      item.classList.add("dragging");
    });
    grip.addEventListener("dragend", () => {
      this.dragging = null;
      for (const node of this.list.children) node.classList.remove("dragging", "drop-before", "drop-after");
    });
    const after = (e) => {
      const box = item.getBoundingClientRect();
      return e.clientY > box.top + box.height / 2;
    };
    item.addEventListener("dragover", (e) => {
      if (this.dragging === null) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      item.classList.toggle("drop-after", after(e));
      item.classList.toggle("drop-before", !after(e));
    });
    item.addEventListener("dragleave", () => item.classList.remove("drop-before", "drop-after"));
    item.addEventListener("drop", (e) => {
      if (this.dragging === null) return;
      e.preventDefault();
      const from = this.dragging;
      const name = this.name(from);
      let to = after(e) ? i + 1 : i;
      if (from < to) to--;
      this.dragging = null;
      if (!this.move(from, to)) {
        item.classList.remove("drop-before", "drop-after");
        return;
      }
      this.render();
      this.edited();
      this.announce(`Moved ${name} to position ${to + 1}.`);
    });
  }

  /** Hide the parameters that have no effect with the step's other values. */
  showApplicable(item, step, op) {
    for (const param of op.params) {
      const row = item.querySelector(`[data-param="${param.name}"]`);
      if (row) row.hidden = !applies(param, step.params);
    }
  }

  control(step, i, param, op, item) {
    const id = `param-${i}-${param.name}`;
    if (param.kind === "kernel") {
      const editor = new KernelEditor({
        session: this.session, step, index: i, param, label: this.name(i),
        divisor: op.params.some((p) => p.name === "divisor"),
        onEdit: ({ commit, redraw }) => {
          if (redraw) this.render(document.activeElement?.dataset?.testid ?? null);
          this.edited(commit);
        },
      });
      editor.element.dataset.param = param.name;
      return editor.element;
    }
    const label = el("label", { htmlFor: id, textContent: param.unit ? `${param.label} (${param.unit})` : param.label,
      title: param.help });
    if (param.kind === "choice") {
      const select = el("select", { id, testid: id },
        ...param.choices.map((choice) => el("option", { value: String(choice), textContent: String(choice),
          selected: choice === step.params[param.name] })));
      select.addEventListener("change", () => {
        step.params[param.name] = param.choices.find((c) => String(c) === select.value);
        this.showApplicable(item, step, op);
        this.edited();
      });
      return el("div", { className: "param", "data-param": param.name }, label, select, el("span"));
    }
    const limits = { min: param.min, max: param.max, step: param.step ?? "any", value: step.params[param.name] };
    const number = el("input", { type: "number", ...limits, testid: `${id}-number` });
    const slider = param.slider === false ? null : el("input", { id, type: "range", ...limits, testid: id });
    if (slider) number.setAttribute("aria-label", `${param.label} value`);
    else Object.assign(number, { id });
    const message = el("span", { className: "param-error", role: "alert" });
    const row = el("div", { className: `param${slider ? "" : " number-only"}`, "data-param": param.name },
      label, slider ?? number, slider ? number : message);
    if (slider) row.append(message);
    const set = (raw, source, commit) => {
      const value = param.kind === "int" ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
      const ok = Number.isFinite(value) && value >= param.min && value <= param.max;
      const reason = ok ? "" : `${param.label} must be between ${param.min} and ${param.max}`;
      row.classList.toggle("invalid", !ok);
      row.title = reason;
      message.textContent = reason;
      if (!ok) return;
      step.params[param.name] = value;
      if (slider && source !== slider) slider.value = String(value);
      if (source !== number) number.value = String(value);
      this.edited(commit);
    };
    slider?.addEventListener("input", () => set(slider.value, slider, false));
    slider?.addEventListener("change", () => this.dispatchEvent(new Event("commit")));
    number.addEventListener("change", () => set(number.value, number, true));
    return row;
  }
}
