/**
 * The limits of one request, in one table: each with its default, its least (and greatest)
 * value, the environment variable a server reads it from, and what it bounds. `compute()`
 * takes its defaults from here, the server's configuration (server/settings.ts) reads the
 * environment through it, and docs/configuration.md is generated from both (`npm run docs`).
 */
import type { RunLimits } from '../lang/interpret.js';
import type { RequestLimits } from './request.js';

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

export type LimitName = keyof ComputeLimits;

export interface LimitSetting {
  readonly name: LimitName;
  /** The environment variable a server reads it from; null for a limit only the library sets. */
  readonly env: string | null;
  readonly default: number;
  readonly min: number;
  readonly max?: number;
  /** What it bounds, and what a request past it gets: a line of docs/configuration.md. */
  readonly description: string;
}

/** Every limit, in the order docs/configuration.md lists them. */
export const LIMIT_SETTINGS: readonly LimitSetting[] = [
  {
    name: 'maxInputs',
    env: 'MAX_INPUTS',
    default: 1000,
    min: 1,
    description: 'most inputs a request names (`at`, `params`, a point of `points`), and most members of any object in a body, at least 100 (413 with the `path`)',
  },
  { name: 'maxTraceEntries', env: 'MAX_TRACE_ENTRIES', default: 10_000, min: 1, description: "most entries of a `check` answer's `trace` (413)" },
  { name: 'maxProgramLength', env: 'MAX_PROGRAM_LENGTH', default: 100_000, min: 1, description: 'longest program, in characters (413)' },
  {
    name: 'maxTensorElements',
    env: 'MAX_TENSOR_ELEMENTS',
    default: 1_000_000,
    min: 1,
    description:
      'most elements of one tensor in a request (413), or in a response (422 `LIMIT_EXCEEDED`, limit `memory`); an empty dimension counts as one (a `[1000000, 0]` tensor is a million empty arrays)',
  },
  { name: 'maxBatch', env: 'MAX_BATCH', default: 100, min: 1, description: 'most requests in one batch (413)' },
  { name: 'maxSamples', env: 'MAX_SAMPLES', default: 10_000_000, min: 1, description: 'most samples one `sample` request may ask for (422 beyond)' },
  { name: 'maxSteps', env: 'MAX_STEPS', default: 1_000_000, min: 1, description: 'most steps of one `optimize` request (422 beyond)' },
  { name: 'maxCheckPoints', env: 'MAX_CHECK_POINTS', default: 1000, min: 1, description: 'most points one `check` request may grade at (`points`: 413 beyond; `random.n`: 422)' },
  { name: 'maxOperations', env: 'MAX_OPERATIONS', default: 10_000_000, min: 1, description: 'primitive operations per evaluation (422 `LIMIT_EXCEEDED`)' },
  { name: 'maxElements', env: 'MAX_ELEMENTS', default: 50_000_000, min: 1, description: 'tensor elements allocated per evaluation' },
  {
    name: 'timeoutMs',
    env: 'TIMEOUT_MS',
    default: 10_000,
    min: 1,
    description:
      'time per request on a worker, not counting its wait in the queue (`sample`: per worker its chunks run on, all of them done within `TIMEOUT_MS` + `QUEUE_TIMEOUT_MS` of its arrival); a request may ask for less with `options.timeoutMs`; a worker still busy a second later is stopped and replaced (so is one that does not stop within a second of its request being cancelled)',
  },
  { name: 'maxIterations', env: 'MAX_ITERATIONS', default: 1_000_000, min: 1, description: 'loop iterations per evaluation' },
  { name: 'maxDepth', env: 'MAX_RECURSION_DEPTH', default: 256, min: 1, max: 10_000, description: "nested calls of a program's own functions" },
  { name: 'maxNesting', env: null, default: 256, min: 1, description: 'deepest bracket nesting of a program' },
  { name: 'maxGraphNodes', env: null, default: 10_000, min: 1, description: 'most nodes of an expression graph' },
];

/** What `compute()` uses for a limit its caller does not set. */
export const DEFAULT_LIMITS: Readonly<Required<ComputeLimits>> = Object.freeze(
  Object.fromEntries(LIMIT_SETTINGS.map((s) => [s.name, s.default])) as Required<ComputeLimits>,
);

let lastGiven: ComputeLimits | null = null;
let lastResolved: Readonly<Required<ComputeLimits>> = DEFAULT_LIMITS;

/**
 * The caller's limits over the defaults. A server passes the same limits object with every
 * request, so the last one's answer is kept: spreading the defaults and the limits into a new
 * object cost 0.16-0.27 µs, a twentieth of a small request. Callers do not change a limits
 * object once they have passed it (a worker makes a new one for a shorter time limit).
 */
export function withDefaults(limits: ComputeLimits | undefined): Readonly<Required<ComputeLimits>> {
  if (limits === undefined) return DEFAULT_LIMITS;
  if (limits !== lastGiven) {
    lastResolved = Object.freeze({ ...DEFAULT_LIMITS, ...limits });
    lastGiven = limits;
  }
  return lastResolved;
}
