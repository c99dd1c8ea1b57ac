/**
 * Limits that must not be dodged (issue 14, findings 8-10): one rate limit for HTTP requests and
 * WebSocket messages, keyed by a verified key or else by the address; failed authentications
 * limited per address; Retry-After the real wait; WebSocket upgrades from origins CORS_ORIGINS
 * does not list refused.
 */
import t from 'tap';
import { RateLimiter, addressClient } from '../../src/server/rate-limit.js';
import { assertProblemReply, describe, post, send, startServer } from './harness.js';
import { isRefused, openSocket } from './ws-client.js';

const KEY = 'test-key-123456';
const OTHER_KEY = 'other-key-654321';
const EVAL = { program: '1 + 1', at: {} };

t.test('the limiter: a fixed window per client, its reset in whole seconds, the Map bounded', (t) => {
  let now = 1_000_000;
  const limiter = new RateLimiter(2, 60_000, 3, () => now);
  const taken = (client: string): string => {
    const v = limiter.take(client);
    return `${v.allowed ? 'ok' : 'refused'} ${v.remaining} ${v.resetSeconds}`;
  };
  const steps: [string, () => void, string, string][] = [
    ['first of a', () => {}, 'a', 'ok 1 60'],
    ['second of a, 10.5 s later', () => (now += 10_500), 'a', 'ok 0 50'],
    ['third of a: refused, 50 s to wait', () => {}, 'a', 'refused 0 50'],
    ['b has its own window', () => {}, 'b', 'ok 1 60'],
    ['a once its window ended', () => (now += 50_000), 'a', 'ok 1 60'],
  ];
  for (const [label, advance, client, expected] of steps) {
    advance();
    t.equal(taken(client), expected, label);
  }
  for (const client of ['c', 'd', 'e', 'f']) limiter.take(client);
  t.ok(limiter.size <= 3, `at most 3 clients kept (${limiter.size})`);
  t.equal(limiter.exhausted('zzz'), null, 'a client never seen is not exhausted, and is not added');
  t.ok(limiter.size <= 3, 'still bounded');
  t.end();
});

t.test('addresses: IPv4 as they are, IPv6 by their /64 (one subscriber)', (t) => {
  const cases: [string, string][] = [
    ['203.0.113.7', 'ip:203.0.113.7'],
    ['::ffff:203.0.113.7', 'ip:203.0.113.7'],
    ['2001:db8:1:2:aaaa::1', 'ip:2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:fffe', 'ip:2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::', 'ip:2001:db8:1:2::/64'],
    ['2001:db8::1', 'ip:2001:db8:0:0::/64'],
    ['::1', 'ip:0:0:0:0::/64'],
  ];
  for (const [address, expected] of cases) t.equal(addressClient(address), expected, address);
  t.end();
});

t.test('WebSocket messages spend the same quota as HTTP requests', async (t) => {
  const { base } = await startServer(t, { API_KEYS: `${KEY},${OTHER_KEY}`, RATE_LIMIT: '5' });
  const authorization = `Bearer ${KEY}`;
  const client = await openSocket(base, { authorization });
  if (isRefused(client)) return t.fail(`the upgrade was refused: ${client.status}`);
  t.teardown(() => client.socket.close());
  // The upgrade was the first request of the minute: four messages are answered, the rest refused.
  for (let i = 0; i < 6; i++) client.send({ id: `m${i}`, endpoint: 'eval', ...EVAL });
  const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => client.until((m) => m.id === `m${i}`)));
  t.strictSame(
    answers.map((m) => (m.type === 'result' ? 'result' : (m.error as { code: string }).code)),
    ['result', 'result', 'result', 'result', 'RATE_LIMITED', 'RATE_LIMITED'],
    'four answered, then RATE_LIMITED',
  );
  t.match((answers[5].error as { detail: string }).detail, /limit of 5 requests a minute; retry in \d+ s/, 'the refusal says how long to wait');
  const http = await post(base, 'eval', EVAL, { headers: { authorization } });
  assertProblemReply(t, 'an HTTP request of the same key', http, { status: 429, code: 'RATE_LIMITED', detail: [/limit of 5/] });
  const other = await post(base, 'eval', EVAL, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
  t.equal(other.status, 200, `another key has its own quota: ${describe(other)}`);
});

t.test('without API_KEYS a token is no identity: random tokens share their address\'s quota', async (t) => {
  const { base } = await startServer(t, { RATE_LIMIT: '3' });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await post(base, 'eval', EVAL, { headers: { authorization: `Bearer random-${i}-${Math.random()}` } })).status);
  t.strictSame(statuses, [200, 200, 200, 429, 429], 'the fourth request of the address is refused, whatever its token');
});

t.test('wrong keys are limited per address: past AUTH_FAILURE_LIMIT, 429 before any key is compared', async (t) => {
  const { base } = await startServer(t, { API_KEYS: KEY, AUTH_FAILURE_LIMIT: '3', TRUST_PROXY: 'true' });
  const from = (address: string, key: string) => post(base, 'eval', EVAL, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': address } });
  const guesses: number[] = [];
  for (let i = 0; i < 5; i++) guesses.push((await from('203.0.113.9', `guess-${i}-0000000`)).status);
  t.strictSame(guesses, [403, 403, 403, 429, 429], 'three wrong keys, then 429');
  const right = await from('203.0.113.9', KEY);
  assertProblemReply(t, 'even the right key, from that address', right, { status: 429, code: 'RATE_LIMITED', detail: [/wrong API keys/, /retry in \d+ s/] });
  t.ok(Number(right.headers.get('retry-after')) > 50, `Retry-After: the rest of the minute (${right.headers.get('retry-after')})`);
  t.equal((await from('203.0.113.10', KEY)).status, 200, 'another address is not blocked');
  const upgrade = await openSocket(base, { authorization: 'Bearer guess-ws-000000', 'x-forwarded-for': '203.0.113.9' });
  t.equal(isRefused(upgrade) ? upgrade.status : 101, 429, 'nor is a WebSocket upgrade from the blocked address');
});

t.test('429: Retry-After is the seconds until the window ends, as x-ratelimit-reset says', async (t) => {
  const { base } = await startServer(t, { RATE_LIMIT: '2' });
  await send(base, '/v1/functions');
  await send(base, '/v1/functions');
  const limited = await send(base, '/v1/functions');
  assertProblemReply(t, 'the third request', limited, { status: 429, code: 'RATE_LIMITED', detail: [/limit of 2 requests a minute/] });
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.equal(retryAfter, Number(limited.headers.get('x-ratelimit-reset')), 'Retry-After and x-ratelimit-reset agree');
  t.ok(retryAfter > 50 && retryAfter <= 60, `about a minute: the window has just opened (${retryAfter} s)`);
  t.match(String((limited.json as { detail: string }).detail), new RegExp(`retry in ${retryAfter} s`), 'the detail says the same');
  t.equal(limited.headers.get('x-ratelimit-remaining'), '0', 'nothing remaining');
});

t.test('WebSocket upgrades and CORS_ORIGINS', async (t) => {
  const allowed = 'https://course.example.org';
  const listed = await startServer(t, { CORS_ORIGINS: allowed });
  const open = await startServer(t, { CORS_ORIGINS: '*' });
  const unset = await startServer(t);
  const cases: [string, string, Record<string, string>, number][] = [
    ['an origin not listed', listed.base, { origin: 'https://evil.example.com' }, 403],
    ['the listed origin', listed.base, { origin: allowed }, 101],
    ['no Origin (curl, a Node.js client)', listed.base, {}, 101],
    ['any origin with CORS_ORIGINS=*', open.base, { origin: 'https://evil.example.com' }, 101],
    ['any origin without CORS_ORIGINS', unset.base, { origin: 'https://evil.example.com' }, 101],
  ];
  for (const [label, base, headers, expected] of cases) {
    const client = await openSocket(base, headers);
    if (!isRefused(client)) {
      t.equal(101, expected, `${label}: opened`);
      client.socket.close();
      continue;
    }
    t.equal(client.status, expected, `${label}: ${client.status} ${JSON.stringify(client.body)}`);
    t.match(client.body, { code: 'FORBIDDEN', status: 403, detail: /origin https:\/\/evil\.example\.com are not allowed/ }, `${label}: a FORBIDDEN problem`);
    t.match(client.headers['content-type'], /application\/problem\+json/, `${label}: problem+json`);
  }
});
