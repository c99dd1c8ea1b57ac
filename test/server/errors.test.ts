/**
 * Every error code of SPEC.md section 6 that the service has so far, provoked over HTTP: the
 * status, the code, application/problem+json, and where (line and column in the program, a JSON
 * pointer into the body, the limit's name). A request the schema refuses gets the same status,
 * code and path as `compute` rejects it with (SPEC.md section 8). Nothing is ever a 500.
 */
import t, { type Test } from 'tap';
import { Problem, computeSync } from '../../src/index.js';
import type { ExpectedProblem } from '../helpers.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { assertProblemReply, describe, post, send, startServer, type Reply } from './harness.js';

/** Every reply of this file, to check at the end that none is a 500. */
const replies: { label: string; reply: Reply }[] = [];
const record = (label: string, reply: Reply): Reply => {
  replies.push({ label, reply });
  return reply;
};

const LIMITS = {
  BODY_LIMIT_BYTES: '4096',
  MAX_PROGRAM_LENGTH: '200',
  MAX_TENSOR_ELEMENTS: '100',
  MAX_ITERATIONS: '100000',
  MAX_OPERATIONS: '1000',
  MAX_ELEMENTS: '100000',
};
const { base } = await startServer(t, { WORKERS: '1', ...LIMITS });

interface HttpCase {
  name: string;
  endpoint: string;
  /** A string is sent as it is, with `contentType`; anything else as JSON. */
  body: unknown;
  contentType?: string;
  expect: ExpectedProblem;
}

const invalid = (path: string | undefined, ...detail: RegExp[]): ExpectedProblem => ({ status: 400, code: 'INVALID_REQUEST', path, detail });
const tooLarge = (path: string | undefined, ...detail: RegExp[]): ExpectedProblem => ({ status: 413, code: 'TOO_LARGE', path, detail });
const inProgram = (code: ExpectedProblem['code'], line: number, column: number, ...detail: RegExp[]): ExpectedProblem => ({ status: 422, code, line, column, detail });
const inBody = (code: ExpectedProblem['code'], path: string, ...detail: RegExp[]): ExpectedProblem => ({ status: 422, code, path, detail });
const overLimit = (limit: string, line: number | 'any', column: number | 'any', ...detail: RegExp[]): ExpectedProblem => ({ status: 422, code: 'LIMIT_EXCEEDED', limit, line, column, detail });

const at = { x: 0.5 };
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const graphOf = (nodes: unknown[], output = 'z') => ({ graph: { nodes, output }, at: { x: 0.5, y: 2 } });

/** Bodies that are not JSON, or not of the schema: 400 INVALID_REQUEST. */
const badRequests: HttpCase[] = [
  { name: 'malformed JSON', endpoint: 'grad', body: '{"program": "x", ', expect: invalid(undefined, /not valid JSON/) },
  { name: 'an empty body', endpoint: 'grad', body: '', expect: invalid(undefined, /empty/) },
  // Refused where the body is parsed: a worker is sent the body's text and parses it again.
  { name: 'a body with __proto__ (prototype poisoning)', endpoint: 'grad', body: '{"program": "x", "at": {"x": 1}, "__proto__": {"polluted": 1}}', expect: invalid(undefined, /not valid JSON/) },
  { name: 'a body with constructor.prototype', endpoint: 'grad', body: '{"program": "x", "at": {"x": 1}, "constructor": {"prototype": {"polluted": 1}}}', expect: invalid(undefined, /not valid JSON/) },
  { name: 'a form-encoded body (curl -d without a content-type)', endpoint: 'grad', body: 'program=x', contentType: 'application/x-www-form-urlencoded', expect: invalid(undefined, /JSON/, /content-type/) },
  { name: 'a JSON array for a body', endpoint: 'grad', body: '[1, 2]', expect: invalid('', /object/) },
  { name: 'a JSON string for a body', endpoint: 'eval', body: '"x + 1"', expect: invalid('', /object/) },
  { name: 'a JSON number for a body', endpoint: 'eval', body: '3', expect: invalid('', /object/) },
  { name: 'null for a body', endpoint: 'eval', body: 'null', expect: invalid('', /object/) },
  { name: 'an unknown field', endpoint: 'grad', body: { program: 'x', at, bogus: 1 }, expect: invalid('/bogus', /unknown field/, /bogus/) },
  { name: 'an unknown field of another endpoint (tangents on grad)', endpoint: 'grad', body: { program: 'x', at, tangents: { x: 1 } }, expect: invalid('/tangents', /tangents/) },
  { name: 'a program that is not a string', endpoint: 'grad', body: { program: 5, at }, expect: invalid('/program', /program/, /string/) },
  { name: 'an input that is a word', endpoint: 'grad', body: { program: 'x', at: { x: 'abc' } }, expect: invalid('/at/x') },
  { name: '"at" that is a list', endpoint: 'grad', body: { program: 'x', at: [1] }, expect: invalid('/at', /at/) },
  { name: '"wrt" that is a string', endpoint: 'grad', body: { program: 'x', at, wrt: 'x' }, expect: invalid('/wrt', /wrt/) },
  { name: 'a layout that does not exist', endpoint: 'eval', body: { program: 'x', at, options: { layout: 'diagonal' } }, expect: invalid('/options/layout', /layout/) },
  { name: 'a mode that does not exist', endpoint: 'grad', body: { program: 'x', at, options: { mode: 'sideways' } }, expect: invalid('/options/mode', /mode/) },
  { name: 'a seed that is not an integer', endpoint: 'eval', body: { program: 'x', at, seed: 1.5 }, expect: invalid('/seed', /seed/) },
  { name: 'a graph node without "op"', endpoint: 'grad', body: graphOf([{ id: 'z', args: ['x'] }]), expect: invalid('/graph/nodes/0/op', /op/) },
  { name: 'neither program nor graph', endpoint: 'grad', body: { at }, expect: invalid('', /exactly one of "program" or "graph"/) },
  { name: 'both program and graph', endpoint: 'grad', body: { program: 'x', ...graphOf([{ id: 'z', op: 'sin', args: ['x'] }]) }, expect: invalid('', /exactly one/) },
  { name: 'a ragged nested array', endpoint: 'grad', body: { program: 'sum(x)', at: { x: [[1, 2], [3]] } }, expect: invalid('/at/x/1', /rectangular/) },
  { name: '{shape, data} with too few numbers', endpoint: 'grad', body: { program: 'sum(x)', at: { x: { shape: [2], data: [1] } } }, expect: invalid('/at/x/data', /shape \[2\]/) },
];

/** Requests over a size limit: 413 TOO_LARGE. */
const tooLargeRequests: HttpCase[] = [
  { name: `a body over BODY_LIMIT_BYTES (${LIMITS.BODY_LIMIT_BYTES})`, endpoint: 'eval', body: { program: `${' '.repeat(5000)}x`, at }, expect: tooLarge(undefined, /size limit/) },
  { name: `a program over MAX_PROGRAM_LENGTH (${LIMITS.MAX_PROGRAM_LENGTH})`, endpoint: 'grad', body: { program: `x${'+x'.repeat(150)}`, at }, expect: tooLarge('/program', /301 characters/, /200/) },
  { name: `an input over MAX_TENSOR_ELEMENTS (${LIMITS.MAX_TENSOR_ELEMENTS})`, endpoint: 'grad', body: { program: 'sum(x)', at: { x: range(101) } }, expect: tooLarge('/at/x', /101/, /100/) },
  {
    name: 'an input {shape, data} over MAX_TENSOR_ELEMENTS',
    endpoint: 'eval',
    body: { program: 'sum(x)', at: { x: { shape: [11, 11], data: range(121) } } },
    expect: tooLarge('/at/x', /121/, /100/),
  },
  { name: 'a cotangent over MAX_TENSOR_ELEMENTS', endpoint: 'grad', body: { program: 'x .* ones(101)', at: { x: 1 }, cotangent: range(101) }, expect: tooLarge('/cotangent', /101/) },
  // No element, but a billion empty arrays in its nested form: an empty dimension counts as one.
  {
    name: 'an empty input {shape: [1000000000, 0]}',
    endpoint: 'eval',
    body: { program: 'w', at: { w: { shape: [1e9, 0], data: [] } } },
    expect: tooLarge('/at/w', /\[1000000000, 0\]/, /100 elements/, /empty dimension/),
  },
];

/** Programs that cannot be evaluated as asked: 422, each code. */
const unprocessable: HttpCase[] = [
  { name: 'PARSE_ERROR: an operator where a value belongs', endpoint: 'grad', body: { program: 'x +* 2', at }, expect: inProgram('PARSE_ERROR', 1, 4, /value expected/) },
  { name: 'PARSE_ERROR: `**` on line 2', endpoint: 'grad', body: { program: 'y = 1\ny = x ** 2', at }, expect: inProgram('PARSE_ERROR', 2, 7, /`\*\*` is not an operator in mathjs/, /use `\^`/) },
  { name: 'PARSE_ERROR: a `for` without `end`', endpoint: 'grad', body: { program: 'for i = 1:3\n  y = i * x', at }, expect: inProgram('PARSE_ERROR', 1, 1, /`for` block is not closed/) },
  { name: 'UNKNOWN_NAME: a misspelt function', endpoint: 'grad', body: { program: 'y = 2\nz = sigmoud(x) * y', at }, expect: inProgram('UNKNOWN_NAME', 2, 5, /`sigmoud`/, /did you mean `sigmoid`\?/) },
  { name: 'UNKNOWN_NAME: a variable not in "at"', endpoint: 'eval', body: { program: 'x * w', at }, expect: inProgram('UNKNOWN_NAME', 1, 5, /unknown variable `w`/) },
  {
    name: 'UNKNOWN_NAME: a graph op',
    endpoint: 'grad',
    body: graphOf([{ id: 'a', op: 'sin', args: ['x'] }, { id: 'z', op: 'sigmod', args: ['a'] }]),
    expect: inBody('UNKNOWN_NAME', '/graph/nodes/1/op', /did you mean "sigmoid"\?/),
  },
  { name: 'SHAPE_MISMATCH: adding lengths 3 and 2', endpoint: 'eval', body: { program: '[1, 2, 3] + [1, 2]', at: {} }, expect: inProgram('SHAPE_MISMATCH', 1, 1, /\[3\]/, /\[2\]/) },
  { name: 'SHAPE_MISMATCH: a cotangent of the wrong shape', endpoint: 'grad', body: { program: 'x .* [1, 2]', at: { x: 1 }, cotangent: [1, 2, 3] }, expect: inBody('SHAPE_MISMATCH', '/cotangent', /\[3\]/, /\[2\]/) },
  { name: 'NOT_SCALAR: grad of a vector without a cotangent', endpoint: 'grad', body: { program: 'x .* 2', at: { x: [1, 2] } }, expect: inBody('NOT_SCALAR', '/cotangent', /scalar/, /cotangent/) },
  { name: 'NOT_SCALAR: hessian of a vector', endpoint: 'hessian', body: { program: 'x .* 2', at: { x: [1, 2] } }, expect: { status: 422, code: 'NOT_SCALAR', detail: [/hessian needs a scalar output/] } },
  { name: 'NOT_SCALAR: an `if` on a vector', endpoint: 'grad', body: { program: 'y = x\nif x > 0\n  y = 2 * x\nend\nsum(y)', at: { x: [1, 2, 3] } }, expect: inProgram('NOT_SCALAR', 2, 1, /condition of `if`/) },
  { name: 'NOT_DIFFERENTIABLE: a symbolic derivative mathjs cannot take', endpoint: 'derivative', body: { program: 'sigmoid(x)', wrt: ['x'] }, expect: inBody('NOT_DIFFERENTIABLE', '/program', /`sigmoid`/) },
  { name: 'INVALID_ARGUMENT: too many arguments', endpoint: 'grad', body: { program: 'sin(x, 2)', at }, expect: inProgram('INVALID_ARGUMENT', 1, 1, /`sin` takes 1 argument, got 2/) },
  { name: 'INVALID_ARGUMENT: "wrt" naming no input', endpoint: 'grad', body: { program: 'x * 2', at: { x: 1 }, wrt: ['y'] }, expect: inBody('INVALID_ARGUMENT', '/wrt/0', /"wrt" names "y"/) },
  { name: 'INVALID_ARGUMENT: a graph with a cycle', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'sin', args: ['a'] }, { id: 'a', op: 'cos', args: ['z'] }]), expect: inBody('INVALID_ARGUMENT', '/graph/nodes/0', /cycle/) },
  { name: 'LIMIT_EXCEEDED: an endless loop (loop iterations)', endpoint: 'eval', body: { program: 'while 1\nend', at: {} }, expect: overLimit('loop iterations', 1, 1, /loop iteration limit/, /100000/) },
  { name: 'LIMIT_EXCEEDED: endless recursion (recursion depth)', endpoint: 'eval', body: { program: 'f(x) = f(x)\nf(1)', at: {} }, expect: overLimit('recursion depth', 1, 1, /recursion depth limit/) },
  { name: 'LIMIT_EXCEEDED: a million-element tensor (memory)', endpoint: 'eval', body: { program: 'zeros(1000, 1000)', at: {} }, expect: overLimit('memory', 1, 1, /memory limit/) },
  // A result is held to MAX_TENSOR_ELEMENTS too, before it is written (a large one could exhaust the worker's memory).
  { name: 'LIMIT_EXCEEDED: a result over MAX_TENSOR_ELEMENTS (memory)', endpoint: 'eval', body: { program: 'zeros(20, 20)', at: {} }, expect: { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', detail: [/too large to send/, /400 elements/, /100/] } },
  { name: 'LIMIT_EXCEEDED: an empty result of a billion rows (memory)', endpoint: 'eval', body: { program: 'zeros(1000000000, 0)', at: {} }, expect: { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', detail: [/too large to send/, /\[1000000000, 0\]/] } },
  { name: 'LIMIT_EXCEEDED: a gradient over MAX_TENSOR_ELEMENTS (memory)', endpoint: 'jacobian', body: { program: 'x .* ones(11)', at: { x: range(11) } }, expect: { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', detail: [/too large to send/, /121 elements/] } },
  { name: 'LIMIT_EXCEEDED: a loop of additions (operations)', endpoint: 'grad', body: { program: 's = 0\nfor i = 1:5000\n  s = s + x\nend\ns', at }, expect: overLimit('operations', 3, 3, /operation limit/, /1000/) },
  { name: 'LIMIT_EXCEEDED: options.timeoutMs (time)', endpoint: 'eval', body: { program: 'while 1\nend', at: {}, options: { timeoutMs: 0.001 } }, expect: overLimit('time', 'any', 'any', /time limit/) },
];

async function sendCase(c: HttpCase): Promise<Reply> {
  const headers: Record<string, string> = c.contentType === undefined ? {} : { 'content-type': c.contentType };
  return record(c.name, await post(base, c.endpoint, c.body, { headers }));
}

t.test('400 INVALID_REQUEST: bodies that are not JSON or not of the schema, with the path', async (t) => {
  for (const c of badRequests) assertProblemReply(t, c.name, await sendCase(c), c.expect);
});

t.test('a JSON body led by a byte-order mark is read as without it (the worker gets the text the event loop parsed)', async (t) => {
  const body = '{"program": "x*y + sin(x)", "at": {"x": 0.5, "y": 4.2}}';
  for (const endpoint of ['eval', 'grad']) {
    const plain = record(`${endpoint} without a BOM`, await post(base, endpoint, body, { headers: { 'content-type': 'application/json' } }));
    const marked = record(`${endpoint} with a BOM`, await post(base, endpoint, `\ufeff${body}`, { headers: { 'content-type': 'application/json' } }));
    t.equal(marked.status, 200, `${endpoint}: ${describe(marked)}`);
    t.equal(marked.text, plain.text, `${endpoint}: the same answer`);
  }
});

t.test('a body the schema refuses gets the status, code and path that compute rejects it with (SPEC.md section 8)', async (t) => {
  for (const c of badRequests) {
    if (typeof c.body === 'string') continue; // compute takes parsed JSON
    let problem: Problem | null = null;
    try {
      computeSync(c.endpoint, c.body);
    } catch (e) {
      if (e instanceof Problem) problem = e;
    }
    if (problem === null) {
      t.fail(`${c.name}: compute does not reject it with a problem`);
      continue;
    }
    const reply = await sendCase(c);
    const body = reply.json as { code?: string; path?: string };
    t.strictSame({ status: reply.status, code: body.code, path: body.path }, { status: problem.status, code: problem.code, path: problem.body.path }, `${c.name}: the server agrees with compute`);
  }
});

t.test('404 NOT_FOUND: unknown routes and methods', async (t) => {
  for (const [method, path] of [['GET', '/nope'], ['POST', '/v1/nope'], ['GET', '/v1/grad'], ['POST', '/v1/train']] as const) {
    const body = method === 'POST' ? '{}' : undefined;
    const reply = record(`${method} ${path}`, await send(base, path, { method, body }));
    assertProblemReply(t, `${method} ${path}`, reply, { status: 404, code: 'NOT_FOUND', detail: [new RegExp(`${method} ${path.replace(/\//g, '\\/')}`)] });
  }
});

t.test('413 TOO_LARGE: the body, a program, a tensor over the limits', async (t) => {
  for (const c of tooLargeRequests) assertProblemReply(t, c.name, await sendCase(c), c.expect);
});

t.test('422: each code, located in the program or the body', async (t) => {
  for (const c of unprocessable) assertProblemReply(t, c.name, await sendCase(c), c.expect);
});

t.test('the server still answers after every error', async (t) => {
  const reply = await post(base, 'grad', { program: 'x^2', at: { x: 3 } });
  t.strictSame({ status: reply.status, body: reply.json }, { status: 200, body: { value: 9, grad: { x: 6 } } }, describe(reply));
});

t.test('401 UNAUTHORIZED, 403 FORBIDDEN and 429 RATE_LIMITED where API keys and a rate limit are configured', async (t) => {
  const key = 'test-key-123456';
  const { base } = await startServer(t, { API_KEYS: key, RATE_LIMIT: '3' });
  const body = { program: '1 + 1', at: {} };
  const missing = record('no key', await post(base, 'eval', body));
  assertProblemReply(t, 'no key', missing, { status: 401, code: 'UNAUTHORIZED', detail: [/API key/, /Authorization: Bearer/] });
  const wrong = record('a wrong key', await post(base, 'eval', body, { headers: { authorization: 'Bearer wrong-key-000000' } }));
  assertProblemReply(t, 'a wrong key', wrong, { status: 403, code: 'FORBIDDEN', detail: [/not valid/] });
  t.equal((await send(base, '/healthz')).status, 200, 'health needs no key');
  const authorization = `Bearer ${key}`;
  const ok = record('the right key', await post(base, 'eval', body, { headers: { authorization } }));
  t.strictSame({ status: ok.status, body: ok.json }, { status: 200, body: { value: 2 } }, `the right key: ${describe(ok)}`);
  // Three requests a minute per key: the fourth of this key is refused.
  const statuses: number[] = [];
  let limited: Reply | null = null;
  for (let i = 0; i < 5 && limited === null; i++) {
    const reply = record(`request ${i + 2} of the key`, await send(base, '/v1/functions', { headers: { authorization } }));
    statuses.push(reply.status);
    if (reply.status === 429) limited = reply;
  }
  t.strictSame(statuses, [200, 200, 429], 'the 4th request of the minute is refused');
  if (limited !== null) {
    assertProblemReply(t, 'over the rate', limited, { status: 429, code: 'RATE_LIMITED', detail: [/limit of 3 requests a minute/] });
    t.ok(Number(limited.headers.get('retry-after')) >= 1, `429 has a Retry-After in seconds (got ${limited.headers.get('retry-after')})`);
  }
});

t.test('rate limits behind a proxy: with TRUST_PROXY each forwarded client has its own budget; without, they share the proxy\'s', async (t) => {
  const statuses = async (base: string): Promise<number[]> => {
    const out: number[] = [];
    for (const client of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.2']) {
      out.push((await send(base, '/v1/functions', { headers: { 'x-forwarded-for': client } })).status);
    }
    return out;
  };
  const trusting = await startServer(t, { RATE_LIMIT: '2', TRUST_PROXY: 'true' });
  t.strictSame(await statuses(trusting.base), [200, 200, 200, 200], 'two clients, two requests each: within each one\'s limit of 2');
  const plain = await startServer(t, { RATE_LIMIT: '2' });
  t.strictSame(await statuses(plain.base), [200, 200, 429, 429], 'without TRUST_PROXY the header is ignored: one address, one budget');
  t.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), ConfigError, 'a TRUST_PROXY that is neither a flag, a count nor addresses stops the start');
  t.match(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }), { trustProxy: ['10.0.0.0/8', '192.168.1.1'] }, 'proxy addresses');
  t.match(loadConfig({ TRUST_PROXY: '1' }), { trustProxy: 1 }, 'a number of hops');
});

/** Slow requests, more than a worker and its queue hold: some are refused with 503. */
async function overload(t: Test, env: Record<string, string>, parallel: number): Promise<void> {
  const { base } = await startServer(t, { WORKERS: '1', TIMEOUT_MS: '500', MAX_ITERATIONS: String(Number.MAX_SAFE_INTEGER), ...env });
  const warm = await post(base, 'eval', { program: '1 + 1', at: {} });
  t.equal(warm.status, 200, 'a first request warms the worker');
  const runaway = { program: 'while 1\nend', at: {} };
  const all = await Promise.all(range(parallel).map(async (i) => record(`overload ${JSON.stringify(env)} #${i}`, await post(base, 'eval', runaway))));
  const refused = all.filter((r) => r.status === 503);
  t.ok(refused.length >= 1, `at least one of ${parallel} is refused with 503 (statuses: ${all.map((r) => r.status).join(', ')})`);
  for (const r of refused) {
    assertProblemReply(t, '503', r, { status: 503, code: 'OVERLOADED', detail: [/capacity/] });
    t.ok(Number(r.headers.get('retry-after')) >= 1, `503 OVERLOADED has a Retry-After in seconds (got ${r.headers.get('retry-after')})`);
  }
  for (const r of all.filter((r) => r.status !== 503)) assertProblemReply(t, 'an accepted runaway', r, overLimit('time', 'any', 'any', /time limit/));
  const after = await post(base, 'eval', { program: '2 * 3', at: {} });
  t.strictSame({ status: after.status, body: after.json }, { status: 200, body: { value: 6 } }, 'once the load is gone, requests are served again');
}

t.test('503 OVERLOADED: WORKERS 1, MAX_QUEUE 1, four slow requests at once', (t) => overload(t, { MAX_QUEUE: '1' }, 4));
t.test('503 OVERLOADED: WORKERS 1, MAX_QUEUE 0 (no waiting), three slow requests at once', (t) => overload(t, { MAX_QUEUE: '0' }, 3));

t.test('no response of this file was a 500', (t) => {
  t.ok(replies.length > 50, `${replies.length} replies checked`);
  for (const { label, reply } of replies) if (reply.status >= 500 && reply.status !== 503) t.fail(`${label}: ${describe(reply)}`);
  t.pass('none');
  t.end();
});
