/**
 * One error handler: every error becomes application/problem+json with SPEC.md's codes. A 500
 * is a bug and is logged as one.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../../index.js';

/** Seconds a client refused for load or rate should wait before trying again. */
const RETRY_AFTER_SECONDS = 1;

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.code === 'OVERLOADED' || problem.code === 'RATE_LIMITED') reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return reply.code(problem.status).type('application/problem+json').send(problem.body);
}

function fromFastify(error: FastifyError): Problem | null {
  if (error.validation !== undefined && error.validation.length > 0) {
    const v = error.validation[0];
    const path = v.instancePath ?? '';
    const field = path === '' ? 'the body' : `"${path.slice(1).replace(/\//g, '.')}"`;
    const detail = v.keyword === 'additionalProperties'
      ? `${field} has an unknown field "${String((v.params as { additionalProperty?: string }).additionalProperty)}"`
      : `${field} ${v.message ?? 'is invalid'}`;
    // The pointer names the offending field itself: the unknown one, or the missing one.
    const params = v.params as { additionalProperty?: string; missingProperty?: string };
    const named = v.keyword === 'additionalProperties' ? params.additionalProperty : v.keyword === 'required' ? params.missingProperty : undefined;
    const extra = named === undefined ? '' : `/${named.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    return new Problem('INVALID_REQUEST', detail, { path: `${path}${extra}` });
  }
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
      const problem = error instanceof Problem ? error : fromFastify(error);
      if (problem !== null) return sendProblem(reply, problem);
      request.log.error({ err: error }, 'unexpected error');
      return sendProblem(reply, new Problem('INTERNAL', 'an unexpected error; it has been logged'));
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, new Problem('NOT_FOUND', `there is no route ${request.method} ${request.url.split('?')[0]}; see /docs`)),
    );
  },
  { name: 'errors' },
);
