/**
 * What every endpoint's schema is made of: the Scalar, Tensor, Graph and Problem schemas, the
 * fields and options every compute request takes, the builders of requests and responses, and
 * what an endpoint's schema holds (its request, its response, its examples). Isomorphic: ajv
 * compiles these inside `compute()` (validate.ts), fastify registers them as route schemas, and
 * openapi/openapi.json is generated from them (`npm run openapi`).
 */
import type { FromSchema } from 'json-schema-to-ts';

/** A number, or a non-finite number as a string. */
export const scalarSchema = {
  $id: 'Scalar',
  description: 'A number; non-finite numbers travel as "NaN", "Infinity" or "-Infinity".',
  anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }],
} as const;

/**
 * A tensor. The schema tells its three forms apart; what is inside them (the numbers, the
 * non-finite words, a rectangular nesting, the shape's dimensions against the data) is read,
 * and refused with the place of the first wrong element, by values.ts as it decodes them.
 */
export const tensorSchema = {
  $id: 'Tensor',
  description: 'A scalar (a number, or "NaN", "Infinity", "-Infinity"), a rectangular nested array of numbers, or {"shape", "data"} (row-major).',
  anyOf: [
    { type: 'number' },
    { type: 'string' },
    { type: 'array' },
    {
      type: 'object',
      required: ['shape', 'data'],
      additionalProperties: false,
      properties: {
        shape: { type: 'array', items: { type: 'integer' }, description: 'Non-negative integers.' },
        // Its items are values.ts's to check, as a nested array's are: a schema's check reads
        // them with [i], which in V8 boxes the numbers of every array of doubles it reads once
        // it has met one holding "NaN" (see finiteRowsInto).
        data: { type: 'array', description: 'The elements in row-major order: numbers, or "NaN", "Infinity", "-Infinity".' },
      },
    },
  ],
  'x-error': { anyOf: 'expected a number, a nested array or {"shape", "data"}' },
} as const;

const NODE = '{"id", "op", "args"} or {"id", "op": "const", "value"}';

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
          args: { type: 'array', items: { type: 'string' }, 'x-error': { type: '"args" must be a list of node ids or input names' } },
          value: { description: 'The value of a const node: a tensor, or a string option.' },
        },
        'x-error': { type: `a node must be an object ${NODE}`, required: `a node needs "{missing}": ${NODE}` },
      },
      'x-error': { type: '"graph.nodes" must be a list of nodes' },
    },
    output: { type: 'string', 'x-error': { type: '"graph.output" must be the id of a node or an input' } },
  },
  'x-error': { type: '"graph" must be an object with "nodes" and "output"', required: '"graph.{missing}" is missing: a graph is {"nodes": [...], "output": "id"}' },
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

/** What `FromSchema` resolves `$ref`s with: the shared schemas. */
export type References = { references: [typeof scalarSchema, typeof tensorSchema, typeof graphSchema] };

/** The types of the shared schemas' JSON, derived from them (json-schema-to-ts). */
export type ScalarJson = FromSchema<typeof scalarSchema>;
export type TensorJson = FromSchema<typeof tensorSchema, References>;
export type GraphJson = FromSchema<typeof graphSchema>;
export type ProblemJson = FromSchema<typeof problemSchema>;

export const tensorMap = { type: 'object', additionalProperties: { $ref: 'Tensor#' } } as const;

/** The fields every compute request takes (SPEC.md section 3). */
export const common = {
  program: { type: 'string', description: 'A tensor program in mathjs syntax. Send exactly one of program or graph.' },
  graph: { $ref: 'Graph#' },
  at: { ...tensorMap, description: 'Input values by name.' },
  wrt: {
    type: 'array',
    items: { type: 'string' },
    description: 'Inputs to differentiate with respect to; default: every input in at.',
    'x-error': { type: '"wrt" must be a list of input names' },
  },
  output: {
    type: 'string',
    description: 'The variable that is the result (programs only); default: the last statement.',
    'x-error': { type: '"output" must be a variable name: a letter, then letters and digits, as in programs' },
  },
  seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Seed for every random draw (rand, randn, rsample, sample): the same request and seed give the same numbers. Default: a fresh seed, reported in the response.' },
} as const;

type NoFields = Readonly<Record<never, never>>;

/** An endpoint's options: the common ones and its own, and no other (`endpointFields` in index.ts reads them back). */
export function options<const Extra extends object = NoFields>(extra: Extra = {} as Extra) {
  return { type: 'object', additionalProperties: false, properties: { ...commonOptions, ...extra } } as const;
}

/** The options every endpoint takes (SPEC.md section 3). */
const commonOptions = {
  layout: {
    type: 'string',
    enum: ['nested', 'flat'],
    description: 'Tensors in the response as nested arrays (default) or {"shape", "data"}.',
    'x-error': { '*': '"options.layout" must be "nested" or "flat"' },
  },
  timeoutMs: {
    type: 'number',
    exclusiveMinimum: 0,
    description: 'A time limit lower than the server\'s.',
    'x-error': { '*': '"options.timeoutMs" must be a positive number of milliseconds' },
  },
} as const;

type CommonRequestSchema = { readonly type: 'object'; readonly properties: typeof common & { readonly options: { readonly type: 'object'; readonly properties: typeof commonOptions } } };

/** The fields every compute request takes and their options, as TypeScript has them (derived from the schema). */
export type CommonRequest = FromSchema<CommonRequestSchema, References>;

/** The fields every compute request takes, options among them. */
export const COMMON_FIELDS: readonly string[] = [...Object.keys(common), 'options'];

/** The options every endpoint takes; an endpoint adds its own. */
export const COMMON_OPTIONS: readonly string[] = Object.keys(commonOptions);

/** What an endpoint takes beyond the common fields and options (read from its schema: `endpointFields`). */
export interface EndpointFields {
  readonly fields: readonly string[];
  readonly options: readonly string[];
}

export const mode = { type: 'string', enum: ['reverse', 'forward'], description: 'Reverse mode (default) or forward mode: the same numbers.' } as const;

/**
 * A compute request's schema: the common fields, the endpoint's own, and its options. The
 * fields and options keep their literal types, so that the request's TypeScript type is derived
 * from the schema (`FromSchema<typeof body, References>`).
 */
export function request<const Extra extends object = NoFields, const Options extends object = NoFields>(description: string, extra: Extra = {} as Extra, optionFields: Options = {} as Options) {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    properties: { ...common, options: options(optionFields), ...extra },
    'x-error': { type: 'the request body must be a JSON object' },
  } as const;
}

/** A response body: exactly these fields (a field the server adds must be documented here first). */
export function response(description: string, properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', description, required, additionalProperties: false, properties };
}

const drawnSeed = {
  type: 'integer',
  description: 'The seed of the random draws: the request\'s, or the fresh one chosen for it. Present when the program drew random numbers.',
};

/** A compute endpoint's response: its fields, and the seed when the program drew. */
export function computeResponse(description: string, properties: Record<string, unknown>, required: string[]) {
  return response(description, { ...properties, seed: drawnSeed }, required);
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

export interface EndpointSchema {
  readonly summary: string;
  readonly body: Record<string, unknown>;
  readonly response: Record<string, unknown>;
  /** At least one, with a 200 answer. */
  readonly examples: Examples;
}

/** Inputs the examples share. */
export const scalarInputs = { x: 0.5, y: 4.2 };
export const matrixInputs = { A: [[1, 2], [3, 4]], x: [0.5, -1], b: [1, 1] };
/** The problem of a program that does not parse, as the examples show it. */
export const parseError = {
  type: '/problems/parse-error',
  title: 'The program does not parse',
  status: 422,
  detail: 'syntax error, unexpected end of expression: the statement ends too early',
  code: 'PARSE_ERROR',
  line: 1,
  column: 10,
};
