/**
 * POST /v1/<endpoint> for every compute endpoint: validate, hand to a worker, answer. Thin: the
 * work is `compute` on a worker thread.
 */
import type { FastifyInstance } from 'fastify';
import { computeSchemas, otherSchemas } from '../schemas.js';

export default async function computeRoutes(app: FastifyInstance): Promise<void> {
  for (const [endpoint, schema] of Object.entries({ ...computeSchemas, ...otherSchemas })) {
    app.post(
      `/v1/${endpoint}`,
      {
        schema: {
          summary: schema.summary,
          tags: ['compute'],
          body: schema.body,
          response: { 200: schema.response, '4xx': { $ref: 'Problem#' }, '5xx': { $ref: 'Problem#' } },
        },
      },
      async (request, reply) => {
        // A client that disconnects before its answer stops its work.
        const cancel = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) cancel.abort();
        });
        try {
          const result = await app.workers.compute(endpoint, request.body, cancel.signal);
          app.metrics.evaluations.inc({ endpoint, outcome: 'ok' });
          return result;
        } catch (e) {
          app.metrics.evaluations.inc({ endpoint, outcome: 'error' });
          throw e;
        }
      },
    );
  }
}
