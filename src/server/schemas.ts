/**
 * JSON Schemas of the API: request bodies and responses of every route. They are the one source
 * of truth: fastify validates requests with them, and openapi/openapi.json is generated from
 * them (a test fails when the file drifts).
 */

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
  seed: { type: 'integer', description: 'Seed for random draws.' },
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

function response(description: string, properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', description, required, properties };
}

export interface EndpointSchema {
  readonly summary: string;
  readonly body: Record<string, unknown>;
  readonly response: Record<string, unknown>;
}

export const computeSchemas: Record<string, EndpointSchema> = {
  eval: {
    summary: 'Evaluate a program or graph',
    body: request('A program or graph and its inputs.'),
    response: response('The value.', { value: { $ref: 'Tensor#' } }, ['value']),
  },
  grad: {
    summary: 'Value and gradient (or a vector-Jacobian product)',
    body: request('A program or graph; a cotangent when the output is not a scalar.', { cotangent: { $ref: 'Tensor#' } }, { mode }),
    response: response('The value and the gradient with respect to each input, shaped like the input.', { value: { $ref: 'Tensor#' }, grad: tensorMap }, ['value', 'grad']),
  },
  jvp: {
    summary: 'Jacobian-vector product by forward mode',
    body: request('A program or graph and a tangent for each input (missing: zero).', { tangents: tensorMap }),
    response: response('The value and its tangent.', { value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' } }, ['value', 'tangent']),
  },
  jacobian: {
    summary: 'Jacobians by reverse or forward mode',
    body: request('A program or graph.', {}, { mode }),
    response: response('The value and, for each input, the Jacobian of shape output ++ input.', { value: { $ref: 'Tensor#' }, jacobian: tensorMap }, ['value', 'jacobian']),
  },
  hessian: {
    summary: 'Value, gradient and Hessian of a scalar output',
    body: request('A program or graph with a scalar output.'),
    response: response(
      'The value, the gradient and the Hessian blocks, hessian[a][b] of shape a ++ b.',
      { value: { $ref: 'Tensor#' }, grad: tensorMap, hessian: { type: 'object', additionalProperties: tensorMap } },
      ['value', 'grad', 'hessian'],
    ),
  },
  trace: {
    summary: 'The Wengert list of an evaluation, or the program as a graph',
    body: request(
      'A program or graph; tangents (default: a unit tangent along the first input) and a cotangent for a non-scalar output.',
      { tangents: tensorMap, cotangent: { $ref: 'Tensor#' } },
      { format: { type: 'string', enum: ['table', 'graph'], description: 'The Wengert list (default) or an expression graph.' } },
    ),
    response: response(
      'format "table": the inputs and steps with their values, tangents and adjoints; format "graph": the graph.',
      {
        value: { $ref: 'Tensor#' },
        inputs: {
          type: 'array',
          items: { type: 'object', properties: { name: { type: 'string' }, value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' }, adjoint: { $ref: 'Tensor#' } } },
        },
        steps: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              op: { type: 'string' },
              args: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'object', properties: { const: {} } }] } },
              value: { $ref: 'Tensor#' },
              tangent: { $ref: 'Tensor#' },
              adjoint: { $ref: 'Tensor#' },
            },
          },
        },
        output: { anyOf: [{ type: 'string' }, { type: 'object', properties: { const: {} } }] },
        graph: { $ref: 'Graph#' },
      },
      ['value'],
    ),
  },
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
      { results: { type: 'array', items: { type: 'object' } } },
      ['results'],
    ),
  },
};

export const functionsResponseSchema = {
  type: 'object',
  required: ['functions'],
  properties: {
    functions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'minArgs', 'maxArgs', 'description', 'differentiable'],
        properties: {
          name: { type: 'string' },
          minArgs: { type: 'integer' },
          maxArgs: { type: ['integer', 'null'], description: 'null: any number.' },
          description: { type: 'string' },
          differentiable: { type: 'boolean' },
        },
      },
    },
    constants: { type: 'object', additionalProperties: { type: 'number' } },
  },
} as const;
