// Number formats the panels share.

/** A metric: four significant digits, exponent notation below 0.01. */
export function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return Math.abs(value) >= 0.01 || value === 0 ? value.toPrecision(4) : value.toExponential(3);
}

/** A short form for labels and ticks: 2e-7, 1.5e-6, 0.25. */
export function formatShort(value) {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) {
    return value.toExponential(1).replace(".0e", "e");
  }
  return String(Number(value.toPrecision(3)));
}

/** A fraction as a percentage that never rounds a non-zero share to 0. */
export function formatPercent(fraction) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "–";
  if (fraction === 0) return "0 %";
  const percent = fraction * 100;
  if (percent < 0.01) return "< 0.01 %";
  return `${percent >= 10 ? percent.toFixed(1) : percent.toPrecision(2)} %`;
}

/** Milliseconds with three decimals, as the timings show them ("12.345 ms"). */
export function formatMs(ms) {
  return ms === undefined || ms === null ? "–" : `${ms.toFixed(3)} ms`;
}
