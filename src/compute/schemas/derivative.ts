import { response, type EndpointSchema } from './shared.js';

/** The `derivative` endpoint's schema: the symbolic derivative of one scalar expression (mathjs), checked against the engine. */
export const derivativeSchema: EndpointSchema = {
  summary: 'The symbolic derivative of one scalar expression (mathjs), simplified, its TeX, and a check against the engine\'s gradient',
  body: {
    type: 'object',
    required: ['program', 'wrt'],
    additionalProperties: false,
    properties: {
      program: { type: 'string', description: 'One scalar expression, such as "x^2 * sin(x)".' },
      wrt: {
        type: 'array',
        items: { type: 'string' },
        minItems: 1,
        maxItems: 1,
        description: 'The one name to differentiate with respect to.',
        'x-error': { '*': '"wrt" must name exactly one variable, as ["x"]' },
      },
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
};
