/**
 * How the pool spreads requests over its workers: quick requests that arrive together go to one
 * worker as one batch (waking a second worker would cost more than it saves); once requests take
 * long, those arriving together are split over the free workers, to run side by side. Every
 * answer is the library's.
 */
import t from 'tap';
import { Problem, computeSync } from '../../src/index.js';
import { Cancellation } from '../../src/server/cancellation.js';
import { loadConfig } from '../../src/server/config.js';
import { createWorkerPool } from '../../src/server/pool.js';

const pool = createWorkerPool(loadConfig({ WORKERS: '2', PORT: '0', LOG_LEVEL: 'silent' }), (e) => t.fail(`pool error: ${String(e)}`));
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
  // Lately quick: rounds of 48 quick requests, so that even a loaded machine averages well under the threshold.
  for (let k = 0; k < 20; k++) await together(Array.from({ length: 48 }, (_, i) => quick(i / 48)));
  const bodies = Array.from({ length: 12 }, (_, i) => quick(i / 8 - 0.7));
  const { batches, answers } = await together(bodies);
  t.equal(batches, 1, '12 quick requests: one batch, one worker woken');
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
