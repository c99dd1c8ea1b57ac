/**
 * Time on a worker and time waiting for one are bounded apart (issue 14, finding 5): a request's
 * time limit (TIMEOUT_MS, or its own options.timeoutMs) counts only time on a worker, so under
 * load requests queue rather than fail 422; waiting has its own bound, QUEUE_TIMEOUT_MS, past
 * which the request is refused with 503 OVERLOADED and a Retry-After. A `sample` request's
 * chunks share its limit (each chunk checks it as it goes), and each waits its turn.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { assertProblemReply, describe, post, startServer, untilBusy } from './harness.js';

const HUGE = String(Number.MAX_SAFE_INTEGER);
/** A scalar program the compiler takes: its samples run a block at a time. */
const GAMMA = { program: 'z = rsample(gamma(a, b)); z^2', at: { a: 2.5, b: 1.5 } };
/** A tensor draw: every sample runs through the engine. */
const TENSOR_DRAW = { program: 'z = rsample(normal(mu, sigma), 2); sum(z .^ 2)', at: { mu: 0.5, sigma: 1.5 } };
const GRAD = { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } };

t.test('concurrent samples on one worker queue for it, each with its whole time limit there: none fails for time', async (t) => {
  const timeoutMs = 6000;
  const { base } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: String(timeoutMs) });
  // How many samples take about 20% of the limit on this machine now: the time of a sample, from
  // the quickest of three probes (the first request compiles). Another test file running beside
  // this one (npm test runs two at once) only slows a probe, and a probe's overhead is a few
  // milliseconds of its ~300: the quickest is the closest. (Two probes' difference was: a slowed
  // small probe made it 4-6 times too small, and six requests of 1.4M samples each ran past the
  // limit.)
  await post(base, 'sample', { ...GAMMA, n: 1000, seed: 1 });
  const probeN = 50_000;
  const probes = [];
  for (const seed of [2, 3, 4]) probes.push(await post(base, 'sample', { ...GAMMA, n: probeN, seed }));
  probes.forEach((p) => t.equal(p.status, 200, `a probe is answered: ${describe(p)}`));
  const msPerSample = Math.max(1e-6, Math.min(...probes.map((p) => p.elapsedMs)) / probeN);
  // 20%: a request slowed five times over (by the other test file, after a quick probe) still
  // ends within its limit, and the ten together are past it with a probe twice too slow.
  let n = Math.min(10_000_000, Math.max(5000, Math.round((0.2 * timeoutMs) / msPerSample)));
  // Ten at once: twice the limit of work in all, more than any one request may take. A probe
  // slowed more than the ten (by the other test file) makes them too few to pass the limit
  // together: then they go again, with enough for twice the limit at the pace they just went.
  const seeds = Array.from({ length: 10 }, (_, i) => i + 1);
  let last = 0;
  for (let attempt = 1; attempt <= 3 && last <= timeoutMs; attempt++) {
    const replies = await Promise.all(seeds.map((seed) => post(base, 'sample', { ...GAMMA, n, seed, options: { samples: false } })));
    replies.forEach((reply, i) => t.equal(reply.status, 200, `request ${i} of n = ${n} is answered (${Math.round(reply.elapsedMs)} ms): ${describe(reply)}`));
    last = Math.max(...replies.map((r) => r.elapsedMs));
    n = Math.min(10_000_000, Math.round((n * 2 * timeoutMs) / last));
  }
  t.ok(last > timeoutMs, `the last was answered after more than the time limit (${Math.round(last)} ms): it waited, and the wait was not taken from its limit`);
});

t.test('a sample too large for its time limit gets 422 (time) within about the limit, and its worker lives', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '1000' });
  t.equal((await post(base, 'eval', { program: '1 + 1', at: {} })).status, 200, 'the worker is warm');
  const cases = [
    { label: 'compiled, TIMEOUT_MS', body: { ...GAMMA, n: 10_000_000 }, limitMs: 1000 },
    { label: 'through the engine, TIMEOUT_MS', body: { ...TENSOR_DRAW, n: 10_000_000 }, limitMs: 1000 },
    { label: 'compiled, options.timeoutMs', body: { ...GAMMA, n: 10_000_000, options: { timeoutMs: 400 } }, limitMs: 400 },
  ];
  for (const c of cases) {
    const reply = await post(base, 'sample', c.body);
    assertProblemReply(t, c.label, reply, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', detail: [new RegExp(`sampling ran past ${c.limitMs} ms on a worker`)] });
    t.ok(reply.elapsedMs < c.limitMs + 1500, `${c.label}: answered in ${Math.round(reply.elapsedMs)} ms, within the limit and a second and a half`);
  }
  t.equal(app.workers.replaced, 0, 'no worker was stopped: every chunk checked the deadline');
  t.equal((await post(base, 'grad', GRAD)).status, 200, 'the worker serves the next request');
});

t.test('a batch that waits behind other requests has its whole time limit from when a worker starts it', async (t) => {
  const { base } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '1500', MAX_ITERATIONS: HUGE });
  t.equal((await post(base, 'eval', { program: '1 + 1', at: {} })).status, 200, 'the worker is warm');
  // Two seconds of work ahead of the batch: longer than its limit.
  const blockers = [1, 2].map(() => post(base, 'eval', { program: 'while 1\nend', at: {}, options: { timeoutMs: 1000 } }));
  t.ok(await untilBusy(base), 'the first blocker is on the worker');
  const batch = await post(base, 'batch', { requests: [{ endpoint: 'grad', ...GRAD }, { endpoint: 'eval', program: '2 * 3', at: {} }] });
  t.strictSame({ status: batch.status, body: batch.json }, { status: 200, body: { results: [computeSync('grad', GRAD), { value: 6 }] } }, `both items answered after waiting ${Math.round(batch.elapsedMs)} ms`);
  for (const blocker of await Promise.all(blockers)) t.match(blocker, { status: 422, json: { code: 'LIMIT_EXCEEDED', limit: 'time' } }, 'a blocker ran to its own limit');
});

t.test('QUEUE_TIMEOUT_MS: a request that waits that long behind a busy worker gets 503 OVERLOADED with a Retry-After', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '3000', QUEUE_TIMEOUT_MS: '300', MAX_ITERATIONS: HUGE });
  t.equal((await post(base, 'eval', { program: '1 + 1', at: {} })).status, 200, 'the worker is warm');
  const blocker = post(base, 'eval', { program: 'while 1\nend', at: {}, options: { timeoutMs: 2500 } });
  t.ok(await untilBusy(base), 'the blocker is on the worker');
  for (const [label, endpoint, body] of [
    ['a plain request', 'grad', GRAD],
    ['a sample, its first chunk waiting', 'sample', { ...GAMMA, n: 5000 }],
  ] as const) {
    const reply = await post(base, endpoint, body);
    assertProblemReply(t, label, reply, { status: 503, code: 'OVERLOADED', detail: [/no worker could take the request within 300 ms/] });
    t.ok(Number(reply.headers.get('retry-after')) >= 1, `${label}: Retry-After in seconds (${reply.headers.get('retry-after')})`);
    t.ok(reply.elapsedMs < 2000, `${label}: refused after its wait (${Math.round(reply.elapsedMs)} ms), not when the blocker ended`);
  }
  t.match(await blocker, { status: 422, json: { code: 'LIMIT_EXCEEDED', limit: 'time' } }, 'the blocker ran to its own time limit');
  t.equal((await post(base, 'grad', GRAD)).status, 200, 'once the worker is free, requests are served');
  t.equal(app.workers.replaced, 0, 'no worker was replaced');
});

t.test('waiting counts only while the workers run other requests: a starting worker is not a full queue', async (t) => {
  // The first request reaches the pool while its worker is still loading.
  const { base } = await startServer(t, { WORKERS: '1', QUEUE_TIMEOUT_MS: '1' });
  const first = await post(base, 'grad', GRAD);
  t.equal(first.status, 200, `the first request waits for the worker to start and is answered (${Math.round(first.elapsedMs)} ms): ${describe(first)}`);
});

t.test('QUEUE_TIMEOUT_MS is read and validated at start', async (t) => {
  t.equal(loadConfig({}).queueTimeoutMs, 10_000, 'ten seconds by default');
  t.equal(loadConfig({ QUEUE_TIMEOUT_MS: '2500' }).queueTimeoutMs, 2500, 'as set');
  for (const bad of ['0', '-5', 'soon', '1.5']) t.throws(() => loadConfig({ QUEUE_TIMEOUT_MS: bad }), ConfigError, `${bad} stops the start`);
});
