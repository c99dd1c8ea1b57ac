/**
 * Element-wise mathematics: each primitive is its scalar expression and its derivative, side by
 * side. At kinks the derivative is PyTorch's subgradient (relu'(0) = 0, abs'(0) = 0).
 */
import { bind, definePrimitive, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { broadcastIndex } from '../broadcast.js';
import { inPieces } from '../kernels.js';
import { polygamma as polygammaScalar } from '../special.js';
import { Tensor, broadcastShapes } from '../tensor.js';
import { add, defineBinary, defineUnary, div, lift, mul, neg, sub, type Operand } from './elementwise.js';
import { sumTo } from './shape.js';

export const { op: abs } = defineUnary({ name: 'abs', source: (x) => `Math.abs(${x})`, derivative: (cx, x) => sign(cx, x) });
export const { op: sign } = defineUnary({ name: 'sign', source: (x) => `Math.sign(${x})`, zeroGradient: true });
export const { op: sqrt } = defineUnary({ name: 'sqrt', source: (x) => `Math.sqrt(${x})`, derivative: (cx, _x, y) => div(cx, 0.5, y) });
export const { op: cbrt } = defineUnary({
  name: 'cbrt',
  source: (x) => `Math.cbrt(${x})`,
  derivative: (cx, _x, y) => div(cx, 1, mul(cx, 3, square(cx, y))),
});
export const { op: square } = defineUnary({ name: 'square', source: (x) => `${x} * ${x}`, derivative: (cx, x) => mul(cx, 2, x) });
export const { op: cube } = defineUnary({
  name: 'cube',
  source: (x) => `${x} * ${x} * ${x}`,
  derivative: (cx, x) => mul(cx, 3, square(cx, x)),
});
export const { op: exp } = defineUnary({ name: 'exp', source: (x) => `lib.exp(${x})`, derivative: (_cx, _x, y) => y });
export const { op: expm1 } = defineUnary({ name: 'expm1', source: (x) => `Math.expm1(${x})`, derivative: (cx, _x, y) => add(cx, y, 1) });
export const { op: log } = defineUnary({ name: 'log', source: (x) => `Math.log(${x})`, derivative: (cx, x) => div(cx, 1, x) });
export const { op: log1p } = defineUnary({ name: 'log1p', source: (x) => `Math.log1p(${x})`, derivative: (cx, x) => div(cx, 1, add(cx, x, 1)) });
export const { op: log2 } = defineUnary({ name: 'log2', source: (x) => `Math.log2(${x})`, derivative: (cx, x) => div(cx, 1 / Math.LN2, x) });
export const { op: log10 } = defineUnary({ name: 'log10', source: (x) => `Math.log10(${x})`, derivative: (cx, x) => div(cx, 1 / Math.LN10, x) });
export const { op: sin } = defineUnary({ name: 'sin', source: (x) => `lib.sin(${x})`, derivative: (cx, x) => cos(cx, x) });
export const { op: cos } = defineUnary({ name: 'cos', source: (x) => `lib.cos(${x})`, derivative: (cx, x) => neg(cx, sin(cx, x)) });
export const { op: tan } = defineUnary({ name: 'tan', source: (x) => `Math.tan(${x})`, derivative: (cx, _x, y) => add(cx, 1, square(cx, y)) });
export const { op: asin } = defineUnary({
  name: 'asin',
  source: (x) => `Math.asin(${x})`,
  derivative: (cx, x) => div(cx, 1, sqrt(cx, sub(cx, 1, square(cx, x)))),
});
export const { op: acos } = defineUnary({
  name: 'acos',
  source: (x) => `Math.acos(${x})`,
  derivative: (cx, x) => div(cx, -1, sqrt(cx, sub(cx, 1, square(cx, x)))),
});
export const { op: atan } = defineUnary({ name: 'atan', source: (x) => `Math.atan(${x})`, derivative: (cx, x) => div(cx, 1, add(cx, 1, square(cx, x))) });
export const { op: sinh } = defineUnary({ name: 'sinh', source: (x) => `Math.sinh(${x})`, derivative: (cx, x) => cosh(cx, x) });
export const { op: cosh } = defineUnary({ name: 'cosh', source: (x) => `Math.cosh(${x})`, derivative: (cx, x) => sinh(cx, x) });
export const { op: tanh } = defineUnary({ name: 'tanh', source: (x) => `Math.tanh(${x})`, derivative: (cx, _x, y) => sub(cx, 1, square(cx, y)) });
export const { op: sigmoid } = defineUnary({
  name: 'sigmoid',
  // 1 / (1 + e^-x) from 0 up and e^x / (1 + e^x) below, so that exp never overflows (special.ts).
  source: (x) => `lib.logistic(${x})`,
  derivative: (cx, _x, y) => mul(cx, y, sub(cx, 1, y)),
});
/**
 * relu(x): x above 0; +0 at or below 0, -0 and -Infinity included; NaN at NaN. Written without a
 * branch on the sign, which data make random: a branch mispredicted on half the elements cost a
 * relu over 1,200 elements 5.6 µs against 1.4 µs (the MLP's hidden layer, forward and backward).
 * x · [x > 0] + 0 is relu to the bit but for -Infinity (∞ · 0 is NaN), which the bound on x
 * takes to a finite number first (a branch taken the same way for every number but -Infinity).
 */
export const { op: relu } = defineUnary({
  name: 'relu',
  source: (x) => `Math.max(${x}, -1.7976931348623157e308) * +(${x} > 0) + 0`,
  derivative: (cx, x) => gt(cx, x, 0),
});
/**
 * softplus(x) = log(1 + e^x) as PyTorch computes it: log1p(e^x), and x itself above its threshold
 * of 20 (derivative 1 there; sigmoid(25) is 1 - 1.4e-11). Composed, so that the gradient reuses
 * the forward's e^x, which the tape (or a plan) keeps for exp's own rule: e^x / (1 + e^x) costs a
 * division, as in `log1p(exp(x))`, where one fused primitive recomputed e^x in its rule (1000
 * random elements: 37 µs a gradient against 26 for `log(1 + exp(x))`, a trap for whoever calls
 * the function by its name). Smooth at 0 (softplus'(0) = 1/2 exactly), unlike the stable
 * composition through max(x, 0) and |x|. e^x is taken at min(x, 30): the branch not chosen
 * above 20 stays finite (e^800 is Infinity) and no 0 · Infinity reaches a derivative. The
 * capping and the choice are element-wise primitives of their own, so that a plan fuses them
 * into the loops of exp and log1p rather than keeping a stored comparison and two selections.
 */
export function softplus(cx: Context, x: Operand): Value {
  const v = lift(x);
  return softplusChoice(cx, v, log1p(cx, exp(cx, softplusCap(cx, v))));
}

// min(x, 30), whose derivative is 1 below 30 (where softplus reads it) and 0 above.
const { op: softplusCap } = defineUnary({ name: 'softplus_cap', source: (x) => `Math.min(${x}, 30)`, derivative: (cx, x) => lt(cx, x, 30) });
// x above 20, else log1p(e^x): softplus's choice, with its partial derivatives [x > 20] and [x <= 20].
const { op: softplusChoice } = defineBinary({
  name: 'softplus_choice',
  source: (x, y) => `(${x} > 20 ? ${x} : ${y})`,
  partials: (cx, x, _y, _out, which) => [which[0] ? gt(cx, x, 20) : null, which[1] ? le(cx, x, 20) : null],
});
export const { op: lgamma } = defineUnary({ name: 'lgamma', source: (x) => `lib.lgamma(${x})`, derivative: (cx, x) => polygamma(cx, 0, x) });

const polygammaPrim = definePrimitive<number>({
  name: 'polygamma',
  impl(cx, [x], n) {
    const out = cx.alloc('polygamma', x.shape);
    // Each element may sum a long series: the deadline is read between pieces.
    inPieces(cx, 'polygamma', x.size, 1, (s, e) => {
      for (let i = s; i < e; i++) out.data[i] = polygammaScalar(n, x.data[i]);
    });
    return out;
  },
  jvp: (cx, [x], [t], _out, n) => mul(cx, t!, polygamma(cx, n + 1, x)),
  vjp: (cx, g, [x], _out, n) => [mul(cx, g, polygamma(cx, n + 1, x))],
  scalarSource: ([x], n) => `lib.polygamma(${n}, ${x})`,
});

/** ψ⁽ⁿ⁾(x); n = 0 is digamma. */
export function polygamma(cx: Context, n: number, x: Operand): Value {
  if (!Number.isInteger(n) || n < 0 || n > 100) {
    throw new EngineError('INVALID_ARGUMENT', `polygamma: the order must be an integer from 0 to 100, got ${n}`, { op: 'polygamma' });
  }
  return bind(cx, polygammaPrim, [lift(x)], n);
}

export function digamma(cx: Context, x: Operand): Value {
  return polygamma(cx, 0, x);
}

const { op: powOf } = defineBinary({
  name: 'pow',
  // fdlibm's pow, not Math.pow: the builtin differs between V8 versions (fdlibm.ts).
  source: (x, y) => `lib.pow(${x}, ${y})`,
  // PyTorch's conventions: d/da is 0 where the exponent is 0, d/db is 0 where a = 0 and b >= 0.
  partials: (cx, a, b, out, which) => [
    which[0] ? where(cx, eq(cx, b, 0), 0, mul(cx, b, pow(cx, a, sub(cx, b, 1)))) : null,
    which[1] ? where(cx, and(cx, eq(cx, a, 0), ge(cx, b, 0)), 0, mul(cx, out, log(cx, a))) : null,
  ],
});

/**
 * x ** y. By a constant exponent of 2 or 3 (a program's `x .^ 2`), the square or the cube, as
 * PyTorch's CPU kernel does (x * x, x * x * x): a multiplication or two instead of pow,
 * which costs several times more in a loop that cannot see its exponent, and the rule is the
 * same (2x; 3 x·x, which is 3 pow(x, 2) to the bit).
 */
export function pow(cx: Context, a: Operand, b: Operand): Value {
  const exponent = typeof b === 'number' ? b : b instanceof Tensor && b.shape.length === 0 ? b.data[0] : NaN;
  if (exponent === 2) return square(cx, a);
  if (exponent === 3) return cube(cx, a);
  return powOf(cx, a, b);
}

export const { op: atan2 } = defineBinary({
  name: 'atan2',
  source: (y, x) => `Math.atan2(${y}, ${x})`,
  partials: (cx, y, x, _out, which) => {
    const r2 = add(cx, square(cx, x), square(cx, y));
    return [which[0] ? div(cx, x, r2) : null, which[1] ? neg(cx, div(cx, y, r2)) : null];
  },
});

// Ties split the gradient in half, as PyTorch's maximum and minimum do.
export const { op: maximum } = defineBinary({
  name: 'maximum',
  source: (x, y) => `Math.max(${x}, ${y})`,
  partials: (cx, a, b, _out, which) => {
    const tie = mul(cx, 0.5, eq(cx, a, b));
    return [which[0] ? add(cx, gt(cx, a, b), tie) : null, which[1] ? add(cx, lt(cx, a, b), tie) : null];
  },
});

export const { op: minimum } = defineBinary({
  name: 'minimum',
  source: (x, y) => `Math.min(${x}, ${y})`,
  partials: (cx, a, b, _out, which) => {
    const tie = mul(cx, 0.5, eq(cx, a, b));
    return [which[0] ? add(cx, lt(cx, a, b), tie) : null, which[1] ? add(cx, gt(cx, a, b), tie) : null];
  },
});

// Comparisons and logic give 1 or 0 and have zero derivative everywhere they have one. A
// boolean made a number (`+(x > y)`) rather than chosen (`x > y ? 1 : 0`): V8 compiles the
// choice to a branch, mispredicted on half the elements where the data decide it (relu's
// derivative, x > 0, on a hidden layer); the conversion is a set-on-condition, no branch.
export const { op: lt } = defineBinary({ name: 'lt', source: (x, y) => `+(${x} < ${y})` });
export const { op: le } = defineBinary({ name: 'le', source: (x, y) => `+(${x} <= ${y})` });
export const { op: gt } = defineBinary({ name: 'gt', source: (x, y) => `+(${x} > ${y})` });
export const { op: ge } = defineBinary({ name: 'ge', source: (x, y) => `+(${x} >= ${y})` });
export const { op: eq } = defineBinary({ name: 'eq', source: (x, y) => `+(${x} === ${y})` });
export const { op: ne } = defineBinary({ name: 'ne', source: (x, y) => `+(${x} !== ${y})` });
export const { op: and } = defineBinary({ name: 'and', source: (x, y) => `(!!${x} & !!${y})` });
export const { op: or } = defineBinary({ name: 'or', source: (x, y) => `(!!${x} | !!${y})` });
export const { op: xor } = defineBinary({ name: 'xor', source: (x, y) => `+(!${x} !== !${y})` });
export const { op: not } = defineUnary({ name: 'not', source: (x) => `+!${x}` });
// Rounding is piecewise constant: zero derivative wherever it has one.
export const { op: floor } = defineUnary({ name: 'floor', source: (x) => `Math.floor(${x})`, zeroGradient: true });
export const { op: ceil } = defineUnary({ name: 'ceil', source: (x) => `Math.ceil(${x})`, zeroGradient: true });
/** Rounds half away from zero, as mathjs does. */
export const { op: round } = defineUnary({ name: 'round', source: (x) => `Math.sign(${x}) * Math.round(Math.abs(${x}))`, zeroGradient: true });
export const { op: fix } = defineUnary({ name: 'fix', source: (x) => `Math.trunc(${x})`, zeroGradient: true });
export const { op: isfinite } = defineUnary({ name: 'isfinite', source: (x) => `+Number.isFinite(${x})` });

const wherePrim = definePrimitive<undefined>({
  name: 'where',
  arity: 3,
  impl(cx, [c, a, b]) {
    const shape = broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape);
    const out = cx.alloc('where', shape);
    if (c.size === out.size && a.size === out.size && b.size === out.size) {
      for (let i = 0; i < out.size; i++) out.data[i] = c.data[i] ? a.data[i] : b.data[i];
      return out;
    }
    // Operands of the output's size or of one element need no offsets of their own.
    const offsets = (t: Tensor): Int32Array | null => (t.size === out.size || t.size === 1 ? null : broadcastIndex(t.shape, shape));
    const at = (t: Tensor, map: Int32Array | null, i: number): number => (map !== null ? t.data[map[i]] : t.size === 1 ? t.data[0] : t.data[i]);
    const ic = offsets(c);
    const ia = offsets(a);
    const ib = offsets(b);
    for (let i = 0; i < out.size; i++) out.data[i] = at(c, ic, i) ? at(a, ia, i) : at(b, ib, i);
    return out;
  },
  jvp: (cx, [c, a, b], [, ta, tb]) => where(cx, c, ta ?? cx.alloc('where', a.shape), tb ?? cx.alloc('where', b.shape)),
  vjp: (cx, g, [c, a, b], _out, _params, needs) => [
    null,
    needs[1] ? sumTo(cx, where(cx, c, g, 0), a.shape) : null,
    needs[2] ? sumTo(cx, where(cx, c, 0, g), b.shape) : null,
  ],
  scalarSource: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
});

/** Element-wise `c ? a : b`, broadcasting all three. */
export function where(cx: Context, c: Operand, a: Operand, b: Operand): Value {
  return bind(cx, wherePrim, [lift(c), lift(a), lift(b)], undefined);
}

/** Clamps into [lo, hi]; the gradient passes where lo <= x <= hi, as in PyTorch. */
export function clamp(cx: Context, x: Operand, lo: Operand, hi: Operand): Value {
  const v = lift(x);
  return where(cx, lt(cx, v, lo), lo, where(cx, gt(cx, v, hi), hi, v));
}

const stopGradientPrim = definePrimitive<undefined>({
  name: 'stop_gradient',
  arity: 1,
  impl: (_cx, [x]) => x,
  jvp: () => null,
  vjp: () => [null],
  scalarSource: ([x]) => x,
});

/** The value of x, treated as a constant by every derivative. */
export function stopGradient(cx: Context, x: Operand): Value {
  return bind(cx, stopGradientPrim, [lift(x)], undefined);
}
