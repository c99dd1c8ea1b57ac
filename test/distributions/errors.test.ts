/**
 * What a program gets wrong about distributions is a 422 problem whose detail says what to fix:
 * a parameter breaking its constraint names the family, the parameter, the constraint and the
 * value (for every family, in interpreted and in compiled evaluation); probabilities must sum
 * to 1; scale_tril must be lower triangular with a positive diagonal; uniform needs lo < hi;
 * log_prob outside the support names the support; rsample of a discrete family names sample
 * and the score-function estimator; kl of a pair with no closed form names the known pairs;
 * the sample endpoint's n must be in range.
 */
import t, { type Test } from 'tap';
import { computeSync, type ProblemCode } from '../../src/index.js';
import { assertProblem, outcomeOf } from '../helpers.js';
import { assertEveryFamilyCovered, familyOf, type Inputs } from './helpers.js';

interface ErrorCase {
  program: string;
  at?: Inputs;
  /** The detail, word for word, or patterns it must match. */
  detail: string | readonly RegExp[];
  code?: ProblemCode;
  endpoint?: 'eval' | 'grad';
}

const escape = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

function assertRefused(t: Test, c: ErrorCase): void {
  const endpoint = c.endpoint ?? 'eval';
  const outcome = outcomeOf(() => computeSync(endpoint, { program: c.program, at: c.at ?? {}, seed: 1 }));
  const detail = typeof c.detail === 'string' ? [escape(c.detail)] : c.detail;
  assertProblem(t, `${endpoint} ${c.program}${c.at === undefined ? '' : ` at ${JSON.stringify(c.at)}`}`, outcome, { status: 422, code: c.code ?? 'INVALID_ARGUMENT', detail, line: 'any', column: 'any' });
}

const constraintCases: readonly ErrorCase[] = [
  { program: 'log_prob(normal(0, -1), 0)', detail: 'normal: sigma must be positive, got -1' },
  { program: 'log_prob(normal(Infinity, 1), 0)', detail: 'normal: mu must be finite, got Infinity' },
  { program: 'log_prob(normal(NaN, 1), 0)', detail: 'normal: mu must be finite, got NaN' },
  { program: 'entropy(lognormal(0, 0))', detail: 'lognormal: sigma must be positive, got 0' },
  { program: 'mean(uniform(-Infinity, 1))', detail: 'uniform: lo must be finite, got -Infinity' },
  { program: 'mean(uniform(2, 1))', detail: 'uniform: needs lo < hi in every element' },
  { program: 'mean(uniform(1, 1))', detail: 'uniform: needs lo < hi in every element' },
  { program: 'mean(uniform([0, 2], [1, 1]))', detail: 'uniform: needs lo < hi in every element' },
  { program: 'mean(exponential(-2))', detail: 'exponential: rate must be positive, got -2' },
  { program: 'mean(exponential([1, 0, 2]))', detail: 'exponential: rate must be positive, got 0 (element 2)' },
  { program: 'mean(laplace(0, -1))', detail: 'laplace: scale must be positive, got -1' },
  { program: 'mean(gumbel(0, 0))', detail: 'gumbel: scale must be positive, got 0' },
  { program: 'entropy(cauchy(0, -3))', detail: 'cauchy: scale must be positive, got -3' },
  { program: 'mean(halfnormal(-1))', detail: 'halfnormal: scale must be positive, got -1' },
  { program: 'entropy(halfcauchy(0))', detail: 'halfcauchy: scale must be positive, got 0' },
  { program: 'mean(weibull(-1, 1))', detail: 'weibull: scale must be positive, got -1' },
  { program: 'mean(weibull(1, -1))', detail: 'weibull: concentration must be positive, got -1' },
  { program: 'mean(pareto(0, 1))', detail: 'pareto: scale must be positive, got 0' },
  { program: 'mean(pareto(1, -2))', detail: 'pareto: alpha must be positive, got -2' },
  { program: 'mean(kumaraswamy(0, 1))', detail: 'kumaraswamy: a must be positive, got 0' },
  { program: 'mean(kumaraswamy(1, -1))', detail: 'kumaraswamy: b must be positive, got -1' },
  { program: 'mean(mvnormal([0, 0], [[1, 0.5], [0, 1]]))', detail: 'mvnormal: scale_tril must be lower triangular, but element (1, 2) is 0.5' },
  { program: 'mean(mvnormal([0, 0], [[1, 0], [0.3, -1]]))', detail: 'mvnormal: scale_tril must have a positive diagonal, but element (2, 2) is -1' },
  { program: 'mean(mvnormal([Infinity, 0], [[1, 0], [0, 1]]))', detail: 'mvnormal: mean must be finite, got Infinity (element 1)' },
  { program: 'mean(mvnormal([0, 0, 0], [[1, 0], [0, 1]]))', detail: 'mvnormal: mean has 3 elements but scale_tril is 2×2' },
  { program: 'rsample(relaxed_bernoulli(0, 0.5))', detail: 'relaxed_bernoulli: temperature must be positive, got 0' },
  { program: 'rsample(relaxed_bernoulli(1, 1))', detail: 'relaxed_bernoulli: probs must be in (0, 1), got 1' },
  { program: 'rsample(relaxed_categorical(-1, [0.5, 0.5]))', detail: 'relaxed_categorical: temperature must be positive, got -1' },
  { program: 'rsample(relaxed_categorical(1, [0.2, 0.3]))', detail: 'relaxed_categorical: probs must sum to 1 along its last dimension, got a sum of 0.5' },
  { program: 'mean(bernoulli(1.5))', detail: 'bernoulli: probs must be in [0, 1], got 1.5' },
  { program: 'mean(categorical([0.5, 0.6]))', detail: 'categorical: probs must sum to 1 along its last dimension, got a sum of 1.1' },
  { program: 'mean(categorical([[0.5, 0.5], [0.3, 0.3]]))', detail: 'categorical: probs must sum to 1 along its last dimension, got a sum of 0.6 (row 2)' },
  { program: 'mean(categorical([-0.1, 1.1]))', detail: 'categorical: probs must be in [0, 1], got -0.1 (element 1)' },
  { program: 'mean(poisson(-1))', detail: 'poisson: rate must be non-negative, got -1' },
  { program: 'mean(binomial(2.5, 0.5))', detail: 'binomial: total_count must be a non-negative integer, got 2.5' },
  { program: 'mean(binomial(10, 1.2))', detail: 'binomial: probs must be in [0, 1], got 1.2' },
  { program: 'mean(geometric(0))', detail: 'geometric: probs must be in (0, 1], got 0' },
  { program: 'mean(gamma(-1, 1))', detail: 'gamma: shape must be positive, got -1' },
  { program: 'mean(gamma(1, 0))', detail: 'gamma: rate must be positive, got 0' },
  { program: 'mean(chi2(0))', detail: 'chi2: df must be positive, got 0' },
  { program: 'mean(beta(0, 1))', detail: 'beta: a must be positive, got 0' },
  { program: 'mean(beta(1, -1))', detail: 'beta: b must be positive, got -1' },
  { program: 'mean(dirichlet([1, -1]))', detail: 'dirichlet: alpha must be positive, got -1 (element 2)' },
  { program: 'mean(studentt(-1))', detail: 'studentt: df must be positive, got -1' },
  { program: 'mean(studentt(3, 0, 0))', detail: 'studentt: scale must be positive, got 0' },
  // Scalar inputs take the compiled path, which checks the parameters as operations.
  { program: 'log_prob(normal(mu, sigma), 0)', at: { mu: 0, sigma: -1 }, detail: 'normal: sigma must be positive, got -1' },
  { program: 'mean(gamma(k, r))', at: { k: -2, r: 1 }, detail: 'gamma: shape must be positive, got -2' },
  { program: 'log_prob(exponential(rate), 1)', at: { rate: -1 }, endpoint: 'grad', detail: 'exponential: rate must be positive, got -1' },
  { program: 'entropy(bernoulli(p))', at: { p: 2 }, endpoint: 'grad', detail: 'bernoulli: probs must be in [0, 1], got 2' },
  { program: 'entropy(beta(a, b))', at: { a: 1, b: -0.5 }, endpoint: 'grad', detail: 'beta: b must be positive, got -0.5' },
];

t.test('a parameter breaking its constraint names the family, the parameter and the constraint', (t) => {
  for (const c of constraintCases) assertRefused(t, c);
  t.end();
});

t.test('every family has a constraint case', (t) => {
  assertEveryFamilyCovered(t, 'constraints', constraintCases.map((c) => familyOf(c.program)));
  t.end();
});

const supportCases: readonly ErrorCase[] = [
  { program: 'log_prob(exponential(1), -1)', detail: 'log_prob: -1 is outside the support of exponential, [0, ∞)' },
  { program: 'log_prob(uniform(0, 1), 1)', detail: 'log_prob: 1 is outside the support of uniform, [lo, hi)' },
  { program: 'log_prob(uniform([0, 2], 3), [0.5, 1])', detail: 'log_prob: 1 (element 2) is outside the support of uniform, [lo, hi)' },
  { program: 'log_prob(pareto(2, 1), 1.5)', detail: 'log_prob: 1.5 is outside the support of pareto, [scale, ∞)' },
  { program: 'log_prob(lognormal(0, 1), 0)', detail: 'log_prob: 0 is outside the support of lognormal, (0, ∞)' },
  { program: 'log_prob(halfnormal(1), -0.1)', detail: 'log_prob: -0.1 is outside the support of halfnormal, [0, ∞)' },
  { program: 'log_prob(weibull(1, 1), -1)', detail: 'log_prob: -1 is outside the support of weibull, [0, ∞)' },
  { program: 'log_prob(kumaraswamy(1, 1), 1)', detail: 'log_prob: 1 is outside the support of kumaraswamy, (0, 1)' },
  { program: 'log_prob(relaxed_bernoulli(1, 0.5), 0)', detail: 'log_prob: 0 is outside the support of relaxed_bernoulli, (0, 1)' },
  { program: 'log_prob(beta(2, 2), 0)', detail: 'log_prob: 0 is outside the support of beta, (0, 1)' },
  { program: 'log_prob(gamma(2, 1), 0)', detail: 'log_prob: 0 is outside the support of gamma, (0, ∞)' },
  { program: 'log_prob(chi2(2), -1)', detail: 'log_prob: -1 is outside the support of chi2, (0, ∞)' },
  { program: 'log_prob(bernoulli(0.5), 0.5)', detail: 'log_prob: 0.5 is outside the support of bernoulli, {0, 1}' },
  { program: 'log_prob(categorical([0.2, 0.8]), 3)', detail: 'log_prob: 3 is outside the support of categorical, {1, ..., K}' },
  { program: 'log_prob(categorical([0.2, 0.8]), 0)', detail: 'log_prob: 0 is outside the support of categorical, {1, ..., K}' },
  { program: 'log_prob(poisson(2), 1.5)', detail: 'log_prob: 1.5 is outside the support of poisson, {0, 1, 2, ...}' },
  { program: 'log_prob(poisson(2), [1, 2, -3])', detail: 'log_prob: -3 (element 3) is outside the support of poisson, {0, 1, 2, ...}' },
  { program: 'log_prob(binomial(5, 0.5), 6)', detail: 'log_prob: 6 is outside the support of binomial, {0, 1, ..., total_count}' },
  { program: 'log_prob(geometric(0.5), -1)', detail: 'log_prob: -1 is outside the support of geometric, {0, 1, 2, ...}' },
  { program: 'log_prob(mvnormal([0, 0], [[1, 0], [0, 1]]), [1, 2, 3])', detail: 'log_prob: a value of shape [3] (the last dimension must have 2 elements) is outside the support of mvnormal' },
  { program: 'log_prob(relaxed_categorical(1, [0.5, 0.5]), [0.2, 0.3, 0.5])', detail: 'log_prob: a value of shape [3] (the last dimension must have 2 elements) is outside the support of relaxed_categorical' },
  { program: 'log_prob(relaxed_categorical(1, [0.5, 0.5]), [0.2, 0.3])', detail: 'log_prob: a value whose elements sum to 0.5, not 1, is outside the support of relaxed_categorical' },
  { program: 'log_prob(dirichlet([1, 1, 1]), [0.2, 0.2, 0.2])', detail: [/^log_prob: /, /sum to 0.6000000000000001, not 1/, /outside the support of dirichlet, the probability simplex/] },
];

t.test('log_prob outside the support names the value and the support', (t) => {
  for (const c of supportCases) assertRefused(t, c);
  t.end();
});

const DISCRETE = ['bernoulli(0.3)', 'categorical([0.2, 0.8])', 'poisson(2)', 'binomial(5, 0.5)', 'geometric(0.4)'];

const otherCases: readonly ErrorCase[] = [
  ...DISCRETE.map(
    (d): ErrorCase => ({
      program: `rsample(${d})`,
      detail: [new RegExp(`^rsample: ${familyOf(d)} has no reparameterised draw`), /use sample\(d\)/, /score-function estimator/, /options\.estimator "score"/],
    }),
  ),
  { program: 'rsample(normal(0, 1), -1)', detail: 'rsample: the number of draws must be a non-negative integer, got -1' },
  { program: 'sample(normal(0, 1), 2.5)', detail: 'sample: the number of draws must be an integer, got 2.5' },
  { program: 'kl(normal(0, 1), laplace(0, 1))', detail: 'kl: no closed form for kl(normal, laplace); kl(normal, q) is known for q = normal' },
  {
    program: 'kl(exponential(1), laplace(0, 1))',
    detail: [/^kl: no closed form for kl\(exponential, laplace\); kl\(exponential, q\) is known for q = /, /q = .*\bexponential\b/, /q = .*\bnormal\b/],
  },
  { program: 'kl(relaxed_bernoulli(1, 0.5), relaxed_bernoulli(1, 0.5))', detail: 'kl: no closed form for kl(relaxed_bernoulli, relaxed_bernoulli)' },
  { program: 'kl(binomial(3, 0.5), binomial(4, 0.5))', detail: 'kl: binomials with different total_count have no finite closed form' },
  { program: 'kl(mvnormal([0, 0], [[1, 0], [0, 1]]), mvnormal([0, 0, 0], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]))', code: 'SHAPE_MISMATCH', detail: 'kl: the two mvnormal have 2 and 3 dimensions' },
  { program: 'entropy(relaxed_bernoulli(1, 0.5))', detail: 'entropy: relaxed_bernoulli has no closed-form entropy' },
  { program: 'mean(relaxed_categorical(1, [0.5, 0.5]))', detail: 'mean: relaxed_categorical has no closed-form mean' },
  { program: 'variance(relaxed_bernoulli(1, 0.5))', detail: 'variance: relaxed_bernoulli has no closed-form variance' },
  { program: 'log_prob(normal(0, 1, 2), 0)', detail: '`normal` takes 2 arguments, got 3' },
];

t.test('rsample of a discrete family, kl with no closed form, and missing closed forms say what to use instead', (t) => {
  for (const c of otherCases) assertRefused(t, c);
  t.end();
});

t.test('the sample endpoint refuses n out of range, naming n', (t) => {
  for (const n of [0, 10_000_001]) {
    const outcome = outcomeOf(() => computeSync('sample', { program: 'rsample(normal(0, 1))', n, seed: 1 }));
    assertProblem(t, `sample with n = ${n}`, outcome, { status: 422, code: 'INVALID_ARGUMENT', detail: [/"n" must be from 1 to 10000000/, new RegExp(`got ${n}$`)], path: '/n' });
  }
  t.end();
});
