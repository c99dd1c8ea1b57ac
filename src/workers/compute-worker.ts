/**
 * A worker thread of the pool: runs `compute` for a batch of requests, one after another, and
 * answers their outcomes together (one message each way, however many requests). Imports no
 * fastify. Parsed programs and compiled gradients stay cached in the worker between requests.
 */
import { getPriority, setPriority } from 'node:os';
import { workerData, type MessagePort } from 'node:worker_threads';
import { Problem, compute, sampleChunkSync, type ComputeLimits, type ComputeOptions, type ProblemBody } from '../index.js';
import { claim, finish, isCancelled, type Slots } from './slots.js';

/** What every worker is given once, when it starts. */
export interface ComputeWorkerData {
  readonly limits: ComputeLimits;
  /** The shared slots of the tasks in flight (see slots.ts). */
  readonly slots: SharedArrayBuffer;
  /** How much lower this thread's CPU priority is than the event loop's (WORKER_NICENESS). */
  readonly niceness: number;
}

export interface ComputeItem {
  readonly endpoint: string;
  /** The request body, or its JSON text in `bodyText`. */
  readonly body?: unknown;
  readonly bodyText?: string;
  /** For `sample`: compute only samples from..from+count, and answer with their statistics (a `SampleChunk`). */
  readonly chunk?: { readonly from: number; readonly count: number };
  /** Answer the result as JSON text, as the response sends it (no second serialisation on the event loop). */
  readonly json?: boolean;
  /** The latest its answer may come (`performance.timeOrigin + performance.now()`): its time limit ends then if not before. */
  readonly answerBy?: number;
  /** Where the item's start and cancellation are signalled (see slots.ts). */
  readonly slot: number;
  readonly tag: number;
}

/** What a stream's worker says as the work goes on (`optimize`'s steps), passed on to the client. */
export type ProgressMessage = Record<string, unknown> & { type: string };

export interface ComputeBatch {
  readonly items: readonly ComputeItem[];
  /** For a stream (a batch of one): where progress messages go as the work goes on (`optimize`'s steps). */
  readonly progress?: MessagePort;
}

/**
 * The answer, or the problem (`error`, its stack, for a bug); the primitive operations the
 * evaluation ran, for the log; and the milliseconds it ran on the worker, for `sample`'s budget.
 */
export type ComputeOutcome = (
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly problem: ProblemBody }
  | { readonly ok: false; readonly error: string }
) & { readonly operations: number; readonly runMs: number };

const { limits, slots: buffer, niceness } = workerData as ComputeWorkerData;
const slots: Slots = new Int32Array(buffer);
lowerPriority(niceness);

/**
 * On Linux a priority set for "process 0" is the calling thread's alone: this worker yields the
 * CPU to the event loop, which on a saturated machine keeps /healthz, refusals and streams
 * prompt while the workers still use every cycle left. Elsewhere (or where it is refused) the
 * worker keeps its priority: niceness is an optimisation, not a contract.
 */
function lowerPriority(by: number): void {
  if (by <= 0 || process.platform !== 'linux') return;
  try {
    setPriority(0, Math.min(19, getPriority(0) + by));
  } catch {
    // A sandbox that forbids it: run at the inherited priority.
  }
}

/** What runs one request: `compute`, or in tests a stand-in around it (see `runWith`). */
export type Computation = (endpoint: string, body: unknown, options: ComputeOptions) => Promise<unknown>;

async function runItem(item: ComputeItem, progress: MessagePort | undefined, computation: Computation): Promise<ComputeOutcome> {
  const stats = { operations: 0 };
  const started = performance.now();
  // Every deadline check reads this clock: once the pool cancels the item, its deadline has passed.
  const clock = (): number => (isCancelled(slots, item.slot, item.tag) ? Infinity : performance.now());
  // A part of a request with an answer due: what is left until then, if less than the time limit.
  const left = item.answerBy === undefined ? Infinity : Math.max(1, Math.floor(item.answerBy - performance.timeOrigin - started));
  const options = { limits: left < (limits.timeoutMs ?? Infinity) ? { ...limits, timeoutMs: left } : limits, stats, clock, onProgress: progress === undefined ? undefined : (message: unknown) => progress.postMessage(message) };
  try {
    // The text was parsed once already, on the event loop, where prototype poisoning is refused.
    const body: unknown = item.bodyText !== undefined ? JSON.parse(item.bodyText) : item.body;
    const result = item.chunk === undefined ? await computation(item.endpoint, body, options) : sampleChunkSync(body, item.chunk.from, item.chunk.count, options);
    return { ok: true, result: item.json === true ? JSON.stringify(result) : result, operations: stats.operations, runMs: performance.now() - started };
  } catch (e) {
    const runMs = performance.now() - started;
    if (e instanceof Problem && e.code !== 'INTERNAL') return { ok: false, problem: e.body, operations: stats.operations, runMs };
    // A bug: its stack goes to the server's log, never to the client.
    const error = e instanceof Problem && e.cause !== undefined ? e.cause : e;
    return { ok: false, error: error instanceof Error ? (error.stack ?? String(error)) : String(error), operations: stats.operations, runMs };
  } finally {
    finish(slots, item.slot, item.tag);
  }
}

/**
 * A worker's entry point running each request with `computation`: the pool's is `run` below;
 * a test's worker module may wrap `compute` (to stand for a computation that never reads the
 * clock, which no request can now make).
 */
export function runWith(computation: Computation): (batch: ComputeBatch) => Promise<(ComputeOutcome | null)[]> {
  /** The outcome of each item in order; null for an item the pool withdrew before it started. */
  return async (batch) => {
    const outcomes: (ComputeOutcome | null)[] = [];
    try {
      for (const item of batch.items) outcomes.push(claim(slots, item.slot, item.tag) ? await runItem(item, batch.progress, computation) : null);
      return outcomes;
    } finally {
      // The end of the progress messages (null): the pool waits for it before answering, so none comes late.
      batch.progress?.postMessage(null);
      batch.progress?.close();
    }
  };
}

export default runWith(compute);
