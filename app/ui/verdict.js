// The verdict: PASS when the GPU's result is within the tolerance of the reference everywhere
// (max |Δ| ≤ tolerance; a NaN or infinite difference fails), with the share of pixels and of
// samples over the tolerance and where the worst pixel is. Each step of the chain gets its
// own verdict: that step's GPU output against the reference's output of the same step.
import { formatNumber, formatPercent, formatShort } from "./format.js";

const passes = (m) => Number.isFinite(m.maxAbsError) && m.maxAbsError <= m.tolerance;

export class Verdict {
  /**
   * @param {object} el  verdict, detail, tolerance (the input), chain (the editor's list)
   * @param {object} hooks  onTolerance(value), onWorst({ x, y }), onView(step)
   */
  constructor(session, el, hooks) {
    this.session = session;
    this.el = el;
    this.hooks = hooks;
    this.steps = new WeakMap(); // step object -> its metrics (the last verified chain's)
    this.viewed = null; // the step object in view, or null (the result)
    this.note = ""; // why steps have no verdicts of their own
    const tolerance = el.tolerance;
    tolerance.value = formatShort(session.defaults.tolerance);
    tolerance.setAttribute("aria-describedby", el.detail.id);
    tolerance.addEventListener("change", () => {
      const value = Number(tolerance.value);
      const ok = tolerance.value.trim() !== "" && Number.isFinite(value) && value >= 0;
      tolerance.setAttribute("aria-invalid", String(!ok));
      tolerance.title = ok ? "" : "The tolerance must be a number of at least 0, such as 1e-5.";
      if (ok) hooks.onTolerance(value);
    });
  }

  get tolerance() {
    const value = Number(this.el.tolerance.value);
    return this.el.tolerance.getAttribute("aria-invalid") === "true" || !Number.isFinite(value)
      ? this.session.defaults.tolerance : value;
  }

  /** Show the verdict of `m` (or none); `state` is "partial", "first" or "final". */
  show(m, state = "none", fraction = 1) {
    const { verdict, detail } = this.el;
    verdict.dataset.state = m ? state : "none";
    if (!m) {
      verdict.dataset.verdict = "none";
      verdict.textContent = "Not checked yet";
      detail.replaceChildren();
      return;
    }
    const pass = passes(m);
    verdict.dataset.verdict = pass ? "pass" : "fail";
    const word = pass ? "PASS" : "FAIL";
    const tol = formatShort(m.tolerance);
    if (state !== "final") {
      const where = state === "first" ? "edges, corners and a sample" : `${Math.round(fraction * 100)} % of the image`;
      verdict.textContent = `${word} so far (${where} checked)`;
    } else if (pass) {
      verdict.textContent = `PASS: GPU and CPU agree within ${tol} everywhere`;
    } else {
      verdict.textContent = `FAIL: ${formatPercent(m.fractionPixelsOverTolerance)} of pixels differ by more than ${tol}`;
    }
    const worst = document.createElement("button");
    worst.type = "button";
    worst.className = "link";
    worst.dataset.testid = "worst-pixel";
    worst.dataset.x = String(m.worstX);
    worst.dataset.y = String(m.worstY);
    worst.textContent = `x ${m.worstX}, y ${m.worstY}`;
    worst.setAttribute("aria-label", `Zoom to the largest difference, at x ${m.worstX}, y ${m.worstY}`);
    worst.addEventListener("click", () => this.hooks.onWorst({ x: m.worstX, y: m.worstY }));
    const over = document.createElement("span");
    over.dataset.testid = "fraction-over-tolerance";
    over.dataset.value = String(m.fractionPixelsOverTolerance);
    over.textContent = `${formatPercent(m.fractionPixelsOverTolerance)} of pixels`
      + ` (${formatPercent(m.fractionOverTolerance)} of samples) over ${tol}.`;
    detail.replaceChildren(`Largest |Δ| ${formatNumber(m.maxAbsError)} at `, worst, ". ", over);
  }

  /**
   * The verdicts of each step, from a verification of `chainJson`: `list` holds the metrics
   * of each enabled step (null when they were not compared separately, `note` says why), and
   * `final` those of the result, which is also the step's own when one step is enabled.
   */
  showSteps(chainJson, list, final, note = "") {
    const chain = this.session.chain;
    if (JSON.stringify(chain) !== chainJson) return; // the controls moved on: not these steps
    this.note = note;
    const enabled = chain.filter((step) => step.enabled);
    enabled.forEach((step, k) => {
      const m = list?.[k] ?? (enabled.length === 1 ? final : null);
      if (m) this.steps.set(step, m);
      else this.steps.delete(step);
    });
    this.el.chain.querySelectorAll("[data-step-verdict]").forEach((node) => this.fill(node));
    this.markStale(false);
  }

  markStale(stale) {
    this.el.chain.classList.toggle("verdicts-stale", stale);
  }

  /** The chain editor's hook: a verdict and a "view" switch in each step's header. */
  decorate(header, step, i, item) {
    const verdict = document.createElement("span");
    verdict.className = "step-verdict";
    verdict.dataset.testid = `step-${i}-verdict`;
    verdict.dataset.stepVerdict = "";
    verdict.stepRef = step;
    this.fill(verdict);
    const view = document.createElement("button");
    view.type = "button";
    view.className = "step-view";
    view.textContent = "Show in viewer";
    view.dataset.testid = `step-${i}-view`;
    view.disabled = !step.enabled;
    view.setAttribute("aria-pressed", String(this.viewed === step));
    view.setAttribute("aria-label", `Show step ${i + 1}'s own GPU, CPU and error in the viewer`);
    view.addEventListener("click", () => this.hooks.onView(this.viewed === step ? null : step));
    item.classList.toggle("viewed", this.viewed === step);
    const row = document.createElement("div");
    row.className = "step-check";
    row.append(verdict, view);
    header.append(row);
  }

  fill(node) {
    const step = node.stepRef;
    const m = step?.enabled ? this.steps.get(step) : null;
    node.dataset.verdict = !step?.enabled ? "off" : m ? (passes(m) ? "pass" : "fail") : "none";
    if (m) {
      node.textContent = `${passes(m) ? "PASS" : "FAIL"}: max |Δ| ${formatShort(m.maxAbsError)}`;
      node.dataset.maxAbsError = String(m.maxAbsError);
      node.title = `This step's GPU output against the reference's: largest |Δ| ${formatNumber(m.maxAbsError)}`
        + ` at x ${m.worstX}, y ${m.worstY}; tolerance ${formatShort(m.tolerance)}.`;
    } else {
      node.textContent = step?.enabled ? "–" : "off";
      delete node.dataset.maxAbsError;
      node.title = step?.enabled ? (this.note || "Not checked yet.") : "This step is switched off.";
    }
  }
}
