/**
 * A worker cancels an evaluation by making its clock read Infinity (src/workers/compute-worker.ts).
 * A request cancelled before its evaluation has even worked out its deadline (while its body is
 * validated, say) has an infinite deadline: it must still stop at its first deadline check, not
 * run until its worker is stopped. Found by test/server/batching.test.ts once validation moved
 * into compute() and a first request's schema compiled on the worker.
 */
import t from 'tap';
import { Context } from '../../src/engine/index.js';
import { computeSync } from '../../src/index.js';
import { problemOf } from '../helpers.js';

const cancelled = (): number => Infinity;
const endless = { program: 'while 1\nend', at: {} };
const huge = { maxIterations: 1e15, maxOperations: 1e15, timeoutMs: 60_000 };

t.test('a clock at Infinity is past every deadline, an infinite one included', (t) => {
  for (const deadline of [0, 1e12, Infinity, NaN]) {
    const cx = new Context({ deadline }, cancelled);
    t.throws(() => cx.checkDeadline('loop'), { code: 'LIMIT_EXCEEDED', limit: 'time' }, `deadline ${deadline}`);
  }
  // With a real clock, no deadline means no time limit.
  t.doesNotThrow(() => new Context({}, () => performance.now()).checkDeadline('loop'), 'no deadline, a real clock');
  t.end();
});

t.test('an endless loop cancelled before its evaluation began stops at once', (t) => {
  for (const endpoint of ['eval', 'grad']) {
    const started = performance.now();
    const problem = problemOf(() => computeSync(endpoint, endless, { clock: cancelled, limits: huge }));
    t.match(problem, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time' }, `${endpoint}: 422, limit time`);
    t.ok(performance.now() - started < 5000, `${endpoint}: it stopped (${(performance.now() - started).toFixed(0)} ms)`);
  }
  t.end();
});

t.test('a batch cancelled before it began answers every item past its deadline', (t) => {
  const reply = computeSync('batch', { requests: [{ endpoint: 'eval', ...endless }, { endpoint: 'eval', program: '1 + 1' }] }, { clock: cancelled, limits: huge }) as {
    results: { error?: { code: string; limit?: string } }[];
  };
  t.equal(reply.results.length, 2);
  for (const [i, result] of reply.results.entries()) t.match(result.error, { code: 'LIMIT_EXCEEDED', limit: 'time' }, `item ${i}`);
  t.end();
});
