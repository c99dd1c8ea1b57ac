/**
 * One error handler: every error becomes application/problem+json with SPEC.md's codes. A 500
 * is a bug and is logged as one.
 */
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorObject } from 'ajv';
import { Problem, toProblem } from '../../compute/problem.js';
import { problemOf } from '../../compute/schemas/validate.js';

/** Seconds a client refused for load (any 503) should wait before trying again. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Sends `problem`. A 503 or 429 always has a Retry-After: the one already set (a rate limit's
 * seconds until its window ends), else RETRY_AFTER_SECONDS.
 */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if ((problem.status === 503 || problem.status === 429) && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return reply.code(problem.status).type('application/problem+json').send(problem.body);
}

/**
 * The problem to answer a request that failed with `error`, on any path (a response, a stream's
 * last line, a batch item, a WebSocket message). An unexpected error is a bug: it is logged at
 * error level with its stack (a worker's, where it came from one) under the request's id, and
 * the client is told only that id, never the error's own message. `context` is logged with it
 * (a batch item's index, a WebSocket message's id).
 */
export function problemFor(error: unknown, request: { readonly id: string; readonly log: FastifyBaseLogger }, context: Record<string, unknown> = {}): Problem {
  const problem = toProblem(error);
  if (problem.code !== 'INTERNAL') return problem;
  request.log.error({ ...context, err: problem.cause ?? problem }, 'unexpected error');
  return new Problem('INTERNAL', `an unexpected error; it has been logged with request id ${request.id}`);
}

function fromFastify(error: FastifyError): Problem | null {
  // A body the endpoint's schema refuses: worded as compute() words it, by the same function.
  if (error.validation !== undefined && error.validation.length > 0) return problemOf(error.validation as ErrorObject[]);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem('TOO_LARGE', 'the request body is over the size limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new Problem('INVALID_REQUEST', 'the body must be JSON (content-type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new Problem('INVALID_REQUEST', 'the body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new Problem('INVALID_REQUEST', `the body is not valid JSON: ${error.message}`);
  }
  if (error instanceof SyntaxError) return new Problem('INVALID_REQUEST', `the body is not valid JSON: ${error.message}`);
  if (error.statusCode === 413) return new Problem('TOO_LARGE', error.message);
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return new Problem('INVALID_REQUEST', error.message);
  return null;
}

export default fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      return sendProblem(reply, problemFor((error instanceof Problem ? error : fromFastify(error)) ?? error, request));
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, new Problem('NOT_FOUND', `there is no route ${request.method} ${request.url.split('?')[0]}; see /docs`)),
    );
  },
  { name: 'errors' },
);

/**
 * Fastify's clientErrorHandler: a request Node's HTTP parser refuses before fastify sees it
 * (a request line that is not HTTP, a chunk size that is not hexadecimal, two Content-Lengths,
 * headers past Node's 16 KiB) is answered as a problem too, not as fastify's plain JSON, and
 * its connection closed. A reset connection gets nothing, as there is no one to answer.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new Problem('TOO_LARGE', 'the request\'s headers are over the server\'s 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new Problem('INVALID_REQUEST', 'the request did not arrive in time')
        : new Problem('INVALID_REQUEST', `the request is not valid HTTP/1.1${typeof error.reason === 'string' && error.reason !== '' ? `: ${error.reason.toLowerCase()}` : ''}`);
  this.log.debug({ err: error }, 'a request the HTTP parser refused');
  const body = JSON.stringify(problem.body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
