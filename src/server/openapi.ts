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
        'NOT_DIFFERENTIABLE', 'INVALID_ARGUMENT', 'LIMIT_EXCEEDED', 'RATE_LIMITED', 'OVERLOADED', 'SHUTTING_DOWN', 'CANCELLED', 'INTERNAL',
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

/** An endpoint's options: the common ones and its own, and no other (compute's `endpointOptions` lists the same). */
function options(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
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

/** `trace` with format "dot" of x * y + sin(x): exactly what the server answers. */
const traceDotExample = [
  'digraph trace {',
  '  graph [rankdir=LR, fontname="Helvetica,Arial,sans-serif", nodesep=0.3, ranksep=0.4];',
  '  node [fontname="Helvetica,Arial,sans-serif", fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", margin="0.2,0.08"];',
  '  edge [fontname="Helvetica,Arial,sans-serif", color="#555555", arrowsize=0.7];',
  '  "x" [label="x (input)\\nvalue 0.5\\ntangent 1\\nadjoint 5.0776", shape=ellipse, fillcolor="#dbe9f6"];',
  '  "y" [label="y (input)\\nvalue 4.2\\ntangent 0\\nadjoint 0.5", shape=ellipse, fillcolor="#dbe9f6"];',
  '  "v1" [label="v1 = multiply(x, y)\\nvalue 2.1\\ntangent 4.2\\nadjoint 1"];',
  '  "v2" [label="v2 = sin(x)\\nvalue 0.47943\\ntangent 0.87758\\nadjoint 1"];',
  '  "v3" [label="v3 = add(v1, v2)\\nvalue 2.5794\\ntangent 5.0776\\nadjoint 1\\noutput", peripheries=2, penwidth=1.5, fillcolor="#fff3c4"];',
  '  "x" -> "v1";',
  '  "y" -> "v1";',
  '  "x" -> "v2";',
  '  "v1" -> "v3";',
  '  "v2" -> "v3";',
  '}',
  '',
].join('\n');

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
      warnings: {
        type: 'array',
        items: { type: 'string' },
        description: 'What the numbers may not say: a gradient asked through sample(...), which carries none, with no estimator chosen (its part of the gradient is missing).',
      },
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


/** An answer to grade: numbers (compared at at) or an expression of the inputs (compared at every point). */
const answerEntry = {
  anyOf: [{ type: 'string', description: 'An expression of the inputs in the program language (a student\'s symbolic answer), compared at every point.' }, { $ref: 'Tensor#' }],
};
const tensorOrNull = { anyOf: [{ $ref: 'Tensor#' }, { type: 'null' }] };
const wrongEntry = {
  expected: { ...tensorOrNull, description: 'The true value (for gradcheck: the central difference).' },
  got: { ...tensorOrNull, description: 'The answer\'s value (for gradcheck: the engine\'s gradient); null when the answer could not be evaluated.' },
  error: { anyOf: [{ $ref: 'Scalar#' }, { type: 'null' }], description: 'The largest |got - expected|; null when got is null or shaped wrong.' },
  reason: { type: 'string', description: 'Why the answer is wrong beyond its numbers: it does not parse, names something unknown, is too long, has the wrong shape, throws, runs over a limit.' },
};
const checkFailure = {
  type: 'object',
  required: ['point', 'quantity', 'expected', 'got', 'error'],
  additionalProperties: false,
  properties: {
    point: { ...tensorMap, description: 'Every input\'s value at the point.' },
    quantity: {
      type: 'string',
      description:
        '"value", "grad.<name>", a trace entry "<id>.<field>", or for gradcheck "grad.<name>[k]" or "jacobian.<name>[i, k]" (flat, 1-based, row-major positions).',
    },
    ...wrongEntry,
    code: { type: 'string', description: 'With reason: the problem code the answer met (PARSE_ERROR, UNKNOWN_NAME, SHAPE_MISMATCH, LIMIT_EXCEEDED, ...).' },
  },
};
const gradeSquare = { program: 'x^2 * sin(x)', random: { n: 50, ranges: { x: [-2, 2] } }, seed: 1 };

/** `check`: SPEC.md section 3, the autograder's endpoint. */
const checkSchema: EndpointSchema = {
  summary: 'Grade an answer against the program: a value or gradient (numbers or expressions), a Wengert list, or gradcheck',
  body: request(
    'A program and an answer to grade, or gradcheck: true. Numbers are compared at at; expressions at every point: at alone, each of points, or random.n points drawn with the seed. ' +
      'A number passes when |got - expected| <= atol + rtol |expected| (NaN matches NaN).',
    {
      answer: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        description: 'Any of value, grad and trace. Whatever is wrong with an answer is graded as wrong, with its reason; the request still succeeds.',
        properties: {
          value: answerEntry,
          grad: { type: 'object', minProperties: 1, additionalProperties: answerEntry, description: 'The gradient with respect to each input named (a vector-Jacobian product with cotangent).' },
          trace: {
            type: 'array',
            minItems: 1,
            description:
              'A student\'s Wengert list: entries {"id", "value"?, "tangent"?, "adjoint"?}, ids as POST /v1/trace names the steps (v1, v2, ...) and inputs by name, tangents along tangents ' +
              '(default: a unit tangent along the first input). Graded at at, in the order the table is filled: values and tangents forwards, then adjoints backwards.',
            items: {
              type: 'object',
              required: ['id'],
              additionalProperties: false,
              properties: { id: { type: 'string' }, value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' }, adjoint: { $ref: 'Tensor#' } },
            },
          },
        },
      },
      gradcheck: { type: 'boolean', enum: [true], description: 'Instead of an answer: the engine\'s gradient against central differences (eps 1e-6), as PyTorch\'s gradcheck.' },
      points: { type: 'array', minItems: 1, items: tensorMap, description: 'Points {input: value}, each merged over at (at most MAX_CHECK_POINTS, 1000 by default).' },
      random: {
        type: 'object',
        required: ['n', 'ranges'],
        additionalProperties: false,
        description: 'n points drawn uniformly in the ranges with the request\'s seed (the same seed gives the same points); other inputs from at.',
        properties: {
          n: { type: 'integer', description: '1 to MAX_CHECK_POINTS (1000 by default).' },
          ranges: {
            type: 'object',
            minProperties: 1,
            additionalProperties: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
            description: '{input: [lo, hi]}; a tensor input in at has each element drawn.',
          },
        },
      },
      rtol: { type: 'number', minimum: 0, description: 'Relative tolerance: 1e-6 by default, 1e-3 for gradcheck (PyTorch\'s).' },
      atol: { type: 'number', minimum: 0, description: 'Absolute tolerance: 1e-9 by default, 1e-5 for gradcheck (PyTorch\'s).' },
      tangents: { ...tensorMap, description: 'For a trace: the tangents of the inputs, as in POST /v1/trace.' },
      cotangent: { $ref: 'Tensor#', description: 'For a non-scalar output: the cotangent of grad answers and of a trace\'s adjoints.' },
    },
  ),
  response: computeResponse(
    'The grade: pass, score (the fraction of points passing), points and passed (how many), and at most 10 failures, in order of points.',
    {
      pass: { type: 'boolean' },
      score: { type: 'number', minimum: 0, maximum: 1 },
      points: { type: 'integer', description: 'The number of points graded.' },
      passed: { type: 'integer', description: 'The number of points where everything passed.' },
      failures: { type: 'array', maxItems: 10, items: checkFailure },
      tolerance: { type: 'object', required: ['rtol', 'atol'], additionalProperties: false, properties: { rtol: { type: 'number' }, atol: { type: 'number' } } },
      trace: {
        type: 'object',
        description: 'For a trace: how many entries were graded and were correct, and the first wrong one in the order the table is filled.',
        required: ['graded', 'correct', 'firstWrong'],
        additionalProperties: false,
        properties: {
          graded: { type: 'integer' },
          correct: { type: 'integer' },
          firstWrong: {
            anyOf: [
              { type: 'null' },
              {
                type: 'object',
                required: ['id', 'field', 'expected', 'got', 'error'],
                additionalProperties: false,
                properties: { id: { type: 'string' }, op: { type: 'string' }, field: { type: 'string', enum: ['value', 'tangent', 'adjoint'] }, ...wrongEntry },
              },
            ],
          },
        },
      },
      gradcheck: {
        type: 'object',
        required: ['eps', 'maxError'],
        additionalProperties: false,
        properties: { eps: { type: 'number' }, maxError: { $ref: 'Scalar#', description: 'The largest |analytic - numeric| over the Jacobian entries and points.' } },
      },
    },
    ['pass', 'score', 'points', 'passed', 'failures', 'tolerance'],
  ),
  examples: {
    symbolic: {
      summary: 'A symbolic gradient, right at 50 random points',
      request: { ...gradeSquare, answer: { grad: { x: '2*x*sin(x) + x^2*cos(x)' } } },
      response: { pass: true, score: 1, points: 50, passed: 50, failures: [], tolerance: { rtol: 1e-06, atol: 1e-09 }, seed: 1 },
    },
    wrong: {
      summary: 'A wrong symbolic gradient: the failing points (at most 10) with expected and got',
      request: { ...gradeSquare, random: { n: 3, ranges: { x: [-2, 2] } }, answer: { grad: { x: '2*x*cos(x)' } } },
      response: { pass: false, score: 0, points: 3, passed: 0, failures: [{ point: { x: 1.4275725457346797 }, quantity: 'grad.x', expected: 3.116799181560763, got: 0.4075280598693662, error: 2.709271121691397 }, { point: { x: -1.2948016831059435 }, quantity: 'grad.x', expected: 2.948455050386979, got: -0.7056774637743873, error: 3.6541325141613665 }, { point: { x: -0.5094286952128928 }, quantity: 'grad.x', expected: 0.7234398073001712, got: -0.8894862037264957, error: 1.612926011026667 }], tolerance: { rtol: 1e-06, atol: 1e-09 }, seed: 1 },
    },
    numbers: {
      summary: 'A value and a gradient as numbers, compared at at: the value passes within rtol, the gradient with respect to y does not',
      request: { program: 'x * y + sin(x)', at: scalarInputs, answer: { value: 2.5794, grad: { x: 5.077582561890373, y: 4.2 } }, rtol: 1e-4 },
      response: { pass: false, score: 0, points: 1, passed: 0, failures: [{ point: { x: 0.5, y: 4.2 }, quantity: 'grad.y', expected: 0.5, got: 4.2, error: 3.7 }], tolerance: { rtol: 0.0001, atol: 1e-09 } },
    },
    garbage: {
      summary: 'An answer that does not parse, or calls what a program may not: graded wrong with the reason, not an error',
      request: { program: 'x^2', at: { x: 3 }, answer: { value: 'import("fs")', grad: { x: '2*x +' } } },
      response: { pass: false, score: 0, points: 1, passed: 0, failures: [{ point: { x: 3 }, quantity: 'value', expected: 9, got: null, error: null, reason: 'the answer does not parse: `import` is not available in adjoint programs: it parses, evaluates or configures code at run time, which a program may not do (line 1, column 1)', code: 'PARSE_ERROR' }, { point: { x: 3 }, quantity: 'grad.x', expected: 6, got: null, error: null, reason: 'the answer does not parse: syntax error, unexpected end of expression: the statement ends too early (line 1, column 6)', code: 'PARSE_ERROR' }], tolerance: { rtol: 1e-06, atol: 1e-09 } },
    },
    trace: {
      summary: 'A student\'s forward tangents and reverse adjoints, graded step by step: the first wrong step',
      request: {
        program: 'x * y + sin(x)',
        at: scalarInputs,
        answer: {
          trace: [
            { id: 'v1', tangent: 4.2 },
            { id: 'v2', tangent: 0.8775825618903728 },
            { id: 'v3', tangent: 5.077582561890373, adjoint: 1 },
            { id: 'v2', adjoint: 1 },
            { id: 'v1', adjoint: 1 },
            { id: 'x', adjoint: 4.2 },
          ],
        },
      },
      response: { pass: false, score: 0, points: 1, passed: 0, failures: [{ point: { x: 0.5, y: 4.2 }, quantity: 'x.adjoint', expected: 5.077582561890373, got: 4.2, error: 0.8775825618903728 }], tolerance: { rtol: 1e-06, atol: 1e-09 }, trace: { graded: 7, correct: 6, firstWrong: { id: 'x', op: 'input', field: 'adjoint', expected: 5.077582561890373, got: 4.2, error: 0.8775825618903728 } } },
    },
    gradcheck: {
      summary: 'The engine\'s own gradient against central differences',
      request: { program: 'sum(W * x .^ 2)', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] }, gradcheck: true },
      response: { pass: true, score: 1, points: 1, passed: 1, failures: [], tolerance: { rtol: 0.001, atol: 1e-05 }, gradcheck: { eps: 1e-06, maxError: 6.311893230304122e-10 } },
    },
    badN: {
      summary: 'random.n out of range',
      request: { ...gradeSquare, random: { n: 0, ranges: { x: [-2, 2] } }, answer: { grad: { x: '2*x' } } },
      status: 422,
      response: { type: '/problems/invalid-argument', title: 'Invalid argument', status: 422, detail: '"random.n" must be from 1 to 1000, got 0', code: 'INVALID_ARGUMENT', path: '/random/n' },
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
      {
        format: {
          type: 'string',
          enum: ['table', 'graph', 'dot', 'svg'],
          description:
            'The Wengert list (default), an expression graph, or a picture of the computational graph: "dot" its Graphviz source, "svg" drawn by Graphviz on the server. ' +
            'A picture draws at most 500 steps and 2000 arguments, and an SVG a graph whose edges cross at most 20,000 layers in all; a larger one is 422 LIMIT_EXCEEDED (limit "picture size").',
        },
      },
    ),
    response: {
      description:
        'format "table": the inputs and the steps with their values, tangents and adjoints; format "graph": the steps as an expression graph; ' +
        'format "dot" or "svg": the computational graph as Graphviz source or as SVG.',
      anyOf: [
        computeResponse(
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
        computeResponse('The expression graph: it evaluates to the same value.', { value: { $ref: 'Tensor#' }, graph: { $ref: 'Graph#' } }, ['value', 'graph']),
        computeResponse(
          'The computational graph as Graphviz DOT source (render it with `dot -Tsvg`): a node per input and per step, labelled with its operation or name, value, ' +
            'tangent and adjoint (5 significant digits; a tensor as its shape and first elements); constants as small nodes; the output with a double border.',
          { value: { $ref: 'Tensor#' }, dot: { type: 'string' } },
          ['value', 'dot'],
        ),
        computeResponse('The same graph drawn by Graphviz: an SVG document, from its <svg> element on.', { value: { $ref: 'Tensor#' }, svg: { type: 'string' } }, ['value', 'svg']),
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
      dot: {
        summary: 'The computational graph as Graphviz source, each node with its value, tangent and adjoint',
        request: { program: 'x * y + sin(x)', at: scalarInputs, options: { format: 'dot' } },
        response: { value: 2.579425538604203, dot: traceDotExample },
      },
      svg: {
        summary: 'The same graph drawn as SVG (abridged)',
        description: 'Abridged: the response is the whole SVG document.',
        request: { program: 'x * y + sin(x)', at: scalarInputs, options: { format: 'svg' } },
        abridged: true,
        response: {
          value: 2.579425538604203,
          svg: '<svg width="419pt" height="212pt"\n viewBox="0.00 0.00 419.00 212.00" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">\n<g id="graph0" class="graph"…',
        },
      },
    },
  },
  sample: sampleSchema,
  check: checkSchema,
};

const rosenbrock = { program: '(1 - x)^2 + 100 * (y - x^2)^2', params: { x: -1.5, y: 2 } };

/** `optimize`: SPEC.md section 3. */
const optimizeSchema: EndpointSchema = {
  summary: 'Gradient-based optimisation of params on a program\'s scalar loss, with PyTorch\'s optimizers',
  body: {
    type: 'object',
    description: 'The program (its result is the loss), the parameters\' initial values, fixed data in at, the optimizer, the number of steps.',
    required: ['params', 'optimizer', 'steps'],
    additionalProperties: false,
    properties: {
      program: common.program,
      graph: common.graph,
      at: { ...tensorMap, description: 'Fixed inputs (data): not optimised.' },
      output: common.output,
      seed: common.seed,
      options: options(),
      params: { ...tensorMap, description: 'The inputs being optimised, by name, with their initial values.' },
      optimizer: {
        type: 'object',
        required: ['name'],
        description:
          'name: sgd (lr 1e-3, momentum 0, dampening 0, weight_decay 0, nesterov false), momentum and nesterov (sgd with momentum 0.9, the latter with nesterov), ' +
          'adam (lr 1e-3, betas [0.9, 0.999] or beta1/beta2, eps 1e-8, weight_decay 0, amsgrad false), rmsprop (lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered false), ' +
          'adagrad (lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10); every optimizer takes maximize. PyTorch\'s defaults and update rules.',
        // No enum: the endpoint's own message lists the optimizers.
        properties: { name: { type: 'string', description: 'sgd, momentum, nesterov, adam, rmsprop or adagrad.' } },
      },
      steps: { type: 'integer', minimum: 0, description: 'The number of updates (at most MAX_STEPS, 10^6 by default).' },
      every: { type: 'integer', minimum: 1, description: 'The history records the loss at steps 0, every, 2 every, ... (default: about 100 entries).' },
    },
  },
  response: computeResponse(
    'The parameters and the loss after all the updates, and the loss every `every` steps (computed before that step\'s update). A loss that becomes NaN or infinite stops the run: `stopped` says at which step, and params are those that gave it.',
    {
      params: tensorMap,
      loss: { $ref: 'Tensor#' },
      history: {
        type: 'array',
        items: { type: 'object', required: ['step', 'loss'], additionalProperties: false, properties: { step: { type: 'integer' }, loss: { $ref: 'Tensor#' } } },
      },
      stopped: { type: 'object', required: ['step', 'reason'], additionalProperties: false, properties: { step: { type: 'integer' }, reason: { type: 'string' } } },
    },
    ['params', 'loss', 'history'],
  ),
  examples: {
    adam: {
      summary: 'Adam on the Rosenbrock function (a case of the PyTorch vectors)',
      request: { ...rosenbrock, optimizer: { name: 'adam', lr: 0.05 }, steps: 200, every: 50 },
      response: {
        params: { x: -0.9209383774633287, y: 0.853699550914823 },
        loss: 3.6931090306287477,
        history: [
          { step: 0, loss: 12.5 },
          { step: 50, loss: 5.63887082386613 },
          { step: 100, loss: 5.1448326426526965 },
          { step: 150, loss: 4.495179813238717 },
        ],
      },
    },
    vector: {
      summary: 'Gradient descent on a vector',
      request: { program: 'sum(x .^ 2)', params: { x: [2, 1, 10] }, optimizer: { name: 'sgd', lr: 0.1 }, steps: 30, every: 10 },
      response: {
        params: { x: [0.002475880078570761, 0.0012379400392853806, 0.012379400392853806] },
        loss: 0.0001609120317909184,
        history: [
          { step: 0, loss: 105 },
          { step: 10, loss: 1.21056757983719 },
          { step: 20, loss: 0.01395689395574162 },
        ],
      },
    },
    diverged: {
      summary: 'Too large a learning rate: the run stops where the loss becomes infinite',
      request: { ...rosenbrock, optimizer: { name: 'sgd', lr: 0.01 }, steps: 100, every: 1 },
      response: {
        params: { x: -7.586573304873119e84, y: 3.0644587077399516e56 },
        loss: 'Infinity',
        history: [
          { step: 0, loss: 12.5 },
          { step: 1, loss: 624.653125 },
          { step: 2, loss: 794.4069480460065 },
          { step: 3, loss: 95307.15994364016 },
          { step: 4, loss: 26017292520688.08 },
          { step: 5, loss: 4.509577590276593e38 },
          { step: 6, loss: 2.3477267928608033e114 },
          { step: 7, loss: 'Infinity' },
        ],
        stopped: { step: 7, reason: 'the loss is Infinity at step 7: the optimisation diverged (try a smaller lr)' },
      },
    },
    unknownOptimizer: {
      summary: 'An optimizer that does not exist',
      request: { ...rosenbrock, optimizer: { name: 'adamw', lr: 0.01 }, steps: 10 },
      status: 400,
      response: {
        type: '/problems/invalid-request',
        title: 'Invalid request',
        status: 400,
        detail: '"optimizer.name" must be one of sgd, momentum, nesterov, adam, rmsprop, adagrad',
        code: 'INVALID_REQUEST',
        path: '/optimizer/name',
      },
    },
  },
};

/** Endpoints whose bodies are not a program evaluated at a point. */
export const otherSchemas: Record<string, EndpointSchema> = {
  optimize: optimizeSchema,
  derivative: {
    summary: 'The symbolic derivative of one scalar expression (mathjs), simplified, its TeX, and a check against the engine\'s gradient',
    body: {
      type: 'object',
      required: ['program', 'wrt'],
      additionalProperties: false,
      properties: {
        program: { type: 'string', description: 'One scalar expression, such as "x^2 * sin(x)".' },
        wrt: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1, description: 'The one name to differentiate with respect to.' },
      },
    },
    response: response(
      'The derivative as an expression and as TeX, and check: the derivative (evaluated by mathjs) against the engine\'s gradient at the first 3 fixed points, values from 0.5 to 1.5, where both are finite.',
      {
        derivative: { type: 'string' },
        tex: { type: 'string' },
        check: {
          type: 'object',
          required: ['agrees', 'points'],
          additionalProperties: false,
          properties: {
            agrees: { type: ['boolean', 'null'], description: 'Whether the two agree to 1e-8 relative at every point; null when no point had both finite (detail says why).' },
            points: {
              type: 'array',
              items: {
                type: 'object',
                required: ['at', 'derivative', 'grad'],
                additionalProperties: false,
                properties: {
                  at: { type: 'object', additionalProperties: { type: 'number' }, description: 'The value of every variable of the expression.' },
                  derivative: { type: 'number', description: 'The symbolic derivative there.' },
                  grad: { type: 'number', description: 'The engine\'s gradient there.' },
                },
              },
            },
            detail: { type: 'string' },
          },
        },
      },
      ['derivative', 'tex', 'check'],
    ),
    examples: {
      product: {
        summary: 'The product rule, checked against the engine\'s gradient',
        request: { program: 'x^2 * sin(x)', wrt: ['x'] },
        response: {
          derivative: '2 * x * sin(x) + x ^ 2 * cos(x)',
          tex: '2\\cdot x\\cdot\\sin\\left( x\\right)+{ x}^{2}\\cdot\\cos\\left( x\\right)',
          check: {
            agrees: true,
            points: [
              { at: { x: 0.7 }, derivative: 1.2766774339021667, grad: 1.2766774339021667 },
              { at: { x: 1.3 }, derivative: 2.9573243024602545, grad: 2.9573243024602545 },
              { at: { x: 0.9 }, derivative: 1.9134925116287085, grad: 1.9134925116287085 },
            ],
          },
        },
      },
      twoVariables: {
        summary: 'Another variable is held at fixed values; sec, a function of mathjs\'s answer, is evaluated by mathjs',
        request: { program: 'tan(x) * y', wrt: ['x'] },
        response: {
          derivative: 'y * sec(x) ^ 2',
          tex: ' y\\cdot{\\sec\\left( x\\right)}^{2}',
          check: {
            agrees: true,
            points: [
              { at: { x: 0.7, y: 0.6 }, derivative: 1.0256698295178701, grad: 1.0256698295178703 },
              { at: { x: 1.3, y: 1.2 }, derivative: 16.77017045478829, grad: 16.770170454788285 },
              { at: { x: 0.9, y: 0.8 }, derivative: 2.070398986607719, grad: 2.0703989866077186 },
            ],
          },
        },
      },
      notDifferentiable: {
        summary: 'A function mathjs cannot differentiate symbolically, and the engine can',
        request: { program: 'sigmoid(x)', wrt: ['x'] },
        status: 422,
        response: {
          type: '/problems/not-differentiable',
          title: 'Not differentiable',
          status: 422,
          detail: 'mathjs cannot differentiate `sigmoid` symbolically, but the engine can: the grad endpoint differentiates it numerically at any point (at x = 0.7, d/dx = 0.22171287329310904)',
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
