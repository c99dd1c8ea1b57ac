/**
 * Who may call, how often, and from which web pages: API keys (`Authorization: Bearer`),
 * rate limits per key or per client address, a CORS allow-list for course web pages, and the
 * usual security headers. Operations routes (health, readiness, metrics) need no key.
 */
import { timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

export default fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    const { config } = opts;
    await app.register(helmet, {
      // The API answers JSON; /docs needs its own scripts and styles.
      contentSecurityPolicy: false,
    });
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins],
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'accept'],
      exposedHeaders: ['x-request-id', 'retry-after'],
    });

    const keys = config.apiKeys.map((k) => Buffer.from(k));
    app.addHook('onRequest', async (request) => {
      if (request.method === 'OPTIONS' || isOpen(request)) return;
      const token = bearer(request);
      if (token === null) {
        if (config.requireApiKey) throw new Problem('UNAUTHORIZED', 'this server requires an API key: send "Authorization: Bearer <key>"');
        return;
      }
      // Without keys configured, every client is anonymous and a token means nothing.
      if (keys.length > 0 && !knownKey(keys, token)) throw new Problem('FORBIDDEN', 'the API key is not valid');
    });

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
