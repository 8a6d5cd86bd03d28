// Small DOM helpers shared by the editing UI.

/**
 * Create an element. `props` are set as properties, except `testid` (data-testid), and
 * `aria-*`, `role` and `data-*` names, which are set as attributes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === "testid") node.dataset.testid = value;
    else if (key === "role" || key.startsWith("aria-") || key.startsWith("data-")) node.setAttribute(key, String(value));
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

/** A number in a few significant digits, without trailing zeros: 16, 0.3333, 6.245, 1e-17. */
export function formatValue(value) {
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  return String(Number.parseFloat(value.toPrecision(4)));
}

/** Offer `data` (a string or bytes) as a file download called `name`. */
export function download(data, name, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([data], { type }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
