// The pixel inspector: the values under the pointer, or at a pinned pixel, in each of the
// original, the GPU result, the CPU reference and |Δ|, every channel, in the image's native
// units (0–255, 0–65535; float images in their own units) and as working floats. The values
// come from the GPU worker (worker_api.inspect): the GPU's own output, read back one pixel,
// and the reference computed for that one pixel, so they are exact, not read off the screen.
//
// Requests follow the pointer at most once a frame, and a newer one supersedes a waiting one
// (the bridge's "inspect" channel).
//
// For scripts and tests, the inspector's element carries the values as JSON in `data-values`:
//   { x, y, pinned, stage, scale, channels: ["R", "G", "B"],
//     original: { native: [...], float: [...] }, gpu: {...} | null, cpu: {...}, delta: {...} | null }
// and `data-state`: "empty" (nothing under the pointer), "loading", "ready" or "error".
import { isAbort } from "../bridge.js";

const CHANNELS = { 1: ["Grey"], 2: ["Grey", "Alpha"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"] };
const ROWS = [["original", "Original"], ["gpu", "GPU"], ["cpu", "CPU"], ["delta", "|Δ|"]];

function nativeText(value, scale, exact) {
  if (exact || scale === 1) return scale === 1 ? floatText(value) : String(value);
  if (value === 0) return "0";
  return Math.abs(value) >= 0.01 ? value.toFixed(2) : value.toExponential(1);
}

function floatText(value) {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5 ? value.toPrecision(7) : value.toExponential(3);
}

export class Inspector {
  /**
   * @param {object} el  root (the inspector section), where (its caption), table
   * @param {() => { chain: string, stage: number | null }} context  what the viewer shows
   */
  constructor(session, viewer, el, context) {
    this.session = session;
    this.el = el;
    this.context = context;
    this.point = null; // { x, y, pinned }
    this.pending = 0;
    this.asked = 0;
    viewer.addEventListener("hover", ({ detail }) => {
      if (!viewer.pin) this.at(detail && { ...detail, pinned: false });
    });
    viewer.addEventListener("pin", ({ detail }) => this.at(detail ? { ...detail, pinned: true } : viewer.hover && { ...viewer.hover, pinned: false }));
    // New values at the same place: after every GPU run and every verification.
    for (const type of ["gpu-result", "verify-tiles", "verified"]) session.addEventListener(type, () => this.refresh());
    session.addEventListener("image", () => this.at(null));
    this.render(null);
  }

  at(point) {
    this.point = point;
    this.refresh();
  }

  refresh() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.query();
    });
  }

  async query() {
    const point = this.point;
    if (!point || !this.session.image) {
      this.render(null);
      return;
    }
    const ask = ++this.asked;
    this.el.root.dataset.state = "loading";
    const { chain, stage } = this.context();
    try {
      const values = await this.session.gpuCall("inspect", { chain, x: point.x, y: point.y, stage }, { channel: "inspect" });
      if (ask === this.asked) this.render({ ...values, pinned: point.pinned });
    } catch (err) {
      if (isAbort(err) || ask !== this.asked) return;
      this.el.root.dataset.state = "error";
      this.el.where.textContent = `x ${point.x}, y ${point.y}: ${err.message}`;
      this.el.table.hidden = true;
    }
  }

  render(v) {
    const { root, where, table } = this.el;
    if (!v) {
      root.dataset.state = "empty";
      delete root.dataset.values;
      delete root.dataset.x;
      delete root.dataset.y;
      where.textContent = "Point at the image to read its values; click to pin a pixel.";
      table.hidden = true;
      return;
    }
    const channels = CHANNELS[v.original.native.length] ?? v.original.native.map((_, c) => `#${c}`);
    root.dataset.values = JSON.stringify({ ...v, stage: v.stage ?? null, channels });
    root.dataset.x = String(v.x);
    root.dataset.y = String(v.y);
    root.dataset.pinned = String(Boolean(v.pinned));
    root.dataset.state = "ready";
    const stage = v.stage == null ? "" : `, step ${this.context().stepNumber}'s output`;
    where.textContent = `x ${v.x}, y ${v.y}${stage}${v.pinned ? " (pinned: Escape or a click on it unpins)" : ""}`;
    const units = v.scale === 1 ? "value" : `0–${v.scale}`;
    const head = table.tHead.rows[0];
    head.replaceChildren(...["", ...channels].map((name, i) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = i ? name : units;
      return th;
    }));
    table.tBodies[0].replaceChildren(...ROWS.map(([key, label]) => {
      const tr = document.createElement("tr");
      tr.dataset.row = key;
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      tr.append(th);
      const values = v[key];
      channels.forEach((_, c) => {
        const td = document.createElement("td");
        if (!values) {
          td.textContent = "–";
          td.title = key === "gpu" || key === "delta" ? "No GPU output of this chain is on the GPU yet." : "";
        } else {
          const native = document.createElement("span");
          native.className = "native";
          native.textContent = nativeText(values.native[c], v.scale, key === "original");
          const float = document.createElement("span");
          float.className = "float";
          float.textContent = floatText(values.float[c]);
          td.append(native);
          if (v.scale !== 1) td.append(float);
        }
        tr.append(td);
      });
      return tr;
    }));
    table.hidden = false;
  }
}
