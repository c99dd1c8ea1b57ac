/**
 * `check`: the autograder's endpoint (SPEC.md section 3). The program is the reference; the
 * answer is graded against it:
 *
 * - `answer.value` and `answer.grad: {name: ...}`: numbers or tensors, compared at `at`; or
 *   strings, expressions of the inputs (a student's symbolic answer), compared at every point:
 *   `at` alone, each of `points` merged over `at`, or `random.n` points drawn uniformly in
 *   `random.ranges` with the request's seed;
 * - `answer.trace`: a student's Wengert list, `[{"id": "v1", "tangent": 4.2}, ...]` (any of
 *   `value`, `tangent`, `adjoint` per entry, ids as `/v1/trace` names them, inputs by their
 *   names), graded entry by entry in the order a student fills the table (values and tangents
 *   forwards, adjoints backwards) against the table `/v1/trace` gives for the same body;
 * - `gradcheck: true`: the engine's gradient against central differences, as PyTorch's gradcheck.
 *
 * Whatever is wrong with the request or the program is a problem (4xx). Whatever is wrong with
 * the student's answer (it does not parse, names something unknown, is too long, calls a
 * blocked function, has the wrong shape, throws, runs over a budget) is a graded failure with
 * its reason, and the request succeeds.
 *
 * A number passes when |got - expected| <= atol + rtol |expected| element by element (NaN
 * matches NaN, an infinity itself), as numpy's `isclose`.
 */
import { Context, EngineError, Tensor, concrete, formatShape, gradcheck as engineGradcheck, grad as gradient, sameShape, sizeOf, type Fn, type Value } from '../engine/index.js';
import { Random } from '../engine/random.js';
import { Distribution } from '../distributions/index.js';
import type { LangValue } from '../lang/catalogue.js';
import type { Program } from '../lang/ir.js';
import { run, type RunLimits } from '../lang/interpret.js';
import { parseProgram } from '../lang/parse.js';
import type { BodyEndpoint } from './endpoint.js';
import { countOperations, prepare, type ComputeOptions, type Evaluation } from './evaluation.js';
import { withDefaults, type ComputeLimits } from './limits.js';
import { Problem, toProblem, type ProblemBody, type ProblemCode } from './problem.js';
import { NAME_RULE, isName, tensorField, type EndpointFields } from './request.js';
import { endpointFields, type CheckRequest, type TensorJson } from './schemas/index.js';
import { traceEndpoint } from './trace.js';
import { decodeValue, encodeValue } from './values.js';

/** Default tolerances of an answer: float64 answers computed another way agree far better. */
export const CHECK_RTOL = 1e-6;
export const CHECK_ATOL = 1e-9;
/** gradcheck's defaults are PyTorch's: finite differences agree only to about sqrt(eps). */
export const GRADCHECK_EPS = 1e-6;
export const GRADCHECK_RTOL = 1e-3;
export const GRADCHECK_ATOL = 1e-5;
/** The most failures a response lists. */
export const MAX_FAILURES = 10;

/** The fields `check` takes beyond the common ones (read from its schema); its options are the common ones. */
export const CHECK_ENDPOINT: EndpointFields = endpointFields('check');

/**
 * Random point i draws from stream 2^31 + i of the seed: streams the program's own draws (the
 * sample index, 0 outside `sample`) do not reach.
 */
const POINT_STREAMS = 2 ** 31;

const pointer = (key: string): string => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** A student's answer for one quantity: numbers (graded at `at`) or an expression of the inputs. */
type Given = { readonly kind: 'numbers'; readonly value: Tensor } | { readonly kind: 'expression'; readonly text: string };

interface Graded {
  /** "value" or "grad.<name>". */
  readonly quantity: string;
  readonly given: Given;
}

interface TraceEntry {
  readonly id: string;
  readonly fields: ReadonlyMap<TraceField, Tensor>;
}

type TraceField = 'value' | 'tangent' | 'adjoint';

interface CheckSpec {
  readonly gradcheck: boolean;
  readonly value: Graded | null;
  readonly grads: readonly (Graded & { readonly name: string })[];
  readonly trace: readonly TraceEntry[] | null;
  readonly points: readonly ReadonlyMap<string, Tensor>[] | null;
  readonly random: { readonly n: number; readonly ranges: readonly (readonly [string, number, number])[] } | null;
  readonly rtol: number;
  readonly atol: number;
}

function givenOf(json: unknown, path: string, limits: ComputeLimits): Given {
  if (typeof json === 'string') return { kind: 'expression', text: json };
  return { kind: 'numbers', value: decodeValue(json, path, { maxElements: limits.maxTensorElements }) };
}

function tolerance(body: CheckRequest, name: 'rtol' | 'atol', fallback: number): number {
  const v = body[name];
  if (v === undefined) return fallback;
  // The schema says non-negative; 1e400 parses to Infinity, and a library call may pass NaN.
  if (!(v >= 0) || !Number.isFinite(v)) throw new Problem('INVALID_REQUEST', `"${name}" must be a non-negative number`, { path: `/${name}` });
  return v;
}

/** What the schema cannot say of the fields `check` adds to the common ones (the common ones are `parseRequest`'s). */
function parseCheck(body: CheckRequest, limits: Readonly<Required<ComputeLimits>>): CheckSpec {
  const { answer } = body;
  const gradcheck = body.gradcheck !== undefined;
  if (gradcheck === (answer !== undefined)) throw new Problem('INVALID_REQUEST', 'send exactly one of "answer" or "gradcheck": true', { path: '' });

  let value: Graded | null = null;
  const grads: (Graded & { name: string })[] = [];
  let trace: TraceEntry[] | null = null;
  if (answer !== undefined) {
    if (answer.value !== undefined) value = { quantity: 'value', given: givenOf(answer.value, '/answer/value', limits) };
    if (answer.grad !== undefined) {
      for (const [name, json] of inputEntries(answer.grad, '/answer/grad', limits)) {
        grads.push({ name, quantity: `grad.${name}`, given: givenOf(json, `/answer/grad${pointer(name)}`, limits) });
      }
    }
    if (answer.trace !== undefined) trace = parseTrace(answer.trace, limits);
  }

  if (body.points !== undefined && body.random !== undefined) throw new Problem('INVALID_REQUEST', 'send at most one of "points" or "random"', { path: '/random' });
  let points: Map<string, Tensor>[] | null = null;
  if (body.points !== undefined) {
    if (body.points.length > limits.maxCheckPoints) {
      throw new Problem('TOO_LARGE', `"points" has ${body.points.length} points, over the limit of ${limits.maxCheckPoints}`, { path: '/points' });
    }
    points = body.points.map((point, i) => {
      const values = new Map<string, Tensor>();
      for (const [name, json] of inputEntries(point, `/points/${i}`, limits)) {
        values.set(name, decodeValue(json, `/points/${i}${pointer(name)}`, { maxElements: limits.maxTensorElements }));
      }
      return values;
    });
  }
  let random: CheckSpec['random'] = null;
  if (body.random !== undefined) {
    const { n, ranges: rangesJson } = body.random;
    if (n < 1 || n > limits.maxCheckPoints) throw new Problem('INVALID_ARGUMENT', `"random.n" must be from 1 to ${limits.maxCheckPoints}, got ${n}`, { path: '/random/n' });
    const ranges = inputEntries(rangesJson, '/random/ranges', limits).map(([name, range]): [string, number, number] => {
      const path = `/random/ranges${pointer(name)}`;
      // Two numbers, the schema says; 1e400 parses to Infinity.
      if (!range.every(Number.isFinite) || !(range[0] <= range[1])) {
        throw new Problem('INVALID_REQUEST', 'a range must be [lo, hi], two finite numbers with lo <= hi', { path });
      }
      return [name, range[0], range[1]];
    });
    random = { n, ranges };
  }

  // Numbers are the answer at one point: `at`, or the one entry of `points` (an autograder sends its point so).
  if ((points !== null && points.length > 1) || random !== null) {
    const numeric = [value, ...grads].find((g) => g !== null && g.given.kind === 'numbers');
    const where = points !== null ? '/points' : '/random';
    const several = points !== null ? `the ${points.length} points` : 'random points';
    if (numeric !== undefined && numeric !== null) {
      throw new Problem('INVALID_REQUEST', `the answer's ${numeric.quantity} is a number, the answer at one point: it cannot be compared at ${several}; send one point, or give it as an expression of the inputs`, { path: where });
    }
    if (trace !== null) throw new Problem('INVALID_REQUEST', `a trace is graded at one point: "at", or a single entry of "points", not ${several}`, { path: where });
  }
  const rtol = tolerance(body, 'rtol', gradcheck ? GRADCHECK_RTOL : CHECK_RTOL);
  const atol = tolerance(body, 'atol', gradcheck ? GRADCHECK_ATOL : CHECK_ATOL);
  return { gradcheck, value, grads, trace, points, random, rtol, atol };
}

/** The entries of an object keyed by input names: names checked, at most `maxInputs` of them. */
function inputEntries<T>(json: Readonly<Record<string, T>>, path: string, limits: Readonly<Required<ComputeLimits>>): [string, T][] {
  const names = Object.keys(json);
  if (names.length > limits.maxInputs) throw new Problem('TOO_LARGE', `${path.slice(1).replace(/\//g, '.')} has ${names.length} inputs, over the limit of ${limits.maxInputs}`, { path });
  return names.map((name) => {
    if (!isName(name)) throw new Problem('INVALID_REQUEST', `${JSON.stringify(name.slice(0, 40))} is not a valid input name: an input name is ${NAME_RULE}`, { path: `${path}${pointer(name)}` });
    return [name, json[name]];
  });
}

function parseTrace(json: NonNullable<NonNullable<CheckRequest['answer']>['trace']>, limits: Readonly<Required<ComputeLimits>>): TraceEntry[] {
  if (json.length > limits.maxTraceEntries) {
    throw new Problem('TOO_LARGE', `"answer.trace" has ${json.length} entries, over the limit of ${limits.maxTraceEntries}`, { path: '/answer/trace' });
  }
  return json.map((entry, i) => {
    const path = `/answer/trace/${i}`;
    const fields = new Map<TraceField, Tensor>();
    // In the entry's order, as given.
    for (const key of Object.keys(entry)) {
      if (key === 'id') continue;
      fields.set(key as TraceField, decodeValue(entry[key as TraceField], `${path}/${key}`, { maxElements: limits.maxTensorElements }));
    }
    if (fields.size === 0) throw new Problem('INVALID_REQUEST', 'a trace entry needs at least one of value, tangent, adjoint', { path });
    return { id: entry.id, fields };
  });
}

/**
 * The body with every input `at` lacks added to it: a point's value, or a range's low end (a
 * scalar input), so that `wrt` may name it and its gradient be taken. The points override them.
 */
function withInputs(body: CheckRequest, spec: CheckSpec, limits: Readonly<Required<ComputeLimits>>): CheckRequest {
  const at: NonNullable<CheckRequest['at']> = { ...body.at };
  const given = Object.keys(at).length;
  let count = given;
  // Defined, not assigned: a name such as "__proto__" is an input like any other.
  const add = (name: string, value: TensorJson): void => {
    if (Object.hasOwn(at, name)) return;
    Object.defineProperty(at, name, { value, enumerable: true, writable: true, configurable: true });
    // "at" over the limit is parseRequest's to refuse; the points' or ranges' names are refused here.
    if (++count > limits.maxInputs && given <= limits.maxInputs) {
      throw new Problem('TOO_LARGE', `the points name more than ${limits.maxInputs} inputs in all, over the limit of ${limits.maxInputs}`, { path: spec.points !== null ? '/points' : '/random/ranges' });
    }
  };
  for (const [name, lo] of spec.random?.ranges ?? []) add(name, lo);
  for (const point of body.points ?? []) for (const [name, json] of Object.entries(point)) add(name, json);
  return { ...body, at };
}

/** A graded failure, as the response lists it. */
interface Failure {
  point: Record<string, unknown>;
  quantity: string;
  expected: unknown;
  got: unknown;
  error: unknown;
  reason?: string;
  code?: ProblemCode;
}

/** Why an answer could not be evaluated: a problem's code and a sentence for the student. */
interface Unevaluable {
  readonly code: ProblemCode;
  readonly reason: string;
}

const LEAD: Partial<Record<ProblemCode, string>> = {
  PARSE_ERROR: 'the answer does not parse',
  UNKNOWN_NAME: 'the answer names something unknown',
  LIMIT_EXCEEDED: 'the answer runs over a limit',
  TOO_LARGE: 'the answer is too long',
};

function unevaluable(body: ProblemBody, inputs: readonly string[]): Unevaluable {
  const where = body.line !== undefined && body.line > 0 ? ` (line ${body.line}, column ${body.column})` : '';
  const names = body.code === 'UNKNOWN_NAME' ? `; the inputs are ${inputs.length === 0 ? 'none' : inputs.join(', ')}` : '';
  return { code: body.code, reason: `${LEAD[body.code] ?? 'the answer cannot be evaluated'}: ${body.detail}${where}${names}` };
}

/** The problem of an error in the student's answer; a bug (INTERNAL) is not the student's and is thrown. */
function answerProblem(e: unknown): ProblemBody {
  const problem = toProblem(e);
  if (problem.code === 'INTERNAL') throw e;
  return problem.body;
}

/** A student's expression, parsed once: the program, or why it cannot be evaluated. */
function compileAnswer(text: string, limits: Readonly<Required<ComputeLimits>>, inputs: readonly string[]): Program | Unevaluable {
  if (text.length > limits.maxProgramLength) {
    return { code: 'TOO_LARGE', reason: `the answer is too long: ${text.length} characters, over the limit of ${limits.maxProgramLength}` };
  }
  try {
    return parseProgram(text, { maxNesting: limits.maxNesting });
  } catch (e) {
    return unevaluable(answerProblem(e), inputs);
  }
}

function evaluateAnswer(ev: Evaluation, program: Program, inputs: ReadonlyMap<string, Tensor>): Tensor | Unevaluable {
  const cx = ev.transientContext();
  const runLimits: RunLimits = { maxIterations: ev.limits.maxIterations, maxDepth: ev.limits.maxDepth };
  try {
    cx.checkDeadline('check');
    const { last } = run(cx, program, inputs, { limits: runLimits });
    if (last === null) return { code: 'INVALID_ARGUMENT', reason: 'the answer computes no number or tensor' };
    if (last instanceof Distribution) return { code: 'INVALID_ARGUMENT', reason: `the answer is a ${last.family.name} distribution, not a number or a tensor` };
    return concrete(last);
  } catch (e) {
    return unevaluable(answerProblem(e), [...inputs.keys()]);
  } finally {
    ev.countOperations(cx);
  }
}

/** Compares element by element; the largest |got - expected|, or a reason when the shapes differ. */
function compare(got: Tensor, expected: Tensor, rtol: number, atol: number): { ok: boolean; error: number | null; reason?: string } {
  if (!sameShape(got.shape, expected.shape) && !(got.size === 1 && expected.size === 1)) {
    return { ok: false, error: null, reason: `the answer has shape ${formatShape(got.shape)}, but the expected value has shape ${formatShape(expected.shape)}` };
  }
  let ok = true;
  let error = 0;
  for (let i = 0; i < expected.size; i++) {
    const g = got.data[i];
    const e = expected.data[i];
    const same = g === e || (Number.isNaN(g) && Number.isNaN(e));
    const d = same ? 0 : Math.abs(g - e);
    // A non-finite number matches only itself.
    if (!same && !(Number.isFinite(g) && Number.isFinite(e) && d <= atol + rtol * Math.abs(e))) ok = false;
    if (Number.isNaN(d) || Number.isNaN(error)) error = NaN;
    else if (d > error) error = d;
  }
  return { ok, error };
}

/** The reference at one point: the program's value and its gradient with respect to `wrt`. */
interface Reference {
  readonly value: Tensor;
  readonly grads: ReadonlyMap<string, Tensor>;
}

/** A context with the request's budgets and a generator of its seed, whose draws the evaluation notes. */
function withContext<T>(ev: Evaluation, body: (cx: Context) => T): T {
  const cx = ev.transientContext();
  const random = new Random(ev.seed);
  cx.random = random;
  try {
    cx.checkDeadline('check');
    return body(cx);
  } finally {
    if (random.used) ev.noteDraws();
    ev.countOperations(cx);
  }
}

/** The program as a function of the `wrt` inputs at one point. */
function programAt(ev: Evaluation, inputs: ReadonlyMap<string, Tensor>, wrt: readonly string[]): Fn {
  return (cx, xs) => {
    const map = new Map<string, LangValue>(inputs);
    wrt.forEach((name, i) => map.set(name, xs[i]));
    return ev.output(cx, map);
  };
}

function referenceAt(ev: Evaluation, inputs: ReadonlyMap<string, Tensor>, wrt: readonly string[], cotangent: Tensor | null): Reference {
  return withContext(ev, (cx) => {
    if (wrt.length === 0) return { value: concrete(ev.output(cx, inputs)), grads: new Map() };
    const f = programAt(ev, inputs, wrt);
    const fn: Fn =
      cotangent === null
        ? f
        : (c, xs) => {
            const out = f(c, xs);
            if (!sameShape(out.shape, cotangent.shape)) {
              throw new Problem('SHAPE_MISMATCH', `"cotangent" has shape ${formatShape(cotangent.shape)}, but the output has shape ${formatShape(out.shape)}`, { path: '/cotangent' });
            }
            return out;
          };
    let result;
    try {
      result = gradient(cx, fn, wrt.map((name) => inputs.get(name)!), cotangent ?? undefined);
    } catch (e) {
      if (e instanceof EngineError && e.code === 'NOT_SCALAR' && e.op === 'grad') {
        throw new Problem('NOT_SCALAR', `${e.message.replace(/;.*$/, '')}; send "cotangent", a tensor shaped like the output, to grade a vector-Jacobian product`, { path: '/cotangent' });
      }
      throw e;
    }
    return { value: concrete(result.value), grads: new Map(wrt.map((name, i) => [name, concrete(result.grads[i])])) };
  });
}

/** The points to grade at: `at` alone, each of `points` merged over it, or random points. */
function pointsOf(ev: Evaluation, spec: CheckSpec, given: ReadonlySet<string>): Map<string, Tensor>[] {
  const at = ev.request.at;
  if (spec.points !== null) {
    return spec.points.map((point, i) => {
      for (const name of at.keys()) {
        if (!given.has(name) && !point.has(name)) {
          throw new Problem('INVALID_ARGUMENT', `point ${i + 1} gives no value for "${name}", and "at" has none: every input needs a value at every point`, { path: `/points/${i}` });
        }
      }
      return new Map([...at, ...point]);
    });
  }
  if (spec.random !== null) {
    const { n, ranges } = spec.random;
    keptWithin(ev, spec, n, ranges.reduce((sum, [name]) => sum + (given.has(name) ? at.get(name)!.size : 1), 0), 'the random inputs');
    return Array.from({ length: n }, (_, i) => {
      const generator = new Random(ev.seed, POINT_STREAMS + i);
      const point = new Map(at);
      for (const [name, lo, hi] of ranges) {
        // A range applies to every element of a tensor input, shaped as in "at".
        const shape = given.has(name) ? at.get(name)!.shape : [];
        const draw = generator.draw();
        const values = new Tensor(shape, new Float64Array(sizeOf(shape)));
        for (let j = 0; j < values.size; j++) values.data[j] = lo + (hi - lo) * draw.uniform(j);
        point.set(name, values);
      }
      return point;
    });
  }
  return [new Map(at)];
}

/**
 * Every point's inputs and expected values are kept until the answers are graded (so that a
 * slow answer cannot leave the reference unevaluated): their numbers are held to the limit on
 * one tensor in a request.
 */
function keptWithin(ev: Evaluation, spec: CheckSpec, points: number, perPoint: number, what: string): void {
  const max = ev.limits.maxTensorElements;
  if (points <= 1 || points * perPoint <= max) return;
  throw new Problem('TOO_LARGE', `${what} of ${points} points are ${points * perPoint} numbers, over the limit of ${max}: grade at fewer points`, {
    path: spec.points !== null ? '/points' : spec.random !== null ? '/random/n' : '',
  });
}

/** Adds a point to the detail of a problem the program (not the answer) has there. */
function atPoint(e: unknown, index: number, count: number, point: Record<string, unknown>): Problem {
  const problem = toProblem(e);
  if (count === 1 || problem.code === 'INTERNAL') return problem;
  const { code, detail, line, column, path, limit } = problem.body;
  const shown = JSON.stringify(point);
  const where = Object.fromEntries(Object.entries({ line, column, path, limit }).filter(([, v]) => v !== undefined));
  return new Problem(code, `${detail} (the program, at point ${index + 1} of ${count}: ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown})`, where);
}

interface Outcome {
  readonly points: number;
  readonly passed: number;
  readonly failures: Failure[];
  readonly extra: Record<string, unknown>;
}

/** `check`: a student's answer (value, gradient, trace entries) graded against the program, or the program's gradient against finite differences. */
export const checkEndpoint: BodyEndpoint<CheckRequest> = { name: 'check', fields: CHECK_ENDPOINT, run: check };

function check(body: CheckRequest, options: ComputeOptions): unknown {
  const limits = withDefaults(options.limits);
  const spec = parseCheck(body, limits);
  let ev: Evaluation | null = null;
  try {
    ev = prepare('check', withInputs(body, spec, limits), { ...options, limits });
    const given = new Set(Object.keys(body.at ?? {}));
    const points = pointsOf(ev, spec, given);
    const outcome = spec.gradcheck ? gradcheckPoints(ev, spec, points) : gradeAnswers(ev, spec, points);
    const drew = spec.random !== null || ev.randomUsed();
    return {
      pass: outcome.passed === outcome.points,
      score: outcome.passed / outcome.points,
      points: outcome.points,
      passed: outcome.passed,
      failures: outcome.failures,
      tolerance: { rtol: spec.rtol, atol: spec.atol },
      ...outcome.extra,
      ...(drew ? { seed: ev.seed } : {}),
    };
  } finally {
    countOperations(options.stats, ev);
  }
}

function gradeAnswers(ev: Evaluation, spec: CheckSpec, points: readonly Map<string, Tensor>[]): Outcome {
  const { layout } = ev.request;
  const encode = (v: Value): unknown => encodeValue(v, layout);
  const encodePoint = (point: ReadonlyMap<string, Tensor>): Record<string, unknown> => Object.fromEntries([...point].map(([name, v]) => [name, encode(v)]));
  for (const { name } of spec.grads) {
    if (!ev.request.at.has(name)) {
      const inputs = [...ev.request.at.keys()];
      throw new Problem('INVALID_ARGUMENT', `"answer.grad" gives "${name}", which is not an input: ${inputs.length === 0 ? 'the request gives no inputs' : `the inputs are ${inputs.join(', ')}`}`, {
        path: `/answer/grad${pointer(name)}`,
      });
    }
  }
  const cotangent = tensorField(ev.request, 'cotangent', ev.limits);
  const wrt = spec.grads.map((g) => g.name);
  // The reference everywhere first: a program that fails is the request's problem, whatever the answer.
  const references = points.map((point, i) => {
    let reference;
    try {
      reference = referenceAt(ev, point, wrt, cotangent);
    } catch (e) {
      throw atPoint(e, i, points.length, encodePoint(point));
    }
    if (i === 0) keptWithin(ev, spec, points.length, reference.value.size + [...reference.grads.values()].reduce((sum, g) => sum + g.size, 0), 'the expected values');
    return reference;
  });

  const inputs = [...ev.request.at.keys()];
  const graded = [...(spec.value === null ? [] : [spec.value]), ...spec.grads];
  const programs = graded.map((g) => (g.given.kind === 'expression' ? compileAnswer(g.given.text, ev.limits, inputs) : null));
  const failures: Failure[] = [];
  const extra: Record<string, unknown> = {};
  let passed = 0;
  points.forEach((point, i) => {
    const reference = references[i];
    let ok = true;
    graded.forEach((g, k) => {
      const expected = g.quantity === 'value' ? reference.value : reference.grads.get(g.quantity.slice('grad.'.length))!;
      const compiled = programs[k];
      const got = g.given.kind === 'numbers' ? g.given.value : isUnevaluable(compiled!) ? compiled : evaluateAnswer(ev, compiled!, point);
      const fail = (failure: Omit<Failure, 'point' | 'quantity' | 'expected'>): void => {
        ok = false;
        if (failures.length < MAX_FAILURES) failures.push({ point: encodePoint(point), quantity: g.quantity, expected: encode(expected), ...failure });
      };
      if (!(got instanceof Tensor)) {
        fail({ got: null, error: null, reason: got.reason, code: got.code });
        return;
      }
      const { ok: close, error, reason } = compare(got, expected, spec.rtol, spec.atol);
      if (!close) fail({ got: encode(got), error: error === null ? null : encode(Tensor.scalar(error)), ...(reason === undefined ? {} : { reason, code: 'SHAPE_MISMATCH' as const }) });
    });
    if (spec.trace !== null) {
      const traced = gradeTrace(ev, spec.trace, spec, point, encodePoint(point), failures);
      if (!traced.ok) ok = false;
      extra.trace = traced.summary;
    }
    if (ok) passed++;
  });
  return { points: points.length, passed, failures, extra };
}

function isUnevaluable(v: Program | Unevaluable): v is Unevaluable {
  return 'reason' in v;
}

/** The value of a table cell: a tensor, or null for a distribution's step (its value is the family's name, its tangent null). */
function cell(json: unknown): Tensor | null {
  if (json === null || json === undefined || (typeof json === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(json))) return null;
  return decodeValue(json, '');
}

interface TableRow {
  readonly id: string;
  readonly op: string;
  readonly value: unknown;
  readonly tangent: unknown;
  readonly adjoint: unknown;
}

/**
 * A student's Wengert list against the true one (the table `/v1/trace` gives for the same body at the point `at`),
 * entry by entry in the order the table is filled in: values and tangents from the inputs
 * forwards, then adjoints from the output backwards. Ids the table does not have come first.
 */
function gradeTrace(
  ev: Evaluation,
  entries: readonly TraceEntry[],
  spec: CheckSpec,
  at: ReadonlyMap<string, Tensor>,
  point: Record<string, unknown>,
  failures: Failure[],
): { ok: boolean; summary: unknown } {
  const table = traceEndpoint.handle(ev.withRequest({ ...ev.request, at, options: { ...ev.request.options, format: 'table' } })) as {
    inputs: { name: string; value: unknown; tangent: unknown; adjoint: unknown }[];
    steps: TableRow[];
  };
  const rows: TableRow[] = [...table.inputs.map(({ name, ...cells }) => ({ id: name, op: 'input', ...cells })), ...table.steps];
  const ids = new Set(rows.map((r) => r.id));
  // The student's entries by id, in their order: each (id, field) below meets only its own.
  const byId = new Map<string, TraceEntry[]>();
  for (const e of entries) {
    const list = byId.get(e.id);
    if (list === undefined) byId.set(e.id, [e]);
    else list.push(e);
  }
  const order: { id: string; field: TraceField; row: TableRow | null }[] = [
    ...entries.filter((e) => !ids.has(e.id)).flatMap((e) => [...e.fields.keys()].map((field) => ({ id: e.id, field, row: null }))),
    ...rows.flatMap((row) => (['value', 'tangent'] as const).map((field) => ({ id: row.id, field, row }))),
    ...[...rows].reverse().map((row) => ({ id: row.id, field: 'adjoint' as const, row })),
  ];
  const steps = table.steps.length === 0 ? 'no steps' : `steps ${table.steps[0].id} to ${table.steps[table.steps.length - 1].id}`;
  const inputs = table.inputs.length === 0 ? '' : ` and the inputs ${table.inputs.map((i) => i.name).join(', ')}`;
  const encode = (v: Tensor | null): unknown => (v === null ? null : encodeValue(v, ev.request.layout));
  let graded = 0;
  let correct = 0;
  let firstWrong: Record<string, unknown> | null = null;
  const seen = new Set<string>();
  for (const { id, field, row } of order) {
    // An unknown id is graded once per field, whatever its repeats.
    const key = `${id}\u0000${field}\u0000${row === null ? 'unknown' : 'row'}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const entry of byId.get(id) ?? []) {
      if (!entry.fields.has(field)) continue;
      graded++;
      const got = entry.fields.get(field)!;
      const expected = row === null ? null : cell(row[field]);
      let verdict: { ok: boolean; error: number | null; reason?: string };
      if (row === null) verdict = { ok: false, error: null, reason: `there is no step "${id}": the trace has ${steps}${inputs}` };
      else if (expected === null) verdict = { ok: false, error: null, reason: `step ${id} (${row.op}) makes a distribution: it has no ${field} to grade` };
      else verdict = compare(got, expected, spec.rtol, spec.atol);
      if (verdict.ok) {
        correct++;
        continue;
      }
      const wrong = {
        expected: encode(expected),
        got: encode(got),
        error: verdict.error === null ? null : encodeValue(Tensor.scalar(verdict.error)),
        ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
      };
      firstWrong ??= { id, ...(row === null ? {} : { op: row.op }), field, ...wrong };
      if (failures.length < MAX_FAILURES) failures.push({ point, quantity: `${id}.${field}`, ...wrong });
    }
  }
  return { ok: correct === graded, summary: { graded, correct, firstWrong } };
}

/** The engine's gradient against central differences at every point, as PyTorch's gradcheck. */
function gradcheckPoints(ev: Evaluation, spec: CheckSpec, points: readonly Map<string, Tensor>[]): Outcome {
  const { wrt, layout } = ev.request;
  if (wrt.length === 0) throw new Problem('INVALID_ARGUMENT', 'gradcheck needs an input to differentiate with respect to: give one in "at"', { path: '/at' });
  const encode = (v: Value): unknown => encodeValue(v, layout);
  const failures: Failure[] = [];
  let passed = 0;
  let maxError = 0;
  points.forEach((point, i) => {
    const shown = Object.fromEntries([...point].map(([name, v]) => [name, encode(v)]));
    let result;
    let outputSize = 1;
    try {
      result = withContext(ev, (cx) => engineGradcheck(cx, programAt(ev, point, wrt), wrt.map((name) => point.get(name)!), { eps: GRADCHECK_EPS, rtol: spec.rtol, atol: spec.atol }));
      if (!result.ok) outputSize = withContext(ev, (cx) => concrete(ev.output(cx, point)).size);
    } catch (e) {
      throw atPoint(e, i, points.length, shown);
    }
    if (Number.isNaN(result.maxError) || result.maxError > maxError) maxError = result.maxError;
    if (result.ok) {
      passed++;
      return;
    }
    for (const f of result.failures) {
      if (failures.length >= MAX_FAILURES) break;
      const name = wrt[f.input];
      const element = point.get(name)!.size === 1 ? '' : `[${f.element + 1}]`;
      // Flat, 1-based, row-major positions, as the language indexes.
      const quantity = outputSize === 1 ? `grad.${name}${element}` : `jacobian.${name}[${f.output + 1}, ${f.element + 1}]`;
      failures.push({ point: shown, quantity, expected: encode(Tensor.scalar(f.numeric)), got: encode(Tensor.scalar(f.analytic)), error: encode(Tensor.scalar(Math.abs(f.analytic - f.numeric))) });
    }
  });
  return { points: points.length, passed, failures, extra: { gradcheck: { eps: GRADCHECK_EPS, maxError: encode(Tensor.scalar(maxError)) } } };
}
