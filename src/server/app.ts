/**
 * The fastify application: plugins first (errors, workers, metrics, the OpenAPI description),
 * then routes. Listening and shutdown are server.ts's.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { LogController, errorCodes, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Problem } from '../compute/problem.js';
import type { Config } from './config.js';
import { closeSockets, drainPlugin } from './drain.js';
import errors, { clientErrorHandler } from './plugins/errors.js';
import metrics from './plugins/metrics.js';
import security from './plugins/security.js';
import workers from './plugins/workers.js';
import computeRoutes from './routes/compute.js';
import metaRoutes from './routes/meta.js';
import websocketRoutes, { webSocketErrorHandler } from './routes/websocket.js';
import widgetRoutes from './routes/widget.js';
import { JsonScanner, jsonLimitsOf, overflowProblem } from './json-scan.js';
import { openapiTransform, securitySchemes, sharedSchemas } from './openapi.js';

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

const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * A body sent with a content-encoding, decoded as it streams in: its decoded bytes are held
 * to `limit` as they come (a gzip bomb stops there), and its encoded length is reported for
 * fastify's content-length check. An encoding other than gzip, deflate or br is a 415.
 */
function decoded(raw: Readable, encoding: string, limit: number): Readable {
  const name = encoding.trim().toLowerCase();
  if (name === '' || name === 'identity') return raw;
  if (!Object.hasOwn(DECODERS, name)) {
    const problem = new Problem('INVALID_REQUEST', `content-encoding "${encoding.slice(0, 40)}" is not supported: send the body as it is, or encoded with gzip, deflate or br`);
    // SPEC.md has no code of its own for 415 Unsupported Media Type: INVALID_REQUEST, with HTTP's status.
    problem.body.status = 415;
    throw problem;
  }
  const decoder = DECODERS[name]();
  let size = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) {
        raw.unpipe(counter);
        decoder.destroy();
        callback(new Problem('TOO_LARGE', `the request body is over the size limit of ${limit} bytes once decoded (content-encoding ${name})`));
        return;
      }
      callback(null, chunk);
    },
  }) as Transform & { receivedEncodedLength: number };
  out.receivedEncodedLength = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      out.receivedEncodedLength += chunk.length;
      callback(null, chunk);
    },
  });
  decoder.on('error', (e: Error) => out.destroy(new Problem('INVALID_REQUEST', `the body is not valid ${name} data (content-encoding ${name}): ${e.message}`)));
  // Fastify listens for the body's errors only while it reads the body: one that comes when it
  // does not (a request refused for its content type before its body is read) must not go
  // unheard, or it would stop the process.
  out.on('error', () => {});
  raw.pipe(counter).pipe(decoder).pipe(out);
  return out;
}

/** TRUST_PROXY as fastify takes it: a number of hops becomes "trust the nearest n". */
function proxyTrust(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
}

/** `options.workerFile`: the workers' module, for tests (see compute-worker.ts's `runWith`). */
export async function buildApp(config: Config, options: { workerFile?: string } = {}): Promise<FastifyInstance> {
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
    // A request Node's HTTP parser refuses is a problem too (errors.ts).
    clientErrorHandler,
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  // Responses are plain JSON: values nest arbitrarily deep, which JSON.stringify handles best.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.decorate('accepting', true);
  app.decorate('config', config);
  app.decorateRequest('operations', null);
  app.decorateRequest('bodyText', null);
  // A compressed body is decoded as it arrives, its decoded size held to the body limit.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding === undefined || request.method === 'GET' || request.method === 'HEAD') return done(null, payload);
    try {
      done(null, decoded(payload, encoding, config.bodyLimit));
    } catch (e) {
      done(e as Error);
    }
  });
  // JSON bodies read and parsed as fastify reads and parses them (its limits and errors,
  // prototype poisoning refused), their text kept: a
  // worker gets the text, one copy of its bytes, rather than the parsed body cloned node by node.
  // As the body arrives, one pass over its bytes refuses a nesting or an object JSON.parse would
  // take seconds over on the event loop (json-scan.ts): a refused body's later chunks are read
  // and dropped, never kept, joined or decoded, and it is answered once it has all come (an
  // answer while the client still sends can be lost to the connection's reset).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const jsonLimits = jsonLimitsOf(config.maxJsonDepth, config.limits.maxInputs);
  app.addContentTypeParser('application/json', (request, payload, done) => {
    const declared = Number(request.headers['content-length']);
    if (declared > config.bodyLimit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
    const scanner = new JsonScanner(jsonLimits);
    let received = 0;
    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
    };
    function onData(chunk: Buffer | string): void {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      const encoded = (payload as { receivedEncodedLength?: number }).receivedEncodedLength ?? 0;
      if (received > config.bodyLimit || encoded > config.bodyLimit) {
        stop();
        done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
        return;
      }
      scanner.push(bytes);
    }
    function onEnd(error?: Error): void {
      stop();
      if (error !== undefined && error !== null) {
        const status = (error as { statusCode?: unknown }).statusCode;
        if (!(error instanceof Problem) && !(typeof status === 'number' && status >= 400)) Object.assign(error, { statusCode: 400 });
        return done(error, undefined);
      }
      const encoded = (payload as { receivedEncodedLength?: number }).receivedEncodedLength;
      if (!Number.isNaN(declared) && (encoded ?? received) !== declared) {
        return done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), undefined);
      }
      if (scanner.problem !== null) return done(scanner.problem, undefined);
      const text = scanner.bytes().toString('utf8');
      // The text as the parser reads it: a leading byte-order mark, which it skips, is not JSON.
      request.bodyText = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      parseJson(request, text, (error, body) => {
        if (error === null && scanner.largeNumbers) {
          const overflow = overflowProblem(body);
          if (overflow !== null) return done(overflow, undefined);
        }
        done(error, body);
      });
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  });
  for (const schema of sharedSchemas) app.addSchema(schema);

  await app.register(errors);
  await app.register(security, { config });
  await app.register(workers, { config, workerFile: options.workerFile });
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
  await app.register(widgetRoutes);
  return app;
}
