/**
 * Every response carries the security headers (helmet's defaults without CSP) and the request
 * id: plain JSON, a problem, an NDJSON stream (written past fastify's reply), a probe; and an
 * allowed origin gets its CORS headers on a stream too.
 */
import t from 'tap';
import { send, startServer } from './harness.js';

const SECURITY_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};
const ORIGIN = 'https://course.example.org';
const LAB = { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } };

t.test('security headers, request id and CORS on every kind of response', async (t) => {
  const { base } = await startServer(t, { CORS_ORIGINS: ORIGIN });
  const cases: [string, string, Parameters<typeof send>[2]][] = [
    ['a gradient', '/v1/grad', { body: LAB }],
    ['a problem', '/v1/grad', { body: { program: 'x +', at: { x: 1 } } }],
    ['an NDJSON stream', '/v1/grad', { body: LAB, headers: { accept: 'application/x-ndjson', origin: ORIGIN } }],
    ['a batch', '/v1/batch', { body: { requests: [{ endpoint: 'eval', program: '1' }] }, headers: { origin: ORIGIN } }],
    ['health', '/healthz', {}],
    ['no such route', '/v1/nothing', {}],
  ];
  for (const [label, path, options] of cases) {
    const reply = await send(base, path, options);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) t.equal(reply.headers.get(name), value, `${label}: ${name}`);
    t.match(reply.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, `${label}: a request id`);
    if (options?.headers?.origin !== undefined) {
      t.equal(reply.headers.get('access-control-allow-origin'), ORIGIN, `${label}: the allowed origin`);
      t.equal(reply.headers.get('access-control-expose-headers'), 'x-request-id, retry-after', `${label}: the exposed headers`);
    }
  }
});

t.test('CORS preflights from an allowed origin, and OPTIONS that is not a preflight (no 400 in plain text)', async (t) => {
  const { base } = await startServer(t, { CORS_ORIGINS: ORIGIN });
  const preflight = await send(base, '/v1/grad', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  t.equal(preflight.status, 204, 'a preflight: 204');
  t.equal(preflight.headers.get('access-control-allow-origin'), ORIGIN, 'a preflight: the allowed origin');
  t.match(preflight.headers.get('access-control-allow-methods'), /POST/, 'a preflight: POST is allowed');
  t.match(preflight.headers.get('access-control-allow-headers'), /content-type/, 'a preflight: content-type is allowed');
  const bare = await send(base, '/v1/eval', { method: 'OPTIONS' });
  t.equal(bare.status, 204, `OPTIONS without preflight headers: 204 (${bare.status} ${bare.text})`);
  t.equal(bare.text, '', 'OPTIONS without preflight headers: no body');
});
