// Kernel cells: what a user may type in one, read without eval or Function.
//
//   cell    := sum
//   sum     := product (("+" | "-") product)*
//   product := unary (("*" | "/") unary)*
//   unary   := ("+" | "-") unary | atom
//   atom    := number | "(" sum ")"
//   number  := digits ["." digits] [("e" | "E") ["+" | "-"] digits], or "." digits ...
//
// "×", "÷" and the minus sign "−" are read as "*", "/" and "-". Arithmetic is JavaScript's
// (IEEE double), so "1/9" is the same number as Python's 1 / 9. A result must be finite.

const MAX_LENGTH = 200;
const MAX_DEPTH = 32;
const SYMBOLS = { "×": "*", "÷": "/", "−": "-" };

class CellError extends Error {}

function tokens(text) {
  const out = [];
  const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
  let i = 0;
  while (i < text.length) {
    const ch = SYMBOLS[text[i]] ?? text[i];
    if (/\s/.test(ch)) {
      i++;
    } else if ("+-*/()".includes(ch)) {
      out.push({ kind: ch, at: i });
      i++;
    } else {
      const match = number.exec(text.slice(i));
      if (!match) throw new CellError(`“${text[i]}” is not a number or one of + − × ÷ ( )`);
      out.push({ kind: "number", value: Number(match[0]), at: i });
      i += match[0].length;
    }
  }
  return out;
}

/**
 * Evaluate a cell's text. Returns `{ value }` for a finite number, else `{ error }`: a short
 * reason a person can act on ("division by zero", "“x” is not a number ...").
 */
export function evaluateCell(text) {
  const source = String(text ?? "").trim();
  if (source === "") return { error: "empty: type a number, a fraction such as 1/9, or 0" };
  if (source.length > MAX_LENGTH) return { error: `longer than ${MAX_LENGTH} characters` };
  try {
    const list = tokens(source);
    let next = 0;
    const peek = () => list[next]?.kind;
    const take = () => list[next++];

    const sum = (depth) => {
      let value = product(depth);
      while (peek() === "+" || peek() === "-") value = take().kind === "+" ? value + product(depth) : value - product(depth);
      return value;
    };
    const product = (depth) => {
      let value = unary(depth);
      while (peek() === "*" || peek() === "/") {
        if (take().kind === "*") {
          value *= unary(depth);
        } else {
          const divisor = unary(depth);
          if (divisor === 0) throw new CellError("division by zero");
          value /= divisor;
        }
      }
      return value;
    };
    const unary = (depth) => {
      if (depth > MAX_DEPTH) throw new CellError("too deeply nested");
      if (peek() === "+" || peek() === "-") return take().kind === "-" ? -unary(depth + 1) : unary(depth + 1);
      return atom(depth);
    };
    const atom = (depth) => {
      const token = take();
      if (!token) throw new CellError("incomplete: it ends where a number should follow");
      if (token.kind === "number") return token.value;
      if (token.kind === "(") {
        const value = sum(depth + 1);
        if (take()?.kind !== ")") throw new CellError("a “(” is not closed");
        return value;
      }
      throw new CellError(`“${token.kind}” where a number should be`);
    };

    const value = sum(0);
    if (next < list.length) {
      const extra = list[next];
      throw new CellError(extra.kind === ")" ? "a “)” has no “(”" : `“${source.slice(extra.at)}” does not follow on`);
    }
    if (!Number.isFinite(value)) return { error: "too large: not a finite number" };
    return { value: value === 0 ? 0 : value }; // -0 is 0
  } catch (err) {
    if (err instanceof CellError) return { error: err.message };
    throw err;
  }
}
