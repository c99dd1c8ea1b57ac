/**
 * `POST /v1/sample` through the service: a large n is cut into chunks spread over the workers,
 * so the answer must not depend on how many workers there are or how the chunks fell; the
 * stream shows each chunk's running estimate in order; a cancelled request stops its chunks;
 * and a bad chunk fails the request with the problem the library gives.
 */
import t from 'tap';
import { fetch } from 'undici';
import { computeSync } from '../../src/index.js';
import type { ExpectedProblem } from '../helpers.js';
import { type Message, assertProblemReply, connectSocket, post, startServer } from './harness.js';

const NORMAL_SQUARED = { program: 'z = rsample(normal(mu, sigma)); z^2', at: { mu: 0.5, sigma: 1.5 } };
/** A program the compiler cannot take (a tensor draw): every sample runs through the engine. */
const TENSOR_DRAW = { program: 'z = rsample(normal(mu, sigma), 2); sum(z .^ 2)', at: { mu: 0.5, sigma: 1.5 } };

t.test('the same request and seed give the same bytes on one worker, on two, and in the library', async (t) => {
  const one = await startServer(t, { WORKERS: '1' });
  const two = await startServer(t, { WORKERS: '2' });
  for (const [label, body] of [
    ['compiled, 50,000 samples', { ...NORMAL_SQUARED, n: 50_000, seed: 11 }],
    ['compiled, listed samples', { ...NORMAL_SQUARED, n: 3000, seed: 12, options: { samples: true } }],
    ['through the engine, 5,000 samples', { ...TENSOR_DRAW, n: 5000, seed: 13 }],
    ['score-function estimator', { ...NORMAL_SQUARED, n: 20_000, seed: 14, options: { estimator: 'score' } }],
  ] as const) {
    const a = await post(one.base, 'sample', body);
    const b = await post(two.base, 'sample', body);
    t.equal(a.status, 200, `${label}: answered`);
    t.equal(a.text, b.text, `${label}: one worker and two give the same bytes`);
    t.same(a.json, computeSync('sample', body), `${label}: the service answers what the library computes in one piece`);
  }
});

t.test('a request without a seed gets a fresh one, reported, that repeats the draws', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const first = await post(base, 'sample', { ...NORMAL_SQUARED, n: 2000 });
  const seed = (first.json as { seed: number }).seed;
  t.ok(Number.isSafeInteger(seed) && seed >= 0, `a seed is reported (${seed})`);
  const again = await post(base, 'sample', { ...NORMAL_SQUARED, n: 2000, seed });
  t.equal(again.text, first.text, 'the reported seed gives the same answer');
  const other = await post(base, 'sample', { ...NORMAL_SQUARED, n: 2000 });
  t.not((other.json as { seed: number }).seed, seed, 'another request gets another seed');
});

t.test('the estimate is within a few standard errors of the analytic gradient, d E[z^2] = (2 mu, 2 sigma)', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  for (const estimator of ['reparam', 'score']) {
    const reply = await post(base, 'sample', { ...NORMAL_SQUARED, n: 200_000, seed: 5, options: { estimator } });
    const { mean, stderr } = reply.json as { mean: { value: number; grad: Record<string, number> }; stderr: { value: number; grad: Record<string, number> } };
    t.ok(Math.abs(mean.value - 2.5) < 4 * stderr.value, `${estimator}: E[z^2] = mu^2 + sigma^2 = 2.5, got ${mean.value} ± ${stderr.value}`);
    t.ok(Math.abs(mean.grad.mu - 1) < 4 * stderr.grad.mu, `${estimator}: d/dmu = 1, got ${mean.grad.mu} ± ${stderr.grad.mu}`);
    t.ok(Math.abs(mean.grad.sigma - 3) < 4 * stderr.grad.sigma, `${estimator}: d/dsigma = 3, got ${mean.grad.sigma} ± ${stderr.grad.sigma}`);
  }
});

t.test('NDJSON: a running estimate per chunk, in order, then the result', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const body = { ...NORMAL_SQUARED, n: 300_000, seed: 3 };
  const reply = await fetch(`${base}/v1/sample`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(body) });
  const lines = (await reply.text()).trim().split('\n').map((l) => JSON.parse(l) as Message);
  const chunks = lines.slice(0, -1);
  t.ok(chunks.length >= 2, `several chunks (${chunks.length})`);
  t.ok(
    chunks.every((m) => m.type === 'samples'),
    'every message before the result is a samples message',
  );
  let covered = 0;
  for (const m of chunks) {
    t.equal(m.from, covered, `chunk at ${String(m.from)} follows the previous one`);
    covered += m.count as number;
    t.equal(m.done, covered, 'done counts the samples so far');
    t.equal(m.n, body.n, 'n is the total');
    t.ok('mean' in m && 'stderr' in m && !('samples' in m), 'a running estimate, and no samples (not asked for)');
  }
  t.equal(covered, body.n, 'the chunks cover every sample once');
  t.same(lines[lines.length - 1], { type: 'result', ...(computeSync('sample', body) as object) }, 'the result is the plain response');
  const lastChunk = chunks[chunks.length - 1];
  t.same(lastChunk.mean, lines[lines.length - 1].mean, 'the last running estimate is the final one');
});

t.test('WebSocket: samples messages on the request id, then one result; cancel stops the chunks', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '2', TIMEOUT_MS: '60000' });
  const { socket, received, until } = await connectSocket(base);
  t.teardown(() => socket.close());
  socket.send(JSON.stringify({ id: 's', endpoint: 'sample', ...NORMAL_SQUARED, n: 100_000, seed: 1 }));
  const result = await until((m) => m.id === 's' && m.type === 'result');
  t.ok(
    received.filter((m) => m.id === 's' && m.type === 'samples').length >= 1,
    'progress before the result',
  );
  t.same(result, { id: 's', type: 'result', ...(computeSync('sample', { ...NORMAL_SQUARED, n: 100_000, seed: 1 }) as object) });

  // Ten million samples through the engine would take minutes: cancelled, the workers are freed.
  socket.send(JSON.stringify({ id: 'long', endpoint: 'sample', ...TENSOR_DRAW, n: 10_000_000, seed: 1 }));
  await until((m) => m.id === 'long' && m.type === 'samples');
  socket.send(JSON.stringify({ id: 'long', type: 'cancel' }));
  t.match(await until((m) => m.id === 'long' && m.type === 'error'), { error: { status: 499, code: 'CANCELLED', detail: /cancelled/ } }, 'the cancelled request ends with 499 CANCELLED');
  socket.send(JSON.stringify({ id: 'after', endpoint: 'sample', ...NORMAL_SQUARED, n: 10, seed: 2 }));
  const after = await until((m) => m.id === 'after' && m.type !== 'samples');
  t.equal(after.type, 'result', `the workers are free again: ${JSON.stringify(after).slice(0, 300)}`);
  // With two workers, 'after' may run on one while the other is still stopping its cancelled
  // chunk (at its next deadline check): soon, not minutes, as a chunk of 10^7 draws would take.
  const stopBy = Date.now() + 10_000;
  while (app.workers.running > 0 && Date.now() < stopBy) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(app.workers.running, 0, 'no chunk left running within 10 s of the cancel');
});

t.test('bad sample requests get the library\'s problem', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const cases: { label: string; body: unknown; expected: Partial<ExpectedProblem> & Pick<ExpectedProblem, 'status' | 'code' | 'detail'> }[] = [
    { label: 'n of 0', body: { ...NORMAL_SQUARED, n: 0 }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/n', detail: [/from 1 to 10000000, got 0/] } },
    { label: 'n too large', body: { ...NORMAL_SQUARED, n: 10_000_001 }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/n', detail: [/n/] } },
    { label: 'n missing', body: NORMAL_SQUARED, expected: { status: 400, code: 'INVALID_REQUEST', path: '/n', detail: [/required/] } },
    { label: 'n not an integer', body: { ...NORMAL_SQUARED, n: 2.5 }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/n', detail: [/integer/] } },
    { label: 'a negative seed', body: { ...NORMAL_SQUARED, n: 10, seed: -1 }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/seed', detail: [/seed/] } },
    {
      label: 'an invalid parameter in every chunk',
      body: { ...NORMAL_SQUARED, at: { mu: 0, sigma: -1 }, n: 50_000 },
      expected: { status: 422, code: 'INVALID_ARGUMENT', line: 1, column: 13, detail: [/normal: sigma must be positive, got -1/] },
    },
    {
      label: 'too many samples to list',
      body: { ...NORMAL_SQUARED, n: 200_000, options: { samples: true } },
      expected: { status: 413, code: 'TOO_LARGE', path: '/options/samples', detail: [/at most 100000/] },
    },
    {
      label: 'rsample of a discrete family',
      body: { program: 'rsample(poisson(r))', at: { r: 2 }, n: 10 },
      expected: { status: 422, code: 'INVALID_ARGUMENT', line: 1, column: 1, detail: [/sample\(d\)/, /score-function/] },
    },
  ];
  for (const c of cases) {
    const reply = await post(base, 'sample', c.body);
    assertProblemReply(t, c.label, reply, { line: undefined, column: undefined, path: undefined, limit: undefined, ...c.expected });
  }
});
