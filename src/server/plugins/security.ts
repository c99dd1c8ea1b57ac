/**
 * Who may call, how often, and from which web pages: API keys (`Authorization: Bearer`),
 * rate limits per key or per client address, a CORS allow-list for course web pages, and the
 * usual security headers. Operations routes (health, readiness, metrics) need no key.
 */
import { timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../../index.js';
import type { Config } from '../config.js';

const OPEN_ROUTES = ['/healthz', '/readyz', '/metrics', '/openapi.json'];

function isOpen(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0];
  return OPEN_ROUTES.includes(path) || path === '/docs' || path.startsWith('/docs/');
}

/** The bearer token of a request, or null. */
function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? '' : m[1];
}

function knownKey(keys: readonly Buffer[], token: string): boolean {
  const candidate = Buffer.from(token);
  let found = false;
  // Compare with every key, in constant time for each, so timing does not reveal a prefix.
  for (const key of keys) if (key.length === candidate.length && timingSafeEqual(key, candidate)) found = true;
  return found;
}

/**
 * The headers helmet sets with these options. Without CSP nonces they are the same on every
 * response, so helmet itself finds them once, at start, on a probe: @fastify/helmet builds its
 * middleware anew for every request, which costs more than a gradient.
 */
async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify();
  await probe.register(helmet, options);
  // Helmet writes to the raw response: by the handler, its headers are all the raw response has.
  probe.get('/', async (_request, reply) => reply.raw.getHeaders());
  const headers = (await probe.inject('/')).json<Record<string, string>>();
  await probe.close();
  return headers;
}

export default fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    const { config } = opts;
    // The API answers JSON; /docs needs its own scripts and styles.
    const securityHeaders = await helmetHeaders({ contentSecurityPolicy: false });
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(securityHeaders);
      done();
    });
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins],
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'accept'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      // An OPTIONS request without Origin and Access-Control-Request-Method is not a preflight:
      // answered 204 like one, not the plugin's plain-text 400.
      strictPreflight: false,
    });

    const keys = config.apiKeys.map((k) => Buffer.from(k));
    // Without keys configured, every client is anonymous and a token means nothing.
    if (keys.length > 0) {
      app.addHook('onRequest', async (request) => {
        if (request.method === 'OPTIONS' || isOpen(request)) return;
        const token = bearer(request);
        if (token === null) {
          if (config.requireApiKey) throw new Problem('UNAUTHORIZED', 'this server requires an API key: send "Authorization: Bearer <key>"');
          return;
        }
        if (!knownKey(keys, token)) throw new Problem('FORBIDDEN', 'the API key is not valid');
      });
    }

    if (config.rateLimit > 0) {
      await app.register(rateLimit, {
        max: config.rateLimit,
        timeWindow: 60_000,
        // Per key where a valid key was sent, else per client address.
        keyGenerator: (request) => {
          const token = bearer(request);
          return token !== null && token !== '' ? `key:${token}` : `ip:${request.ip}`;
        },
        allowList: (request) => isOpen(request),
        errorResponseBuilder: (_request, context) =>
          new Problem('RATE_LIMITED', `over the limit of ${context.max} requests a minute; retry in ${Math.ceil(context.ttl / 1000)} s`),
      });
    }
  },
  { name: 'security' },
);
