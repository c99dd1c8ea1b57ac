/**
 * POST /v1/optimize through the service: the PyTorch vectors' answer over HTTP, progress
 * streamed from the worker (NDJSON and WebSocket) before the result and in step order, a
 * diverging run answered with where it stopped, and cancel freeing the worker.
 */
import t from 'tap';
import { fetch } from 'undici';
import { computeSync } from '../../src/index.js';
import { type Message, assertProblemReply, connectSocket, post, startServer } from './harness.js';

const ROSENBROCK = { program: '(1 - x)^2 + 100 * (y - x^2)^2', params: { x: -1.5, y: 2 }, optimizer: { name: 'adam', lr: 0.05 }, steps: 200, every: 50 };

t.test('the answer over HTTP is the library\'s, and the PyTorch vectors\' (adam on Rosenbrock)', async (t) => {
  const { base } = await startServer(t);
  const reply = await post(base, 'optimize', ROSENBROCK);
  t.equal(reply.status, 200);
  t.same(reply.json, computeSync('optimize', ROSENBROCK));
  const { params } = reply.json as { params: { x: number; y: number } };
  t.ok(Math.abs(params.x - -0.9209383774633286) < 1e-9 && Math.abs(params.y - 0.8536995509148226) < 1e-9, 'PyTorch\'s final parameters');
});

t.test('NDJSON: a progress line per history entry, in step order, then the result', async (t) => {
  const { base } = await startServer(t);
  const reply = await fetch(`${base}/v1/optimize`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(ROSENBROCK) });
  const lines = (await reply.text()).trim().split('\n').map((l) => JSON.parse(l) as Message);
  const result = lines[lines.length - 1] as Message & { history: { step: number; loss: number }[] };
  t.equal(result.type, 'result');
  t.same(
    lines.slice(0, -1),
    result.history.map((h) => ({ type: 'progress', step: h.step, loss: h.loss })),
    'one progress message per history entry, with the same losses, before the result',
  );
});

t.test('a diverging run is a 200 that says at which step it stopped', async (t) => {
  const { base } = await startServer(t);
  const reply = await post(base, 'optimize', { ...ROSENBROCK, optimizer: { name: 'sgd', lr: 0.01 }, steps: 1000, every: 100 });
  t.equal(reply.status, 200);
  t.match(reply.json, { loss: 'Infinity', stopped: { step: 7, reason: /diverged/ } });
});

t.test('WebSocket: progress on the request id; cancel stops a long run and frees the worker', async (t) => {
  const { base, app } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '60000' });
  const { socket, received, until } = await connectSocket(base);
  t.teardown(() => socket.close());
  socket.send(JSON.stringify({ id: 'r', endpoint: 'optimize', ...ROSENBROCK }));
  await until((m) => m.id === 'r' && m.type === 'result');
  t.same(
    received.filter((m) => m.id === 'r' && m.type === 'progress').map((m) => m.step),
    [0, 50, 100, 150],
    'progress messages for steps 0, 50, 100, 150',
  );
  // A tensor program of a million steps runs far longer than the test: cancelled, the worker is freed.
  socket.send(JSON.stringify({ id: 'long', endpoint: 'optimize', program: 'sum((x - 1) .^ 2)', params: { x: [0, 0, 0] }, optimizer: { name: 'sgd', lr: 1e-9 }, steps: 1_000_000, every: 1000 }));
  await until((m) => m.id === 'long' && m.type === 'progress');
  socket.send(JSON.stringify({ id: 'long', type: 'cancel' }));
  t.match(await until((m) => m.id === 'long' && m.type === 'error'), { error: { status: 499, code: 'CANCELLED', detail: /cancelled/ } }, 'the cancelled run ends with 499 CANCELLED');
  socket.send(JSON.stringify({ id: 'after', endpoint: 'optimize', ...ROSENBROCK }));
  t.equal((await until((m) => m.id === 'after' && m.type !== 'progress')).type, 'result', 'the only worker is free again');
  t.equal(app.workers.running, 0, 'nothing left running');
});

t.test('bad optimize requests get problems with their place in the body', async (t) => {
  const { base } = await startServer(t);
  assertProblemReply(t, 'an unknown optimizer', await post(base, 'optimize', { ...ROSENBROCK, optimizer: { name: 'lbfgs' } }), {
    status: 400,
    code: 'INVALID_REQUEST',
    path: '/optimizer/name',
    detail: [/sgd, momentum, nesterov, adam, rmsprop, adagrad/],
  });
  assertProblemReply(t, 'a negative lr', await post(base, 'optimize', { ...ROSENBROCK, optimizer: { name: 'adam', lr: -1 } }), {
    status: 422,
    code: 'INVALID_ARGUMENT',
    path: '/optimizer/lr',
    detail: [/non-negative/],
  });
  assertProblemReply(t, 'a loss that is not a scalar', await post(base, 'optimize', { program: 'x .^ 2', params: { x: [1, 2] }, optimizer: { name: 'sgd' }, steps: 3 }), {
    status: 422,
    code: 'NOT_SCALAR',
    path: '',
    detail: [/scalar loss/],
  });
});
