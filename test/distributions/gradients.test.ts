/**
 * Parameter gradients of log_prob, entropy, mean and variance for every family: the grad
 * endpoint, in reverse and in forward mode, against central differences of the eval endpoint
 * (the values themselves are checked against scipy in closed-forms.test.ts). Probability
 * vectors are written w / sum(w), so that a difference in one element stays on the simplex;
 * the Cholesky factor of mvnormal is built from its free elements for the same reason.
 */
import t, { type Test } from 'tap';
import { assertEveryFamilyCovered, assertGradient, familyOf, type Inputs, type Json } from './helpers.js';

type Quantity = 'log_prob' | 'entropy' | 'mean' | 'variance';

interface GradientCase {
  /** The distribution, with its parameters as inputs. */
  d: string;
  at: Inputs;
  /** Where log_prob is taken (inside the support, away from kinks). */
  x: Json;
  /** The quantities the family has no gradient of, each with the reason in a comment. */
  without?: readonly Quantity[];
}

const MVNORMAL = 'mvnormal([m1, m2, m3], [[l11, 0, 0], [l21, l22, 0], [l31, l32, l33]])';

const cases: readonly GradientCase[] = [
  { d: 'normal(mu, sigma)', at: { mu: 0.3, sigma: 1.7 }, x: 0.9 },
  { d: 'lognormal(mu, sigma)', at: { mu: 0.2, sigma: 0.6 }, x: 1.4 },
  { d: 'uniform(lo, hi)', at: { lo: -0.5, hi: 2 }, x: 0.3 },
  { d: 'exponential(rate)', at: { rate: 1.3 }, x: 0.8 },
  { d: 'laplace(loc, scale)', at: { loc: 0.3, scale: 1.2 }, x: -0.4 },
  { d: 'gumbel(loc, scale)', at: { loc: 0.3, scale: 1.2 }, x: 1.5 },
  // Mean and variance are the constants NaN and Infinity.
  { d: 'cauchy(loc, scale)', at: { loc: 0.3, scale: 1.2 }, x: 2, without: ['mean', 'variance'] },
  { d: 'halfnormal(scale)', at: { scale: 1.4 }, x: 0.9 },
  // Mean and variance are the constant Infinity.
  { d: 'halfcauchy(scale)', at: { scale: 1.4 }, x: 0.9, without: ['mean', 'variance'] },
  { d: 'weibull(scale, k)', at: { scale: 1.5, k: 2.2 }, x: 1.1 },
  { d: 'pareto(scale, alpha)', at: { scale: 1.2, alpha: 3.5 }, x: 2 },
  { d: 'kumaraswamy(a, b)', at: { a: 1.7, b: 2.6 }, x: 0.35 },
  { d: MVNORMAL, at: { m1: 0.5, m2: -1, m3: 2, l11: 1.2, l21: 0.3, l22: 0.8, l31: -0.5, l32: 0.2, l33: 1.5 }, x: [0.5, -0.2, 1.1] },
  // The relaxed families have no closed-form entropy, mean or variance.
  { d: 'relaxed_bernoulli(temp, p)', at: { temp: 0.6, p: 0.35 }, x: 0.7, without: ['entropy', 'mean', 'variance'] },
  { d: 'relaxed_categorical(temp, w / sum(w))', at: { temp: 0.8, w: [0.2, 0.3, 0.5] }, x: [0.1, 0.6, 0.3], without: ['entropy', 'mean', 'variance'] },
  { d: 'bernoulli(p)', at: { p: 0.35 }, x: [0, 1] },
  { d: 'categorical(w / sum(w))', at: { w: [0.2, 0.5, 0.3] }, x: [1, 3] },
  { d: 'poisson(rate)', at: { rate: 2.7 }, x: [0, 4] },
  // total_count is a count: a literal, not differentiated.
  { d: 'binomial(10, p)', at: { p: 0.35 }, x: [0, 3, 10] },
  { d: 'geometric(p)', at: { p: 0.3 }, x: [0, 4] },
  { d: 'gamma(shape, rate)', at: { shape: 2.5, rate: 1.5 }, x: 1.3 },
  { d: 'chi2(df)', at: { df: 3.2 }, x: 2 },
  { d: 'beta(a, b)', at: { a: 2, b: 3 }, x: 0.3 },
  { d: 'dirichlet(alpha)', at: { alpha: [1.5, 2, 0.7] }, x: [0.2, 0.3, 0.5] },
  { d: 'studentt(df, loc, scale)', at: { df: 5, loc: 0.5, scale: 2 }, x: 1.5 },
  // Broadcasting: the gradient of a scalar parameter sums over the batch.
  { d: 'normal(mu, sigma)', at: { mu: [0.1, -0.4], sigma: 1.3 }, x: [0.5, 0.2] },
  { d: 'gamma(shape, rate)', at: { shape: [1.5, 3], rate: 0.7 }, x: 1.1 },
];

/** Each quantity's gradient; vector results (batches, mvnormal's mean) are summed to a scalar. */
function assertFamilyGradients(t: Test, c: GradientCase): void {
  const programs: Record<Quantity, string> = {
    log_prob: `sum(log_prob(${c.d}, ${JSON.stringify(c.x)}))`,
    entropy: `sum(entropy(${c.d}))`,
    mean: `sum(mean(${c.d}))`,
    variance: `sum(variance(${c.d}))`,
  };
  for (const [what, program] of Object.entries(programs) as [Quantity, string][]) {
    if (!(c.without ?? []).includes(what)) assertGradient(t, program, program, c.at);
  }
}

t.test('gradients of log_prob, entropy, mean and variance agree with central differences', (t) => {
  for (const c of cases) assertFamilyGradients(t, c);
  t.end();
});

t.test('every family has a row of gradients', (t) => {
  assertEveryFamilyCovered(t, 'gradients', cases.map((c) => familyOf(c.d)));
  t.end();
});
