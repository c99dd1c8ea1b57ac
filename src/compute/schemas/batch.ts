import { parseError, response, scalarInputs, type EndpointSchema } from './shared.js';

/** The `batch` endpoint's schema: several requests of any endpoint in one, answered in order. */
export const batchSchema: EndpointSchema = {
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
};
