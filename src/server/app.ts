/**
 * The fastify application: plugins first (errors, workers, metrics, the OpenAPI description),
 * then routes. Listening and shutdown are server.ts's.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { closeSockets, drainPlugin } from './drain.js';
import errors from './plugins/errors.js';
import metrics from './plugins/metrics.js';
import security from './plugins/security.js';
import workers from './plugins/workers.js';
import computeRoutes from './routes/compute.js';
import metaRoutes from './routes/meta.js';
import websocketRoutes, { webSocketErrorHandler } from './routes/websocket.js';
import { openapiTransform, securitySchemes, sharedSchemas } from './schemas.js';

export const API_VERSION = '0.1.0';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
  }
  interface FastifyRequest {
    /** The primitive operations the request's evaluation ran, for its log line. */
    operations: number | null;
    /** A JSON body's text, as it came: what a worker is sent in place of the parsed body. */
    bodyText: string | null;
  }
}

/** TRUST_PROXY as fastify takes it: a number of hops becomes "trust the nearest n". */
function proxyTrust(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
}

export async function buildApp(config: Config): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    // Our own onResponse hook writes the one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    // Behind a load balancer, the client's address (rate limits, logs) comes from X-Forwarded-For.
    trustProxy: proxyTrust(config.trustProxy),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // A draining server refuses requests itself, as problems (drain.ts), not fastify's plain 503.
    return503OnClosing: false,
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  // Responses are plain JSON: values nest arbitrarily deep, which JSON.stringify handles best.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.decorate('accepting', true);
  app.decorate('config', config);
  app.decorateRequest('operations', null);
  app.decorateRequest('bodyText', null);
  // JSON bodies parsed as fastify parses them (prototype poisoning refused), their text kept: a
  // worker gets the text, one copy of its bytes, rather than the parsed body cloned node by node.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    // The text as the parser reads it: a leading byte-order mark, which it skips, is not JSON.
    request.bodyText = (text as string).charCodeAt(0) === 0xfeff ? (text as string).slice(1) : (text as string);
    parseJson(request, text as string, done);
  });
  for (const schema of sharedSchemas) app.addSchema(schema);

  await app.register(errors);
  await app.register(security, { config });
  await app.register(workers, { config });
  await app.register(metrics);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'adjoint',
        version: API_VERSION,
        description: 'A gradient-evaluation service: values, gradients, Jacobians, Hessians and traces of tensor programs (mathjs syntax) and expression graphs.',
      },
      tags: [
        { name: 'compute', description: 'POST /v1/<endpoint>: SPEC.md sections 3 and 4.' },
        { name: 'catalogue', description: 'What programs and graphs may call.' },
        { name: 'operations', description: 'Health, readiness and metrics: no API key needed.' },
      ],
      components: { securitySchemes },
    },
    // The document is OpenAPI 3.1 (JSON Schema 2020-12): const stays const, also inside examples.
    convertConstToEnum: false,
    // Each route's examples into its operation (openapi/openapi.json is generated: npm run openapi).
    transform: openapiTransform,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // A message over BODY_LIMIT_BYTES is answered TOO_LARGE; one over twice that, ws closes (1009).
  await app.register(websocket, { options: { maxPayload: 2 * config.bodyLimit }, errorHandler: webSocketErrorHandler, preClose: closeSockets });
  await app.register(drainPlugin);

  // Hooks on every request take a callback: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // One line per request, the structured object first; never the body. None below info.
  if (['info', 'debug', 'trace'].includes(config.logLevel)) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? request.url,
          status: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 100) / 100,
          ...(request.operations === null ? {} : { operations: request.operations }),
        },
        'request',
      );
      done();
    });
  }

  await app.register(metaRoutes);
  await app.register(computeRoutes);
  await app.register(websocketRoutes);
  return app;
}
