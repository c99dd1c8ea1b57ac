/** The catalogue, health, readiness, metrics and the API's own description. */
import type { FastifyInstance } from 'fastify';
import { catalogue } from '../../index.js';
import { constants } from '../../lang/catalogue.js';
import { functionsResponseSchema } from '../schemas.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** False once the server drains for shutdown. */
    accepting: boolean;
  }
}

export default async function metaRoutes(app: FastifyInstance): Promise<void> {
  const functions = {
    functions: catalogue().map((f) => ({
      name: f.name,
      minArgs: f.arity[0],
      maxArgs: f.arity[1] === Infinity ? null : f.arity[1],
      description: f.description,
      differentiable: f.differentiable,
    })),
    constants,
  };
  app.get('/v1/functions', { schema: { summary: 'Every function programs and graphs may call', tags: ['catalogue'], response: { 200: functionsResponseSchema } } }, async () => functions);

  app.get('/healthz', { schema: { summary: 'Alive', tags: ['operations'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready: workers up and not draining',
        tags: ['operations'],
        response: {
          200: { type: 'object', properties: { status: { type: 'string' }, workers: { type: 'integer' } } },
          503: { $ref: 'Problem#' },
        },
      },
    },
    async (_request, reply) => {
      if (!app.accepting) {
        return reply.code(503).type('application/problem+json').send({ type: '/problems/overloaded', title: 'Draining', status: 503, detail: 'the server is shutting down', code: 'OVERLOADED' });
      }
      return { status: 'ready', workers: app.workers.size };
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'], hide: false } }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
