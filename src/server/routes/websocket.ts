/**
 * GET /v1/ws: the multiplexed WebSocket protocol of SPEC.md section 4. A client message is
 * `{"id", "endpoint", ...body}`; every answer carries its id: stream messages, then exactly one
 * `result` or `error`. `{"id", "type": "cancel"}` stops that request's work; closing the socket
 * stops everything it started. A slow reader is not buffered for without bound: each socket
 * has at most MAX_IN_FLIGHT requests, and none starts while too much output waits unsent.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { computeEndpoints } from '../../compute/compute.js';
import { Problem, toProblem } from '../../compute/problem.js';
import { Cancellation } from '../cancellation.js';
import { dispatch, type ProgressMessage } from '../dispatch.js';

const MAX_IN_FLIGHT = 64;
/** Unsent bytes above which a socket takes no new requests. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

function send(socket: WebSocket, message: Record<string, unknown>): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}

export default async function websocketRoutes(app: FastifyInstance): Promise<void> {
  app.get('/v1/ws', { websocket: true, schema: { summary: 'The WebSocket protocol (SPEC.md section 4)', tags: ['compute'] } }, (socket) => {
    const inFlight = new Map<string, Cancellation>();
    const fail = (id: unknown, problem: Problem): void => send(socket, { id: typeof id === 'string' ? id : null, type: 'error', error: problem.body });

    socket.on('message', (data, isBinary) => {
      let message: unknown;
      try {
        message = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data));
      } catch {
        return fail(null, new Problem('INVALID_REQUEST', 'a message must be JSON: {"id": "...", "endpoint": "grad", ...body}'));
      }
      if (message === null || typeof message !== 'object' || Array.isArray(message)) {
        return fail(null, new Problem('INVALID_REQUEST', 'a message must be a JSON object with "id" and "endpoint"'));
      }
      const { id, type, endpoint, ...body } = message as Record<string, unknown>;
      if (typeof id !== 'string' || id === '') return fail(id, new Problem('INVALID_REQUEST', 'a message needs "id", a non-empty string', { path: '/id' }));
      if (type === 'cancel') {
        inFlight.get(id)?.cancel();
        return;
      }
      if (type !== undefined) return fail(id, new Problem('INVALID_REQUEST', 'the only client message type is "cancel"', { path: '/type' }));
      if (typeof endpoint !== 'string') return fail(id, new Problem('INVALID_REQUEST', 'a message needs "endpoint", such as "grad"', { path: '/endpoint' }));
      if (inFlight.has(id)) return fail(id, new Problem('INVALID_REQUEST', `request "${id}" is already in flight; use another id`, { path: '/id' }));
      if (inFlight.size >= MAX_IN_FLIGHT || socket.bufferedAmount > HIGH_WATER_BYTES) {
        return fail(id, new Problem('OVERLOADED', `this socket has ${inFlight.size} requests in flight and unread answers; read them or open another socket`));
      }
      const cancel = new Cancellation();
      inFlight.set(id, cancel);
      const emit = (m: ProgressMessage): void => send(socket, { id, ...m });
      // The endpoint is the client's string: only known names become metric labels.
      const label = computeEndpoints.includes(endpoint) ? endpoint : 'unknown';
      dispatch(app, endpoint, body, cancel, emit)
        .then((result) => {
          app.metrics.evaluations.inc({ endpoint: label, outcome: 'ok' });
          send(socket, { id, type: 'result', ...(result as Record<string, unknown>) });
        })
        .catch((e: unknown) => {
          app.metrics.evaluations.inc({ endpoint: label, outcome: 'error' });
          const problem = cancel.cancelled ? new Problem('INVALID_REQUEST', `request "${id}" was cancelled`) : toProblem(e);
          send(socket, { id, type: 'error', error: problem.body });
        })
        .finally(() => inFlight.delete(id));
    });
    socket.on('close', () => {
      for (const c of inFlight.values()) c.cancel();
      inFlight.clear();
    });
  });
}
