/**
 * The inline lane: a request known to take well under a millisecond is computed on the event loop
 * instead of a worker. A worker's round trip (the batch's message, the worker's wake-up from `Atomics.wait`,
 * the body's second `JSON.parse`, the answer's message and the event loop's wake-up) costs
 * 200-300 µs on a quiet machine (`npm run bench:latency`), where a widget's gradient takes 5 µs:
 * for such requests the trip is nine tenths of the time a student waits on a slider.
 *
 * What is known: the time the same work took lately, on a worker or here. The same work is the
 * same endpoint and program (or graph) with a body of about the same size (within a factor of
 * two): a course's requests, each student's data on the lecturer's program. A request of work
 * not seen, or seen to take longer than `belowMs`, goes to the pool, which times it.
 *
 * Under the same budgets as on a worker, and tighter ones: at most `budgetMs` of time, and at
 * most INLINE_OPERATIONS and INLINE_ELEMENTS, so that the event loop is never held long and its
 * heap never filled. A request that reaches one of them, or that fails in a way a worker would
 * report as a bug, is sent to the pool, which computes it from the start under the request's own
 * limits (computations are pure: the answer is the same, bit for bit, as the pool's would have
 * been). At most `share` of the event loop's time goes to this lane: past it, the pool takes
 * the requests, so that a busy server spreads work over its workers as before.
 */
import { createHash } from 'node:crypto';
import { Problem, computeSync, type ComputeLimits } from '../index.js';
import { endpointSchemas } from '../compute/schemas/index.js';
import { wantsSvg } from '../compute/svg.js';

/** The most primitive operations of a request computed inline (more: the pool computes it). */
export const INLINE_OPERATIONS = 200_000;
/**
 * The most tensor elements a request computed inline may allocate (2 MB of float64). It also
 * bounds the work of the few kernels that do not read the clock as they go (a sort, a matrix
 * product): measured, a request past the lane's time budget stopped within 15 ms.
 */
export const INLINE_ELEMENTS = 250_000;
/** The endpoints a request of which may be computed inline: those answered by one synchronous computation. */
const ENDPOINTS = new Set(['eval', 'grad', 'jvp', 'jacobian', 'hessian', 'trace', 'derivative', 'check', 'optimize']);
/** The window over which the lane's share of the event loop is counted, in milliseconds. */
const WINDOW_MS = 100;
/** Kinds of work remembered; past it, the oldest are forgotten. */
const REMEMBERED = 4096;
/** Programs longer than this are remembered by their hash, not their text. */
const KEY_TEXT = 256;
/** Requests larger than this (characters or bytes as sent) always go to the pool: decoding them alone takes longer than a round trip. */
const MAX_SIZE = 64 * 1024;
/** How far a quicker time moves a kind of work's figure towards it (a slower one moves it all the way). */
const TOWARDS_QUICKER = 0.5;
/** How long a kind of work that went past the lane's budgets is left to the pool, in milliseconds. */
const HOLD_MS = 10_000;

export interface InlineSettings {
  /** Work that lately took less than this (milliseconds) is computed inline; 0: never. */
  readonly belowMs: number;
  /** The longest a request computed inline may take before it goes to the pool instead. */
  readonly budgetMs: number;
  /** The most of the event loop's time the lane may take (0 to 1). */
  readonly share: number;
  /** The request's limits, as a worker has them. */
  readonly limits: ComputeLimits & { readonly timeoutMs: number };
}

/** What the pool gives the lane of a request. */
export interface InlineRequest {
  readonly endpoint: string;
  readonly body: unknown;
  readonly stats?: { operations: number };
}

/** An inline run's outcome: the answer, or a Problem to answer; `null`: the pool must compute it. */
export type InlineOutcome = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly problem: Problem } | null;

/**
 * Computes every example of the endpoints the lane serves (their schemas' own, as the API's
 * documentation shows them) once, before the server listens: the first evaluation in a thread
 * compiles the engine's code (over 100 ms), and each endpoint's first its own (5-50 ms, the
 * symbolic derivative's the most), which would otherwise stall the event loop under the first
 * requests. About 0.4 s at start; those whose answer is a problem are computed too.
 */
function warmUp(): void {
  for (const endpoint of ENDPOINTS) {
    for (const example of Object.values(endpointSchemas[endpoint as keyof typeof endpointSchemas].examples ?? {})) {
      try {
        if (!wantsSvg(endpoint, example.request)) computeSync(endpoint, example.request);
      } catch {
        // An example of a refusal: refused, as documented.
      }
    }
  }
}

export class InlineLane {
  private readonly settings: InlineSettings;
  private readonly clock: () => number;
  private readonly limits: ComputeLimits;
  /** Kind of work → the milliseconds it took lately (see `record`), and until when the pool alone computes it; oldest first. */
  private readonly recent = new Map<string, { ms: number; heldUntil: number }>();
  private windowStart: number;
  private windowMs = 0;
  /** Requests computed inline, and those begun inline and sent to the pool, since the start. */
  computed = 0;
  handedOver = 0;

  /** `clock`: milliseconds, for the lane's share of the event loop (the requests' deadlines read `performance.now`). */
  constructor(settings: InlineSettings, clock: () => number = () => performance.now()) {
    this.settings = settings;
    this.clock = clock;
    this.windowStart = clock();
    const { limits, budgetMs } = settings;
    this.limits = {
      ...limits,
      timeoutMs: Math.min(limits.timeoutMs, budgetMs),
      maxOperations: Math.min(limits.maxOperations ?? Infinity, INLINE_OPERATIONS),
      maxElements: Math.min(limits.maxElements ?? Infinity, INLINE_ELEMENTS),
    };
    if (settings.belowMs > 0) warmUp();
  }

  /** The kind of work a request is (see above), `size` its size as sent; null: it is never computed inline. */
  kindOf(endpoint: string, body: unknown, size: number): string | null {
    if (this.settings.belowMs <= 0 || size > MAX_SIZE || !ENDPOINTS.has(endpoint) || body === null || typeof body !== 'object') return null;
    // A picture in SVG needs Graphviz, which loads asynchronously: only on a worker (compute()).
    if (wantsSvg(endpoint, body)) return null;
    const { program, graph } = body as { program?: unknown; graph?: unknown };
    let source: string;
    if (typeof program === 'string') source = program;
    else if (graph !== undefined) source = JSON.stringify(graph) ?? '';
    else return null;
    if (source.length > KEY_TEXT) source = createHash('sha1').update(source).digest('base64');
    return `${endpoint} ${Math.round(Math.log2(size + 1))} ${source}`;
  }

  /** Whether work of `kind` is computed inline now. */
  takes(kind: string): boolean {
    const seen = this.recent.get(kind);
    if (seen === undefined || seen.ms >= this.settings.belowMs) return false;
    const now = this.clock();
    if (now < seen.heldUntil) return false;
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.windowMs = 0;
    }
    return this.windowMs < this.settings.share * WINDOW_MS;
  }

  /** Computes `request` here; null if it must go to the pool (a budget of the lane reached, or a bug). */
  run(kind: string, request: InlineRequest): InlineOutcome {
    const started = this.clock();
    const stats = { operations: 0 };
    let outcome: InlineOutcome;
    try {
      outcome = { ok: true, result: computeSync(request.endpoint, request.body, { limits: this.limits, stats }) };
    } catch (e) {
      // A limit (the lane's are tighter than a worker's) or a bug: the pool answers, as it would have.
      outcome = e instanceof Problem && e.code !== 'LIMIT_EXCEEDED' && e.code !== 'INTERNAL' ? { ok: false, problem: e } : null;
    }
    const ms = this.clock() - started;
    this.windowMs += ms;
    if (outcome === null) {
      this.handedOver++;
      // Not again soon: the pool computes this kind for a while.
      this.record(kind, this.settings.budgetMs, this.clock() + HOLD_MS);
      return null;
    }
    this.computed++;
    if (request.stats !== undefined) request.stats.operations += stats.operations;
    this.record(kind, ms);
    return outcome;
  }

  /**
   * Work of `kind` took `ms` (on a worker, or here); `heldUntil`: the pool computes it until then.
   * A slower time is taken at once, a quicker one half of the way: a kind that took long is sent
   * to the pool until several quick runs there say otherwise, so that requests of one program
   * alternating quick and slow (small and large inputs of the same size) block the event loop
   * for one in several at most. A program's first runs in a thread, its slowest, are forgotten in
   * a few runs.
   */
  record(kind: string, ms: number, heldUntil = 0): void {
    const before = this.recent.get(kind);
    if (before !== undefined) this.recent.delete(kind);
    else if (this.recent.size >= REMEMBERED) this.recent.delete(this.recent.keys().next().value as string);
    const figure = before === undefined || ms >= before.ms ? ms : before.ms + TOWARDS_QUICKER * (ms - before.ms);
    this.recent.set(kind, { ms: figure, heldUntil: Math.max(heldUntil, before?.heldUntil ?? 0) });
  }
}
