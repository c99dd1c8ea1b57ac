/**
 * What the OpenAPI document says beyond the endpoints' own schemas (src/compute/schemas/): the
 * problems each route may answer, who may call (the API key), the catalogue's, health and
 * WebSocket routes, and the transform that puts every route's examples into its operation.
 * openapi/openapi.json is generated from these and the endpoints' schemas (`npm run openapi`;
 * test/server/openapi.test.ts fails when the file drifts, and sends every example to the server).
 */
import type { FastifySchema } from 'fastify';
import type { EndpointSchema, Examples } from '../compute/schemas/index.js';

export { sharedSchemas } from '../compute/schemas/index.js';

declare module 'fastify' {
  interface FastifySchema {
    /** Example exchanges by name, put into the OpenAPI document by `documentExamples`. */
    examples?: Examples;
  }
}

/** A response body: exactly these fields. */
function response(description: string, properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', description, required, additionalProperties: false, properties };
}

/** Problems as SPEC.md section 6 has them: application/problem+json, the Problem schema. */
function problem(description: string, headers?: Record<string, unknown>): Record<string, unknown> {
  return { description, ...(headers === undefined ? {} : { headers }), content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } };
}

const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds to wait before trying again.' } };

/** The errors of a route behind the API key and the rate limit (the catalogue and compute routes). */
const guardedProblems = {
  401: problem('UNAUTHORIZED: the server requires an API key (API_KEYS) and the request sent none.'),
  403: problem('FORBIDDEN: the API key sent is not one the server accepts.'),
  429: problem(
    'RATE_LIMITED: over RATE_LIMIT requests a minute for this verified key or client address (WebSocket messages count too), ' +
      'or past AUTH_FAILURE_LIMIT wrong keys a minute from this address; Retry-After: the seconds until the minute\'s window ends.',
    retryAfter,
  ),
  500: problem('INTERNAL: a bug in the server, logged as one; nothing a client sends should cause it.'),
};

/** The errors of a compute route. */
const computeProblems = {
  400: problem('INVALID_REQUEST: the body is not JSON, or not of the schema; path points at the offending field.'),
  ...guardedProblems,
  413: problem(
    'TOO_LARGE: over the limits: the body (BODY_LIMIT_BYTES, decoded; nested past MAX_JSON_DEPTH; an object of more than MAX_INPUTS members), ' +
      'the program, a tensor, the inputs (MAX_INPUTS) or an answer\'s trace (MAX_TRACE_ENTRIES).',
  ),
  415: problem('INVALID_REQUEST with status 415: a content-encoding other than gzip, deflate or br (bodies so encoded are decoded).'),
  422: problem(
    'The program cannot be evaluated as asked: PARSE_ERROR, UNKNOWN_NAME, SHAPE_MISMATCH, NOT_SCALAR, NOT_DIFFERENTIABLE, INVALID_ARGUMENT or ' +
      'LIMIT_EXCEEDED (limit names the limit: operations, memory, time, recursion depth). line and column locate an error in the program, path one in the body.',
  ),
  503: problem('OVERLOADED: the worker queue is full; try again shortly. SHUTTING_DOWN: the server is draining (SIGTERM); send it again (to another instance).', retryAfter),
};

/** Who may call: an API key as a bearer token, when the server has keys (see components.securitySchemes). */
export const apiKeySecurity: ReadonlyArray<Record<string, readonly string[]>> = [{}, { apiKey: [] }];

export const securitySchemes = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key, sent as "Authorization: Bearer <key>". Needed when the server is started with API_KEYS (unless API_KEYS_REQUIRED=false makes keys ' +
      'optional); a key that is sent must be valid. The operations routes (/healthz, /readyz, /metrics) need none.',
  },
} as const;

/**
 * Every response of a compute route: the result as JSON or, with `Accept: application/x-ndjson`,
 * as a stream of JSON lines (SPEC.md section 4); and the problems.
 */
export function computeResponses(endpoint: EndpointSchema): Record<string, unknown> {
  return {
    200: {
      description: String(endpoint.response.description),
      content: {
        'application/json': { schema: endpoint.response },
        'application/x-ndjson': {
          schema: {
            type: 'string',
            description:
              'With "Accept: application/x-ndjson": one JSON object a line as work progresses ({"type": "item", "index": i, ...} for each item of a batch, ' +
              '{"type": "samples", "from", "count", "done", "n", "mean", "stderr", "samples"?} for each chunk of a sample, in order, with the running estimate), ' +
              'then {"type": "result", ...the application/json body} or {"type": "error", "error": problem}.',
          },
        },
      },
    },
    ...computeProblems,
  };
}

export const functionsResponseSchema = {
  type: 'object',
  description: 'The catalogue: every function with its arity, and the named constants.',
  required: ['functions', 'constants'],
  additionalProperties: false,
  properties: {
    functions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'minArgs', 'maxArgs', 'description', 'differentiable'],
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          minArgs: { type: 'integer' },
          maxArgs: { type: ['integer', 'null'], description: 'null: any number.' },
          description: { type: 'string' },
          differentiable: { type: 'boolean' },
        },
      },
    },
    constants: { type: 'object', additionalProperties: { $ref: 'Scalar#' } },
  },
} as const;

export const functionsResponses = { 200: functionsResponseSchema, ...guardedProblems };

export const distributionsResponseSchema = {
  type: 'object',
  description: 'Every distribution family a program may make (SPEC.md section 5), with PyTorch\'s parameterisations.',
  required: ['distributions'],
  additionalProperties: false,
  properties: {
    distributions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'description', 'parameters', 'support', 'rsample', 'kl'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', description: 'The function that makes one, as normal(mu, sigma).' },
          description: { type: 'string' },
          parameters: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'constraint'],
              additionalProperties: false,
              properties: {
                name: { type: 'string' },
                constraint: { type: 'string', description: 'What each element must be; other values get 422 INVALID_ARGUMENT.' },
                vector: { type: 'boolean', description: 'The parameter is a vector (a matrix for scale_tril) per distribution.' },
                default: { type: 'number', description: 'Its value when left out.' },
              },
            },
          },
          support: { type: 'string', description: 'Where the draws lie; log_prob of a value outside is 422 INVALID_ARGUMENT.' },
          rsample: {
            type: 'string',
            enum: ['pathwise', 'implicit', 'relaxed', 'none'],
            description:
              'How rsample\'s gradient is obtained: pathwise (a differentiable transform of standard noise), implicit (implicit reparameterisation through the CDF), ' +
              'relaxed (a continuous relaxation of a discrete draw), or none (no rsample: use sample and the score-function estimator).',
          },
          kl: { type: 'array', items: { type: 'string' }, description: 'The families q for which kl(p, q) has a closed form.' },
        },
      },
    },
  },
} as const;

export const distributionsResponses = { 200: distributionsResponseSchema, ...guardedProblems };

export const distributionsExamples: Examples = {
  catalogue: {
    summary: 'The families (abridged)',
    description: 'Abridged: the response lists every family.',
    abridged: true,
    response: {
      distributions: [
        {
          name: 'normal',
          description: 'normal (Gaussian) with mean mu and standard deviation sigma',
          parameters: [
            { name: 'mu', constraint: 'finite' },
            { name: 'sigma', constraint: 'positive' },
          ],
          support: 'the real line',
          rsample: 'pathwise',
          kl: ['normal'],
        },
      ],
    },
  },
};

export const functionsExamples: Examples = {
  catalogue: {
    summary: 'The catalogue (abridged)',
    description: 'Abridged: the response lists every function and constant.',
    abridged: true,
    response: {
      functions: [
        { name: 'sin', minArgs: 1, maxArgs: 1, description: 'sine (element-wise)', differentiable: true },
        { name: 'multiply', minArgs: 2, maxArgs: null, description: 'x * y: the matrix product of matrices, the dot product of vectors, else element-wise', differentiable: true },
        { name: 'sum', minArgs: 1, maxArgs: null, description: 'sum of all elements, or along a dimension: sum(A, 1) sums each column', differentiable: true },
      ],
      constants: { pi: 3.141592653589793, e: 2.718281828459045, Infinity: 'Infinity', NaN: 'NaN' },
    },
  },
};

export const healthResponseSchema = response('Alive.', { status: { type: 'string', enum: ['ok'] } }, ['status']);

export const healthExamples: Examples = { alive: { summary: 'Alive', response: { status: 'ok' } } };

export const readyResponses = {
  200: response('Ready to compute.', { status: { type: 'string', enum: ['ready'] }, workers: { type: 'integer', minimum: 1, description: 'Worker threads (WORKERS).' } }, [
    'status',
    'workers',
  ]),
  503: problem('SHUTTING_DOWN: the server is draining for shutdown (SIGTERM) and takes no new work; OVERLOADED: no worker thread is running.', retryAfter),
};

export const readyExamples: Examples = { ready: { summary: 'Ready, with WORKERS=1', response: { status: 'ready', workers: 1 } } };

export const metricsResponses = {
  200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } },
};

type Json = Record<string, unknown>;

/**
 * GET /v1/ws: @fastify/websocket hides WebSocket routes from the document, and OpenAPI 3.1 can
 * only describe the upgrade; the messages are SPEC.md section 4's.
 */
const webSocketResponses = {
  101: {
    description:
      'Switching Protocols: the connection is a WebSocket carrying JSON messages. A client message is {"id": "any string", "endpoint": "grad", ...body} ' +
      'or {"id", "type": "cancel"}; the answers carry the same id: stream messages, then exactly one {"id", "type": "result", ...the endpoint\'s response} ' +
      'or {"id", "type": "error", "error": problem}. Closing the socket cancels everything it started. Each request message counts against RATE_LIMIT. ' +
      'New requests get OVERLOADED while answers wait unread; past WS_MAX_BUFFERED_BYTES unread the socket is closed with 1013, a message over twice ' +
      'BODY_LIMIT_BYTES closes it with 1009, and a draining server closes it with 1001 after its last answer.',
    type: 'null',
  },
  ...guardedProblems,
  403: problem('FORBIDDEN: the API key sent is not one the server accepts, or the page\'s Origin is not in CORS_ORIGINS.'),
  503: problem('OVERLOADED: MAX_WS_CONNECTIONS sockets are open, in all or for this client. SHUTTING_DOWN: the server is draining.', retryAfter),
};

/** @fastify/swagger's `transform`: WebSocket routes shown, and every route's examples in its operation. */
export function openapiTransform({ schema, url, route }: { schema: FastifySchema; url: string; route: object }): { schema: FastifySchema; url: string } {
  if ((route as { websocket?: boolean }).websocket === true) {
    return { url, schema: { operationId: 'ws', ...schema, hide: false, security: apiKeySecurity, response: webSocketResponses } };
  }
  return documentExamples({ schema, url });
}

/**
 * @fastify/swagger's `transform`: a route's `examples` into its OpenAPI operation, each request
 * into the request body's `examples` and each response into the `examples` of the response
 * of its status (of the first media type), under the same name.
 */
function documentExamples({ schema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  // Routes without a schema (those of the docs page) come with none.
  const examples = (schema as FastifySchema | undefined)?.examples;
  if (examples === undefined) return { schema, url };
  const { examples: _examples, ...rest } = schema;
  const requests: Json = {};
  const responses: Record<string, Json> = { ...(rest.response as Record<string, Json>) };
  for (const [name, example] of Object.entries(examples)) {
    const shown = {
      summary: example.summary,
      ...(example.description === undefined ? {} : { description: example.description }),
      ...(example.abridged === true ? { 'x-abridged': true } : {}),
    };
    if (example.request !== undefined) {
      if (rest.body === undefined) throw new Error(`${url}: example "${name}" has a request body, but the route takes none`);
      requests[name] = { ...shown, value: example.request };
    }
    const status = String(example.status ?? 200);
    const documented = responses[status];
    if (documented === undefined) throw new Error(`${url}: example "${name}" answers ${status}, a status the route does not document`);
    responses[status] = withExample(documented, name, { ...shown, value: example.response });
  }
  const body = rest.body === undefined || Object.keys(requests).length === 0 ? rest.body : { ...(rest.body as Json), 'x-examples': requests };
  return { url, schema: { ...rest, body, response: responses } };
}

function withExample(response: Json, name: string, example: Json): Json {
  const content = response.content as Record<string, Json> | undefined;
  // A plain schema: @fastify/swagger moves its x-examples to the media type's examples.
  if (content === undefined) return { ...response, 'x-examples': { ...(response['x-examples'] as Json | undefined), [name]: example } };
  const [media] = Object.keys(content);
  return { ...response, content: { ...content, [media]: { ...content[media], examples: { ...(content[media].examples as Json | undefined), [name]: example } } } };
}
