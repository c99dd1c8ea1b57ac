import type { FromSchema } from 'json-schema-to-ts';
import { common, computeResponse, options, tensorMap, type EndpointSchema, type References } from './shared.js';

const rosenbrock = { program: '(1 - x)^2 + 100 * (y - x^2)^2', params: { x: -1.5, y: 2 } };

export const optimizeBody = {
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
} as const;

/** An `optimize` request, as TypeScript has it (derived from the schema). */
export type OptimizeRequest = FromSchema<typeof optimizeBody, References>;

/** `optimize`: SPEC.md section 3. */
export const optimizeSchema: EndpointSchema = {
  summary: 'Gradient-based optimisation of params on a program\'s scalar loss, with PyTorch\'s optimizers',
  body: optimizeBody,
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
