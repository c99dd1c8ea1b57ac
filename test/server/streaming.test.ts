/**
 * Streaming (SPEC.md section 4) over real connections: NDJSON over HTTP, and the multiplexed
 * WebSocket protocol: interleaved requests, cancel by id, closing the socket cancels its work,
 * and a malformed message answers an error on that id and keeps the socket open.
 */
import t from 'tap';
import { fetch } from 'undici';
import { connectSocket as connect, startServer, untilBusy, waitFor, type Message } from './harness.js';

const LAB = { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } };
const LAB_ANSWER = { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } };
const ENDLESS = { program: 'while 1\nend', at: {} };

t.test('NDJSON: one line per message, then the result with the body of the plain response', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const reply = await fetch(`${base}/v1/grad`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(LAB) });
  t.equal(reply.status, 200);
  t.match(reply.headers.get('content-type'), /application\/x-ndjson/);
  const lines = (await reply.text()).trim().split('\n').map((l) => JSON.parse(l) as Message);
  t.same(lines, [{ type: 'result', ...LAB_ANSWER }], 'a single result line');

  const batch = await fetch(`${base}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify({ requests: [{ endpoint: 'grad', ...LAB }, { endpoint: 'eval', program: 'q' }] }),
  });
  const messages = (await batch.text()).trim().split('\n').map((l) => JSON.parse(l) as Message);
  t.equal(messages.length, 3, 'two items, then the result');
  t.same(new Set(messages.slice(0, 2).map((m) => m.index)), new Set([0, 1]), 'every item, each once, as it finished');
  t.same(messages[2], { type: 'result', results: [LAB_ANSWER, { error: (messages.find((m) => m.index === 1) as { error: unknown }).error }] });
  t.match(messages[2], { results: [{}, { error: { code: 'UNKNOWN_NAME', status: 422 } }] }, 'the bad item is an error item');

  const failing = await fetch(`${base}/v1/grad`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify({ program: 'x +', at: { x: 1 } }) });
  const last = JSON.parse((await failing.text()).trim()) as Message;
  t.match(last, { type: 'error', error: { code: 'PARSE_ERROR', status: 422, line: 1 } }, 'an error ends the stream as an error line');
});

t.test('WebSocket: interleaved requests, each answered on its id, with exactly one result or error', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const ws = await connect(base);
  t.teardown(() => ws.socket.close());
  ws.send({ id: 'slow', endpoint: 'eval', program: 's = 0\nfor i = 1:20000\n  s = s + sin(i)\nend\ns', at: {} });
  ws.send({ id: 'lab', endpoint: 'grad', ...LAB });
  ws.send({ id: 'bad', endpoint: 'grad', program: 'sigmod(x)', at: { x: 1 } });
  t.same(await ws.until((m) => m.id === 'lab'), { id: 'lab', type: 'result', ...LAB_ANSWER }, 'the lab gradient');
  t.match(await ws.until((m) => m.id === 'bad'), { id: 'bad', type: 'error', error: { code: 'UNKNOWN_NAME', status: 422 } }, 'an error on its own id');
  const slow = await ws.until((m) => m.id === 'slow');
  t.equal(slow.type, 'result', 'the slow request finishes too');
  t.equal(ws.received.filter((m) => m.id === 'slow').length, 1, 'exactly one answer per request');
});

t.test('WebSocket: a malformed message answers an error and the socket stays open', async (t) => {
  const { base } = await startServer(t);
  const ws = await connect(base);
  t.teardown(() => ws.socket.close());
  ws.send('not json');
  t.match(await ws.until((m) => m.type === 'error' && m.id === null), { error: { code: 'INVALID_REQUEST', status: 400 } }, 'not JSON');
  ws.send({ id: 'noendpoint', program: '1' });
  t.match(await ws.until((m) => m.id === 'noendpoint'), { type: 'error', error: { code: 'INVALID_REQUEST', path: '/endpoint' } }, 'no endpoint, answered on its id');
  ws.send({ id: 'after', endpoint: 'eval', program: '1 + 1' });
  t.same(await ws.until((m) => m.id === 'after'), { id: 'after', type: 'result', value: 2 }, 'the socket still works');
});

t.test('WebSocket: cancel stops the work on its worker, and closing the socket cancels everything', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '60000', MAX_ITERATIONS: '1000000000000' });
  const ws = await connect(base);
  ws.send({ id: 'endless', endpoint: 'eval', ...ENDLESS });
  await new Promise((r) => setTimeout(r, 300));
  ws.send({ id: 'endless', type: 'cancel' });
  t.match(await ws.until((m) => m.id === 'endless'), { type: 'error', error: { status: 499, code: 'CANCELLED', detail: /cancelled/ } }, 'the cancelled request is answered with 499 CANCELLED');
  ws.send({ id: 'next', endpoint: 'grad', ...LAB });
  t.same(await ws.until((m) => m.id === 'next'), { id: 'next', type: 'result', ...LAB_ANSWER }, 'the only worker is free again');

  ws.send({ id: 'orphan', endpoint: 'eval', ...ENDLESS });
  await new Promise((r) => setTimeout(r, 300));
  ws.socket.close();
  // The worker running the orphan is stopped and replaced: a new client is served promptly.
  const other = await connect(base);
  t.teardown(() => other.socket.close());
  other.send({ id: 'fresh', endpoint: 'grad', ...LAB });
  t.same(await other.until((m) => m.id === 'fresh'), { id: 'fresh', type: 'result', ...LAB_ANSWER }, 'served after the closed socket\'s work was cancelled');
  t.equal(app.workers.running, 0, 'nothing left running');
});

/** adjoint_evaluations_total of `endpoint` by outcome, from /metrics. */
async function evaluations(base: string, endpoint: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^adjoint_evaluations_total\\{endpoint="${endpoint}",outcome="(\\w+)"\\} (\\d+)$`, 'gm'))) counts[m[1]] = Number(m[2]);
  return counts;
}

t.test('a run the client cancels is counted as outcome="cancelled", not as an error', async (t) => {
  const { base } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '60000', MAX_ITERATIONS: '1000000000000' });
  const ws = await connect(base);
  t.teardown(() => ws.socket.close());
  ws.send({ id: 'endless', endpoint: 'eval', ...ENDLESS });
  await untilBusy(base);
  ws.send({ id: 'endless', type: 'cancel' });
  await ws.until((m) => m.id === 'endless');
  ws.send({ id: 'bad', endpoint: 'eval', program: 'x +' });
  await ws.until((m) => m.id === 'bad');
  t.same(await evaluations(base, 'eval'), { cancelled: 1, error: 1 }, 'WebSocket: the cancel counts as cancelled, the parse error as an error');

  for (const accept of ['application/json', 'application/x-ndjson']) {
    const before = await evaluations(base, 'eval');
    const controller = new AbortController();
    const reply = fetch(`${base}/v1/eval`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify(ENDLESS), signal: controller.signal });
    await untilBusy(base);
    controller.abort();
    await reply.then((r) => r.text()).catch(() => undefined);
    const counted = await waitFor(async () => ((await evaluations(base, 'eval')).cancelled ?? 0) > (before.cancelled ?? 0));
    t.ok(counted, `${accept}: a client that goes away is counted as cancelled`);
    t.equal((await evaluations(base, 'eval')).error, before.error, `${accept}: and not as an error`);
  }
});

t.test('a streamed request is counted in /metrics like any other', async (t) => {
  const { base } = await startServer(t);
  const reply = await fetch(`${base}/v1/eval`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify({ program: '1 + 1' }) });
  await reply.text();
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /adjoint_http_requests_total\{route="\/v1\/eval",method="POST",status="200"\} 1/, 'the request counter has it');
  t.match(metrics, /adjoint_evaluations_total\{endpoint="eval",outcome="ok"\} 1/, 'the evaluations counter has it');
});
