import { computeResponse, request, tensorMap, type EndpointSchema } from './shared.js';

/** The `jvp` endpoint's schema: a Jacobian-vector product by forward mode (SPEC.md section 3). */
export const jvpSchema: EndpointSchema = {
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
};
