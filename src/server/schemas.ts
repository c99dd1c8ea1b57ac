/**
 * JSON Schemas of the API: request bodies and responses of every route. They are the one source
 * of truth: fastify validates requests with them, and openapi/openapi.json is generated from
 * them with their examples (`npm run openapi`; test/server/openapi.test.ts fails when the file
 * drifts, and sends every example to the server).
 */
import type { FastifySchema } from 'fastify';

/** A number, or a non-finite number as a string. */
export const scalarSchema = {
  $id: 'Scalar',
  description: 'A number; non-finite numbers travel as "NaN", "Infinity" or "-Infinity".',
  anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }],
} as const;

export const tensorSchema = {
  $id: 'Tensor',
  description: 'A scalar, a rectangular nested array of numbers, or {"shape", "data"} (row-major).',
  anyOf: [
    { $ref: 'Scalar#' },
    { type: 'array' },
    {
      type: 'object',
      required: ['shape', 'data'],
      additionalProperties: false,
      properties: { shape: { type: 'array', items: { type: 'integer', minimum: 0 } }, data: { type: 'array', items: { $ref: 'Scalar#' } } },
    },
  ],
} as const;

export const graphSchema = {
  $id: 'Graph',
  description: 'An expression graph: nodes in any order; names not defined by a node are inputs.',
  type: 'object',
  required: ['nodes', 'output'],
  additionalProperties: false,
  properties: {
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'op'],
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          op: { type: 'string', description: 'A catalogue function (GET /v1/functions) or "const".' },
          args: { type: 'array', items: { type: 'string' } },
          value: { description: 'The value of a const node: a tensor, or a string option.' },
        },
      },
    },
    output: { type: 'string' },
  },
} as const;

export const problemSchema = {
  $id: 'Problem',
  description: 'An RFC 9457 problem (application/problem+json).',
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: {
      type: 'string',
      enum: [
        'INVALID_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'TOO_LARGE', 'PARSE_ERROR', 'UNKNOWN_NAME', 'SHAPE_MISMATCH', 'NOT_SCALAR',
        'NOT_DIFFERENTIABLE', 'INVALID_ARGUMENT', 'LIMIT_EXCEEDED', 'RATE_LIMITED', 'OVERLOADED', 'INTERNAL',
      ],
    },
    line: { type: 'integer', description: 'For errors located in a program: its line (1-based).' },
    column: { type: 'integer', description: 'For errors located in a program: its column (1-based).' },
    path: { type: 'string', description: 'For errors located in the request body: a JSON pointer.' },
    limit: { type: 'string', description: 'For LIMIT_EXCEEDED: the limit.' },
  },
} as const;

export const sharedSchemas = [scalarSchema, tensorSchema, graphSchema, problemSchema];

const tensorMap = { type: 'object', additionalProperties: { $ref: 'Tensor#' } } as const;

/** The fields every compute request takes (SPEC.md section 3). */
const common = {
  program: { type: 'string', description: 'A tensor program in mathjs syntax. Send exactly one of program or graph.' },
  graph: { $ref: 'Graph#' },
  at: { ...tensorMap, description: 'Input values by name.' },
  wrt: { type: 'array', items: { type: 'string' }, description: 'Inputs to differentiate with respect to; default: every input in at.' },
  output: { type: 'string', description: 'The variable that is the result (programs only); default: the last statement.' },
  seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Seed for every random draw (rand, randn, rsample, sample): the same request and seed give the same numbers. Default: a fresh seed, reported in the response.' },
} as const;

function options(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      layout: { type: 'string', enum: ['nested', 'flat'], description: 'Tensors in the response as nested arrays (default) or {"shape", "data"}.' },
      timeoutMs: { type: 'number', exclusiveMinimum: 0, description: 'A time limit lower than the server\'s.' },
      ...extra,
    },
  };
}

const mode = { type: 'string', enum: ['reverse', 'forward'], description: 'Reverse mode (default) or forward mode: the same numbers.' };

function request(description: string, extra: Record<string, unknown> = {}, optionFields: Record<string, unknown> = {}) {
  return { type: 'object', description, additionalProperties: false, properties: { ...common, options: options(optionFields), ...extra } };
}

/** A response body: exactly these fields (a field the server adds must be documented here first). */
function response(description: string, properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', description, required, additionalProperties: false, properties };
}

const seed = {
  type: 'integer',
  description: 'The seed of the random draws: the request\'s, or the fresh one chosen for it. Present when the program drew random numbers.',
};

/** A compute endpoint's response: its fields, and the seed when the program drew. */
function computeResponse(description: string, properties: Record<string, unknown>, required: string[]) {
  return response(description, { ...properties, seed }, required);
}

/**
 * An exchange shown in the OpenAPI document: the request, and the response the server answers
 * with. test/server/openapi.test.ts sends every one to the server and expects exactly the
 * documented answer, so the numbers here are real (computed, then written in).
 */
export interface Example {
  readonly summary: string;
  readonly description?: string;
  /** The request body (POST routes); a GET route's example is the GET itself. */
  readonly request?: unknown;
  /** The status of the response: 200 unless the example shows an error. */
  readonly status?: number;
  readonly response: unknown;
  /** The response shown is cut short: the real one has more items and fields. */
  readonly abridged?: boolean;
}

export type Examples = Readonly<Record<string, Example>>;

declare module 'fastify' {
  interface FastifySchema {
    /** Example exchanges by name, put into the OpenAPI document by `documentExamples`. */
    examples?: Examples;
  }
}

export interface EndpointSchema {
  readonly summary: string;
  readonly body: Record<string, unknown>;
  readonly response: Record<string, unknown>;
  /** At least one, with a 200 answer. */
  readonly examples: Examples;
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
  429: problem('RATE_LIMITED: over the rate of RATE_LIMIT requests a minute for this key or client address.', retryAfter),
  500: problem('INTERNAL: a bug in the server, logged as one; nothing a client sends should cause it.'),
};

/** The errors of a compute route. */
const computeProblems = {
  400: problem('INVALID_REQUEST: the body is not JSON, or not of the schema; path points at the offending field.'),
  ...guardedProblems,
  413: problem('TOO_LARGE: the body, the program or a tensor is over the limits.'),
  422: problem(
    'The program cannot be evaluated as asked: PARSE_ERROR, UNKNOWN_NAME, SHAPE_MISMATCH, NOT_SCALAR, NOT_DIFFERENTIABLE, INVALID_ARGUMENT or ' +
      'LIMIT_EXCEEDED (limit names the limit: operations, memory, time, recursion depth). line and column locate an error in the program, path one in the body.',
  ),
  503: problem('OVERLOADED: the worker queue is full; try again shortly.', retryAfter),
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

const scalarInputs = { x: 0.5, y: 4.2 };
const matrixInputs = { A: [[1, 2], [3, 4]], x: [0.5, -1], b: [1, 1] };
const parseError = {
  type: '/problems/parse-error',
  title: 'The program does not parse',
  status: 422,
  detail: 'syntax error, unexpected end of expression: the statement ends too early',
  code: 'PARSE_ERROR',
  line: 1,
  column: 10,
};

/** An argument of a trace step: an input's name, an earlier step's id, or a constant. */
const traceArgument = {
  anyOf: [
    { type: 'string', description: 'An input or an earlier step.' },
    { type: 'object', required: ['const'], additionalProperties: false, properties: { const: { description: 'A constant: a tensor or a string.' } } },
  ],
};

const sampleBody = { value: { $ref: 'Tensor#' }, grad: tensorMap };
const meanAndGradient = (description: string) => ({ type: 'object', description, required: ['value', 'grad'], additionalProperties: false, properties: sampleBody });
const normalSquared = { program: 'z = rsample(normal(mu, sigma)); z^2', at: { mu: 0.5, sigma: 1.5 } };

/** `sample`: SPEC.md sections 3 and 5. */
const sampleSchema: EndpointSchema = {
  summary: 'Monte Carlo: the program run n times with independent draws, each with its gradient, and the estimated gradient of the expectation',
  body: request(
    'A program that draws (rsample, sample, rand, randn) and the number of runs. Run i draws from stream i of the seed, so results do not depend on how the runs are spread over workers.',
    {
      n: { type: 'integer', description: 'The number of runs, 1 to MAX_SAMPLES (10^7 by default).' },
      cotangent: { $ref: 'Tensor#' },
    },
    {
      samples: { type: 'boolean', description: 'List every run\'s value and gradient (default: true for n <= 1000; at most 100,000 runs are listed).' },
      estimator: {
        type: 'string',
        enum: ['reparam', 'score'],
        description: '"reparam" (default): differentiate through the draws. "score": the score-function (REINFORCE) estimator, ∇f + f ∇Σ log p(draws), for programs whose draws carry no gradient.',
      },
    },
  ),
  response: computeResponse(
    'The runs and the Monte Carlo estimates: mean is the average value and gradient (the estimate of E[f] and of ∇E[f]), stderr their standard errors (standard deviation / √n).',
    {
      n: { type: 'integer' },
      estimator: { type: 'string', enum: ['reparam', 'score'] },
      samples: { type: 'array', items: meanAndGradient('One run: its value and gradient.') },
      mean: meanAndGradient('The average value and gradient over the runs.'),
      stderr: meanAndGradient('The standard error of each average.'),
    },
    ['n', 'estimator', 'mean', 'stderr', 'seed'],
  ),
  examples: {
    reparam: {
      summary: 'The pathwise gradient of E[z^2], z ~ normal(mu, sigma): d/dmu = 2 mu, d/dsigma = 2 sigma',
      request: { ...normalSquared, n: 4, seed: 1 },
      response: {n:  4, estimator:  'reparam', samples:  [{value:  0.1380434916148203, grad:  {mu:  0.743084091108995, sigma:  -0.06363670821657127}}, {value:  0.2584689087152887, grad:  {mu:  -1.0167967519918397, sigma:  0.6835574622843315}}, {value:  0.44777003248152386, grad:  {mu:  -1.3383124186549624, sigma:  1.0431308495270193}}, {value:  1.2427634070213336, grad:  {mu:  -2.2295859768318724, sigma:  2.4002132016390694}}], mean:  {value:  0.5217614599582416, grad:  {mu:  -0.9604027640924199, sigma:  1.0158162013084622}}, stderr:  {value:  0.24864314887311192, grad:  {mu:  0.6230763384360449, sigma:  0.5158258425469824}}, seed:  1},
    },
    summary: {
      summary: '100,000 runs, summary only: the estimates are within a few standard errors of 2 mu = 1 and 2 sigma = 3',
      request: { ...normalSquared, n: 100000, seed: 1 },
      response: {n:  100000, estimator:  'reparam', mean:  {value:  2.511075821825692, grad:  {mu:  0.995882331738946, sigma:  3.0161403185212725}}, stderr:  {value:  0.011203406138930533, grad:  {mu:  0.009514521635245207, sigma:  0.013883412374877507}}, seed:  1},
    },
    score: {
      summary: 'The same runs with the score-function estimator: unbiased too, with a larger variance',
      request: { ...normalSquared, n: 4, seed: 1, options: { estimator: 'score', samples: false } },
      response: {n:  4, estimator:  'score', mean:  {value:  0.5217614599582416, grad:  {mu:  -0.31207679578842007, sigma:  -0.0428223975790499}}, stderr:  {value:  0.24864314887311192, grad:  {mu:  0.19865373215481058, sigma:  0.0584452361132143}}, seed:  1},
    },
    badN: {
      summary: 'n out of range',
      request: { ...normalSquared, n: 0 },
      status: 422,
      response: { type: '/problems/invalid-argument', title: 'Invalid argument', status: 422, detail: '"n" must be from 1 to 10000000, got 0', code: 'INVALID_ARGUMENT', path: '/n' },
    },
  },
};


export const computeSchemas: Record<string, EndpointSchema> = {
  eval: {
    summary: 'Evaluate a program or graph',
    body: request('A program or graph and its inputs.'),
    response: computeResponse('The value.', { value: { $ref: 'Tensor#' } }, ['value']),
    examples: {
      scalar: { summary: 'A scalar program', request: { program: 'x * y + sin(x)', at: scalarInputs }, response: { value: 2.579425538604203 } },
      matrix: { summary: 'A matrix-vector product', request: { program: 'A * x + b', at: matrixInputs }, response: { value: [-0.5, -1.5] } },
      flat: {
        summary: 'Tensors as {"shape", "data"}',
        request: { program: 'A * x + b', at: matrixInputs, options: { layout: 'flat' } },
        response: { value: { shape: [2], data: [-0.5, -1.5] } },
      },
      graph: {
        summary: 'An expression graph instead of a program',
        request: {
          graph: {
            nodes: [
              { id: 'p', op: 'multiply', args: ['x', 'y'] },
              { id: 's', op: 'sin', args: ['x'] },
              { id: 'f', op: 'add', args: ['p', 's'] },
            ],
            output: 'f',
          },
          at: scalarInputs,
        },
        response: { value: 2.579425538604203 },
      },
      parseError: { summary: 'A program that does not parse', request: { program: 'x * (y + ', at: { x: 1 } }, status: 422, response: parseError },
      unknownField: {
        summary: 'A field the endpoint does not take',
        request: { program: 'x', at: { x: 1 }, colour: 'red' },
        status: 400,
        response: { type: '/problems/invalid-request', title: 'Invalid request', status: 400, detail: 'the body has an unknown field "colour"', code: 'INVALID_REQUEST', path: '/colour' },
      },
    },
  },
  grad: {
    summary: 'Value and gradient (or a vector-Jacobian product)',
    body: request('A program or graph; a cotangent when the output is not a scalar.', { cotangent: { $ref: 'Tensor#' } }, { mode }),
    response: computeResponse('The value and the gradient with respect to each input, shaped like the input.', { value: { $ref: 'Tensor#' }, grad: tensorMap }, ['value', 'grad']),
    examples: {
      scalar: {
        summary: 'The gradient of a scalar program',
        request: { program: 'x * y + sin(x)', at: scalarInputs },
        response: { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } },
      },
      forward: {
        summary: 'The same gradient by forward mode',
        request: { program: 'x * y + sin(x)', at: scalarInputs, options: { mode: 'forward' } },
        response: { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } },
      },
      vjp: {
        summary: 'A vector-Jacobian product: the gradient of cotangent · output, with respect to x only',
        request: { program: 'W * x', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] }, wrt: ['x'], cotangent: [1, 0] },
        response: { value: [-1.5, -2.5], grad: { x: [1, 2] } },
      },
      notScalar: {
        summary: 'A vector output without a cotangent',
        request: { program: 'W * x', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] } },
        status: 422,
        response: {
          type: '/problems/not-scalar',
          title: 'Not a scalar',
          status: 422,
          detail: 'grad needs a scalar output, got shape [2]; send "cotangent", a tensor shaped like the output, for a vector-Jacobian product',
          code: 'NOT_SCALAR',
          path: '/cotangent',
        },
      },
    },
  },
  jvp: {
    summary: 'Jacobian-vector product by forward mode',
    body: request('A program or graph and a tangent for each input (missing: zero).', { tangents: tensorMap }),
    response: computeResponse('The value and its tangent.', { value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' } }, ['value', 'tangent']),
    examples: {
      elementwise: {
        summary: 'The directional derivative of an element-wise function',
        request: { program: 'x .* sin(x)', at: { x: [0, 1, 2] }, tangents: { x: [1, 1, 1] } },
        response: { value: [0, 0.8414709848078965, 1.8185948536513634], tangent: [0, 1.3817732906760363, 0.0770037537313969] },
      },
      shapeMismatch: {
        summary: 'A tangent shaped unlike its input',
        request: { program: 'x .* sin(x)', at: { x: [0, 1, 2] }, tangents: { x: [1, 1] } },
        status: 422,
        response: {
          type: '/problems/shape-mismatch',
          title: 'Shape mismatch',
          status: 422,
          detail: 'the tangent of "x" has shape [2], but "x" has shape [3]',
          code: 'SHAPE_MISMATCH',
          path: '/tangents/x',
        },
      },
    },
  },
  jacobian: {
    summary: 'Jacobians by reverse or forward mode',
    body: request('A program or graph.', {}, { mode }),
    response: computeResponse('The value and, for each input, the Jacobian of shape output ++ input.', { value: { $ref: 'Tensor#' }, jacobian: tensorMap }, ['value', 'jacobian']),
    examples: {
      vectorOutput: {
        summary: 'A vector output of two scalar inputs',
        request: { program: '[x * y, x + y, sin(x)]', at: scalarInputs },
        response: { value: [2.1, 4.7, 0.479425538604203], jacobian: { x: [4.2, 1, 0.8775825618903728], y: [0.5, 1, 0] } },
      },
      forward: {
        summary: 'An element-wise square by forward mode: a diagonal Jacobian',
        request: { program: 'x .^ 2', at: { x: [1, 2, 3] }, options: { mode: 'forward' } },
        response: { value: [1, 4, 9], jacobian: { x: [[2, 0, 0], [0, 4, 0], [0, 0, 6]] } },
      },
    },
  },
  hessian: {
    summary: 'Value, gradient and Hessian of a scalar output',
    body: request('A program or graph with a scalar output.'),
    response: computeResponse(
      'The value, the gradient and the Hessian blocks, hessian[a][b] of shape a ++ b.',
      { value: { $ref: 'Tensor#' }, grad: tensorMap, hessian: { type: 'object', additionalProperties: tensorMap } },
      ['value', 'grad', 'hessian'],
    ),
    examples: {
      scalars: {
        summary: 'Two scalar inputs: four blocks of one number',
        request: { program: 'x^2 * y + y^3', at: { x: 1, y: 2 } },
        response: { value: 10, grad: { x: 4, y: 13 }, hessian: { x: { x: 4, y: 2 }, y: { x: 2, y: 12 } } },
      },
      vector: {
        summary: 'A vector input: one 2x2 block',
        request: { program: 'sum(x .^ 3)', at: { x: [1, 2] } },
        response: { value: 9, grad: { x: [3, 12] }, hessian: { x: { x: [[6, 0], [0, 12]] } } },
      },
      notScalar: {
        summary: 'A vector output',
        request: { program: 'x .^ 2', at: { x: [1, 2] } },
        status: 422,
        response: {
          type: '/problems/not-scalar',
          title: 'Not a scalar',
          status: 422,
          detail: 'hessian needs a scalar output, got shape [2]; make the result a scalar (a sum, a norm, one element), or ask jacobian for a vector output',
          code: 'NOT_SCALAR',
        },
      },
    },
  },
  trace: {
    summary: 'The Wengert list of an evaluation, or the program as a graph',
    body: request(
      'A program or graph; tangents (default: a unit tangent along the first input) and a cotangent for a non-scalar output.',
      { tangents: tensorMap, cotangent: { $ref: 'Tensor#' } },
      { format: { type: 'string', enum: ['table', 'graph'], description: 'The Wengert list (default) or an expression graph.' } },
    ),
    response: {
      description: 'format "table": the inputs and the steps with their values, tangents and adjoints; format "graph": the steps as an expression graph.',
      anyOf: [
        response(
          'The Wengert list: an argument is an input\'s name, an earlier step\'s id or {"const": value}.',
          {
            value: { $ref: 'Tensor#' },
            inputs: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'value', 'tangent', 'adjoint'],
                additionalProperties: false,
                properties: { name: { type: 'string' }, value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' }, adjoint: { $ref: 'Tensor#' } },
              },
            },
            steps: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'op', 'args', 'value', 'tangent', 'adjoint'],
                additionalProperties: false,
                properties: {
                  id: { type: 'string' },
                  op: { type: 'string' },
                  args: { type: 'array', items: traceArgument },
                  value: { $ref: 'Tensor#' },
                  tangent: { $ref: 'Tensor#' },
                  adjoint: { $ref: 'Tensor#' },
                },
              },
            },
            output: traceArgument,
          },
          ['value', 'inputs', 'steps', 'output'],
        ),
        response('The expression graph: it evaluates to the same value.', { value: { $ref: 'Tensor#' }, graph: { $ref: 'Graph#' } }, ['value', 'graph']),
      ],
    },
    examples: {
      table: {
        summary: 'The Wengert list, with tangents along x and adjoints of the output',
        request: { program: 'x * y + sin(x)', at: scalarInputs },
        response: {
          value: 2.579425538604203,
          inputs: [
            { name: 'x', value: 0.5, tangent: 1, adjoint: 5.077582561890373 },
            { name: 'y', value: 4.2, tangent: 0, adjoint: 0.5 },
          ],
          steps: [
            { id: 'v1', op: 'multiply', args: ['x', 'y'], value: 2.1, tangent: 4.2, adjoint: 1 },
            { id: 'v2', op: 'sin', args: ['x'], value: 0.479425538604203, tangent: 0.8775825618903728, adjoint: 1 },
            { id: 'v3', op: 'add', args: ['v1', 'v2'], value: 2.579425538604203, tangent: 5.077582561890373, adjoint: 1 },
          ],
          output: 'v3',
        },
      },
      constant: {
        summary: 'A constant argument',
        request: { program: 'x * 2 + y', at: scalarInputs },
        response: {
          value: 5.2,
          inputs: [
            { name: 'x', value: 0.5, tangent: 1, adjoint: 2 },
            { name: 'y', value: 4.2, tangent: 0, adjoint: 1 },
          ],
          steps: [
            { id: 'v1', op: 'multiply', args: ['x', { const: 2 }], value: 1, tangent: 2, adjoint: 1 },
            { id: 'v2', op: 'add', args: ['v1', 'y'], value: 5.2, tangent: 2, adjoint: 1 },
          ],
          output: 'v2',
        },
      },
      graph: {
        summary: 'The same program as an expression graph',
        request: { program: 'x * 2 + y', at: scalarInputs, options: { format: 'graph' } },
        response: {
          value: 5.2,
          graph: {
            nodes: [
              { id: 'c1', op: 'const', value: 2 },
              { id: 'v1', op: 'multiply', args: ['x', 'c1'] },
              { id: 'v2', op: 'add', args: ['v1', 'y'] },
            ],
            output: 'v2',
          },
        },
      },
    },
  },
  sample: sampleSchema,
};

/** Endpoints whose bodies are not a program evaluated at a point. */
export const otherSchemas: Record<string, EndpointSchema> = {
  derivative: {
    summary: 'The symbolic derivative of one scalar expression (mathjs), simplified, and its TeX',
    body: {
      type: 'object',
      required: ['program', 'wrt'],
      additionalProperties: false,
      properties: {
        program: { type: 'string', description: 'One scalar expression, such as "x^2 * sin(x)".' },
        wrt: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1, description: 'The one name to differentiate with respect to.' },
      },
    },
    response: response('The derivative as an expression and as TeX.', { derivative: { type: 'string' }, tex: { type: 'string' } }, ['derivative', 'tex']),
    examples: {
      product: {
        summary: 'The product rule',
        request: { program: 'x^2 * sin(x)', wrt: ['x'] },
        response: { derivative: '2 * x * sin(x) + x ^ 2 * cos(x)', tex: '2\\cdot x\\cdot\\sin\\left( x\\right)+{ x}^{2}\\cdot\\cos\\left( x\\right)' },
      },
      notDifferentiable: {
        summary: 'A function mathjs cannot differentiate symbolically',
        request: { program: 'sigmoid(x)', wrt: ['x'] },
        status: 422,
        response: {
          type: '/problems/not-differentiable',
          title: 'Not differentiable',
          status: 422,
          detail: 'mathjs cannot differentiate `sigmoid` symbolically; the grad endpoint differentiates it numerically',
          code: 'NOT_DIFFERENTIABLE',
          path: '/program',
        },
      },
    },
  },
  batch: {
    summary: 'Several requests of any endpoint in one, answered in order',
    body: {
      type: 'object',
      required: ['requests'],
      additionalProperties: false,
      properties: {
        requests: {
          type: 'array',
          description: 'Each item is {"endpoint": name, ...the body of that endpoint}.',
          items: { type: 'object', required: ['endpoint'], properties: { endpoint: { type: 'string' } } },
        },
      },
    },
    response: response(
      'One result per item, in order: the endpoint\'s response, or {"error": problem}. One bad item never fails the others.',
      {
        results: {
          type: 'array',
          items: {
            type: 'object',
            description: 'The response of the item\'s endpoint, or {"error": problem} whose path, if any, points into the batch request.',
            properties: { error: { $ref: 'Problem#' } },
          },
        },
      },
      ['results'],
    ),
    examples: {
      mixed: {
        summary: 'A gradient and a program that does not parse',
        request: {
          requests: [
            { endpoint: 'grad', program: 'x * y + sin(x)', at: scalarInputs },
            { endpoint: 'eval', program: 'x * (y + ', at: { x: 1 } },
          ],
        },
        response: { results: [{ value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } }, { error: parseError }] },
      },
    },
  },
};

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
  503: problem('OVERLOADED: the server is draining for shutdown (SIGTERM) and takes no new work.'),
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
      'or {"id", "type": "error", "error": problem}. Closing the socket cancels everything it started.',
    type: 'null',
  },
  ...guardedProblems,
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
