/**
 * How the pool spreads requests over its workers: quick requests that arrive together go to one
 * worker as one batch (waking a second worker would cost more than it saves); once requests take
 * long, those arriving together are split over the free workers, to run side by side. Every
 * answer is the library's.
 */
import t from 'tap';
import { Problem, computeSync, sampleChunkSync } from '../../src/index.js';
import { Cancellation } from '../../src/server/cancellation.js';
import { loadConfig } from '../../src/server/config.js';
import { createWorkerPool, type WorkerPool } from '../../src/workers/pool.js';
import { TEST_WORKER_NICENESS } from '../server/harness.js';

const pool = createWorkerPool(loadConfig({ WORKERS: '2', ...TEST_WORKER_NICENESS, PORT: '0', LOG_LEVEL: 'silent' }), (e) => t.fail(`pool error: ${String(e)}`));
t.teardown(() => pool.close());

const quick = (x: number) => ({ program: 'x*y + sin(x)', at: { x, y: 2 } });
/** About 30 million multiply-adds: milliseconds, far over the pool's threshold. */
const slow = (x: number) => ({ program: 'sum(ones(300, 300) * (x .* ones(300, 300)))', at: { x } });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Sends `bodies` in one turn of the event loop; the batches in flight once they are sent; the answers. */
async function together(bodies: object[]): Promise<{ batches: number; answers: unknown[] }> {
  const answers = Promise.all(bodies.map((body) => pool.compute('grad', body)));
  await turn();
  const batches = pool.batches;
  return { batches, answers: await answers };
}

t.test('quick requests that arrive together go to one worker, each answered as the library answers it', async (t) => {
  // The pool judges "quick" by the times it measures, and a machine loaded by other processes (CI
  // machines are shared) can stretch one round past the threshold: up to three
  // tries, each after its own warm-up. The policy itself is test/workers/scheduler.test.ts's, on a
  // fake clock.
  const bodies = Array.from({ length: 12 }, (_, i) => quick(i / 8 - 0.7));
  const tries: number[] = [];
  let answers: unknown[] = [];
  while (tries.length < 3 && tries.at(-1) !== 1) {
    // Lately quick: rounds of 48 quick requests, so that even a loaded machine averages well under the threshold.
    for (let k = 0; k < 20; k++) await together(Array.from({ length: 48 }, (_, i) => quick(i / 48)));
    const round = await together(bodies);
    tries.push(round.batches);
    answers = round.answers;
  }
  t.equal(tries.at(-1), 1, `12 quick requests: one batch, one worker woken (batches at each try: ${tries.join(', ')})`);
  t.same(answers, bodies.map((body) => computeSync('grad', body)), 'the library\'s answers');
});

t.test('requests that take long are split over the free workers', async (t) => {
  // Lately slow: a few slow requests.
  for (let k = 0; k < 3; k++) await together([slow(k + 1)]);
  const bodies = [slow(0.5), slow(1.5), slow(2.5), slow(3.5)];
  const { batches, answers } = await together(bodies);
  t.equal(batches, 2, 'four slow requests: a batch for each of the two workers');
  t.same(answers, bodies.map((body) => computeSync('grad', body)), 'the library\'s answers');
});

t.test('a cancelled request is rejected with 499 CANCELLED, whether it was running or waiting', async (t) => {
  // About a second of loop iterations (under the loop limit), checking the clock as it goes.
  const long = { program: 'x = 0\nfor i = 1:990000\n  x = x + sin(i) * cos(i) + exp(-i)\nend\nx', at: {} };
  const cancels = [new Cancellation(), new Cancellation(), new Cancellation()];
  // Two run, one on each worker; the third waits for one of them.
  const outcomes = cancels.map((cancel) => pool.compute('eval', long, { cancel }).then(() => null, (e: unknown) => e));
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const cancel of cancels) cancel.cancel();
  for (const [i, outcome] of (await Promise.all(outcomes)).entries()) {
    t.ok(outcome instanceof Problem, `request ${i}: a Problem`);
    t.match((outcome as Problem).body, { status: 499, code: 'CANCELLED', detail: /cancelled/ }, `request ${i}: 499 CANCELLED`);
  }
  t.same(await pool.compute('grad', quick(0.25)), computeSync('grad', quick(0.25)), 'the workers serve the next request');
});

t.test('the parts of one request (a sample\'s chunks) wait QUEUE_TIMEOUT_MS in all, ahead of requests not yet started', async (t) => {
  const { STALL_WORKER } = await import('../server/harness.js');
  const poolOf = async (env: Record<string, string>): Promise<WorkerPool> => {
    const p = createWorkerPool(loadConfig({ WORKERS: '1', ...TEST_WORKER_NICENESS, QUEUE_TIMEOUT_MS: '500', PORT: '0', LOG_LEVEL: 'silent', INLINE_BELOW_US: '0', ...env }), (e) => t.fail(`pool error: ${String(e)}`), STALL_WORKER);
    t.teardown(() => p.close());
    // The worker's module loaded, so the stalls below are all the waiting there is.
    t.same(await p.compute('grad', quick(0.5)), computeSync('grad', quick(0.5)), 'warm');
    return p;
  };
  const stall = (ms: number) => ({ program: `# stall ${ms}\nx`, at: { x: 1 } });
  const outcome = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v, (e: unknown) => e);
  const started = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
  const one = await poolOf({});

  const holding = one.compute('eval', stall(400));
  await started();
  const fresh = { waitedMs: 0 };
  const answered = await outcome(one.compute('grad', quick(1), { queue: fresh }));
  t.same(answered, computeSync('grad', quick(1)), 'a part that waits 400 ms of a 500 ms allowance is answered');
  t.ok(fresh.waitedMs >= 200 && fresh.waitedMs <= 500, `and adds what it waited to its request's total (${fresh.waitedMs.toFixed(0)} ms)`);
  await holding;

  const holdingAgain = one.compute('eval', stall(400));
  await started();
  const refused = await outcome(one.compute('grad', quick(1), { queue: { waitedMs: 300 } }));
  t.match(refused, { body: { status: 503, code: 'OVERLOADED', detail: /within 500 ms/ } }, 'one whose request already waited 300 ms is refused: 700 ms in all');
  await holdingAgain;

  const first = one.compute('eval', stall(300));
  await started();
  const waiting = outcome(one.compute('eval', stall(300)));
  const ahead = await outcome(one.compute('grad', quick(3), { continuation: true }));
  t.same(ahead, computeSync('grad', quick(3)), 'a part waits for the request running (300 ms), not also for one that arrived before it (600 ms, past 500)');
  await first;
  await waiting;

  // A full queue (MAX_QUEUE 0, the worker busy) refuses new requests, not the parts of one admitted.
  const full = await poolOf({ MAX_QUEUE: '0' });
  const busy = full.compute('eval', stall(300));
  await started();
  t.match(await outcome(full.compute('eval', stall(300))), { body: { status: 503, code: 'OVERLOADED' } }, 'a new request finds the queue full');
  t.same(await outcome(full.compute('grad', quick(2), { continuation: true })), computeSync('grad', quick(2)), 'a part of a request already running is taken and answered');
  await busy;
});

t.test('a part with an answer due (answerBy) stops then, as at its time limit, though its own limit is longer', async (t) => {
  // Gamma draws of a long program: seconds for 2 million, checked block by block.
  const body = { program: 'z = rsample(gamma(a, 1)); s = 0; for i = 1:20\n  s = s + sin(z * i)\nend\ns', at: { a: 2 }, n: 2_000_000, seed: 1 };
  const clock = (): number => performance.timeOrigin + performance.now();
  const start = clock();
  const outcome = await pool.sampleChunk(body, 0, 2_000_000, { answerBy: start + 300 }).then(
    () => null,
    (e: unknown) => e,
  );
  const took = clock() - start;
  t.match(outcome, { body: { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time' } }, 'refused at the time it was due: 422 LIMIT_EXCEEDED (time)');
  t.ok(took >= 250 && took < 1500, `stopped near its due time (300 ms), not at TIMEOUT_MS (${took.toFixed(0)} ms)`);
  const small = await pool.sampleChunk({ ...body, n: 64 }, 0, 64, { answerBy: clock() + 5000 });
  t.same(small, sampleChunkSync({ ...body, n: 64 }, 0, 64), 'a part due later than it takes is answered, as the library answers it');
});

t.test('a part with an answer due goes to a worker alone: batched ahead of a long request, it would be answered after it', async (t) => {
  // Lately quick, so that requests arriving together would share one batch.
  for (let k = 0; k < 20; k++) await together(Array.from({ length: 48 }, (_, i) => quick(i / 48)));
  const clock = (): number => performance.timeOrigin + performance.now();
  const body = { program: 'rsample(normal(mu, 1))^2', at: { mu: 0.5 }, n: 64, seed: 3 };
  const part = pool.sampleChunk(body, 0, 64, { answerBy: clock() + 5000 });
  const others = Promise.all([pool.compute('grad', quick(0.1)), pool.compute('grad', quick(0.2))]);
  await turn();
  t.equal(pool.batches, 2, 'the part in a batch of its own, the two quick requests in another');
  t.same(await part, sampleChunkSync(body, 0, 64), 'the part answered as the library answers it');
  t.same(await others, [computeSync('grad', quick(0.1)), computeSync('grad', quick(0.2))], 'and the others');
});
