import type { FromSchema } from 'json-schema-to-ts';
import { computeResponse, request, tensorMap, type EndpointSchema, type References } from './shared.js';

const runFields = { value: { $ref: 'Tensor#' }, grad: tensorMap };
const meanAndGradient = (description: string) => ({ type: 'object', description, required: ['value', 'grad'], additionalProperties: false, properties: runFields });
const normalSquared = { program: 'z = rsample(normal(mu, sigma)); z^2', at: { mu: 0.5, sigma: 1.5 } };

export const sampleBody = request(
  'A program that draws (rsample, sample, rand, randn) and the number of runs. Run i draws from stream i of the seed, so results do not depend on how the runs are spread over workers.',
  {
    n: { type: 'integer', description: 'The number of runs, 1 to MAX_SAMPLES (10^7 by default).' },
    cotangent: { $ref: 'Tensor#' },
  },
  {
    samples: { type: 'boolean', description: 'List every run\'s value and gradient (default: true for n <= 1000; at most 100,000 runs are listed).' },
    estimator: {
      type: 'string',
      enum: ['reparam', 'score'],
      description: '"reparam" (default): differentiate through the draws. "score": the score-function (REINFORCE) estimator, ∇f + f ∇Σ log p(draws), for programs whose draws carry no gradient.',
    },
  },
);

/** A `sample` request, as TypeScript has it (derived from the schema). */
export type SampleRequest = FromSchema<typeof sampleBody, References>;

/** `sample`: SPEC.md sections 3 and 5. */
export const sampleSchema: EndpointSchema = {
  summary: 'Monte Carlo: the program run n times with independent draws, each with its gradient, and the estimated gradient of the expectation',
  body: sampleBody,
  response: computeResponse(
    'The runs and the Monte Carlo estimates: mean is the average value and gradient (the estimate of E[f] and of ∇E[f]), stderr their standard errors (standard deviation / √n).',
    {
      n: { type: 'integer' },
      estimator: { type: 'string', enum: ['reparam', 'score'] },
      samples: { type: 'array', items: meanAndGradient('One run: its value and gradient.') },
      mean: meanAndGradient('The average value and gradient over the runs.'),
      warnings: {
        type: 'array',
        items: { type: 'string' },
        description: 'What the numbers may not say: a gradient asked through sample(...), which carries none, with no estimator chosen (its part of the gradient is missing).',
      },
      stderr: meanAndGradient('The standard error of each average.'),
    },
    ['n', 'estimator', 'mean', 'stderr', 'seed'],
  ),
  examples: {
    reparam: {
      summary: 'The pathwise gradient of E[z^2], z ~ normal(mu, sigma): d/dmu = 2 mu, d/dsigma = 2 sigma',
      request: { ...normalSquared, n: 4, seed: 1 },
      response: {n:  4, estimator:  'reparam', samples:  [{value:  0.1380434916148203, grad:  {mu:  0.743084091108995, sigma:  -0.06363670821657127}}, {value:  0.2584689087152887, grad:  {mu:  -1.0167967519918397, sigma:  0.6835574622843315}}, {value:  0.44777003248152386, grad:  {mu:  -1.3383124186549624, sigma:  1.0431308495270193}}, {value:  1.2427634070213336, grad:  {mu:  -2.2295859768318724, sigma:  2.4002132016390694}}], mean:  {value:  0.5217614599582416, grad:  {mu:  -0.9604027640924199, sigma:  1.0158162013084622}}, stderr:  {value:  0.24864314887311192, grad:  {mu:  0.6230763384360449, sigma:  0.5158258425469824}}, seed:  1},
    },
    summary: {
      summary: '100,000 runs, summary only: the estimates are within a few standard errors of 2 mu = 1 and 2 sigma = 3',
      request: { ...normalSquared, n: 100000, seed: 1 },
      response: {n:  100000, estimator:  'reparam', mean:  {value:  2.511075821825692, grad:  {mu:  0.995882331738946, sigma:  3.0161403185212725}}, stderr:  {value:  0.011203406138930533, grad:  {mu:  0.009514521635245207, sigma:  0.013883412374877507}}, seed:  1},
    },
    score: {
      summary: 'The same runs with the score-function estimator: unbiased too, with a larger variance',
      request: { ...normalSquared, n: 4, seed: 1, options: { estimator: 'score', samples: false } },
      response: {n:  4, estimator:  'score', mean:  {value:  0.5217614599582416, grad:  {mu:  -0.31207679578842007, sigma:  -0.0428223975790499}}, stderr:  {value:  0.24864314887311192, grad:  {mu:  0.19865373215481058, sigma:  0.0584452361132143}}, seed:  1},
    },
    badN: {
      summary: 'n out of range',
      request: { ...normalSquared, n: 0 },
      status: 422,
      response: { type: '/problems/invalid-argument', title: 'Invalid argument', status: 422, detail: '"n" must be from 1 to 10000000, got 0', code: 'INVALID_ARGUMENT', path: '/n' },
    },
  },
};
