/**
 * The worker pool over HTTP: a runaway program is cut by the deadline while other requests are
 * served; a computation that never yields is killed by the hard deadline; a worker that runs out
 * of memory, or whose client goes away, is replaced and the next request is served; the same
 * request gives the same bytes.
 */
import t, { type Test } from 'tap';
import { assertFields, type ExpectedProblem } from '../helpers.js';
import { STALL_WORKER, assertProblemReply, describe, metricValue, post, send, startServer, untilBusy, type Reply } from './harness.js';

const HUGE = String(Number.MAX_SAFE_INTEGER);
const quick = { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } };
const QUICK_ANSWER = { value: 0.5 * 4.2 + Math.sin(0.5), grad: { x: 4.2 + Math.cos(0.5), y: 0.5 } };
const timeLimit = (detail: RegExp): ExpectedProblem => ({ status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', line: 'any', column: 'any', detail: [detail] });

function assertQuick(t: Test, label: string, reply: Reply): void {
  if (reply.status !== 200) t.fail(`${label}: ${describe(reply)}`);
  else assertFields(t, reply.json, QUICK_ANSWER, label, { rtol: 1e-12, atol: 1e-12 });
}

// Two workers, for the runaway and the determinism tests.
const TIMEOUT_MS = 1000;
const twoWorkers = await startServer(t, { WORKERS: '2', TIMEOUT_MS: String(TIMEOUT_MS), MAX_ITERATIONS: HUGE });

t.test('a runaway program is cut by the deadline while the other worker keeps serving', async (t) => {
  const { base } = twoWorkers;
  for (const reply of await Promise.all([1, 2, 3, 4].map(() => post(base, 'grad', quick)))) assertQuick(t, 'warming both workers', reply);

  let runawayDone = false;
  const runaway = post(base, 'eval', { program: 'while 1\nend', at: {} }).finally(() => {
    runawayDone = true;
  });
  t.ok(await untilBusy(base), 'the runaway is on a worker');
  const servedMeanwhile: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const reply = await post(base, 'grad', quick);
    assertQuick(t, `request ${i + 1} during the runaway`, reply);
    servedMeanwhile.push(!runawayDone);
  }
  t.ok(servedMeanwhile[0], 'the first other request was answered while the runaway was still running');

  const reply = await runaway;
  assertProblemReply(t, 'the runaway', reply, timeLimit(/time limit exceeded/));
  t.ok(reply.elapsedMs >= TIMEOUT_MS, `the runaway ran its ${TIMEOUT_MS} ms (${Math.round(reply.elapsedMs)} ms)`);
  assertQuick(t, 'after the runaway', await post(base, 'grad', quick));
});

t.test('a computation that never checks the clock is stopped by the hard deadline, and its worker replaced', async (t) => {
  const { base } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '300' }, { workerFile: STALL_WORKER });
  assertQuick(t, 'warming the worker', await post(base, 'grad', quick));
  // Ten seconds that read no clock (see test/workers/stall-worker.ts), well past the hard deadline (+1 s).
  const reply = await post(base, 'eval', { program: '# stall 10000\nsum(ones(3))', at: {} });
  assertProblemReply(t, 'the long kernel', reply, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', detail: [/time limit exceeded/, /300 ms/, /stopped/] });
  assertQuick(t, 'the next request, on a new worker', await post(base, 'grad', quick));
});

t.test('a request that exhausts its worker\'s memory gets a clean 422, and the next one is served', async (t) => {
  const { base } = await startServer(t, {
    WORKERS: '1',
    // Room for a cold start (the TypeScript loader and mathjs load in the worker), little more.
    WORKER_MEMORY_MB: '192',
    MAX_ELEMENTS: HUGE,
    MAX_OPERATIONS: HUGE,
    MAX_ITERATIONS: HUGE,
    TIMEOUT_MS: '60000',
  });
  assertQuick(t, 'warming the worker', await post(base, 'grad', quick));
  // Under grad every addition is kept on the tape for the backward pass: the heap fills up.
  const hog = { program: 's = 0\nfor i = 1:100000000\n  s = s + x .* [1, 2, 3]\nend\nsum(s)', at: { x: 1 } };
  assertProblemReply(t, 'the memory hog', await post(base, 'grad', hog), { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', detail: [/memory limit exceeded/, /192 MiB/] });
  assertQuick(t, 'the next request, on a new worker', await post(base, 'grad', quick));
});

t.test('a client that disconnects mid-request frees its worker', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '60000', MAX_ITERATIONS: HUGE });
  assertQuick(t, 'warming the worker', await post(base, 'grad', quick));
  const client = new AbortController();
  const abandoned = post(base, 'eval', { program: 'while 1\nend', at: {} }, { signal: client.signal }).then(
    () => 'answered',
    (e: unknown) => (e instanceof Error ? e.name : String(e)),
  );
  t.ok(await untilBusy(base), 'the endless loop is on the only worker');
  client.abort();
  t.equal(await abandoned, 'AbortError', 'the client gave up');
  const next = await post(base, 'grad', quick);
  assertQuick(t, 'the next request', next);
  t.ok(next.elapsedMs < 20_000, `it is served long before the 60 s deadline (${Math.round(next.elapsedMs)} ms)`);
  t.equal(app.workers.running, 0, 'no task is left running');
  t.equal(metricValue((await send(base, '/metrics')).text, 'adjoint_workers_busy'), 0, 'adjoint_workers_busy is back to 0');
});

t.test('the same request gives byte-identical responses, on either worker', async (t) => {
  const { base } = twoWorkers;
  const bodies: [string, unknown][] = [
    ['grad', { program: 'A = [1, 2; 3, 4]\nsum(tanh(A * x) .^ 2)', at: { x: [[0.3], [-0.7]] } }],
    ['hessian', { program: 'x*y^3 + exp(x)/y', at: { x: 0.25, y: 1.5 } }],
    ['jacobian', { program: 'softmax(x)', at: { x: [1, 2, 3] }, options: { layout: 'flat' } }],
    ['jvp', { program: 'log1p(x .* x)', at: { x: [0.1, 0.2] }, tangents: { x: [1, -1] } }],
    ['trace', { program: 'z = x*y + sin(x)', at: { x: 0.5, y: 4.2 } }],
    ['eval', { program: 'log(-1)', at: {} }],
  ];
  for (const [endpoint, body] of bodies) {
    const replies = await Promise.all([1, 2, 3, 4].map(() => post(base, endpoint, body)));
    t.equal(replies[0].status, 200, `${endpoint}: ${describe(replies[0])}`);
    for (const r of replies.slice(1)) t.equal(r.text, replies[0].text, `${endpoint}: the same bytes`);
  }
});

t.test('the workers run at WORKER_NICENESS below the event loop, which keeps its priority', { skip: process.platform === 'linux' ? false : 'thread priorities are read from /proc (Linux)' }, async (t) => {
  const { readFile, readdir } = await import('node:fs/promises');
  /** Each thread's niceness: field 19 of /proc/self/task/<tid>/stat, counted after the command's closing parenthesis. */
  const niceness = async (): Promise<number[]> => {
    const tids = await readdir('/proc/self/task');
    const stats = await Promise.all(tids.map((tid) => readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => null)));
    return stats.filter((s) => s !== null).map((s) => Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]));
  };
  const before = await niceness();
  const main = before[0];
  const { base } = await startServer(t, { WORKERS: '2', WORKER_NICENESS: '7' });
  assertQuick(t, 'a request on the niced workers', await post(base, 'grad', quick));
  // The other worker lowers its priority once its module has loaded, which may be a moment later.
  const niced = async (): Promise<number> => (await niceness()).filter((n) => n === main + 7).length - before.filter((n) => n === main + 7).length;
  for (let waited = 0; waited < 30_000 && (await niced()) < 2; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await niced(), 2, 'two more threads, the new server\'s workers, run 7 nicer');
  t.equal((await niceness())[0], main, 'the event loop keeps its priority');
});
