/**
 * Shared assertions for the engine's tests: element-wise closeness, both modes of
 * differentiation against each other and against finite differences, and typed errors, each
 * with a message naming the case.
 */
import type { Test } from 'tap';
import {
  Context,
  EngineError,
  Tensor,
  concrete,
  formatShape,
  grad,
  gradForward,
  jvp,
  vjp,
  type EngineErrorCode,
  type Fn,
  type Shape,
  type Value,
} from '../src/engine/index.js';
import { Problem, type ProblemBody, type ProblemCode } from '../src/compute/problem.js';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Converts a number, nested array or engine value to a flat tensor for comparison. */
export function toTensor(v: Value | number | unknown): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === 'number') return Tensor.scalar(v);
  if (Array.isArray(v)) return Tensor.fromNested(v);
  return concrete(v as Value);
}

function sameNumber(a: number, b: number, tol: Required<Tolerance>): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
}

/**
 * Passes when shapes match exactly and every element satisfies |got - expected| <= atol +
 * rtol |expected| (NaN matches NaN, infinities match themselves).
 */
export function assertClose(t: Test, got: unknown, expected: unknown, label: string, tolerance: Tolerance = {}): void {
  const tol = { rtol: tolerance.rtol ?? 1e-10, atol: tolerance.atol ?? 1e-12 };
  const g = toTensor(got);
  const e = toTensor(expected);
  if (formatShape(g.shape) !== formatShape(e.shape)) {
    t.fail(`${label}: shape ${formatShape(g.shape)}, expected ${formatShape(e.shape)}`);
    return;
  }
  for (let i = 0; i < e.size; i++) {
    if (!sameNumber(g.data[i], e.data[i], tol)) {
      t.fail(`${label}: element ${i} is ${g.data[i]}, expected ${e.data[i]} (rtol ${tol.rtol}, atol ${tol.atol})`);
      return;
    }
  }
  t.pass(label);
}

/**
 * What assertClose checks, as a value for property tests: null when `got` and `expected` agree
 * in shape and within tolerance, else a sentence saying where they differ.
 */
export function closeMismatch(got: unknown, expected: unknown, tolerance: Tolerance = {}): string | null {
  const tol = { rtol: tolerance.rtol ?? 1e-10, atol: tolerance.atol ?? 1e-12 };
  const g = toTensor(got);
  const e = toTensor(expected);
  if (formatShape(g.shape) !== formatShape(e.shape)) return `shape ${formatShape(g.shape)}, expected ${formatShape(e.shape)}`;
  for (let i = 0; i < e.size; i++) {
    if (!sameNumber(g.data[i], e.data[i], tol)) return `element ${i} is ${g.data[i]}, expected ${e.data[i]} (rtol ${tol.rtol}, atol ${tol.atol})`;
  }
  return null;
}

const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function numberFromJson(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v in NON_FINITE) return NON_FINITE[v];
  throw new Error(`not a number in JSON: ${JSON.stringify(v)}`);
}

function mapNested(v: unknown): unknown {
  return Array.isArray(v) ? v.map(mapNested) : numberFromJson(v);
}

/**
 * A tensor from a value in SPEC.md's JSON form: a number, a nested array, or
 * `{shape, data}`, with non-finite numbers as the strings "NaN", "Infinity", "-Infinity".
 */
export function tensorFromJson(v: unknown): Tensor {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'shape' in v && 'data' in v) {
    const { shape, data } = v as { shape: number[]; data: unknown[] };
    return Tensor.fromArray(shape, data.map(numberFromJson));
  }
  return Tensor.fromNested(mapNested(v));
}

/** mulberry32: a tiny seeded generator of numbers in [0, 1), so random checks repeat exactly. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from a label (FNV-1a), so each case draws its own numbers whatever the order. */
export function seedOf(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function randomTensor(random: () => number, shape: Shape, lo = -1, hi = 1): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * random();
  return t;
}

/** Σ a_i b_i over two tensors of the same size. */
export function inner(a: Value, b: Value): number {
  const x = concrete(a).data;
  const y = concrete(b).data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** (f(x + h u) - f(x - h u)) / 2h: the derivative of f along the directions u, by central differences. */
export function centralDifference(f: Fn, primals: readonly Tensor[], directions: readonly Tensor[], h = 1e-5): Tensor {
  const at = (sign: number): Tensor => {
    const shifted = primals.map((p, i) => {
      const data = Float64Array.from(p.data);
      for (let k = 0; k < data.length; k++) data[k] += sign * h * directions[i].data[k];
      return new Tensor(p.shape, data);
    });
    return concrete(f(new Context(), shifted));
  };
  const plus = at(1);
  const minus = at(-1);
  const out = Tensor.zeros(plus.shape);
  for (let k = 0; k < out.size; k++) out.data[k] = (plus.data[k] - minus.data[k]) / (2 * h);
  return out;
}

export interface DerivativeOptions extends Tolerance {
  /** Check against central differences too; false where the inputs sit on a kink on purpose. */
  finiteDifferences?: boolean;
}

/**
 * Checks both modes of f at `primals`: the JVP along a random u and the VJP of a random v have
 * the shapes of the output and of each input; <v, J u> = <Jᵀv, u>; and, with finite
 * differences, J u and every element of Jᵀv agree with central differences.
 */
export function assertDerivatives(t: Test, label: string, f: Fn, primals: readonly Tensor[], options: DerivativeOptions = {}): void {
  const random = seededRandom(seedOf(label));
  const u = primals.map((p) => randomTensor(random, p.shape));
  const forward = jvp(new Context(), f, primals, u);
  const tangent = concrete(forward.tangent);
  const v = randomTensor(random, forward.value.shape);
  const cotangents = vjp(new Context(), f, primals).pullback(v).map(concrete);
  const shapes = [
    `tangent ${formatShape(tangent.shape)} for output ${formatShape(forward.value.shape)}`,
    ...cotangents.map((c, i) => `gradient ${formatShape(c.shape)} for input ${formatShape(primals[i].shape)}`),
  ];
  const expectedShapes = [
    `tangent ${formatShape(forward.value.shape)} for output ${formatShape(forward.value.shape)}`,
    ...primals.map((p) => `gradient ${formatShape(p.shape)} for input ${formatShape(p.shape)}`),
  ];
  t.same(shapes, expectedShapes, `${label}: derivatives have the shapes of the output and inputs`);

  const left = inner(v, tangent);
  const right = cotangents.reduce((s, c, i) => s + inner(c, u[i]), 0);
  const scale = Math.abs(left) + cotangents.reduce((s, c, i) => s + Math.abs(inner(c, u[i])), 0);
  assertClose(t, left, right, `${label}: <v, J u> = <Jᵀv, u>`, { rtol: 1e-9, atol: 1e-12 * (1 + scale) });

  if (options.finiteDifferences === false) return;
  const tol = { rtol: options.rtol ?? 1e-6, atol: options.atol ?? 1e-6 };
  assertClose(t, tangent, centralDifference(f, primals, u), `${label}: J u against central differences`, tol);
  primals.forEach((p, i) => {
    const numeric = Tensor.zeros(p.shape);
    for (let k = 0; k < p.size; k++) {
      const basis = primals.map((q, j) => (j === i ? oneHot(q.shape, k) : Tensor.zeros(q.shape)));
      numeric.data[k] = inner(v, centralDifference(f, primals, basis));
    }
    assertClose(t, cotangents[i], numeric, `${label}: Jᵀv for input ${i} against central differences`, tol);
  });
}

function oneHot(shape: Shape, k: number): Tensor {
  const e = Tensor.zeros(shape);
  e.data[k] = 1;
  return e;
}

/** Checks a scalar function's gradient, by reverse and by forward mode, against known values. */
export function assertGradients(t: Test, label: string, f: Fn, primals: readonly Tensor[], expected: readonly unknown[], tolerance: Tolerance = {}): void {
  const reverse = grad(new Context(), f, primals).grads;
  const forward = gradForward(new Context(), f, primals).grads;
  expected.forEach((e, i) => {
    assertClose(t, reverse[i], e, `${label}: gradient ${i} by reverse mode`, tolerance);
    assertClose(t, forward[i], e, `${label}: gradient ${i} by forward mode`, tolerance);
  });
}

export interface ExpectedError {
  code: EngineErrorCode;
  op: string;
  /** Patterns the message must match: the op's name, the shapes, the offending value. */
  message: readonly RegExp[];
}

/** Checks that `run` throws an EngineError with this code and op, whose message says what went wrong. */
export function assertEngineError(t: Test, label: string, run: (cx: Context) => unknown, expected: ExpectedError): void {
  let error: unknown = null;
  try {
    run(new Context());
  } catch (e) {
    error = e;
  }
  if (!(error instanceof EngineError)) {
    t.fail(`${label}: expected an EngineError ${expected.code}, got ${error === null ? 'no error' : String(error)}`);
    return;
  }
  t.equal(error.code, expected.code, `${label}: code (${error.message})`);
  t.equal(error.op, expected.op, `${label}: op`);
  for (const pattern of expected.message) t.match(error.message, pattern, `${label}: message matches ${pattern}`);
}

/**
 * Compares a response with the fields a reference vector expects (test/vectors/README.md):
 * records key by key (other keys of the response are ignored), lists of records item by item,
 * and every number or tensor with assertClose under the vector's tolerance, after reading
 * "NaN", "Infinity" and "-Infinity" as numbers on both sides.
 */
export function assertFields(t: Test, got: unknown, expected: unknown, label: string, tol: Tolerance): void {
  const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !('shape' in v && 'data' in v);
  if (isRecord(expected)) {
    if (!isRecord(got)) {
      t.fail(`${label}: expected an object with ${Object.keys(expected).join(', ')}, got ${JSON.stringify(got)?.slice(0, 80)}`);
      return;
    }
    for (const [key, e] of Object.entries(expected)) {
      if (!(key in got)) t.fail(`${label}.${key}: missing from the response`);
      else assertFields(t, got[key], e, `${label}.${key}`, tol);
    }
    return;
  }
  if (Array.isArray(expected) && expected.some(isRecord)) {
    if (!Array.isArray(got) || got.length !== expected.length) {
      t.fail(`${label}: expected a list of ${expected.length} records, got ${JSON.stringify(got)?.slice(0, 80)}`);
      return;
    }
    expected.forEach((e, i) => assertFields(t, got[i], e, `${label}[${i}]`, tol));
    return;
  }
  let value: Tensor;
  try {
    value = tensorFromJson(got);
  } catch {
    t.fail(`${label}: expected a number or a tensor, got ${JSON.stringify(got)?.slice(0, 80)}`);
    return;
  }
  assertClose(t, value, tensorFromJson(expected), label, tol);
}

export interface ExpectedProblem {
  status: number;
  code: ProblemCode;
  /** Patterns the detail must match: the names, shapes and values a client needs to fix the request. */
  detail: readonly RegExp[];
  /** Patterns the detail must not match (advice that does not apply). */
  notDetail?: readonly RegExp[];
  /**
   * Where the problem is: each is compared exactly, so an absent one must be absent; 'any' for
   * a line or column that depends on timing (a deadline may strike in any statement).
   */
  line?: number | 'any';
  column?: number | 'any';
  path?: string;
  limit?: string;
}

/** The outcome of a call that should fail: what it threw, or what it returned. */
export type Outcome = { threw: unknown } | { returned: unknown };

/** Runs `run` and records what it threw or returned. */
export function outcomeOf(run: () => unknown): Outcome {
  try {
    return { returned: run() };
  } catch (e) {
    return { threw: e };
  }
}

/** Awaits `promise` and records what it rejected with or resolved to. */
export async function settled(promise: Promise<unknown>): Promise<Outcome> {
  return promise.then(
    (returned) => ({ returned }),
    (threw: unknown) => ({ threw }),
  );
}

/**
 * Checks that an outcome is a Problem (SPEC.md section 6) with this status and code, located
 * exactly where expected (line and column, or JSON-pointer path, and the limit's name), whose
 * detail matches every pattern, and whose body is plain JSON.
 */
export function assertProblem(t: Test, label: string, outcome: Outcome, expected: ExpectedProblem): void {
  if (!('threw' in outcome)) {
    t.fail(`${label}: expected a ${expected.status} ${expected.code} problem, got a response ${JSON.stringify(outcome.returned)?.slice(0, 120)}`);
    return;
  }
  const error = outcome.threw;
  if (!(error instanceof Problem)) {
    t.fail(`${label}: expected a ${expected.status} ${expected.code} problem, got ${String(error)}`);
    return;
  }
  const body: ProblemBody = error.body;
  t.strictSame({ status: body.status, code: body.code }, { status: expected.status, code: expected.code }, `${label}: ${expected.status} ${expected.code} (${body.detail})`);
  const position = (got: number | undefined, wanted: number | 'any' | undefined): number | 'any' | undefined =>
    wanted === 'any' && Number.isInteger(got) && got! >= 1 ? 'any' : got;
  t.strictSame(
    { line: position(body.line, expected.line), column: position(body.column, expected.column), path: body.path, limit: body.limit },
    { line: expected.line, column: expected.column, path: expected.path, limit: expected.limit },
    `${label}: located at line ${expected.line}, column ${expected.column}, path ${JSON.stringify(expected.path)}, limit ${JSON.stringify(expected.limit)}`,
  );
  for (const pattern of expected.detail) t.match(body.detail, pattern, `${label}: detail matches ${pattern}`);
  for (const pattern of expected.notDetail ?? []) t.notMatch(body.detail, pattern, `${label}: detail does not match ${pattern}`);
  t.strictSame(JSON.parse(JSON.stringify(error)), body, `${label}: the problem serialises as its body`);
  t.ok(typeof body.type === 'string' && typeof body.title === 'string' && body.title.length > 0, `${label}: has a type and a title`);
}

/** The problem a call throws, as its body, or null when it throws none (or something else). */
export function problemOf(run: () => unknown): Problem['body'] | null {
  try {
    run();
    return null;
  } catch (e) {
    return e instanceof Problem ? e.body : null;
  }
}
