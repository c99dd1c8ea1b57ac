/**
 * The service over real HTTP for the server's tests: the app built from an environment and
 * listening on an ephemeral port, requests with fetch, and problem assertions on the wire
 * (status, application/problem+json, code, location) as SPEC.md section 6 fixes them.
 */
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { Agent, fetch, type Headers } from 'undici';
import WebSocket from 'ws';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import type { ExpectedProblem } from '../helpers.js';
import { pathToFileURL } from 'node:url';
import { moduleFile } from '../../scripts/paths.js';

export interface Server {
  readonly app: FastifyInstance;
  /** http://127.0.0.1:<port> */
  readonly base: string;
}

/**
 * Each server's own client connections: closed before the server, so that closing it need not
 * wait for a connection the client keeps open (undici opens a spare one when a request aborts).
 */
const clients = new Map<string, Agent>();

/**
 * The tests' servers run their workers at the event loop's priority (the service's default is 10
 * below it): npm test runs two test files at a time, and a niced worker yields its core to the
 * other file's processes, about a tenth of it left when they are busy, which made a request's
 * time on a worker mean nothing (a sample of 3 s took 16). A test of the niceness sets its own.
 */
export const TEST_WORKER_NICENESS = { WORKER_NICENESS: '0' } as const;

/** The workers' module of a server whose programs may begin `# stall <ms>` (see test/workers/stall-worker.ts). */
export const STALL_WORKER = pathToFileURL(moduleFile('test/workers/stall-worker.ts')).href;

/**
 * Builds the app from `env` (silent unless TEST_LOG_LEVEL says, on 127.0.0.1, an ephemeral port) and closes it when `t` ends.
 * A request waits for a worker up to a minute unless `env` says otherwise (QUEUE_TIMEOUT_MS):
 * on a loaded machine the work ahead of it may take longer than the service's default.
 * The workers run at the event loop's priority unless `env` says otherwise (see TEST_WORKER_NICENESS).
 * `options.workerFile`: STALL_WORKER for a server whose requests can hold a worker past its deadline
 * (its requests all go to the workers: INLINE_BELOW_US=0).
 */
export async function startServer(t: Test, env: Record<string, string> = {}, options: { workerFile?: string } = {}): Promise<Server> {
  // A test's own workers' module stands in for the workers: no request is computed on the event loop instead (src/workers/inline.ts).
  const inline = options.workerFile === undefined ? {} : { INLINE_BELOW_US: '0' };
  const app = await buildApp(
    loadConfig({ WORKERS: '1', QUEUE_TIMEOUT_MS: '60000', ...TEST_WORKER_NICENESS, ...inline, ...env, PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    options,
  );
  const client = new Agent();
  let base = '';
  t.teardown(async () => {
    clients.delete(base);
    await client.destroy();
    // The test is over: a connection still open two seconds into the close (a browser's request
    // cut off mid-body waits for Node's 300 s requestTimeout) is cut rather than waited for.
    const cut = setTimeout(() => app.server.closeAllConnections(), 2000);
    try {
      await app.close();
    } finally {
      clearTimeout(cut);
    }
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected listening address ${String(address)}`);
  base = `http://127.0.0.1:${address.port}`;
  clients.set(base, client);
  return { app, base };
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
  readonly elapsedMs: number;
}

export interface RequestOptions {
  readonly method?: string;
  /** A string is sent as it is; anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

/** One request; the body defaults to JSON with content-type application/json. */
export async function send(base: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const { body } = options;
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  const start = performance.now();
  const response = await fetch(`${base}${path}`, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...headers, ...options.headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: options.signal,
    dispatcher: clients.get(base),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json, elapsedMs: performance.now() - start };
}

/** POST /v1/<endpoint> with a JSON body. */
export const post = (base: string, endpoint: string, body: unknown, options: Omit<RequestOptions, 'body' | 'method'> = {}): Promise<Reply> =>
  send(base, `/v1/${endpoint}`, { ...options, body });

/** The media type of a content-type header, without its parameters. */
export const mediaType = (reply: Reply): string => (reply.headers.get('content-type') ?? '').split(';')[0].trim();

/** A short description of a reply for failure messages. */
export const describe = (reply: Reply): string => `${reply.status} ${reply.text.slice(0, 160)}`;

/**
 * Checks that a reply is a problem (RFC 9457) with this status and code, as
 * application/problem+json, located exactly where expected (line and column, JSON-pointer path,
 * the limit's name: an absent one must be absent), whose detail matches every pattern.
 */
export function assertProblemReply(t: Test, label: string, reply: Reply, expected: ExpectedProblem): void {
  const body = reply.json as Record<string, unknown> | undefined;
  if (body === undefined || body === null || typeof body !== 'object') {
    t.fail(`${label}: expected a ${expected.status} ${expected.code} problem, got ${describe(reply)}`);
    return;
  }
  t.strictSame({ status: reply.status, code: body.code }, { status: expected.status, code: expected.code }, `${label}: ${expected.status} ${expected.code} (${String(body.detail)})`);
  t.equal(mediaType(reply), 'application/problem+json', `${label}: content-type application/problem+json`);
  t.equal(body.status, reply.status, `${label}: the body's status is the response's`);
  t.ok(typeof body.type === 'string' && typeof body.title === 'string' && typeof body.detail === 'string', `${label}: has a type, a title and a detail`);
  const position = (got: unknown, wanted: number | 'any' | undefined): unknown => (wanted === 'any' && Number.isInteger(got) && (got as number) >= 1 ? 'any' : got);
  t.strictSame(
    { line: position(body.line, expected.line), column: position(body.column, expected.column), path: body.path, limit: body.limit },
    { line: expected.line, column: expected.column, path: expected.path, limit: expected.limit },
    `${label}: located at line ${expected.line}, column ${expected.column}, path ${JSON.stringify(expected.path)}, limit ${JSON.stringify(expected.limit)}`,
  );
  for (const pattern of expected.detail) t.match(String(body.detail), pattern, `${label}: detail matches ${pattern}`);
  for (const pattern of expected.notDetail ?? []) t.notMatch(String(body.detail), pattern, `${label}: detail does not match ${pattern}`);
}

/** Polls `check` every 25 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

/** The value of an unlabelled metric (a gauge) in Prometheus text, or null when absent. */
export function metricValue(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

/** Resolves once `base`'s workers are computing at least `n` tasks (per /metrics). */
export const untilBusy = (base: string, n = 1): Promise<boolean> =>
  waitFor(async () => (metricValue((await send(base, '/metrics')).text, 'adjoint_workers_busy') ?? 0) >= n);

export type Message = Record<string, unknown> & { id?: unknown; type?: unknown };

/** A WebSocket client that collects messages and waits for those it expects. */
export async function connectSocket(base: string) {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`);
  const received: Message[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as Message);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const until = async (match: (m: Message) => boolean, timeoutMs = 20_000): Promise<Message> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such message; received ${JSON.stringify(received).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return { socket, received, until, send: (m: unknown) => socket.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}
