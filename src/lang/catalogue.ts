/**
 * The function catalogue: every function a program or a graph may call, with its arity, a
 * one-line description and whether it is differentiable. The single source of truth for the
 * parser, the interpreter, `GET /v1/functions` and the docs. Semantics are mathjs's (1-based
 * dimensions and class indices, `*` as the matrix product), element-wise functions apply
 * element by element, and kinks take PyTorch's subgradients.
 */
import * as E from '../engine/index.js';
import { Tensor, concrete, formatShape, type Context, type Value } from '../engine/index.js';
import * as D from '../distributions/index.js';
import { Distribution } from '../distributions/index.js';
import { ProgramError } from './errors.js';

/** What a program computes with: engine values, distributions, and strings as options (`"sum"`, `"fro"`). */
export type LangValue = Value | Distribution | string;

/** What a function returns: a value or a distribution. */
export type Result = Value | Distribution;

export interface FunctionEntry {
  readonly name: string;
  /** The least and the most arguments (Infinity: any number). */
  readonly arity: readonly [number, number];
  readonly description: string;
  readonly differentiable: boolean;
  call(cx: Context, args: readonly LangValue[]): Result;
  /** The same as `call` on one argument, or on two, given as they are: no array for the commonest calls. */
  readonly call1?: (cx: Context, a: LangValue) => Result;
  readonly call2?: (cx: Context, a: LangValue, b: LangValue) => Result;
}

const entries = new Map<string, FunctionEntry>();

function define(
  name: string,
  arity: number | readonly [number, number],
  description: string,
  differentiable: boolean,
  call: (cx: Context, args: readonly LangValue[]) => Result,
  direct: Pick<FunctionEntry, 'call1' | 'call2'> = {},
): void {
  if (entries.has(name)) throw new Error(`catalogue: ${name} is defined twice`);
  entries.set(name, { name, arity: typeof arity === 'number' ? [arity, arity] : arity, description, differentiable, call, ...direct });
}

/** A function of exactly one argument. */
function define1(name: string, description: string, differentiable: boolean, call1: (cx: Context, a: LangValue) => Result): void {
  define(name, 1, description, differentiable, (cx, args) => call1(cx, args[0]), { call1 });
}

/** A function of exactly two arguments. */
function define2(name: string, description: string, differentiable: boolean, call2: (cx: Context, a: LangValue, b: LangValue) => Result): void {
  define(name, 2, description, differentiable, (cx, args) => call2(cx, args[0], args[1]), { call2 });
}

function invalid(fn: string, message: string): ProgramError {
  return new ProgramError('INVALID_ARGUMENT', `${fn}: ${message}`);
}

/** Argument i as a tensor value (strings are refused). */
function tensor(fn: string, args: readonly LangValue[], i: number): Value {
  return asTensor(fn, args[i], i);
}

/** `v`, argument i, as a tensor value. */
function asTensor(fn: string, v: LangValue, i: number): Value {
  if (v instanceof Tensor) return v;
  if (typeof v === 'string') throw invalid(fn, `argument ${i + 1} must be a number or a tensor, got the string "${v}"`);
  if (v instanceof Distribution) throw invalid(fn, `argument ${i + 1} must be a number or a tensor, got a ${v.family.name} distribution`);
  return v;
}

/** Argument i as a distribution. */
function distribution(fn: string, args: readonly LangValue[], i: number): Distribution {
  const v = args[i];
  if (!(v instanceof Distribution)) throw invalid(fn, `argument ${i + 1} must be a distribution, such as normal(mu, sigma)`);
  return v;
}

function tensors(fn: string, args: readonly LangValue[]): Value[] {
  return args.map((_, i) => tensor(fn, args, i));
}

/** Argument i as a plain number (its single element). */
function number(fn: string, args: readonly LangValue[], i: number): number {
  const v = tensor(fn, args, i);
  const t = concrete(v);
  if (t.size !== 1) throw new ProgramError('NOT_SCALAR', `${fn}: argument ${i + 1} must be a scalar, got shape ${formatShape(t.shape)}`);
  return t.data[0];
}

function integer(fn: string, args: readonly LangValue[], i: number, what: string): number {
  const n = number(fn, args, i);
  if (!Number.isInteger(n)) throw invalid(fn, `${what} must be an integer, got ${n}`);
  return n;
}

/** A 1-based dimension argument as a 0-based axis of a tensor of the given rank. */
function axis(fn: string, args: readonly LangValue[], i: number, rank: number): number {
  const d = integer(fn, args, i, 'the dimension');
  if (d === 0) throw invalid(fn, 'dimension 0 does not exist: dimensions are 1-based, as in mathjs (use 1 for the first)');
  if (d < 1 || d > Math.max(rank, 1)) throw invalid(fn, `dimension ${d} does not exist for a tensor of rank ${rank}`);
  return d - 1;
}

/** `true` and `false` in a program: the numbers 1 and 0, yet told apart where mathjs takes a flag (`range(0, 1, false)`). */
const TRUE = Tensor.scalar(1);
const FALSE = Tensor.scalar(0);

export function booleanValue(b: boolean): Tensor {
  return b ? TRUE : FALSE;
}

/** Argument i when it is `true` or `false` as written, else undefined. */
function flag(args: readonly LangValue[], i: number): boolean | undefined {
  const v = args[i];
  return v === TRUE ? true : v === FALSE ? false : undefined;
}

function option<T extends string>(fn: string, args: readonly LangValue[], i: number, allowed: readonly T[]): T {
  const v = args[i];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(fn, `argument ${i + 1} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  }
  return v as T;
}

const rank = (v: Value): number => v.shape.length;

/** Sizes given as numbers (`zeros(2, 3)`) or as one vector (`zeros([2, 3])`). */
function sizes(fn: string, args: readonly LangValue[]): number[] {
  const values = args.length === 1 && rank(tensor(fn, args, 0)) === 1 ? Array.from(concrete(tensor(fn, args, 0)).data) : args.map((_, i) => number(fn, args, i));
  for (const n of values) if (!Number.isInteger(n) || n < 0) throw invalid(fn, `sizes must be non-negative integers, got ${n}`);
  return values;
}

// Element-wise functions of one argument.
const unary: [string, E.UnaryOp, string, boolean][] = [
  ['abs', E.abs, 'absolute value', true],
  ['sign', E.sign, 'sign: -1, 0 or 1', false],
  ['sqrt', E.sqrt, 'square root', true],
  ['cbrt', E.cbrt, 'cube root', true],
  ['square', E.square, 'x^2', true],
  ['cube', E.cube, 'x^3', true],
  ['exp', E.exp, 'e^x', true],
  ['expm1', E.expm1, 'e^x - 1, accurate near 0', true],
  ['log1p', E.log1p, 'log(1 + x), accurate near 0', true],
  ['log2', E.log2, 'base-2 logarithm', true],
  ['log10', E.log10, 'base-10 logarithm', true],
  ['sin', E.sin, 'sine', true],
  ['cos', E.cos, 'cosine', true],
  ['tan', E.tan, 'tangent', true],
  ['asin', E.asin, 'inverse sine', true],
  ['acos', E.acos, 'inverse cosine', true],
  ['atan', E.atan, 'inverse tangent', true],
  ['sinh', E.sinh, 'hyperbolic sine', true],
  ['cosh', E.cosh, 'hyperbolic cosine', true],
  ['tanh', E.tanh, 'hyperbolic tangent', true],
  ['sigmoid', E.sigmoid, 'logistic function 1 / (1 + e^-x)', true],
  ['relu', E.relu, 'max(x, 0); derivative 0 at 0', true],
  ['softplus', E.softplus, 'log(1 + e^x), as PyTorch (x above 20 passes through, with derivative 1)', true],
  ['lgamma', E.lgamma, 'log |Γ(x)|', true],
  ['digamma', (cx, x) => E.digamma(cx, x), 'ψ(x), the derivative of lgamma', true],
  ['floor', E.floor, 'round down', false],
  ['ceil', E.ceil, 'round up', false],
  ['round', E.round, 'round to nearest, halves away from zero', false],
  ['fix', E.fix, 'round toward zero', false],
  ['not', E.not, 'logical not: 1 where x is 0, else 0', false],
];
for (const [name, op, description, differentiable] of unary) {
  define1(name, `${description} (element-wise)`, differentiable, (cx, a) => op(cx, asTensor(name, a, 0)));
}

// The rest of mathjs's trigonometry, composed as mathjs computes each (so values agree to the last digits).
const reciprocal = (f: E.UnaryOp): E.UnaryOp => (cx, x) => E.div(cx, 1, f(cx, x));
const ofReciprocal = (f: E.UnaryOp): E.UnaryOp => (cx, x) => f(cx, E.div(cx, 1, x));
const trigonometry: [string, E.UnaryOp, string][] = [
  ['sec', reciprocal(E.cos), 'secant, 1 / cos(x)'],
  ['csc', reciprocal(E.sin), 'cosecant, 1 / sin(x)'],
  ['cot', reciprocal(E.tan), 'cotangent, 1 / tan(x)'],
  ['asec', ofReciprocal(E.acos), 'inverse secant, acos(1 / x)'],
  ['acsc', ofReciprocal(E.asin), 'inverse cosecant, asin(1 / x)'],
  ['acot', ofReciprocal(E.atan), 'inverse cotangent, atan(1 / x)'],
  ['asinh', E.asinh, 'inverse hyperbolic sine'],
  ['acosh', E.acosh, 'inverse hyperbolic cosine'],
  ['atanh', E.atanh, 'inverse hyperbolic tangent'],
  ['sech', (cx, x) => E.div(cx, 2, E.add(cx, E.exp(cx, x), E.exp(cx, E.neg(cx, x)))), 'hyperbolic secant, 2 / (e^x + e^-x)'],
  ['csch', (cx, x) => E.div(cx, 2, E.sub(cx, E.exp(cx, x), E.exp(cx, E.neg(cx, x)))), 'hyperbolic cosecant, 2 / (e^x - e^-x)'],
  [
    'coth',
    (cx, x) => {
      const e = E.exp(cx, E.mul(cx, 2, x));
      return E.div(cx, E.add(cx, e, 1), E.sub(cx, e, 1));
    },
    'hyperbolic cotangent, (e^2x + 1) / (e^2x - 1)',
  ],
  [
    'asech',
    (cx, x) => {
      const inverse = E.div(cx, 1, x);
      return E.log(cx, E.add(cx, E.sqrt(cx, E.sub(cx, E.square(cx, inverse), 1)), inverse));
    },
    'inverse hyperbolic secant',
  ],
  [
    'acsch',
    (cx, x) => {
      const inverse = E.div(cx, 1, x);
      return E.log(cx, E.add(cx, inverse, E.sqrt(cx, E.add(cx, E.square(cx, inverse), 1))));
    },
    'inverse hyperbolic cosecant',
  ],
  [
    'acoth',
    (cx, x) => {
      const halfSum = E.div(cx, E.add(cx, E.log(cx, E.div(cx, E.add(cx, x, 1), x)), E.log(cx, E.div(cx, x, E.sub(cx, x, 1)))), 2);
      return E.where(cx, E.isfinite(cx, x), halfSum, 0);
    },
    'inverse hyperbolic cotangent',
  ],
];
for (const [name, op, description] of trigonometry) {
  define1(name, `${description} (element-wise)`, true, (cx, a) => op(cx, asTensor(name, a, 0)));
}

// mathjs's tests of numbers, element-wise: 1 or 0.
const predicates: [string, E.UnaryOp, string][] = [
  ['isNaN', (cx, x) => E.ne(cx, x, x), 'x is NaN'],
  ['isFinite', E.isfinite, 'x is neither infinite nor NaN'],
  ['isNegative', (cx, x) => E.lt(cx, x, 0), 'x < 0'],
  ['isPositive', (cx, x) => E.gt(cx, x, 0), 'x > 0'],
  ['isZero', (cx, x) => E.eq(cx, x, 0), 'x == 0'],
  ['isInteger', (cx, x) => E.and(cx, E.isfinite(cx, x), E.eq(cx, x, E.round(cx, x))), 'x is a whole number'],
];
for (const [name, op, description] of predicates) {
  define1(name, `${description}: 1 or 0 (element-wise)`, false, (cx, a) => op(cx, asTensor(name, a, 0)));
}
define1('number', 'x itself: every value is already a number', true, (_cx, a) => asTensor('number', a, 0));

// Element-wise functions of two arguments, broadcasting.
const binary: [string, E.BinaryOp, string, boolean][] = [
  ['add', E.add, 'x + y', true],
  ['subtract', E.sub, 'x - y', true],
  ['dotMultiply', E.mul, 'x .* y: element-wise product', true],
  ['dotDivide', E.div, 'x ./ y: element-wise quotient', true],
  ['dotPow', E.pow, 'x .^ y: element-wise power', true],
  ['atan2', E.atan2, 'the angle of the point (x, y): atan2(y, x)', true],
  ['maximum', E.maximum, 'element-wise maximum (ties split the gradient, as PyTorch)', true],
  ['minimum', E.minimum, 'element-wise minimum (ties split the gradient, as PyTorch)', true],
  ['larger', E.gt, 'x > y: 1 or 0', false],
  ['smaller', E.lt, 'x < y: 1 or 0', false],
  ['largerEq', E.ge, 'x >= y: 1 or 0', false],
  ['smallerEq', E.le, 'x <= y: 1 or 0', false],
  ['equal', E.eq, 'x == y: 1 or 0', false],
  ['unequal', E.ne, 'x != y: 1 or 0', false],
  ['and', E.and, 'logical and: 1 or 0', false],
  ['or', E.or, 'logical or: 1 or 0', false],
  ['xor', E.xor, 'logical exclusive or: 1 or 0', false],
];
for (const [name, op, description, differentiable] of binary) {
  define2(name, `${description} (element-wise, broadcasting)`, differentiable, (cx, a, b) => op(cx, asTensor(name, a, 0), asTensor(name, b, 1)));
}

// mathjs's scalar forms of the operators (it uses them inside its matrix functions).
for (const [name, op, symbol] of [
  ['addScalar', E.add, '+'],
  ['subtractScalar', E.sub, '-'],
  ['multiplyScalar', E.mul, '.*'],
  ['divideScalar', E.div, './'],
] as const) {
  define2(name, `x ${symbol} y (element-wise, broadcasting)`, true, (cx, a, b) => op(cx, asTensor(name, a, 0), asTensor(name, b, 1)));
}
define1('unaryMinus', '-x: negation', true, (cx, a) => E.neg(cx, asTensor('unaryMinus', a, 0)));
define1('unaryPlus', '+x: the value itself', true, (_cx, a) => asTensor('unaryPlus', a, 0));
define('mod', 2, 'x mod y = x - y floor(x / y), and x mod 0 = x (as mathjs)', true, (cx, args) => {
  const [x, y] = tensors('mod', args);
  // Dividing by 1 where y is 0 makes the result x - 0 = x there, with no NaN in either derivative.
  const divisor = E.where(cx, E.eq(cx, y, 0), 1, y);
  return E.sub(cx, x, E.mul(cx, y, E.floor(cx, E.div(cx, x, divisor))));
});
define('log', [1, 2], 'natural logarithm, or log(x, base)', true, (cx, args) => {
  const x = tensor('log', args, 0);
  return args.length === 1 ? E.log(cx, x) : E.div(cx, E.log(cx, x), E.log(cx, tensor('log', args, 1)));
});

/** mathjs's `*`: scalars scale, otherwise the matrix product (two vectors give their dot product). */
function multiply(cx: Context, a: Value, b: Value): Value {
  return rank(a) === 0 || rank(b) === 0 ? E.mul(cx, a, b) : E.matmul(cx, a, b);
}

const multiply2 = (cx: Context, a: LangValue, b: LangValue): Value => multiply(cx, asTensor('multiply', a, 0), asTensor('multiply', b, 1));
define(
  'multiply',
  [2, Infinity],
  'x * y: the matrix product of matrices, the dot product of vectors, else element-wise',
  true,
  (cx, args) => {
    // From the left, as mathjs multiplies several factors.
    let product = multiply2(cx, args[0], args[1]);
    for (let i = 2; i < args.length; i++) product = multiply(cx, product, tensor('multiply', args, i));
    return product;
  },
  { call2: multiply2 },
);
define2('divide', 'x / y: element-wise, or x * inv(y) for a square matrix y', true, (cx, x, y) => {
  const a = asTensor('divide', x, 0);
  const b = asTensor('divide', y, 1);
  return rank(b) === 2 ? multiply(cx, a, E.inv(cx, b)) : E.div(cx, a, b);
});
define2('pow', 'x ^ y: element-wise for scalars, the matrix power for a square matrix and an integer', true, (cx, x, y) => {
  const a = asTensor('pow', x, 0);
  const b = asTensor('pow', y, 1);
  if (rank(a) === 0 && rank(b) === 0) return E.pow(cx, a, b);
  if (rank(a) === 2 && rank(b) === 0) return E.matrixPower(cx, a, integer('pow', [x, y], 1, 'a matrix power'));
  throw new ProgramError(
    'SHAPE_MISMATCH',
    `pow: \`^\` of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} is not defined; use \`.^\` for an element-wise power`,
  );
});
for (const name of ['transpose', 'ctranspose']) {
  define(name, 1, "x': swaps the rows and columns of a matrix (a vector is unchanged)", true, (cx, args) => {
    const x = tensor(name, args, 0);
    if (rank(x) > 2) throw new ProgramError('SHAPE_MISMATCH', `${name}: needs a vector or a matrix, got shape ${formatShape(x.shape)}`);
    return E.transpose(cx, x);
  });
}

// Reductions: over all elements, along a 1-based dimension, or (mathjs) over several scalars.
function reduction(name: string, description: string, all: (cx: Context, x: Value) => Value, along: (cx: Context, x: Value, axis: number) => Value): void {
  define(name, [1, Infinity], description, true, (cx, args) => {
    const x = tensor(name, args, 0);
    if (args.length === 1) return all(cx, x);
    if (args.length === 2 && rank(x) > 0) return along(cx, x, axis(name, args, 1, rank(x)));
    const scalars = tensors(name, args);
    for (const s of scalars) {
      if (rank(s) > 0) throw invalid(name, `with several arguments each must be a scalar, got shape ${formatShape(s.shape)}`);
    }
    return all(cx, E.stack(cx, scalars));
  });
}
reduction('sum', 'sum of all elements, or along a dimension: sum(A, 1) sums each column', (cx, x) => E.sum(cx, x), (cx, x, a) => E.sum(cx, x, [a]));
reduction('mean', 'mean of all elements, or along a dimension', (cx, x) => E.mean(cx, x), (cx, x, a) => E.mean(cx, x, [a]));
reduction('prod', 'product of all elements, or along a dimension', (cx, x) => E.prod(cx, x), (cx, x, a) => E.prod(cx, x, a));
reduction('max', 'maximum of all elements, or along a dimension; the gradient goes to the first maximal element', (cx, x) => E.max(cx, x), (cx, x, a) => E.max(cx, x, a));
reduction('min', 'minimum of all elements, or along a dimension; the gradient goes to the first minimal element', (cx, x) => E.min(cx, x), (cx, x, a) => E.min(cx, x, a));
reduction('logsumexp', 'log of the sum of exponentials, computed stably, of all elements or along a dimension', (cx, x) => E.logsumexp(cx, x), (cx, x, a) => E.logsumexp(cx, x, [a]));

const NORMALIZATIONS = ['unbiased', 'uncorrected', 'biased'] as const;
for (const [name, op] of [
  ['variance', E.variance],
  ['std', E.std],
] as const) {
  define(name, [1, 3], `${name === 'std' ? 'standard deviation' : 'variance'} of all elements or along a dimension; "unbiased" (n - 1, the default) or "uncorrected"`, true, (cx, args) => {
    const x = tensor(name, args, 0);
    const last = args[args.length - 1];
    const normalization = args.length > 1 && typeof last === 'string' ? option(name, args, args.length - 1, NORMALIZATIONS) : 'unbiased';
    const dims = args.length - (typeof last === 'string' && args.length > 1 ? 1 : 0);
    const axes = dims === 2 ? [axis(name, args, 1, rank(x))] : undefined;
    // As mathjs: the unbiased estimate of a single element is 0, not 0 / 0.
    const count = axes === undefined ? E.sizeOf(x.shape) : (x.shape[axes[0]] ?? 1);
    return op(cx, x, axes, normalization === 'unbiased' && count > 1);
  });
}
const NORM_NAMES = { fro: 'fro', inf: Infinity, '-inf': -Infinity } as const;
define(
  'norm',
  [1, 2],
  'as mathjs: the 2-norm of a vector, or norm(x, p) with p a number, Infinity or "fro"; of a matrix the spectral norm (largest singular value), or p = 1 (largest column sum), Infinity (largest row sum) or "fro" (Frobenius)',
  true,
  (cx, args) => {
    const x = tensor('norm', args, 0);
    const p = args.length === 1 ? 2 : typeof args[1] === 'string' ? NORM_NAMES[option('norm', args, 1, ['fro', 'inf', '-inf'] as const)] : number('norm', args, 1);
    if (rank(x) !== 2) return E.norm(cx, x, p);
    if (p === 2) return E.spectralNorm(cx, x);
    if (p === 'fro') return E.norm(cx, x);
    if (p === 1) return E.max(cx, E.sum(cx, E.abs(cx, x), [0]));
    if (p === Infinity) return E.max(cx, E.sum(cx, E.abs(cx, x), [1]));
    throw invalid('norm', `the norm of a matrix takes p = 1, 2, Infinity or "fro", got ${p}`);
  },
);

// Neural-network functions; dimensions are 1-based and default to the last.
function lastOr(fn: string, args: readonly LangValue[], i: number, x: Value): number {
  return args.length > i ? axis(fn, args, i, rank(x)) : Math.max(0, rank(x) - 1);
}
define('softmax', [1, 2], 'softmax along a dimension (default: the last)', true, (cx, args) => {
  const x = tensor('softmax', args, 0);
  return E.softmax(cx, x, lastOr('softmax', args, 1, x));
});
define('log_softmax', [1, 2], 'log of softmax along a dimension (default: the last), computed stably', true, (cx, args) => {
  const x = tensor('log_softmax', args, 0);
  return E.logSoftmax(cx, x, lastOr('log_softmax', args, 1, x));
});
const REDUCTIONS = ['mean', 'sum', 'none'] as const;
define('cross_entropy', [2, 3], 'cross-entropy of logits (N×C) against class indices 1..C or class probabilities; mean over examples', true, (cx, args) => {
  const logits = tensor('cross_entropy', args, 0);
  const targets = tensor('cross_entropy', args, 1);
  const reduction = args.length > 2 ? option('cross_entropy', args, 2, REDUCTIONS) : 'mean';
  if (targets.shape.length === logits.shape.length && targets.shape.every((d, i) => d === logits.shape[i])) {
    return E.crossEntropy(cx, logits, targets, reduction);
  }
  // Class indices are 1-based here, like all indexing.
  return E.crossEntropy(cx, logits, E.sub(cx, targets, 1), reduction);
});
define('mse_loss', [2, 3], 'mean squared error; reduction "mean" (default), "sum" or "none"', true, (cx, args) => {
  const reduction = args.length > 2 ? option('mse_loss', args, 2, REDUCTIONS) : 'mean';
  return E.mseLoss(cx, tensor('mse_loss', args, 0), tensor('mse_loss', args, 1), reduction);
});
define('binary_cross_entropy', [2, 3], 'binary cross-entropy of probabilities against targets in [0, 1]; reduction as mse_loss', true, (cx, args) => {
  const reduction = args.length > 2 ? option('binary_cross_entropy', args, 2, REDUCTIONS) : 'mean';
  return E.binaryCrossEntropy(cx, tensor('binary_cross_entropy', args, 0), tensor('binary_cross_entropy', args, 1), reduction);
});
define('where', 3, 'where(c, a, b): a where c is non-zero, else b (element-wise, broadcasting)', true, (cx, args) => {
  const [c, a, b] = tensors('where', args);
  return E.where(cx, c, a, b);
});
define('clamp', 3, 'clamp(x, lo, hi): x limited to [lo, hi]; the gradient passes where lo <= x <= hi', true, (cx, args) => {
  const [x, lo, hi] = tensors('clamp', args);
  return E.clamp(cx, x, lo, hi);
});
define('stop_gradient', 1, 'the value of x, treated as a constant by every derivative', false, (cx, args) => E.stopGradient(cx, tensor('stop_gradient', args, 0)));

// Linear algebra.
define('matmul', 2, 'the matrix product, with PyTorch rules for vectors and batches', true, (cx, args) => E.matmul(cx, tensor('matmul', args, 0), tensor('matmul', args, 1)));
/** A vector, or an n×1 column as mathjs's dot takes it, as a vector. */
const asVector = (cx: Context, x: Value): Value => (rank(x) === 2 && x.shape[1] === 1 ? E.reshape(cx, x, [x.shape[0]]) : x);
define('dot', 2, 'the dot product of two vectors (or n×1 columns)', true, (cx, args) => E.dot(cx, asVector(cx, tensor('dot', args, 0)), asVector(cx, tensor('dot', args, 1))));
/** A scalar or a one-element vector, which mathjs's det and inv take as a 1×1 matrix. */
const isOneByOne = (x: Value): boolean => rank(x) === 0 || (rank(x) === 1 && x.shape[0] === 1);
define('det', 1, 'the determinant of a square matrix (of a scalar, itself)', true, (cx, args) => {
  const x = tensor('det', args, 0);
  return isOneByOne(x) ? E.reshape(cx, x, []) : E.det(cx, x);
});
define('inv', 1, 'the inverse of a square matrix (of a scalar, 1 / x)', true, (cx, args) => {
  const x = tensor('inv', args, 0);
  return isOneByOne(x) ? E.div(cx, 1, x) : E.inv(cx, x);
});
define('solve', 2, 'solve(A, b): the x with A x = b, for a vector or a matrix b', true, (cx, args) => E.solve(cx, tensor('solve', args, 0), tensor('solve', args, 1)));
define('trace', 1, 'the sum of the diagonal of a square matrix', true, (cx, args) => E.trace(cx, tensor('trace', args, 0)));

// Construction and shape.
define('zeros', [1, Infinity], 'a tensor of zeros: zeros(m, n) or zeros([m, n])', false, (cx, args) => constant(cx, 'zeros', sizes('zeros', args), 0));
define('ones', [1, Infinity], 'a tensor of ones: ones(m, n) or ones([m, n])', false, (cx, args) => constant(cx, 'ones', sizes('ones', args), 1));
define('identity', [1, 2], 'the identity matrix: identity(n) or identity(m, n)', false, (cx, args) => {
  const [m, n] = sizes('identity', args.length === 1 && rank(tensor('identity', args, 0)) === 0 ? [args[0], args[0]] : args);
  const out = constant(cx, 'identity', [m, n], 0);
  for (let i = 0; i < Math.min(m, n); i++) out.data[i * n + i] = 1;
  return out;
});
define('size', 1, 'the sizes of a tensor, as a vector', false, (_cx, args) => Tensor.fromArray([rank(tensor('size', args, 0))], tensor('size', args, 0).shape));
define('reshape', 2, 'reshape(x, [m, n]): the same elements, row-major, in another shape', true, (cx, args) =>
  E.reshape(cx, tensor('reshape', args, 0), sizes('reshape', [args[1]])),
);
/** mathjs's squeeze: the leading and the trailing dimensions of size 1 go, inner ones stay. */
function squeezed(cx: Context, x: Value): Value {
  let from = 0;
  while (from < rank(x) && x.shape[from] === 1) from++;
  let to = rank(x);
  while (to > from && x.shape[to - 1] === 1) to--;
  return E.reshape(cx, x, x.shape.slice(from, to));
}
define('squeeze', 1, 'x without its leading and trailing dimensions of size 1 (as mathjs: inner ones stay)', true, (cx, args) => squeezed(cx, tensor('squeeze', args, 0)));
define('flatten', 1, 'the elements of x as a vector, row-major', true, (cx, args) => {
  const x = tensor('flatten', args, 0);
  return E.reshape(cx, x, [E.sizeOf(x.shape)]);
});
define('concat', [1, Infinity], 'concat(a, b, …, dim): joins tensors along a dimension (default: the last)', true, (cx, args) => {
  const last = args[args.length - 1];
  const hasDim = args.length > 1 && typeof last !== 'string' && !(last instanceof Distribution) && rank(last) === 0;
  const parts = tensors('concat', hasDim ? args.slice(0, -1) : args);
  const r = rank(parts[0]);
  const a = hasDim ? axis('concat', args, args.length - 1, r) : r - 1;
  if (r === 0) throw invalid('concat', 'needs vectors or matrices, got a scalar');
  return E.concat(cx, parts, a);
});
define('diag', 1, 'the diagonal matrix of a vector, or the diagonal of a matrix', true, (cx, args) => {
  const x = tensor('diag', args, 0);
  if (rank(x) === 1) return E.mul(cx, E.unsqueeze(cx, x, 1), E.identity(x.shape[0], cx));
  if (rank(x) === 2) {
    const n = Math.min(x.shape[0], x.shape[1]);
    const index = Tensor.fromArray([n, 1], E.range(0, n));
    const rows = x.shape[0] > n ? E.select(cx, x, [E.range(0, n), E.range(0, x.shape[1])]) : x;
    return E.reshape(cx, E.takeAlong(cx, rows, 1, index), [n]);
  }
  throw new ProgramError('SHAPE_MISMATCH', `diag: needs a vector or a matrix, got shape ${formatShape(x.shape)}`);
});

// Sequences, order statistics and products, with mathjs's semantics (1-based dimensions).

/** Several scalars (`cumsum(1, 2, 3)`, `median(3, 1, 2)`) as one vector, as mathjs takes them. */
function scalarsAsVector(cx: Context, fn: string, args: readonly LangValue[]): Value {
  const scalars = tensors(fn, args);
  for (const v of scalars) {
    if (rank(v) > 0) throw invalid(fn, `with several arguments each must be a scalar, got shape ${formatShape(v.shape)}`);
  }
  return E.stack(cx, scalars);
}

for (const [name, op, description] of [
  ['cumsum', E.cumsum, 'running sums along a dimension (default 1: down the columns of a matrix); cumsum(a, b, …) of scalars'],
  ['cumprod', E.cumprod, 'running products along a dimension (default 1), as torch.cumprod (not in mathjs); exact gradients at zeros'],
] as const) {
  define(name, [1, Infinity], description, true, (cx, args) => {
    const x = tensor(name, args, 0);
    if (rank(x) === 0) return op(cx, scalarsAsVector(cx, name, args), 0);
    if (args.length > 2) throw invalid(name, 'takes a tensor and a dimension, or several scalars');
    return op(cx, x, args.length === 2 ? axis(name, args, 1, rank(x)) : 0);
  });
}
define('diff', [1, 2], 'differences of consecutive elements along a dimension (default 1: x[i + 1] - x[i], row to row of a matrix)', true, (cx, args) => {
  const x = tensor('diff', args, 0);
  if (rank(x) === 0) throw invalid('diff', 'needs a vector or a matrix, got a scalar');
  return E.diff(cx, x, args.length === 2 ? axis('diff', args, 1, rank(x)) : 0);
});
define('sort', [1, 2], 'a vector sorted, "asc" (default) or "desc"; the values are differentiable, as torch.sort\'s', true, (cx, args) => {
  const x = tensor('sort', args, 0);
  if (rank(x) !== 1) throw invalid('sort', `needs a vector (as mathjs), got shape ${formatShape(x.shape)}`);
  return E.sort(cx, x, args.length > 1 && option('sort', args, 1, ['asc', 'desc'] as const) === 'desc');
});
define('median', [1, Infinity], 'the median of all elements (the mean of the two middle ones for an even count); the gradient goes to the middle element(s)', true, (cx, args) => {
  const x = tensor('median', args, 0);
  if (rank(x) === 0) return E.median(cx, scalarsAsVector(cx, 'median', args));
  if (args.length > 1) throw invalid('median', 'median(A, dim) is not supported (nor in mathjs); use quantileSeq(A, 0.5, dim)');
  return E.median(cx, E.reshape(cx, x, [E.sizeOf(x.shape)]));
});

define('mad', [1, Infinity], 'the median absolute deviation of all elements: median(abs(x - median(x)))', true, (cx, args) => {
  const x = tensor('mad', args, 0);
  const v = rank(x) === 0 ? scalarsAsVector(cx, 'mad', args) : E.reshape(cx, x, [E.sizeOf(x.shape)]);
  if (rank(x) > 0 && args.length > 1) throw invalid('mad', 'takes one tensor, or several scalars');
  return E.median(cx, E.abs(cx, E.sub(cx, v, E.median(cx, v))));
});
define('count', 1, 'the number of elements of a tensor', false, (cx, args) => cx.scalar('count', E.sizeOf(tensor('count', args, 0).shape)));
for (const [name, which] of [
  ['row', 0],
  ['column', 1],
] as const) {
  define(name, 2, `${name}(A, i): the ${name} i of a matrix, as a ${which === 0 ? '1×n' : 'n×1'} matrix`, true, (cx, args) => {
    const x = tensor(name, args, 0);
    if (rank(x) !== 2) throw invalid(name, `needs a matrix, got shape ${formatShape(x.shape)}`);
    const i = integer(name, args, 1, `the ${name}`);
    if (i < 1 || i > x.shape[which]) throw invalid(name, `${name} ${i} does not exist in a matrix of shape ${formatShape(x.shape)} (${name}s are 1..${x.shape[which]})`);
    return E.select(cx, x, x.shape.map((d, a) => (a === which ? Int32Array.of(i - 1) : E.range(0, d))));
  });
}

/** The probabilities quantileSeq's second argument stands for: p, a vector of them, or N > 1 for the N quantiles at 1/(N+1), …, N/(N+1). */
function quantileProbabilities(cx: Context, args: readonly LangValue[]): { probs: ArrayLike<number>; scalar: boolean } {
  const p = concrete(tensor('quantileSeq', args, 1));
  if (rank(p) === 1) {
    for (const q of p.data) if (!(q >= 0 && q <= 1)) throw invalid('quantileSeq', `each probability must be in [0, 1], got ${q}`);
    return { probs: p.data, scalar: false };
  }
  const q = number('quantileSeq', args, 1);
  if (!(q >= 0) && !E.nearlyEqual(q, 0)) throw invalid('quantileSeq', `the probability (or the number of quantiles N) must be non-negative, got ${q}`);
  if (q <= 1 || E.nearlyEqual(q, 1)) return { probs: [q], scalar: true };
  if (!Number.isInteger(q)) throw invalid('quantileSeq', `a second argument above 1 is a number of quantiles N and must be an integer, got ${q}`);
  const probs = cx.allocForWriting('quantileSeq', [q]);
  for (let i = 0; i < q; i++) probs.data[i] = (i + 1) / (q + 1);
  return { probs: probs.data, scalar: false };
}

define(
  'quantileSeq',
  [2, 4],
  'quantileSeq(A, p), quantileSeq(A, [p1, p2, …]) or quantileSeq(A, N): quantiles of all elements, or along a dimension with quantileSeq(A, p, dim), by linear interpolation (as mathjs and torch.quantile); quantileSeq(A, p, true) takes A as sorted',
  true,
  (cx, args) => {
    const x = tensor('quantileSeq', args, 0);
    const { probs, scalar } = quantileProbabilities(cx, args);
    const sorted = flag(args, 2) ?? false;
    const dimAt = args.length === 4 || (args.length === 3 && flag(args, 2) === undefined) ? args.length - 1 : -1;
    if (args.length === 4 && flag(args, 2) === undefined) throw invalid('quantileSeq', 'the third of four arguments is `sorted`: true or false');
    const shaped = (q: Value): Value => (scalar ? E.reshape(cx, q, []) : q);
    if (dimAt < 0) return shaped(E.quantile(cx, E.reshape(cx, x, [E.sizeOf(x.shape)]), probs, sorted));
    // Along a dimension: each slice's quantiles, in the order of the other dimensions (mathjs's mapSlices).
    const a = axis('quantileSeq', args, dimAt, rank(x));
    const others = x.shape.filter((_, i) => i !== a);
    const perm = [...x.shape.keys()].filter((i) => i !== a).concat(a);
    const rows = E.reshape(cx, E.permute(cx, x, perm), [E.sizeOf(others), x.shape[a]]);
    const slices: Value[] = [];
    for (let r = 0; r < E.sizeOf(others); r++) {
      const row = E.reshape(cx, E.select(cx, rows, [Int32Array.of(r), E.range(0, x.shape[a])]), [x.shape[a]]);
      slices.push(E.quantile(cx, row, probs, sorted));
    }
    const m = probs.length;
    const all = slices.length === 0 ? cx.alloc('quantileSeq', [0, m]) : E.stack(cx, slices);
    return E.reshape(cx, all, scalar ? others : [...others, m]);
  },
);

/**
 * mathjs's `range` (and `start:step:end`): from start by step while short of end (or up to it,
 * with includeEnd), each element the previous plus step, and "short of" under mathjs's
 * tolerance for nearly equal numbers, so that 0:0.1:1 ends at 0.9999999999999999 as in mathjs.
 */
export function mathjsRange(cx: Context, start: number, end: number, step: number, includeEnd: boolean): Tensor {
  if (step === 0) throw invalid('range', 'the step must be non-zero');
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step)) {
    throw invalid('range', `the range from ${start} to ${end} by ${step} is not finite`);
  }
  // An upper bound on the count, charged before anything is written.
  const bound = Math.max(0, Math.floor((end - start) / step) + 2);
  const values = cx.allocForWriting('range', [bound]).data;
  const ongoing =
    step > 0
      ? includeEnd
        ? (x: number) => x <= end || E.nearlyEqual(x, end)
        : (x: number) => x < end && !E.nearlyEqual(x, end)
      : includeEnd
        ? (x: number) => x >= end || E.nearlyEqual(x, end)
        : (x: number) => x > end && !E.nearlyEqual(x, end);
  let n = 0;
  for (let x = start; n < bound && ongoing(x); x += step) values[n++] = x;
  return new Tensor([n], values.subarray(0, n));
}

/** mathjs's string form of a range: "start:end" or "start:step:end". */
function parseRangeText(text: string): [number, number, number] {
  const parts = text.split(':').map(Number);
  if (parts.some((p) => Number.isNaN(p)) || parts.length < 2 || parts.length > 3) throw invalid('range', `"${text}" is not a range such as "1:10" or "0:2:10"`);
  return parts.length === 2 ? [parts[0], parts[1], 1] : [parts[0], parts[2], parts[1]];
}

define(
  'range',
  [1, 4],
  'range(start, end), range(start, end, step) or range("start:step:end"): start, start + step, … up to end inclusive (as mathjs\'s expressions), or short of it with a last argument false',
  false,
  (cx, args) => {
    const last = flag(args, args.length - 1);
    const given = last === undefined ? args : args.slice(0, -1);
    const includeEnd = last ?? true;
    if (typeof given[0] === 'string') {
      if (given.length !== 1) throw invalid('range', 'a range given as text takes no other arguments than includeEnd');
      const [start, end, step] = parseRangeText(given[0]);
      return mathjsRange(cx, start, end, step, includeEnd);
    }
    if (given.length < 2 || given.length > 3) throw invalid('range', 'takes start and end, and optionally a step and includeEnd (true or false)');
    return mathjsRange(cx, number('range', given, 0), number('range', given, 1), given.length === 3 ? number('range', given, 2) : 1, includeEnd);
  },
);

define('kron', 2, 'the Kronecker product of two vectors or matrices (a vector with a matrix counts as one row)', true, (cx, args) => {
  const [a, b] = tensors('kron', args);
  if (rank(a) === 0 || rank(b) === 0) throw invalid('kron', 'needs vectors or matrices (as mathjs); for a scalar, use *');
  return E.kron(cx, a, b);
});
define('cross', 2, 'the cross product of two 3-vectors (1×3 or 3×1 matrices give a 1×3 matrix, as mathjs)', true, (cx, args) => {
  const [a, b] = tensors('cross', args);
  const product = E.cross(cx, squeezed(cx, a), squeezed(cx, b));
  return Math.max(rank(a), rank(b)) > 1 ? E.reshape(cx, product, [1, 3]) : product;
});
define('hypot', [1, Infinity], 'hypot(a, b, …) or hypot(v): the square root of the sum of squares, without overflow; gradient x / hypot, and 0 at 0 (as torch.linalg.norm)', true, (cx, args) => {
  const x = tensor('hypot', args, 0);
  const values = args.length === 1 && rank(x) > 0 ? E.reshape(cx, x, [E.sizeOf(x.shape)]) : scalarsAsVector(cx, 'hypot', args);
  return E.norm(cx, values);
});

const NEGATIVE_UNDER_EVEN_ROOT = E.defineCheck('nthRoot', (x) => !(x < 0), (x) => `nthRoot: ${x} is negative and the root is not odd, so it has no real root`);
/** mathjs's test for a root a negative number may take: odd, as |n| % 2 === 1. */
const isOddRoot = (n: number): boolean => Math.abs(n) % 2 === 1;
define('nthRoot', [1, 2], 'nthRoot(x, n): the real n-th root (default n = 2), negative for a negative x and an odd n, as mathjs (element-wise)', true, (cx, args) => {
  const x = tensor('nthRoot', args, 0);
  const n = args.length > 1 ? tensor('nthRoot', args, 1) : Tensor.scalar(2);
  const roots = concrete(n);
  if (roots.data.includes(0)) throw invalid('nthRoot', 'the root must be non-zero');
  if (roots.size === 1) return E.nthRoot(cx, isOddRoot(roots.data[0]) ? x : E.checked(cx, x, NEGATIVE_UNDER_EVEN_ROOT), n);
  const bad = concrete(E.and(cx, E.lt(cx, concrete(x), 0), E.eq(cx, E.sub(cx, E.abs(cx, roots), E.mul(cx, 2, E.floor(cx, E.div(cx, E.abs(cx, roots), 2)))), 0)));
  if (bad.data.includes(1)) throw invalid('nthRoot', 'a negative number has no real root of an even order');
  return E.nthRoot(cx, x, n);
});
define('matrix', [0, 2], 'matrix(x) or matrix(x, "dense"): x itself (adjoint tensors are dense); matrix() is an empty vector', true, (cx, args) => {
  if (args.length === 0) return cx.alloc('matrix', [0]);
  if (args.length === 2) option('matrix', args, 1, ['dense'] as const);
  return tensor('matrix', args, 0);
});

// Matrix literals and indexing: what `[a, b]`, `A[i, j]` and `A[i, j] = v` mean, as functions so
// that traces and exported graphs can name them.
define('stack', [0, Infinity], '[a, b, …]: equally shaped values stacked along a new first dimension', true, (cx, args) => {
  const items = tensors('stack', args);
  if (items.length === 0) return Tensor.zeros([0]);
  if (items.some((t) => formatShape(t.shape) !== formatShape(items[0].shape))) {
    throw new ProgramError('SHAPE_MISMATCH', `the rows of a matrix must have equal shapes, got ${items.map((t) => formatShape(t.shape)).join(', ')}`);
  }
  return E.stack(cx, items, 0);
});

/** The largest 1-based position: positions are held 0-based in an Int32Array. */
const MAX_POSITION = 2 ** 31 - 1;

/**
 * The 0-based positions of 1-based index arguments, one per dimension of `shape`, and which
 * were scalars (those dimensions are dropped when reading, as in mathjs). With `grow`, a
 * position past the end is allowed (assignment enlarges the tensor, as in mathjs).
 */
export function indexPositions(fn: string, shape: readonly number[], index: readonly Value[], grow: boolean): { positions: Int32Array[]; dropped: boolean[] } {
  const scalarTarget = shape.length === 0;
  if (index.length !== shape.length && !(scalarTarget && index.length === 1)) {
    throw new ProgramError(
      'SHAPE_MISMATCH',
      `an index with ${index.length} position${index.length === 1 ? '' : 's'} for a tensor of shape ${formatShape(shape)}; give one per dimension`,
    );
  }
  const positions = index.map((v, axis) => {
    const t = concrete(v);
    const extent = scalarTarget ? 1 : shape[axis];
    const ix = new Int32Array(t.size);
    for (let k = 0; k < t.size; k++) {
      const p = t.data[k];
      if (!Number.isInteger(p) || p < 1 || (!grow && p > extent)) {
        throw invalid(fn, `index ${p} is out of range for dimension ${axis + 1} of a tensor of shape ${formatShape(shape)} (positions are 1..${extent})`);
      }
      // Past 2^31 - 1 a position no longer fits the Int32Array (it would wrap), nor could the tensor grow to it.
      if (p > MAX_POSITION) {
        throw new ProgramError('LIMIT_EXCEEDED', `${fn}: index ${p} would enlarge dimension ${axis + 1} past the most elements a tensor may have`, undefined, 'memory');
      }
      ix[k] = p - 1;
    }
    return ix;
  });
  return { positions, dropped: index.map((v) => v.shape.length === 0) };
}

define('subset', [2, Infinity], 'A[i, j, …]: the elements at 1-based positions (scalars, vectors or ranges); scalar positions drop their dimension', true, (cx, args) => {
  const [x, ...index] = tensors('subset', args);
  const { positions, dropped } = indexPositions('subset', x.shape, index, false);
  if (x.shape.length === 0) return x;
  const picked = E.select(cx, x, positions);
  return dropped.includes(true) ? E.reshape(cx, picked, picked.shape.filter((_, i) => !dropped[i])) : picked;
});

define('assignSubset', [3, Infinity], 'A[i, j, …] = v: A with the elements at 1-based positions replaced by v; assigning past the end enlarges A with zeros', true, (cx, args) => {
  const [current, value, ...index] = tensors('assignSubset', args);
  const { positions } = indexPositions('assignSubset', current.shape, index, true);
  if (current.shape.length === 0) return E.reshape(cx, value, []);
  let target = current;
  const grown = current.shape.map((d, i) => Math.max(d, ...Array.from(positions[i], (p) => p + 1)));
  if (grown.some((d, i) => d !== current.shape[i])) target = E.selectAdd(cx, current, current.shape.map((d) => E.range(0, d)), grown);
  const gridShape = positions.map((p) => p.length);
  const fitted = E.sizeOf(value.shape) === E.sizeOf(gridShape) ? E.reshape(cx, value, gridShape) : value;
  return E.assign(cx, target, fitted, positions);
});

// Randomness (SPEC.md section 5): draws come from the request's seeded generator.
define('rand', [0, Infinity], 'uniform draws in (0, 1): rand() one, rand(m, n) or rand([m, n]) a tensor', false, (cx, args) => randomGenerator(cx, 'rand').uniform(cx, args.length === 0 ? [] : sizes('rand', args)));
define('randn', [0, Infinity], 'standard normal draws: randn() one, randn(m, n) or randn([m, n]) a tensor', false, (cx, args) => randomGenerator(cx, 'randn').normal(cx, args.length === 0 ? [] : sizes('randn', args)));

function randomGenerator(cx: Context, fn: string): NonNullable<Context['random']> {
  if (cx.random === null) throw invalid(fn, 'this evaluation has no random generator');
  return cx.random;
}

for (const family of D.families) {
  const names = family.params.map((p) => (p.default === undefined ? p.name : `${p.name} = ${p.default}`)).join(', ');
  const required = family.params.filter((p) => p.default === undefined).length;
  define(family.name, [required, family.params.length], `distribution ${family.name}(${names}): ${family.description}`, true, (cx, args) =>
    D.makeDistribution(cx, family, tensors(family.name, args)),
  );
}

/** The number of draws, when given: rsample(d, n). */
const drawCount = (fn: string, args: readonly LangValue[]): number | undefined => (args.length > 1 ? integer(fn, args, 1, 'the number of draws') : undefined);
define('rsample', [1, 2], 'a reparameterised draw from a distribution, rsample(d), or n of them stacked first, rsample(d, n): its gradient reaches the parameters', true, (cx, args) =>
  D.rsample(cx, distribution('rsample', args, 0), drawCount('rsample', args)),
);
define('sample', [1, 2], 'a draw from a distribution, sample(d) or sample(d, n), with no gradient (see /v1/sample\'s score-function estimator)', false, (cx, args) =>
  D.sample(cx, distribution('sample', args, 0), drawCount('sample', args)),
);
define('log_prob', 2, 'log_prob(d, x): the log density (or mass) of x under the distribution d', true, (cx, args) => D.logProb(cx, distribution('log_prob', args, 0), tensor('log_prob', args, 1)));
define('entropy', 1, 'the entropy of a distribution', true, (cx, args) => D.entropy(cx, distribution('entropy', args, 0)));
define('kl', 2, 'kl(p, q): the Kullback-Leibler divergence of q from p, in closed form', true, (cx, args) => D.kl(cx, distribution('kl', args, 0), distribution('kl', args, 1)));

// mean(d) and variance(d) of a distribution, beside mean and variance of a tensor's elements.
for (const [name, formula] of [
  ['mean', D.mean],
  ['variance', D.variance],
] as const) {
  const elements = entries.get(name)!;
  entries.set(name, {
    name,
    arity: elements.arity,
    differentiable: elements.differentiable,
    description: `${elements.description}; of a distribution d, ${name}(d)`,
    call: (cx, args) => {
      if (!(args[0] instanceof Distribution)) return elements.call(cx, args);
      if (args.length > 1) throw invalid(name, `${name}(d) of a distribution takes no other argument`);
      return formula(cx, args[0]);
    },
  });
}

function constant(cx: Context, fn: string, shape: number[], value: number): Tensor {
  const out = cx.alloc(fn, shape);
  if (value !== 0) out.data.fill(value);
  return out;
}

/** Named constants, as mathjs defines them. */
export const constants: Readonly<Record<string, number>> = Object.freeze({
  pi: Math.PI,
  PI: Math.PI,
  e: Math.E,
  E: Math.E,
  tau: 2 * Math.PI,
  phi: (1 + Math.sqrt(5)) / 2,
  Infinity,
  NaN,
  LN2: Math.LN2,
  LN10: Math.LN10,
  LOG2E: Math.LOG2E,
  LOG10E: Math.LOG10E,
  SQRT2: Math.SQRT2,
  SQRT1_2: Math.SQRT1_2,
});

/**
 * mathjs's functions that programs may not call, each with the reason a caller is told (a
 * test walks mathjs's own list: every name is either in the catalogue or here).
 */
const SYMBOLIC = 'it works on expressions symbolically, which a program cannot: POST /v1/derivative gives a symbolic derivative';
const CODE = 'it parses, evaluates or configures code at run time, which a program may not do';
const UNITS = 'physical units are not supported: adjoint computes with plain numbers';
const STRINGS = 'it works with strings, and adjoint programs compute with numbers and tensors';
const NUMBER_TYPES = 'adjoint computes in float64 throughout: there are no BigNumbers, bigints or fractions to convert to';
const COMPLEX = 'it works with complex numbers, which adjoint does not represent';
const CALLBACK = 'it takes a function as an argument, which programs cannot pass: write a `for` loop or an element-wise expression';
const SETS = 'sets are not supported: adjoint values are tensors of numbers';
const BITS = "bitwise operations work on integers' bits, which float64 tensors do not have";
const INTEGERS = 'integer number theory and combinatorics are not supported (no float64 meaning or derivative)';
const RANDOM = 'draw with rand() or randn(), which use the request\'s seed (or rsample(uniform(lo, hi)) for a differentiable draw)';
const OBJECTS = 'it returns several matrices in an object, and programs compute with tensors: for A x = b use solve(A, b), for a determinant det(A)';
const STORAGE = 'adjoint tensors are dense: there is no sparse storage or index object';
const TYPES = 'every value in a program is a number or a tensor of numbers, so there is nothing to test or copy';
const REFUSED: ReadonlyMap<string, string> = new Map([
  ...['derivative', 'simplify', 'simplifyConstant', 'simplifyCore', 'rationalize', 'resolve', 'leafCount', 'symbolicEqual'].map((n) => [n, SYMBOLIC] as const),
  ...['import', 'evaluate', 'parse', 'parser', 'compile', 'help', 'chain', 'config', 'typed', 'reviver', 'replacer'].map((n) => [n, CODE] as const),
  ...['unit', 'createUnit', 'splitUnit', 'to', 'toBest'].map((n) => [n, UNITS] as const),
  ...['string', 'format', 'print', 'bin', 'oct', 'hex', 'compareText', 'equalText', 'compareNatural'].map((n) => [n, STRINGS] as const),
  ...['bignumber', 'bigint', 'fraction', 'num', 'den', 'numeric', 'boolean'].map((n) => [n, NUMBER_TYPES] as const),
  ...['complex', 're', 'im', 'arg', 'conj', 'nthRoots', 'fft', 'ifft', 'freqz', 'zpk2tf', 'polynomialRoot', 'eigs'].map((n) => [n, COMPLEX] as const),
  ...['map', 'forEach', 'filter', 'mapSlices', 'matrixFromFunction', 'solveODE', 'partitionSelect'].map((n) => [n, CALLBACK] as const),
  ...['setCartesian', 'setDifference', 'setDistinct', 'setIntersect', 'setIsSubset', 'setMultiplicity', 'setPowerset', 'setSize', 'setSymDifference', 'setUnion'].map(
    (n) => [n, SETS] as const,
  ),
  ...['bitAnd', 'bitNot', 'bitOr', 'bitXor', 'leftShift', 'rightArithShift', 'rightLogShift'].map((n) => [n, BITS] as const),
  ...['gcd', 'lcm', 'xgcd', 'invmod', 'isPrime', 'bellNumbers', 'catalan', 'composition', 'stirlingS2', 'combinations', 'combinationsWithRep', 'permutations', 'multinomial'].map(
    (n) => [n, INTEGERS] as const,
  ),
  ...['random', 'randomInt', 'pickRandom'].map((n) => [n, RANDOM] as const),
  ...['lup', 'qr', 'slu', 'schur'].map((n) => [n, OBJECTS] as const),
  ...['sparse', 'index', 'getMatrixDataType'].map((n) => [n, STORAGE] as const),
  ...['clone', 'typeOf', 'isNumeric', 'hasNumericValue', 'isBounded', 'nullish', 'equalScalar'].map((n) => [n, TYPES] as const),
  ['lsolve', 'use solve(A, b) (it returns a vector; lsolve returned a column)'],
  ['usolve', 'use solve(A, b) (it returns a vector; usolve returned a column)'],
  ['lusolve', 'use solve(A, b) (it returns a vector; lusolve returned a column)'],
  ['lsolveAll', 'use solve(A, b): adjoint solves square, non-singular systems'],
  ['usolveAll', 'use solve(A, b): adjoint solves square, non-singular systems'],
  ['factorial', 'not implemented: write exp(lgamma(n + 1)), which is differentiable (gamma(…) here is the gamma distribution)'],
  ['erf', 'not implemented: adjoint has no erf primitive yet (log_prob(normal(mu, sigma), x) gives Gaussian densities)'],
  ['zeta', 'not implemented: the Riemann zeta function has no primitive in adjoint'],
  ['kldivergence', 'use kl(p, q) of two distributions, or sum(p .* log(p ./ q)) for two probability vectors'],
  ['compare', 'use sign(x - y) (mathjs also treats nearly equal numbers as equal)'],
  ['deepEqual', 'use all-elements equality: sum(x != y) == 0'],
  ['mode', 'not implemented: the most frequent value has no derivative (sort(x) and diff(x) find repeats)'],
  ['corr', 'not implemented: write the correlation with mean, sum and sqrt'],
  ['distance', 'not implemented: the distance between two points p and q is norm(p - q)'],
  ['intersect', 'not implemented: intersect lines by solve(A, b)'],
  ['expm', 'not implemented: the matrix exponential has no primitive in adjoint'],
  ['sqrtm', 'not implemented: the matrix square root has no primitive in adjoint'],
  ['pinv', 'not implemented: for a full-rank A, write inv(A\' * A) * A\''],
  ['sylvester', 'not implemented: solve A X + X B = C as a linear system with kron and solve'],
  ['lyap', 'not implemented: solve A P + P A\' = Q as a linear system with kron and solve'],
  ['resize', 'not implemented: build the tensor with zeros(…) and index assignment'],
  ['rotate', 'not implemented: multiply by a rotation matrix built from cos and sin'],
  ['rotationMatrix', 'not implemented: build [cos(t), -sin(t); sin(t), cos(t)]'],
  ['matrixFromRows', 'use a matrix literal [r1; r2] or concat(r1, r2, 1) of 1×n rows'],
  ['matrixFromColumns', "use a matrix literal [c1, c2]' or concat(c1, c2, 2) of n×1 columns"],
]);

/**
 * Functions added for mathjs's numeric library (issue 14) whose names are common words for a
 * program's own variables and functions (`diff = y - x`, `count(n) = …`): a program may define
 * its own under these names, as mathjs lets it, so programs written before they existed still run.
 */
const SHADOWABLE = new Set([
  'cumsum', 'cumprod', 'diff', 'sort', 'median', 'quantileSeq', 'range', 'kron', 'cross', 'hypot', 'nthRoot', 'matrix', 'mad', 'count', 'row', 'column',
  'sec', 'csc', 'cot', 'asec', 'acsc', 'acot', 'asinh', 'acosh', 'atanh', 'sech', 'csch', 'coth', 'asech', 'acsch', 'acoth',
  'isNaN', 'isFinite', 'isNegative', 'isPositive', 'isZero', 'isInteger', 'number', 'addScalar', 'subtractScalar', 'multiplyScalar', 'divideScalar',
]);

/** Whether a program may define a variable or function of its own under a catalogue function's name. */
export function mayShadow(name: string): boolean {
  return SHADOWABLE.has(name);
}

export function isBlocked(name: string): boolean {
  return REFUSED.has(name);
}

/** Why a mathjs function is not available in programs, or undefined for a name that is not one. */
export function refusal(name: string): string | undefined {
  return REFUSED.get(name);
}

/** Every refused name, for tests and docs. */
export function refusedNames(): readonly string[] {
  return [...REFUSED.keys()];
}

export function functionNamed(name: string): FunctionEntry | undefined {
  return entries.get(name);
}

/** Every function, for `GET /v1/functions`. */
export function catalogue(): readonly FunctionEntry[] {
  return [...entries.values()];
}

/** Function and constant names, for "did you mean …?". */
export function knownNames(): string[] {
  return [...entries.keys(), ...Object.keys(constants)];
}
