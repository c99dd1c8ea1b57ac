/**
 * Budgets inside single kernels: every long kernel reads the deadline as it goes, so one call
 * on large tensors built beforehand (none of the program's own operations left to count) stops
 * with LIMIT_EXCEEDED (time) soon after its deadline; an oversized allocation is LIMIT_EXCEEDED
 * (memory) before anything is allocated, never a RangeError; and kernels that run in pieces give
 * the same numbers as in one piece.
 */
import t, { type Test } from 'tap';
import {
  Context,
  EngineError,
  Tensor,
  add,
  compileGradientPlan,
  concrete,
  det,
  grad,
  identity,
  inv,
  jacobian,
  lgamma,
  matmul,
  matrixPower,
  mul,
  polygamma,
  pow,
  sin,
  solve,
  sort,
  spectralNorm,
  sum,
  tanh,
  type Value,
} from '../../src/engine/index.js';
import * as fdlibm from '../../src/engine/fdlibm.js';
import { Random } from '../../src/engine/random.js';

/** A tensor of `shape` whose elements are a smooth function of their position (no draws, cheap to build). */
function filled(shape: number[], f: (i: number) => number = (i) => 0.5 + ((i * 7919) % 1000) / 1000): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = f(i);
  return t;
}

/** A well-conditioned n×n matrix: n on the diagonal, small elsewhere. */
function diagonallyDominant(n: number): Tensor {
  return filled([n, n], (i) => (i % (n + 1) === 0 ? n : ((i * 31) % 17) / 17));
}

const DEADLINE_MS = 30;
/** Generous: the point is that the kernel stops, not how fast (each would take seconds). */
const STOPS_WITHIN_MS = DEADLINE_MS * 3 + 1000;

interface KernelCase {
  name: string;
  /** Builds the inputs (outside the timed call). */
  inputs: () => Tensor[];
  run: (cx: Context, xs: Tensor[]) => unknown;
}

const kernelCases: KernelCase[] = [
  { name: 'matmul of two 1500×1500 matrices', inputs: () => [filled([1500, 1500]), filled([1500, 1500])], run: (cx, [a, b]) => matmul(cx, a, b) },
  { name: 'matmul of a 4×1500 by a 1500×20000 (few rows, long ones)', inputs: () => [filled([4, 1500]), filled([1500, 20000])], run: (cx, [a, b]) => matmul(cx, a, b) },
  { name: 'matmul of 8 batches of 800×800 matrices, one broadcast', inputs: () => [filled([8, 800, 800]), filled([1, 800, 800])], run: (cx, [a, b]) => matmul(cx, a, b) },
  { name: 'inv of a 1500×1500 matrix', inputs: () => [diagonallyDominant(1500)], run: (cx, [a]) => inv(cx, a) },
  { name: 'det of a 2000×2000 matrix', inputs: () => [diagonallyDominant(2000)], run: (cx, [a]) => det(cx, a) },
  { name: 'solve with a 1500×1500 matrix and 1500 right-hand sides', inputs: () => [diagonallyDominant(1500), filled([1500, 1500])], run: (cx, [a, b]) => solve(cx, a, b) },
  { name: 'matrixPower of a 1000×1000 matrix to 1e9', inputs: () => [filled([1000, 1000], () => 1 / 1000)], run: (cx, [a]) => matrixPower(cx, a, 1e9) },
  { name: 'spectralNorm of a 600×600 matrix (Jacobi sweeps)', inputs: () => [filled([600, 600])], run: (cx, [a]) => spectralNorm(cx, a) },
  { name: 'lgamma of 8·10^6 elements', inputs: () => [filled([8_000_000])], run: (cx, [a]) => lgamma(cx, a) },
  { name: 'polygamma(3, ·) of 4·10^6 elements', inputs: () => [filled([4_000_000])], run: (cx, [a]) => polygamma(cx, 3, a) },
  { name: 'pow of a column against a matrix (8·10^6 elements)', inputs: () => [filled([2000, 1]), filled([2000, 4000])], run: (cx, [a, b]) => pow(cx, a, b) },
  { name: 'pow of a matrix against a row (8·10^6 elements)', inputs: () => [filled([2000, 4000]), filled([4000])], run: (cx, [a, b]) => pow(cx, a, b) },
  { name: 'sort of 2·10^6 elements', inputs: () => [filled([2_000_000], (i) => Math.sin(i))], run: (cx, [a]) => sort(cx, a) },
  {
    name: 'rand of 8·10^6 elements',
    inputs: () => [],
    run: (cx) => new Random(7).uniform(cx, [8_000_000]),
  },
  {
    // The output does not depend on x: each of the 10^5 backward passes does nothing but write its one-hot seed.
    name: 'a reverse Jacobian of a 10^5-element output that does not depend on its input',
    inputs: () => [Tensor.scalar(1), filled([100_000])],
    run: (cx, [x, c]) => jacobian(cx, () => c, [x], 'reverse'),
  },
  // Plans are traced in checkStops, outside the deadline; `run` is then the plan's.
  { name: "a plan's fused product (tanh(X·W)) of 1200×1200 matrices", inputs: () => [filled([1200, 1200]), filled([1200, 1200])], run: () => null },
  { name: "a plan's fused product (tanh(X·W)) of a 4×1500 by a 1500×20000 (long rows)", inputs: () => [filled([4, 1500]), filled([1500, 20000])], run: () => null },
];

function checkStops(t: Test, c: KernelCase): void {
  const xs = c.inputs();
  let run = c.run;
  if (c.name.startsWith("a plan's")) {
    const f = (cx: Context, [x, w]: readonly Value[]): Value => sum(cx, tanh(cx, matmul(cx, x, w)));
    const plan = compileGradientPlan(f, xs, new Context());
    t.ok(plan.fused.products > 0, `${c.name}: the product is fused into its loop`);
    run = (cx, inputs) => plan.run(inputs, cx);
  }
  const start = performance.now();
  const cx = new Context({ deadline: start + DEADLINE_MS });
  let error: unknown = null;
  try {
    run(cx, xs);
  } catch (e) {
    error = e;
  }
  const elapsed = performance.now() - start;
  t.ok(error instanceof EngineError && error.code === 'LIMIT_EXCEEDED' && error.limit === 'time', `${c.name}: stopped by its deadline (${String(error)})`);
  t.ok(elapsed < STOPS_WITHIN_MS, `${c.name}: within ${Math.round(elapsed)} ms of a ${DEADLINE_MS} ms deadline`);
}

t.test('a single long kernel stops at its deadline', async (t) => {
  for (const c of kernelCases) checkStops(t, c);
});

interface AllocationCase {
  name: string;
  run: (cx: Context) => unknown;
}

const allocationCases: AllocationCase[] = [
  { name: 'identity(100000) on a context', run: (cx) => identity(100_000, cx) },
  { name: 'identity(8000) on a context of 50M elements', run: (cx) => identity(8000, cx) },
  { name: 'identity(100000) without a context', run: () => identity(100_000) },
  { name: 'Tensor.zeros([100000, 100000])', run: () => Tensor.zeros([100_000, 100_000]) },
  { name: 'Tensor.full([65536, 65536], 1)', run: () => Tensor.full([65536, 65536], 1) },
  { name: 'scratch of 10^10 elements', run: (cx) => cx.scratch('test', 1e10) },
  { name: 'scratch of NaN elements', run: (cx) => cx.scratch('test', NaN) },
  { name: 'an outer product by broadcasting, 10^5 × 10^5', run: (cx) => mul(cx, filled([100_000, 1]), filled([1, 100_000])) },
  { name: 'an outer product by matmul, 10^5 × 10^5', run: (cx) => matmul(cx, filled([100_000, 1]), filled([1, 100_000])) },
  { name: 'matmul with broadcast batches, 10^4 × 10^4 of 2×2', run: (cx) => matmul(cx, filled([10_000, 1, 2, 2]), filled([1, 10_000, 2, 2])) },
];

t.test('an oversized allocation is LIMIT_EXCEEDED (memory) before anything is allocated', async (t) => {
  for (const c of allocationCases) {
    const cx = new Context({ maxElements: 50_000_000 });
    let error: unknown = null;
    try {
      c.run(cx);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof EngineError && error.code === 'LIMIT_EXCEEDED' && error.limit === 'memory', `${c.name}: ${String(error)}`);
  }
});

/** The elements of `a op b` broadcast, one at a time, as NumPy defines it. */
function naiveBinary(a: Tensor, b: Tensor, op: (x: number, y: number) => number): number[] {
  const rank = Math.max(a.rank, b.rank);
  const pad = (s: readonly number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  const shape = sa.map((d, i) => Math.max(d, sb[i]));
  const n = shape.reduce((p, d) => p * d, 1);
  const offset = (s: number[], index: number[]): number => index.reduce((o, k, d) => o * s[d] + (s[d] === 1 ? 0 : k), 0);
  const out: number[] = [];
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    out.push(op(a.data[offset(sa, index)], b.data[offset(sb, index)]));
    for (let d = rank - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return out;
}

/** Where two long arrays first differ, or null: tap's deep comparison takes seconds over 10^5 elements. */
function firstDifference(got: ArrayLike<number>, want: ArrayLike<number>): string | null {
  if (got.length !== want.length) return `${got.length} elements, not ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (!(got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) return `element ${i}: ${got[i]}, not ${want[i]}`;
  }
  return null;
}

interface PiecesCase {
  name: string;
  a: number[];
  b: number[];
}

// Each output has more than 65536 elements, so the kernel runs in pieces; each broadcasting mode.
const piecesCases: PiecesCase[] = [
  { name: 'both full', a: [300, 301], b: [300, 301] },
  { name: 'b one element', a: [300, 301], b: [] },
  { name: 'a one element', a: [], b: [300, 301] },
  { name: 'b a trailing row (period 301)', a: [300, 301], b: [301] },
  { name: 'a a trailing row (period 70001, more than a piece)', a: [70001], b: [3, 70001] },
  { name: 'b a column (each covers 301)', a: [300, 301], b: [300, 1] },
  { name: 'a a column (each covers 70001)', a: [3, 1], b: [3, 70001] },
  { name: 'general strides', a: [300, 1, 7], b: [1, 40, 7] },
];

t.test('element-wise kernels in pieces give the numbers of one piece, in every broadcasting mode', async (t) => {
  for (const c of piecesCases) {
    const a = filled(c.a, (i) => 0.25 + (i % 97) / 50);
    const b = filled(c.b, (i) => -1 + (i % 89) / 30);
    const cx = new Context();
    t.equal(firstDifference(concrete(pow(cx, a, b)).data, naiveBinary(a, b, fdlibm.pow)), null, `pow, ${c.name}`);
    t.equal(firstDifference(concrete(add(cx, a, b)).data, naiveBinary(a, b, (x, y) => x + y)), null, `add, ${c.name}`);
  }
  const x = filled([200_001], (i) => i / 1000);
  t.equal(firstDifference(concrete(sin(new Context(), x)).data, Array.from(x.data, Math.sin)), null, 'sin of 200001 elements');
  const { grads } = grad(new Context(), (cx, [v]) => sum(cx, sin(cx, v)), [x]);
  t.equal(firstDifference(concrete(grads[0]).data, Array.from(x.data, Math.cos)), null, "sin's fused VJP over 200001 elements");
});

t.test("a plan's fused loops in pieces of rows give the general engine's numbers", async (t) => {
  // X + b reads b per column (a loop of rows and columns); 400×400 is more than one piece.
  const f = (cx: Context, [x, b]: readonly Value[]): Value => sum(cx, tanh(cx, add(cx, mul(cx, x, x), b)));
  const xs = [filled([400, 400], (i) => Math.sin(i) / 2), filled([400], (i) => Math.cos(i))];
  const plan = compileGradientPlan(f, xs, new Context());
  t.ok(plan.fused.loops > 0, 'the plan has fused loops');
  const planned = plan.run(xs, new Context());
  const general = grad(new Context(), f, xs);
  t.equal(concrete(planned.value).data[0], concrete(general.value).data[0], 'the value');
  planned.grads.forEach((g, i) => t.equal(firstDifference(g.data, concrete(general.grads[i]).data), null, `the gradient of input ${i}`));
});
