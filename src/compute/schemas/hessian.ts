import { computeResponse, request, tensorMap, type EndpointSchema } from './shared.js';

/** The `hessian` endpoint's schema: the value, gradient and Hessian of a scalar output (SPEC.md section 3). */
export const hessianSchema: EndpointSchema = {
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
};
