/**
 * PyTorch's numbers (test/vectors/torch-oracle.json) against the engine: each case's
 * program, written here as the same mathematics in engine calls, differentiated as the case's
 * endpoint asks and compared with the case's `expect` under the case's `tol`.
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import {
  Context,
  Tensor,
  abs,
  add,
  binaryCrossEntropy,
  clamp,
  concrete,
  crossEntropy,
  det,
  div,
  exp,
  grad,
  gradForward,
  gt,
  hessian,
  inv,
  jacobian,
  jvp,
  log,
  logSoftmax,
  logsumexp,
  matmul,
  matrixPower,
  max,
  mean,
  min,
  mseLoss,
  mul,
  neg,
  pow,
  range,
  relu,
  reshape,
  select,
  sigmoid,
  sin,
  cos,
  softmax,
  softplus,
  solve,
  sqrt,
  stack,
  std,
  stopGradient,
  sub,
  sum,
  tanh,
  transpose,
  variance,
  where,
  type Fn,
  type Value,
} from '../../src/engine/index.js';
import * as D from '../../src/distributions/index.js';
import { pending } from '../oracle-cases.js';
import { assertClose, tensorFromJson, type Tolerance } from '../helpers.js';
import { file } from '../../scripts/paths.js';

interface OracleRequest {
  program?: string;
  graph?: unknown;
  at: Record<string, unknown>;
  wrt?: string[];
  output?: string;
  cotangent?: unknown;
  tangents?: Record<string, unknown>;
  options?: { mode?: 'reverse' | 'forward' };
}

interface OracleCase {
  name: string;
  endpoint: string;
  request: OracleRequest;
  expect: Record<string, unknown>;
  tol: Required<Tolerance>;
}

const oracle = JSON.parse(readFileSync(file('test/vectors/torch-oracle.json'), 'utf8')) as {
  cases: OracleCase[];
};

/** A case's program as engine calls, over its inputs by name. */
type Program = (cx: Context, inputs: Readonly<Record<string, Value>>) => Value;

/** x[i] with mathjs's 1-based index, as a scalar. */
function element(cx: Context, x: Value, i: number): Value {
  return reshape(cx, select(cx, x, [Int32Array.of(i - 1)]), []);
}

/** The 0-based positions of mathjs's inclusive 1-based range from:to. */
function oneBased(from: number, to: number): Int32Array {
  return range(from - 1, to);
}

/** A distribution of the named family, made on the engine as the language's `normal(mu, sigma)` does. */
const dist = (cx: Context, family: string, ...params: Value[]): D.Distribution => D.makeDistribution(cx, D.familyNamed(family)!, params);

const column = (...values: number[]): Tensor => Tensor.fromNested(values.map((v) => [v]));

const xyPlusSinX: Program = (cx, { x, y }) => add(cx, mul(cx, x, y), sin(cx, x));

const scalarsToVector: Program = (cx, { x, y }) =>
  stack(cx, [mul(cx, x, y), add(cx, sin(cx, x), pow(cx, y, 2)), exp(cx, mul(cx, x, y))], 0);

/** Every case that needs no language feature beyond the engine, by name. */
const programs: Readonly<Record<string, Program>> = {
  'lab/z=xy+sin(x)': xyPlusSinX,
  'lab/z=xy+sin(x) forward mode': xyPlusSinX,
  'lab/differentiate an algorithm': (cx, { x }) => {
    let z: Value = Tensor.scalar(1);
    for (let i = 0; i <= 1; i++) z = mul(cx, mul(cx, add(cx, z, i), x), x);
    return z;
  },
  'lab/multiple outputs with cotangent': (cx, { x }) =>
    add(cx, add(cx, mul(cx, column(2, 4), x), mul(cx, column(1, 0), sin(cx, x))), mul(cx, column(0, 1), cos(cx, x))),
  'ops/unary chain': (cx, { x }) =>
    sub(cx, add(cx, exp(cx, sin(cx, x)), log(cx, add(cx, 1, pow(cx, x, 2)))), div(cx, tanh(cx, x), sqrt(cx, x))),
  'ops/pow and divide': (cx, { x, y }) => div(cx, pow(cx, x, y), add(cx, 1, y)),
  'ops/sigmoid softplus relu': (cx, { x, y }) => add(cx, mul(cx, sigmoid(cx, x), softplus(cx, y)), relu(cx, sub(cx, x, y))),
  'ops/stop_gradient': (cx, { x }) => mul(cx, x, stopGradient(cx, x)),
  'tensor/broadcasting': (cx, { a, b, w }) => sum(cx, mul(cx, pow(cx, add(cx, a, b), 2), w)),
  'exercise/matrix factorisation loss': (cx, { A, U, V }) => sum(cx, pow(cx, sub(cx, A, matmul(cx, U, transpose(cx, V))), 2)),
  'exercise/mlp cross entropy': (cx, { X, W1, b1, W2, b2, t: classes }) => {
    const logits = add(cx, matmul(cx, relu(cx, add(cx, matmul(cx, X, W1), b1)), W2), b2);
    // Programs number classes from 1; the engine from 0.
    return crossEntropy(cx, logits, sub(cx, classes, 1));
  },
  'tensor/mean variance std': (cx, { x }) => add(cx, add(cx, mean(cx, x), variance(cx, x)), std(cx, x)),
  // mathjs dimension 1 runs down the rows: engine axis 0.
  'tensor/sum and mean along dims': (cx, { A }) =>
    add(cx, sum(cx, pow(cx, sum(cx, A, [0]), 2)), sum(cx, pow(cx, mean(cx, A, [1]), 3))),
  'tensor/log_softmax and logsumexp': (cx, { Z, Y }) => add(cx, sum(cx, mul(cx, logSoftmax(cx, Z, 1), Y)), sum(cx, logsumexp(cx, Z, [1]))),
  'tensor/softmax along dim 1': (cx, { Z, W }) => sum(cx, mul(cx, softmax(cx, Z, 0), W)),
  'tensor/mse_loss mean and sum': (cx, { P, Q }) => add(cx, mseLoss(cx, P, Q), mseLoss(cx, P, Q, 'sum')),
  'tensor/binary_cross_entropy': (cx, { z, y }) => binaryCrossEntropy(cx, sigmoid(cx, z), y),
  'linalg/det and inv': (cx, { A }) => add(cx, det(cx, A), sum(cx, inv(cx, A))),
  'linalg/solve': (cx, { A, b }) => sum(cx, solve(cx, A, b)),
  'index/one-based vector indexing': (cx, { x }) =>
    add(cx, mul(cx, element(cx, x, 2), element(cx, x, 3)), pow(cx, element(cx, x, 1), 2)),
  'index/ranges are inclusive': (cx, { A }) => sum(cx, pow(cx, select(cx, A, [oneBased(2, 3), oneBased(1, 2)]), 2)),
  'ops/max min abs subgradients': (cx, { x }) => add(cx, sub(cx, max(cx, x), min(cx, x)), sum(cx, abs(cx, x))),
  'ops/where and clamp': (cx, { x }) =>
    add(cx, sum(cx, where(cx, gt(cx, x, 0), pow(cx, x, 2), neg(cx, x))), sum(cx, clamp(cx, x, -0.5, 0.5))),
  'flow/if else': (cx, { x }) => (concrete(x).item() > 0 ? pow(cx, x, 2) : neg(cx, pow(cx, x, 3))),
  'flow/while loop (Newton square root)': (cx, { a }) => {
    let r = a;
    while (concrete(abs(cx, sub(cx, mul(cx, r, r), a))).item() > 1e-12) r = div(cx, add(cx, r, div(cx, a, r)), 2);
    return r;
  },
  'flow/recursive function': (cx, { x }) => {
    const f = (n: number, v: Value): Value => (n <= 0 ? v : f(n - 1, add(cx, mul(cx, v, x), 1)));
    return f(3, Tensor.scalar(1));
  },
  'hessian/scalars': (cx, { x, y }) => add(cx, mul(cx, pow(cx, x, 2), y), sin(cx, mul(cx, x, y))),
  // x' of a vector is the vector; vector * matrix * vector is a row times A times a column.
  'hessian/vector quadratic plus cubic': (cx, { x, A }) => add(cx, sum(cx, pow(cx, x, 3)), matmul(cx, matmul(cx, transpose(cx, x), A), x)),
  'jacobian/scalars to vector': scalarsToVector,
  'jacobian/forward mode': scalarsToVector,
  'jacobian/matrix times vector': (cx, { A, x }) => matmul(cx, A, x),
  'jvp/vectors': (cx, { x, y }) => mul(cx, sin(cx, x), y),
  'graph/lab expression as a graph': (cx, { x, y }) => {
    const a = mul(cx, x, y);
    const b = sin(cx, x);
    return add(cx, a, b);
  },
  'graph/constant and matrix product': (cx, { W, x }) => {
    const two = Tensor.scalar(2);
    const h = matmul(cx, W, x);
    const s = tanh(cx, h);
    const q = pow(cx, s, two);
    return sum(cx, q);
  },
  'eval/mathjs matrix semantics': (cx) => {
    const A = Tensor.fromNested([
      [1, 2],
      [3, 4],
    ]);
    const B = add(cx, matrixPower(cx, A, 2), transpose(cx, A));
    return det(cx, B);
  },
  'dist/normal log_prob': (cx, { mu, sigma }) => D.logProb(cx, dist(cx, 'normal', mu, sigma), Tensor.scalar(0.3)),
  'dist/gamma log_prob': (cx, { k, r }) => D.logProb(cx, dist(cx, 'gamma', k, r), Tensor.scalar(2.5)),
  'dist/beta log_prob': (cx, { a, b }) => D.logProb(cx, dist(cx, 'beta', a, b), Tensor.scalar(0.35)),
  'dist/kl normal normal': (cx, { m1, s1, m2, s2 }) => D.kl(cx, dist(cx, 'normal', m1, s1), dist(cx, 'normal', m2, s2)),
  'dist/entropy': (cx, { m, s, r }) => add(cx, D.entropy(cx, dist(cx, 'normal', m, s)), D.entropy(cx, dist(cx, 'exponential', r))),
};

// The cases not run yet are listed once, in test/oracle-cases.ts, for every suite.

function byName<T>(names: readonly string[], values: readonly T[]): Record<string, T> {
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

/** What the endpoint would answer, computed with the engine's differentiation API. */
function respond(c: OracleCase, program: Program): Record<string, unknown> {
  const cx = new Context();
  const { request } = c;
  const at = Object.fromEntries(Object.entries(request.at).map(([n, v]) => [n, tensorFromJson(v)]));
  const names = request.wrt ?? Object.keys(at);
  const primals = names.map((n) => at[n]);
  // Inputs outside `wrt` are closed over as constants.
  const f: Fn = (cx, xs) => program(cx, { ...at, ...byName(names, xs) });
  const mode = request.options?.mode ?? 'reverse';
  switch (c.endpoint) {
    case 'eval':
      return { value: program(cx, at) };
    case 'grad': {
      const cotangent = request.cotangent === undefined ? undefined : tensorFromJson(request.cotangent);
      const r = (mode === 'forward' ? gradForward : grad)(cx, f, primals, cotangent);
      return { value: r.value, grad: byName(names, r.grads) };
    }
    case 'jvp': {
      const tangents = names.map((n) => (request.tangents?.[n] === undefined ? null : tensorFromJson(request.tangents[n])));
      return jvp(cx, f, primals, tangents);
    }
    case 'jacobian': {
      const r = jacobian(cx, f, primals, mode);
      return { value: r.value, jacobian: byName(names, r.jacobians) };
    }
    case 'hessian': {
      const r = hessian(cx, f, primals);
      return { value: r.value, grad: byName(names, r.grads), hessian: byName(names, r.hessian.map((row) => byName(names, row))) };
    }
    default:
      throw new Error(`${c.name}: no engine equivalent of the ${c.endpoint} endpoint`);
  }
}

/** Compares every field of `expected` (objects by key, tensors element by element). */
function compareFields(t: Test, got: unknown, expected: unknown, label: string, tol: Required<Tolerance>): void {
  if (got === undefined) {
    t.fail(`${label}: missing from the result`);
    return;
  }
  const isRecord = expected !== null && typeof expected === 'object' && !Array.isArray(expected) && !('shape' in expected);
  if (isRecord) {
    for (const [key, e] of Object.entries(expected)) compareFields(t, (got as Record<string, unknown>)[key], e, `${label}.${key}`, tol);
    return;
  }
  assertClose(t, got, tensorFromJson(expected), label, tol);
}

function checkCase(t: Test, c: OracleCase, program: Program): void {
  compareFields(t, respond(c, program), c.expect, c.name, c.tol);
  t.end();
}

t.test('every case in the oracle file is implemented or pending, and no table names a missing case', (t) => {
  const names = new Set(oracle.cases.map((c) => c.name));
  t.equal(names.size, oracle.cases.length, 'case names are unique');
  // optimize has no engine equivalent: its cases run through compute (test/lang/oracle.test.ts) and the server.
  const serviceOnly = new Set(oracle.cases.filter((c) => c.endpoint === 'optimize').map((c) => c.name));
  for (const name of names) if (!serviceOnly.has(name)) t.ok((name in programs) !== (name in pending), `${name}: exactly one of implemented or pending`);
  for (const name of [...Object.keys(programs), ...Object.keys(pending)]) t.ok(names.has(name), `${name}: is a case of the oracle file`);
  t.end();
});

for (const c of oracle.cases) {
  // A pending case has nothing to run until its feature exists.
  if (c.name in pending) t.test(c.name, { todo: pending[c.name].reason }, (t) => t.end());
  else if (c.name in programs) t.test(c.name, (t) => checkCase(t, c, programs[c.name]));
}
