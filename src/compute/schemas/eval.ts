import type { FromSchema } from 'json-schema-to-ts';
import { computeResponse, matrixInputs, parseError, request, scalarInputs, type EndpointSchema, type References } from './shared.js';

export const evalBody = request('A program or graph and its inputs.');

/** A `eval` request, as TypeScript has it (derived from the schema). */
export type EvalRequest = FromSchema<typeof evalBody, References>;

/** The `eval` endpoint's schema: evaluate a program or graph at a point (SPEC.md section 3). */
export const evalSchema: EndpointSchema = {
  summary: 'Evaluate a program or graph',
  body: evalBody,
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
      response: { type: '/problems/invalid-request', title: 'Invalid request', status: 400, detail: 'the body has an unknown field "colour"; this endpoint takes program, graph, at, wrt, output, seed, options', code: 'INVALID_REQUEST', path: '/colour' },
    },
  },
};
