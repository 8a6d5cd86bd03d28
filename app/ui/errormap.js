// The error map's colours: |Δ| on a logarithmic scale. This mirrors filterlab.compare
// (error_range, error_edges, error_colours); the facts it needs (the ramp, the colours of an
// exact zero and of NaN or infinity, the floor, the round mantissas) come from Python through
// `defaults`, and tests/browser/test_viewer.py checks that both give the same colours for the
// same differences.

const LEVELS = 256;

/** A decimal `m × 10**n` as Python's float() parses it: the same double in both languages. */
const decimal = (m, n) => Number(`${m}e${n}`);

function nice(value, direction, mantissas) {
  const exponent = Math.floor(Math.log10(value));
  const candidates = [];
  for (let n = exponent - 1; n <= exponent + 1; n++) for (const m of mantissas) candidates.push(decimal(m, n));
  candidates.sort((a, b) => a - b);
  return direction < 0
    ? Math.max(...candidates.filter((c) => c <= value))
    : Math.min(...candidates.filter((c) => c >= value));
}

/**
 * The automatic range (compare.error_range) from the smallest and largest positive finite
 * difference seen (Infinity and 0 when there is none).
 */
export function autoRange(smallest, largest, { errorFloor, niceMantissas }) {
  if (!(largest > errorFloor)) return [errorFloor, errorFloor * 10];
  const lo = Math.max(errorFloor, nice(smallest, -1, niceMantissas));
  const hi = nice(largest, +1, niceMantissas);
  return [lo, hi > lo ? hi : nice(lo * 1.5, +1, niceMantissas)];
}

/** The legend's ticks (compare.nice_steps): every m × 10**n from lo to hi. */
export function niceSteps(lo, hi, mantissas) {
  const out = [];
  for (let n = Math.floor(Math.log10(lo)) - 1; n <= Math.ceil(Math.log10(hi)) + 1; n++) {
    for (const m of mantissas) {
      const v = decimal(m, n);
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** The 255 boundaries between levels (compare.error_edges), with the same expression. */
export function errorEdges(lo, hi) {
  const edges = new Float64Array(LEVELS - 1);
  for (let j = 0; j < LEVELS - 1; j++) edges[j] = lo * (hi / lo) ** ((j + 0.5) / (LEVELS - 1));
  return edges;
}

/** The level of a positive finite difference: how many edges are at or below it. */
function level(edges, e) {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (edges[mid] <= e) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The smallest and largest positive finite values of an error tile, folded into `into`. */
export function extremes(errors, into = { smallest: Infinity, largest: 0 }) {
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    if (e > 0 && e < Infinity) {
      if (e < into.smallest) into.smallest = e;
      if (e > into.largest) into.largest = e;
    }
  }
  return into;
}

/** RGBA8 colours of an error map on the log scale `edges` (compare.error_colours). */
export function colourErrors(errors, edges, { ramp, zeroColour, invalidColour },
  out = new Uint8ClampedArray(errors.length * 4)) {
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    let rgb;
    if (Number.isNaN(e) || e === Infinity || e === -Infinity) rgb = invalidColour;
    else if (e <= 0) rgb = zeroColour;
    else rgb = ramp[level(edges, e)];
    out[4 * i] = rgb[0];
    out[4 * i + 1] = rgb[1];
    out[4 * i + 2] = rgb[2];
    out[4 * i + 3] = 255;
  }
  return out;
}

/**
 * The heatmap rule for scripts (window.filterlab.heatmap): `range(errors)` is the automatic
 * range of an error map, `colours(errors, [lo, hi]?)` its RGBA8 colours, as the page draws them.
 */
export function heatmapRule(facts) {
  const range = (errors) => {
    const { smallest, largest } = extremes(errors);
    return autoRange(smallest, largest, facts);
  };
  return {
    range,
    colours: (errors, limits = range(errors)) => colourErrors(errors, errorEdges(...limits), facts),
  };
}
