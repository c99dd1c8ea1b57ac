/**
 * Reverse-mode mechanics: deep tapes, fan-out, vector-Jacobian products and reusable
 * pullbacks, symbolic zeros for values nobody differentiates, and the context's budgets.
 */
import t, { type Test } from 'tap';
import {
  Context,
  EngineError,
  Tensor,
  add,
  cos,
  expand,
  grad,
  jvp,
  matmul,
  mul,
  sin,
  sum,
  tanh,
  vjp,
  type Fn,
  type Limits,
  type Value,
} from '../../src/engine/index.js';
import { assertClose } from '../helpers.js';

// ─── A deep tape ─────────────────────────────────────────────────────────────────────────────

t.test('a chain of 1,000,000 multiplications differentiates without overflowing the stack', (t) => {
  const n = 1_000_000;
  const c = Tensor.scalar(1.0000001);
  const x0 = 0.5;
  const r = vjp(
    new Context(),
    (cx, [x]) => {
      let y = x;
      for (let i = 0; i < n; i++) y = mul(cx, y, c);
      return y;
    },
    [Tensor.scalar(x0)],
  );
  t.equal(r.tape.records.length, n + 1, 'one record per operation, plus the leaf');
  // Rounding grows at most like n·eps ≈ 2e-10 relative over the chain.
  const chain = { rtol: 1e-9, atol: 0 };
  assertClose(t, r.value, x0 * Math.pow(1.0000001, n), 'value is x·c^n', chain);
  assertClose(t, r.pullback(Tensor.scalar(1))[0], Math.pow(1.0000001, n), 'gradient is c^n', chain);
  t.end();
});

// ─── Fan-out and vector-Jacobian products ────────────────────────────────────────────────────

interface GradientCase {
  name: string;
  f: Fn;
  at: number;
  expected: number;
}

const fanOutCases: GradientCase[] = [
  { name: 'x*x + x*x*x is 2x + 3x²', f: (cx, [x]) => add(cx, mul(cx, x, x), mul(cx, mul(cx, x, x), x)), at: 1.7, expected: 2 * 1.7 + 3 * 1.7 ** 2 },
  {
    name: 'Σ_{k=1..100} k·x is 5050',
    f: (cx, [x]) => {
      let s: Value = Tensor.scalar(0);
      for (let k = 1; k <= 100; k++) s = add(cx, s, mul(cx, x, k));
      return s;
    },
    at: -0.3,
    expected: 5050,
  },
  {
    name: 'sin(x)·cos(x) + sin(x) is cos 2x + cos x (x reaches the output by four paths)',
    f: (cx, [x]) => add(cx, mul(cx, sin(cx, x), cos(cx, x)), sin(cx, x)),
    at: 0.4,
    expected: Math.cos(0.8) + Math.cos(0.4),
  },
];

function checkGradient(t: Test, c: GradientCase): void {
  assertClose(t, grad(new Context(), c.f, [Tensor.scalar(c.at)]).grads[0], c.expected, c.name);
  t.end();
}

t.test('fan-out accumulates the cotangents of every use', (t) => {
  for (const c of fanOutCases) t.test(c.name, (t) => checkGradient(t, c));
  t.end();
});

const B = [
  [1.1, -0.4, 0.9],
  [-2.0, 0.6, 0.3],
];
const x3 = [0.3, -1.2, 0.7];
const Bx = B.map((row) => row.reduce((s, b, j) => s + b * x3[j], 0));

interface VjpCase {
  name: string;
  f: Fn;
  at: Tensor;
  cotangent: Tensor;
  /** Jᵀ v in closed form. */
  expected: Tensor;
}

const vjpCases: VjpCase[] = [
  {
    name: "sin(Bx): Jᵀv = B'(cos(Bx) .* v)",
    f: (cx, [x]) => sin(cx, matmul(cx, Tensor.fromNested(B), x)),
    at: Tensor.fromNested(x3),
    cotangent: Tensor.fromNested([0.25, -1.5]),
    expected: Tensor.fromNested([0, 1, 2].map((j) => B[0][j] * Math.cos(Bx[0]) * 0.25 + B[1][j] * Math.cos(Bx[1]) * -1.5)),
  },
  {
    name: 'X .* X for a matrix: Jᵀv = 2X .* v',
    f: (cx, [X]) => mul(cx, X, X),
    at: Tensor.fromNested(B),
    cotangent: Tensor.fromNested([
      [0.5, -1, 2],
      [3, 0, -0.25],
    ]),
    expected: Tensor.fromNested([
      [2 * 1.1 * 0.5, 2 * -0.4 * -1, 2 * 0.9 * 2],
      [2 * -2.0 * 3, 0, 2 * 0.3 * -0.25],
    ]),
  },
  {
    name: 'x broadcast to [2,3]: Jᵀv sums v over the new axis',
    f: (cx, [x]) => expand(cx, x, [2, 3]),
    at: Tensor.fromNested(x3),
    cotangent: Tensor.fromNested([
      [1, 2, 3],
      [10, 20, 30],
    ]),
    expected: Tensor.fromNested([11, 22, 33]),
  },
];

function checkVjp(t: Test, c: VjpCase): void {
  assertClose(t, vjp(new Context(), c.f, [c.at]).pullback(c.cotangent)[0], c.expected, c.name);
  t.end();
}

t.test('a vector-Jacobian product with an arbitrary cotangent is Jᵀv', (t) => {
  for (const c of vjpCases) t.test(c.name, (t) => checkVjp(t, c));
  t.end();
});

t.test('one tape serves several pullbacks, and pulling back records nothing on it', (t) => {
  const f: Fn = (cx, [x]) => sin(cx, matmul(cx, Tensor.fromNested(B), x));
  const r = vjp(new Context(), f, [Tensor.fromNested(x3)]);
  const recorded = r.tape.records.length;
  const row = (i: number): Tensor => Tensor.fromNested([0, 1, 2].map((j) => Math.cos(Bx[i]) * B[i][j]));
  assertClose(t, r.pullback(Tensor.fromNested([1, 0]))[0], row(0), 'first pullback: row 0 of J');
  assertClose(t, r.pullback(Tensor.fromNested([0, 1]))[0], row(1), 'second pullback: row 1 of J');
  assertClose(t, r.pullback(Tensor.fromNested([1, 0]))[0], row(0), 'third pullback repeats the first');
  t.equal(r.tape.records.length, recorded, 'the tape has as many records as after the forward pass');
  t.end();
});

// ─── Symbolic zeros ──────────────────────────────────────────────────────────────────────────

const C = Tensor.fromNested(x3);

/** tanh applied k times to a value: work whose derivative nobody needs when its input is constant. */
function preprocess(cx: Context, v: Value, k: number): Value {
  let y = v;
  for (let i = 0; i < k; i++) y = tanh(cx, y);
  return y;
}

/** Operations run by `run` on a fresh context. */
function operationsOf(run: (cx: Context) => void): number {
  const cx = new Context();
  run(cx);
  return cx.operations;
}

t.test('a closed-over constant costs nothing in reverse mode, however much work is done on it', (t) => {
  const overhead = (k: number): { records: number; backward: number; total: number; primal: number } => {
    const f: Fn = (cx, [x]) => sum(cx, mul(cx, x, preprocess(cx, C, k)));
    const cx = new Context();
    const r = vjp(cx, f, [Tensor.fromNested([1, 2, 3])]);
    const before = cx.operations;
    r.pullback(Tensor.scalar(1));
    return {
      records: r.tape.records.length,
      backward: cx.operations - before,
      total: cx.operations,
      primal: operationsOf((cx) => f(cx, [Tensor.fromNested([1, 2, 3])])),
    };
  };
  const short = overhead(10);
  const long = overhead(1000);
  t.equal(long.records, short.records, 'the tape records only operations on x');
  t.equal(long.backward, short.backward, 'the backward pass does no work for the constant');
  t.equal(long.total - long.primal, short.total - short.primal, 'differentiating adds the same work whatever the constant costs');
  t.end();
});

t.test('an operand nobody differentiates gets no cotangent and no tangent computed', (t) => {
  const f: Fn = (cx, [x, y]) => sum(cx, mul(cx, x, y));
  const x = Tensor.fromNested([1, 2, 3]);
  const y = Tensor.fromNested([4, 5, 6]);
  const pullbackOperations = (g: Fn, inputs: Tensor[]): number => {
    const cx = new Context();
    const r = vjp(cx, g, inputs);
    const before = cx.operations;
    r.pullback(Tensor.scalar(1));
    return cx.operations - before;
  };
  const constantY = pullbackOperations((cx, [a]) => f(cx, [a, y]), [x]);
  const bothInputs = pullbackOperations(f, [x, y]);
  t.ok(constantY < bothInputs, `reverse: ${constantY} operations with y constant, fewer than ${bothInputs} with y an input`);
  const jvpOperations = (ty: Tensor | null, k: number): number =>
    operationsOf((cx) => jvp(cx, (cx, [a, b]) => f(cx, [a, preprocess(cx, b, k)]), [x, y], [Tensor.fromNested([1, 0, 0]), ty])) -
    operationsOf((cx) => f(cx, [x, preprocess(cx, y, k)]));
  t.ok(jvpOperations(null, 10) < jvpOperations(Tensor.fromNested([0, 1, 0]), 10), 'forward: a null tangent does less work than a zero-free one');
  t.equal(jvpOperations(null, 1000), jvpOperations(null, 10), 'forward: work on an input with a null tangent adds no tangent work');
  t.end();
});

// ─── Budgets ─────────────────────────────────────────────────────────────────────────────────

/** Where a computation runs: directly, under reverse mode or under forward mode. */
const settings: Record<string, (cx: Context, body: (cx: Context, x: Value) => Value) => void> = {
  'no transformation': (cx, body) => void body(cx, Tensor.scalar(0.5)),
  'under grad': (cx, body) => void grad(cx, (cx, [x]) => sum(cx, body(cx, x)), [Tensor.scalar(0.5)]),
  'under jvp': (cx, body) => void jvp(cx, (cx, [x]) => body(cx, x), [Tensor.scalar(0.5)], [Tensor.scalar(1)]),
};

interface LimitCase {
  name: string;
  limits: Limits;
  clock?: () => number;
  body: (cx: Context, x: Value) => Value;
  limit: string;
  /** Operations that may run before the limit stops the computation (transformations add their own). */
  stopsWithin: number;
}

const endless = (cx: Context, x: Value): Value => {
  let y = x;
  for (;;) y = sin(cx, y);
};

const limitCases: LimitCase[] = [
  { name: 'maxOperations stops an endless loop', limits: { maxOperations: 10_000 }, body: endless, limit: 'operations', stopsWithin: 10_001 },
  {
    name: 'maxElements stops expanding a scalar to [100000, 100000] before allocating',
    limits: { maxElements: 1_000_000 },
    body: (cx, x) => expand(cx, x, [100_000, 100_000]),
    limit: 'memory',
    stopsWithin: 10,
  },
  {
    name: 'maxElements stops an outer product of [50000, 1] and [1, 50000] before allocating',
    limits: { maxElements: 1_000_000 },
    body: (cx, x) => matmul(cx, expand(cx, x, [50_000, 1]), expand(cx, x, [1, 50_000])),
    limit: 'memory',
    stopsWithin: 10,
  },
  {
    name: 'maxElements counts all allocations together',
    limits: { maxElements: 100_000 },
    body: (cx, x) => {
      let y = expand(cx, x, [1000]);
      for (;;) y = add(cx, y, x);
    },
    limit: 'memory',
    stopsWithin: 1000,
  },
  { name: 'a deadline in the past stops an endless loop', limits: { deadline: 10 }, clock: () => 100, body: endless, limit: 'time', stopsWithin: 1000 },
];

function checkLimit(t: Test, c: LimitCase, run: (cx: Context, body: (cx: Context, x: Value) => Value) => void): void {
  const cx = new Context(c.limits, c.clock);
  const started = performance.now();
  let error: unknown;
  try {
    run(cx, c.body);
  } catch (e) {
    error = e;
  }
  const elapsed = performance.now() - started;
  t.ok(error instanceof EngineError, `throws an EngineError (got ${String(error)})`);
  if (error instanceof EngineError) {
    t.equal(error.code, 'LIMIT_EXCEEDED', 'code');
    t.equal(error.limit, c.limit, 'names the limit');
  }
  t.ok(cx.operations <= c.stopsWithin, `stops within ${c.stopsWithin} operations (ran ${cx.operations})`);
  t.ok(elapsed < 1000, `stops quickly (${elapsed.toFixed(1)} ms)`);
  t.end();
}

t.test('budgets stop a computation with LIMIT_EXCEEDED naming the limit', (t) => {
  for (const c of limitCases) for (const [setting, run] of Object.entries(settings)) t.test(`${c.name}, ${setting}`, (t) => checkLimit(t, c, run));
  t.end();
});

t.test('a deadline on a fake clock passes while the clock is before it and stops the work once it is after', (t) => {
  let now = 0;
  const cx = new Context({ deadline: 10 }, () => now);
  let y: Value = Tensor.scalar(0.5);
  for (let i = 0; i < 1000; i++) y = sin(cx, y);
  t.pass('1000 operations before the deadline');
  now = 11;
  t.throws(
    () => {
      for (let i = 0; i < 1000; i++) y = sin(cx, y);
    },
    { code: 'LIMIT_EXCEEDED', limit: 'time' },
    'the first check after the deadline throws',
  );
  t.end();
});

t.test('a tensor too large to allocate is refused with LIMIT_EXCEEDED even without a memory budget', (t) => {
  const cx = new Context();
  try {
    expand(cx, Tensor.scalar(1), [100000, 100000]);
    t.fail('expand to [100000, 100000] succeeded');
  } catch (e) {
    t.ok(e instanceof EngineError, 'an EngineError');
    t.equal((e as EngineError).code, 'LIMIT_EXCEEDED');
    t.equal((e as EngineError).limit, 'memory');
    t.match((e as EngineError).message, /\[100000, 100000\]/);
  }
  t.end();
});
