/**
 * Draining (issue 14, finding 11): while the server drains, new requests and /readyz get 503
 * SHUTTING_DOWN problems with Retry-After; what is in flight finishes, and each WebSocket
 * closes with 1001 after its last answer; at the end of the grace period every request, NDJSON
 * stream and WebSocket id still running gets a final SHUTTING_DOWN answer, none is reset. In
 * process through drain(app, graceMs), then once through the entry point and SIGTERM.
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { fetch } from 'undici';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { drain } from '../../src/server/drain.js';
import { TEST_WORKER_NICENESS, assertProblemReply, describe, post, send, startServer, waitFor, type Message, type Reply } from './harness.js';
import { isRefused, openSocket, type Client } from './ws-client.js';
import { nodeArgs, root } from '../../scripts/paths.js';

const HUGE = String(Number.MAX_SAFE_INTEGER);
const ENDLESS = { program: 'while 1\nend', at: {} };
const SHUTTING_DOWN = { status: 503, code: 'SHUTTING_DOWN', detail: [/shutting down/] } as const;
const repoRoot = root;

/** The app listening on 127.0.0.1; closed at the end of `t` unless a drain closed it. */
async function listening(t: Test, env: Record<string, string>): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp(loadConfig({ WORKERS: '1', ...TEST_WORKER_NICENESS, ...env, PORT: '0', LOG_LEVEL: 'silent' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    if (app.accepting) await app.close();
  });
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

async function connected(base: string): Promise<Client> {
  const client = await openSocket(base);
  if (isRefused(client)) throw new Error(`the upgrade was refused: ${client.status}`);
  return client;
}

/** An NDJSON request's lines, once it ends. */
async function ndjson(base: string, body: unknown): Promise<Message[]> {
  const reply = await fetch(`${base}/v1/eval`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(body) });
  return (await reply.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Message);
}

/** A request whose body never finishes arriving: what the server answers, as raw HTTP. */
function unfinishedBody(base: string): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write('POST /v1/eval HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"program": '),
    );
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

function assertShuttingDown(t: Test, label: string, reply: Reply): void {
  assertProblemReply(t, label, reply, { ...SHUTTING_DOWN, detail: [...SHUTTING_DOWN.detail] });
  t.ok(Number(reply.headers.get('retry-after')) >= 1, `${label}: Retry-After ${reply.headers.get('retry-after')}`);
}

t.test('while draining: new requests and /readyz are 503 SHUTTING_DOWN problems with Retry-After; /healthz stays 200', async (t) => {
  const { app, base } = await startServer(t);
  app.accepting = false;
  t.teardown(() => {
    app.accepting = true;
  });
  const compute = await post(base, 'eval', { program: '1 + 1', at: {} });
  assertShuttingDown(t, 'a new request', compute);
  t.equal(compute.headers.get('connection'), 'close', 'and its connection is closed');
  assertShuttingDown(t, '/readyz', await send(base, '/readyz'));
  t.equal((await send(base, '/healthz')).status, 200, '/healthz: 200, the process is alive');
});

t.test('a drain within the grace period: what is in flight finishes, new work is refused, sockets close 1001', async (t) => {
  const { app, base } = await listening(t, { WORKERS: '2', MAX_ITERATIONS: HUGE, MAX_OPERATIONS: HUGE, TIMEOUT_MS: '60000', QUEUE_TIMEOUT_MS: '60000' });
  const n = 2_000_000;
  const slow = { program: `s = 0\nfor i = 1:${n}\n  s = s + i\nend\ns`, at: {} };
  const client = await connected(base);
  const idle = await connected(base);
  client.send({ id: 'slow', endpoint: 'eval', ...slow });
  const http = post(base, 'eval', slow);
  t.ok(await waitFor(async () => app.workers.running >= 1 && app.workers.running + app.workers.queued === 2, 60_000), 'both slow requests are in flight');
  const drained = drain(app, 60_000);
  t.equal((await idle.closed).code, 1001, 'a socket with nothing in flight closes at once with 1001');
  client.send({ id: 'late', endpoint: 'eval', program: '1 + 1' });
  t.match(await client.until((m) => m.id === 'late'), { type: 'error', error: { code: 'SHUTTING_DOWN', status: 503 } }, 'a new WebSocket request: SHUTTING_DOWN');
  t.same(await client.until((m) => m.id === 'slow', 60_000), { id: 'slow', type: 'result', value: (n * (n + 1)) / 2 }, 'the WebSocket request in flight finishes');
  t.equal((await client.closed).code, 1001, 'then its socket closes with 1001');
  const reply = await http;
  t.strictSame({ status: reply.status, body: reply.json }, { status: 200, body: { value: (n * (n + 1)) / 2 } }, `the HTTP request in flight finishes: ${describe(reply)}`);
  t.equal(await drained, true, 'drained within the grace period');
});

t.test('at the end of the grace period every request, stream and socket still running is answered SHUTTING_DOWN', async (t) => {
  const { app, base } = await listening(t, { WORKERS: '1', MAX_ITERATIONS: HUGE, MAX_OPERATIONS: HUGE, TIMEOUT_MS: '60000', QUEUE_TIMEOUT_MS: '60000' });
  t.equal((await post(base, 'eval', { program: '1', at: {} })).status, 200, 'the worker is warm');
  const requests = Array.from({ length: 8 }, () => post(base, 'eval', ENDLESS));
  const stream = ndjson(base, ENDLESS);
  const client = await connected(base);
  client.send({ id: 'a', endpoint: 'eval', ...ENDLESS });
  client.send({ id: 'b', endpoint: 'eval', ...ENDLESS });
  const unfinished = unfinishedBody(base);
  t.ok(await waitFor(async () => app.workers.running + app.workers.queued === 11 && app.inFlight.requests.size === 10), 'eleven tasks in flight, ten HTTP requests');
  t.equal(await drain(app, 1000), false, 'the grace period ran out');
  for (const [i, reply] of (await Promise.all(requests)).entries()) assertShuttingDown(t, `request ${i}`, reply);
  const lines = await stream;
  t.match(lines.at(-1), { type: 'error', error: { code: 'SHUTTING_DOWN', status: 503 } }, 'the NDJSON stream ends with a SHUTTING_DOWN line');
  for (const id of ['a', 'b']) t.match(await client.until((m) => m.id === id), { type: 'error', error: { code: 'SHUTTING_DOWN', status: 503 } }, `WebSocket request ${id}: SHUTTING_DOWN`);
  t.equal((await client.closed).code, 1001, 'the socket closes with 1001');
  const raw = await unfinished;
  t.match(raw, /^HTTP\/1\.1 503 /, `a request whose body never came: 503 (${raw.split('\r\n')[0]})`);
  t.match(raw, /"code":"SHUTTING_DOWN"/, 'with a SHUTTING_DOWN problem');
});

/** A port free right now: listen on 0, read the number, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('the entry point: SIGTERM under load ends with every client answered and exit 0', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, nodeArgs('src/server/server.ts'), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', WORKERS: '1', ...TEST_WORKER_NICENESS, LOG_LEVEL: 'info', TIMEOUT_MS: '60000', QUEUE_TIMEOUT_MS: '60000', MAX_ITERATIONS: HUGE, MAX_OPERATIONS: HUGE, SHUTDOWN_GRACE_MS: '1500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const ready = await waitFor(async () => {
    try {
      return (await send(base, '/readyz')).status === 200 && (await post(base, 'eval', { program: '1', at: {} })).status === 200;
    } catch {
      return false;
    }
  }, 60_000);
  t.ok(ready, `the server is ready (${output.slice(0, 300)})`);
  if (!ready) return;
  const requests = Array.from({ length: 16 }, () => post(base, 'eval', ENDLESS).catch((e: Error) => e));
  const stream = ndjson(base, ENDLESS).catch((e: Error) => e);
  const client = await connected(base);
  client.send({ id: 'a', endpoint: 'eval', ...ENDLESS });
  client.send({ id: 'b', endpoint: 'eval', ...ENDLESS });
  t.ok(await waitFor(async () => /adjoint_worker_queue_depth (1[6-9]|[2-9]\d)/.test((await send(base, '/metrics')).text), 30_000), 'the load is queued');
  child.kill('SIGTERM');
  t.strictSame(await exited, { code: 0, signal: null }, 'exit 0');
  for (const [i, reply] of (await Promise.all(requests)).entries()) {
    if (reply instanceof Error) t.fail(`request ${i}: ${reply.message} (${String((reply.cause as Error | undefined)?.message)})`);
    else assertShuttingDown(t, `request ${i}`, reply);
  }
  const lines = await stream;
  if (lines instanceof Error) t.fail(`the NDJSON stream: ${lines.message}`);
  else t.match(lines.at(-1), { type: 'error', error: { code: 'SHUTTING_DOWN' } }, 'the NDJSON stream ends with a SHUTTING_DOWN line');
  for (const id of ['a', 'b']) t.match(await client.until((m) => m.id === id), { type: 'error', error: { code: 'SHUTTING_DOWN' } }, `WebSocket request ${id}: SHUTTING_DOWN`);
  t.equal((await client.closed).code, 1001, 'the socket closes with 1001');
  t.match(output, /grace period over/, 'the log says the grace period ran out');
});
