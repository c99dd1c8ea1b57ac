/**
 * The pool's scheduling rules, one test each, with a fake clock and fake workers: batches the
 * test starts, ends, answers, kills or leaves hanging by hand, through the same shared slots a
 * real worker claims. Nothing here waits for real time.
 */
import t, { type Test } from 'tap';
import { Problem } from '../../src/index.js';
import { Cancellation } from '../../src/server/cancellation.js';
import type { ComputeItem, ComputeOutcome, ProgressMessage } from '../../src/workers/compute-worker.js';
import {
  GRACE_MS,
  LONG_RUNNING_MS,
  MAX_PER_MESSAGE,
  MAX_RERUNS,
  SPLIT_ABOVE_MS,
  Scheduler,
  type RunningBatch,
  type SchedulerSettings,
  type TaskOptions,
  type Transport,
} from '../../src/workers/scheduler.js';
import { SlotAllocator, claim, finish, isCancelled, type Slots } from '../../src/workers/slots.js';

/** The pool's sweep interval: the fake clock moves in these steps, sweeping after each. */
const SWEEP_MS = 25;

/** A batch on a fake worker: what a real worker does to it, done by the test. */
class FakeBatch implements RunningBatch {
  readonly outcomes: Promise<(ComputeOutcome | null)[]>;
  stopped = false;
  private readonly results: (ComputeOutcome | null)[];
  private resolve!: (outcomes: (ComputeOutcome | null)[]) => void;
  private reject!: (error: unknown) => void;

  constructor(
    readonly items: readonly ComputeItem[],
    readonly onProgress: ((message: ProgressMessage) => void) | undefined,
    private readonly slots: Slots,
  ) {
    this.results = items.map(() => null);
    this.outcomes = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The requests' bodies, in the batch's order. */
  get bodies(): unknown[] {
    return this.items.map((item) => item.body);
  }

  /** The worker claims item `i`: false if the scheduler took it back. */
  start(i: number): boolean {
    return claim(this.slots, this.items[i].slot, this.items[i].tag);
  }

  /** What the item's deadline checks see: the scheduler cancelled it. */
  cancelled(i: number): boolean {
    return isCancelled(this.slots, this.items[i].slot, this.items[i].tag);
  }

  /** Item `i` ends; its answer is its body, or `outcome`. */
  end(i: number, outcome: ComputeOutcome = { ok: true, result: this.items[i].body, operations: 1, runMs: 1 }): void {
    finish(this.slots, this.items[i].slot, this.items[i].tag);
    this.results[i] = outcome;
  }

  /** The worker answers: the outcome of each item it ran, null for the others. */
  answer(): void {
    this.resolve(this.results);
  }

  /** The worker runs every item it may, in order, and answers. */
  runAll(): void {
    this.items.forEach((_, i) => {
      if (this.start(i)) this.end(i);
    });
    this.answer();
  }

  /** The worker dies (a crash, its memory). */
  die(error: unknown): void {
    this.reject(error);
  }

  /** The scheduler ends the worker: piscina rejects the batch. */
  stop(): void {
    this.stopped = true;
    this.reject(new Error('The task has been aborted'));
  }
}

class FakeWorkers implements Transport {
  /** Every batch sent, in order. */
  readonly sent: FakeBatch[] = [];

  constructor(
    readonly size: number,
    private readonly slots: Slots,
  ) {}

  run(items: readonly ComputeItem[], onProgress?: (message: ProgressMessage) => void): RunningBatch {
    const batch = new FakeBatch(items, onProgress, this.slots);
    this.sent.push(batch);
    return batch;
  }

  get last(): FakeBatch {
    return this.sent[this.sent.length - 1];
  }
}

/** A request's outcome as far as it has come. */
interface Outcome {
  state: 'waiting' | 'answered' | 'refused';
  value?: unknown;
  problem?: Problem;
  error?: unknown;
}

/** A scheduler on fake workers and a fake clock, and what a test does to them. */
function scheduler(settings: Partial<SchedulerSettings> & { workers?: number } = {}) {
  let now = 1000;
  const deferred: (() => void)[] = [];
  const allocator = new SlotAllocator(1024);
  const workers = new FakeWorkers(settings.workers ?? 1, allocator.slots);
  const it = new Scheduler({
    settings: { maxQueue: 1000, queueTimeoutMs: 60_000, timeoutMs: 1000, workerMemoryMb: 512, ...settings },
    transport: workers,
    allocator,
    clock: () => now,
    defer: (fn) => deferred.push(fn),
  });
  return {
    scheduler: it,
    workers,
    /** Submits a request whose body is `body`; its outcome, filled in as it comes. */
    submit(body: unknown, options: TaskOptions = {}): Outcome {
      const outcome: Outcome = { state: 'waiting' };
      it.submit({ endpoint: 'grad', body }, options).then(
        (value) => Object.assign(outcome, { state: 'answered', value }),
        (error: unknown) => Object.assign(outcome, { state: 'refused', error, problem: error instanceof Problem ? error : undefined }),
      );
      return outcome;
    },
    /** The end of this turn of the event loop: what arrived in it is sent. */
    endTurn(): void {
      for (const fn of deferred.splice(0)) fn();
    },
    /** `ms` pass, the sweep looking every SWEEP_MS. */
    elapse(ms: number): void {
      for (let left = ms; left > 0; left -= SWEEP_MS) {
        now += Math.min(SWEEP_MS, left);
        it.sweep();
      }
    },
    /** Moves the clock without a sweep (time a batch takes between two sweeps). */
    advance(ms: number): void {
      now += ms;
    },
  };
}

/** Lets the promises the workers and the scheduler settled call back (no time passes). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function assertProblem(t: Test, outcome: Outcome, expected: { status: number; code: string; detail?: RegExp; limit?: string }, label: string): void {
  if (outcome.problem === undefined) t.fail(`${label}: expected ${expected.code}, got ${outcome.state} ${String(outcome.error ?? JSON.stringify(outcome.value))}`);
  else t.match(outcome.problem.body, expected, label);
}

t.test('requests arriving in one turn go to a worker as one batch, in order; what arrives while it is busy goes in the next', async (t) => {
  const { submit, endTurn, workers } = scheduler();
  const first = [1, 2, 3].map((x) => submit(x));
  t.equal(workers.sent.length, 0, 'nothing is sent before the turn ends');
  endTurn();
  t.same(workers.sent.map((b) => b.bodies), [[1, 2, 3]], 'one batch of three');
  const second = [4, 5].map((x) => submit(x));
  endTurn();
  t.equal(workers.sent.length, 1, 'the only worker is busy: the next two wait');
  workers.last.runAll();
  await settled();
  t.same(first.map((o) => o.value), [1, 2, 3], 'the first batch answered');
  t.same(workers.sent.map((b) => b.bodies), [[1, 2, 3], [4, 5]], 'the two that waited went together once the worker was free');
  workers.last.runAll();
  await settled();
  t.same(second.map((o) => o.value), [4, 5], 'and were answered');
});

t.test(`a message carries at most MAX_PER_MESSAGE (${MAX_PER_MESSAGE}) requests`, async (t) => {
  for (const { workers: size, requests, batches } of [
    { workers: 3, requests: 150, batches: [64, 64, 22] },
    { workers: 1, requests: 130, batches: [64] },
  ]) {
    const { submit, endTurn, workers } = scheduler({ workers: size });
    for (let i = 0; i < requests; i++) submit(i);
    endTurn();
    t.same(workers.sent.map((b) => b.items.length), batches, `${requests} requests on ${size} workers: batches of ${batches.join(', ')}`);
  }
});

t.test(`requests that lately took over SPLIT_ABOVE_MS (${SPLIT_ABOVE_MS} ms) each are split over the free workers; quicker ones share one`, async (t) => {
  for (const { lately, batches } of [
    { lately: 0.1, batches: [[1, 2, 3, 4]] },
    { lately: 10, batches: [[1, 2], [3, 4]] },
  ]) {
    const { submit, endTurn, advance, workers } = scheduler({ workers: 2 });
    submit(0);
    endTurn();
    advance(lately);
    workers.last.runAll();
    await settled();
    [1, 2, 3, 4].forEach((x) => submit(x));
    endTurn();
    t.same(workers.sent.slice(1).map((b) => b.bodies), batches, `lately ${lately} ms a request: ${batches.length} batch(es)`);
  }
});

t.test('a stream, or a part with an answer due, goes to a worker alone; only a batch of one carries progress', async (t) => {
  const { submit, endTurn, workers } = scheduler({ workers: 4 });
  const onProgress = (): void => {};
  submit(1);
  submit(2);
  submit(3, { onProgress });
  submit(4, { answerBy: 5000 });
  submit(5);
  endTurn();
  t.same(workers.sent.map((b) => b.bodies), [[1, 2], [3], [4], [5]], 'the stream and the part each in a batch of their own');
  t.same(workers.sent.map((b) => b.onProgress !== undefined), [false, true, false, false], 'the stream\'s batch has its progress');
});

t.test('a full queue refuses a new request at once (503), never a continuation of one admitted', async (t) => {
  const { submit, endTurn, workers } = scheduler({ workers: 1, maxQueue: 1 });
  submit('running');
  endTurn();
  workers.last.start(0);
  const waiting = submit('waiting');
  const refused = submit('one too many');
  const continuation = submit('a continuation', { continuation: true });
  await settled();
  t.equal(waiting.state, 'waiting', 'MAX_QUEUE 1: the first to wait is taken');
  assertProblem(t, refused, { status: 503, code: 'OVERLOADED', detail: /1 requests are waiting/ }, 'the next is refused');
  t.equal(continuation.state, 'waiting', 'a continuation is taken past the limit');
});

t.test('a request waiting past QUEUE_TIMEOUT_MS while the workers run others is refused with 503 OVERLOADED; waiting for a worker to start does not count', async (t) => {
  const { submit, endTurn, elapse, workers, scheduler: s } = scheduler({ workers: 1, queueTimeoutMs: 500 });
  submit('first');
  endTurn();
  const waiting = submit('second');
  const part = { waitedMs: 300 };
  const partOutcome = submit('a part of a request that waited 300 ms already', { queue: part });
  endTurn();
  elapse(2000);
  await settled();
  t.equal(waiting.state, 'waiting', 'two seconds while the worker starts (nothing running): still waiting');
  t.equal(s.queued, 3, 'three queued: the batch sent and not started, two pending');
  workers.last.start(0);
  elapse(200);
  await settled();
  t.equal(waiting.state, 'waiting', '200 ms behind a running request: still waiting');
  elapse(25);
  await settled();
  assertProblem(t, partOutcome, { status: 503, code: 'OVERLOADED', detail: /within 500 ms/ }, 'the part is refused once its request has waited 500 ms in all');
  t.ok(part.waitedMs > 500, `and its request's wait is written back (${part.waitedMs} ms)`);
  elapse(275);
  await settled();
  t.equal(waiting.state, 'waiting', '475 ms behind a running request: still waiting');
  elapse(50);
  await settled();
  assertProblem(t, waiting, { status: 503, code: 'OVERLOADED', detail: /within 500 ms/ }, 'past 500 ms: refused');
});

t.test('a request past its hard deadline (TIMEOUT_MS + GRACE_MS) has its worker stopped; it alone fails, the others go to the replacement', async (t) => {
  const { submit, endTurn, elapse, workers } = scheduler({ workers: 1, timeoutMs: 1000 });
  const [stuck, b, c] = ['stuck', 'b', 'c'].map((x) => submit(x));
  endTurn();
  const batch = workers.last;
  batch.start(0);
  elapse(SWEEP_MS);
  // The others are taken back from behind it meanwhile, and wait for a free worker: here, the replacement.
  elapse(1000 + GRACE_MS);
  t.notOk(batch.stopped, `running ${1000 + GRACE_MS} ms: the worker is left alone`);
  elapse(SWEEP_MS);
  await settled();
  t.ok(batch.stopped, 'past that the worker is stopped');
  assertProblem(t, stuck, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', detail: /ran past 1000 ms/ }, 'the stuck request: 422 LIMIT_EXCEEDED (time)');
  t.same(workers.last.bodies, ['b', 'c'], 'the others are sent again, to the replacement');
  workers.last.runAll();
  await settled();
  t.same([b.value, c.value], ['b', 'c'], 'and answered');
});

t.test('a worker that dies fails the request it was running, with the cause; the batch\'s others run again', async (t) => {
  const outOfMemory = Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' });
  const crash = new Error('the worker crashed');
  for (const { label, error, expected } of [
    { label: 'out of memory', error: outOfMemory, expected: { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', detail: /more than the worker's 512 MiB/ } },
    { label: 'another death', error: crash, expected: null },
  ]) {
    const { submit, endTurn, workers } = scheduler({ workers: 1 });
    const [done, dying, after] = ['done', 'dying', 'after'].map((x) => submit(x));
    endTurn();
    const batch = workers.last;
    batch.start(0);
    batch.end(0);
    batch.start(1);
    batch.die(error);
    await settled();
    t.equal(done.state, 'waiting', `${label}: a request that ended but was never answered runs again`);
    if (expected === null) t.equal(dying.error, error, `${label}: the running request fails with the worker's error`);
    else assertProblem(t, dying, expected, `${label}: the running request`);
    t.same(workers.last.bodies, ['done', 'after'], `${label}: the others are sent again`);
    workers.last.runAll();
    await settled();
    t.same([done.value, after.value], ['done', 'after'], `${label}: and answered`);
  }
});

t.test(`a request whose batch's worker dies before running it runs again, ${MAX_RERUNS} times at most`, async (t) => {
  const { submit, endTurn, workers } = scheduler({ workers: 1 });
  const bystander = submit('bystander');
  endTurn();
  const error = new Error('the worker died starting');
  for (let rerun = 1; rerun <= MAX_RERUNS; rerun++) {
    workers.last.die(error);
    await settled();
    t.equal(bystander.state, 'waiting', `death ${rerun}: still waiting`);
    t.equal(workers.sent.length, rerun + 1, `death ${rerun}: sent again`);
  }
  workers.last.die(error);
  await settled();
  t.equal(bystander.error, error, `death ${MAX_RERUNS + 1}: it fails with the worker's error`);
  t.equal(workers.sent.length, MAX_RERUNS + 1, 'and is not sent again');
});

t.test('a cancelled request is refused with 499 at once; a running one is stopped cooperatively, its worker only if it does not stop within the grace period', async (t) => {
  const CANCELLED = { status: 499, code: 'CANCELLED' };

  await t.test('cancelled before it is submitted', async (t) => {
    const { submit } = scheduler();
    const cancel = new Cancellation();
    cancel.cancel();
    const outcome = submit('x', { cancel });
    await settled();
    assertProblem(t, outcome, CANCELLED, 'refused');
  });

  await t.test('waiting here, or in a batch a worker has not reached: dropped, never run', async (t) => {
    const { submit, endTurn, workers, scheduler: s } = scheduler({ workers: 1 });
    const [inBatch, pending] = [new Cancellation(), new Cancellation()];
    submit('running');
    const batched = submit('in the batch', { cancel: inBatch });
    endTurn();
    const waiting = submit('pending', { cancel: pending });
    workers.last.start(0);
    inBatch.cancel();
    pending.cancel();
    await settled();
    assertProblem(t, batched, CANCELLED, 'the one in the batch');
    assertProblem(t, waiting, CANCELLED, 'the pending one');
    t.equal(s.queued, 0, 'nothing is queued');
    workers.last.end(0);
    t.notOk(workers.last.start(1), 'the worker skips the one in its batch');
    workers.last.answer();
    await settled();
    t.equal(workers.sent.length, 1, 'the pending one is never sent');
  });

  for (const stops of [true, false]) {
    await t.test(stops ? 'running, and it stops' : 'running, and it does not stop', async (t) => {
      const { submit, endTurn, elapse, workers } = scheduler({ workers: 1 });
      const cancel = new Cancellation();
      const outcome = submit('running', { cancel });
      const other = submit('other');
      endTurn();
      const batch = workers.last;
      batch.start(0);
      elapse(SWEEP_MS);
      cancel.cancel();
      await settled();
      assertProblem(t, outcome, CANCELLED, 'refused at once');
      t.ok(batch.cancelled(0), 'its deadline checks see the cancellation');
      if (stops) {
        batch.end(0, { ok: false, problem: new Problem('LIMIT_EXCEEDED', 'time limit exceeded', { limit: 'time' }).body, operations: 1, runMs: 30 });
        t.ok(batch.start(1), 'the worker goes on to the next request');
        batch.end(1);
        batch.answer();
        elapse(GRACE_MS + SWEEP_MS);
        await settled();
        t.notOk(batch.stopped, 'the worker is not stopped');
        t.equal(other.value, 'other', 'the other request is answered');
      } else {
        elapse(GRACE_MS - SWEEP_MS);
        t.notOk(batch.stopped, 'within the grace period the worker is left alone');
        elapse(2 * SWEEP_MS);
        await settled();
        t.ok(batch.stopped, `past ${GRACE_MS} ms the worker is stopped`);
        assertProblem(t, outcome, CANCELLED, 'the request is still 499');
        t.same(workers.last.bodies, ['other'], 'the other request is sent to the replacement');
      }
    });
  }
});

t.test(`requests queued behind one running over LONG_RUNNING_MS (${LONG_RUNNING_MS} ms) are taken back for the next free worker`, async (t) => {
  const { submit, endTurn, elapse, workers } = scheduler({ workers: 2 });
  const outcomes = ['long', 'b', 'c'].map((x) => submit(x));
  endTurn();
  const first = workers.last;
  t.same(first.bodies, ['long', 'b', 'c'], 'quick lately: one batch');
  first.start(0);
  elapse(SWEEP_MS);
  elapse(LONG_RUNNING_MS);
  t.equal(workers.sent.length, 1, `running ${LONG_RUNNING_MS} ms: still behind it`);
  elapse(SWEEP_MS);
  t.same(workers.sent.map((b) => b.bodies), [['long', 'b', 'c'], ['b', 'c']], 'then sent to the free worker');
  workers.last.runAll();
  first.end(0);
  t.notOk(first.start(1), 'the first worker skips what was taken back');
  first.answer();
  await settled();
  t.same(outcomes.map((o) => o.value), ['long', 'b', 'c'], 'each answered once, by the worker that ran it');
});

t.test('the parts after the first of a running request go ahead of requests not yet started, in their order', async (t) => {
  const { submit, endTurn, workers } = scheduler({ workers: 1 });
  submit('running');
  endTurn();
  workers.last.start(0);
  submit('new 1');
  submit('part 1', { continuation: true });
  submit('new 2');
  submit('part 2', { continuation: true });
  endTurn();
  workers.last.end(0);
  workers.last.answer();
  await settled();
  t.same(workers.last.bodies, ['part 1', 'part 2', 'new 1', 'new 2'], 'the parts first');
});

t.test('closing refuses what waits with 503 SHUTTING_DOWN, and what is in flight as its workers end', async (t) => {
  const { submit, endTurn, workers, scheduler: s } = scheduler({ workers: 1 });
  const inFlight = submit('in flight');
  endTurn();
  const waiting = submit('waiting');
  s.close();
  workers.last.die(new Error('terminated'));
  await settled();
  const SHUTTING_DOWN = { status: 503, code: 'SHUTTING_DOWN' };
  assertProblem(t, waiting, SHUTTING_DOWN, 'the waiting request');
  assertProblem(t, inFlight, SHUTTING_DOWN, 'the one in flight');
  const late = submit('late');
  await settled();
  assertProblem(t, late, SHUTTING_DOWN, 'a request after the close');
});
