/**
 * An evaluation: a request parsed against its endpoint's fields, its program parsed (or taken
 * from the cache), and the means to run it within the request's limits: contexts carrying the
 * budgets and the deadline, the seed every draw starts from, and the program as a function of
 * the differentiated inputs. Every endpoint that runs a program starts from `prepare`.
 */
import { Context, type Fn, type ReusableStorage, type Tensor, type TensorStorage, type Value } from '../engine/index.js';
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
import { parseRequest, type ParsedRequest } from './request.js';
import type { CommonRequest, EndpointRequests } from './schemas/index.js';
import { validBody, type ValidBody } from './schemas/validate.js';

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

const defaultCache = new ProgramCache();

/** What an evaluation's views (`withRequest`) share: the program, the budgets, and what was spent. */
interface RunState {
  readonly program: Program;
  readonly limits: Readonly<Required<ComputeLimits>>;
  readonly cache: ProgramCache;
  readonly cacheKey: string;
  readonly clock: () => number;
  readonly deadline: number;
  readonly seed: number;
  readonly runLimits: RunLimits;
  readonly contexts: Context[];
  readonly generators: Random[];
  releasedOperations: number;
  drewElsewhere: boolean;
}

/**
 * Everything an endpoint needs: the request, the program, and how to evaluate it within the
 * request's limits. Its invariants:
 * - the time limit runs from the evaluation's construction (the request's start on a worker),
 *   and every context it makes carries the same deadline and budgets;
 * - every kept context (`context()`) draws from its own generator seeded with `seed`, restarted
 *   at each `output()`, so that every evaluation of the program sees the same draws;
 * - `operations` counts every operation of its contexts: the kept ones, and the transient ones
 *   handed back with `countOperations`;
 * - `randomUsed()` is whether any draw was made, by a generator or by compiled code (`noteDraws`).
 */
export class Evaluation<Body extends CommonRequest = CommonRequest> {
  readonly request: ParsedRequest<Body>;
  /** The `wrt` inputs' values, in order. */
  readonly primals: Tensor[];
  private readonly run: RunState;
  private madeFn: Fn | null = null;

  private constructor(run: RunState, request: ParsedRequest<Body>) {
    this.run = run;
    this.request = request;
    this.primals = request.wrt.map((name) => request.at.get(name)!);
  }

  /**
   * The program as a function of the `wrt` inputs (the other inputs held fixed), made when first
   * asked for: the compiled scalar path never asks, and making it for every request (a Set, a Map
   * and a closure) tripled the cost of a small cached request (its garbage outlived scavenges).
   */
  get fn(): Fn {
    if (this.madeFn === null) {
      const { request } = this;
      const differentiated = new Set(request.wrt);
      const fixed = new Map<string, LangValue>([...request.at].filter(([name]) => !differentiated.has(name)));
      this.madeFn = (cx, xs) => {
        const inputs = new Map(fixed);
        request.wrt.forEach((name, i) => inputs.set(name, xs[i]));
        return this.output(cx, inputs);
      };
    }
    return this.madeFn;
  }

  /**
   * Prepares the evaluation of a body its endpoint's schema accepted: its time limit starts now.
   * Its inputs are decoded into `storage`, if given (see compute.ts).
   */
  static prepare<Body extends CommonRequest>(body: ValidBody<Body>, options: ComputeOptions, storage: ReusableStorage | null = null): Evaluation<Body> {
    const limits = withDefaults(options.limits);
    const cache = options.cache ?? defaultCache;
    const clock = options.clock ?? (() => performance.now());
    const request = parseRequest(body, limits, storage);
    const cacheKey = request.program !== null ? `p:${request.program}` : `g:${JSON.stringify(request.body.graph)}`;
    const program = cache.program(`${cacheKey}\u0000${limits.maxNesting}`, () =>
      request.program !== null ? parseProgram(request.program, { maxNesting: limits.maxNesting }) : graphProgram(request.graph!),
    );
    const run: RunState = {
      program,
      limits,
      cache,
      cacheKey,
      clock,
      deadline: clock() + Math.min(limits.timeoutMs, request.timeoutMs ?? Infinity),
      seed: request.seed ?? freshSeed(),
      runLimits: { maxIterations: limits.maxIterations, maxDepth: limits.maxDepth },
      contexts: [],
      generators: [],
      releasedOperations: 0,
      drewElsewhere: false,
    };
    return new Evaluation(run, request);
  }

  /**
   * The same evaluation (program, budgets, deadline, seed, operations count) of another request
   * at the same program: `check` grades a trace at each of its points this way.
   */
  withRequest(request: ParsedRequest<Body>): Evaluation<Body> {
    return new Evaluation(this.run, request);
  }

  get program(): Program {
    return this.run.program;
  }

  get limits(): Readonly<Required<ComputeLimits>> {
    return this.run.limits;
  }

  get cache(): ProgramCache {
    return this.run.cache;
  }

  /** The program's key in the cache (compiled forms of it are cached under keys that start with it). */
  get cacheKey(): string {
    return this.run.cacheKey;
  }

  /** The seed of every draw: the request's, or a fresh one. */
  get seed(): number {
    return this.run.seed;
  }

  /** Every context made so far: their operation counts are the evaluation's. */
  get contexts(): readonly Context[] {
    return this.run.contexts;
  }

  /** A fresh context with this request's budgets and a generator of its own, kept (its operations are the evaluation's). */
  context(): Context {
    const cx = this.transientContext();
    const random = new Random(this.run.seed);
    cx.random = random;
    this.run.generators.push(random);
    this.run.contexts.push(cx);
    return cx;
  }

  /** A context with this request's budgets that the evaluation does not keep: hand it back with `countOperations`. */
  transientContext(storage?: TensorStorage): Context {
    const { limits, deadline, clock } = this.run;
    return new Context({ maxOperations: limits.maxOperations, maxElements: limits.maxElements, deadline }, clock, storage);
  }

  /** Adds a transient context's operations to the evaluation's. */
  countOperations(cx: Context): void {
    this.run.releasedOperations += cx.operations;
  }

  /** The primitive operations run so far, by every context. */
  get operations(): number {
    return this.run.releasedOperations + this.run.contexts.reduce((sum, cx) => sum + cx.operations, 0);
  }

  /** Whether any evaluation drew random numbers (the response then reports the seed). */
  randomUsed(): boolean {
    return this.run.drewElsewhere || this.run.generators.some((g) => g.used);
  }

  /** Records draws made outside the contexts' generators (by compiled code). */
  noteDraws(): void {
    this.run.drewElsewhere = true;
  }

  /** Runs the program on the given inputs and returns its output. */
  output(cx: Context, inputs: ReadonlyMap<string, LangValue>, onCall?: CallObserver): Value {
    const { request } = this;
    cx.random?.restart();
    const result = run(cx, this.run.program, inputs, { limits: this.run.runLimits, onCall });
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
  }
}

/**
 * Validates `body` against `endpoint`'s schema and prepares its evaluation (its time limit
 * starts now): no body reaches an evaluation that its schema has not accepted.
 */
export function prepare<E extends keyof EndpointRequests>(endpoint: E, body: unknown, options: ComputeOptions): Evaluation<EndpointRequests[E]> {
  return Evaluation.prepare(validBody(endpoint, body), options);
}

/** Adds the operations an evaluation ran (its contexts', kept or released) to `stats`, if asked for. */
export function countOperations(stats: ComputeOptions['stats'], ev: Evaluation | null): void {
  if (stats === undefined || ev === null) return;
  stats.operations += ev.operations;
}
