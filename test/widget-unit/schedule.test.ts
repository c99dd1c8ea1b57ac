/**
 * The widgets' request scheduler (src/widget/schedule.ts): at most one run in flight, the latest
 * value waiting, no queue. The oracle is the sequence of values a slider sends.
 */
import t from 'tap';
import { LatestWins } from '../../src/widget/schedule.js';

/** A scheduler whose runs wait until the test releases them, recording what ran and what was aborted. */
function harness() {
  const ran: number[] = [];
  const aborted: number[] = [];
  const releases: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const scheduler = new LatestWins<number>(
    (value, signal) =>
      new Promise<void>((resolve) => {
        ran.push(value);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        let settled = false;
        const done = (): void => {
          if (settled) return;
          settled = true;
          inFlight--;
          resolve();
          releases.splice(releases.indexOf(done), 1);
        };
        signal.addEventListener('abort', () => {
          aborted.push(value);
          done();
        });
        releases.push(done);
      }),
  );
  const releaseNext = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, 0));
    releases[0]?.();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { scheduler, ran, aborted, releaseNext, maxInFlight: () => maxInFlight };
}

t.test('fifty quick moves while the first is in flight: two runs, the first and the last', async (t) => {
  const { scheduler, ran, releaseNext, maxInFlight } = harness();
  for (let v = 0; v < 50; v++) scheduler.submit(v);
  await releaseNext();
  await releaseNext();
  await scheduler.idle();
  t.strictSame(ran, [0, 49], 'ran the first value, then only the latest');
  t.equal(maxInFlight(), 1, 'never more than one run in flight');
  t.equal(scheduler.started, 2, 'two runs started');
});

t.test('a value submitted after each answer runs in turn (nothing is dropped when nothing waits)', async (t) => {
  const { scheduler, ran, releaseNext } = harness();
  for (const v of [1, 2, 3]) {
    scheduler.submit(v);
    await releaseNext();
  }
  await scheduler.idle();
  t.strictSame(ran, [1, 2, 3]);
});

t.test('interrupt aborts the run in flight and starts the latest value once it settles', async (t) => {
  const { scheduler, ran, aborted, releaseNext } = harness();
  scheduler.submit(1);
  scheduler.submit(2, { interrupt: true });
  scheduler.submit(3, { interrupt: true });
  await new Promise((r) => setTimeout(r, 0));
  t.strictSame(aborted, [1], 'the stream for old parameters was aborted');
  await releaseNext();
  await scheduler.idle();
  t.strictSame(ran, [1, 3], 'the latest value ran next; 2 never did');
});

t.test('abort stops the run in flight and forgets the waiting value; a failing run does not stop the next', async (t) => {
  const { scheduler, ran, aborted } = harness();
  scheduler.submit(1);
  scheduler.submit(2);
  scheduler.abort();
  await scheduler.idle();
  t.strictSame(ran, [1]);
  t.strictSame(aborted, [1]);
  t.notOk(scheduler.busy, 'nothing in flight');

  const seen: number[] = [];
  const failing = new LatestWins<number>(async (v) => {
    seen.push(v);
    if (v === 1) throw new Error('the service refused');
  });
  failing.submit(1);
  failing.submit(2);
  await failing.idle();
  t.strictSame(seen, [1, 2], 'the value waiting behind a failure still runs');
});
