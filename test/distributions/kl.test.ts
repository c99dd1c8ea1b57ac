/**
 * kl(p, q) for every registered pair (klPairs(): same-family pairs, and p against a normal or
 * an exponential across families) and the pairs reached through a family's generalisation
 * (exponential and chi2 as gammas), against closed forms from the literature
 * and scipy.integrate.quad of p log(p / q) (sums of the pmfs for discrete pairs), computed
 * once with scipy 1.17 and kept here under comments naming the computation; gradients in
 * every parameter of p and q against central differences; the pairs whose divergence is
 * infinite (p's support not inside q's, or p without the moments q's log density needs) give
 * Infinity.
 */
import t, { type Test } from 'tap';
import { klPairs } from '../../src/index.js';
import { assertClose } from '../helpers.js';
import { assertGradient, familiesIn, valueOf, type Inputs } from './helpers.js';

/** Closed forms and exact sums agree to rounding. */
const TIGHT = { rtol: 1e-12, atol: 1e-13 };
/** scipy.integrate.quad's own accuracy (epsrel 1e-13 requested, about 1e-12 reached): looser. */
const QUADRATURE = 1e-10;

interface KlCase {
  program: string;
  at: Inputs;
  expected: number;
  rtol?: number;
  /** false where a parameter sits on the boundary of its constraint (a difference would leave it). */
  gradient?: false;
}

const cases: readonly KlCase[] = [
  // log(s2/s1) + (s1² + (m1-m2)²) / (2 s2²) - 1/2; scipy.integrate.quad of p log(p/q) agrees to 1e-12
  { program: 'kl(normal(m1, s1), normal(m2, s2))', at: { m1: 0.3, s1: 1.2, m2: -0.5, s2: 2 }, expected: 0.27082562376599073 },
  // scipy.integrate.quad of p log(p/q) with scipy.stats.lognorm(s, scale=exp(mu)); equals the normals' closed form
  { program: 'kl(lognormal(m1, s1), lognormal(m2, s2))', at: { m1: 0.2, s1: 0.5, m2: 0.5, s2: 0.8 }, expected: 0.23562862924573558 },
  // scipy.integrate.quad of p log(p/q), scipy.stats.halfnorm(scale); = log(s2/s1) + s1²/(2 s2²) - 1/2
  { program: 'kl(halfnormal(s1), halfnormal(s2))', at: { s1: 1.2, s2: 0.7 }, expected: 0.430391254369354 },
  // log((hi2 - lo2) / (hi1 - lo1)) when [lo1, hi1) ⊆ [lo2, hi2)
  { program: 'kl(uniform(lo1, hi1), uniform(lo2, hi2))', at: { lo1: 0, hi1: 1, lo2: -1, hi2: 2 }, expected: 1.0986122886681098 },
  // p has mass above q's support: infinite
  { program: 'kl(uniform(lo1, hi1), uniform(lo2, hi2))', at: { lo1: -0.5, hi1: 0.5, lo2: -1, hi2: 0.4 }, expected: Infinity },
  // p has mass below q's support: infinite
  { program: 'kl(uniform(lo1, hi1), uniform(lo2, hi2))', at: { lo1: 0, hi1: 2, lo2: 0.5, hi2: 3 }, expected: Infinity },
  // log(r1/r2) + r2/r1 - 1; scipy.integrate.quad with scipy.stats.expon(scale=1/rate) agrees to 1e-12
  { program: 'kl(exponential(r1), exponential(r2))', at: { r1: 1.5, r2: 0.4 }, expected: 0.5884225066489861 },
  // scipy.integrate.quad of p log(p/q), scipy.stats.laplace(loc, scale), split at both locations
  { program: 'kl(laplace(l1, s1), laplace(l2, s2))', at: { l1: 0.3, s1: 1.2, l2: -0.5, s2: 2 }, expected: 0.21887589518554595, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q), scipy.stats.gumbel_r(loc, scale)
  { program: 'kl(gumbel(l1, s1), gumbel(l2, s2))', at: { l1: 0.3, s1: 1.2, l2: -0.5, s2: 2 }, expected: 0.27888060787345237, rtol: QUADRATURE },
  // Chyzak and Nielsen 2019: log(((s1 + s2)² + (l1 - l2)²) / (4 s1 s2)); scipy.integrate.quad agrees to 1e-10
  { program: 'kl(cauchy(l1, s1), cauchy(l2, s2))', at: { l1: 0.3, s1: 1.2, l2: -0.5, s2: 2 }, expected: 0.12516314295400638 },
  // scipy.integrate.quad of p log(p/q) over [1.5, ∞), scipy.stats.pareto(b=alpha, scale)
  { program: 'kl(pareto(x1, a1), pareto(x2, a2))', at: { x1: 1.5, a1: 3, x2: 1, a2: 2 }, expected: 0.8830619909911597, rtol: QUADRATURE },
  // p has mass below q's scale: infinite
  { program: 'kl(pareto(x1, a1), pareto(x2, a2))', at: { x1: 1, a1: 3, x2: 1.5, a2: 2 }, expected: Infinity },
  // ½ (tr(Σ2⁻¹ Σ1) + (μ2-μ1)ᵀ Σ2⁻¹ (μ2-μ1) - k + log(det Σ2 / det Σ1)), Σ = L Lᵀ, by numpy.linalg
  { program: 'kl(mvnormal([a1, a2], [[a11, 0], [a21, a22]]), mvnormal([b1, b2], [[b11, 0], [b21, b22]]))', at: { a1: 1, a2: -2, a11: 1.5, a21: 0.4, a22: 0.7, b1: 0, b2: -1, b11: 1, b21: -0.3, b22: 1.2 }, expected: 1.3496772259578556 },
  // A batch of two p against one q, summed: the case above plus kl(N(0, I), q), by numpy.linalg
  { program: 'sum(kl(mvnormal([[a1, a2], [0, 0]], [[[a11, 0], [a21, a22]], [[1, 0], [0, 1]]]), mvnormal([b1, b2], [[b11, 0], [b21, b22]])))', at: { a1: 1, a2: -2, a11: 1.5, a21: 0.4, a22: 0.7, b1: 0, b2: -1, b11: 1, b21: -0.3, b22: 1.2 }, expected: 1.7576932271962549 },
  // The same in 200 dimensions, Σ1 = 1e-4 I and Σ2 = 4e-4 I, log-determinants by numpy.linalg.slogdet (det itself underflows)
  { program: 'kl(mvnormal(zeros(200), s1 * identity(200)), mvnormal(0.01 * ones(200), s2 * identity(200)))', at: { s1: 0.01, s2: 0.02 }, expected: 88.62943611198523 },
  // scipy.stats.entropy([0.3, 0.7], [0.6, 0.4])
  { program: 'kl(bernoulli(p1), bernoulli(p2))', at: { p1: 0.3, p2: 0.6 }, expected: 0.18378689738681217 },
  // scipy.stats.entropy([0, 1], [0.5, 0.5]): 0 log 0 = 0
  { program: 'kl(bernoulli(p1), bernoulli(p2))', at: { p1: 0, p2: 0.5 }, expected: 0.6931471805599453, gradient: false },
  // scipy.stats.entropy([0.2, 0.5, 0.3], [0.4, 0.4, 0.2])
  { program: 'kl(categorical(w1 / sum(w1)), categorical(w2 / sum(w2)))', at: { w1: [0.2, 0.5, 0.3], w2: [0.4, 0.4, 0.2] }, expected: 0.0945818719775651 },
  // Σ_k p(k) (log p(k) - log q(k)) over k < 400, scipy.stats.poisson
  { program: 'kl(poisson(r1), poisson(r2))', at: { r1: 3.5, r2: 2 }, expected: 0.45865525777397975 },
  // Σ_k p(k) (log p(k) - log q(k)) over k < 5000, scipy.stats.geom(p, loc=-1)
  { program: 'kl(geometric(p1), geometric(p2))', at: { p1: 0.3, p2: 0.6 }, expected: 0.6126229912893735 },
  // scipy.stats.entropy(binom(10, 0.3).pmf(k), binom(10, 0.6).pmf(k)), k = 0..10
  { program: 'kl(binomial(10, p1), binomial(10, p2))', at: { p1: 0.3, p2: 0.6 }, expected: 1.837868973868123 },
  // scipy.integrate.quad of p log(p/q), scipy.stats.gamma(a=shape, scale=1/rate)
  { program: 'kl(gamma(k1, r1), gamma(k2, r2))', at: { k1: 2.5, r1: 1.5, k2: 1.2, r2: 0.7 }, expected: 0.12528140148552386, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q), scipy.stats.beta(a, b)
  { program: 'kl(beta(a1, b1), beta(a2, b2))', at: { a1: 2, b1: 3, a2: 0.5, b2: 0.7 }, expected: 0.43684626258101633, rtol: QUADRATURE },
  // closed form (Penny 2001) with scipy.special.gammaln, digamma; scipy.integrate.dblquad over the simplex agrees to 2e-11
  { program: 'kl(dirichlet(c1), dirichlet(c2))', at: { c1: [1.5, 2, 0.7], c2: [1, 2.5, 1.2] }, expected: 0.4439083041505265 },
  // exponential as gamma(1, rate): scipy.integrate.quad of p log(p/q)
  { program: 'kl(exponential(r1), gamma(k2, r2))', at: { r1: 1.5, k2: 1.2, r2: 0.7 }, expected: 0.41130377209993385, rtol: QUADRATURE },
  // exponential as gamma(1, rate): scipy.integrate.quad of p log(p/q)
  { program: 'kl(gamma(k1, r1), exponential(r2))', at: { k1: 2.5, r1: 1.5, r2: 0.4 }, expected: 0.2584745971439317, rtol: QUADRATURE },
  // chi2(k) as gamma(k/2, 1/2): scipy.integrate.quad of p log(p/q), scipy.stats.chi2
  { program: 'kl(chi2(d1), chi2(d2))', at: { d1: 3, d2: 5 }, expected: 0.36897513412958804, rtol: QUADRATURE },
  // chi2(k) as gamma(k/2, 1/2): scipy.integrate.quad of p log(p/q)
  { program: 'kl(chi2(d1), gamma(k2, r2))', at: { d1: 3, k2: 1.2, r2: 0.7 }, expected: 0.24258845588004713, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q), scipy.stats.gamma(2.5, scale=1/1.3) against scipy.stats.chi2(3): through chi2's gamma form
  { program: 'kl(gamma(k1, r1), chi2(d2))', at: { k1: 2.5, r1: 1.3, d2: 3 }, expected: 0.19249716161669478, rtol: QUADRATURE },
  // both as gammas: scipy.integrate.quad of p log(p/q)
  { program: 'kl(exponential(r1), chi2(d2))', at: { r1: 0.4, d2: 3 }, expected: 0.08311026784420643, rtol: QUADRATURE },
  // Across families: p against a normal from p's entropy, mean and variance; p on [0, ∞) against an exponential.
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(lognormal(m1, s1), normal(m, s))', at: { m1: 0.2, s1: 0.5, m: 1, s: 1.5 }, expected: 0.5522882484893202, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(uniform(lo, hi), normal(m, s))', at: { lo: -0.5, hi: 2, m: 0.3, s: 1.2 }, expected: 0.43612676553187957, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(exponential(r), normal(m, s))', at: { r: 1.3, m: 0.4, s: 1.7 }, expected: 0.8378907956682626, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(laplace(l, b), normal(m, s))', at: { l: 0.3, b: 1.2, m: -0.5, s: 2 }, expected: 0.17661697641071805, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(gumbel(l, b), normal(m, s))', at: { l: 0.3, b: 1.2, m: -0.5, s: 2 }, expected: 0.4271404099635684, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(halfnormal(c), normal(m, s))', at: { c: 1.2, m: 0.5, s: 1.3 }, expected: 0.48991726309636974, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(weibull(c, k), normal(m, s))', at: { c: 1.5, k: 2.2, m: 1, s: 0.8 }, expected: 0.16564452830302706, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(pareto(c, a), normal(m, s))', at: { c: 1.2, a: 3.5, m: 2, s: 1.5 }, expected: 1.2513529895221878, rtol: QUADRATURE },
  // alpha <= 2: p has no variance, so E_p[-log q] is infinite
  { program: 'kl(pareto(c, a), normal(m, s))', at: { c: 1.2, a: 1.5, m: 2, s: 1.5 }, expected: Infinity },
  // scipy.integrate.quad of p log(p/q), log p = log(a b) + (a-1) log x + (b-1) log1p(-x^a)
  { program: 'kl(kumaraswamy(a, b), normal(m, s))', at: { a: 1.7, b: 2.6, m: 0.4, s: 0.3 }, expected: 0.14294688046888993, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(gamma(k, r), normal(m, s))', at: { k: 2.5, r: 1.5, m: 1, s: 1.2 }, expected: 0.3169007453918608, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(chi2(d), normal(m, s))', at: { d: 3.2, m: 2, s: 2.5 }, expected: 0.35750232187972397, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(beta(a, b), normal(m, s))', at: { a: 2, b: 3, m: 0.5, s: 0.4 }, expected: 0.39380445111851814, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(lognormal(m1, s1), exponential(r))', at: { m1: 0.2, s1: 0.5, r: 0.8 }, expected: 0.4045767154540837, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(halfnormal(c), exponential(r))', at: { c: 1.2, r: 0.9 }, expected: 0.05896293188623884, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(weibull(c, k), exponential(r))', at: { c: 1.5, k: 2.2, r: 0.6 }, expected: 0.3760352522991738, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(pareto(c, a), exponential(r))', at: { c: 1.2, a: 3.5, r: 0.5 }, expected: 1.317874306547074, rtol: QUADRATURE },
  // alpha <= 1: p has no mean, so E_p[-log q] is infinite
  { program: 'kl(pareto(c, a), exponential(r))', at: { c: 1.2, a: 0.8, r: 0.5 }, expected: Infinity },
  // scipy.integrate.quad of p log(p/q), log p = log(a b) + (a-1) log x + (b-1) log1p(-x^a)
  { program: 'kl(kumaraswamy(a, b), exponential(r))', at: { a: 1.7, b: 2.6, r: 2 }, expected: 0.3407149908240297, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(chi2(d), exponential(r))', at: { d: 3.2, r: 0.4 }, expected: 0.09136378867505142, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(beta(a, b), exponential(r))', at: { a: 2, b: 3, r: 1.5 }, expected: 0.42944154167983584, rtol: QUADRATURE },
  // scipy.integrate.quad of p log(p/q)
  { program: 'kl(uniform(lo, hi), exponential(r))', at: { lo: 0.5, hi: 2, r: 0.7 }, expected: 0.826209835830568, rtol: QUADRATURE },
  // the uniform reaches below 0, where the exponential has no mass: infinite
  { program: 'kl(uniform(lo, hi), exponential(r))', at: { lo: -0.5, hi: 2, r: 0.7 }, expected: Infinity },
];

function assertKl(t: Test, c: KlCase): void {
  const label = `${c.program} at ${JSON.stringify(c.at)}`;
  const got = valueOf(t, label, c.program, c.at);
  if (got !== null) assertClose(t, got, c.expected, label, c.rtol === undefined ? TIGHT : { rtol: c.rtol, atol: 1e-13 });
  if (Number.isFinite(c.expected) && c.gradient !== false) assertGradient(t, c.program, c.program, c.at);
}

t.test('kl agrees with closed forms and quadrature, and its gradients with central differences', (t) => {
  for (const c of cases) assertKl(t, c);
  t.end();
});

t.test('every registered pair has a case', (t) => {
  const covered = new Set(cases.map((c) => familiesIn(c.program).join('|')));
  for (const [p, q] of klPairs()) t.ok(covered.has(`${p}|${q}`), `kl(${p}, ${q}) has a case`);
  t.end();
});
