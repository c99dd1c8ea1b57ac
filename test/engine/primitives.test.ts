/**
 * Every exported op of the engine, one table row per case: its value against a closed form in
 * plain JavaScript; its JVP against its VJP (<v, J u> = <Jᵀv, u> for seeded random u, v); both
 * against central differences; gradient shapes under broadcasting; NaN and ±Infinity through
 * element-wise values; and PyTorch's subgradients at kinks.
 */
import t, { type Test } from 'tap';
import {
  Context,
  Tensor,
  grad,
  abs,
  acos,
  add,
  and,
  argExtreme,
  asin,
  assign,
  atan,
  atan2,
  binaryCrossEntropy,
  cbrt,
  clamp,
  concat,
  cos,
  cosh,
  crossEntropy,
  cube,
  det,
  digamma,
  div,
  dot,
  eq,
  exp,
  expand,
  expm1,
  ge,
  gt,
  identity,
  inv,
  isfinite,
  le,
  lgamma,
  log,
  log10,
  log1p,
  log2,
  logSoftmax,
  logsumexp,
  lt,
  matmul,
  matrixPower,
  max,
  maximum,
  mean,
  min,
  minimum,
  mseLoss,
  mul,
  ne,
  neg,
  norm,
  not,
  or,
  permute,
  polygamma,
  pow,
  prod,
  range,
  relu,
  reshape,
  scatterAddAlong,
  select,
  selectAdd,
  sigmoid,
  sign,
  floor,
  ceil,
  round,
  fix,
  sin,
  sinh,
  softmax,
  softplus,
  solve,
  spectralNorm,
  sqrt,
  square,
  stack,
  std,
  stopGradient,
  sub,
  sum,
  sumTo,
  takeAlong,
  tan,
  tanh,
  trace,
  transpose,
  unsqueeze,
  variance,
  where,
  xor,
  type BinaryOp,
  type Fn,
  type Shape,
  type UnaryOp,
} from '../../src/engine/index.js';
import * as elementwiseOps from '../../src/engine/ops/elementwise.js';
import * as mathOps from '../../src/engine/ops/math.js';
import * as reduceOps from '../../src/engine/ops/reduce.js';
import * as shapeOps from '../../src/engine/ops/shape.js';
import * as indexingOps from '../../src/engine/ops/indexing.js';
import * as linalgOps from '../../src/engine/ops/linalg.js';
import * as nnOps from '../../src/engine/ops/nn.js';
import {
  assertClose,
  assertDerivatives,
  assertGradients,
  randomTensor,
  seededRandom,
  toTensor,
  type DerivativeOptions,
  type Tolerance,
} from '../helpers.js';

interface Case {
  /** Starts with the op's exported name; says what is checked and at which argument. */
  name: string;
  f: Fn;
  /** The inputs (numbers or nested arrays); all are differentiated. Constants live in `f`. */
  at: readonly unknown[];
  /** The value by a closed form in plain JavaScript. */
  expected: unknown;
  value?: Tolerance;
  /** Options for the derivative checks; false for ops whose derivative is checked elsewhere. */
  derivatives?: DerivativeOptions | false;
}

function checkCase(t: Test, c: Case): void {
  const at = c.at.map(toTensor);
  assertClose(t, c.f(new Context(), at), c.expected, `${c.name}: value`, c.value);
  if (at.length > 0 && c.derivatives !== false) assertDerivatives(t, c.name, c.f, at, c.derivatives);
}

function runTable(title: string, cases: readonly Case[]): void {
  t.test(title, (t) => {
    for (const c of cases) {
      t.test(c.name, (t) => {
        checkCase(t, c);
        t.end();
      });
    }
    t.end();
  });
}

const show = (xs: unknown): string => JSON.stringify(xs, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
const grid = (...axes: number[][]): Int32Array[] => axes.map((a) => Int32Array.from(a));
const indices = (nested: unknown): Tensor => Tensor.fromNested(nested);

// Plain-JavaScript oracles.
const jsSum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);
const jsMean = (xs: readonly number[]): number => jsSum(xs) / xs.length;
const jsProd = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);
const jsVariance = (xs: readonly number[], unbiased = true): number =>
  jsSum(xs.map((x) => (x - jsMean(xs)) ** 2)) / (unbiased ? xs.length - 1 : xs.length);
const jsLogSumExp = (xs: readonly number[]): number => Math.log(jsSum(xs.map(Math.exp)));
const jsSoftmax = (xs: readonly number[]): number[] => xs.map((x) => Math.exp(x) / jsSum(xs.map(Math.exp)));
const columns = (m: readonly number[][]): number[][] => m[0].map((_, j) => m.map((row) => row[j]));
const jsMatmul = (a: readonly number[][], b: readonly number[][]): number[][] =>
  a.map((row) => b[0].map((_, j) => jsSum(row.map((x, k) => x * b[k][j]))));

/** f applied element by element after NumPy broadcasting, computed from multi-indices. */
function broadcastApply(f: (x: number, y: number) => number, a: Tensor, b: Tensor): Tensor {
  const rank = Math.max(a.rank, b.rank);
  const pad = (s: Shape): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [sa, sb] = [pad(a.shape), pad(b.shape)];
  const shape = sa.map((d, i) => Math.max(d, sb[i]));
  const out = Tensor.zeros(shape);
  const offset = (s: number[], coords: number[]): number => coords.reduce((o, c, i) => o * s[i] + (s[i] === 1 ? 0 : c), 0);
  for (let k = 0; k < out.size; k++) {
    const coords: number[] = [];
    let rest = k;
    for (let i = rank - 1; i >= 0; i--) {
      coords.unshift(rest % shape[i]);
      rest = Math.floor(rest / shape[i]);
    }
    out.data[k] = f(a.data[offset(sa, coords)], b.data[offset(sb, coords)]);
  }
  return out;
}

// Element-wise ops: name, op, closed form and inputs in the op's domain, away from kinks.
type UnaryRow = [string, UnaryOp, (x: number) => number, number[]];
const unaryRows: UnaryRow[] = [
  ['neg', neg, (x) => -x, [-1.5, 0.3, 2]],
  ['abs', abs, Math.abs, [-1.5, 0.3, 2]],
  ['sign', sign, Math.sign, [-1.5, 0.3, 2]],
  ['floor', floor, Math.floor, [-1.5, 0.3, 2.7]],
  ['ceil', ceil, Math.ceil, [-1.5, 0.3, 2.7]],
  ['round', round, Math.round, [-2.6, -1.4, 0.3, 2.6]],
  ['fix', fix, Math.trunc, [-1.7, 0.3, 2.7]],
  ['sqrt', sqrt, Math.sqrt, [0.25, 1, 2.5]],
  ['cbrt', cbrt, Math.cbrt, [-8, -0.5, 0.3, 27]],
  ['square', square, (x) => x * x, [-1.5, 0.3, 2]],
  ['cube', cube, (x) => x ** 3, [-1.5, 0.3, 2]],
  ['exp', exp, Math.exp, [-2, 0.3, 1.5]],
  ['expm1', expm1, Math.expm1, [-2, 1e-9, 1.5]],
  ['log', log, Math.log, [0.2, 1, 3.5]],
  ['log1p', log1p, Math.log1p, [-0.5, 1e-10, 3.5]],
  ['log2', log2, Math.log2, [0.2, 1, 8]],
  ['log10', log10, Math.log10, [0.2, 1, 1000]],
  ['sin', sin, Math.sin, [-1.2, 0.3, 2.5]],
  ['cos', cos, Math.cos, [-1.2, 0.3, 2.5]],
  ['tan', tan, Math.tan, [-1.2, 0.3, 1]],
  ['asin', asin, Math.asin, [-0.9, -0.2, 0.5, 0.8]],
  ['acos', acos, Math.acos, [-0.9, -0.2, 0.5, 0.8]],
  ['atan', atan, Math.atan, [-3, 0.3, 2]],
  ['sinh', sinh, Math.sinh, [-2, 0.3, 1.5]],
  ['cosh', cosh, Math.cosh, [-2, 0.3, 1.5]],
  ['tanh', tanh, Math.tanh, [-2, 0.3, 1.5]],
  ['sigmoid', sigmoid, (x) => 1 / (1 + Math.exp(-x)), [-30, -2, 0, 1.5, 40]],
  ['relu', relu, (x) => Math.max(x, 0), [-1.5, 0.3, 2]],
  ['softplus', softplus, (x) => Math.log1p(Math.exp(x)), [-3, 0, 1.5, 25]],
  // mathjs's truthiness: 0 and NaN are false.
  ['not', not, (x) => (x ? 0 : 1), [0, 1, -2, 0.5]],
  ['isfinite', isfinite, (x) => (Number.isFinite(x) ? 1 : 0), [-1.5, 0.3, 2]],
];

type BinaryRow = [string, BinaryOp, (x: number, y: number) => number, number[], number[], DerivativeOptions?];
// Comparisons are given ties on purpose, where central differences of a step are not its derivative.
const atTies: DerivativeOptions = { finiteDifferences: false };
const binaryRows: BinaryRow[] = [
  ['add', add, (x, y) => x + y, [1, -2, 3], [0.5, 4, -1.5]],
  ['sub', sub, (x, y) => x - y, [1, -2, 3], [0.5, 4, -1.5]],
  ['mul', mul, (x, y) => x * y, [1, -2, 3], [0.5, 4, -1.5]],
  ['div', div, (x, y) => x / y, [1, -2, 3], [0.5, 4, -1.5]],
  ['pow', pow, Math.pow, [0.5, 1.5, 2], [-1.3, 0.5, 3]],
  ['atan2', atan2, Math.atan2, [1, -2, 0.5, -0.3], [-1, 3, 0.2, -2]],
  ['maximum', maximum, Math.max, [1, -2, 3], [0.5, 4, -1.5]],
  ['minimum', minimum, Math.min, [1, -2, 3], [0.5, 4, -1.5]],
  ['lt', lt, (x, y) => (x < y ? 1 : 0), [1, 2, 3], [1, 3, 2], atTies],
  ['le', le, (x, y) => (x <= y ? 1 : 0), [1, 2, 3], [1, 3, 2], atTies],
  ['gt', gt, (x, y) => (x > y ? 1 : 0), [1, 2, 3], [1, 3, 2], atTies],
  ['ge', ge, (x, y) => (x >= y ? 1 : 0), [1, 2, 3], [1, 3, 2], atTies],
  ['eq', eq, (x, y) => (x === y ? 1 : 0), [1, 2, 3], [1, 3, 2], atTies],
  ['ne', ne, (x, y) => (x !== y ? 1 : 0), [1, 2, 3], [1, 3, 2], atTies],
  ['and', and, (x, y) => (x && y ? 1 : 0), [0, 1, 0, 2], [0, 0, 3, -1]],
  ['or', or, (x, y) => (x || y ? 1 : 0), [0, 1, 0, 2], [0, 0, 3, -1]],
  ['xor', xor, (x, y) => (Boolean(x) !== Boolean(y) ? 1 : 0), [0, 1, 0, 2], [0, 0, 3, -1]],
];

const EULER_GAMMA = 0.5772156649015329;
const ZETA3 = 1.2020569031595942;

const elementwiseCases: Case[] = [
  ...unaryRows.map(([name, op, closedForm, xs]): Case => ({
    name: `${name}(${show(xs)})`,
    f: (cx, [x]) => op(cx, x),
    at: [xs],
    expected: xs.map(closedForm),
  })),
  ...binaryRows.map(([name, op, closedForm, a, b, derivatives]): Case => ({
    name: `${name}(${show(a)}, ${show(b)})`,
    f: (cx, [x, y]) => op(cx, x, y),
    at: [a, b],
    expected: a.map((x, i) => closedForm(x, b[i])),
    derivatives,
  })),
  {
    name: 'add(x, 2) with a plain number operand',
    f: (cx, [x]) => add(cx, x, 2),
    at: [[1, -2]],
    expected: [3, 0],
  },
  {
    name: 'lgamma at known values: Γ(1/2) = √π, Γ(n) = (n-1)!, Γ(-1/2) = -2√π',
    f: (cx, [x]) => lgamma(cx, x),
    at: [[0.5, 1, 2, 3, 5, 10, -0.5, 100]],
    expected: [
      Math.log(Math.sqrt(Math.PI)),
      0,
      0,
      Math.log(2),
      Math.log(24),
      Math.log(362880),
      Math.log(2 * Math.sqrt(Math.PI)),
      359.1342053695754,
    ],
  },
  {
    name: 'digamma at known values: ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2, ψ(n+1) = ψ(n) + 1/n, ψ(-1/2) = ψ(3/2)',
    f: (cx, [x]) => digamma(cx, x),
    at: [[1, 0.5, 2, 3, -0.5]],
    expected: [-EULER_GAMMA, -EULER_GAMMA - 2 * Math.LN2, 1 - EULER_GAMMA, 1.5 - EULER_GAMMA, 2 - EULER_GAMMA - 2 * Math.LN2],
  },
  {
    name: 'polygamma(1) at known values: ψ′(1) = π²/6, ψ′(1/2) = π²/2, ψ′(2) = π²/6 - 1',
    f: (cx, [x]) => polygamma(cx, 1, x),
    at: [[1, 0.5, 2]],
    expected: [Math.PI ** 2 / 6, Math.PI ** 2 / 2, Math.PI ** 2 / 6 - 1],
  },
  {
    name: 'polygamma(2) at known values: ψ″(1) = -2ζ(3), ψ″(1/2) = -14ζ(3)',
    f: (cx, [x]) => polygamma(cx, 2, x),
    at: [[1, 0.5]],
    expected: [-2 * ZETA3, -14 * ZETA3],
  },
  {
    name: 'polygamma(3) at known values: ψ‴(1) = π⁴/15, ψ‴(1/2) = π⁴',
    f: (cx, [x]) => polygamma(cx, 3, x),
    at: [[1, 0.5]],
    expected: [Math.PI ** 4 / 15, Math.PI ** 4],
  },
  {
    name: 'where(c, a, b) picks a where c is nonzero',
    f: (cx, [a, b]) => where(cx, Tensor.fromNested([1, 0, 2, 0]), a, b),
    at: [[1, 2, 3, 4], [-1, -2, -3, -4]],
    expected: [1, -2, 3, -4],
  },
  {
    name: 'clamp(x, -1, 1) inside and outside the bounds',
    f: (cx, [x]) => clamp(cx, x, -1, 1),
    at: [[-3, -0.5, 0.25, 2]],
    expected: [-1, -0.5, 0.25, 1],
  },
  {
    name: 'clamp(x, lo, hi) with tensor bounds, all three differentiated',
    f: (cx, [x, lo, hi]) => clamp(cx, x, lo, hi),
    at: [
      [-3, -0.5, 0.25, 2],
      [-1, -1, 0, 0],
      [1, 1, 0.5, 1.5],
    ],
    expected: [-1, -0.5, 0.25, 1.5],
  },
  {
    name: 'stopGradient(x) has the value of x',
    f: (cx, [x]) => stopGradient(cx, x),
    at: [[1, -2, 3]],
    expected: [1, -2, 3],
    // Its derivative is zero by definition, not the finite differences of its value; see below.
    derivatives: atTies,
  },
];

// Broadcasting: every binary op on pairs of shapes, inputs drawn in [0.5, 2] (away from ties).
const broadcastPairs: [Shape, Shape][] = [
  [[3, 1], [1, 4]],
  [[], [2, 3]],
  [[2, 3], []],
  [[2, 3], [3]],
  [[3], [2, 3]],
  [[2, 1, 3], [4, 1]],
];
const draws = seededRandom(20240611);
const broadcastingCases: Case[] = [
  ...binaryRows.flatMap(([name, op, closedForm]) =>
    broadcastPairs.map(([sa, sb]): Case => {
      const a = randomTensor(draws, sa, 0.5, 2);
      const b = randomTensor(draws, sb, 0.5, 2);
      return {
        name: `${name} of shapes ${show(sa)} and ${show(sb)}`,
        f: (cx, [x, y]) => op(cx, x, y),
        at: [a, b],
        expected: broadcastApply(closedForm, a, b),
      };
    }),
  ),
  {
    name: 'where broadcasting a [3, 1] condition, [1, 4] and [] branches',
    f: (cx, [a, b]) => where(cx, Tensor.fromNested([[1], [0], [1]]), a, b),
    at: [[[1, 2, 3, 4]], 9],
    expected: [
      [1, 2, 3, 4],
      [9, 9, 9, 9],
      [1, 2, 3, 4],
    ],
  },
  {
    name: 'clamp of [2, 3] between bounds of shapes [3] and [2, 1]',
    f: (cx, [x, lo, hi]) => clamp(cx, x, lo, hi),
    at: [
      [
        [-2, 0.5, 3],
        [0.25, -0.5, 1.5],
      ],
      [-1, 0, 0.75],
      [[2], [1]],
    ],
    expected: [
      [-1, 0.5, 2],
      [0.25, 0, 1],
    ],
  },
];

// Reductions over all elements and along axes.
const X = [
  [1, -2, 3],
  [0.5, 4, -1.5],
];
const Y = [
  [
    [1, 2],
    [3, -1],
    [0.5, 2.5],
  ],
  [
    [-2, 1.5],
    [4, 0.25],
    [-0.5, 3],
  ],
];
const reductionCases: Case[] = [
  { name: 'sum of all elements of a 2×3 matrix', f: (cx, [x]) => sum(cx, x), at: [X], expected: jsSum(X.flat()) },
  { name: 'sum along axis 0', f: (cx, [x]) => sum(cx, x, [0]), at: [X], expected: columns(X).map(jsSum) },
  { name: 'sum along axis 1, keeping it', f: (cx, [x]) => sum(cx, x, [1], true), at: [X], expected: X.map((r) => [jsSum(r)]) },
  {
    name: 'sum along the middle axis of a 2×3×2 tensor',
    f: (cx, [y]) => sum(cx, y, [1]),
    at: [Y],
    expected: Y.map((plane) => columns(plane).map(jsSum)),
  },
  {
    name: 'sum along axes 0 and 2 of a 2×3×2 tensor',
    f: (cx, [y]) => sum(cx, y, [0, 2]),
    at: [Y],
    expected: [0, 1, 2].map((j) => jsSum(Y.flatMap((plane) => plane[j]))),
  },
  { name: 'mean of all elements', f: (cx, [x]) => mean(cx, x), at: [X], expected: jsMean(X.flat()) },
  { name: 'mean along axis 1', f: (cx, [x]) => mean(cx, x, [1]), at: [X], expected: X.map(jsMean) },
  { name: 'prod of all elements', f: (cx, [x]) => prod(cx, x), at: [X], expected: jsProd(X.flat()) },
  { name: 'prod along axis 0', f: (cx, [x]) => prod(cx, x, 0), at: [X], expected: columns(X).map(jsProd) },
  { name: 'prod along axis 1', f: (cx, [x]) => prod(cx, x, 1), at: [X], expected: X.map(jsProd) },
  {
    name: 'prod along the middle axis of a 2×3×2 tensor',
    f: (cx, [y]) => prod(cx, y, 1),
    at: [Y],
    expected: Y.map((plane) => columns(plane).map(jsProd)),
  },
  { name: 'max of all elements', f: (cx, [x]) => max(cx, x), at: [X], expected: Math.max(...X.flat()) },
  { name: 'max along axis 0', f: (cx, [x]) => max(cx, x, 0), at: [X], expected: columns(X).map((c) => Math.max(...c)) },
  { name: 'max along axis 1, keeping it', f: (cx, [x]) => max(cx, x, 1, true), at: [X], expected: X.map((r) => [Math.max(...r)]) },
  { name: 'min of all elements', f: (cx, [x]) => min(cx, x), at: [X], expected: Math.min(...X.flat()) },
  { name: 'min along axis 1', f: (cx, [x]) => min(cx, x, 1), at: [X], expected: X.map((r) => Math.min(...r)) },
  { name: 'variance (unbiased) of all elements', f: (cx, [x]) => variance(cx, x), at: [X], expected: jsVariance(X.flat()) },
  {
    name: 'variance (biased) along axis 0',
    f: (cx, [x]) => variance(cx, x, [0], false),
    at: [X],
    expected: columns(X).map((c) => jsVariance(c, false)),
  },
  { name: 'std (unbiased) of all elements', f: (cx, [x]) => std(cx, x), at: [X], expected: Math.sqrt(jsVariance(X.flat())) },
  { name: 'std along axis 1', f: (cx, [x]) => std(cx, x, [1]), at: [X], expected: X.map((r) => Math.sqrt(jsVariance(r))) },
  { name: 'norm (2-norm) of a vector', f: (cx, [x]) => norm(cx, x), at: [[3, -4, 12]], expected: 13 },
  { name: 'norm (Frobenius) of a matrix', f: (cx, [x]) => norm(cx, x, 'fro'), at: [X], expected: Math.hypot(...X.flat()) },
  { name: 'norm with p = 1', f: (cx, [x]) => norm(cx, x, 1), at: [X], expected: jsSum(X.flat().map(Math.abs)) },
  { name: 'norm with p = Infinity', f: (cx, [x]) => norm(cx, x, Infinity), at: [X], expected: 4 },
  { name: 'norm with p = -Infinity', f: (cx, [x]) => norm(cx, x, -Infinity), at: [X], expected: 0.5 },
  {
    name: 'norm with p = 3',
    f: (cx, [x]) => norm(cx, x, 3),
    at: [X],
    expected: jsSum(X.flat().map((x) => Math.abs(x) ** 3)) ** (1 / 3),
  },
  { name: 'logsumexp of all elements', f: (cx, [x]) => logsumexp(cx, x), at: [X], expected: jsLogSumExp(X.flat()) },
  { name: 'logsumexp along axis 1', f: (cx, [x]) => logsumexp(cx, x, [1]), at: [X], expected: X.map(jsLogSumExp) },
  {
    name: 'logsumexp along axis 0, keeping it',
    f: (cx, [x]) => logsumexp(cx, x, [0], true),
    at: [X],
    expected: [columns(X).map(jsLogSumExp)],
  },
];

// Shape and indexing ops.
const shapeCases: Case[] = [
  {
    name: 'reshape [2, 3] to [3, 2] keeps row-major order',
    f: (cx, [x]) => reshape(cx, x, [3, 2]),
    at: [X],
    expected: [
      [1, -2],
      [3, 0.5],
      [4, -1.5],
    ],
  },
  { name: 'reshape [2, 3] to [6]', f: (cx, [x]) => reshape(cx, x, [6]), at: [X], expected: X.flat() },
  { name: 'unsqueeze [2, 3] at axis 1', f: (cx, [x]) => unsqueeze(cx, x, 1), at: [X], expected: X.map((r) => [r]) },
  {
    name: 'expand [3, 1] to [3, 4]',
    f: (cx, [x]) => expand(cx, x, [3, 4]),
    at: [[[1], [2], [3]]],
    expected: [1, 2, 3].map((v) => [v, v, v, v]),
  },
  { name: 'expand [3] to [2, 3]', f: (cx, [x]) => expand(cx, x, [2, 3]), at: [[1, 2, 3]], expected: [[1, 2, 3], [1, 2, 3]] },
  { name: 'sumTo [2, 3] to [1, 3]', f: (cx, [x]) => sumTo(cx, x, [1, 3]), at: [X], expected: [columns(X).map(jsSum)] },
  { name: 'sumTo [2, 3] to [3]', f: (cx, [x]) => sumTo(cx, x, [3]), at: [X], expected: columns(X).map(jsSum) },
  { name: 'sumTo [2, 3] to [2, 1]', f: (cx, [x]) => sumTo(cx, x, [2, 1]), at: [X], expected: X.map((r) => [jsSum(r)]) },
  { name: 'sumTo [2, 3] to []', f: (cx, [x]) => sumTo(cx, x, []), at: [X], expected: jsSum(X.flat()) },
  {
    name: 'permute [2, 3, 2] by [2, 0, 1]: out[a][b][c] = y[b][c][a]',
    f: (cx, [y]) => permute(cx, y, [2, 0, 1]),
    at: [Y],
    expected: [0, 1].map((a) => [0, 1].map((b) => [0, 1, 2].map((c) => Y[b][c][a]))),
  },
  { name: 'transpose of a 2×3 matrix', f: (cx, [x]) => transpose(cx, x), at: [X], expected: columns(X) },
  { name: 'transpose of a batch swaps the last two axes', f: (cx, [y]) => transpose(cx, y), at: [Y], expected: Y.map(columns) },
  { name: 'transpose of a vector is the vector', f: (cx, [x]) => transpose(cx, x), at: [[1, 2, 3]], expected: [1, 2, 3] },
  {
    name: 'select rows [1, 0] and columns [2, 2, 0], repeating one',
    f: (cx, [x]) => select(cx, x, grid([1, 0], [2, 2, 0])),
    at: [X],
    expected: [1, 0].map((i) => [2, 2, 0].map((j) => X[i][j])),
  },
  {
    name: 'selectAdd of a 2×3 grid into [3, 4], repeated indices accumulating',
    f: (cx, [g]) => selectAdd(cx, g, grid([2, 0], [1, 1, 3]), [3, 4]),
    at: [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ],
    expected: [
      [0, 9, 0, 6],
      [0, 0, 0, 0],
      [0, 3, 0, 3],
    ],
  },
  {
    name: 'assign a 1×2 block into row 0, columns 0 and 2',
    f: (cx, [x, v]) => assign(cx, x, v, grid([0], [0, 2])),
    at: [X, [[10, 20]]],
    expected: [
      [10, -2, 20],
      [0.5, 4, -1.5],
    ],
  },
  {
    name: 'assign a scalar broadcast over row 1',
    f: (cx, [x, v]) => assign(cx, x, v, grid([1], [0, 1, 2])),
    at: [X, 7],
    expected: [
      [1, -2, 3],
      [7, 7, 7],
    ],
  },
  {
    name: 'takeAlong axis 1 with index [[2, 0], [1, 1]]',
    f: (cx, [x]) => takeAlong(cx, x, 1, indices([[2, 0], [1, 1]])),
    at: [X],
    expected: [
      [3, 1],
      [4, 4],
    ],
  },
  {
    name: 'takeAlong axis 0 with index [[1, 0, 1]]',
    f: (cx, [x]) => takeAlong(cx, x, 0, indices([[1, 0, 1]])),
    at: [X],
    expected: [[0.5, -2, -1.5]],
  },
  {
    name: 'scatterAddAlong axis 1 into [2, 3], repeated indices accumulating',
    f: (cx, [g]) => scatterAddAlong(cx, g, 1, indices([[2, 0], [1, 1]]), [2, 3]),
    at: [
      [
        [1, 2],
        [3, 4],
      ],
    ],
    expected: [
      [2, 0, 1],
      [0, 7, 0],
    ],
  },
  {
    name: 'concat along axis 1 of [2, 3] and [2, 1]',
    f: (cx, [x, y]) => concat(cx, [x, y], 1),
    at: [X, [[7], [8]]],
    expected: X.map((r, i) => [...r, 7 + i]),
  },
  {
    name: 'concat along axis 0 of three matrices',
    f: (cx, [x, y, z]) => concat(cx, [x, y, z], 0),
    at: [X, [[9, 9, 9]], X],
    expected: [...X, [9, 9, 9], ...X],
  },
  {
    name: 'stack of three vectors along axis 0',
    f: (cx, [a, b, c]) => stack(cx, [a, b, c], 0),
    at: [[1, 2], [3, 4], [5, 6]],
    expected: [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  },
  {
    name: 'stack of three vectors along axis 1',
    f: (cx, [a, b, c]) => stack(cx, [a, b, c], 1),
    at: [[1, 2], [3, 4], [5, 6]],
    expected: [
      [1, 3, 5],
      [2, 4, 6],
    ],
  },
  {
    name: 'stack of two matrices along a new last axis',
    f: (cx, [a, b]) => stack(cx, [a, b], 2),
    at: [X, X.map((r) => r.map((v) => 10 * v))],
    expected: X.map((r) => r.map((v) => [v, 10 * v])),
  },
];

// Linear algebra.
const B = [
  [1, 2],
  [0, -1],
  [3, 0.5],
];
const A2 = [
  [2, 1],
  [1, 3],
];
// Its first pivot is zero, so LU must pivot; det = -2 and the inverse is known.
const A3 = [
  [0, 1, 2],
  [1, 0, 3],
  [4, -3, 8],
];
const A3inv = [
  [-4.5, 7, -1.5],
  [-2, 4, -1],
  [1.5, -2, 0.5],
];
const batchA = [X, X.map((r) => r.map((v) => v - 1))];
const linalgCases: Case[] = [
  { name: 'matmul of [2, 3] and [3, 2]', f: (cx, [a, b]) => matmul(cx, a, b), at: [X, B], expected: jsMatmul(X, B) },
  { name: 'matmul of a vector and a matrix', f: (cx, [v, m]) => matmul(cx, v, m), at: [[1, 2], X], expected: jsMatmul([[1, 2]], X)[0] },
  {
    name: 'matmul of a matrix and a vector',
    f: (cx, [m, v]) => matmul(cx, m, v),
    at: [X, [1, 0.5, -1]],
    expected: jsMatmul(X, [[1], [0.5], [-1]]).map((r) => r[0]),
  },
  { name: 'matmul of two vectors is their dot product', f: (cx, [u, v]) => matmul(cx, u, v), at: [[1, 2, 3], [4, -5, 6]], expected: 12 },
  {
    name: 'matmul of a batch [2, 2, 3] and a matrix [3, 2]',
    f: (cx, [a, b]) => matmul(cx, a, b),
    at: [batchA, B],
    expected: batchA.map((a) => jsMatmul(a, B)),
  },
  {
    name: 'matmul broadcasting batch axes [2, 1] and [3]',
    f: (cx, [a, b]) => matmul(cx, a, b),
    at: [batchA.map((a) => [a]), [B, B.map((r) => r.map((v) => -v)), B.map((r) => r.map((v) => v * v))]],
    expected: batchA.map((a) => [B, B.map((r) => r.map((v) => -v)), B.map((r) => r.map((v) => v * v))].map((b) => jsMatmul(a, b))),
  },
  { name: 'matrixPower 3 of a 2×2 matrix', f: (cx, [a]) => matrixPower(cx, a, 3), at: [A2], expected: jsMatmul(jsMatmul(A2, A2), A2) },
  { name: 'matrixPower 1 is the matrix', f: (cx, [a]) => matrixPower(cx, a, 1), at: [A2], expected: A2 },
  { name: 'matrixPower 0 is the identity', f: (cx, [a]) => matrixPower(cx, a, 0), at: [A2], expected: [[1, 0], [0, 1]] },
  {
    name: 'matrixPower -2 is the square of the inverse',
    f: (cx, [a]) => matrixPower(cx, a, -2),
    at: [A2],
    // A² = [[5, 5], [5, 10]], det 25.
    expected: [
      [10 / 25, -5 / 25],
      [-5 / 25, 5 / 25],
    ],
  },
  { name: 'identity(3)', f: () => identity(3), at: [], expected: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] },
  { name: 'dot of two vectors', f: (cx, [u, v]) => dot(cx, u, v), at: [[1, 2, 3], [4, -5, 6]], expected: 12 },
  { name: 'trace of a 3×3 matrix', f: (cx, [a]) => trace(cx, a), at: [A3], expected: 8 },
  { name: 'det of a 2×2 matrix is ad - bc', f: (cx, [a]) => det(cx, a), at: [A2], expected: 2 * 3 - 1 * 1 },
  {
    name: 'det of a 3×3 matrix with a zero first pivot',
    f: (cx, [a]) => det(cx, a),
    at: [A3],
    expected: 0 * (0 * 8 - 3 * -3) - 1 * (1 * 8 - 3 * 4) + 2 * (1 * -3 - 0 * 4),
  },
  {
    name: 'inv of a 2×2 matrix is [[d, -b], [-c, a]] / det',
    f: (cx, [a]) => inv(cx, a),
    at: [A2],
    expected: [
      [3 / 5, -1 / 5],
      [-1 / 5, 2 / 5],
    ],
  },
  { name: 'inv of a 3×3 matrix with a zero first pivot', f: (cx, [a]) => inv(cx, a), at: [A3], expected: A3inv },
  { name: 'solve with a vector right-hand side', f: (cx, [a, b]) => solve(cx, a, b), at: [A3, [1, 2, 3]], expected: [5, 3, -1] },
  {
    name: 'solve with a matrix right-hand side',
    f: (cx, [a, b]) => solve(cx, a, b),
    at: [A3, B],
    expected: jsMatmul(A3inv, B),
  },
  {
    name: 'spectralNorm of a 2×2 matrix is its largest singular value',
    f: (cx, [a]) => spectralNorm(cx, a),
    at: [[[1, 2], [3, 4]]],
    // AᵀA = [[10, 14], [14, 20]], whose largest eigenvalue is 15 + √221.
    expected: Math.sqrt(15 + Math.sqrt(221)),
  },
  {
    name: 'spectralNorm of a 2×3 matrix',
    f: (cx, [a]) => spectralNorm(cx, a),
    at: [[[1, 2, 3], [4, 5, 6]]],
    // AAᵀ = [[14, 32], [32, 77]], whose largest eigenvalue is (91 + √8065) / 2.
    expected: Math.sqrt((91 + Math.sqrt(8065)) / 2),
  },
];

// Neural-network functions.
const Z = [
  [1, 2, 3],
  [0.5, -1, 0],
];
const P = [
  [0.2, 0.3, 0.5],
  [1, 0, 0],
];
const logSoftmaxRow = (r: readonly number[]): number[] => r.map((x) => x - jsLogSumExp(r));
const bce = (p: number, y: number): number => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
const nnCases: Case[] = [
  { name: 'softmax along axis 1', f: (cx, [z]) => softmax(cx, z, 1), at: [Z], expected: Z.map(jsSoftmax) },
  { name: 'softmax along axis 0', f: (cx, [z]) => softmax(cx, z, 0), at: [Z], expected: columns(columns(Z).map(jsSoftmax)) },
  { name: 'logSoftmax along axis 1', f: (cx, [z]) => logSoftmax(cx, z, 1), at: [Z], expected: Z.map(logSoftmaxRow) },
  {
    name: 'crossEntropy against class indices [2, 0], mean',
    f: (cx, [z]) => crossEntropy(cx, z, Tensor.fromNested([2, 0])),
    at: [Z],
    expected: -(logSoftmaxRow(Z[0])[2] + logSoftmaxRow(Z[1])[0]) / 2,
  },
  {
    name: 'crossEntropy against class indices, sum',
    f: (cx, [z]) => crossEntropy(cx, z, Tensor.fromNested([2, 0]), 'sum'),
    at: [Z],
    expected: -(logSoftmaxRow(Z[0])[2] + logSoftmaxRow(Z[1])[0]),
  },
  {
    name: 'crossEntropy against class indices, none',
    f: (cx, [z]) => crossEntropy(cx, z, Tensor.fromNested([2, 0]), 'none'),
    at: [Z],
    expected: [-logSoftmaxRow(Z[0])[2], -logSoftmaxRow(Z[1])[0]],
  },
  {
    name: 'crossEntropy of one example (logits [3]) against class 1',
    f: (cx, [z]) => crossEntropy(cx, z, 1),
    at: [Z[0]],
    expected: -logSoftmaxRow(Z[0])[1],
  },
  {
    name: 'crossEntropy against class probabilities, both differentiated',
    f: (cx, [z, p]) => crossEntropy(cx, z, p),
    at: [Z, P],
    expected: jsMean(Z.map((r, i) => -jsSum(logSoftmaxRow(r).map((l, j) => P[i][j] * l)))),
  },
  {
    name: 'crossEntropy of one example (logits [3]) against probabilities [3]',
    f: (cx, [z, p]) => crossEntropy(cx, z, p),
    at: [Z[0], P[0]],
    expected: -jsSum(logSoftmaxRow(Z[0]).map((l, j) => P[0][j] * l)),
  },
  {
    name: 'mseLoss, mean',
    f: (cx, [x, y]) => mseLoss(cx, x, y),
    at: [X, Z],
    expected: jsMean(X.flat().map((x, i) => (x - Z.flat()[i]) ** 2)),
  },
  {
    name: 'mseLoss, sum',
    f: (cx, [x, y]) => mseLoss(cx, x, y, 'sum'),
    at: [X, Z],
    expected: jsSum(X.flat().map((x, i) => (x - Z.flat()[i]) ** 2)),
  },
  {
    name: 'mseLoss, none',
    f: (cx, [x, y]) => mseLoss(cx, x, y, 'none'),
    at: [X, Z],
    expected: X.map((r, i) => r.map((x, j) => (x - Z[i][j]) ** 2)),
  },
  {
    name: 'binaryCrossEntropy, mean, both differentiated',
    f: (cx, [p, y]) => binaryCrossEntropy(cx, p, y),
    at: [[0.2, 0.7, 0.9], [0, 1, 0.5]],
    expected: jsMean([bce(0.2, 0), bce(0.7, 1), bce(0.9, 0.5)]),
  },
  {
    name: 'binaryCrossEntropy, none',
    f: (cx, [p, y]) => binaryCrossEntropy(cx, p, y, 'none'),
    at: [[0.2, 0.7, 0.9], [0, 1, 0.5]],
    expected: [bce(0.2, 0), bce(0.7, 1), bce(0.9, 0.5)],
  },
];

runTable('element-wise ops: values, JVP against VJP, finite differences', elementwiseCases);
runTable('binary ops broadcast: values and gradient shapes', broadcastingCases);
runTable('reductions, all elements and along axes', reductionCases);
runTable('shape and indexing ops', shapeCases);
runTable('linear algebra', linalgCases);
runTable('neural-network functions', nnCases);

// NaN and ±Infinity go through values as IEEE arithmetic (and Math) would have them.
const nonFinite = [NaN, Infinity, -Infinity, 0];
const nonFinitePairs: [number[], number[]] = [
  [NaN, 1, Infinity, -Infinity, Infinity, 0, 2],
  [1, NaN, 2, 2, Infinity, 0, -Infinity],
];
const nonFiniteCases: Case[] = [
  ...unaryRows.map(([name, op, closedForm]): Case => ({
    name: `${name}(${show(nonFinite)})`,
    f: (cx) => op(cx, Tensor.fromNested(nonFinite)),
    at: [],
    expected: nonFinite.map(closedForm),
  })),
  ...binaryRows.map(([name, op, closedForm]): Case => ({
    name: `${name}(${show(nonFinitePairs[0])}, ${show(nonFinitePairs[1])})`,
    f: (cx) => op(cx, Tensor.fromNested(nonFinitePairs[0]), Tensor.fromNested(nonFinitePairs[1])),
    at: [],
    expected: nonFinitePairs[0].map((x, i) => closedForm(x, nonFinitePairs[1][i])),
  })),
  { name: 'lgamma of NaN, ±Infinity and the pole 0', f: (cx) => lgamma(cx, Tensor.fromNested(nonFinite)), at: [], expected: [NaN, Infinity, Infinity, Infinity] },
  { name: 'digamma of NaN, ±Infinity and the pole 0', f: (cx) => digamma(cx, Tensor.fromNested(nonFinite)), at: [], expected: [NaN, Infinity, NaN, -Infinity] },
  { name: 'clamp(NaN, 0, 1) is NaN', f: (cx) => clamp(cx, NaN, 0, 1), at: [], expected: NaN },
  { name: 'where passes NaN from the branch taken', f: (cx) => where(cx, Tensor.fromNested([1, 0]), NaN, Infinity), at: [], expected: [NaN, Infinity] },
  { name: 'stopGradient passes NaN', f: (cx) => stopGradient(cx, NaN), at: [], expected: NaN },
  { name: 'max over [1, NaN, 3] is NaN', f: (cx) => max(cx, Tensor.fromNested([1, NaN, 3])), at: [], expected: NaN },
  { name: 'max over [NaN, 1] is NaN', f: (cx) => max(cx, Tensor.fromNested([NaN, 1])), at: [], expected: NaN },
  { name: 'min over [1, NaN] is NaN', f: (cx) => min(cx, Tensor.fromNested([1, NaN])), at: [], expected: NaN },
  {
    name: 'max along axis 1 is NaN only in the row with a NaN',
    f: (cx) => max(cx, Tensor.fromNested([[1, NaN], [2, 3]]), 1),
    at: [],
    expected: [NaN, 3],
  },
  { name: 'max over [-Infinity, 2] is 2', f: (cx) => max(cx, Tensor.fromNested([-Infinity, 2])), at: [], expected: 2 },
  { name: 'sum over [1, Infinity] is Infinity', f: (cx) => sum(cx, Tensor.fromNested([1, Infinity])), at: [], expected: Infinity },
  { name: 'sum over [Infinity, -Infinity] is NaN', f: (cx) => sum(cx, Tensor.fromNested([Infinity, -Infinity])), at: [], expected: NaN },
  { name: 'mean over [1, NaN] is NaN', f: (cx) => mean(cx, Tensor.fromNested([1, NaN])), at: [], expected: NaN },
  { name: 'prod over [0, Infinity] is NaN', f: (cx) => prod(cx, Tensor.fromNested([0, Infinity])), at: [], expected: NaN },
  { name: 'logsumexp over [1, Infinity] is Infinity', f: (cx) => logsumexp(cx, Tensor.fromNested([1, Infinity])), at: [], expected: Infinity },
  {
    name: 'logsumexp over [-Infinity, -Infinity] is -Infinity',
    f: (cx) => logsumexp(cx, Tensor.fromNested([-Infinity, -Infinity])),
    at: [],
    expected: -Infinity,
  },
  { name: 'logsumexp over [NaN, 1] is NaN', f: (cx) => logsumexp(cx, Tensor.fromNested([NaN, 1])), at: [], expected: NaN },
  { name: 'logsumexp of a scalar is the scalar', f: (cx) => logsumexp(cx, Tensor.scalar(-7.25)), at: [], expected: -7.25 },
  { name: 'logsumexp of the scalar Infinity is Infinity (no axis: the shift is 0)', f: (cx) => logsumexp(cx, Tensor.scalar(Infinity)), at: [], expected: Infinity },
  {
    name: 'logsumexp along rows of -Infinity and of numbers: -Infinity and the rows\' own',
    f: (cx) => logsumexp(cx, Tensor.fromNested([[-Infinity, -Infinity], [1000, 1000]]), [1]),
    at: [],
    expected: [-Infinity, 1000 + Math.LN2],
  },
  {
    name: 'logsumexp over [1000, 1000] does not overflow',
    f: (cx) => logsumexp(cx, Tensor.fromNested([1000, 1000])),
    at: [],
    expected: 1000 + Math.LN2,
  },
  { name: 'softmax of [1000, 1000] does not overflow', f: (cx) => softmax(cx, Tensor.fromNested([1000, 1000]), 0), at: [], expected: [0.5, 0.5] },
  { name: 'softmax of [-Infinity, 0] is [0, 1]', f: (cx) => softmax(cx, Tensor.fromNested([-Infinity, 0]), 0), at: [], expected: [0, 1] },
  { name: 'norm of [3, Infinity] is Infinity', f: (cx) => norm(cx, Tensor.fromNested([3, Infinity])), at: [], expected: Infinity },
  { name: 'norm of [NaN, 1] is NaN', f: (cx) => norm(cx, Tensor.fromNested([NaN, 1])), at: [], expected: NaN },
  { name: 'norm of [1e200, 1e200] does not overflow', f: (cx) => norm(cx, Tensor.fromNested([1e200, 1e200])), at: [], expected: Math.SQRT2 * 1e200 },
  {
    name: 'matmul with NaN and with Infinity times 0',
    f: (cx) => matmul(cx, Tensor.fromNested([[NaN, 0], [Infinity, 1]]), Tensor.fromNested([[1], [0]])),
    at: [],
    expected: [[NaN], [Infinity]],
  },
  { name: 'det of a matrix holding a NaN is NaN', f: (cx) => det(cx, Tensor.fromNested([[NaN, 1], [1, 1]])), at: [], expected: NaN },
  {
    name: 'det of a triangular matrix holding a NaN off the diagonal is NaN',
    f: (cx) => det(cx, Tensor.fromNested([[1, NaN], [0, 1]])),
    at: [],
    expected: NaN,
  },
  {
    name: 'inv of a matrix holding a NaN is NaN, not a singular-matrix error',
    f: (cx) => inv(cx, Tensor.fromNested([[1, 0], [0, NaN]])),
    at: [],
    expected: [[NaN, NaN], [NaN, NaN]],
  },
  {
    name: 'solve with a NaN in the matrix is NaN',
    f: (cx) => solve(cx, Tensor.fromNested([[NaN, 1], [1, 1]]), Tensor.fromNested([1, 2])),
    at: [],
    expected: [NaN, NaN],
  },
  { name: 'sigmoid of -1000 is 0, not NaN', f: (cx) => sigmoid(cx, -1000), at: [], expected: 0 },
  { name: 'softplus of 1000 is 1000, not Infinity', f: (cx) => softplus(cx, 1000), at: [], expected: 1000 },
];
runTable('NaN and ±Infinity through values', nonFiniteCases);

// Kinks and other special points take PyTorch's (sub)gradients, the same in both modes.
interface GradientCase {
  name: string;
  /** A scalar function of the inputs. */
  f: Fn;
  at: readonly unknown[];
  grads: readonly unknown[];
}
const gradientCases: GradientCase[] = [
  { name: "relu'(0) = 0", f: (cx, [x]) => sum(cx, relu(cx, x)), at: [[-1, 0, 2]], grads: [[0, 0, 1]] },
  { name: "abs'(0) = 0", f: (cx, [x]) => sum(cx, abs(cx, x)), at: [[-1, 0, 2]], grads: [[-1, 0, 1]] },
  { name: "sign' = 0, at 0 too", f: (cx, [x]) => sum(cx, sign(cx, x)), at: [[-1, 0, 2]], grads: [[0, 0, 0]] },
  // A scalar: forward mode would multiply the zero tangent of a second element by Infinity.
  { name: "sqrt'(0) = Infinity", f: (cx, [x]) => sqrt(cx, x), at: [0], grads: [Infinity] },
  { name: "softplus'(0) = 1/2", f: (cx, [x]) => softplus(cx, x), at: [0], grads: [0.5] },
  { name: 'max gives the gradient to the first maximal element', f: (cx, [x]) => max(cx, x), at: [[1, 3, 3, 2]], grads: [[0, 1, 0, 0]] },
  {
    name: 'max along axis 1 gives it to the first maximal element of each row',
    f: (cx, [x]) => sum(cx, max(cx, x, 1)),
    at: [[[3, 1, 3], [2, 2, 1]]],
    grads: [[[1, 0, 0], [1, 0, 0]]],
  },
  { name: 'min gives the gradient to the first minimal element', f: (cx, [x]) => min(cx, x), at: [[2, 1, 1, 3]], grads: [[0, 1, 0, 0]] },
  {
    name: 'min along axis 0 gives it to the first minimal element of each column',
    f: (cx, [x]) => sum(cx, min(cx, x, 0)),
    at: [[[1, 2], [1, 0]]],
    grads: [[[1, 0], [0, 1]]],
  },
  {
    name: 'norm with p = Infinity gives the gradient to the first largest |x|',
    f: (cx, [x]) => norm(cx, x, Infinity),
    at: [[-3, 3, 1]],
    grads: [[-1, 0, 0]],
  },
  {
    name: 'maximum splits the gradient in half on ties',
    f: (cx, [a, b]) => sum(cx, maximum(cx, a, b)),
    at: [[1, 2, 3], [1, 5, 0]],
    grads: [[0.5, 0, 1], [0.5, 1, 0]],
  },
  {
    name: 'minimum splits the gradient in half on ties',
    f: (cx, [a, b]) => sum(cx, minimum(cx, a, b)),
    at: [[1, 2, 3], [1, 5, 0]],
    grads: [[0.5, 1, 0], [0.5, 0, 1]],
  },
  {
    name: 'clamp passes the gradient where lo <= x <= hi, bounds included',
    f: (cx, [x]) => sum(cx, clamp(cx, x, 0, 1)),
    at: [[-1, 0, 0.5, 1, 2]],
    grads: [[0, 1, 1, 1, 0]],
  },
  {
    name: 'clamp gives the gradient to lo below it and to hi above it',
    f: (cx, [x, lo, hi]) => sum(cx, clamp(cx, x, lo, hi)),
    at: [[-1, 0, 0.5, 2], [0, 0, 0, 0], [1, 1, 1, 1]],
    grads: [[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
  },
  { name: 'norm at the zero vector has gradient 0', f: (cx, [x]) => norm(cx, x), at: [[0, 0]], grads: [[0, 0]] },
  { name: 'prod with one zero: the product of the others', f: (cx, [x]) => prod(cx, x), at: [[2, 0, 3]], grads: [[0, 6, 0]] },
  { name: 'prod with two zeros has gradient 0', f: (cx, [x]) => prod(cx, x), at: [[0, 0, 3]], grads: [[0, 0, 0]] },
  {
    name: 'pow at a = 0: d/da is 0 where b = 0, d/db is 0 where b >= 0',
    f: (cx, [a, b]) => sum(cx, pow(cx, a, b)),
    at: [[0, 0, 2], [0, 2, 0]],
    grads: [[0, 0, 0], [0, 0, Math.LN2]],
  },
  { name: 'logsumexp splits evenly between tied maxima', f: (cx, [x]) => logsumexp(cx, x), at: [[1, 1]], grads: [[0.5, 0.5]] },
  {
    name: 'comparisons have gradient 0, at ties too',
    f: (cx, [x, y]) => sum(cx, add(cx, add(cx, lt(cx, x, y), eq(cx, x, y)), ge(cx, x, y))),
    at: [[1, 2], [1, 3]],
    grads: [[0, 0], [0, 0]],
  },
  {
    name: 'where routes the gradient to the branch taken',
    f: (cx, [a, b]) => sum(cx, where(cx, Tensor.fromNested([1, 0, 1]), a, b)),
    at: [[1, 2, 3], [4, 5, 6]],
    grads: [[1, 0, 1], [0, 1, 0]],
  },
  {
    name: 'stopGradient(x) is a constant: d/dx sum(x · stopGradient(x)) = x',
    f: (cx, [x]) => sum(cx, mul(cx, x, stopGradient(cx, x))),
    at: [[1, -2, 3]],
    grads: [[1, -2, 3]],
  },
  {
    name: 'det of a singular matrix has gradient adj(A)ᵀ',
    f: (cx, [a]) => det(cx, a),
    at: [[[1, 2], [2, 4]]],
    grads: [[[4, -2], [-2, 1]]],
  },
  {
    name: 'det of a singular 3×3 matrix of rank 2 has gradient adj(A)ᵀ',
    f: (cx, [a]) => det(cx, a),
    at: [[[1, 2, 3], [2, 4, 6], [0, 1, 1]]],
    grads: [[[-2, -2, 2], [1, 1, -1], [0, 0, 0]]],
  },
];

t.test('kinks and special points take PyTorch subgradients in both modes', (t) => {
  for (const c of gradientCases) {
    t.test(c.name, (t) => {
      assertGradients(t, c.name, c.f, c.at.map(toTensor), c.grads);
      t.end();
    });
  }
  t.end();
});

// Exports that build or support ops rather than being ops themselves.
const notOps = new Set(['lift', 'defineUnary', 'defineBinary']);
const helperCases: Case[] = [
  { name: 'range(2, 5)', f: () => Tensor.fromArray([3], range(2, 5)), at: [], expected: [2, 3, 4] },
  {
    name: 'argExtreme finds the first maximum along axis 1',
    f: () => argExtreme(Tensor.fromNested([[1, 3, 3], [NaN, 5, 0]]), 1, 'max'),
    at: [],
    expected: [[1], [0]],
  },
];
runTable('index helpers', helperCases);

t.test('every exported op has a case in these tables', (t) => {
  const tables = [elementwiseCases, broadcastingCases, reductionCases, shapeCases, linalgCases, nnCases, nonFiniteCases, helperCases];
  const covered = new Set(tables.flat().map((c) => /^[A-Za-z0-9]+/.exec(c.name)?.[0]));
  const modules = { elementwiseOps, mathOps, reduceOps, shapeOps, indexingOps, linalgOps, nnOps };
  for (const [module, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value !== 'function' || notOps.has(name)) continue;
      t.ok(covered.has(name), `${module}.${name} has a case`);
    }
  }
  t.end();
});

t.test('round takes halves away from zero, as mathjs does', (t) => {
  assertClose(t, round(new Context(), Tensor.fromNested([-2.5, -0.5, 0.5, 2.5])), [-3, -1, 1, 3], 'round(±0.5, ±2.5)');
  t.end();
});

t.test('matrix products of every width and odd row counts equal the sum over k in order, also read transposed by the VJP', (t) => {
  // Exact: each kernel sums a_ip b_pj over p in order, as this loop does.
  const naive = (a: Tensor, b: Tensor): number[] => {
    const [m, k] = a.shape;
    const n = b.shape[1];
    const out: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[i * k + p] * b.data[p * n + j];
        out.push(s);
      }
    }
    return out;
  };
  const filled = (shape: number[], seed: number): Tensor => new Tensor(shape, Float64Array.from({ length: shape[0] * shape[1] }, (_, i) => Math.sin(seed + 1.7 * i)));
  const transposed = (x: Tensor): Tensor => new Tensor([x.shape[1], x.shape[0]], Float64Array.from({ length: x.size }, (_, i) => x.data[(i % x.shape[0]) * x.shape[1] + Math.floor(i / x.shape[0])]));
  for (const [m, k, n] of [[7, 5, 1], [6, 9, 2], [13, 12, 3], [5, 3, 4], [9, 4, 5], [3, 0, 2], [0, 4, 3]]) {
    const a = filled([m, k], 1);
    const b = filled([k, n], 2);
    const c = matmul(new Context(), a, b) as Tensor;
    t.same([...c.data], naive(a, b), `[${m}, ${k}] times [${k}, ${n}]`);
    // d/dA sum(W .* AB) = W Bᵀ and d/dB = Aᵀ W: products that read B and A transposed.
    const w = filled([m, n], 3);
    const { grads } = grad(new Context(), (cx, [x, y]) => sum(cx, mul(cx, w, matmul(cx, x, y))), [a, b]);
    t.same([...(grads[0] as Tensor).data], naive(w, transposed(b)), `its VJP for A, W Bᵀ`);
    t.same([...(grads[1] as Tensor).data], naive(transposed(a), w), `its VJP for B, Aᵀ W`);
  }
  t.end();
});

t.test('sumTo adds each column (and each row) in order, to the bit, whatever the number of columns', async (t) => {
  let s = 7;
  const random = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 10 ** Math.floor((s % 7) - 3);
  };
  for (const [rows, cols] of [
    [9, 10],
    [100, 12],
    [5, 3],
    [1, 8],
  ]) {
    const m = Array.from({ length: rows }, () => Array.from({ length: cols }, random));
    const x = Tensor.fromNested(m);
    const byColumn = sumTo(new Context(), x, [cols]) as Tensor;
    t.same(Array.from(byColumn.data), columns(m).map(jsSum), `[${rows}, ${cols}] to [${cols}]: each column summed from the first row down`);
    const byRow = sumTo(new Context(), x, [rows, 1]) as Tensor;
    t.same(Array.from(byRow.data), m.map(jsSum), `[${rows}, ${cols}] to [${rows}, 1]`);
  }
});
