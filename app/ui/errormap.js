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
export function colourErrors(errors, edges, facts, out = new Uint8ClampedArray(errors.length * 4)) {
  const { ramp, zero, invalid } = palette(facts);
  const words = LITTLE_ENDIAN && out.byteOffset % 4 === 0 ? new Uint32Array(out.buffer, out.byteOffset, errors.length) : null;
  // A float32 map's bits give each value's level to within a step or two (levelStarts).
  const bits = errors instanceof Float32Array ? new Uint32Array(errors.buffer, errors.byteOffset, errors.length) : null;
  const starts = bits ? levelStarts(edges) : null;
  const n = edges.length;
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    let colour;
    if (Number.isNaN(e) || e === Infinity || e === -Infinity) {
      colour = invalid;
    } else if (e <= 0) {
      colour = zero;
    } else {
      let k = bits ? starts[bits[i] >>> 16] : level(edges, e);
      while (k < n && edges[k] <= e) k++;
      colour = ramp[k];
    }
    if (words) {
      words[i] = colour;
    } else {
      out[4 * i] = colour & 255;
      out[4 * i + 1] = (colour >>> 8) & 255;
      out[4 * i + 2] = (colour >>> 16) & 255;
      out[4 * i + 3] = 255;
    }
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const palettes = new WeakMap();
const starts = new WeakMap();

/** The map's colours packed as RGBA8 words (R in the low byte), once per set of facts. */
function palette({ ramp, zeroColour, invalidColour }) {
  let packed = palettes.get(ramp);
  if (!packed) {
    const pack = ([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
    packed = { ramp: Uint32Array.from(ramp, pack), zero: pack(zeroColour), invalid: pack(invalidColour) };
    palettes.set(ramp, packed);
  }
  return packed;
}

/**
 * For each positive float32 whose top 16 bits are `t`, a level at or below its own: the
 * level of the smallest float32 with those bits. Values in one such bucket differ by under
 * 1 %, so the level is found from there in a step or two.
 */
function levelStarts(edges) {
  let table = starts.get(edges);
  if (!table) {
    table = new Uint16Array(1 << 15);
    const probe = new Float32Array(1);
    const probeBits = new Uint32Array(probe.buffer);
    for (let t = 0; t < 1 << 15; t++) {
      probeBits[0] = t << 16;
      table[t] = Number.isFinite(probe[0]) ? level(edges, probe[0]) : 0;
    }
    starts.set(edges, table);
  }
  return table;
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
