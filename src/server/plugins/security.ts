/**
 * Who may call, how often, and from which web pages: API keys (`Authorization: Bearer`), one
 * rate limit per client for HTTP requests and WebSocket messages alike (a client is a verified
 * key, else an address: a token nobody verified is no identity), failed authentications limited
 * per address, a CORS allow-list for course web pages (enforced by the server on WebSocket
 * upgrades, which browsers do not check), and the usual security headers. Operations routes
 * (health, readiness, metrics), the docs, the playground and the widget's files need no key.
 */
import { timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../../index.js';
import type { Config } from '../config.js';
import { RateLimiter, addressClient, type Verdict } from '../rate-limit.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts one request of `client` (see clientOf) against its rate limit: the 429 problem once
     * the minute's quota is spent, else null. With `reply`, its rate-limit headers are set.
     */
    spendQuota(client: string, reply?: FastifyReply): Problem | null;
  }
  interface FastifyRequest {
    /** Which of API_KEYS the request sent (verified), or null. */
    apiKey: number | null;
  }
}

const OPEN_ROUTES = ['/healthz', '/readyz', '/metrics', '/openapi.json'];

function isOpen(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0];
  // The playground and the widget's files are public like /docs; the API calls they make are not.
  return OPEN_ROUTES.includes(path) || path === '/' || path === '/docs' || path.startsWith('/docs/') || path.startsWith('/widget/');
}

/** The bearer token of a request, or null. */
function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? '' : m[1];
}

/** The index of the key `token` is among `keys`, or -1. */
function keyIndex(keys: readonly Buffer[], token: string): number {
  const candidate = Buffer.from(token);
  let found = -1;
  // Compare with every key, in constant time for each, so timing does not reveal a prefix.
  for (const [i, key] of keys.entries()) if (key.length === candidate.length && timingSafeEqual(key, candidate)) found = i;
  return found;
}

/**
 * The client a request counts for, in rate limits and WebSocket connection limits: its verified
 * API key, else its address (TRUST_PROXY decides which).
 */
export function clientOf(request: FastifyRequest): string {
  return request.apiKey === null ? addressClient(request.ip) : `key:${request.apiKey}`;
}

/** A WebSocket upgrade from a browser page whose origin is not allowed (no Origin: not a browser). */
function foreignUpgrade(request: FastifyRequest, origins: readonly string[]): string | null {
  const { origin, upgrade } = request.headers;
  if (origin === undefined || upgrade?.toLowerCase() !== 'websocket' || origins.length === 0 || origins.includes('*')) return null;
  return origins.includes(origin) ? null : origin;
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

    app.decorateRequest('apiKey', null);
    const keys = config.apiKeys.map((k) => Buffer.from(k));
    const quota = config.rateLimit > 0 ? new RateLimiter(config.rateLimit) : null;
    // Wrong keys, per address: past the limit, an address's tokens are refused before they are compared.
    const failures = keys.length > 0 && config.authFailureLimit > 0 ? new RateLimiter(config.authFailureLimit) : null;

    const spendQuota = (client: string, reply?: FastifyReply): Problem | null => {
      if (quota === null) return null;
      const verdict = quota.take(client);
      if (reply !== undefined) {
        reply.headers({ 'x-ratelimit-limit': verdict.limit, 'x-ratelimit-remaining': verdict.remaining, 'x-ratelimit-reset': verdict.resetSeconds });
      }
      return verdict.allowed ? null : limited(verdict, reply, `over the limit of ${verdict.limit} requests a minute`);
    };
    app.decorate('spendQuota', spendQuota);

    app.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'OPTIONS' || isOpen(request)) return done();
      const origin = foreignUpgrade(request, config.corsOrigins);
      if (origin !== null) return done(new Problem('FORBIDDEN', `WebSocket connections from origin ${origin} are not allowed (CORS_ORIGINS)`));
      if (keys.length > 0) {
        const token = bearer(request);
        if (token === null) {
          if (config.requireApiKey) return done(new Problem('UNAUTHORIZED', 'this server requires an API key: send "Authorization: Bearer <key>"'));
        } else {
          const address = addressClient(request.ip);
          const blocked = failures === null ? null : failures.exhausted(address);
          if (blocked !== null) return done(limited(blocked, reply, `too many wrong API keys from this address (${blocked.limit} a minute)`));
          const index = keyIndex(keys, token);
          if (index < 0) {
            failures?.take(address);
            return done(new Problem('FORBIDDEN', 'the API key is not valid'));
          }
          request.apiKey = index;
        }
      }
      const refused = quota === null ? null : spendQuota(clientOf(request), reply);
      if (refused !== null) return done(refused);
      done();
    });
    // An upgrade refused here never reaches @fastify/websocket's hooks, which close its socket
    // (no HTTP connection holds it any more): closed once answered.
    app.addHook('onResponse', (request, _reply, done) => {
      if (request.ws === null && request.headers.upgrade?.toLowerCase() === 'websocket') request.raw.socket.destroy();
      done();
    });
  },
  { name: 'security' },
);

/** The 429 for a spent `verdict`; with `reply`, Retry-After: the seconds until its window ends. */
function limited(verdict: Verdict, reply: FastifyReply | undefined, why: string): Problem {
  reply?.header('retry-after', String(verdict.resetSeconds));
  return new Problem('RATE_LIMITED', `${why}; retry in ${verdict.resetSeconds} s`);
}
