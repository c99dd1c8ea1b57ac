/**
 * Element-wise functions of mathjs's that no composition computes to float64 precision: the
 * inverse hyperbolic functions (JavaScript's own, as mathjs calls them) and the real n-th root.
 */
import { abs, eq, log, pow, sqrt, square, where } from './math.js';
import { add, defineBinary, defineUnary, div, mul, neg, sub } from './elementwise.js';

export const { op: asinh } = defineUnary({ name: 'asinh', source: (x) => `Math.asinh(${x})`, derivative: (cx, x) => div(cx, 1, sqrt(cx, add(cx, square(cx, x), 1))) });
export const { op: acosh } = defineUnary({ name: 'acosh', source: (x) => `Math.acosh(${x})`, derivative: (cx, x) => div(cx, 1, sqrt(cx, sub(cx, square(cx, x), 1))) });
export const { op: atanh } = defineUnary({ name: 'atanh', source: (x) => `Math.atanh(${x})`, derivative: (cx, x) => div(cx, 1, sub(cx, 1, square(cx, x))) });

/*
 * mathjs's `nthRoot`: the real n-th root, negative for a negative x and an odd n, and 1 / root
 * for a negative n. Not `pow(x, 1 / n)`: that has no real value for negative x, and its
 * derivative at 0 through `abs` would be 0 · ∞ = NaN.
 */

/** mathjs's nthRootNumber (its edge cases at 0 and infinity included), as one expression. */
const rootSource = (x: string, n: string): string => {
  const root = `Math.sign(${x}) * lib.pow(Math.abs(${x}), 1 / Math.abs(${n}))`;
  return `${x} === 0 ? (${n} < 0 ? Infinity : 0) : !Number.isFinite(${x}) ? (${n} < 0 ? 0 : ${x}) : ${n} < 0 ? 1 / (${root}) : ${root}`;
};

export const { op: nthRoot } = defineBinary({
  name: 'nthRoot',
  source: rootSource,
  // d/dx x^(1/n) = |x|^(1/n - 1) / n for either sign of x (n odd when x < 0): ∞ at 0 for n > 1, as cbrt.
  // d/dn x^(1/n) = -y log|x| / n², and 0 at x = 0 (PyTorch's convention for pow's exponent).
  partials: (cx, x, n, y, which) => [
    which[0] ? div(cx, pow(cx, abs(cx, x), sub(cx, div(cx, 1, n), 1)), n) : null,
    which[1] ? where(cx, eq(cx, x, 0), 0, neg(cx, div(cx, mul(cx, y, log(cx, abs(cx, x))), mul(cx, n, n)))) : null,
  ],
});
