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
  if (d < 1 || d > Math.max(rank, 1)) throw invalid(fn, `dimension ${d} does not exist for a tensor of rank ${rank}`);
  return d - 1;
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
  ['softplus', E.softplus, 'log(1 + e^x), as PyTorch (x above 20 passes through)', true],
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
  return E.crossEntropy(cx, logits, E.sub(cx, concrete(targets), 1), reduction);
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
define('dot', 2, 'the dot product of two vectors', true, (cx, args) => E.dot(cx, tensor('dot', args, 0), tensor('dot', args, 1)));
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
define('squeeze', 1, 'x without its dimensions of size 1', true, (cx, args) => {
  const x = tensor('squeeze', args, 0);
  return E.reshape(cx, x, x.shape.filter((d) => d !== 1));
});
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
  if (rank(x) === 1) return E.mul(cx, E.unsqueeze(cx, x, 1), E.identity(x.shape[0]));
  if (rank(x) === 2) {
    const n = Math.min(x.shape[0], x.shape[1]);
    const index = Tensor.fromArray([n, 1], E.range(0, n));
    const rows = x.shape[0] > n ? E.select(cx, x, [E.range(0, n), E.range(0, x.shape[1])]) : x;
    return E.reshape(cx, E.takeAlong(cx, rows, 1, index), [n]);
  }
  throw new ProgramError('SHAPE_MISMATCH', `diag: needs a vector or a matrix, got shape ${formatShape(x.shape)}`);
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
  define(family.name, [required, family.params.length], `the ${family.description} distribution, ${family.name}(${names})`, true, (cx, args) =>
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

/** mathjs functions that programs may not call: they evaluate code, define units or need callbacks. */
const BLOCKED = new Set([
  'import', 'evaluate', 'parse', 'compile', 'createUnit', 'unit', 'simplify', 'derivative', 'rationalize', 'resolve', 'help', 'chain',
  'config', 'typed', 'print', 'format', 'string', 'bignumber', 'fraction', 'complex', 'map', 'forEach', 'filter', 'reviver', 'replacer',
]);

export function isBlocked(name: string): boolean {
  return BLOCKED.has(name);
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
