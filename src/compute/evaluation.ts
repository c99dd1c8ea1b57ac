/**
 * An evaluation: a request parsed against its endpoint's fields, its program parsed (or taken
 * from the cache), and the means to run it within the request's limits: contexts carrying the
 * budgets and the deadline, the seed every draw starts from, and the program as a function of
 * the differentiated inputs. Every endpoint that runs a program starts from `prepare`.
 */
import { Context, type Fn, type Tensor, type TensorStorage, type Value } from '../engine/index.js';
import { Random, freshSeed } from '../engine/random.js';
import { Distribution } from '../distributions/index.js';
import type { LangValue } from '../lang/catalogue.js';
import { graphProgram } from '../lang/graph.js';
import { run, type CallObserver, type RunLimits } from '../lang/interpret.js';
import type { Program } from '../lang/ir.js';
import { parseProgram } from '../lang/parse.js';
import { ProgramCache } from './cache.js';
import { withDefaults, type ComputeLimits } from './limits.js';
import type { OptimizeProgress } from './optimize.js';
import { Problem } from './problem.js';
import { parseRequest, type EndpointFields, type ParsedRequest } from './request.js';

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
  const limits = withDefaults(options.limits);
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

/** Adds the operations an evaluation ran (its contexts', kept or released) to `stats`, if asked for. */
export function countOperations(stats: ComputeOptions['stats'], ev: Evaluation | null): void {
  if (stats === undefined || ev === null) return;
  stats.operations += ev.released.operations + ev.contexts.reduce((sum, cx) => sum + cx.operations, 0);
}
