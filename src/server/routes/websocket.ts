/**
 * GET /v1/ws: the multiplexed WebSocket protocol of SPEC.md section 4. A client message is
 * `{"id", "endpoint", ...body}`; every answer carries its id: stream messages, then exactly one
 * `result` or `error`. `{"id", "type": "cancel"}` stops that request's work; closing the socket
 * stops everything it started. Each request message counts against the client's rate limit,
 * like an HTTP request.
 *
 * A slow reader is not buffered for without bound. Answers wait in the socket's outbox until
 * what the socket has not yet sent is under a low mark; while the bytes waiting (unsent and
 * in the outbox) are over that mark, or MAX_IN_FLIGHT requests run, new requests are answered
 * OVERLOADED; past WS_MAX_BUFFERED_BYTES the socket is closed (1013) and its work cancelled.
 * Sockets are limited in number, in all and per client (MAX_WS_CONNECTIONS...).
 *
 * When the server drains, a socket takes no new requests (SHUTTING_DOWN), closes with 1001 once
 * its last answer is out, and at the end of the grace period every request still running is
 * cancelled and answered SHUTTING_DOWN before the close.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { Gauge } from 'prom-client';
import type { WebSocket } from 'ws';
import { computeEndpoints } from '../../compute/compute.js';
import { Problem } from '../../compute/problem.js';
import { Cancellation } from '../cancellation.js';
import { dispatch, type ProgressMessage } from '../dispatch.js';
import { jsonLimitsOf, parseJsonChecked } from '../json-scan.js';
import { problemFor } from '../plugins/errors.js';
import { failedOutcome } from '../plugins/metrics.js';
import { clientOf } from '../plugins/security.js';

const MAX_IN_FLIGHT = 64;
/** Bytes waiting to be sent under which a socket is written to and takes new requests. */
const LOW_WATER_BYTES = 4 * 1024 * 1024;
/** How long a socket closed for not reading has to answer the close before it is cut. */
const CLOSE_WAIT_MS = 1000;
/** WebSocket close codes (RFC 6455 section 7.4). */
export const GOING_AWAY = 1001;
const TRY_AGAIN_LATER = 1013;

/** The id a message too large to parse gives first, if it does: `{"id": "..."` at its start. */
function leadingId(data: Buffer): string | null {
  const m = /^\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.){0,256}")/.exec(data.subarray(0, 300).toString('utf8'));
  if (m === null) return null;
  try {
    return JSON.parse(m[1]) as string;
  } catch {
    return null;
  }
}

/** The byte length of a message: a Buffer's, or a list of fragments'. */
function byteLength(data: Buffer | ArrayBuffer | Buffer[]): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

/** A message's bytes, text or binary alike (both are taken as UTF-8 JSON). */
function asBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/**
 * Errors on an established socket (a client that goes away, a frame the protocol refuses, a
 * message over twice BODY_LIMIT_BYTES): the client's doing, logged at warn without a stack.
 * ws has already closed the socket with the protocol's code (1009 for a message too big).
 */
export function webSocketErrorHandler(error: Error & { code?: string }, socket: WebSocket, request: FastifyRequest): void {
  request.log.warn({ code: error.code, reason: error.message }, 'WebSocket error: closed');
  if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.terminate();
}

/** One socket's requests, its answers waiting to be written, and its part in a drain. */
class Connection {
  readonly inFlight = new Map<string, Cancellation>();
  private readonly outbox: string[] = [];
  private outboxBytes = 0;
  private draining = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly log: FastifyBaseLogger,
    private readonly maxBytes: number,
  ) {}

  /** Bytes answered and not yet sent: ws's and the socket's buffers, and the outbox. */
  get waitingBytes(): number {
    return this.socket.bufferedAmount + this.outboxBytes;
  }

  /** Why a new request is refused now, or null. */
  refusal(): Problem | null {
    if (this.draining) return new Problem('SHUTTING_DOWN', 'the server is shutting down; reconnect to another instance');
    if (this.inFlight.size >= MAX_IN_FLIGHT || this.waitingBytes > this.lowWater) {
      return new Problem('OVERLOADED', `this socket has ${this.inFlight.size} requests in flight and ${this.waitingBytes} bytes of answers unread; read them or open another socket`);
    }
    return null;
  }

  private get lowWater(): number {
    return Math.min(LOW_WATER_BYTES, this.maxBytes / 4);
  }

  send(message: Record<string, unknown>): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const text = JSON.stringify(message);
    const bytes = Buffer.byteLength(text);
    if (this.outbox.length === 0 && this.socket.bufferedAmount <= this.lowWater) {
      this.socket.send(text, () => this.pump());
      return;
    }
    if (this.waitingBytes + bytes > this.maxBytes) return this.overflow(bytes);
    this.outbox.push(text);
    this.outboxBytes += bytes;
  }

  /** Writes what waits in the outbox while the socket keeps up; closes a drained socket once all is out. */
  private pump(): void {
    while (this.outbox.length > 0 && this.socket.readyState === this.socket.OPEN && this.socket.bufferedAmount <= this.lowWater) {
      const text = this.outbox.shift()!;
      this.outboxBytes -= Buffer.byteLength(text);
      this.socket.send(text, () => this.pump());
    }
    this.closeIfDone();
  }

  /** The client does not read: its answers would pile up past WS_MAX_BUFFERED_BYTES. */
  private overflow(bytes: number): void {
    this.log.warn({ waitingBytes: this.waitingBytes, answerBytes: bytes, limit: this.maxBytes, inFlight: this.inFlight.size }, 'WebSocket closed: its client does not read its answers');
    this.cancelAll();
    this.outbox.length = 0;
    this.outboxBytes = 0;
    this.socket.close(TRY_AGAIN_LATER, 'too many answers unread (WS_MAX_BUFFERED_BYTES); read faster or ask for less');
    // A client that does not read does not answer the close either.
    setTimeout(() => this.socket.terminate(), CLOSE_WAIT_MS).unref();
  }

  /** The request `id` has its answer: no later one is sent. */
  finish(id: string, cancel: Cancellation, message: Record<string, unknown>): void {
    if (this.inFlight.get(id) !== cancel) return;
    this.inFlight.delete(id);
    this.send(message);
    this.closeIfDone();
  }

  cancelAll(): void {
    for (const cancel of this.inFlight.values()) cancel.cancel();
    this.inFlight.clear();
  }

  /** The server drains: no new requests; closed with 1001 once the last answer is out. */
  drain(): void {
    this.draining = true;
    this.closeIfDone();
  }

  /** The grace period is over: every request still running is cancelled and answered SHUTTING_DOWN, then the socket is closed. */
  abort(): void {
    this.draining = true;
    const ids = [...this.inFlight.keys()];
    this.cancelAll();
    const problem = new Problem('SHUTTING_DOWN', 'the server is shutting down: the request was stopped unfinished; send it again to another instance');
    for (const id of ids) this.send({ id, type: 'error', error: problem.body });
    // What waits is written now, whatever the reader's pace: the close follows it.
    for (const text of this.outbox.splice(0)) if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
    this.outboxBytes = 0;
    this.closeIfDone();
  }

  terminate(): void {
    this.socket.terminate();
  }

  private closeIfDone(): void {
    if (this.draining && this.inFlight.size === 0 && this.outbox.length === 0 && this.socket.readyState === this.socket.OPEN) {
      this.socket.close(GOING_AWAY, 'the server is shutting down');
    }
  }
}

export default async function websocketRoutes(app: FastifyInstance): Promise<void> {
  const { config } = app;
  // The limits app.ts scans a JSON body with; a message's "id" and "endpoint" fit in the floor of 100 members.
  const jsonLimits = jsonLimitsOf(config.maxJsonDepth, config.limits.maxInputs);
  const connections = new Set<Connection>();
  const perClient = new Map<string, number>();
  new Gauge({ name: 'adjoint_ws_connections', help: 'Open WebSocket connections', registers: [app.metrics.registry], collect() { this.set(connections.size); } });
  new Gauge({
    name: 'adjoint_ws_waiting_bytes',
    help: 'Bytes of WebSocket answers not yet sent, over all sockets',
    registers: [app.metrics.registry],
    collect() {
      let bytes = 0;
      for (const c of connections) bytes += c.waitingBytes;
      this.set(bytes);
    },
  });

  /** Why `client` may not open another socket now, or null. */
  const overLimit = (client: string): Problem | null => {
    if (connections.size >= config.maxWsConnections) return new Problem('OVERLOADED', `the server has its ${config.maxWsConnections} WebSocket connections (MAX_WS_CONNECTIONS); try again shortly`);
    const mine = perClient.get(client) ?? 0;
    if (mine >= config.maxWsConnectionsPerClient) {
      return new Problem('OVERLOADED', `this client has ${mine} WebSocket connections open (MAX_WS_CONNECTIONS_PER_CLIENT); close one, or send more requests on each`);
    }
    return null;
  };

  app.get(
    '/v1/ws',
    {
      websocket: true,
      schema: { summary: 'The WebSocket protocol (SPEC.md section 4)', tags: ['compute'] },
      // Refused before the upgrade, as HTTP: 503 with Retry-After.
      preValidation: (request, _reply, done) => done(overLimit(clientOf(request)) ?? undefined),
    },
    (socket, request) => {
      const client = clientOf(request);
      const refused = overLimit(client);
      if (refused !== null) {
        // Opened meanwhile by others: the limit holds all the same.
        socket.close(TRY_AGAIN_LATER, refused.body.detail.slice(0, 120));
        return;
      }
      const connection = new Connection(socket, request.log, config.wsMaxBufferedBytes);
      connections.add(connection);
      perClient.set(client, (perClient.get(client) ?? 0) + 1);
      const forget = app.inFlight.add(connection);
      const fail = (id: unknown, problem: Problem): void => connection.send({ id: typeof id === 'string' ? id : null, type: 'error', error: problem.body });

      socket.on('message', (data) => {
        const size = byteLength(data as Buffer);
        if (size > config.bodyLimit) {
          request.log.warn({ bytes: size, limit: config.bodyLimit }, 'WebSocket message over BODY_LIMIT_BYTES');
          return fail(leadingId(asBytes(data as Buffer | ArrayBuffer | Buffer[])), new Problem('TOO_LARGE', `a message may have at most ${config.bodyLimit} bytes (BODY_LIMIT_BYTES); this one has ${size}`));
        }
        let message: unknown;
        const bytes = asBytes(data as Buffer | ArrayBuffer | Buffer[]);
        try {
          // Scanned as bytes before it is decoded and parsed, as a body is: a nesting JSON.parse
          // would take seconds over is refused.
          message = parseJsonChecked(bytes, jsonLimits);
        } catch (e) {
          return fail(leadingId(bytes), problemFor(e, request));
        }
        if (message === null || typeof message !== 'object' || Array.isArray(message)) {
          return fail(null, new Problem('INVALID_REQUEST', 'a message must be a JSON object with "id" and "endpoint"'));
        }
        const { id, type, endpoint, ...body } = message as Record<string, unknown>;
        if (typeof id !== 'string' || id === '') return fail(id, new Problem('INVALID_REQUEST', 'a message needs "id", a non-empty string', { path: '/id' }));
        if (type === 'cancel') {
          connection.inFlight.get(id)?.cancel();
          return;
        }
        if (type !== undefined) return fail(id, new Problem('INVALID_REQUEST', 'the only client message type is "cancel"', { path: '/type' }));
        if (typeof endpoint !== 'string') return fail(id, new Problem('INVALID_REQUEST', 'a message needs "endpoint", such as "grad"', { path: '/endpoint' }));
        if (connection.inFlight.has(id)) return fail(id, new Problem('INVALID_REQUEST', `request "${id}" is already in flight; use another id`, { path: '/id' }));
        const refusal = connection.refusal() ?? app.spendQuota(client);
        if (refusal !== null) return fail(id, refusal);

        const cancel = new Cancellation();
        connection.inFlight.set(id, cancel);
        const emit = (m: ProgressMessage): void => {
          if (connection.inFlight.get(id) === cancel) connection.send({ id, ...m });
        };
        // The endpoint is the client's string: only known names become metric labels.
        const label = computeEndpoints.includes(endpoint) ? endpoint : 'unknown';
        dispatch(app, endpoint, body, cancel, emit, { request, size }).then(
          (result) => {
            app.metrics.evaluations.inc({ endpoint: label, outcome: 'ok' });
            connection.finish(id, cancel, { id, type: 'result', ...(result as Record<string, unknown>) });
          },
          (e: unknown) => {
            app.metrics.evaluations.inc({ endpoint: label, outcome: failedOutcome(e, cancel) });
            const problem = cancel.cancelled ? new Problem('CANCELLED', `request "${id}" was cancelled`) : problemFor(e, request, { messageId: id });
            connection.finish(id, cancel, { id, type: 'error', error: problem.body });
          },
        );
      });
      socket.on('close', () => {
        connection.cancelAll();
        connections.delete(connection);
        const left = (perClient.get(client) ?? 1) - 1;
        if (left === 0) perClient.delete(client);
        else perClient.set(client, left);
        forget();
      });
    },
  );
}
