import { computeResponse, mode, request, scalarInputs, tensorMap, type EndpointSchema } from './shared.js';

/** The `jacobian` endpoint's schema: Jacobians by reverse or forward mode (SPEC.md section 3). */
export const jacobianSchema: EndpointSchema = {
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
};
