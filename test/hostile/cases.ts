/**
 * Issue 14's reproductions, one request each, with the answer each must get once its finding is
 * fixed; and earlier hostile inputs that once crashed a worker or the server. The table is read
 * by test/hostile/reproductions.test.ts (over HTTP and, for JSON bodies, as WebSocket messages)
 * and by `npm run soak` (the bad requests of its mixed load). Bodies are built on demand: some
 * are megabytes. The server they expect: CASE_ENV (a 1.5 s time limit, otherwise the defaults).
 */
import { gzipSync } from 'node:zlib';
import { CODE_STATUS } from './invariants.js';

/** The configuration the expectations are written for (TIMEOUT_MS small: a limit is met quickly). */
export const CASE_ENV: Readonly<Record<string, string>> = { TIMEOUT_MS: '1500' };

export interface Expectation {
  /** Allowed statuses (a 2xx is a result; anything else a problem). */
  readonly status: readonly number[];
  /** Allowed codes of a problem. */
  readonly code?: readonly string[];
  /** Allowed `limit`s of a LIMIT_EXCEEDED problem. */
  readonly limit?: readonly string[];
  /** The problem's JSON pointer into the body. */
  readonly path?: string;
  readonly detail?: RegExp;
  /** For a 2xx: why the result is wrong, or null. */
  readonly result?: (body: Record<string, unknown>) => string | null;
}

export interface HostileCase {
  readonly name: string;
  /** The finding of issue 14 it reproduces; null for an earlier fix kept as a regression. */
  readonly finding: number | null;
  /** POST /v1/<endpoint>. */
  readonly endpoint: string;
  /** The body's bytes; for a JSON body, its text (which may hold what JSON.stringify cannot write, such as 1e400). */
  readonly body: () => string | Uint8Array;
  /** Headers beyond content-type: application/json. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Also sent as a WebSocket message: {"id", "endpoint", ...body}. */
  readonly ws: boolean;
  readonly expect: Expectation;
  /** Runs until a limit stops it: `npm run soak` keeps at most one such case in flight. */
  readonly heavy?: boolean;
  /** /healthz is polled while it is answered and must stay quick: the event loop is not blocked. */
  readonly healthzDuring?: boolean;
}

const json = (body: unknown): (() => string) => () => JSON.stringify(body);

const refused = (code: string, more: Omit<Expectation, 'status' | 'code'> = {}): Expectation => ({ status: [CODE_STATUS[code]], code: [code], ...more });
const overLimit = (limits: readonly string[], more: Omit<Expectation, 'status' | 'code' | 'limit'> = {}): Expectation => ({
  status: [422],
  code: ['LIMIT_EXCEEDED'],
  limit: limits,
  ...more,
});
/** Refused for its size, whichever way the fix chooses: 413 TOO_LARGE or 422 LIMIT_EXCEEDED. */
const tooBig: Expectation = { status: [413, 422], code: ['TOO_LARGE', 'LIMIT_EXCEEDED'] };
/** A 200 whose `field` is `expected` (JSON equality). */
const answers = (field: string, expected: unknown): Expectation => ({
  status: [200],
  result: (body) => (JSON.stringify(body[field]) === JSON.stringify(expected) ? null : `${field} is ${JSON.stringify(body[field])?.slice(0, 120)}, expected ${JSON.stringify(expected)}`),
});

/**
 * A long kernel: refused at the time limit (or up front, by its cost), its worker kept. Or by
 * the element budget: `inv` of a 3000x3000 matrix allocates past MAX_ELEMENTS once its inputs
 * are built, which a quick machine reaches before the time limit and a loaded one after.
 */
const kernel = (name: string, program: string): HostileCase => ({
  name,
  finding: 2,
  endpoint: 'eval',
  body: json({ program }),
  ws: true,
  heavy: true,
  expect: overLimit(['time', 'operations', 'memory']),
});

/** `depth` nested arrays as the value of x: 2 bytes a level. */
const nestedBody = (depth: number): string => `{"program":"x","at":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;

export const hostileCases: readonly HostileCase[] = [
  // 1. Allocations past the element budget, whatever op makes them.
  { name: 'diag(1:1e5): a 10^10-element matrix', finding: 1, endpoint: 'eval', body: json({ program: 'diag(1:1e5)' }), ws: true, expect: overLimit(['memory']) },
  { name: 'diag(1:65536): 2^32 elements', finding: 1, endpoint: 'eval', body: json({ program: 'diag(1:65536)' }), ws: true, expect: overLimit(['memory']) },
  { name: 'an outer product of 10^10 elements', finding: 1, endpoint: 'eval', body: json({ program: 'ones(100000, 1) * ones(1, 100000)' }), ws: true, expect: overLimit(['memory']) },
  { name: 'grad of diag(x) over a 10^5-element x', finding: 1, endpoint: 'grad', body: json({ program: 'sum(sum(diag(x)))', at: { x: { shape: [100000], data: new Array(100000).fill(1) } } }), ws: true, expect: overLimit(['memory']) },

  // 2. Single kernels longer than the time limit.
  kernel('a 3000x3000 matrix product', 'A = ones(3000, 3000); sum(sum(A * A))'),
  kernel('inv of a 3000x3000 matrix', 'sum(sum(inv(rand(3000, 3000) + 3000 * identity(3000))))'),
  kernel('det of a 3000x3000 matrix', 'det(rand(3000, 3000))'),
  kernel('A^1e9, A 2000x2000', 'A = rand(2000, 2000); sum(sum(A^1e9))'),
  kernel('the spectral norm of a 1500x1500 matrix', 'norm(rand(1500, 1500), 2)'),

  // 3. Validation linear in the body, with a documented limit on inputs and trace entries.
  {
    name: '/v1/check with a 100k-entry answer.trace',
    finding: 3,
    endpoint: 'check',
    body: () => JSON.stringify({ program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, answer: { trace: Array.from({ length: 100_000 }, (_, i) => ({ id: `v${(i % 3) + 1}`, tangent: 1 })) } }),
    ws: true,
    heavy: true,
    expect: tooBig,
  },
  {
    name: 'grad with 100k inputs in at',
    finding: 3,
    endpoint: 'grad',
    body: () => JSON.stringify({ program: 'x0 + x1', at: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`x${i}`, i])) }),
    ws: true,
    heavy: true,
    expect: tooBig,
  },

  // 4. Nesting refused before any parse; the event loop stays free.
  { name: 'a 10.4 MB body of 5.2M nested arrays', finding: 4, endpoint: 'eval', body: () => nestedBody(5_200_000), ws: true, heavy: true, healthzDuring: true, expect: { status: [400, 413], code: ['INVALID_REQUEST', 'TOO_LARGE'] } },
  { name: '100k nested arrays (200 KB)', finding: 4, endpoint: 'grad', body: () => nestedBody(100_000), ws: true, expect: { status: [400, 413], code: ['INVALID_REQUEST', 'TOO_LARGE'] } },

  // 12. Smaller ones.
  {
    name: 'input names é and α, as programs accept them',
    finding: 12,
    endpoint: 'grad',
    body: json({ program: 'é * α', at: { é: 2, α: 3 } }),
    ws: true,
    expect: answers('grad', { é: 3, α: 2 }),
  },
  { name: '"x": 1e400 overflows float64', finding: 12, endpoint: 'eval', body: () => '{"program": "x", "at": {"x": 1e400}}', ws: true, expect: refused('INVALID_REQUEST', { path: '/at/x', detail: /overflow|float64|too large|finite/i }) },
  { name: 'an unknown field inside options', finding: 12, endpoint: 'eval', body: json({ program: 'x', at: { x: 1 }, options: { colour: 'red' } }), ws: true, expect: refused('INVALID_REQUEST', { path: '/options/colour' }) },
  { name: 'an unknown field inside grad\'s options', finding: 12, endpoint: 'grad', body: json({ program: 'x^2', at: { x: 1 }, options: { mode: 'reverse', tolerance: 1 } }), ws: true, expect: refused('INVALID_REQUEST', { path: '/options/tolerance' }) },
  {
    name: 'a gzip body (content-encoding: gzip): 415, or decoded',
    finding: 12,
    endpoint: 'eval',
    body: () => gzipSync(JSON.stringify({ program: 'x + 1', at: { x: 1 } })),
    headers: { 'content-encoding': 'gzip' },
    ws: false,
    expect: { status: [415, 200], code: ['INVALID_REQUEST'], result: (body) => (body.value === 2 ? null : `value ${JSON.stringify(body.value)}, expected 2`) },
  },
  {
    name: 'a gzip bomb (1 MB that inflates to 200 MB)',
    finding: 12,
    endpoint: 'eval',
    body: () => gzipSync(Buffer.concat([Buffer.from('{"program": "x", "at": {"x": 1}, "pad": "'), Buffer.alloc(200 * 1024 * 1024, 0x61), Buffer.from('"}')])),
    headers: { 'content-encoding': 'gzip' },
    ws: false,
    expect: { status: [415, 413], code: ['INVALID_REQUEST', 'TOO_LARGE'] },
  },

  // 15-18: what people type, answered.
  { name: 'diff([1, 4, 9, 16])', finding: 15, endpoint: 'eval', body: json({ program: 'diff([1, 4, 9, 16])' }), ws: true, expect: answers('value', [3, 5, 7]) },
  { name: 'cumsum([1, 2, 3])', finding: 15, endpoint: 'eval', body: json({ program: 'cumsum([1, 2, 3])' }), ws: true, expect: answers('value', [1, 3, 6]) },
  { name: '2 ** 3 gets a hint to use ^', finding: 15, endpoint: 'eval', body: json({ program: '2 ** 3' }), ws: true, expect: refused('PARSE_ERROR', { detail: /\^/ }) },
  {
    name: 'sample through sample(...) warns that its gradient is zero',
    finding: 16,
    endpoint: 'sample',
    body: json({ program: 'sample(normal(mu, 1))', at: { mu: 0.5 }, n: 4, seed: 1 }),
    ws: true,
    expect: { status: [200], result: (body) => (Array.isArray(body.warnings) && body.warnings.length > 0 ? null : `no warnings: ${JSON.stringify(body).slice(0, 160)}`) },
  },
  {
    name: 'check with the one point in points and a numeric answer',
    finding: 18,
    endpoint: 'check',
    body: json({ program: 'x*y + sin(x)', points: [{ x: 0.5, y: 4.2 }], answer: { value: 2.579425538604203 } }),
    ws: true,
    expect: answers('pass', true),
  },

  // Earlier fixes, kept as regressions.
  { name: 'zeros(40000000) (once killed the server)', finding: null, endpoint: 'eval', body: json({ program: 'zeros(40000000)' }), ws: true, expect: overLimit(['memory']) },
  { name: 'an empty [1e9, 0] tensor', finding: null, endpoint: 'eval', body: json({ program: 'zeros(1e9, 0)' }), ws: true, expect: { status: [200, 422], code: ['LIMIT_EXCEEDED'] } },
  { name: 'A[2^32 + 1] = 5 (once wrapped to A[1])', finding: null, endpoint: 'eval', body: json({ program: 'A = [1, 2, 3]; A[2^32 + 1] = 5; A' }), ws: true, expect: { status: [422], code: ['INVALID_ARGUMENT', 'LIMIT_EXCEEDED'] } },
  { name: 'a name of 40000 characters (once a RegExp too big)', finding: null, endpoint: 'eval', body: json({ program: `${'a'.repeat(40_000)} + 1` }), ws: true, expect: refused('UNKNOWN_NAME') },
  { name: 'a body led by a byte-order mark', finding: null, endpoint: 'eval', body: () => `\ufeff${JSON.stringify({ program: 'x + 1', at: { x: 1 } })}`, ws: false, expect: answers('value', 2) },
  { name: 'sin nested 24 deep for derivative', finding: null, endpoint: 'derivative', body: json({ program: `${'sin('.repeat(24)}x${')'.repeat(24)}`, wrt: ['x'] }), ws: true, expect: { status: [200, 422], code: ['LIMIT_EXCEEDED'] } },
  { name: 'prototype poisoning in at', finding: null, endpoint: 'eval', body: () => '{"program": "x", "at": {"x": 1, "__proto__": {"polluted": 1}}}', ws: true, expect: { status: [200, 400, 422], code: ['INVALID_REQUEST', 'UNKNOWN_NAME'] } },
  { name: 'a while loop with no end in sight', finding: null, endpoint: 'eval', body: json({ program: 'x = 0\nwhile 1\n  x = x + 1\nend' }), ws: true, expect: overLimit(['loop iterations', 'time', 'operations']) },
  { name: 'recursion without a base case', finding: null, endpoint: 'eval', body: json({ program: 'f(n) = f(n + 1)\nf(1)' }), ws: true, expect: overLimit(['recursion depth']) },
];

export interface RawCase {
  readonly name: string;
  readonly finding: number | null;
  /** The request's bytes, written on a TCP connection as they are. */
  readonly bytes: () => string;
  readonly expect: Expectation;
}

const program = '{"program":"x","at":{"x":1}}';

/**
 * Requests broken below HTTP's semantics, answered by Node.js's parser through fastify's
 * client-error handler. Not in issue 14: found by this suite (its default answer is fastify's
 * plain JSON `{"error", "message", "statusCode"}`, not a problem).
 */
export const rawCases: readonly RawCase[] = [
  {
    name: 'a chunked body with a chunk size that is not hex',
    finding: null,
    bytes: () => `POST /v1/eval HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n${program}\r\n0\r\n\r\n`,
    expect: refused('INVALID_REQUEST'),
  },
  {
    name: 'two different content-lengths',
    finding: null,
    bytes: () => `POST /v1/eval HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n${program}`,
    expect: refused('INVALID_REQUEST'),
  },
  {
    name: 'headers over 16 KB',
    finding: null,
    bytes: () => `POST /v1/eval HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: application/json\r\nX-Padding: ${'a'.repeat(20_000)}\r\nContent-Length: ${program.length}\r\n\r\n${program}`,
    expect: { status: [413, 431], code: ['TOO_LARGE'] },
  },
  {
    name: 'a request line that is not HTTP',
    finding: null,
    bytes: () => 'GARBAGE\r\n\r\n',
    expect: refused('INVALID_REQUEST'),
  },
];

/** Why an answer (status, and the parsed body or WebSocket result/error) misses `e`, or null. */
export function expectationViolation(e: Expectation, status: number, body: unknown): string | null {
  const b = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const said = (): string => `${status} ${JSON.stringify(body)?.slice(0, 200)}`;
  if (!e.status.includes(status)) return `expected ${e.status.join(' or ')}, got ${said()}`;
  if (status >= 200 && status < 300) return e.result?.(b) ?? null;
  if (e.code !== undefined && !e.code.includes(String(b.code))) return `expected code ${e.code.join(' or ')}, got ${said()}`;
  if (e.limit !== undefined && b.code === 'LIMIT_EXCEEDED' && !e.limit.includes(String(b.limit))) return `expected limit ${e.limit.join(' or ')}, got ${said()}`;
  if (e.path !== undefined && b.path !== e.path) return `expected path ${e.path}, got ${said()}`;
  if (e.detail !== undefined && !e.detail.test(String(b.detail))) return `expected a detail matching ${e.detail}, got ${said()}`;
  return null;
}

/** A JSON body as a WebSocket message: the body's own text (1e400 and all), with id and endpoint first. */
export function wsMessage(id: string, endpoint: string, body: string): string {
  const rest = body.replace(/^\ufeff/, '').trimStart().slice(1).trimStart();
  const head = `{"id":${JSON.stringify(id)},"endpoint":${JSON.stringify(endpoint)}`;
  return rest.startsWith('}') ? `${head}${rest}` : `${head},${rest}`;
}
