/**
 * Requests sent to a worker together (one batch): each answered exactly as alone; one that fails,
 * runs away or is stopped with its worker does not fail its neighbours, which run again on the
 * new worker; a cancelled request does not cost a worker unless it will not stop; a cancelled
 * request still waiting is dropped without running. Requests share a batch when they arrive
 * while the only worker is busy: a blocker occupies it first.
 */
import t, { type Test } from 'tap';
import { Agent, fetch } from 'undici';
import { computeSync } from '../../src/index.js';
import { assertFields } from '../helpers.js';
import { STALL_WORKER, assertProblemReply, describe, metricValue, post, send, startServer, untilBusy, waitFor, type Reply } from './harness.js';

const HUGE = String(Number.MAX_SAFE_INTEGER);
const ENDLESS = 'while 1\nend';
/** Seconds of work that read no clock (on a server of STALL_WORKER): stopped only with its worker. */
const KERNEL = { program: '# stall 10000\nsum(ones(3))', at: {} };

/** The lab's expression at (x, y), and its value and gradient worked out by hand. */
const lab = (x: number, y: number) => ({
  body: { program: 'x*y + sin(x)', at: { x, y } },
  answer: { value: x * y + Math.sin(x), grad: { x: y + Math.cos(x), y: x } },
});
const POINTS = [lab(0.5, 4.2), lab(-1.25, 3), lab(2, -0.5), lab(0.1, 0.2)];

function assertLab(t: Test, label: string, reply: Reply, answer: unknown): void {
  if (reply.status !== 200) t.fail(`${label}: ${describe(reply)}`);
  else assertFields(t, reply.json, answer, label, { rtol: 1e-12, atol: 1e-12 });
}

/**
 * Occupies the only worker with a loop its own timeoutMs ends; resolves once it runs. It has a
 * client of its own: the test's client could queue the next requests behind its connection.
 */
async function block(t: Test, base: string, timeoutMs: number): Promise<{ ended: Promise<{ status: number; json: unknown }> }> {
  const client = new Agent();
  t.teardown(() => client.close());
  const blocker = fetch(`${base}/v1/eval`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ program: ENDLESS, at: {}, options: { timeoutMs } }),
    dispatcher: client,
  }).then(async (r) => ({ status: r.status, json: await r.json() }));
  t.ok(await untilBusy(base), 'the blocker is on the worker');
  return { ended: blocker };
}

/** The blocker's answer: its own time limit. */
async function blockerEnded(t: Test, blocker: { ended: Promise<{ status: number; json: unknown }> }): Promise<void> {
  t.match(await blocker.ended, { status: 422, json: { code: 'LIMIT_EXCEEDED', limit: 'time' } }, 'the blocker ran to its time limit');
}

const timeLimit = { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', line: 'any', column: 'any', detail: [/time limit exceeded/] } as const;

t.test('a batch answers each request exactly as the library does alone', async (t) => {
  const { base } = await startServer(t, { WORKERS: '1', MAX_ITERATIONS: HUGE });
  const bodies: [string, unknown][] = [
    ...POINTS.map((p): [string, unknown] => ['grad', p.body]),
    ['hessian', { program: 'x*y^3 + exp(x)/y', at: { x: 0.25, y: 1.5 } }],
    ['jacobian', { program: 'softmax(x)', at: { x: [1, 2, 3] }, options: { layout: 'flat' } }],
    ['eval', { program: 'sum(rand(3))', seed: 7 }],
    ['trace', { program: 'z = x*y + sin(x)', at: { x: 0.5, y: 4.2 } }],
  ];
  const blocker = await block(t, base, 300);
  const replies = await Promise.all(bodies.map(([endpoint, body]) => post(base, endpoint, body)));
  await blockerEnded(t, blocker);
  replies.forEach((reply, i) => {
    const [endpoint, body] = bodies[i];
    t.equal(reply.text, JSON.stringify(computeSync(endpoint, body)), `${endpoint} #${i}: the library's bytes`);
  });
});

t.test('a request that fails or runs away in a batch does not affect its neighbours', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '5000', MAX_ITERATIONS: HUGE });
  const blocker = await block(t, base, 300);
  const [q0, parse, q1, runaway, q2, unknown, q3] = await Promise.all([
    post(base, 'grad', POINTS[0].body),
    post(base, 'grad', { program: 'x +', at: { x: 1 } }),
    post(base, 'grad', POINTS[1].body),
    post(base, 'eval', { program: ENDLESS, at: {}, options: { timeoutMs: 200 } }),
    post(base, 'grad', POINTS[2].body),
    post(base, 'grad', { program: 'sigmod(x)', at: { x: 1 } }),
    post(base, 'grad', POINTS[3].body),
  ]);
  await blockerEnded(t, blocker);
  [q0, q1, q2, q3].forEach((reply, i) => assertLab(t, `neighbour ${i}`, reply, POINTS[i].answer));
  t.match({ status: parse.status, body: parse.json }, { status: 422, body: { code: 'PARSE_ERROR', line: 1 } }, 'the parse error is its own');
  t.match({ status: unknown.status, body: unknown.json }, { status: 422, body: { code: 'UNKNOWN_NAME', detail: /sigmod/ } }, 'the unknown name is its own');
  assertProblemReply(t, 'the runaway', runaway, timeLimit);
  t.ok(runaway.elapsedMs >= 200, `the runaway ran its 200 ms (${Math.round(runaway.elapsedMs)} ms)`);
  t.equal(app.workers.replaced, 0, 'no worker was lost');
});

t.test('a request that must be stopped with its worker: the batch\'s other requests run again on the new worker', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '300', MAX_ITERATIONS: HUGE }, { workerFile: STALL_WORKER });
  const blocker = await block(t, base, 300);
  // q0 finishes before the kernel starts: its answer dies with the worker and is computed again.
  const [q0, kernel, q1, q2] = await Promise.all([
    post(base, 'grad', POINTS[0].body),
    post(base, 'eval', KERNEL),
    post(base, 'grad', POINTS[1].body),
    post(base, 'grad', POINTS[2].body),
  ]);
  await blockerEnded(t, blocker);
  assertProblemReply(t, 'the kernel', kernel, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', detail: [/300 ms/, /stopped/] });
  [q0, q1, q2].forEach((reply, i) => assertLab(t, `neighbour ${i}`, reply, POINTS[i].answer));
  t.equal(app.workers.replaced, 1, 'exactly one worker was replaced');
  t.equal(metricValue((await send(base, '/metrics')).text, 'adjoint_workers_replaced_total'), 1, 'adjoint_workers_replaced_total says so');
});

t.test('a request that exhausts its worker\'s memory in a batch gets 422; its neighbours run again', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', WORKER_MEMORY_MB: '192', MAX_ELEMENTS: HUGE, MAX_OPERATIONS: HUGE, MAX_ITERATIONS: HUGE, TIMEOUT_MS: '60000' });
  const blocker = await block(t, base, 300);
  const hog = { program: 's = 0\nfor i = 1:100000000\n  s = s + x .* [1, 2, 3]\nend\nsum(s)', at: { x: 1 } };
  const [q0, memory, q1] = await Promise.all([post(base, 'grad', POINTS[0].body), post(base, 'grad', hog), post(base, 'grad', POINTS[1].body)]);
  await blockerEnded(t, blocker);
  assertProblemReply(t, 'the hog', memory, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', detail: [/memory limit exceeded/, /192 MiB/] });
  [q0, q1].forEach((reply, i) => assertLab(t, `neighbour ${i}`, reply, POINTS[i].answer));
  t.equal(app.workers.replaced, 1, 'exactly one worker was replaced');
});

t.test('cancelled requests stop without costing a worker; one that will not stop is stopped after a grace period', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '2', TIMEOUT_MS: '60000', MAX_ITERATIONS: HUGE }, { workerFile: STALL_WORKER });
  await Promise.all(POINTS.map((p) => post(base, 'grad', p.body)));
  // Clients that give up at once, as a load generator does at the end of its run.
  const gaveUp = await Promise.all(
    Array.from({ length: 40 }, (_, i) => {
      const client = new AbortController();
      setTimeout(() => client.abort(), i % 4);
      return post(base, 'grad', POINTS[i % POINTS.length].body, { signal: client.signal }).then(() => 'answered', () => 'aborted');
    }),
  );
  t.ok(gaveUp.includes('aborted'), `some clients gave up before their answer (${gaveUp.filter((g) => g === 'aborted').length} of 40)`);
  // An endless loop checks its clock: cancelled, it stops at once.
  const client = new AbortController();
  const endless = post(base, 'eval', { program: ENDLESS, at: {} }, { signal: client.signal }).catch(() => null);
  t.ok(await untilBusy(base), 'the endless loop runs');
  client.abort();
  await endless;
  t.ok(await waitFor(async () => app.workers.running === 0, 500), 'the endless loop stopped within 500 ms');
  t.equal(app.workers.replaced, 0, 'no worker was replaced');
  assertLab(t, 'the next request', await post(base, 'grad', POINTS[0].body), POINTS[0].answer);

  // The kernel checks no clock: cancelled, it is stopped with its worker after the grace period.
  const stubborn = new AbortController();
  const kernel = post(base, 'eval', KERNEL, { signal: stubborn.signal }).catch(() => null);
  t.ok(await untilBusy(base), 'the kernel runs');
  stubborn.abort();
  await kernel;
  t.ok(await waitFor(async () => app.workers.replaced === 1, 5000), 'its worker was replaced');
  t.equal(app.workers.running, 0, 'nothing left running');
  assertLab(t, 'the request after', await post(base, 'grad', POINTS[1].body), POINTS[1].answer);
});

t.test('a cancelled request that is still waiting is dropped without running', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '60000', MAX_ITERATIONS: HUGE }, { workerFile: STALL_WORKER });
  const blocker = await block(t, base, 500);
  const queueDepth = async (): Promise<number | null> => metricValue((await send(base, '/metrics')).text, 'adjoint_worker_queue_depth');
  const client = new AbortController();
  // Were the kernel to start, it would hold the worker for seconds (it checks no clock).
  const kernel = post(base, 'eval', KERNEL, { signal: client.signal }).catch(() => null);
  t.ok(await waitFor(async () => (await queueDepth()) === 1), 'the kernel waits behind the blocker');
  client.abort();
  await kernel;
  t.ok(await waitFor(async () => (await queueDepth()) === 0, 2000), 'the queue is empty once it is cancelled');
  await blockerEnded(t, blocker);
  const next = await post(base, 'grad', POINTS[0].body);
  assertLab(t, 'the next request', next, POINTS[0].answer);
  t.ok(next.elapsedMs < 1000, `it is served at once, the kernel never ran (${Math.round(next.elapsedMs)} ms)`);
  t.equal(app.workers.replaced, 0, 'no worker was replaced');
  t.equal(app.workers.running, 0, 'nothing left running');
});
