/**
 * The worker pool (piscina): all evaluation runs on worker threads, never on the event loop.
 *
 * Requests that arrive in the same turn of the event loop go to a worker as one piscina task, a
 * batch, which the worker runs in order: one message each way for many small requests, which
 * otherwise cost far more in messages than in computation. A request's start and cancellation
 * travel through shared memory (slots.ts), not a channel per request, and no timer is set
 * per request: a sweep every SWEEP_MS finds requests past their hard deadline (the worker is
 * stopped), cancelled ones that do not stop (likewise), requests that waited for a worker past
 * QUEUE_TIMEOUT_MS (refused with 503; time in the queue is not taken from a request's time
 * limit, which runs from its start on a worker), and requests queued behind a long one in a
 * batch (taken back, for the next free worker). Waiting counts only while workers run other
 * requests: a worker that is starting (the pool's first, or a replacement) is not a full queue.
 *
 * A worker that is stopped or dies takes only the request it was running with it: the batch's
 * other unfinished requests run again (computations are pure). A cancelled request is stopped
 * cooperatively; its worker is stopped only if it does not stop within a grace period.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Problem, type ProblemBody, type SampleChunk } from '../index.js';
import type { ComputeBatch, ComputeItem, ComputeOutcome, ComputeWorkerData } from './compute-worker.js';
import { CANCELLED, QUEUED, STARTED, SlotAllocator, cancel, phaseOf, withdraw } from './slots.js';
import type { Cancellation } from '../server/cancellation.js';
import type { Config } from '../server/config.js';
import type { ProgressMessage } from '../server/dispatch.js';

/**
 * The hard deadline of a request beyond its cooperative one, and the time a cancelled request
 * has to stop: time for the worker to notice. Both run from the request's start on a worker.
 */
const GRACE_MS = 1000;
/** How often the sweep looks at the requests in flight; the deadlines above are this late at most. */
const SWEEP_MS = 25;
/** Requests queued behind one running this long are sent to the next free worker. */
const LONG_RUNNING_MS = 50;
/** The most requests in one message to a worker (a batch of the pool; not /v1/batch, whose items MAX_BATCH bounds). */
const MAX_PER_MESSAGE = 64;
/**
 * Requests that lately took less than this each (milliseconds from sending their batch to its
 * answer, per request) go to one worker together rather than split over the free ones: waking a
 * second worker for them costs more than it saves (measured: 15% more requests a second at 100
 * connections on two cores). Longer ones are split, so that heavy requests run side by side.
 */
const SPLIT_ABOVE_MS = 0.25;
/** Times a request may be in a batch whose worker died of another request before it fails too. */
const MAX_RERUNS = 3;

export interface TaskOptions {
  readonly cancel?: Cancellation;
  /** The evaluation's operations are added to it. */
  readonly stats?: { operations: number };
  /** For streams: progress messages as the work goes on. */
  readonly onProgress?: (message: ProgressMessage) => void;
  /** Answer the JSON text of the result rather than the result. */
  readonly json?: boolean;
  /** The body's JSON text: sent instead of the body (a string crosses as one copy, an object node by node). */
  readonly bodyText?: string | null;
  /** Filled in once a worker has run it: the milliseconds it ran there. */
  readonly timing?: { runMs: number };
  /** Called once a worker has started it (seen by the sweep, or at its answer, whichever is first). */
  readonly onStart?: () => void;
  /**
   * For the parts of one request run one after another (a `sample`'s chunks): the time its parts
   * have waited for a worker so far, shared by them. A part counts on from it, is refused once it
   * passes QUEUE_TIMEOUT_MS, and adds what it waited: the request waits that long in all, not
   * that long per part.
   */
  readonly queue?: { waitedMs: number };
  /**
   * A part after the first of a request already running: it goes ahead of the requests not yet
   * started, and is not refused for a full queue (its request was admitted).
   */
  readonly continuation?: boolean;
  /**
   * For a part: the latest its answer may come (milliseconds, `performance.timeOrigin +
   * performance.now()`); the worker stops it then, as at its time limit, however late it started.
   */
  readonly answerBy?: number;
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
  close(): Promise<void>;
}

type Item = Omit<ComputeItem, 'slot' | 'tag'>;

interface Task {
  readonly item: Item;
  readonly options: TaskOptions;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  settled: boolean;
  stopListening: () => void;
  /** Milliseconds it has waited for a worker while the workers ran other requests. */
  waitedMs: number;
  /** The batch it was last sent in, with its slot there; null while pending. */
  batch: Batch | null;
  slot: number;
  tag: number;
  /** When the sweep first saw it started (0: not yet), and when it was cancelled while running. */
  startedAt: number;
  cancelledAt: number;
  reruns: number;
}

/** Piscina's abort signal in its event-emitter form: an AbortController per batch costs more. */
class StopSignal {
  aborted = false;
  private listener: (() => void) | null = null;
  once(_event: 'abort', listener: () => void): void {
    this.listener = listener;
  }
  off(): void {
    this.listener = null;
  }
  /** What piscina calls; its types name it `off`. */
  removeListener(): void {
    this.off();
  }
  abort(): void {
    this.aborted = true;
    this.listener?.();
  }
}

interface Batch {
  readonly tasks: Task[];
  /** Every slot the batch holds, also those of tasks taken back from it: freed when it ends. */
  readonly slots: number[];
  /** Stops the worker running the batch. */
  readonly stop: StopSignal;
  /** Why the pool stopped its worker, and for which task. */
  stopped: { reason: 'deadline' | 'cancelled'; task: Task } | null;
  readonly sentAt: number;
}

const defaultWorkerFile = new URL(`./compute-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

const cancelledProblem = (): Problem => new Problem('CANCELLED', 'the request was cancelled');

const shuttingDown = (): Problem => new Problem('SHUTTING_DOWN', 'the server is shutting down');

const problemOf = (p: ProblemBody): Problem => new Problem(p.code, p.detail, { line: p.line, column: p.column, path: p.path, limit: p.limit });

/** A worker's unexpected error (a bug), its stack the worker's: for the log, never for the client. */
function workerError(stack: string): Error {
  const error = new Error(stack.split('\n', 1)[0]);
  error.stack = stack;
  return error;
}

/**
 * `onError`: a worker that fails with no task to blame (say, while starting); unheard, it would
 * stop the process. `workerFile`: the workers' module (tests give one wrapping compute-worker's `runWith`).
 */
export function createWorkerPool(config: Config, onError: (error: Error) => void = () => {}, workerFile: string = defaultWorkerFile): WorkerPool {
  const hardLimitMs = config.limits.timeoutMs + GRACE_MS;
  const allocator = new SlotAllocator(Math.max(1024, config.workers * MAX_PER_MESSAGE * 4));
  const { slots } = allocator;
  const workerData: ComputeWorkerData = { limits: config.limits, slots: slots.buffer as SharedArrayBuffer, niceness: config.workerNiceness };
  const pool = new Piscina<ComputeBatch, (ComputeOutcome | null)[]>({
    filename: workerFile,
    minThreads: config.workers,
    maxThreads: config.workers,
    workerData,
    // Memory: a worker over its heap is stopped and replaced; its request gets a clean error.
    resourceLimits: { maxOldGenerationSizeMb: config.workerMemoryMb, maxYoungGenerationSizeMb: Math.min(64, config.workerMemoryMb / 4) },
  });
  pool.on('error', onError);
  let closing = false;
  let replaced = 0;
  pool.on('workerDestroy', () => {
    if (!closing) replaced++;
  });

  const pending: Task[] = [];
  const batches = new Set<Batch>();
  /** Tasks in batches not yet settled: all but the running one of each batch wait. */
  let sent = 0;
  let flushing = false;
  /** Milliseconds a request has taken lately, batch round trip included: a moving average. */
  let recentMs = 0;
  let lastSweep = performance.now();
  const sweeper = setInterval(sweep, SWEEP_MS).unref();

  const tasksOf = function* (): Generator<Task> {
    for (const batch of batches) for (const task of batch.tasks) if (task.batch === batch) yield task;
  };

  return {
    get size() {
      return config.workers;
    },
    get alive() {
      return pool.threads.length;
    },
    get queued() {
      let n = pending.length;
      for (const task of tasksOf()) if (!task.settled && phaseOf(slots, task.slot, task.tag) === QUEUED) n++;
      return n;
    },
    get running() {
      let n = 0;
      for (const task of tasksOf()) {
        const phase = phaseOf(slots, task.slot, task.tag);
        if (phase === STARTED || phase === CANCELLED) n++;
      }
      return n;
    },
    get batches() {
      return batches.size;
    },
    get replaced() {
      return replaced;
    },
    compute: (endpoint, body, options = {}) =>
      submit(typeof options.bodyText === 'string' ? { endpoint, bodyText: options.bodyText, json: options.json } : { endpoint, body, json: options.json }, options),
    sampleChunk: (body, from, count, options = {}) => submit({ endpoint: 'sample', body, chunk: { from, count }, answerBy: options.answerBy }, options) as Promise<SampleChunk>,
    close: async () => {
      closing = true;
      clearInterval(sweeper);
      for (const task of pending.splice(0)) settle(task, shuttingDown());
      await pool.destroy();
    },
  };

  function submit(item: Item, options: TaskOptions): Promise<unknown> {
    if (closing) return Promise.reject(shuttingDown());
    if (options.cancel?.cancelled === true) return Promise.reject(cancelledProblem());
    // Waiting: the pending requests, and all but the running one of each batch sent.
    const waiting = pending.length + Math.max(0, sent - batches.size);
    const idle = Math.max(0, config.workers - batches.size);
    if (waiting >= config.maxQueue + idle && options.continuation !== true) {
      return Promise.reject(new Problem('OVERLOADED', `the server is at capacity: ${waiting} requests are waiting; try again shortly`));
    }
    return new Promise((resolve, reject) => {
      const task: Task = {
        item,
        options,
        resolve,
        reject,
        settled: false,
        stopListening: () => {},
        waitedMs: options.queue?.waitedMs ?? 0,
        batch: null,
        slot: -1,
        tag: 0,
        startedAt: 0,
        cancelledAt: 0,
        reruns: 0,
      };
      enqueue(task);
      if (options.cancel !== undefined) task.stopListening = options.cancel.onCancel(() => cancelTask(task));
    });
  }

  function settle(task: Task, error: unknown, value?: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.stopListening();
    if (task.options.queue !== undefined) task.options.queue.waitedMs = task.waitedMs;
    if (error === null) task.resolve(value);
    else task.reject(error);
  }

  function enqueue(task: Task): void {
    if (task.options.continuation === true) {
      // After the continuations already waiting, ahead of every request not yet started.
      const first = pending.findIndex((t) => t.options.continuation !== true);
      pending.splice(first < 0 ? pending.length : first, 0, task);
    } else pending.push(task);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  }

  /**
   * Sends the pending tasks: to one worker while requests are quick (see SPLIT_ABOVE_MS), else
   * split evenly over the free workers; one batch per worker at a time, so that what arrives
   * meanwhile waits here and goes in the next batch, not in a message of its own.
   */
  function flush(): void {
    flushing = false;
    while (pending.length > 0 && batches.size < config.workers && allocator.available > 0) {
      const free = config.workers - batches.size;
      const share = recentMs > SPLIT_ABOVE_MS ? Math.ceil(pending.length / free) : pending.length;
      const most = Math.min(MAX_PER_MESSAGE, share, allocator.available);
      let n = 1;
      if (!alone(pending[0])) while (n < most && !alone(pending[n])) n++;
      send(pending.splice(0, n));
    }
  }

  /**
   * A stream goes alone: its batch's progress channel is its own. So does a part of a request
   * with an answer due: a batch answers when its last item is done, and a part followed in its
   * batch by a long request would be answered only after it, past its due time.
   */
  function alone(task: Task): boolean {
    return task.options.onProgress !== undefined || task.options.answerBy !== undefined;
  }

  function send(tasks: Task[]): void {
    const batch: Batch = { tasks, slots: [], stop: new StopSignal(), stopped: null, sentAt: performance.now() };
    const items: ComputeItem[] = tasks.map((task) => {
      const { slot, tag } = allocator.take();
      batch.slots.push(slot);
      task.batch = batch;
      task.slot = slot;
      task.tag = tag;
      task.startedAt = 0;
      task.cancelledAt = 0;
      return { ...task.item, slot, tag };
    });
    batches.add(batch);
    sent += tasks.length;
    const onProgress = tasks.length === 1 ? tasks[0].options.onProgress : undefined;
    // Progress travels on a channel of its own, made only for streams.
    const progress = onProgress === undefined ? null : new MessageChannel();
    let closed: Promise<void> | null = null;
    if (progress !== null) {
      closed = new Promise<void>((resolve) => progress.port1.on('message', (message: ProgressMessage | null) => (message === null ? resolve() : onProgress!(message))));
    }
    const task = progress === null ? { items } : { items, progress: progress.port2 };
    pool
      .run(task, { signal: batch.stop, transferList: progress === null ? [] : [progress.port2] })
      .then(async (outcomes) => {
        // The worker ends its progress messages with null: every one is passed on before the result.
        if (closed !== null) await closed;
        finishBatch(batch, outcomes, null);
      })
      .catch((error: unknown) => finishBatch(batch, null, error))
      .finally(() => progress?.port1.close());
  }

  /** Settles the batch's tasks from their outcomes, or after its worker died of `error`. */
  function finishBatch(batch: Batch, outcomes: (ComputeOutcome | null)[] | null, error: unknown): void {
    batches.delete(batch);
    if (outcomes !== null && batch.tasks.length > 0) {
      const perRequest = (performance.now() - batch.sentAt) / batch.tasks.length;
      recentMs = recentMs === 0 ? perRequest : 0.8 * recentMs + 0.2 * perRequest;
    }
    const rerun: Task[] = [];
    batch.tasks.forEach((task, i) => {
      if (task.batch !== batch) return;
      task.batch = null;
      sent--;
      const outcome = outcomes?.[i] ?? null;
      if (task.settled) return;
      if (outcome !== null) {
        if (task.startedAt === 0) started(task, performance.now());
        if (task.options.stats !== undefined) task.options.stats.operations += outcome.operations;
        if (task.options.timing !== undefined) task.options.timing.runMs = outcome.runMs;
        if (outcome.ok) settle(task, null, outcome.result);
        else if ('problem' in outcome) settle(task, problemOf(outcome.problem));
        else settle(task, workerError(outcome.error));
        return;
      }
      // No outcome: the worker died. The request it was running is the one to blame.
      const phase = phaseOf(slots, task.slot, task.tag);
      if (closing) settle(task, shuttingDown());
      else if (batch.stopped?.task === task || (batch.stopped === null && (phase === STARTED || phase === CANCELLED))) settle(task, death(batch, error));
      else if (++task.reruns > MAX_RERUNS) settle(task, error);
      else rerun.push(task);
    });
    for (const slot of batch.slots) allocator.release(slot);
    pending.unshift(...rerun);
    flush();
  }

  /** The problem of a request whose worker was stopped or died while running it. */
  function death(batch: Batch, error: unknown): unknown {
    if (batch.stopped?.reason === 'deadline') {
      return new Problem('LIMIT_EXCEEDED', `time limit exceeded: the evaluation ran past ${config.limits.timeoutMs} ms and was stopped`, { limit: 'time' });
    }
    if (batch.stopped?.reason === 'cancelled') return cancelledProblem();
    const message = error instanceof Error ? error.message : String(error);
    if (/out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(message) || (error as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new Problem('LIMIT_EXCEEDED', `memory limit exceeded: the evaluation needed more than the worker's ${config.workerMemoryMb} MiB`, { limit: 'memory' });
    }
    return error ?? new Error('the worker running the request stopped');
  }

  function started(task: Task, now: number): void {
    task.startedAt = now;
    task.options.onStart?.();
  }

  function cancelTask(task: Task): void {
    if (task.settled) return;
    if (task.batch === null) {
      pending.splice(pending.indexOf(task), 1);
    } else if (!withdraw(slots, task.slot, task.tag) && cancel(slots, task.slot, task.tag)) {
      // Running: the worker's next deadline check stops it; the sweep stops the worker if not.
      task.cancelledAt = performance.now();
    }
    settle(task, cancelledProblem());
  }

  function waitedTooLong(): Problem {
    return new Problem('OVERLOADED', `the server is at capacity: no worker could take the request within ${config.queueTimeoutMs} ms; try again shortly`);
  }

  function stopWorker(batch: Batch, reason: 'deadline' | 'cancelled', task: Task): void {
    if (batch.stopped !== null) return;
    batch.stopped = { reason, task };
    batch.stop.abort();
  }

  function sweep(): void {
    const now = performance.now();
    // What the waiting tasks have waited since the last sweep: nothing unless a worker is running a request.
    let waited = 0;
    for (const task of tasksOf()) {
      const phase = phaseOf(slots, task.slot, task.tag);
      if (phase === STARTED || phase === CANCELLED) {
        waited = now - lastSweep;
        break;
      }
    }
    lastSweep = now;
    const taken: Task[] = [];
    for (const batch of batches) {
      let longRunning = false;
      for (const task of batch.tasks) {
        if (task.batch !== batch) continue;
        const phase = phaseOf(slots, task.slot, task.tag);
        if ((phase === STARTED || phase === CANCELLED) && task.startedAt === 0) started(task, now);
        if (phase === STARTED && now - task.startedAt > hardLimitMs) stopWorker(batch, 'deadline', task);
        else if (phase === CANCELLED && now - task.cancelledAt > GRACE_MS) stopWorker(batch, 'cancelled', task);
        else if (phase === STARTED && now - task.startedAt > LONG_RUNNING_MS) longRunning = true;
        else if (phase === QUEUED && !task.settled) {
          task.waitedMs += waited;
          if ((longRunning || task.waitedMs > config.queueTimeoutMs) && withdraw(slots, task.slot, task.tag)) {
            task.batch = null;
            sent--;
            if (longRunning) taken.push(task);
            else settle(task, waitedTooLong());
          }
        }
      }
    }
    for (let i = pending.length - 1; i >= 0; i--) {
      const task = pending[i];
      task.waitedMs += waited;
      if (task.waitedMs > config.queueTimeoutMs) {
        pending.splice(i, 1);
        settle(task, waitedTooLong());
      }
    }
    if (taken.length > 0) {
      pending.unshift(...taken);
      flush();
    }
  }
}
