/**
 * The gradient estimators of the sample endpoint, with fixed seeds. Reparameterised draws
 * (pathwise, implicit, relaxed): the Monte Carlo estimate of d E[f(z)] / dθ for f(z) = z and
 * z² (vector families: one component, or the sum of squares) is within 4 of the endpoint's
 * own standard errors of the exact derivative, which the grad endpoint gives of mean(d) and
 * variance(d) + mean(d)² (themselves checked against scipy in closed-forms.test.ts); the
 * relaxed families have no closed-form moments, so theirs come from quadrature in scipy,
 * differentiated by central differences. The score-function estimator agrees too, for
 * discrete families and continuous ones, and where both apply its standard error is larger.
 *
 * Vector families run sample by sample through the engine, which is slower than the compiled
 * scalar samplers: each run averages 100 draws, so 400 runs are 40,000 draws.
 */
import t, { type Test } from 'tap';
import { families } from '../../src/distributions/index.js';
import { tensorFromJson } from '../helpers.js';
import { assertWithinStderr, familyOf, request, type Inputs, type Json, type Response } from './helpers.js';

const N = 40_000;
const RUNS = 400;
const K_STDERR = 4;

interface EstimatorCase {
  name: string;
  /** One run's estimate of E[f(z)]. */
  program: string;
  at: Inputs;
  /** E[f(z)] in closed form, whose gradient the grad endpoint gives; or that gradient, from quadrature. */
  exact: string | Readonly<Record<string, Json>>;
  n: number;
}

/** E[z] and E[z²] of a scalar family, against mean(d) and variance(d) + mean(d)². */
const scalarCases = (d: string, at: Inputs, n = N): EstimatorCase[] => [
  { name: `${d}: d E[z]`, program: `rsample(${d})`, at, exact: `mean(${d})`, n },
  { name: `${d}: d E[z^2]`, program: `rsample(${d})^2`, at, exact: `variance(${d}) + mean(${d})^2`, n },
];

/** The gamma sampler and its implicit gradient cost more per draw than an inverse cdf. */
const GAMMA_N = 20_000;

const reparamCases: readonly EstimatorCase[] = [
  ...scalarCases('normal(mu, sigma)', { mu: 0.3, sigma: 1.7 }),
  ...scalarCases('lognormal(mu, sigma)', { mu: 0.2, sigma: 0.5 }),
  ...scalarCases('uniform(lo, hi)', { lo: -0.5, hi: 2 }),
  ...scalarCases('exponential(rate)', { rate: 1.3 }),
  ...scalarCases('laplace(loc, scale)', { loc: 0.3, scale: 1.2 }),
  ...scalarCases('gumbel(loc, scale)', { loc: 0.3, scale: 1.2 }),
  ...scalarCases('halfnormal(scale)', { scale: 1.4 }),
  ...scalarCases('weibull(scale, k)', { scale: 1.5, k: 2.2 }),
  // alpha > 4: the estimate of d E[z²] has a finite variance.
  ...scalarCases('pareto(scale, alpha)', { scale: 1.2, alpha: 6 }),
  ...scalarCases('kumaraswamy(a, b)', { a: 1.7, b: 2.6 }),
  ...scalarCases('gamma(shape, rate)', { shape: 2.5, rate: 1.5 }, GAMMA_N),
  ...scalarCases('gamma(shape, rate)', { shape: 0.6, rate: 2 }, GAMMA_N),
  ...scalarCases('chi2(df)', { df: 3.2 }, GAMMA_N),
  ...scalarCases('beta(a, b)', { a: 2, b: 3 }, GAMMA_N),
  // df > 4: the estimate of d E[z²] has a finite variance.
  ...scalarCases('studentt(df, loc, scale)', { df: 9, loc: 0.5, scale: 2 }, GAMMA_N),
  {
    name: 'mvnormal: d E[Σ z]',
    program: 'mean(sum(rsample(mvnormal(m, L), 100), 2))',
    at: { m: [1, -2], L: [[1.5, 0], [0.4, 0.7]] },
    exact: 'sum(mean(mvnormal(m, L)))',
    n: RUNS,
  },
  {
    name: 'mvnormal: d E[Σ z²]',
    program: 'mean(sum(rsample(mvnormal(m, L), 100).^2, 2))',
    at: { m: [1, -2], L: [[1.5, 0], [0.4, 0.7]] },
    exact: 'd = mvnormal(m, L); sum(variance(d) + mean(d).^2)',
    n: RUNS,
  },
  {
    name: 'dirichlet: d E[z₁]',
    program: 'z = rsample(dirichlet(alpha), 100); mean(z[:, 1])',
    at: { alpha: [1.5, 2, 0.7] },
    exact: 'm = mean(dirichlet(alpha)); m[1]',
    n: RUNS,
  },
  {
    name: 'dirichlet: d E[Σ z²]',
    program: 'mean(sum(rsample(dirichlet(alpha), 100).^2, 2))',
    at: { alpha: [1.5, 2, 0.7] },
    exact: 'd = dirichlet(alpha); sum(variance(d) + mean(d).^2)',
    n: RUNS,
  },
  // d/dθ of scipy.integrate.quad over u of f(sigmoid((logit(p) + logit(u)) / t)), by central differences (h = 1e-5).
  { name: 'relaxed_bernoulli: d E[z]', program: 'rsample(relaxed_bernoulli(t, p))', at: { t: 0.5, p: 0.3 }, exact: { t: 0.07683444889217128, p: 0.9058738527689679 }, n: N },
  { name: 'relaxed_bernoulli: d E[z²]', program: 'rsample(relaxed_bernoulli(t, p))^2', at: { t: 0.5, p: 0.3 }, exact: { t: -0.0798122150910685, p: 0.7786720947450253 }, n: N },
  // d/dθ of E[f(softmax((log p + g) / t))] over three Gumbels g by the trapezoid rule in numpy (step 0.2,
  // exact to 1e-14), by central differences (h = 1e-4), p's elements free (not renormalised).
  {
    name: 'relaxed_categorical: d E[z₁]',
    program: 'z = rsample(relaxed_categorical(t, p), 100); mean(z[:, 1])',
    at: { t: 0.5, p: [0.2, 0.3, 0.5] },
    exact: { t: 0.04676624827421039, p: [0.7502218343148626, -0.19829230824011668, -0.18111334605580565] },
    n: RUNS,
  },
  {
    name: 'relaxed_categorical: d E[Σ z²]',
    program: 'mean(sum(rsample(relaxed_categorical(t, p), 100).^2, 2))',
    at: { t: 0.5, p: [0.2, 0.3, 0.5] },
    exact: { t: -0.4466735184854853, p: [-0.12726664418871714, -0.04337924982777963, 0.07693419651233491] },
    n: RUNS,
  },
];

/** Families with rsample left out here, and why. */
const NOT_ESTIMATED: Readonly<Record<string, string>> = {
  cauchy: 'no finite mean',
  halfcauchy: 'no finite mean',
};

/** The exact gradient of E[f(z)]: the grad endpoint on the closed form, or the row's numbers. */
function exactGradient(t: Test, c: EstimatorCase): Record<string, unknown> | null {
  if (typeof c.exact !== 'string') return c.exact;
  const r = request(t, `${c.name}: grad of ${c.exact}`, 'grad', { program: c.exact, at: c.at });
  return r === null ? null : (r.grad as Record<string, unknown>);
}

function sampleOf(t: Test, c: EstimatorCase, estimator: 'reparam' | 'score', program = c.program): Response | null {
  return request(t, `${c.name} (${estimator})`, 'sample', { program, at: c.at, n: c.n, seed: 4242, options: { estimator, samples: false } });
}

/** Every element of the estimated gradient within K_STDERR of the endpoint's standard errors of the exact one. */
function assertEstimate(t: Test, label: string, response: Response, exact: Record<string, unknown>): void {
  const mean = (response.mean as { grad: Record<string, unknown> }).grad;
  const stderr = (response.stderr as { grad: Record<string, unknown> }).grad;
  for (const [name, value] of Object.entries(exact)) {
    const want = tensorFromJson(value);
    const got = tensorFromJson(mean[name]);
    const se = tensorFromJson(stderr[name]);
    for (let k = 0; k < want.size; k++) {
      assertWithinStderr(t, `${label}: d/d${name}${want.size === 1 ? '' : `[${k + 1}]`}`, got.data[k], want.data[k], se.data[k], K_STDERR);
    }
  }
}

function assertReparam(t: Test, c: EstimatorCase): void {
  const exact = exactGradient(t, c);
  const estimate = sampleOf(t, c, 'reparam');
  if (exact !== null && estimate !== null) assertEstimate(t, `${c.name} by rsample`, estimate, exact);
}

t.test('reparameterised estimates of d E[f(z)] agree with the exact derivative', (t) => {
  for (const c of reparamCases) assertReparam(t, c);
  t.end();
});

t.test('every family with rsample has reparameterised cases', (t) => {
  const covered = new Set(reparamCases.map((c) => familyOf(c.program)));
  const lacking = families.filter((f) => f.rsample !== undefined && !covered.has(f.name) && !(f.name in NOT_ESTIMATED)).map((f) => f.name);
  t.same(lacking, [], 'no family with rsample lacks a case');
  t.end();
});

interface ScoreCase extends EstimatorCase {
  /** The same expectation by rsample, whose standard errors must be smaller. */
  reparam?: string;
}

/** E[z] and E[z²] of a family by the score-function estimator (sample(d) carries no gradient). */
const scoreCases = (d: string, at: Inputs, n: number, withReparam: boolean): ScoreCase[] => [
  { name: `${d}: d E[z]`, program: `sample(${d})`, at, exact: `mean(${d})`, n, ...(withReparam ? { reparam: `rsample(${d})` } : {}) },
  { name: `${d}: d E[z^2]`, program: `sample(${d})^2`, at, exact: `variance(${d}) + mean(${d})^2`, n, ...(withReparam ? { reparam: `rsample(${d})^2` } : {}) },
];

const SCORE_N = 50_000;

const scoreFunctionCases: readonly ScoreCase[] = [
  ...scoreCases('normal(mu, sigma)', { mu: 0.3, sigma: 1.7 }, SCORE_N, true),
  ...scoreCases('exponential(rate)', { rate: 1.3 }, SCORE_N, true),
  ...scoreCases('bernoulli(p)', { p: 0.35 }, SCORE_N, false),
  ...scoreCases('poisson(rate)', { rate: 2.7 }, 20_000, false),
  // d E[z] / dp for p on the simplex, its elements free: [1, 2, 3].
  { name: 'categorical(p): d E[z]', program: 'sample(categorical(p))', at: { p: [0.2, 0.5, 0.3] }, exact: 'mean(categorical(p))', n: 10_000 },
  // A continuous family whose draws are relaxed: both estimators apply.
  { ...reparamCases.find((c) => c.name === 'relaxed_bernoulli: d E[z]')!, program: 'sample(relaxed_bernoulli(t, p))', reparam: 'rsample(relaxed_bernoulli(t, p))' },
];

function assertScore(t: Test, c: ScoreCase): void {
  const exact = exactGradient(t, c);
  const score = sampleOf(t, c, 'score');
  if (exact === null || score === null) return;
  assertEstimate(t, `${c.name} by the score function`, score, exact);
  if (c.reparam === undefined) return;
  const reparam = sampleOf(t, c, 'reparam', c.reparam);
  if (reparam === null) return;
  const scoreStderr = (score.stderr as { grad: Record<string, number> }).grad;
  const reparamStderr = (reparam.stderr as { grad: Record<string, number> }).grad;
  for (const name of Object.keys(c.at)) {
    t.ok(scoreStderr[name] > reparamStderr[name], `${c.name}: d/d${name} has a larger standard error by the score function (${scoreStderr[name]}) than by rsample (${reparamStderr[name]})`);
  }
}

t.test('score-function estimates agree with the exact derivative, with larger standard errors than rsample', (t) => {
  for (const c of scoreFunctionCases) assertScore(t, c);
  t.end();
});
