/**
 * The pool's scheduling: which requests go to which worker, and when a request is refused, taken
 * back, rerun or its worker stopped. It reads time only through the clock it is given and talks
 * to the workers only through a `Transport`, so that its rules can be tested with a fake clock
 * and fake workers.
 *
 * Requests that arrive in the same turn of the event loop go to a worker as one message, a batch,
 * which the worker runs in order: one message each way for many small requests, which otherwise
 * cost far more in messages than in computation. A request's start and cancellation travel
 * through shared memory (slots.ts), not a channel per request, and no timer is set per request:
 * `sweep`, called every SWEEP_MS, finds requests past their hard deadline (the worker is
 * stopped), cancelled ones that do not stop (likewise), requests that waited for a worker past
 * QUEUE_TIMEOUT_MS (refused with 503; time in the queue is not taken from a request's time limit,
 * which runs from its start on a worker), and requests queued behind a long one in a batch (taken
 * back, for the next free worker). Waiting counts only while workers run other requests: a worker
 * that is starting (the pool's first, or a replacement) is not a full queue.
 *
 * A worker that is stopped or dies takes only the request it was running with it: the batch's
 * other unfinished requests run again (computations are pure). A cancelled request is stopped
 * cooperatively; its worker is stopped only if it does not stop within a grace period.
 */
import { Problem, type ProblemBody } from '../index.js';
import type { ComputeItem, ComputeOutcome, ProgressMessage } from './compute-worker.js';
import { CANCELLED, QUEUED, STARTED, cancel, phaseOf, withdraw, type SlotAllocator } from './slots.js';

/**
 * The hard deadline of a request beyond its cooperative one, and the time a cancelled request
 * has to stop: time for the worker to notice. Both run from the request's start on a worker.
 */
export const GRACE_MS = 1000;
/** Requests queued behind one running this long are sent to the next free worker. */
export const LONG_RUNNING_MS = 50;
/** The most requests in one message to a worker (a batch of the pool; not /v1/batch, whose items MAX_BATCH bounds). */
export const MAX_PER_MESSAGE = 64;
/**
 * Requests that lately took less than this each (milliseconds from sending their batch to its
 * answer, per request) go to one worker together rather than split over the free ones: waking a
 * second worker for them costs more than it saves (measured: 15% more requests a second at 100
 * connections on two cores). Longer ones are split, so that heavy requests run side by side.
 */
export const SPLIT_ABOVE_MS = 0.25;
/** Times a request may be in a batch whose worker died of another request before it fails too. */
export const MAX_RERUNS = 3;

/** A batch on its way to a worker, or running there. */
export interface RunningBatch {
  /** Each item's outcome, null for one withdrawn before it started; rejects if the worker died or was stopped. */
  readonly outcomes: Promise<(ComputeOutcome | null)[]>;
  /** Stops (ends) the worker running the batch; `outcomes` then rejects. */
  stop(): void;
}

/** How the scheduler reaches its workers. */
export interface Transport {
  /** The workers: at most this many batches run at once, one per worker. */
  readonly size: number;
  /** Sends a batch to a free worker (or to the next to start); `onProgress` hears a stream's progress, every message before the outcomes. */
  run(items: readonly ComputeItem[], onProgress?: (message: ProgressMessage) => void): RunningBatch;
}

/** A request's cancellation, as the server's `Cancellation` gives it. */
export interface CancelSignal {
  readonly cancelled: boolean;
  /** Calls `listener` once, on cancel; returns what stops listening. */
  onCancel(listener: () => void): () => void;
}

export interface TaskOptions {
  readonly cancel?: CancelSignal;
  /** The evaluation's operations are added to it. */
  readonly stats?: { operations: number };
  /** For streams: progress messages as the work goes on. */
  readonly onProgress?: (message: ProgressMessage) => void;
  /** Answer the JSON text of the result rather than the result. */
  readonly json?: boolean;
  /** The body's JSON text: sent instead of the body (a string crosses as one copy, an object node by node). */
  readonly bodyText?: string | null;
  /**
   * The request's size as sent, in characters or bytes (its body's text, a WebSocket message, a
   * batch's share per item): with it, a request known to take microseconds may be computed on
   * the event loop (the pool's inline lane); without it (nor `bodyText`), it goes to a worker.
   */
  readonly size?: number;
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

export type Item = Omit<ComputeItem, 'slot' | 'tag'>;

export interface SchedulerSettings {
  /** Requests that may wait beyond one per idle worker (MAX_QUEUE); more are refused at once. */
  readonly maxQueue: number;
  /** The longest a request waits for a worker while the workers run others (QUEUE_TIMEOUT_MS). */
  readonly queueTimeoutMs: number;
  /** A request's time limit on a worker (TIMEOUT_MS): its worker is stopped GRACE_MS later. */
  readonly timeoutMs: number;
  /** Each worker's heap (WORKER_MEMORY_MB), for the problem of a request that ran out of it. */
  readonly workerMemoryMb: number;
}

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

interface Batch {
  readonly tasks: Task[];
  /** Every slot the batch holds, also those of tasks taken back from it: freed when it ends. */
  readonly slots: number[];
  /** Why the scheduler stopped its worker, and for which task. */
  stopped: { reason: 'deadline' | 'cancelled'; task: Task } | null;
  readonly sentAt: number;
  running: RunningBatch | null;
}

const cancelledProblem = (): Problem => new Problem('CANCELLED', 'the request was cancelled');

const shuttingDown = (): Problem => new Problem('SHUTTING_DOWN', 'the server is shutting down');

const problemOf = (p: ProblemBody): Problem => new Problem(p.code, p.detail, { line: p.line, column: p.column, path: p.path, limit: p.limit });

/** A worker's unexpected error (a bug), its stack the worker's: for the log, never for the client. */
function workerError(stack: string): Error {
  const error = new Error(stack.split('\n', 1)[0]);
  error.stack = stack;
  return error;
}

export interface SchedulerParts {
  readonly settings: SchedulerSettings;
  readonly transport: Transport;
  /** The slots shared with the workers (the transport's workers read the same memory). */
  readonly allocator: SlotAllocator;
  /** Milliseconds, any origin: `performance.now` in the pool. */
  readonly clock: () => number;
  /** Calls `fn` at the end of this turn of the event loop (`setImmediate` in the pool): what arrives before then goes in one batch. */
  readonly defer: (fn: () => void) => void;
}

export class Scheduler {
  private readonly settings: SchedulerSettings;
  private readonly transport: Transport;
  private readonly allocator: SlotAllocator;
  private readonly clock: () => number;
  private readonly defer: (fn: () => void) => void;
  private readonly hardLimitMs: number;
  private readonly pending: Task[] = [];
  private readonly inFlight = new Set<Batch>();
  /** Tasks in batches not yet settled: all but the running one of each batch wait. */
  private sent = 0;
  private flushing = false;
  /** Milliseconds a request has taken lately, batch round trip included: a moving average. */
  private recentMs = 0;
  private lastSweep: number;
  private closing = false;

  constructor({ settings, transport, allocator, clock, defer }: SchedulerParts) {
    this.settings = settings;
    this.transport = transport;
    this.allocator = allocator;
    this.clock = clock;
    this.defer = defer;
    this.hardLimitMs = settings.timeoutMs + GRACE_MS;
    this.lastSweep = clock();
  }

  /** Requests waiting for a worker. */
  get queued(): number {
    let n = this.pending.length;
    for (const task of this.tasksInFlight()) if (!task.settled && this.phase(task) === QUEUED) n++;
    return n;
  }

  /** Requests a worker has started and not finished. */
  get running(): number {
    let n = 0;
    for (const task of this.tasksInFlight()) if (this.isRunning(task)) n++;
    return n;
  }

  /** Batches sent to workers and not yet answered (at most one per worker). */
  get batches(): number {
    return this.inFlight.size;
  }

  /** Runs `item` on a worker: its result, or a rejection with a Problem (or a worker's bug, an Error). */
  submit(item: Item, options: TaskOptions): Promise<unknown> {
    if (this.closing) return Promise.reject(shuttingDown());
    if (options.cancel?.cancelled === true) return Promise.reject(cancelledProblem());
    // Waiting: the pending requests, and all but the running one of each batch sent.
    const waiting = this.pending.length + Math.max(0, this.sent - this.inFlight.size);
    const idle = Math.max(0, this.transport.size - this.inFlight.size);
    if (waiting >= this.settings.maxQueue + idle && options.continuation !== true) {
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
      this.enqueue(task);
      if (options.cancel !== undefined) task.stopListening = options.cancel.onCancel(() => this.cancelTask(task));
    });
  }

  /** Refuses what waits here; what the workers hold fails with SHUTTING_DOWN as they end (the transport closing ends them). */
  close(): void {
    this.closing = true;
    for (const task of this.pending.splice(0)) this.settle(task, shuttingDown());
  }

  /**
   * Looks at the requests in flight (the pool calls it every SWEEP_MS): deadlines, cancellations
   * that do not stop, requests that waited too long or wait behind a long one.
   */
  sweep(): void {
    const now = this.clock();
    // What the waiting tasks have waited since the last sweep: nothing unless a worker is running a request.
    let waited = 0;
    for (const task of this.tasksInFlight()) {
      if (this.isRunning(task)) {
        waited = now - this.lastSweep;
        break;
      }
    }
    this.lastSweep = now;
    const { queueTimeoutMs } = this.settings;
    const taken: Task[] = [];
    for (const batch of this.inFlight) {
      let longRunning = false;
      for (const task of batch.tasks) {
        if (task.batch !== batch) continue;
        const phase = this.phase(task);
        if ((phase === STARTED || phase === CANCELLED) && task.startedAt === 0) this.started(task, now);
        if (phase === STARTED && now - task.startedAt > this.hardLimitMs) this.stopWorker(batch, 'deadline', task);
        else if (phase === CANCELLED && now - task.cancelledAt > GRACE_MS) this.stopWorker(batch, 'cancelled', task);
        else if (phase === STARTED && now - task.startedAt > LONG_RUNNING_MS) longRunning = true;
        else if (phase === QUEUED && !task.settled) {
          task.waitedMs += waited;
          if ((longRunning || task.waitedMs > queueTimeoutMs) && withdraw(this.allocator.slots, task.slot, task.tag)) {
            task.batch = null;
            this.sent--;
            if (longRunning) taken.push(task);
            else this.settle(task, this.waitedTooLong());
          }
        }
      }
    }
    const { pending } = this;
    for (let i = pending.length - 1; i >= 0; i--) {
      const task = pending[i];
      task.waitedMs += waited;
      if (task.waitedMs > queueTimeoutMs) {
        pending.splice(i, 1);
        this.settle(task, this.waitedTooLong());
      }
    }
    if (taken.length > 0) {
      pending.unshift(...taken);
      this.flush();
    }
  }

  private *tasksInFlight(): Generator<Task> {
    for (const batch of this.inFlight) for (const task of batch.tasks) if (task.batch === batch) yield task;
  }

  private phase(task: Task): number {
    return phaseOf(this.allocator.slots, task.slot, task.tag);
  }

  private isRunning(task: Task): boolean {
    const phase = this.phase(task);
    return phase === STARTED || phase === CANCELLED;
  }

  private settle(task: Task, error: unknown, value?: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.stopListening();
    if (task.options.queue !== undefined) task.options.queue.waitedMs = task.waitedMs;
    if (error === null) task.resolve(value);
    else task.reject(error);
  }

  private enqueue(task: Task): void {
    const { pending } = this;
    if (task.options.continuation === true) {
      // After the continuations already waiting, ahead of every request not yet started.
      const first = pending.findIndex((t) => t.options.continuation !== true);
      pending.splice(first < 0 ? pending.length : first, 0, task);
    } else pending.push(task);
    if (!this.flushing) {
      this.flushing = true;
      this.defer(this.flushDeferred);
    }
  }

  private readonly flushDeferred = (): void => {
    this.flushing = false;
    this.flush();
  };

  /**
   * Sends the pending tasks: to one worker while requests are quick (see SPLIT_ABOVE_MS), else
   * split evenly over the free workers; one batch per worker at a time, so that what arrives
   * meanwhile waits here and goes in the next batch, not in a message of its own.
   */
  private flush(): void {
    const { pending, allocator } = this;
    const workers = this.transport.size;
    while (pending.length > 0 && this.inFlight.size < workers && allocator.available > 0) {
      const free = workers - this.inFlight.size;
      const share = this.recentMs > SPLIT_ABOVE_MS ? Math.ceil(pending.length / free) : pending.length;
      const most = Math.min(MAX_PER_MESSAGE, share, allocator.available);
      let n = 1;
      if (!alone(pending[0])) while (n < most && !alone(pending[n])) n++;
      this.send(pending.splice(0, n));
    }
  }

  private send(tasks: Task[]): void {
    const batch: Batch = { tasks, slots: [], stopped: null, sentAt: this.clock(), running: null };
    const items: ComputeItem[] = tasks.map((task) => {
      const { slot, tag } = this.allocator.take();
      batch.slots.push(slot);
      task.batch = batch;
      task.slot = slot;
      task.tag = tag;
      task.startedAt = 0;
      task.cancelledAt = 0;
      return { ...task.item, slot, tag };
    });
    this.inFlight.add(batch);
    this.sent += tasks.length;
    const running = this.transport.run(items, tasks.length === 1 ? tasks[0].options.onProgress : undefined);
    batch.running = running;
    running.outcomes.then(
      (outcomes) => this.finishBatch(batch, outcomes, null),
      (error: unknown) => this.finishBatch(batch, null, error),
    );
  }

  /** Settles the batch's tasks from their outcomes, or after its worker died of `error`. */
  private finishBatch(batch: Batch, outcomes: (ComputeOutcome | null)[] | null, error: unknown): void {
    this.inFlight.delete(batch);
    if (outcomes !== null && batch.tasks.length > 0) {
      const perRequest = (this.clock() - batch.sentAt) / batch.tasks.length;
      this.recentMs = this.recentMs === 0 ? perRequest : 0.8 * this.recentMs + 0.2 * perRequest;
    }
    const rerun: Task[] = [];
    batch.tasks.forEach((task, i) => {
      if (task.batch !== batch) return;
      task.batch = null;
      this.sent--;
      const outcome = outcomes?.[i] ?? null;
      if (task.settled) return;
      if (outcome !== null) {
        if (task.startedAt === 0) this.started(task, this.clock());
        if (task.options.stats !== undefined) task.options.stats.operations += outcome.operations;
        if (task.options.timing !== undefined) task.options.timing.runMs = outcome.runMs;
        if (outcome.ok) this.settle(task, null, outcome.result);
        else if ('problem' in outcome) this.settle(task, problemOf(outcome.problem));
        else this.settle(task, workerError(outcome.error));
        return;
      }
      // No outcome: the worker died. The request it was running is the one to blame.
      if (this.closing) this.settle(task, shuttingDown());
      else if (batch.stopped?.task === task || (batch.stopped === null && this.isRunning(task))) this.settle(task, this.death(batch, error));
      else if (++task.reruns > MAX_RERUNS) this.settle(task, error);
      else rerun.push(task);
    });
    for (const slot of batch.slots) this.allocator.release(slot);
    this.pending.unshift(...rerun);
    this.flush();
  }

  /** The problem of a request whose worker was stopped or died while running it. */
  private death(batch: Batch, error: unknown): unknown {
    if (batch.stopped?.reason === 'deadline') {
      return new Problem('LIMIT_EXCEEDED', `time limit exceeded: the evaluation ran past ${this.settings.timeoutMs} ms and was stopped`, { limit: 'time' });
    }
    if (batch.stopped?.reason === 'cancelled') return cancelledProblem();
    const message = error instanceof Error ? error.message : String(error);
    if (/out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(message) || (error as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new Problem('LIMIT_EXCEEDED', `memory limit exceeded: the evaluation needed more than the worker's ${this.settings.workerMemoryMb} MiB`, { limit: 'memory' });
    }
    return error ?? new Error('the worker running the request stopped');
  }

  private started(task: Task, now: number): void {
    task.startedAt = now;
    task.options.onStart?.();
  }

  private cancelTask(task: Task): void {
    if (task.settled) return;
    const { slots } = this.allocator;
    if (task.batch === null) {
      this.pending.splice(this.pending.indexOf(task), 1);
    } else if (!withdraw(slots, task.slot, task.tag) && cancel(slots, task.slot, task.tag)) {
      // Running: the worker's next deadline check stops it; the sweep stops the worker if not.
      task.cancelledAt = this.clock();
    }
    this.settle(task, cancelledProblem());
  }

  private waitedTooLong(): Problem {
    return new Problem('OVERLOADED', `the server is at capacity: no worker could take the request within ${this.settings.queueTimeoutMs} ms; try again shortly`);
  }

  private stopWorker(batch: Batch, reason: 'deadline' | 'cancelled', task: Task): void {
    if (batch.stopped !== null) return;
    batch.stopped = { reason, task };
    batch.running?.stop();
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
