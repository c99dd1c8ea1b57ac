/**
 * POST /v1/<endpoint> for every compute endpoint: validate (with the endpoint's schema, as
 * `compute` does), hand to a worker, answer. Thin: the work is `compute` on a worker thread. With `Accept: application/x-ndjson` the answer is a
 * stream of JSON lines as work progresses, then `{"type": "result", ...}` or
 * `{"type": "error", "error": problem}` (SPEC.md section 4).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Cancellation } from '../cancellation.js';
import { dispatch, type ProgressMessage } from '../dispatch.js';
import { problemFor } from '../plugins/errors.js';
import { failedOutcome } from '../plugins/metrics.js';
import { endpointSchemas } from '../../compute/schemas/index.js';
import { validatorOf } from '../../compute/schemas/validate.js';
import { apiKeySecurity, computeResponses } from '../openapi.js';

const NDJSON = 'application/x-ndjson';
/** What fastify sends with a JSON body; a result the worker serialised is sent with it as it is. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** Cancelled when the client goes away before its answer is complete. */
function cancelOnClose(reply: FastifyReply): Cancellation {
  const cancel = new Cancellation();
  const raw = reply.raw;
  raw.on('close', () => {
    if (!raw.writableFinished) cancel.cancel();
  });
  return cancel;
}

export default async function computeRoutes(app: FastifyInstance): Promise<void> {
  for (const [endpoint, schema] of Object.entries(endpointSchemas)) {
    app.post(
      `/v1/${endpoint}`,
      {
        // The body is validated by the function compute() validates it with, compiled once (errors.ts words its refusal).
        validatorCompiler: () => validatorOf(endpoint)!,
        schema: {
          summary: schema.summary,
          tags: ['compute'],
          operationId: endpoint,
          security: apiKeySecurity,
          body: schema.body,
          response: computeResponses(schema),
          examples: schema.examples,
        },
      },
      async (request, reply) => {
        const cancel = cancelOnClose(reply);
        const streaming = (request.headers.accept ?? '').includes(NDJSON);
        const stats = { operations: 0 };
        if (!streaming) {
          try {
            const result = await dispatch(app, endpoint, request.body, cancel, undefined, { stats, json: true, bodyText: request.bodyText, request });
            app.metrics.evaluations.inc({ endpoint, outcome: 'ok' });
            if (typeof result === 'string') reply.header('content-type', JSON_TYPE);
            return result;
          } catch (e) {
            app.metrics.evaluations.inc({ endpoint, outcome: failedOutcome(e, cancel) });
            throw e;
          } finally {
            request.operations = stats.operations;
          }
        }
        reply.hijack();
        const raw = reply.raw;
        // The headers the hooks set (request id, security, CORS) go out with the stream's own.
        raw.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': NDJSON, 'cache-control': 'no-store' });
        const line = (message: ProgressMessage): void => {
          if (!raw.destroyed) raw.write(`${JSON.stringify(message)}\n`);
        };
        try {
          const result = await dispatch(app, endpoint, request.body, cancel, line, { stats, request });
          line({ type: 'result', ...(result as Record<string, unknown>) });
          app.metrics.evaluations.inc({ endpoint, outcome: 'ok' });
        } catch (e) {
          line({ type: 'error', error: problemFor(e, request).body });
          app.metrics.evaluations.inc({ endpoint, outcome: failedOutcome(e, cancel) });
        }
        // The onResponse hooks still run for this hijacked reply: the log line gets its count.
        request.operations = stats.operations;
        raw.end();
      },
    );
  }
}
