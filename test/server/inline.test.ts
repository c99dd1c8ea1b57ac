/**
 * The inline lane (src/workers/inline.ts): work seen to take microseconds is computed on the event
 * loop, under tighter budgets than a worker's; a request that reaches one is computed by the pool
 * from the start. Every answer is byte for byte the one the pool gives (the same server with
 * INLINE_BELOW_US=0), whichever path it took; the lane's counters say which path that was.
 */
import t from 'tap';
import { Problem, computeSync } from '../../src/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createWorkerPool } from '../../src/workers/pool.js';
import { INLINE_ELEMENTS, InlineLane } from '../../src/workers/inline.js';
import { assertProblemReply, post, send, startServer, type Message, type Reply, type Server } from './harness.js';
import { isRefused, openSocket } from './ws-client.js';

/** The tiny grad a widget sends on each slider move, at a new point. */
const tiny = (x: number) => ({ program: 'x^2 * sin(y) + exp(x / 4)', at: { x, y: 0.5 + x / 10 }, wrt: ['x', 'y'] });
/** n x n ones times n x n ones, summed: n^3, with 3n^2 elements allocated. */
const product = (n: number) => ({ program: 'sum(ones(n, n) * ones(n, n))', at: { n } });

/** The answer's bytes and status, which must not depend on the path it took. */
const bytes = (reply: Reply): string => `${reply.status} ${reply.text}`;

/**
 * Sends `request(k)` for k = 0, 1, ... until one is computed inline (at most 60): a worker's first
 * runs of a program are its slowest, and each quicker run moves the kind's figure half of the way.
 */
async function untilInline(server: Server, request: (k: number) => Promise<unknown>): Promise<number> {
  const before = server.app.workers.inlined;
  let k = 0;
  while (k < 60 && server.app.workers.inlined === before) await request(k++);
  return k;
}

t.test('a kind of work seen to be quick is computed on the event loop, with the pool\'s bytes', async (t) => {
  // A generous threshold: on a loaded machine a thread's first runs of a program are slow (the policy's own figure is the pool's concern).
  const server = await startServer(t, { INLINE_BELOW_US: '5000' });
  const reference = await startServer(t, { INLINE_BELOW_US: '0' });
  const { workers } = server.app;
  const first = await post(server.base, 'grad', tiny(0.1));
  t.equal(workers.inlined, 0, 'the first of its kind goes to a worker, which times it');
  const inlined: string[] = [bytes(first)];
  const pooled: string[] = [bytes(await post(reference.base, 'grad', tiny(0.1)))];
  const ask = async (x: number): Promise<void> => {
    inlined.push(bytes(await post(server.base, 'grad', tiny(x))));
    pooled.push(bytes(await post(reference.base, 'grad', tiny(x))));
  };
  const sent = await untilInline(server, (k) => ask(0.2 + k / 7));
  const before = workers.inlined;
  for (let k = 1; k <= 20; k++) await ask(0.1 + k / 7);
  t.ok(workers.inlined - before >= 18, `then computed inline (after ${sent} to a worker: ${workers.inlined - before} of the next 20)`);
  t.equal(reference.app.workers.inlined, 0, 'never with INLINE_BELOW_US=0');
  t.strictSame(inlined, pooled, 'every answer is the pool\'s, byte for byte');
  const metrics = await send(server.base, '/metrics');
  t.match(metrics.text, new RegExp(`^adjoint_evaluations_inline_total ${workers.inlined}$`, 'm'), 'counted in /metrics');
  const expected = computeSync('grad', tiny(0.1 + 20 / 7)) as { value: number; gradient: Record<string, number> };
  t.strictSame(JSON.parse(inlined.at(-1)!.slice(4)), JSON.parse(JSON.stringify(expected)), 'and the library\'s');

  // Another program, or the same program with a body many times larger, is another kind of work: a worker times it first.
  const known = workers.inlined;
  await post(server.base, 'grad', { ...tiny(0.3), program: 'x^3 * cos(y)' });
  await post(server.base, 'grad', { ...tiny(0.3), padding: 'x'.repeat(2000) }).catch(() => undefined);
  await post(server.base, 'eval', tiny(0.3));
  t.equal(workers.inlined, known, 'another program, a larger body, another endpoint: first to a worker');
});

t.test('a batch\'s items and WebSocket messages of a quick kind are computed inline too, with the pool\'s answers', async (t) => {
  const server = await startServer(t, { INLINE_BELOW_US: '5000' });
  const reference = await startServer(t, { INLINE_BELOW_US: '0' });
  // A widget's loss surface: a grid of evals of one program, by batches.
  const surface = (shift: number) => ({
    requests: Array.from({ length: 50 }, (_, k) => ({ endpoint: 'eval', program: '(1 - x)^2 + 100 * (y - x^2)^2', at: { x: -1.5 + (k % 10) * 0.3 + shift, y: -0.5 + Math.floor(k / 10) * 0.25 } })),
  });
  const answers: string[] = [];
  const expected: string[] = [];
  for (let k = 0; k < 4; k++) {
    answers.push(bytes(await post(server.base, 'batch', surface(k / 100))));
    expected.push(bytes(await post(reference.base, 'batch', surface(k / 100))));
  }
  t.strictSame(answers, expected, 'every batch answered as the pool answers it');
  const inlined = server.app.workers.inlined;
  t.ok(inlined >= 100, `its items computed inline (${inlined} of 200)`);

  const client = await openSocket(server.base);
  if (isRefused(client)) throw new Error(`upgrade refused: ${client.status}`);
  t.teardown(() => client.socket.close());
  // The first of its kind go to a worker, which times them; those after, one by one, as a slider sends them.
  const replies: Message[] = [];
  const xs: number[] = [];
  const message = async (x: number): Promise<void> => {
    const id = `m${xs.length}`;
    xs.push(x);
    client.send({ id, endpoint: 'grad', ...tiny(x) });
    replies.push(await client.until((m) => m.id === id));
  };
  await untilInline(server, (k) => message(k / 5));
  const before = server.app.workers.inlined;
  for (let k = 0; k < 8; k++) await message(0.1 + k / 3);
  t.strictSame(
    replies.map(({ id: _id, ...rest }) => rest),
    xs.map((x) => ({ type: 'result', ...(JSON.parse(JSON.stringify(computeSync('grad', tiny(x)))) as object) })),
    'WebSocket answers: the library\'s',
  );
  t.ok(server.app.workers.inlined - before >= 7, `WebSocket messages computed inline (${server.app.workers.inlined - before} of 8)`);
});

t.test('a request past the lane\'s budgets is computed by the pool under the request\'s own limits', async (t) => {
  const server = await startServer(t, { INLINE_BELOW_US: '5000' });
  const { workers } = server.app;
  // n = 400: 480,000 elements, past the lane's INLINE_ELEMENTS but within the request's MAX_ELEMENTS.
  t.ok(3 * 400 * 400 > INLINE_ELEMENTS, 'the request is past the lane\'s element budget');
  // The kind is seen quick at n = 10 (300 elements), sent with bodies of one size; then the large
  // one is tried inline and handed over. Beside another test file, the lane's share of the event
  // loop can be spent by the quick ones first, and the large one goes to the pool untried: then
  // the kind is made quick again for another try.
  let inlinedBefore = 0;
  let bigTries = 0;
  let bigHanded = false;
  while (!bigHanded && bigTries < 4) {
    bigTries++;
    const inlinedEarlier = workers.inlined;
    await untilInline(server, (k) => post(server.base, 'eval', product(10 + (k % 3))));
    inlinedBefore = workers.inlined;
    t.ok(inlinedBefore > inlinedEarlier, `quick: inline (try ${bigTries})`);
    const handedBefore = workers.handedOver;
    const big = await post(server.base, 'eval', product(400));
    t.equal(big.status, 200, `answered (${big.text.slice(0, 120)})`);
    t.equal((big.json as { value: number }).value, 400 ** 3, 'by the pool: n^3');
    t.equal(workers.inlined, inlinedBefore, 'not counted as computed inline');
    bigHanded = workers.handedOver === handedBefore + 1;
  }
  t.ok(bigHanded, `but as handed over to the pool (in ${bigTries} tries)`);
  const metrics = await send(server.base, '/metrics');
  t.match(metrics.text, new RegExp(`^adjoint_evaluations_handed_over_total ${workers.handedOver}$`, 'm'), 'counted in /metrics');
  // Handed over, the kind is not tried inline again soon: the next goes to a worker.
  await post(server.base, 'eval', product(11));
  t.equal(workers.inlined, inlinedBefore, 'the next of its kind goes to a worker');

  // A loop past the lane's time or element budget, of a kind seen quick: the pool's answer, the library's bytes.
  const loop = (n: number) => ({ program: 'x = 0\nfor i = 1:n\n  x = x + sin(i) / i\nend\nx', at: { n } });
  // Quick loops of 100 iterations (0.2-0.5 ms): a run of 1000 took 2-5 ms inline, and one of 5 ms
  // or more made the kind slow again, so that the long loop went to the pool without being tried
  // here (one run in five). Beside another test file (npm test runs two at once), a quick run can
  // still be slowed past the threshold, or the lane's share of the event loop be spent, between
  // the kind seen quick and the long loop sent: then the long loop goes to the pool untried, and
  // the kind is made quick again for another try. The long loop is never answered inline.
  const expected = JSON.stringify(computeSync('eval', loop(900_000)));
  let tries = 0;
  let handed = false;
  while (!handed && tries < 4) {
    tries++;
    await untilInline(server, (k) => post(server.base, 'eval', loop(100 + k)));
    const quick = workers.inlined;
    const handedOver = workers.handedOver;
    const long = await post(server.base, 'eval', loop(900_000));
    t.equal(workers.inlined, quick, `the long loop is not answered inline (try ${tries})`);
    t.equal(long.text, expected, `its answer: the library's bytes (try ${tries})`);
    handed = workers.handedOver === handedOver + 1;
  }
  t.ok(handed, `the long loop was tried inline and handed over (in ${tries} tries)`);
});

t.test('the request\'s own limits and its mistakes get the same problems inline as from a worker', async (t) => {
  const server = await startServer(t, { MAX_OPERATIONS: '2000', INLINE_BELOW_US: '5000' });
  const reference = await startServer(t, { MAX_OPERATIONS: '2000', INLINE_BELOW_US: '0' });
  const loop = (n: number) => ({ program: 'x = 0\nfor i = 1:n\n  x = x + sin(i)\nend\nx', at: { n } });
  await untilInline(server, (k) => post(server.base, 'eval', loop(10 + k)));
  const inlined = server.app.workers.inlined;
  t.ok(inlined > 0, 'quick: inline');
  for (const [label, body, expected] of [
    ['past MAX_OPERATIONS', loop(5000), { status: 422, code: 'LIMIT_EXCEEDED', limit: 'operations', line: 3, column: 11, detail: [/operation/] }],
    ['an input the program does not have', { ...loop(10), wrt: ['y'] }, { status: 400, code: 'INVALID_REQUEST', detail: [] }],
  ] as const) {
    const got = await post(server.base, 'grad', body);
    const want = await post(reference.base, 'grad', body);
    t.equal(bytes(got), bytes(want), `${label}: the pool's problem, byte for byte`);
    if (expected.code === 'LIMIT_EXCEEDED') assertProblemReply(t, label, got, { ...expected, detail: [...expected.detail] });
  }
  // The mistake of a quick kind is answered inline; the limit went to the pool.
  const mistake = { ...loop(12), at: { n: 'twelve' } };
  t.equal(bytes(await post(server.base, 'eval', mistake)), bytes(await post(reference.base, 'eval', mistake)), 'a malformed input: the same 400');
});

t.test('the lane takes at most its share of the event loop', (t) => {
  let now = 0;
  const lane = new InlineLane({ belowMs: 2, budgetMs: 5, share: 0.5, limits: { timeoutMs: 10_000 } }, () => now);
  const kind = lane.kindOf('grad', tiny(0.5), JSON.stringify(tiny(0.5)).length)!;
  t.equal(lane.takes(kind), false, 'a kind never seen: not taken');
  lane.record(kind, 0.2);
  t.equal(lane.takes(kind), true, 'seen quick: taken');
  // The clock is read three times a run (whether to take it, its start, its end): each run takes 10 ms, and five fill half of the 100 ms window.
  let reads = 0;
  const runClock = (): number => (reads++ % 3 === 2 ? (now += 10) : now);
  const timed = new InlineLane({ belowMs: 1e6, budgetMs: 1e6, share: 0.5, limits: { timeoutMs: 10_000 } }, runClock);
  timed.record(kind, 0.1);
  reads = 0;
  let taken = 0;
  while (timed.takes(kind) && taken < 100) {
    t.ok(timed.run(kind, { endpoint: 'grad', body: tiny(taken) })?.ok, `run ${taken} answered`);
    taken++;
  }
  t.equal(taken, 5, 'then refused for the rest of the window');
  now += 100;
  t.equal(timed.takes(kind), true, 'the next window: taken again');
  lane.record(kind, 5);
  t.equal(lane.takes(kind), false, 'a slow time: not taken');
  lane.record(kind, 0.2);
  t.equal(lane.takes(kind), false, 'one quick time moves it half of the way (2.6 ms): still not taken');
  lane.record(kind, 0.2);
  t.equal(lane.takes(kind), true, 'two (1.4 ms): taken');
  t.equal(new InlineLane({ belowMs: 0, budgetMs: 5, share: 0.5, limits: { timeoutMs: 10_000 } }).kindOf('grad', tiny(0.5), 60), null, 'belowMs 0: nothing is a kind');
  t.equal(lane.kindOf('sample', { program: 'x', at: {} }, 30), null, 'sample is never inline');
  t.equal(lane.kindOf('grad', tiny(0.5), 65 * 1024), null, 'nor a request over 64 KiB');
  t.equal(lane.kindOf('trace', { ...tiny(0.5), options: { format: 'svg' } }, 100), null, 'nor a trace drawn in SVG (Graphviz loads asynchronously)');
  t.type(lane.kindOf('trace', tiny(0.5), 100), 'string', 'a trace as a table is');
  t.end();
});

t.test('a closed pool computes nothing on the event loop either: SHUTTING_DOWN', async (t) => {
  const pool = createWorkerPool(loadConfig({ WORKERS: '1', PORT: '0', LOG_LEVEL: 'silent', INLINE_BELOW_US: '5000' }));
  const ask = (x: number): Promise<unknown> => {
    const body = tiny(x);
    return pool.compute('grad', body, { bodyText: JSON.stringify(body) });
  };
  // A worker's first runs are its slowest, and a quicker time moves a kind's figure half of the way.
  for (let k = 0; k < 40 && pool.inlined === 0; k++) await ask(k);
  t.ok(pool.inlined > 0, `a quick kind, computed inline (${pool.inlined})`);
  await pool.close();
  const refused = await ask(1).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(refused instanceof Problem && refused.code === 'SHUTTING_DOWN', `refused: ${String(refused)}`);
});
