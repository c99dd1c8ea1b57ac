/**
 * The worker pool: all evaluation runs on worker threads, never on the event loop. The scheduler
 * (scheduler.ts) decides what runs where and when; piscina's threads (transport.ts) run it; this
 * module puts them together, with the real clock, a sweep every SWEEP_MS and the slots the two
 * share (slots.ts).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComputeLimits, SampleChunk } from '../index.js';
import type { ComputeWorkerData } from './compute-worker.js';
import { InlineLane } from './inline.js';
import { MAX_PER_MESSAGE, Scheduler, type TaskOptions } from './scheduler.js';
import { SlotAllocator } from './slots.js';
import { PiscinaTransport } from './transport.js';

export type { TaskOptions } from './scheduler.js';

/** How often the scheduler sweeps the requests in flight; its deadlines are this late at most. */
const SWEEP_MS = 25;
/** The longest a request computed on the event loop may run before the pool computes it instead. */
const INLINE_BUDGET_MS = 5;
/** The most of the event loop's time spent computing requests (inline.ts). */
const INLINE_SHARE = 0.5;

/** What the pool needs of the server's configuration. */
export interface PoolSettings {
  readonly workers: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  readonly limits: ComputeLimits & { readonly timeoutMs: number };
  readonly workerMemoryMb: number;
  readonly workerNiceness: number;
  /** Work that lately took less than this many microseconds is computed on the event loop (inline.ts); 0: never. */
  readonly inlineBelowUs: number;
}

export interface WorkerPool {
  /** Computes on a worker; rejects with a Problem. */
  compute(endpoint: string, body: unknown, options?: TaskOptions): Promise<unknown>;
  /** Samples from..from+count of a `sample` request, on a worker: their statistics, to combine in order. */
  sampleChunk(body: unknown, from: number, count: number, options?: TaskOptions): Promise<SampleChunk>;
  readonly size: number;
  /** Worker threads running now (fewer than `size` while a replacement starts). */
  readonly alive: number;
  /** Requests waiting for a worker. */
  readonly queued: number;
  /** Requests a worker has started and not finished. */
  readonly running: number;
  /** Batches sent to workers and not yet answered (at most one per worker). */
  readonly batches: number;
  /** Workers stopped or dead, and so replaced, since the pool started. */
  readonly replaced: number;
  /** Requests computed on the event loop (inline.ts) since the pool started. */
  readonly inlined: number;
  /** Requests begun on the event loop that went past its budgets, and so were computed by a worker. */
  readonly handedOver: number;
  close(): Promise<void>;
}

const defaultWorkerFile = new URL(`./compute-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

/**
 * `onError`: a worker that fails with no request to blame (say, while starting); unheard, it would
 * stop the process. `workerFile`: the workers' module (tests give one wrapping compute-worker's `runWith`).
 */
export function createWorkerPool(config: PoolSettings, onError: (error: Error) => void = () => {}, workerFile: string = defaultWorkerFile): WorkerPool {
  const allocator = new SlotAllocator(Math.max(1024, config.workers * MAX_PER_MESSAGE * 4));
  const workerData: ComputeWorkerData = { limits: config.limits, slots: allocator.slots.buffer as SharedArrayBuffer, niceness: config.workerNiceness };
  const transport = new PiscinaTransport({ workers: config.workers, workerFile, workerData, workerMemoryMb: config.workerMemoryMb, onError });
  const scheduler = new Scheduler({
    settings: { maxQueue: config.maxQueue, queueTimeoutMs: config.queueTimeoutMs, timeoutMs: config.limits.timeoutMs, workerMemoryMb: config.workerMemoryMb },
    transport,
    allocator,
    clock: () => performance.now(),
    defer: setImmediate,
  });
  const sweeper = setInterval(() => scheduler.sweep(), SWEEP_MS).unref();
  let closed = false;
  const inline = new InlineLane({ belowMs: config.inlineBelowUs / 1000, budgetMs: INLINE_BUDGET_MS, share: INLINE_SHARE, limits: config.limits });

  /** Runs a request on a worker; the time it ran there is remembered for its kind of work (`kind`, null: none). */
  const submit = (kind: string | null, endpoint: string, body: unknown, bodyText: string | null | undefined, options: TaskOptions): Promise<unknown> => {
    const item = typeof bodyText === 'string' ? { endpoint, bodyText, json: options.json } : { endpoint, body, json: options.json };
    if (kind === null) return scheduler.submit(item, options);
    const timing = options.timing ?? { runMs: 0 };
    const remember = (): void => {
      if (timing.runMs > 0) inline.record(kind, timing.runMs);
    };
    const answer = scheduler.submit(item, { ...options, timing });
    answer.then(remember, remember);
    return answer;
  };

  return {
    get size() {
      return config.workers;
    },
    get alive() {
      return transport.alive;
    },
    get queued() {
      return scheduler.queued;
    },
    get running() {
      return scheduler.running;
    },
    get batches() {
      return scheduler.batches;
    },
    get replaced() {
      return transport.replaced;
    },
    get inlined() {
      return inline.computed;
    },
    get handedOver() {
      return inline.handedOver;
    },
    compute: (endpoint, body, options = {}) => {
      const { bodyText } = options;
      // A request whose size is known and that is not a stream (nor a sample's part, which has an endpoint of its own).
      const size = options.size ?? (typeof bodyText === 'string' ? bodyText.length : undefined);
      const kind = size !== undefined && options.onProgress === undefined && !closed ? inline.kindOf(endpoint, body, size) : null;
      if (kind !== null && options.cancel?.cancelled !== true && inline.takes(kind)) {
        options.onStart?.();
        const outcome = inline.run(kind, { endpoint, body, stats: options.stats });
        if (outcome !== null) {
          if (!outcome.ok) return Promise.reject(outcome.problem);
          return Promise.resolve(options.json === true ? JSON.stringify(outcome.result) : outcome.result);
        }
      }
      return submit(kind, endpoint, body, bodyText, options);
    },
    sampleChunk: (body, from, count, options = {}) => scheduler.submit({ endpoint: 'sample', body, chunk: { from, count }, answerBy: options.answerBy }, options) as Promise<SampleChunk>,
    close: async () => {
      // From now on every request is refused as the scheduler refuses it (SHUTTING_DOWN), none computed here.
      closed = true;
      clearInterval(sweeper);
      scheduler.close();
      await transport.close();
    },
  };
}
