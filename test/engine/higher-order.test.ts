/**
 * Higher derivatives against closed forms: Hessians, Hessian-vector products, gradients of
 * gradients in every nesting of the two modes, Jacobians by both modes, and Hessian blocks
 * between inputs of different shapes.
 */
import t, { type Test } from 'tap';
import {
  Context,
  Tensor,
  add,
  cos,
  div,
  exp,
  grad,
  gradForward,
  hessian,
  hvp,
  jacobian,
  matmul,
  mul,
  pow,
  sin,
  sizeOf,
  square,
  sum,
  tanh,
  type Fn,
  type Mode,
  type Value,
} from '../../src/engine/index.js';
import { assertClose } from '../helpers.js';

/** Closed forms are exact up to rounding in a few operations. */
const CLOSED_FORM = { rtol: 1e-12, atol: 1e-12 };

/** A tensor of `shape` whose element at multi-index i is entry(i). */
function tabulate(shape: readonly number[], entry: (i: number[]) => number): Tensor {
  const strides = shape.map((_, d) => sizeOf(shape.slice(d + 1)));
  return Tensor.fromArray(
    shape,
    Array.from({ length: sizeOf(shape) }, (_, k) => entry(strides.map((s, d) => Math.floor(k / s) % shape[d]))),
  );
}

const delta = (a: number, b: number): number => (a === b ? 1 : 0);

const x3 = [0.3, -1.2, 0.7];
const A = [
  [0.5, -1.1, 0.4],
  [2.0, 0.3, -0.6],
  [0.9, 1.7, -0.2],
];
const v3 = [1.5, -0.4, 0.8];
const matrixA = Tensor.fromNested(A);

// ─── Hessians ────────────────────────────────────────────────────────────────────────────────

interface HessianCase {
  name: string;
  f: Fn;
  at: Tensor[];
  /** expected[i][j]: the block ∂²f/∂input_i ∂input_j, of shape input_i ++ input_j. */
  expected: Tensor[][];
}

const c2 = [0.6, -1.4, 2.2];
const x2 = [0.8, -0.5];
const Y = [
  [0.2, -0.7, 1.1],
  [1.3, 0.4, -0.9],
];
const sumY2 = Y.flat().reduce((s, y) => s + y * y, 0);
const xx = x2.reduce((s, x) => s + x * x, 0);
const s0 = 1.3;
const sumX3 = x3.reduce((s, x) => s + x ** 3, 0);

const hessianCases: HessianCase[] = [
  {
    name: "x'Ax has Hessian A + A' (x a vector)",
    f: (cx, [x]) => matmul(cx, matmul(cx, x, matrixA), x),
    at: [Tensor.fromNested(x3)],
    expected: [[tabulate([3, 3], ([i, j]) => A[i][j] + A[j][i])]],
  },
  {
    name: 'sum(x.^3) has Hessian diag(6x)',
    f: (cx, [x]) => sum(cx, pow(cx, x, 3)),
    at: [Tensor.fromNested(x3)],
    expected: [[tabulate([3, 3], ([i, j]) => delta(i, j) * 6 * x3[i])]],
  },
  {
    // f = x'(Y c) + (x·x)(ΣY²)/2, so ∂f/∂x_k = (Yc)_k + x_k ΣY² and ∂f/∂Y_ij = x_i c_j + (x·x) Y_ij.
    name: "x'Yc + (x·x)(ΣY²)/2: blocks of shapes [2,2], [2,2,3], [2,3,2], [2,3,2,3]",
    f: (cx, [x, Yv]) =>
      add(cx, matmul(cx, x, matmul(cx, Yv, Tensor.fromNested(c2))), mul(cx, div(cx, sum(cx, square(cx, x)), 2), sum(cx, square(cx, Yv)))),
    at: [Tensor.fromNested(x2), Tensor.fromNested(Y)],
    expected: [
      [
        tabulate([2, 2], ([k, l]) => delta(k, l) * sumY2),
        tabulate([2, 2, 3], ([k, i, j]) => delta(k, i) * c2[j] + 2 * x2[k] * Y[i][j]),
      ],
      [
        tabulate([2, 3, 2], ([i, j, k]) => delta(k, i) * c2[j] + 2 * x2[k] * Y[i][j]),
        tabulate([2, 3, 2, 3], ([i, j, m, n]) => delta(i, m) * delta(j, n) * xx),
      ],
    ],
  },
  {
    name: 's²·sum(x.^3): a scalar and a vector, blocks of shapes [], [3], [3], [3,3]',
    f: (cx, [s, x]) => mul(cx, square(cx, s), sum(cx, pow(cx, x, 3))),
    at: [Tensor.scalar(s0), Tensor.fromNested(x3)],
    expected: [
      [Tensor.scalar(2 * sumX3), tabulate([3], ([i]) => 6 * s0 * x3[i] ** 2)],
      [tabulate([3], ([i]) => 6 * s0 * x3[i] ** 2), tabulate([3, 3], ([i, j]) => delta(i, j) * 6 * s0 * s0 * x3[i])],
    ],
  },
];

function checkHessian(t: Test, c: HessianCase): void {
  const { hessian: H } = hessian(new Context(), c.f, c.at);
  c.expected.forEach((row, i) => row.forEach((e, j) => assertClose(t, H[i][j], e, `${c.name}: block [${i}][${j}]`, CLOSED_FORM)));
  t.end();
}

t.test('Hessians against closed forms', (t) => {
  for (const c of hessianCases) t.test(c.name, (t) => checkHessian(t, c));
  t.end();
});

// ─── Hessian-vector products ─────────────────────────────────────────────────────────────────

t.test('HVP of sum(x.^3) + x\'Ax is 6x.*v + (A + A\')v, and the Hessian times v', (t) => {
  const f: Fn = (cx, [x]) => add(cx, sum(cx, pow(cx, x, 3)), matmul(cx, matmul(cx, x, matrixA), x));
  const at = [Tensor.fromNested(x3)];
  const v = Tensor.fromNested(v3);
  const closedForm = tabulate([3], ([i]) => 6 * x3[i] * v3[i] + v3.reduce((s, vj, j) => s + (A[i][j] + A[j][i]) * vj, 0));
  const cx = new Context();
  const product = hvp(cx, f, at, [v]).hvp[0];
  assertClose(t, product, closedForm, 'hvp against the closed form', CLOSED_FORM);
  assertClose(t, product, matmul(cx, hessian(cx, f, at).hessian[0][0], v), 'hvp against hessian · v', CLOSED_FORM);
  t.end();
});

// ─── Gradients of gradients ──────────────────────────────────────────────────────────────────

type ScalarFn = (cx: Context, x: Value) => Value;

/** The derivative of a scalar function, by one application of `grad` or `gradForward`. */
function derivative(f: ScalarFn, mode: Mode): ScalarFn {
  const differentiate = mode === 'reverse' ? grad : gradForward;
  return (cx, x) => differentiate(cx, (cx, [y]) => f(cx, y), [x]).grads[0];
}

interface ScalarCase {
  name: string;
  f: ScalarFn;
  /** f', f'', f''' in closed form. */
  derivatives: ((x: number) => number)[];
}

const scalarCases: ScalarCase[] = [
  { name: 'x^3', f: (cx, x) => pow(cx, x, 3), derivatives: [(x) => 3 * x * x, (x) => 6 * x, () => 6] },
  { name: 'sin(x)', f: sin, derivatives: [Math.cos, (x) => -Math.sin(x), (x) => -Math.cos(x)] },
  {
    name: 'exp(x)*x',
    f: (cx, x) => mul(cx, exp(cx, x), x),
    derivatives: [(x) => Math.exp(x) * (x + 1), (x) => Math.exp(x) * (x + 2), (x) => Math.exp(x) * (x + 3)],
  },
  {
    name: 'tanh(x)',
    f: tanh,
    derivatives: [(x) => 1 - Math.tanh(x) ** 2, (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2), (x) => -2 * (1 - Math.tanh(x) ** 2) * (1 - 3 * Math.tanh(x) ** 2)],
  },
];

/** Outermost first: [forward, reverse] is the forward-mode derivative of the reverse-mode one. */
const nestings: Mode[][] = [
  ['reverse'],
  ['forward'],
  ['reverse', 'reverse'],
  ['forward', 'reverse'],
  ['reverse', 'forward'],
  ['forward', 'forward'],
  ['reverse', 'reverse', 'reverse'],
  ['forward', 'reverse', 'forward'],
  ['reverse', 'forward', 'reverse'],
  ['forward', 'forward', 'forward'],
];

const points = [-1.3, 0.4, 2.1];

function checkNthDerivative(t: Test, c: ScalarCase, nesting: readonly Mode[]): void {
  const fn = nesting.reduceRight<ScalarFn>((g, mode) => derivative(g, mode), c.f);
  const expected = c.derivatives[nesting.length - 1];
  for (const x of points) {
    assertClose(t, fn(new Context(), Tensor.scalar(x)), expected(x), `${c.name}: derivative ${nesting.length} by ${nesting.join(' of ')} at ${x}`, CLOSED_FORM);
  }
  t.end();
}

t.test('nested grad and gradForward give derivatives of order 1 to 3', (t) => {
  for (const c of scalarCases) for (const nesting of nestings) t.test(`${c.name} by ${nesting.join(' of ')}`, (t) => checkNthDerivative(t, c, nesting));
  t.end();
});

t.test("an inner derivative that closes over the outer variable: d/dx [x · d/dy (x y)] = 2x", (t) => {
  for (const [outer, inner] of [['reverse', 'reverse'], ['forward', 'reverse'], ['reverse', 'forward'], ['forward', 'forward']] as Mode[][]) {
    const innerGrad = inner === 'reverse' ? grad : gradForward;
    const outerGrad = outer === 'reverse' ? grad : gradForward;
    const f: Fn = (cx, [x]) => mul(cx, x, innerGrad(cx, (cx, [y]) => mul(cx, x, y), [Tensor.scalar(1)]).grads[0]);
    assertClose(t, outerGrad(new Context(), f, [Tensor.scalar(0.9)]).grads[0], 1.8, `${outer} of ${inner}`, CLOSED_FORM);
  }
  t.end();
});

t.test("the values hvp and hessian return are differentiable: d/dx of their value is f'", (t) => {
  const f: Fn = (cx, [x]) => mul(cx, sin(cx, x), x);
  const x0 = 0.7;
  const fPrime = Math.cos(x0) * x0 + Math.sin(x0);
  const throughHvp: Fn = (cx, [x]) => hvp(cx, f, [x], [Tensor.scalar(1)]).value;
  const throughHessian: Fn = (cx, [x]) => hessian(cx, f, [x]).value;
  assertClose(t, grad(new Context(), throughHvp, [Tensor.scalar(x0)]).grads[0], fPrime, 'through hvp', CLOSED_FORM);
  assertClose(t, grad(new Context(), throughHessian, [Tensor.scalar(x0)]).grads[0], fPrime, 'through hessian', CLOSED_FORM);
  t.end();
});

// ─── Jacobians ───────────────────────────────────────────────────────────────────────────────

interface JacobianCase {
  name: string;
  f: Fn;
  at: Tensor[];
  expected: Tensor[];
}

const B = [
  [1.1, -0.4, 0.9],
  [-2.0, 0.6, 0.3],
];
const Bx = B.map((row) => row.reduce((s, b, j) => s + b * x3[j], 0));

const jacobianCases: JacobianCase[] = [
  {
    name: 'A*x has Jacobian A in x and δ_ij x_k in A',
    f: (cx, [Bm, x]) => matmul(cx, Bm, x),
    at: [Tensor.fromNested(B), Tensor.fromNested(x3)],
    expected: [tabulate([2, 2, 3], ([i, j, k]) => delta(i, j) * x3[k]), Tensor.fromNested(B)],
  },
  {
    name: 'sin(A*x) has Jacobian diag(cos(Ax)) A in x',
    f: (cx, [x]) => sin(cx, matmul(cx, Tensor.fromNested(B), x)),
    at: [Tensor.fromNested(x3)],
    expected: [tabulate([2, 3], ([i, j]) => Math.cos(Bx[i]) * B[i][j])],
  },
  {
    name: 'x .* y (a vector and a scalar) has Jacobians diag(y) and x',
    f: (cx, [x, y]) => mul(cx, x, y),
    at: [Tensor.fromNested(x3), Tensor.scalar(-0.6)],
    expected: [tabulate([3, 3], ([i, j]) => delta(i, j) * -0.6), Tensor.fromNested(x3)],
  },
];

function checkJacobian(t: Test, c: JacobianCase, mode: Mode): void {
  const { jacobians } = jacobian(new Context(), c.f, c.at, mode);
  c.expected.forEach((e, i) => assertClose(t, jacobians[i], e, `${c.name}: input ${i} by ${mode} mode`, CLOSED_FORM));
  t.end();
}

t.test('Jacobians by forward and by reverse mode against closed forms', (t) => {
  for (const c of jacobianCases) for (const mode of ['forward', 'reverse'] as const) t.test(`${c.name}, ${mode}`, (t) => checkJacobian(t, c, mode));
  t.end();
});

// ─── gradForward equals grad ─────────────────────────────────────────────────────────────────

interface GradCase {
  name: string;
  f: Fn;
  at: Tensor[];
  cotangent?: Tensor;
}

const gradCases: GradCase[] = [
  { name: 'scalar: x*y + sin(x)', f: (cx, [x, y]) => add(cx, mul(cx, x, y), sin(cx, x)), at: [Tensor.scalar(0.5), Tensor.scalar(4.2)] },
  {
    name: "vector and matrix: x'Ax + sum(cos(x))",
    f: (cx, [x, Am]) => add(cx, matmul(cx, matmul(cx, x, Am), x), sum(cx, cos(cx, x))),
    at: [Tensor.fromNested(x3), matrixA],
  },
  {
    name: 'broadcasting: sum(tanh(a + b) .* a) with a [3,1], b [1,2]',
    f: (cx, [a, b]) => sum(cx, mul(cx, tanh(cx, add(cx, a, b)), a)),
    at: [Tensor.fromNested([[0.1], [-0.5], [1.2]]), Tensor.fromNested([[0.7, -0.3]])],
  },
  {
    name: 'vector output with a cotangent: exp(x) .* s',
    f: (cx, [x, s]) => mul(cx, exp(cx, x), s),
    at: [Tensor.fromNested(x3), Tensor.scalar(1.7)],
    cotangent: Tensor.fromNested(v3),
  },
];

t.test('gradForward equals grad', (t) => {
  for (const c of gradCases) {
    const reverse = grad(new Context(), c.f, c.at, c.cotangent);
    const forward = gradForward(new Context(), c.f, c.at, c.cotangent);
    assertClose(t, forward.value, reverse.value, `${c.name}: value`, CLOSED_FORM);
    reverse.grads.forEach((g, i) => assertClose(t, forward.grads[i], g, `${c.name}: gradient ${i}`, CLOSED_FORM));
  }
  t.end();
});
