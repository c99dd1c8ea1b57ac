/**
 * `compute(endpoint, body)`: exactly the JSON that `POST /v1/<endpoint>` returns for that body,
 * or a rejected `Problem`. The server's workers call it; tests and a browser widget may too.
 * Isomorphic: no Node.js API.
 */
import {
  Context,
  EngineError,
  NotCompilable,
  Tensor,
  compileGradient,
  compileGradientPlan,
  gradForward,
  grad as gradient,
  hessian as engineHessian,
  jacobian as engineJacobian,
  jvp as engineJvp,
  sameShape,
  formatShape,
  type Fn,
  type TensorStorage,
  type Value,
} from '../engine/index.js';
import { Distribution } from '../distributions/index.js';
import { type LangValue } from '../lang/catalogue.js';
import { ProgramError } from '../lang/errors.js';
import { graphProgram } from '../lang/graph.js';
import { run, type CallObserver, type RunLimits } from '../lang/interpret.js';
import type { Program } from '../lang/ir.js';
import { parseProgram } from '../lang/parse.js';
import { MAX_CACHED_PLAN_ELEMENTS, ProgramCache } from './cache.js';
import { Problem, toProblem } from './problem.js';
import { COMMON_OPTIONS, optionOf, parseRequest, tensorField, tensorsField, type EndpointFields, type ParsedRequest, type RequestLimits } from './request.js';
import { batchError, batchItems, deadlinePassed } from './batch.js';
import { derivativeEndpoint } from './derivative.js';
import { CHECK_ENDPOINT, checkEndpoint } from './check.js';
import { traceEndpoint } from './trace.js';
import { loadSvgRenderer, wantsSvg } from './svg.js';
import { optimize, optimizeBody, type OptimizeProgress } from './optimize.js';
import { BLOCK, sampleChunk, sampleRequest, summarise, type SampleChunk } from './sample.js';
import { encodeValue } from './values.js';
import { Random, fillNoise, freshSeed } from '../engine/random.js';

export interface ComputeLimits extends RequestLimits, RunLimits {
  /** Primitive operations per evaluation. */
  maxOperations?: number;
  /** Tensor elements allocated per evaluation. */
  maxElements?: number;
  /** Wall-clock time per request unless `options.timeoutMs` asks for less, in milliseconds. */
  timeoutMs?: number;
  /** The deepest bracket nesting of a program. */
  maxNesting?: number;
  /** The most requests in one batch. */
  maxBatch?: number;
  /** The most samples one `sample` request may ask for. */
  maxSamples?: number;
  /** The most points one `check` request may grade at. */
  maxCheckPoints?: number;
  /** The most entries of a `check` answer's trace. */
  maxTraceEntries?: number;
  /** The most steps of one `optimize` request. */
  maxSteps?: number;
}

export const DEFAULT_LIMITS: Readonly<Required<ComputeLimits>> = Object.freeze({
  maxProgramLength: 100_000,
  maxInputs: 1000,
  maxTensorElements: 1_000_000,
  maxGraphNodes: 10_000,
  maxOperations: 10_000_000,
  maxElements: 50_000_000,
  timeoutMs: 10_000,
  maxIterations: 1_000_000,
  maxDepth: 256,
  maxNesting: 256,
  maxBatch: 100,
  maxSamples: 10_000_000,
  maxCheckPoints: 1000,
  maxTraceEntries: 10_000,
  maxSteps: 1_000_000,
});

export { ProgramCache, PROGRAM_CACHE_BYTES } from './cache.js';

export interface ComputeOptions {
  limits?: ComputeLimits;
  cache?: ProgramCache;
  /** Milliseconds, for deadlines (performance.now by default). */
  clock?: () => number;
  /** Filled in as the request is computed: the primitive operations its evaluations ran. */
  stats?: { operations: number };
  /** Told of progress as the work goes on (`optimize`'s `{"type": "progress", step, loss}`), for streams. */
  onProgress?: OptimizeProgress;
}

/** Everything an endpoint needs: the request, the program, and how to evaluate it. */
export interface Evaluation {
  readonly request: ParsedRequest;
  readonly program: Program;
  readonly limits: Readonly<Required<ComputeLimits>>;
  readonly cache: ProgramCache;
  readonly cacheKey: string;
  /** Every context made so far: their operation counts are the evaluation's. */
  readonly contexts: readonly Context[];
  /** A fresh context with this request's budgets. */
  context(): Context;
  /** A context with this request's budgets that the evaluation does not keep: count its operations with `countOperations`. */
  transientContext(storage?: TensorStorage): Context;
  countOperations(cx: Context): void;
  /** Operations of contexts no longer kept. */
  readonly released: { operations: number };
  /** The program as a function of the `wrt` inputs (the other inputs held fixed). */
  readonly fn: Fn;
  /** The `wrt` inputs' values, in order. */
  readonly primals: Tensor[];
  /** The seed of every draw: the request's, or a fresh one. */
  readonly seed: number;
  /** Whether any evaluation drew random numbers (the response then reports the seed). */
  randomUsed(): boolean;
  /** Records draws made outside the contexts' generators (by compiled code). */
  noteDraws(): void;
  /** Runs the program on the given inputs and returns its output. */
  output(cx: Context, inputs: ReadonlyMap<string, LangValue>, onCall?: CallObserver): Value;
}

const defaultCache = new ProgramCache();

export function prepare(endpoint: EndpointFields, body: unknown, options: ComputeOptions): Evaluation {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const cache = options.cache ?? defaultCache;
  const clock = options.clock ?? (() => performance.now());
  const request = parseRequest(body, endpoint, limits);
  const cacheKey = request.program !== null ? `p:${request.program}` : `g:${JSON.stringify(request.body.graph)}`;
  const program = cache.program(`${cacheKey}\u0000${limits.maxNesting}`, () =>
    request.program !== null ? parseProgram(request.program, { maxNesting: limits.maxNesting }) : graphProgram(request.graph!),
  );
  const timeout = Math.min(limits.timeoutMs, request.timeoutMs ?? Infinity);
  const start = clock();
  const contexts: Context[] = [];
  const seed = request.seed ?? freshSeed();
  const generators: Random[] = [];
  const transientContext = (storage?: TensorStorage): Context =>
    new Context({ maxOperations: limits.maxOperations, maxElements: limits.maxElements, deadline: start + timeout }, clock, storage);
  const context = (): Context => {
    const cx = transientContext();
    const random = new Random(seed);
    cx.random = random;
    generators.push(random);
    contexts.push(cx);
    return cx;
  };
  const released = { operations: 0 };
  const countOperations = (cx: Context): void => {
    released.operations += cx.operations;
  };
  let drewElsewhere = false;
  const randomUsed = (): boolean => drewElsewhere || generators.some((g) => g.used);
  const noteDraws = (): void => {
    drewElsewhere = true;
  };
  const runLimits: RunLimits = { maxIterations: limits.maxIterations, maxDepth: limits.maxDepth };
  const output: Evaluation['output'] = (cx, inputs, onCall) => {
    cx.random?.restart();
    const result = run(cx, program, inputs, { limits: runLimits, onCall });
    const value = request.output !== null ? result.variable(request.output) : result.last;
    if (request.output !== null && value === undefined) {
      throw new Problem('INVALID_ARGUMENT', `"output" names "${request.output}", which the program never assigns`, { path: '/output' });
    }
    if (value === null || value === undefined) {
      throw new Problem('INVALID_ARGUMENT', 'the program computes no number or tensor: its last statement defines a function or gives a string', { path: '' });
    }
    if (typeof value === 'string') throw new Problem('INVALID_ARGUMENT', 'the program\'s result is a string, not a number or a tensor', { path: '' });
    if (value instanceof Distribution) {
      throw new Problem('INVALID_ARGUMENT', `the program's result is a ${value.family.name} distribution, not a number or a tensor: draw from it (rsample(d), sample(d)) or take log_prob(d, x), mean(d), entropy(d)`, { path: '' });
    }
    return value;
  };
  const differentiated = new Set(request.wrt);
  const fixed = new Map<string, LangValue>([...request.at].filter(([name]) => !differentiated.has(name)));
  const fn: Fn = (cx, xs) => {
    const inputs = new Map(fixed);
    request.wrt.forEach((name, i) => inputs.set(name, xs[i]));
    return output(cx, inputs);
  };
  return { request, program, limits, cache, cacheKey, context, contexts, transientContext, countOperations, released, seed, randomUsed, noteDraws, fn, primals: request.wrt.map((name) => request.at.get(name)!), output };
}

const encodeMap = (names: readonly string[], values: readonly Value[], layout: ParsedRequest['layout']): Record<string, unknown> =>
  Object.fromEntries(names.map((name, i) => [name, encodeValue(values[i], layout)]));

function evalEndpoint(ev: Evaluation): unknown {
  const fast = compiledGradient(ev);
  const value = fast !== null ? Tensor.scalar(fast.value) : ev.output(ev.context(), ev.request.at);
  return { value: encodeValue(value, ev.request.layout) };
}

/**
 * A scalar program of scalar inputs with no data-dependent control flow is compiled once into
 * straight-line JavaScript (see engine/compile.ts) and its value and gradient then cost a few
 * evaluations. Anything else, or anything that fails while compiling, takes the general path,
 * which also reports any error the program has.
 */
function compiledGradient(ev: Evaluation): { value: number; grads: number[] } | null {
  const { request } = ev;
  const names = [...request.at.keys()];
  if (names.length === 0 || names.some((n) => request.at.get(n)!.shape.length !== 0)) return null;
  const key = `${ev.cacheKey}\u0000${names.join(',')}\u0000${request.output ?? ''}`;
  const compiled = ev.cache.gradient(key, () => {
    try {
      return compileGradient((cx, xs) => ev.output(cx, new Map(names.map((n, i) => [n, xs[i]]))), names.length, ev.context());
    } catch (e) {
      if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem) return null;
      throw e;
    }
  });
  if (compiled === null) return null;
  // The program's scalar draws are inputs of the compiled code: the numbers run 0 of this seed draws.
  const noise = compiled.noise.map((kind, k) => {
    const out = new Float64Array(1);
    fillNoise(ev.seed, kind, k, 0, out);
    return out;
  });
  if (noise.length > 0) ev.noteDraws();
  let result;
  try {
    result = compiled.run([...names.map((n) => Float64Array.of(request.at.get(n)!.data[0])), ...noise], 1);
  } catch (e) {
    // A check failed in compiled code: the general path finds it again, with its place in the program.
    if (e instanceof EngineError && e.code === 'INVALID_ARGUMENT') return null;
    throw e;
  }
  const { value, grads } = result;
  const position = new Map(names.map((n, i) => [n, i]));
  return { value: value[0], grads: request.wrt.map((w) => grads[position.get(w)!][0]) };
}

/**
 * A tensor program whose inputs are all differentiated (so no data is baked into the plan),
 * coming again with inputs of the same shapes: its value and gradient from its plan, the same
 * numbers as the general engine's. Null where there is no plan, or the plan failed (the general
 * path then reports the error with its place in the program).
 */
function plannedGradient(ev: Evaluation): { value: Value; grads: Value[] } | null {
  const { request } = ev;
  if (request.wrt.length !== request.at.size || request.wrt.some((n) => !(request.at.get(n) instanceof Tensor))) return null;
  const shapes = request.wrt.map((n) => formatShape(request.at.get(n)!.shape)).join(' ');
  const key = `${ev.cacheKey}\u0000plan\u0000${request.wrt.join(',')}\u0000${shapes}\u0000${request.output ?? ''}`;
  const plan = ev.cache.plan(key, () => {
    try {
      const made = compileGradientPlan(ev.fn, ev.primals, ev.context());
      // A plan keeps its constants (a program's large literal, say) for as long as it is cached.
      return made.constantElements <= MAX_CACHED_PLAN_ELEMENTS ? made : null;
    } catch (e) {
      if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem || e instanceof EngineError) return null;
      throw e;
    }
  });
  if (plan === null) return null;
  try {
    return plan.run(ev.primals, ev.context());
  } catch (e) {
    if (e instanceof EngineError && e.code !== 'LIMIT_EXCEEDED') return null;
    throw e;
  }
}

function gradEndpoint(ev: Evaluation): unknown {
  const { request } = ev;
  const mode = optionOf(request, 'mode', ['reverse', 'forward'] as const, 'reverse');
  const cotangent = tensorField(request, 'cotangent', ev.limits);
  if (mode === 'reverse' && cotangent === null) {
    const fast = compiledGradient(ev);
    if (fast !== null) {
      return {
        value: encodeValue(Tensor.scalar(fast.value), request.layout),
        grad: encodeMap(request.wrt, fast.grads.map((g) => Tensor.scalar(g)), request.layout),
      };
    }
    const planned = plannedGradient(ev);
    if (planned !== null) return { value: encodeValue(planned.value, request.layout), grad: encodeMap(request.wrt, planned.grads, request.layout) };
  }
  const cx = ev.context();
  // A cotangent shaped unlike the output is the request's mistake, in either mode, even where
  // the output does not depend on the inputs.
  const fn: Fn =
    cotangent === null
      ? ev.fn
      : (c, xs) => {
          const out = ev.fn(c, xs);
          if (!sameShape(out.shape, cotangent.shape)) {
            throw new Problem('SHAPE_MISMATCH', `"cotangent" has shape ${formatShape(cotangent.shape)}, but the output has shape ${formatShape(out.shape)}; send a cotangent shaped like the output`, {
              path: '/cotangent',
            });
          }
          return out;
        };
  let result;
  try {
    result = (mode === 'forward' ? gradForward : gradient)(cx, fn, ev.primals, cotangent ?? undefined);
  } catch (e) {
    throw outputNotScalar(e, 'grad', 'send "cotangent", a tensor shaped like the output, for a vector-Jacobian product', '/cotangent');
  }
  return { value: encodeValue(result.value, request.layout), grad: encodeMap(request.wrt, result.grads, request.layout) };
}

/**
 * The engine's refusal of a non-scalar result for `op`, with advice for this endpoint. Any
 * other error, a NOT_SCALAR inside the program (an `if` on a vector) included, is left alone.
 */
function outputNotScalar(e: unknown, op: string, advice: string, path?: string): unknown {
  if (!(e instanceof EngineError) || e.code !== 'NOT_SCALAR' || e.op !== op) return e;
  return new Problem('NOT_SCALAR', `${e.message.replace(/; pass a cotangent.*$/, '')}; ${advice}`, path === undefined ? {} : { path });
}

function jvpEndpoint(ev: Evaluation): unknown {
  const { request } = ev;
  const given = tensorsField(request, 'tangents', ev.limits);
  const tangents = request.wrt.map((name) => given.get(name) ?? null);
  const { value, tangent } = engineJvp(ev.context(), ev.fn, ev.primals, tangents);
  return { value: encodeValue(value, request.layout), tangent: encodeValue(tangent, request.layout) };
}

function jacobianEndpoint(ev: Evaluation): unknown {
  const { request } = ev;
  const mode = optionOf(request, 'mode', ['reverse', 'forward'] as const, 'reverse');
  const { value, jacobians } = engineJacobian(ev.context(), ev.fn, ev.primals, mode);
  return { value: encodeValue(value, request.layout), jacobian: encodeMap(request.wrt, jacobians, request.layout) };
}

function hessianEndpoint(ev: Evaluation): unknown {
  const { request } = ev;
  let result;
  try {
    result = engineHessian(ev.context(), ev.fn, ev.primals);
  } catch (e) {
    // Not the engine's advice (a cotangent): a Hessian has no cotangent to send.
    throw outputNotScalar(e, 'hessian', 'make the result a scalar (a sum, a norm, one element), or ask jacobian for a vector output');
  }
  const { value, grads, hessian } = result;
  return {
    value: encodeValue(value, request.layout),
    grad: encodeMap(request.wrt, grads, request.layout),
    hessian: Object.fromEntries(request.wrt.map((name, i) => [name, encodeMap(request.wrt, hessian[i], request.layout)])),
  };
}

function sampleEndpoint(ev: Evaluation): unknown {
  const spec = sampleRequest(ev, ev.limits.maxSamples);
  return summarise([sampleChunk(ev, spec, 0, spec.n)]);
}

/**
 * Samples `from` to `from + count` of a `sample` request, for the service to spread a large n
 * over its workers; `summarise` combines the chunks, in order, into the response.
 */
export function sampleChunkSync(body: unknown, from: number, count: number, options: ComputeOptions = {}): SampleChunk {
  let ev: Evaluation | null = null;
  try {
    ev = prepare(endpoints.sample, body, options);
    const spec = sampleRequest(ev, ev.limits.maxSamples);
    if (!(Number.isInteger(from) && Number.isInteger(count) && from >= 0 && count >= 1 && from + count <= spec.n && from % BLOCK === 0)) {
      throw new RangeError(`a chunk of samples must be whole blocks within n: from ${from}, count ${count}`);
    }
    return sampleChunk(ev, spec, from, count);
  } catch (e) {
    throw toProblem(e);
  } finally {
    if (options.stats !== undefined && ev !== null) options.stats.operations += ev.released.operations + ev.contexts.reduce((sum, cx) => sum + cx.operations, 0);
  }
}

/** An endpoint: the request fields and options it takes beyond the common ones (request.ts), and its work. */
interface Endpoint extends EndpointFields {
  readonly handle: (ev: Evaluation) => unknown;
}

/** Endpoints that are not the evaluation of a program at a point take the body as it is. */
type RawEndpoint = (body: unknown, options: ComputeOptions) => unknown;

const rawEndpoints: Readonly<Record<string, RawEndpoint>> = {
  derivative: (body, options) => derivativeEndpoint(body, { ...DEFAULT_LIMITS, ...options.limits }, options),
  check: checkEndpoint,
  batch: batchEndpoint,
  optimize: optimizeEndpoint,
};

/** `optimize` takes the common fields and options; its own fields are optimizeBody's. */
const OPTIMIZE_ENDPOINT: EndpointFields = { fields: [], options: [] };

/** `optimize`: the parameters become inputs, differentiated; the data in `at` stays fixed. */
function optimizeEndpoint(body: unknown, options: ComputeOptions): unknown {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { body: merged, request } = optimizeBody(body, limits.maxTensorElements);
  let ev: Evaluation | null = null;
  try {
    ev = prepare(OPTIMIZE_ENDPOINT, merged, options);
    const result = optimize(ev, request, limits.maxSteps, options.onProgress);
    return ev.randomUsed() ? { ...result, seed: ev.seed } : result;
  } finally {
    if (options.stats !== undefined && ev !== null) options.stats.operations += ev.released.operations + ev.contexts.reduce((sum, cx) => sum + cx.operations, 0);
  }
}

/** `batch` in-process: the items one after another, under one deadline (see batch.ts). */
function batchEndpoint(body: unknown, options: ComputeOptions): unknown {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const clock = options.clock ?? (() => performance.now());
  const deadline = clock() + limits.timeoutMs;
  const results = batchItems(body, limits.maxBatch).map((item, i) => {
    try {
      if ('problem' in item) throw item.problem;
      const remaining = deadline - clock();
      if (remaining <= 0) throw deadlinePassed(limits.timeoutMs);
      return computeSync(item.endpoint, item.body, { ...options, limits: { ...limits, timeoutMs: remaining } });
    } catch (e) {
      return batchError(e, i);
    }
  });
  return { results };
}

const endpoints: Readonly<Record<string, Endpoint>> = {
  eval: { fields: [], options: [], handle: evalEndpoint },
  grad: { fields: ['cotangent'], options: ['mode'], handle: gradEndpoint },
  jvp: { fields: ['tangents'], options: [], handle: jvpEndpoint },
  jacobian: { fields: [], options: ['mode'], handle: jacobianEndpoint },
  hessian: { fields: [], options: [], handle: hessianEndpoint },
  trace: { fields: ['tangents', 'cotangent'], options: ['format'], handle: traceEndpoint },
  sample: { fields: ['n', 'cotangent'], options: ['samples', 'estimator'], handle: sampleEndpoint },
};

/** The options an endpoint takes, the common ones included (its schema in server/schemas.ts documents exactly these), or null: it takes none. */
export function endpointOptions(endpoint: string): readonly string[] | null {
  const all: Readonly<Record<string, EndpointFields>> = { ...endpoints, check: CHECK_ENDPOINT, optimize: OPTIMIZE_ENDPOINT };
  return Object.hasOwn(all, endpoint) ? [...COMMON_OPTIONS, ...all[endpoint].options] : null;
}

/** The endpoints `compute` serves. */
export const computeEndpoints: readonly string[] = [...Object.keys(endpoints), ...Object.keys(rawEndpoints)];

/**
 * Computes what `POST /v1/<endpoint>` returns for `body`; rejects with a `Problem` (its
 * `status`, `code`, `detail`, and `line`/`column` or `path`) exactly as the server would answer.
 */
export async function compute(endpoint: string, body: unknown, options: ComputeOptions = {}): Promise<unknown> {
  // Graphviz (WebAssembly) loads asynchronously, once, when a request first asks for SVG.
  if (wantsSvg(endpoint, body)) await loadSvgRenderer().catch((e: unknown) => Promise.reject(toProblem(e)));
  return computeSync(endpoint, body, options);
}

/**
 * `compute` without the promise, for callers already off the event loop (benchmarks). An SVG
 * trace needs Graphviz loaded first: `compute` loads it, or await `loadSvgRenderer()`.
 */
export function computeSync(endpoint: string, body: unknown, options: ComputeOptions = {}): unknown {
  if (Object.hasOwn(rawEndpoints, endpoint)) {
    try {
      return rawEndpoints[endpoint](body, options);
    } catch (e) {
      throw toProblem(e);
    }
  }
  const handler = Object.hasOwn(endpoints, endpoint) ? endpoints[endpoint] : undefined;
  if (handler === undefined) throw new Problem('NOT_FOUND', `there is no endpoint "${endpoint}"; the endpoints are ${computeEndpoints.join(', ')}`);
  let ev: Evaluation | null = null;
  try {
    ev = prepare(handler, body, options);
    const result = handler.handle(ev) as Record<string, unknown>;
    // A fresh seed is reported so that the draws can be repeated; a given one is echoed.
    return ev.randomUsed() ? { ...result, seed: ev.seed } : result;
  } catch (e) {
    throw toProblem(e);
  } finally {
    if (options.stats !== undefined && ev !== null) options.stats.operations += ev.released.operations + ev.contexts.reduce((sum, cx) => sum + cx.operations, 0);
  }
}
