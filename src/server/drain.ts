/**
 * Shutdown without dropping anyone: `drain(app, graceMs)` is what SIGTERM does (server.ts
 * calls it, then exits). Readiness goes false and new requests are refused with 503
 * SHUTTING_DOWN; the server stops listening; requests, NDJSON streams and WebSocket requests in
 * flight finish, and each socket closes with 1001 after its last answer. At the end of the grace
 * period whatever still runs is cancelled (the worker pool is closed) and answered: 503
 * SHUTTING_DOWN, a last `error` line on a stream, an `error` message for each WebSocket request.
 * Nothing is reset unanswered, except a connection whose client still does not read a second
 * after its answer was written.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../compute/problem.js';
import { sendProblem } from './plugins/errors.js';

/** What the drain must see finished: a WebSocket connection (routes/websocket.ts). */
export interface Drainable {
  /** The server drains: take no new work, finish what runs, then close. */
  drain(): void;
  /** The grace period is over: cancel what still runs, answer it SHUTTING_DOWN, then close. */
  abort(): void;
  /** Cut the connection: its client did not read its last answers in time. */
  terminate(): void;
}

/** Routes a draining server still answers: liveness, readiness (503 now) and metrics. */
const OPERATIONS = new Set(['/healthz', '/readyz', '/metrics']);
/** After the grace period, how long answers have to be written before connections are cut. */
const ANSWER_MS = 1000;
/** How often a draining server closes the keep-alive connections that have nothing in flight. */
const IDLE_SWEEP_MS = 50;

const NDJSON = 'application/x-ndjson';

/** The requests and sockets in flight, as the drain sees them. */
export class InFlight {
  readonly requests = new Set<{ readonly request: FastifyRequest; readonly reply: FastifyReply }>();
  readonly sockets = new Set<Drainable>();
  draining = false;

  /** Tracks a socket until the returned function is called; one added while draining drains at once. */
  add(socket: Drainable): () => void {
    this.sockets.add(socket);
    if (this.draining) socket.drain();
    return () => this.sockets.delete(socket);
  }

  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    for (const socket of [...this.sockets]) socket.drain();
  }

  abortSockets(): void {
    this.draining = true;
    for (const socket of [...this.sockets]) socket.abort();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    inFlight: InFlight;
  }
}

const shuttingDown = (): Problem => new Problem('SHUTTING_DOWN', 'the server is shutting down; send the request again (to another instance)');

/**
 * Registered after @fastify/websocket (its hook marks upgrades, which routes/websocket.ts
 * tracks itself): tracks every other request, and refuses new ones while the server drains.
 */
export const drainPlugin = fp(
  async (app: FastifyInstance) => {
    const inFlight = new InFlight();
    app.decorate('inFlight', inFlight);
    app.addHook('onRequest', (request, reply, done) => {
      if (!app.accepting && !OPERATIONS.has(request.url.split('?')[0])) {
        reply.header('connection', 'close');
        return done(shuttingDown());
      }
      if (request.ws) return done();
      const entry = { request, reply };
      inFlight.requests.add(entry);
      reply.raw.once('close', () => inFlight.requests.delete(entry));
      done();
    });
  },
  { name: 'drain', dependencies: ['@fastify/websocket', 'errors'] },
);

/**
 * For @fastify/websocket's preClose: app.close() without drain() (a test's teardown) answers and
 * closes every socket at once (1001); under drain() the sockets are already draining.
 */
export function closeSockets(this: FastifyInstance, done: () => void): void {
  if (!this.inFlight.draining) this.inFlight.abortSockets();
  done();
}

/** Resolves true once `promise` settles, or false after `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true once `condition` holds (looked at every IDLE_SWEEP_MS), or false after `ms`. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, IDLE_SWEEP_MS));
  }
  return true;
}

/** The last answer of a request still unanswered once its work was stopped. */
function answer(request: FastifyRequest, reply: FastifyReply): void {
  const raw = reply.raw;
  if (raw.writableEnded || raw.destroyed) return;
  if (!raw.headersSent) {
    if (reply.sent) return;
    reply.header('connection', 'close');
    sendProblem(reply, shuttingDown());
    request.log.warn({ reqId: request.id }, 'answered SHUTTING_DOWN at the end of the grace period');
    return;
  }
  if (String(raw.getHeader('content-type') ?? '').startsWith(NDJSON)) {
    // Its handler may still write a line: a write after the end must not throw.
    raw.on('error', () => {});
    raw.end(`${JSON.stringify({ type: 'error', error: shuttingDown().body })}\n`);
  }
}

/**
 * Drains `app` and closes it: true if everything in flight finished within `graceMs`, false if
 * some of it was stopped and answered SHUTTING_DOWN.
 */
export async function drain(app: FastifyInstance, graceMs: number): Promise<boolean> {
  app.accepting = false;
  const { inFlight } = app;
  inFlight.startDraining();
  // Stops listening; resolves once every connection has closed and the worker pool with them.
  const closed = app.close();
  const idle = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    if (await within(closed, graceMs)) return true;
    app.log.warn({ graceMs, requests: inFlight.requests.size, sockets: inFlight.sockets.size }, 'grace period over: stopping what is in flight, answering SHUTTING_DOWN');
    inFlight.abortSockets();
    // Every task on the pool fails with SHUTTING_DOWN: each request's handler answers it.
    await app.workers.close();
    if (!(await until(() => inFlight.requests.size === 0, ANSWER_MS))) {
      // What no handler answered (a body still arriving, say) is answered here.
      for (const { request, reply } of inFlight.requests) answer(request, reply);
    }
    if (!(await within(closed, ANSWER_MS))) {
      app.log.warn({ requests: inFlight.requests.size, sockets: inFlight.sockets.size }, 'clients not reading their last answers: connections cut');
      for (const socket of inFlight.sockets) socket.terminate();
      app.server.closeAllConnections();
    }
    await closed;
    return false;
  } finally {
    clearInterval(idle);
  }
}
