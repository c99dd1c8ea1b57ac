import type { FromSchema } from 'json-schema-to-ts';
import { computeResponse, mode, request, scalarInputs, tensorMap, type EndpointSchema, type References } from './shared.js';

export const gradBody = request('A program or graph; a cotangent when the output is not a scalar.', { cotangent: { $ref: 'Tensor#' } }, { mode });

/** A `grad` request, as TypeScript has it (derived from the schema). */
export type GradRequest = FromSchema<typeof gradBody, References>;

/** The `grad` endpoint's schema: the value and the gradient, or a vector-Jacobian product (SPEC.md section 3). */
export const gradSchema: EndpointSchema = {
  summary: 'Value and gradient (or a vector-Jacobian product)',
  body: gradBody,
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
};
