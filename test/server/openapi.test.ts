/**
 * The OpenAPI document against the service (STYLE.md: one source of truth, and a test that fails
 * when they drift): openapi/openapi.json is what the app generates from its route schemas; it
 * validates as OpenAPI 3.1; it has exactly the app's routes; every example in it, sent to the
 * real server, gets the documented answer; and every response, examples and errors alike,
 * validates against the schema the document gives for it.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { describe, mediaType, send, startServer, type Reply } from './harness.js';
import { file as packageFile } from '../../scripts/paths.js';

type Json = Record<string, unknown>;

interface MediaType {
  schema?: unknown;
  examples?: Record<string, { summary?: string; value: unknown; 'x-abridged'?: boolean }>;
}
interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId?: string;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Every route of every app this file builds, as fastify registers it (before any plugin can
// hide it from the document).
const routesOf = new Map<FastifyInstance, { method: string; url: string }[]>();
subscribe('fastify.initialization', (message) => {
  const { fastify } = message as { fastify: FastifyInstance };
  const routes: { method: string; url: string }[] = [];
  routesOf.set(fastify, routes);
  fastify.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
});

const LIMITS = { BODY_LIMIT_BYTES: '65536', MAX_PROGRAM_LENGTH: '1000', MAX_ITERATIONS: '1000' };
const server = await startServer(t, LIMITS);
const document = server.app.swagger() as unknown as Document;
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, operation]) => ({ path, method, operation })),
);

/**
 * Numbers within 1e-12 relative, everything else equal; `abridged`: `got` may have more items
 * and fields, and a string shown ending in "…" need only begin `got`.
 */
function differences(got: unknown, expected: unknown, abridged: boolean, at = ''): string[] {
  if (abridged && typeof expected === 'string' && expected.endsWith('…') && typeof got === 'string') {
    return got.startsWith(expected.slice(0, -1)) ? [] : [`${at || '/'}: got ${JSON.stringify(got.slice(0, expected.length + 20))}…, expected it to begin ${JSON.stringify(expected)}`];
  }
  if (typeof expected === 'number' && typeof got === 'number') {
    return got === expected || Math.abs(got - expected) <= 1e-12 * Math.max(Math.abs(got), Math.abs(expected)) ? [] : [`${at || '/'}: got ${got}, expected ${expected}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(got)) return [`${at || '/'}: got ${JSON.stringify(got)}, expected an array`];
    if (abridged) {
      return expected.flatMap((item, i) => (got.some((g) => differences(g, item, true).length === 0) ? [] : [`${at}/${i}: ${JSON.stringify(item)} is not in the response`]));
    }
    if (got.length !== expected.length) return [`${at || '/'}: got ${got.length} items, expected ${expected.length}`];
    return expected.flatMap((item, i) => differences(got[i], item, false, `${at}/${i}`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return [`${at || '/'}: got ${JSON.stringify(got)}, expected an object`];
    const g = got as Json;
    const e = expected as Json;
    const extra = abridged ? [] : Object.keys(g).filter((k) => !(k in e)).map((k) => `${at}/${k}: not in the documented response`);
    return [...extra, ...Object.keys(e).flatMap((k) => (k in g ? differences(g[k], e[k], abridged, `${at}/${k}`) : [`${at}/${k}: missing`]))];
  }
  return Object.is(got, expected) ? [] : [`${at || '/'}: got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`];
}

// Schemas of the document as JSON Schema 2020-12 (OpenAPI 3.1's dialect), strictly: an unknown
// keyword is an error. The shared component schemas are added under ids of their own.
const COMPONENT = 'urn:adjoint:components:';
const relink = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(relink);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', COMPONENT) : relink(v)]),
  );
};
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
// x-error is adjoint's annotation, a specification extension: how the service words a refusal.
ajv.addKeyword({ keyword: 'x-error', schemaType: 'object' });
for (const [name, schema] of Object.entries(document.components.schemas)) ajv.addSchema({ ...(relink(schema) as Json), $id: `${COMPONENT}${name}` });
const compiled = new Map<unknown, ValidateFunction>();
function schemaValidator(schema: unknown): ValidateFunction {
  let v = compiled.get(schema);
  if (v === undefined) {
    v = ajv.compile(relink(schema) as Json);
    compiled.set(schema, v);
  }
  return v;
}
function assertValid(t: Test, schema: unknown, value: unknown, label: string): void {
  const validate = schemaValidator(schema);
  const ok = validate(value) as boolean;
  t.ok(ok, `${label} is valid against its documented schema`, ok ? {} : { errors: validate.errors, value: JSON.stringify(value).slice(0, 400) });
}

/** The documented response of `path` and `method` for `status`: the code, else its range (4XX), else default. */
function documentedResponse(path: string, method: string, status: number): Response | undefined {
  const responses = document.paths[path]?.[method]?.responses ?? {};
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

/** A reply validates against the schema of its status and media type in the document. */
function assertDocumented(t: Test, label: string, path: string, method: string, reply: Reply): void {
  const response = documentedResponse(path, method, reply.status);
  if (response === undefined) {
    t.fail(`${label}: ${method.toUpperCase()} ${path} documents no ${reply.status} response (${describe(reply)})`);
    return;
  }
  const media = mediaType(reply);
  const schema = response.content?.[media]?.schema;
  t.ok(schema !== undefined, `${label}: ${reply.status} ${media} is documented for ${method.toUpperCase()} ${path}`, { documented: Object.keys(response.content ?? {}) });
  if (schema !== undefined) assertValid(t, schema, media.endsWith('json') ? reply.json : reply.text, `${label}: the ${reply.status} body`);
  for (const header of Object.keys(response.headers ?? {})) t.ok(reply.headers.has(header), `${label}: the documented header ${header} is sent`);
}

t.test('openapi/openapi.json is what the app generates', async (t) => {
  const generated = `${JSON.stringify(document, null, 2)}\n`;
  let file: string;
  try {
    file = readFileSync(packageFile('openapi/openapi.json'), 'utf8');
  } catch {
    t.fail('openapi/openapi.json is missing: run `npm run openapi`');
    return;
  }
  const advice = 'openapi/openapi.json has drifted from the route schemas in src/server: run `npm run openapi` and commit it';
  if (t.strictSame(JSON.parse(file), JSON.parse(generated), advice)) {
    t.ok(file === generated, `${advice} (the file is not formatted as the script writes it)`);
  }
});

t.test('the document is valid OpenAPI 3.1', async (t) => {
  t.equal(document.openapi, '3.1.0');
  const openapi = new Validator();
  const result = await openapi.validate(structuredClone(document) as unknown as Json);
  t.ok(result.valid, 'validates against the OpenAPI 3.1 schema', { errors: result.errors });
  t.equal(openapi.version, '3.1');

  // Every $ref points into the document, and every schema in it compiles as JSON Schema 2020-12.
  const refs: string[] = [];
  const schemas: { at: string; schema: unknown }[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${at}/${i}`));
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') refs.push(v);
      if (k === 'schema') schemas.push({ at: `${at}/schema`, schema: v });
      // An example's value is data, not document.
      if (k !== 'examples' && k !== 'example') walk(v, `${at}/${k}`);
    }
  };
  walk(document, '#');
  for (const ref of new Set(refs)) {
    const name = ref.startsWith('#/components/schemas/') ? ref.slice('#/components/schemas/'.length) : null;
    t.ok(name !== null && name in document.components.schemas, `${ref} resolves`);
  }
  t.ok(schemas.length > 0);
  for (const { at, schema } of schemas) {
    t.doesNotThrow(() => schemaValidator(schema), `${at} is a valid JSON Schema 2020-12 (strict)`);
  }
});

t.test('the document has exactly the routes of the app', async (t) => {
  const registered = (routesOf.get(server.app) ?? [])
    // HEAD routes are fastify's own for each GET; OPTIONS * answers CORS preflights.
    .filter(({ method, url }) => method !== 'HEAD' && !(method === 'OPTIONS' && url === '*'))
    // The playground (/) and the widget's files are pages and scripts, not API routes (SPEC.md section 9).
    .filter(({ url }) => url !== '/openapi.json' && url !== '/docs' && !url.startsWith('/docs/') && url !== '/' && !url.startsWith('/widget/'))
    .map(({ method, url }) => `${method} ${url.replace(/:(\w+)/g, '{$1}')}`);
  t.ok(registered.length > 0, 'the routes were seen');
  const documented = operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`);
  t.strictSame([...new Set(registered)].sort(), [...documented].sort(), 'every route is documented, and every documented route exists');

  for (const { path, method, operation } of operations) {
    const name = `${method.toUpperCase()} ${path}`;
    t.ok(operation.operationId !== undefined, `${name} has an operationId`);
    for (const [status, response] of Object.entries(operation.responses)) {
      if (!/^[45]/.test(status)) continue;
      t.strictSame(Object.keys(response.content ?? {}), ['application/problem+json'], `${name} ${status} is application/problem+json`);
      t.strictSame(response.content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' }, `${name} ${status} is a Problem`);
    }
    // Every route that answers JSON shows at least one example of a 200.
    const ok = operation.responses['200']?.content?.['application/json'];
    if (ok !== undefined) t.ok(Object.keys(ok.examples ?? {}).length > 0, `${name} has an example of its 200 response`);
    if (operation.requestBody !== undefined) {
      t.strictSame(Object.keys(operation.requestBody.content), ['application/json'], `${name} takes JSON`);
      t.ok(Object.keys(operation.requestBody.content['application/json'].examples ?? {}).length > 0, `${name} has an example request`);
    }
  }
});

interface Exchange {
  label: string;
  path: string;
  method: string;
  request: unknown;
  status: number;
  media: string;
  schema: unknown;
  response: unknown;
  abridged: boolean;
}

/** Every example of the document: a request body (or a GET) with the response of the same name. */
function exchanges(t: Test): Exchange[] {
  const found: Exchange[] = [];
  for (const { path, method, operation } of operations) {
    const responses = Object.entries(operation.responses).flatMap(([status, response]) =>
      Object.entries(response.content ?? {}).flatMap(([media, content]) =>
        Object.entries(content.examples ?? {}).map(([name, example]) => ({ name, status: Number(status), media, schema: content.schema, example })),
      ),
    );
    const requests = operation.requestBody?.content['application/json']?.examples ?? {};
    const requestSchema = operation.requestBody?.content['application/json']?.schema;
    for (const [name, example] of Object.entries(requests)) {
      const label = `${method.toUpperCase()} ${path} example "${name}"`;
      const answers = responses.filter((r) => r.name === name);
      t.equal(answers.length, 1, `${label} has one documented response`);
      if (answers.length !== 1) continue;
      const [r] = answers;
      // A request answered with an error may be one the schema refuses; any other must be valid.
      if (r.status < 400) assertValid(t, requestSchema, example.value, `${label}: the request`);
      found.push({ label, path, method, request: example.value, status: r.status, media: r.media, schema: r.schema, response: r.example.value, abridged: r.example['x-abridged'] === true });
    }
    for (const r of responses) {
      const label = `${method.toUpperCase()} ${path} example "${r.name}"`;
      if (operation.requestBody !== undefined) {
        t.ok(r.name in requests, `${label}: the response has a request of the same name`);
        continue;
      }
      found.push({ label, path, method, request: undefined, status: r.status, media: r.media, schema: r.schema, response: r.example.value, abridged: r.example['x-abridged'] === true });
    }
  }
  return found;
}

t.test('every example, sent to the server, gets the documented answer', async (t) => {
  const all = exchanges(t);
  t.ok(all.length >= operations.length, `${all.length} examples`);
  for (const x of all) {
    assertValid(t, x.schema, x.response, `${x.label}: the documented response`);
    const reply = await send(server.base, x.path, { method: x.method.toUpperCase(), body: x.request });
    t.equal(reply.status, x.status, `${x.label}: status ${x.status}`, { got: describe(reply) });
    t.equal(mediaType(reply), x.media, `${x.label}: ${x.media}`);
    const diffs = differences(reply.json, x.response, x.abridged);
    t.strictSame(diffs, [], `${x.label}: the body is the documented one${x.abridged ? ' (abridged)' : ''}`);
    assertDocumented(t, x.label, x.path, x.method, reply);
  }
});

t.test('error responses validate against their documented schemas', async (t) => {
  const { base } = server;
  const cases: { label: string; path: string; method: string; reply: Promise<Reply>; status: number }[] = [
    { label: 'not JSON', path: '/v1/eval', method: 'post', reply: send(base, '/v1/eval', { body: '{"program": ' }), status: 400 },
    { label: 'an empty body', path: '/v1/grad', method: 'post', reply: send(base, '/v1/grad', { body: '' }), status: 400 },
    { label: 'not application/json', path: '/v1/eval', method: 'post', reply: send(base, '/v1/eval', { body: 'x', headers: { 'content-type': 'text/plain' } }), status: 400 },
    { label: 'a wrong type', path: '/v1/jvp', method: 'post', reply: send(base, '/v1/jvp', { body: { program: 42 } }), status: 400 },
    { label: 'a program over the limit', path: '/v1/grad', method: 'post', reply: send(base, '/v1/grad', { body: { program: `x${' + x'.repeat(300)}`, at: { x: 1 } } }), status: 413 },
    { label: 'a body over the limit', path: '/v1/eval', method: 'post', reply: send(base, '/v1/eval', { body: { program: 'x', at: { x: new Array(40000).fill(1) } } }), status: 413 },
    { label: 'an unknown name', path: '/v1/jacobian', method: 'post', reply: send(base, '/v1/jacobian', { body: { program: 'x + z', at: { x: 1 } } }), status: 422 },
    { label: 'an iteration limit', path: '/v1/eval', method: 'post', reply: send(base, '/v1/eval', { body: { program: 'z = 0\nfor i = 1:100000\n  z = z + i\nend\nz' } }), status: 422 },
    { label: 'a bad trace format', path: '/v1/trace', method: 'post', reply: send(base, '/v1/trace', { body: { program: 'x', at: { x: 1 }, options: { format: 'png' } } }), status: 400 },
    { label: 'derivative of two names', path: '/v1/derivative', method: 'post', reply: send(base, '/v1/derivative', { body: { program: 'x * y', wrt: ['x', 'y'] } }), status: 400 },
    { label: 'a batch that is not a list', path: '/v1/batch', method: 'post', reply: send(base, '/v1/batch', { body: { requests: 3 } }), status: 400 },
  ];
  for (const c of cases) {
    const reply = await c.reply;
    t.equal(reply.status, c.status, `${c.label}: ${c.status}`, { got: describe(reply) });
    assertDocumented(t, c.label, c.path, c.method, reply);
  }

  // No route: not in the document, but a Problem all the same.
  const missing = await send(base, '/v1/nothing', { body: { program: 'x' } });
  t.equal(missing.status, 404);
  t.equal(mediaType(missing), 'application/problem+json');
  assertValid(t, { $ref: '#/components/schemas/Problem' }, missing.json, 'a 404');

  // Keys and the rate limit, on a server that has them.
  const guarded = await startServer(t, { API_KEYS: 'key-of-the-course', RATE_LIMIT: '2' });
  const key = { authorization: 'Bearer key-of-the-course' };
  const body = { program: 'x^2', at: { x: 3 } };
  const guardedCases: { label: string; path: string; method: string; send: () => Promise<Reply>; status: number }[] = [
    { label: 'no key', path: '/v1/grad', method: 'post', send: () => send(guarded.base, '/v1/grad', { body }), status: 401 },
    { label: 'a wrong key', path: '/v1/grad', method: 'post', send: () => send(guarded.base, '/v1/grad', { body, headers: { authorization: 'Bearer not-the-key' } }), status: 403 },
    { label: 'no key for the catalogue', path: '/v1/functions', method: 'get', send: () => send(guarded.base, '/v1/functions'), status: 401 },
    { label: 'with the key', path: '/v1/grad', method: 'post', send: () => send(guarded.base, '/v1/grad', { body, headers: key }), status: 200 },
    { label: 'with the key again', path: '/v1/grad', method: 'post', send: () => send(guarded.base, '/v1/grad', { body, headers: key }), status: 200 },
    { label: 'over the rate', path: '/v1/grad', method: 'post', send: () => send(guarded.base, '/v1/grad', { body, headers: key }), status: 429 },
  ];
  for (const c of guardedCases) {
    const reply = await c.send();
    t.equal(reply.status, c.status, `${c.label}: ${c.status}`, { got: describe(reply) });
    assertDocumented(t, c.label, c.path, c.method, reply);
  }

  // Draining: readiness answers 503.
  guarded.app.accepting = false;
  const draining = await send(guarded.base, '/readyz');
  t.equal(draining.status, 503);
  assertDocumented(t, 'draining', '/readyz', 'get', draining);
  guarded.app.accepting = true;

  // The metrics are Prometheus text, as documented.
  const metrics = await send(base, '/metrics');
  t.equal(metrics.status, 200);
  assertDocumented(t, 'metrics', '/metrics', 'get', metrics);
});
