/**
 * Issue 14's reproductions against a real server: every case of cases.ts over HTTP and, when its
 * body is JSON, as a WebSocket message, each checked for its status, code and limit, for the
 * invariant of every answer (a 2xx or a problem of a known code), for an answer within
 * TIMEOUT_MS + 1 s, and for the server's health after it (/healthz answers, no worker replaced:
 * every limit here is met by the request's own budget, never by killing its worker). Then the
 * findings that need more than one request: concurrency, WebSocket sessions, rate limits, origins.
 */
import t, { type Test } from 'tap';
import { CASE_ENV, expectationViolation, hostileCases, rawCases, wsMessage, type HostileCase } from './cases.js';
import { pollHealthz, startHostileServer, type HostileServer } from './harness.js';
import { UpgradeRefused, WsSession, replyJson, replyViolation, sendRaw, type WireReply } from './wire.js';

const TIMEOUT_MS = Number(CASE_ENV.TIMEOUT_MS);
/** The answer may come this late: the time limit and a second (issue 14's goal). */
const ANSWER_WITHIN_MS = TIMEOUT_MS + 1000;
/**
 * /healthz while a megabytes-long body is refused: a few milliseconds a megabyte, and the noise
 * of a machine running other test files (the client's own 10 MB strings are collected on this
 * event loop too); before issue 14's fix it took 3.7 s.
 */
const HEALTHZ_DURING_MS = 1000;

// Each case takes about TIMEOUT_MS at most once its finding is fixed; before, each worker it
// costs is replaced, and a new worker loads for seconds (through tsx, on a busy machine).
t.setTimeout(600_000);
const server = await startHostileServer(t, CASE_ENV);

/** The checks every case ends with: the answer's time, /healthz, and no worker replaced (a replaced one is warmed again). */
async function afterCase(t: Test, label: string, ms: number, replacedBefore: number): Promise<void> {
  t.ok(ms <= ANSWER_WITHIN_MS, `${label}: answered within TIMEOUT_MS + 1 s (${Math.round(ms)} ms)`);
  t.ok(Number.isFinite(await server.healthz()), `${label}: /healthz answers afterwards`);
  const replaced = server.app.workers.replaced - replacedBefore;
  t.equal(replaced, 0, `${label}: no worker replaced`);
  if (replaced > 0) await server.warm();
}

async function overHttp(t: Test, c: HostileCase): Promise<void> {
  const label = `HTTP ${c.endpoint}: ${c.name}`;
  const before = server.app.workers.replaced;
  const poll = c.healthzDuring === true ? pollHealthz(server) : null;
  const reply: WireReply = await server.http.send({ path: `/v1/${c.endpoint}`, headers: { 'content-type': 'application/json', ...c.headers }, body: c.body() });
  const healthz = await poll?.stop();
  t.equal(replyViolation(reply), null, `${label}: a 2xx or a problem of a known code`);
  t.equal(reply.ok ? expectationViolation(c.expect, reply.status, replyJson(reply)) : 'no answer', null, `${label}: ${c.expect.status.join('/')} ${c.expect.code?.join('/') ?? ''}`);
  if (healthz !== undefined) t.ok(healthz <= HEALTHZ_DURING_MS, `${label}: /healthz within ${HEALTHZ_DURING_MS} ms meanwhile (${Math.round(healthz)} ms)`);
  await afterCase(t, label, reply.ms, before);
}

async function overWebSocket(t: Test, c: HostileCase): Promise<void> {
  const label = `WebSocket ${c.endpoint}: ${c.name}`;
  const before = server.app.workers.replaced;
  const session = await WsSession.open(server.base);
  const body = c.body();
  const poll = c.healthzDuring === true ? pollHealthz(server) : null;
  const start = performance.now();
  session.send(wsMessage('case', c.endpoint, typeof body === 'string' ? body : Buffer.from(body).toString('utf8')));
  const violations = await session.settle(ANSWER_WITHIN_MS + 10_000);
  const ms = performance.now() - start;
  const healthz = await poll?.stop();
  session.close();
  t.strictSame(violations, [], `${label}: exactly one final message, a result or a problem of a known code; the socket stays open`);
  const final = session.final('case');
  const [status, answer] = final === undefined ? [0, undefined] : final.type === 'result' ? [200, final] : [Number((final.error as { status?: unknown }).status), final.error];
  t.equal(expectationViolation(c.expect, status, answer), null, `${label}: ${c.expect.status.join('/')} ${c.expect.code?.join('/') ?? ''}`);
  if (healthz !== undefined) t.ok(healthz <= HEALTHZ_DURING_MS, `${label}: /healthz within ${HEALTHZ_DURING_MS} ms meanwhile (${Math.round(healthz)} ms)`);
  await afterCase(t, label, ms, before);
}

for (const c of hostileCases) {
  await t.test(`finding ${c.finding ?? '(earlier fix)'}: ${c.name}`, async (t) => {
    await overHttp(t, c);
    if (c.ws) await overWebSocket(t, c);
  });
}

for (const c of rawCases) {
  await t.test(`raw HTTP: ${c.name}`, async (t) => {
    const answer = await sendRaw(server.base, c.bytes());
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      body = undefined;
    }
    t.equal(answer.error, null, `${c.name}: no reset`);
    t.equal(answer.status === null ? 'no answer' : expectationViolation(c.expect, answer.status, body), null, `${c.name}: ${c.expect.status.join('/')} ${c.expect.code?.join('/')}`);
    t.match(answer.head, /content-type: application\/problem\+json/i, `${c.name}: a problem (application/problem+json), got ${answer.head.split('\r\n')[0]} ${answer.text.slice(0, 100)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Findings that need more than one request, grouped by the server they need (a server costs a
// worker's start, seconds through tsx): the one above, or one started for the group.

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Scenario {
  readonly name: string;
  readonly finding: number;
  readonly run: (t: Test, server: HostileServer) => Promise<void>;
}

interface Group {
  readonly name: string;
  /** The server's environment (one worker unless said), or null for the cases' server. */
  readonly env: Record<string, string> | null;
  /** How much to warm it first: a rate limit counts the warming requests too. */
  readonly warm?: 'all' | 'one' | 'none';
  readonly scenarios: readonly Scenario[];
}

/** The rate-limited server knows clients by X-Forwarded-For: each scenario is a client of its own. */
const client = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });

const groups: Group[] = [
  {
    name: 'the cases\' server',
    env: null,
    scenarios: [
      {
        // Each needs about a tenth of TIMEOUT_MS on a worker, all twelve more than all of it.
        name: 'twelve concurrent 30k-draw gamma samples on one worker: each 200, or 503 OVERLOADED with Retry-After; never over the time limit for time spent queued',
        finding: 5,
        run: async (t, s) => {
          const replies = await Promise.all(range(12).map(() => s.http.post('sample', { program: 'rsample(gamma(2, b))', at: { b: 1 }, n: 30_000, seed: 1 })));
          replies.forEach((reply, i) => {
            const label = `sample ${i + 1}`;
            t.equal(replyViolation(reply), null, `${label}: a 2xx or a problem of a known code`);
            const body = replyJson(reply) as { code?: string } | undefined;
            const fine = reply.ok && (reply.status === 200 || (reply.status === 503 && body?.code === 'OVERLOADED' && reply.headers['retry-after'] !== undefined));
            t.ok(fine, `${label}: 200, or 503 OVERLOADED with Retry-After (got ${reply.ok ? `${reply.status} ${reply.text.slice(0, 160)}` : reply.error})`);
          });
        },
      },
      {
        name: 'an 11 MB WebSocket message (over the 10 MB body limit) closes the socket with 1009, or is refused TOO_LARGE; the server goes on',
        finding: 12,
        run: async (t, s) => {
          const session = await WsSession.open(s.base);
          session.send({ id: 'huge', endpoint: 'eval', program: `x # ${'a'.repeat(11 * 2 ** 20)}`, at: { x: 1 } });
          await session.settle(20_000, { mayClose: true });
          const answer = session.closed !== null ? `closed ${session.closed.code}` : (session.final('huge')?.error as { code?: string } | undefined)?.code;
          t.ok(answer === 'closed 1009' || answer === 'TOO_LARGE', `closed with 1009, or TOO_LARGE (got ${answer})`);
          const next = await WsSession.open(s.base);
          next.send({ id: 'one', endpoint: 'eval', program: '1 + 1' });
          t.strictSame(await next.settle(10_000), [], 'a new socket is answered');
          next.close();
        },
      },
      {
        name: 'a cancelled WebSocket request gets CANCELLED',
        finding: 17,
        run: async (t, s) => {
          const session = await WsSession.open(s.base);
          session.send({ id: 'long', endpoint: 'eval', program: 's = 0\nfor i = 1:900000\n  s = s + sin(i)\nend\ns' });
          await pause(150);
          session.send({ id: 'long', type: 'cancel' });
          t.strictSame(await session.settle(10_000), [], 'one final message');
          const final = session.final('long');
          t.equal((final?.error as { code?: string } | undefined)?.code, 'CANCELLED', `the final message: an error CANCELLED (got ${JSON.stringify(final).slice(0, 200)})`);
          session.close();
        },
      },
    ],
  },
  {
    name: 'two workers',
    env: { ...CASE_ENV, WORKERS: '2' },
    warm: 'one',
    scenarios: [
      {
        name: 'two long kernels at once on two workers: a small request is still answered within TIMEOUT_MS + 1 s',
        finding: 2,
        run: async (t, s) => {
          const heavy = { program: 'A = ones(3000, 3000); sum(sum(A * A))' };
          const long = [s.http.post('eval', heavy), s.http.post('eval', heavy)];
          await pause(200);
          const small = await s.http.post('eval', { program: 'x + 1', at: { x: 1 } });
          for (const reply of await Promise.all(long)) t.equal(replyViolation(reply), null, `the long kernel: a problem of a known code (${reply.ok ? reply.status : reply.error})`);
          t.equal(small.ok && small.status, 200, 'the small request: 200');
          t.ok(small.ms <= ANSWER_WITHIN_MS, `the small request: answered within ${ANSWER_WITHIN_MS} ms (${Math.round(small.ms)} ms)`);
          t.equal(s.app.workers.replaced, 0, 'no worker replaced');
        },
      },
    ],
  },
  {
    name: 'a 192 MB worker',
    env: { ...CASE_ENV, WORKER_MEMORY_MB: '192' },
    warm: 'one',
    scenarios: [
      {
        // Each program keeps about 8 MB parsed and compiled: 40 are 320 MB if the cache (64 MiB) held them all.
        name: 'the program cache is bounded by bytes: 40 distinct 40 KB programs are all answered, no worker replaced',
        finding: 6,
        run: async (t, s) => {
          for (const k of range(40)) {
            const program = range(1850).map((i) => `v${i} = x * ${k + i} + ${i}`).join('\n');
            const reply = await s.http.post('eval', { program, at: { x: 1 } });
            t.equal(reply.ok && reply.status, 200, `program ${k + 1} (${program.length} characters): 200 (${reply.ok ? reply.text.slice(0, 120) : reply.error})`);
          }
          t.equal(s.app.workers.replaced, 0, 'no worker replaced');
        },
      },
    ],
  },
  {
    name: 'WebSocket limits',
    env: { ...CASE_ENV, WS_MAX_BUFFERED_BYTES: String(8 * 2 ** 20), MAX_WS_CONNECTIONS: '4' },
    warm: 'one',
    scenarios: [
      {
        name: 'a WebSocket client that stops reading: the bytes waiting for it stay bounded, and each id still gets one final message (or the socket is closed 1008/1013)',
        finding: 7,
        run: async (t, s) => {
          const session = await WsSession.open(s.base);
          const underlying = (session.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
          underlying.pause();
          // Each answer is about 2 MB of JSON: 64 of them are 128 MB if nothing bounds them.
          for (const i of range(64)) session.send({ id: `big${i}`, endpoint: 'eval', program: 'ones(1000, 1000)' });
          await pause(4000);
          let buffered = 0;
          for (const c of s.app.websocketServer.clients) buffered += c.bufferedAmount;
          // WS_MAX_BUFFERED_BYTES, and the message that crossed it.
          t.ok(buffered <= 12 * 2 ** 20, `at most 8 MB and a message (12 MB) wait to be sent to the socket (${(buffered / 2 ** 20).toFixed(1)} MB)`);
          t.ok(Number.isFinite(await s.healthz()), '/healthz answers meanwhile');
          underlying.resume();
          const violations = await session.settle(60_000, { mayClose: true });
          t.strictSame(violations, [], 'every id: exactly one final message, unless the socket was closed');
          // 1013 when its close frame got through; cut (1006) when it sat behind the unread bytes
          // the server dropped on giving up the socket (a second after closing it).
          if (session.closed !== null) t.ok([1006, 1008, 1013].includes(session.closed.code), `closed with 1013 or 1008, or cut (got ${session.closed.code})`);
          session.close();
          await pause(200);
        },
      },
      {
        name: 'MAX_WS_CONNECTIONS=4: the fifth socket is refused, the four work',
        finding: 7,
        run: async (t, s) => {
          const sessions = await Promise.all(range(4).map(() => WsSession.open(s.base)));
          let fifth: string;
          try {
            const extra = await WsSession.open(s.base);
            await pause(300);
            fifth = extra.closed !== null && [1008, 1013].includes(extra.closed.code) ? 'refused' : `accepted (${JSON.stringify(extra.closed)})`;
            extra.close();
          } catch (e) {
            fifth = e instanceof UpgradeRefused && [429, 503].includes(e.status) ? 'refused' : `failed otherwise: ${(e as Error).message}`;
          }
          t.equal(fifth, 'refused', 'the fifth upgrade: 429 or 503, or closed 1008/1013');
          for (const [i, session] of sessions.entries()) {
            session.send({ id: 'one', endpoint: 'eval', program: '1 + 1' });
            t.strictSame(await session.settle(10_000), [], `socket ${i + 1}: answered`);
            session.close();
          }
        },
      },
    ],
  },
  {
    name: 'RATE_LIMIT=5, clients by X-Forwarded-For',
    env: { ...CASE_ENV, RATE_LIMIT: '5', TRUST_PROXY: 'true' },
    warm: 'none',
    scenarios: [
      {
        name: 'WebSocket messages count against the client\'s quota, like HTTP requests',
        finding: 8,
        run: async (t, s) => {
          const session = await WsSession.open(s.base, { headers: client('10.0.0.1') });
          for (const i of range(20)) session.send({ id: `g${i}`, endpoint: 'grad', program: 'x^2', at: { x: 1 } });
          t.strictSame(await session.settle(60_000), [], 'every message: one final message');
          const results = session.received.filter((m) => m.type === 'result').length;
          const limited = session.received.filter((m) => m.type === 'error' && (m.error as { code?: string }).code === 'RATE_LIMITED').length;
          t.ok(results >= 1 && results <= 5, `1 to 5 of 20 messages answered (got ${results})`);
          t.equal(results + limited, 20, 'the others: RATE_LIMITED');
          const after = await s.http.post('grad', { program: 'x^2', at: { x: 1 } }, client('10.0.0.1'));
          t.equal(after.ok && after.status, 429, 'an HTTP request afterwards: 429, the quota is one');
          session.close();
        },
      },
      {
        name: 'without API_KEYS, random bearer tokens do not each get a quota',
        finding: 8,
        run: async (t, s) => {
          const replies = await Promise.all(range(20).map((i) => s.http.post('grad', { program: 'x^2', at: { x: 1 } }, { ...client('10.0.0.2'), authorization: `Bearer random-token-${i}-${Math.random()}` })));
          const answered = replies.filter((r) => r.ok && r.status === 200).length;
          t.ok(answered >= 1 && answered <= 5, `1 to 5 of 20 answered (got ${answered})`);
          for (const reply of replies) t.equal(replyViolation(reply), null, 'a 2xx or a problem of a known code');
        },
      },
      {
        name: 'a 429\'s Retry-After agrees with x-ratelimit-reset',
        finding: 9,
        run: async (t, s) => {
          for (const _ of range(5)) await s.http.post('eval', { program: '1' }, client('10.0.0.3'));
          const reply = await s.http.post('eval', { program: '1' }, client('10.0.0.3'));
          t.equal(reply.ok && reply.status, 429, 'the sixth request: 429');
          if (!reply.ok) return;
          t.ok(reply.headers['retry-after'] !== undefined && reply.headers['x-ratelimit-reset'] !== undefined, 'both headers sent');
          t.equal(reply.headers['retry-after'], reply.headers['x-ratelimit-reset'], `Retry-After ${reply.headers['retry-after']} equals x-ratelimit-reset ${reply.headers['x-ratelimit-reset']}`);
        },
      },
    ],
  },
  {
    name: 'API_KEYS',
    env: { ...CASE_ENV, API_KEYS: 'the-right-key-1' },
    warm: 'none',
    scenarios: [
      {
        name: 'failed authentications are limited per address',
        finding: 8,
        run: async (t, s) => {
          const statuses: number[] = [];
          for (const i of range(30)) {
            const reply = await s.http.post('grad', { program: 'x^2', at: { x: 1 } }, { authorization: `Bearer guess-number-${i}` });
            t.equal(replyViolation(reply), null, `guess ${i + 1}: a problem of a known code`);
            statuses.push(reply.ok ? reply.status : 0);
          }
          t.ok(statuses.includes(429), `30 wrong keys from one address: some get 429 (got ${[...new Set(statuses)].join(', ')})`);
        },
      },
    ],
  },
  {
    name: 'CORS_ORIGINS',
    env: { ...CASE_ENV, CORS_ORIGINS: 'https://course.example.org' },
    warm: 'none',
    scenarios: [
      {
        name: 'a WebSocket upgrade from an unlisted origin is refused with 403, from a listed one accepted',
        finding: 10,
        run: async (t, s) => {
          let other: string;
          try {
            (await WsSession.open(s.base, { origin: 'https://evil.example.com' })).close();
            other = 'accepted';
          } catch (e) {
            other = e instanceof UpgradeRefused ? String(e.status) : (e as Error).message;
          }
          t.equal(other, '403', 'an unlisted origin: 403');
          const listed = await WsSession.open(s.base, { origin: 'https://course.example.org' });
          listed.send({ id: 'one', endpoint: 'eval', program: '1 + 1' });
          t.strictSame(await listed.settle(60_000), [], 'a listed origin: accepted and answered');
          listed.close();
        },
      },
    ],
  },
];

for (const group of groups) {
  await t.test(`with ${group.name}`, async (t) => {
    const s = group.env === null ? server : await startHostileServer(t, group.env, group.warm ?? 'all');
    for (const scenario of group.scenarios) await t.test(`finding ${scenario.finding}: ${scenario.name}`, (t) => scenario.run(t, s));
  });
}
