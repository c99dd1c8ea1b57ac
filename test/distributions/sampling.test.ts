/**
 * Draws through eval of `sample(d, N)` and `rsample(d, N)` with fixed seeds: the sample mean
 * within 5 standard errors of mean(d) and the sample variance within 5 standard errors of
 * variance(d) (its standard error from the fourth central moment, √((μ₄ - σ⁴) / N)); mean(d)
 * and variance(d) are checked against scipy in closed-forms.test.ts. The relaxed families have
 * no closed-form moments: theirs come from quadrature (scipy, numpy). Heavy-tailed laws (cauchy,
 * halfcauchy, pareto with alpha <= 2) are checked by quartiles instead, within 5 standard
 * errors √(q (1 - q) / N) / f(x_q).
 *
 * Determinism: the same seed gives the same draws, bit for bit, and a `sample` request's
 * summary is the same whether computed at once or in chunks of whole blocks.
 */
import t, { type Test } from 'tap';
import { familyNamed } from '../../src/distributions/index.js';
import { SAMPLE_BLOCK, computeSync, sampleChunkSync, summariseSamples } from '../../src/index.js';
import type { Tensor } from '../../src/engine/index.js';
import { seedOf } from '../helpers.js';
import { assertEveryFamilyCovered, assertWithinStderr, familyOf, moments, request, valueOf } from './helpers.js';

/** Draws per case. */
const N = 50_000;
const K_MOMENTS = 5;

interface MomentCase {
  d: string;
  /** Exact moments where the family has no mean(d), variance(d): from quadrature. */
  mean?: number | number[];
  variance?: number | number[];
  /** mvnormal: the exact covariance of components 1 and 2, (L Lᵀ)₁₂. */
  covariance?: number;
  /** Heavy tails: [q, x_q] pairs, x_q from scipy's ppf, instead of moments. */
  quantiles?: readonly (readonly [number, number])[];
}

const cases: readonly MomentCase[] = [
  { d: 'normal(0.5, 2)' },
  { d: 'lognormal(0.2, 0.5)' },
  { d: 'uniform(-1, 3)' },
  { d: 'exponential(1.5)' },
  { d: 'laplace(0.5, 2)' },
  { d: 'gumbel(0.5, 2)' },
  // scipy.stats.cauchy(loc=0.5, scale=2).ppf([0.25, 0.5, 0.75])
  { d: 'cauchy(0.5, 2)', quantiles: [[0.25, -1.5000000000000004], [0.5, 0.5], [0.75, 2.5000000000000004]] },
  { d: 'halfnormal(1.5)' },
  // scipy.stats.halfcauchy(scale=1.5).ppf([0.25, 0.5, 0.75])
  { d: 'halfcauchy(1.5)', quantiles: [[0.25, 0.6213203435596426], [0.5, 1.4999999999999998], [0.75, 3.6213203435596424]] },
  { d: 'weibull(2, 1.5)' },
  { d: 'pareto(1.5, 6)' },
  // scipy.stats.pareto(b=1.5, scale=2).ppf([0.25, 0.5, 0.75]): alpha <= 2, no variance
  { d: 'pareto(2, 1.5)', quantiles: [[0.25, 2.4228274571095194], [0.5, 3.1748021039363987], [0.75, 5.039684199579493]] },
  { d: 'kumaraswamy(2, 3)' },
  { d: 'mvnormal([1, -2], [[1.5, 0], [0.4, 0.7]])', covariance: 1.5 * 0.4 },
  // E[z], Var[z] by scipy.integrate.quad over u of sigmoid((logit(0.3) + logit(u)) / 0.5)
  { d: 'relaxed_bernoulli(0.5, 0.3)', mean: 0.32525332985915567, variance: 0.12434684673986257 },
  // E[z_k], Var[z_k] for z = softmax((log p + g) / 0.5), g three Gumbels: the trapezoid rule in g in numpy (step 0.2, exact to 1e-14)
  {
    d: 'relaxed_categorical(0.5, [0.2, 0.3, 0.5])',
    mean: [0.21387596782209864, 0.3069367584814823, 0.47918727369641634],
    variance: [0.09311085639351432, 0.11916433664237366, 0.14047009201384902],
  },
  { d: 'bernoulli(0.3)' },
  { d: 'categorical([0.2, 0.5, 0.3])' },
  // Below rate 10 the sampler inverts the cdf; from 10, PTRS.
  { d: 'poisson(3.5)' },
  { d: 'poisson(60)' },
  // Inversion below n p = 10, BTRS from there, and p > 1/2 by symmetry.
  { d: 'binomial(10, 0.3)' },
  { d: 'binomial(200, 0.4)' },
  { d: 'binomial(100, 0.8)' },
  { d: 'geometric(0.3)' },
  { d: 'gamma(2.5, 1.5)' },
  { d: 'gamma(0.4, 2)' },
  { d: 'chi2(3)' },
  { d: 'beta(2, 3)' },
  { d: 'beta(0.5, 0.7)' },
  { d: 'dirichlet([1.5, 2, 0.7])' },
  { d: 'studentt(10, 0.5, 2)' },
];

/** Column j of N draws (a vector for scalar families, N×K for vector ones). */
function column(draws: Tensor, j: number): Float64Array {
  if (draws.shape.length === 1) return draws.data;
  const k = draws.shape[1];
  return Float64Array.from({ length: draws.shape[0] }, (_, i) => draws.data[i * k + j]);
}

/** An exact moment: the row's, or mean(d) / variance(d) by eval. */
function exact(t: Test, c: MomentCase, what: 'mean' | 'variance'): Float64Array | null {
  const given = c[what];
  if (given !== undefined) return Float64Array.from(typeof given === 'number' ? [given] : given);
  return valueOf(t, `${what}(${c.d})`, `${what}(${c.d})`)?.data ?? null;
}

function assertDrawMoments(t: Test, c: MomentCase, draw: 'sample' | 'rsample'): void {
  const program = `${draw}(${c.d}, ${N})`;
  const draws = valueOf(t, program, program, {}, seedOf(program));
  if (draws === null) return;
  if (c.quantiles !== undefined) {
    const sorted = Float64Array.from(draws.data).sort();
    for (const [q, xq] of c.quantiles) {
      const density = valueOf(t, `density of ${c.d} at ${xq}`, `exp(log_prob(${c.d}, ${xq}))`);
      if (density === null) continue;
      const se = Math.sqrt((q * (1 - q)) / N) / density.data[0];
      assertWithinStderr(t, `${program}: quantile ${q}`, sorted[Math.floor(q * N)], xq, se, K_MOMENTS);
    }
    return;
  }
  const mean = exact(t, c, 'mean');
  const variance = exact(t, c, 'variance');
  if (mean === null || variance === null) return;
  const columns = Array.from(mean, (_, j) => column(draws, j));
  columns.forEach((xs, j) => {
    const m = moments(xs);
    const which = mean.length === 1 ? '' : ` component ${j + 1}`;
    assertWithinStderr(t, `${program}${which}: mean`, m.mean, mean[j], Math.sqrt(m.variance / N), K_MOMENTS);
    assertWithinStderr(t, `${program}${which}: variance`, m.variance, variance[j], Math.sqrt((m.fourth - m.variance ** 2) / N), K_MOMENTS);
  });
  if (c.covariance !== undefined) {
    const [x, y] = columns;
    const mx = moments(x).mean;
    const my = moments(y).mean;
    const products = x.map((v, i) => (v - mx) * (y[i] - my));
    const p = moments(products);
    assertWithinStderr(t, `${program}: covariance of components 1 and 2`, p.mean, c.covariance, Math.sqrt(p.variance / N), K_MOMENTS);
  }
}

const hasRsample = (d: string): boolean => familyNamed(familyOf(d))?.rsample !== undefined;

t.test('draws have the moments (or the quartiles) of their law', (t) => {
  for (const c of cases) {
    assertDrawMoments(t, c, 'sample');
    if (hasRsample(c.d)) assertDrawMoments(t, c, 'rsample');
  }
  t.end();
});

t.test('every family has a row of moments', (t) => {
  assertEveryFamilyCovered(t, 'moments', cases.map((c) => familyOf(c.d)));
  t.end();
});

/** The same seed, the same draws to the bit; another seed, other draws. */
function assertRepeatable(t: Test, d: string): void {
  const program = `${hasRsample(d) ? 'rsample' : 'sample'}(${d}, 5)`;
  const first = request(t, program, 'eval', { program, seed: 20240601 });
  const again = request(t, program, 'eval', { program, seed: 20240601 });
  const other = request(t, program, 'eval', { program, seed: 20240602 });
  if (first === null || again === null || other === null) return;
  t.strictSame(JSON.stringify(again), JSON.stringify(first), `${program}: the same seed gives the same draws`);
  // bernoulli and categorical draws may repeat by chance over 5 draws; the others do not.
  if (!/^(bernoulli|categorical)/.test(d)) t.not(JSON.stringify(other.value), JSON.stringify(first.value), `${program}: another seed gives other draws`);
}

t.test('draws repeat exactly under the same seed', (t) => {
  for (const d of new Set(cases.map((c) => c.d))) assertRepeatable(t, d);
  t.end();
});

interface ChunkCase {
  name: string;
  body: Record<string, unknown>;
}

const SAMPLES = 3000;

const chunkCases: readonly ChunkCase[] = [
  { name: 'a compiled scalar program', body: { program: 'rsample(normal(mu, sigma))^2', at: { mu: 0.3, sigma: 1.7 } } },
  { name: 'a vector family, run sample by sample', body: { program: 'sum(rsample(mvnormal(m, L)).^2)', at: { m: [1, -2], L: [[1.5, 0], [0.4, 0.7]] } } },
  { name: 'an implicitly reparameterised family', body: { program: 'z = rsample(dirichlet(alpha)); z[1]', at: { alpha: [1.5, 2, 0.7] } } },
  { name: 'the score-function estimator of a discrete family', body: { program: 'sample(poisson(rate))', at: { rate: 2.7 }, options: { estimator: 'score' } } },
  { name: 'the samples listed', body: { program: 'rsample(gamma(k, r))', at: { k: 0.7, r: 2 }, options: { samples: true } } },
];

/** n = 3000 in one call, and as chunks [0, 1024), [1024, 2048), [2048, 3000) combined by summariseSamples. */
function assertChunksAgree(t: Test, c: ChunkCase): void {
  const body = { ...c.body, n: SAMPLES, seed: 77 };
  const whole = request(t, c.name, 'sample', body);
  if (whole === null) return;
  const starts = Array.from({ length: Math.ceil(SAMPLES / SAMPLE_BLOCK) }, (_, i) => i * SAMPLE_BLOCK);
  const chunks = starts.map((from) => sampleChunkSync(body, from, Math.min(SAMPLE_BLOCK, SAMPLES - from)));
  t.strictSame(JSON.parse(JSON.stringify(summariseSamples(chunks))), JSON.parse(JSON.stringify(whole)), `${c.name}: one call and ${chunks.length} chunks give the same summary, bit for bit`);
  const again = computeSync('sample', body);
  t.strictSame(again, whole, `${c.name}: the same request gives the same summary`);
}

t.test('a sample summary is the same at once and in chunks of whole blocks', (t) => {
  for (const c of chunkCases) assertChunksAgree(t, c);
  t.end();
});
