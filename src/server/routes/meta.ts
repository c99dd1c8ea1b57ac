/** The catalogue, health, readiness, metrics and the API's own description. */
import type { FastifyInstance } from 'fastify';
import { Problem, catalogue, distributionFamilies, klPairs } from '../../index.js';
import { constants } from '../../lang/catalogue.js';
import {
  apiKeySecurity,
  distributionsExamples,
  distributionsResponses,
  functionsExamples,
  functionsResponses,
  healthExamples,
  healthResponseSchema,
  metricsResponses,
  readyExamples,
  readyResponses,
} from '../openapi.js';

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
    // Infinity and NaN as the API writes every non-finite number (JSON.stringify would write null).
    constants: Object.fromEntries(Object.entries(constants).map(([name, v]) => [name, Number.isFinite(v) ? v : String(v)])),
  };
  app.get(
    '/v1/functions',
    {
      schema: {
        summary: 'Every function programs and graphs may call',
        tags: ['catalogue'],
        operationId: 'functions',
        security: apiKeySecurity,
        response: functionsResponses,
        examples: functionsExamples,
      },
    },
    async () => functions,
  );

  const distributions = {
    distributions: distributionFamilies.map((f) => ({
      name: f.name,
      description: f.description,
      parameters: f.params.map((p) => ({
        name: p.name,
        constraint: p.constraint.name,
        ...(p.eventRank === undefined ? {} : { vector: true }),
        ...(p.default === undefined ? {} : { default: p.default }),
      })),
      support: f.support,
      rsample: f.reparameterisation,
      kl: klPairs()
        .filter(([p]) => p === f.name)
        .map(([, q]) => q),
    })),
  };
  app.get(
    '/v1/distributions',
    {
      schema: {
        summary: 'Every distribution family, its parameters and constraints, and how rsample is differentiated',
        tags: ['catalogue'],
        operationId: 'distributions',
        security: apiKeySecurity,
        response: distributionsResponses,
        examples: distributionsExamples,
      },
    },
    async () => distributions,
  );

  app.get('/healthz', { schema: { summary: 'Alive', tags: ['operations'], operationId: 'healthz', response: { 200: healthResponseSchema }, examples: healthExamples } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready: workers up and not draining',
        tags: ['operations'],
        operationId: 'readyz',
        response: readyResponses,
        examples: readyExamples,
      },
    },
    async () => {
      // Problems like any other 503: the error handler sends them, with Retry-After.
      if (!app.accepting) throw new Problem('SHUTTING_DOWN', 'the server is shutting down');
      if (app.workers.alive === 0) throw new Problem('OVERLOADED', 'no worker thread is running');
      return { status: 'ready', workers: app.workers.size };
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'], operationId: 'metrics', response: metricsResponses } }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
