/**
 * WebSocket limits (issue 14, findings 7 and 12): a client that stops reading cannot make the
 * server hold its answers without bound (new requests refused OVERLOADED while answers wait
 * unread, the socket closed past WS_MAX_BUFFERED_BYTES), sockets are limited in all and per
 * client, and a message over BODY_LIMIT_BYTES is answered TOO_LARGE and logged at warn.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { TEST_WORKER_NICENESS, metricValue, send, startServer, waitFor } from './harness.js';
import { isRefused, openSocket, type Client } from './ws-client.js';
import { nodeArgs, root } from '../../scripts/paths.js';

const MiB = 1024 * 1024;
/** An answer of about 2 MB: 100 000 random numbers. */
const LARGE = { endpoint: 'eval', program: 'rand(100000)' };
const repoRoot = root;

const metric = async (base: string, name: string): Promise<number> => metricValue((await send(base, '/metrics')).text, name) ?? NaN;

async function connected(t: Test, base: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = await openSocket(base, headers);
  if (isRefused(client)) throw new Error(`the upgrade was refused: ${client.status} ${JSON.stringify(client.body)}`);
  t.teardown(() => client.socket.terminate());
  return client;
}

t.test('a client that stops reading: answers wait up to WS_MAX_BUFFERED_BYTES, then the socket is closed 1013', async (t) => {
  const limit = 4 * MiB;
  const { base } = await startServer(t, { WORKERS: '1', WS_MAX_BUFFERED_BYTES: String(limit) });
  const client = await connected(t, base);
  // The client's own socket stops reading: the server's writes pile up.
  (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  const sent = 40;
  for (let i = 0; i < sent; i++) client.send({ id: `big${i}`, ...LARGE });
  let most = 0;
  const closed = await waitFor(async () => {
    most = Math.max(most, await metric(base, 'adjoint_ws_waiting_bytes'));
    return (await metric(base, 'adjoint_ws_connections')) === 0;
  }, 120_000);
  t.ok(closed, 'the server closed the socket of the client that does not read');
  // At most the limit, and one answer that did not fit (about 2 MB).
  t.ok(most <= limit + 2.5 * MiB, `bytes waiting stayed bounded: at most ${most} (limit ${limit})`);
  (client.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  const { code } = await client.closed;
  t.ok(code === 1013 || code === 1006, `closed with 1013, or cut once it did not answer the close (${code})`);
  const results = client.received.filter((m) => m.type === 'result').length;
  t.ok(results < sent, `not every answer was held for it: ${results} of ${sent} received`);
  t.equal((await send(base, '/healthz')).status, 200, 'the server is well');
});

t.test('a client behind on reading: new requests are refused OVERLOADED, and once it reads, served again', async (t) => {
  const limit = 16 * MiB;
  const { base } = await startServer(t, { WORKERS: '1', WS_MAX_BUFFERED_BYTES: String(limit) });
  const client = await connected(t, base);
  const raw = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  raw.pause();
  // Large answers one at a time until some wait unsent (past the low mark, a quarter of the limit).
  let asked = 0;
  for (; asked < 30 && (await metric(base, 'adjoint_ws_waiting_bytes')) <= limit / 4; asked++) {
    client.send({ id: `big${asked}`, ...LARGE });
    await waitFor(async () => (await evaluated(base)) > asked, 60_000);
  }
  t.ok((await metric(base, 'adjoint_ws_waiting_bytes')) > limit / 4, `answers wait unsent after ${asked} large requests`);
  for (let i = 0; i < 3; i++) client.send({ id: `refused${i}`, endpoint: 'eval', program: '1 + 1' });
  raw.resume();
  for (let i = 0; i < 3; i++) {
    t.match(await client.until((m) => m.id === `refused${i}`), { type: 'error', error: { code: 'OVERLOADED', status: 503, detail: /unread/ } }, `refused${i}: OVERLOADED`);
  }
  for (let i = 0; i < asked; i++) t.equal((await client.until((m) => m.id === `big${i}`)).type, 'result', `big${i}: its answer arrives once the client reads`);
  client.send({ id: 'after', endpoint: 'eval', program: '2 * 3' });
  t.match(await client.until((m) => m.id === 'after'), { type: 'result', value: 6 }, 'served again once it has read');
});

/** A port free right now: listen on 0, read the number, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Evaluations answered so far (any endpoint, any outcome). */
async function evaluated(base: string): Promise<number> {
  const text = (await send(base, '/metrics')).text;
  return [...text.matchAll(/^adjoint_evaluations_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

t.test('MAX_WS_CONNECTIONS in all and per client: refused with 503 at the upgrade', async (t) => {
  const keys = ['key-one-0000000', 'key-two-0000000', 'key-three-00000'];
  const { base } = await startServer(t, { API_KEYS: keys.join(','), MAX_WS_CONNECTIONS: '3', MAX_WS_CONNECTIONS_PER_CLIENT: '2' });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const first = await connected(t, base, as(keys[0]));
  await connected(t, base, as(keys[0]));
  const cases: [string, string, number, RegExp | null][] = [
    ['a third socket of one key', keys[0], 503, /MAX_WS_CONNECTIONS_PER_CLIENT/],
    ['another key\'s first', keys[1], 101, null],
    ['a fourth socket in all', keys[2], 503, /MAX_WS_CONNECTIONS\)/],
  ];
  for (const [label, key, status, detail] of cases) {
    const client = await openSocket(base, as(key));
    if (!isRefused(client)) {
      t.equal(101, status, `${label}: opened`);
      t.teardown(() => client.socket.terminate());
      continue;
    }
    t.equal(client.status, status, `${label}: ${client.status}`);
    t.match(client.body, { code: 'OVERLOADED', status: 503, detail }, `${label}: an OVERLOADED problem`);
    t.ok(Number(client.headers['retry-after']) >= 1, `${label}: with Retry-After`);
  }
  first.socket.close();
  await first.closed;
  t.ok(await waitFor(async () => (await metric(base, 'adjoint_ws_connections')) === 2), 'one closed');
  const again = await openSocket(base, as(keys[2]));
  t.notOk(isRefused(again), 'once one is closed, another client may open one');
  if (!isRefused(again)) again.socket.terminate();
});

t.test('a message over BODY_LIMIT_BYTES: TOO_LARGE on its id, the socket stays open; over twice that, closed 1009', async (t) => {
  const limit = 64 * 1024;
  const { base } = await startServer(t, { BODY_LIMIT_BYTES: String(limit) });
  const client = await connected(t, base);
  client.send({ id: 'big', endpoint: 'eval', program: '1', pad: 'x'.repeat(limit + 100) });
  t.match(await client.until((m) => m.id === 'big'), { type: 'error', error: { code: 'TOO_LARGE', status: 413, detail: new RegExp(`at most ${limit} bytes`) } }, 'TOO_LARGE on its id');
  client.send({ id: 'next', endpoint: 'eval', program: '1 + 1' });
  t.match(await client.until((m) => m.id === 'next'), { type: 'result', value: 2 }, 'the socket still works');
  // Scanned before it is parsed, as a body is: nesting past MAX_JSON_DEPTH is refused with its place.
  client.send(`{"id": "deep", "endpoint": "eval", "program": "1", "at": {"x": ${'['.repeat(150)}1${']'.repeat(150)}}}`);
  t.match(await client.until((m) => m.id === 'deep'), { type: 'error', error: { code: 'TOO_LARGE', status: 413, path: /^\/at\/x/ } }, 'nesting past MAX_JSON_DEPTH: TOO_LARGE on its id');
  client.send({ id: 'huge', endpoint: 'eval', program: '1', pad: 'x'.repeat(2 * limit + 100) });
  t.equal((await client.closed).code, 1009, 'a message over twice the limit closes the socket: 1009, message too big');
});

t.test('the entry point logs a message too large at warn, without a stack', async (t) => {
  const limit = 64 * 1024;
  const port = await freePort();
  const child = spawn(process.execPath, nodeArgs('src/server/server.ts'), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', WORKERS: '1', ...TEST_WORKER_NICENESS, LOG_LEVEL: 'warn', BODY_LIMIT_BYTES: String(limit) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const base = `http://127.0.0.1:${port}`;
  const up = await waitFor(async () => {
    try {
      return (await send(base, '/healthz')).status === 200;
    } catch {
      return false;
    }
  }, 60_000);
  t.ok(up, `the server is up (${output.slice(0, 300)})`);
  const client = await connected(t, base);
  client.send({ id: 'big', endpoint: 'eval', program: '1', pad: 'x'.repeat(limit + 100) });
  await client.until((m) => m.id === 'big');
  client.send({ id: 'huge', endpoint: 'eval', program: '1', pad: 'x'.repeat(2 * limit + 100) });
  await client.closed;
  await waitFor(async () => output.split('\n').filter((l) => l.includes('WebSocket')).length >= 2, 10_000);
  child.kill('SIGTERM');
  await exited;
  const lines = output.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const about = lines.filter((l) => /WebSocket/.test(String(l.msg)));
  t.equal(about.length, 2, `one line for each message: ${JSON.stringify(about)}`);
  for (const line of about) {
    t.equal(line.level, 40, `warn: ${String(line.msg)}`);
    t.notOk(JSON.stringify(line).includes('stack'), `no stack: ${String(line.msg)}`);
  }
  t.notOk(lines.some((l) => (l.level as number) >= 50), 'nothing at error level');
});
