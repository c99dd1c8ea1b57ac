/**
 * Kullback-Leibler divergences KL(p ‖ q) in closed form, for the pairs torch.distributions
 * has (its `kl.py`, whose formulas these follow). A pair is registered once; a family that is
 * a special case of another (exponential and chi2 are gammas) falls back to the general pair.
 */
import * as E from '../engine/index.js';
import { EngineError, Tensor, type Context, type Value } from '../engine/index.js';
import { EULER_GAMMA } from './continuous.js';
import type { Distribution } from './distribution.js';
import { logDetTril, solveLower, solveTril } from './multivariate.js';

const { add, sub, mul, div, neg, log, log1p, exp, square, sum, lgamma, where } = E;

type KlRule = (cx: Context, p: Distribution, q: Distribution) => Value;

const rules = new Map<string, KlRule>();

function defineKl(p: string, q: string, rule: KlRule): void {
  const key = `${p}|${q}`;
  if (rules.has(key)) throw new Error(`kl(${p}, ${q}) is defined twice`);
  rules.set(key, rule);
}

/** Special cases re-expressed as their general family, for pairs not registered directly. */
const generalisations = new Map<string, { readonly to: string; readonly as: (cx: Context, d: Distribution) => Distribution }>();

/** `family` is a special case of `to`: `as` re-expresses one of its distributions. */
export function defineGeneralisation(family: string, to: string, as: (cx: Context, d: Distribution) => Distribution): void {
  generalisations.set(family, { to, as });
}

/** The names a family's distribution is tried as: itself, then its generalisation. */
const namesOf = (family: string): string[] => [family, ...(generalisations.has(family) ? [generalisations.get(family)!.to] : [])];

/** Every pair kl has a closed form for, directly or through a generalisation, for `GET /v1/distributions`. */
export function klPairs(): string[][] {
  const families = new Set([...[...rules.keys()].flatMap((k) => k.split('|')), ...generalisations.keys()]);
  const pairs: string[][] = [];
  for (const p of families) {
    for (const q of families) {
      if (namesOf(p).some((a) => namesOf(q).some((b) => rules.has(`${a}|${b}`)))) pairs.push([p, q]);
    }
  }
  return pairs;
}

/** KL(p ‖ q), broadcast over the two batch shapes. */
export function kl(cx: Context, p: Distribution, q: Distribution): Value {
  const candidates: [Distribution, Distribution][] = [[p, q]];
  const gp = generalisations.get(p.family.name)?.as;
  const gq = generalisations.get(q.family.name)?.as;
  if (gq !== undefined) candidates.push([p, gq(cx, q)]);
  if (gp !== undefined) candidates.push([gp(cx, p), q]);
  if (gp !== undefined && gq !== undefined) candidates.push([gp(cx, p), gq(cx, q)]);
  for (const [a, b] of candidates) {
    const rule = rules.get(`${a.family.name}|${b.family.name}`);
    if (rule !== undefined) return rule(cx, a, b);
  }
  const known = klPairs()
    .filter(([a]) => a === p.family.name)
    .map(([, b]) => b);
  throw new EngineError(
    'INVALID_ARGUMENT',
    `kl: no closed form for kl(${p.family.name}, ${q.family.name})${known.length === 0 ? '' : `; kl(${p.family.name}, q) is known for q = ${known.join(', ')}`}`,
    { op: 'kl' },
  );
}

/** x log(x / y), with 0 log 0 = 0 (and x log(x / 0) = ∞ for x > 0). */
function xlogRatio(cx: Context, x: Value, y: Value): Value {
  return where(cx, E.eq(cx, x, 0), 0, mul(cx, x, sub(cx, log(cx, x), log(cx, y))));
}

const normalKl = (cx: Context, m1: Value, s1: Value, m2: Value, s2: Value): Value =>
  sub(cx, add(cx, log(cx, div(cx, s2, s1)), div(cx, add(cx, square(cx, s1), square(cx, sub(cx, m1, m2))), mul(cx, 2, square(cx, s2)))), 0.5);

defineKl('normal', 'normal', (cx, p, q) => normalKl(cx, p.p(0), p.p(1), q.p(0), q.p(1)));
defineKl('lognormal', 'lognormal', (cx, p, q) => normalKl(cx, p.p(0), p.p(1), q.p(0), q.p(1)));
defineKl('halfnormal', 'halfnormal', (cx, p, q) => normalKl(cx, Tensor.scalar(0), p.p(0), Tensor.scalar(0), q.p(0)));

defineKl('uniform', 'uniform', (cx, p, q) => {
  const [a1, b1] = p.params;
  const [a2, b2] = q.params;
  const covered = E.and(cx, E.le(cx, a2, a1), E.le(cx, b1, b2));
  return where(cx, covered, log(cx, div(cx, sub(cx, b2, a2), sub(cx, b1, a1))), Infinity);
});

defineKl('exponential', 'exponential', (cx, p, q) => {
  const ratio = div(cx, q.p(0), p.p(0));
  return sub(cx, sub(cx, ratio, log(cx, ratio)), 1);
});

defineKl('laplace', 'laplace', (cx, p, q) => {
  const [l1, s1] = p.params;
  const [l2, s2] = q.params;
  const ratio = div(cx, s1, s2);
  const gap = E.abs(cx, sub(cx, l1, l2));
  const t3 = mul(cx, ratio, exp(cx, neg(cx, div(cx, gap, s1))));
  return sub(cx, add(cx, add(cx, neg(cx, log(cx, ratio)), div(cx, gap, s2)), t3), 1);
});

defineKl('gumbel', 'gumbel', (cx, p, q) => {
  const [l1, s1] = p.params;
  const [l2, s2] = q.params;
  const c1 = div(cx, s1, s2);
  const c2 = div(cx, l2, s2);
  const c3 = div(cx, l1, s2);
  const t1 = add(cx, sub(cx, neg(cx, log(cx, c1)), c2), c3);
  const t3 = exp(cx, sub(cx, add(cx, c2, lgamma(cx, add(cx, c1, 1))), c3));
  return sub(cx, add(cx, add(cx, t1, mul(cx, c1, EULER_GAMMA)), t3), 1 + EULER_GAMMA);
});

defineKl('cauchy', 'cauchy', (cx, p, q) => {
  const [l1, s1] = p.params;
  const [l2, s2] = q.params;
  return log(cx, div(cx, add(cx, square(cx, add(cx, s1, s2)), square(cx, sub(cx, l1, l2))), mul(cx, 4, mul(cx, s1, s2))));
});

defineKl('pareto', 'pareto', (cx, p, q) => {
  const [x1, a1] = p.params;
  const [x2, a2] = q.params;
  const alphaRatio = div(cx, a2, a1);
  const finite = sub(cx, add(cx, sub(cx, mul(cx, a2, log(cx, div(cx, x1, x2))), log(cx, alphaRatio)), alphaRatio), 1);
  return where(cx, E.lt(cx, x1, x2), Infinity, finite);
});

// ½ [|L₂⁻¹ L₁|²_F + |L₂⁻¹ (μ₂ - μ₁)|² - k] + log det L₂ - log det L₁.
defineKl('mvnormal', 'mvnormal', (cx, p, q) => {
  const [m1, l1] = p.params;
  const [m2, l2] = q.params;
  const k = p.eventShape[0];
  if (k !== q.eventShape[0]) {
    throw new EngineError('SHAPE_MISMATCH', `kl: the two mvnormal have ${k} and ${q.eventShape[0]} dimensions`, { op: 'kl' });
  }
  let trace: Value;
  let maha: Value;
  if (l1.shape.length === 2 && l2.shape.length === 2) {
    // As PyTorch, L₁ is read whole (it is the right-hand side of solve_triangular), L₂ as a triangle.
    trace = sum(cx, square(cx, solveLower(cx, l2, l1)));
    maha = sum(cx, square(cx, solveLower(cx, l2, sub(cx, m2, m1))));
  } else {
    // The columns of L₁ as rows, each solved against L₂ (broadcast over them).
    const columns = solveTril(cx, E.unsqueeze(cx, l2, l2.shape.length - 2), E.transpose(cx, l1));
    trace = sum(cx, sum(cx, square(cx, columns), [columns.shape.length - 1]), [columns.shape.length - 2]);
    const y = solveTril(cx, l2, sub(cx, m2, m1));
    maha = sum(cx, square(cx, y), [y.shape.length - 1]);
  }
  const logDets = sub(cx, logDetTril(cx, l2), logDetTril(cx, l1));
  return add(cx, mul(cx, 0.5, sub(cx, add(cx, trace, maha), k)), logDets);
});

defineKl('bernoulli', 'bernoulli', (cx, p, q) => {
  const [p1] = p.params;
  const [p2] = q.params;
  return add(cx, xlogRatio(cx, p1, p2), xlogRatio(cx, sub(cx, 1, p1), sub(cx, 1, p2)));
});

defineKl('categorical', 'categorical', (cx, p, q) => {
  const [p1] = p.params;
  const [p2] = q.params;
  if (p1.shape[p1.shape.length - 1] !== p2.shape[p2.shape.length - 1]) {
    throw new EngineError('SHAPE_MISMATCH', 'kl: the two categorical have different numbers of categories', { op: 'kl' });
  }
  return sum(cx, xlogRatio(cx, p1, p2), [Math.max(p1.shape.length, p2.shape.length) - 1]);
});

defineKl('poisson', 'poisson', (cx, p, q) => {
  const [r1] = p.params;
  const [r2] = q.params;
  return sub(cx, xlogRatio(cx, r1, r2), sub(cx, r1, r2));
});

// -H(p) - log q - E_p[x] log(1 - q), with E_p[x] = (1 - p) / p.
defineKl('geometric', 'geometric', (cx, p, q) => {
  const [p1] = p.params;
  const [p2] = q.params;
  const entropy = p.family.entropy!(cx, p);
  const expected = div(cx, sub(cx, 1, p1), p1);
  return sub(cx, sub(cx, neg(cx, entropy), log(cx, p2)), mul(cx, expected, log1p(cx, neg(cx, p2))));
});

defineKl('binomial', 'binomial', (cx, p, q) => {
  const [n1, p1] = p.params;
  const [n2, p2] = q.params;
  const same = E.concrete(E.eq(cx, n1, n2)).data.every((v) => v !== 0);
  if (!same) throw new EngineError('INVALID_ARGUMENT', 'kl: binomials with different total_count have no finite closed form', { op: 'kl' });
  return mul(cx, n1, add(cx, xlogRatio(cx, p1, p2), xlogRatio(cx, sub(cx, 1, p1), sub(cx, 1, p2))));
});

defineKl('gamma', 'gamma', (cx, p, q) => {
  const [k1, r1] = p.params;
  const [k2, r2] = q.params;
  const t1 = mul(cx, k2, log(cx, div(cx, r1, r2)));
  const t2 = sub(cx, lgamma(cx, k2), lgamma(cx, k1));
  const t3 = mul(cx, sub(cx, k1, k2), E.digamma(cx, k1));
  const t4 = mul(cx, sub(cx, r2, r1), div(cx, k1, r1));
  return add(cx, add(cx, t1, t2), add(cx, t3, t4));
});

defineKl('beta', 'beta', (cx, p, q) => {
  const [a1, b1] = p.params;
  const [a2, b2] = q.params;
  const s1 = add(cx, a1, b1);
  const s2 = add(cx, a2, b2);
  const t1 = add(cx, add(cx, lgamma(cx, a2), lgamma(cx, b2)), lgamma(cx, s1));
  const t2 = add(cx, add(cx, lgamma(cx, a1), lgamma(cx, b1)), lgamma(cx, s2));
  const t3 = mul(cx, sub(cx, a1, a2), E.digamma(cx, a1));
  const t4 = mul(cx, sub(cx, b1, b2), E.digamma(cx, b1));
  const t5 = mul(cx, sub(cx, s2, s1), E.digamma(cx, s1));
  return add(cx, add(cx, sub(cx, t1, t2), add(cx, t3, t4)), t5);
});

defineKl('dirichlet', 'dirichlet', (cx, p, q) => {
  const [a1] = p.params;
  const [a2] = q.params;
  const last = Math.max(a1.shape.length, a2.shape.length) - 1;
  const s1 = sum(cx, a1, [a1.shape.length - 1], true);
  const s2 = sum(cx, a2, [a2.shape.length - 1], true);
  const t1 = sub(cx, lgamma(cx, s1), lgamma(cx, s2));
  const t2 = sum(cx, sub(cx, lgamma(cx, a1), lgamma(cx, a2)), [last], true);
  const t34 = sum(cx, mul(cx, sub(cx, a1, a2), sub(cx, E.digamma(cx, a1), E.digamma(cx, s1))), [last], true);
  const divergence = add(cx, sub(cx, t1, t2), t34);
  return E.reshape(cx, divergence, divergence.shape.slice(0, -1));
});

/** -H(p): what every divergence from a family with a closed-form entropy starts with. */
const negentropy = (cx: Context, p: Distribution): Value => neg(cx, p.family.entropy!(cx, p));

/**
 * KL(p ‖ normal(μ, σ)) = -H(p) + log(σ √(2π)) + (Var p + (E p - μ)²) / (2σ²): it needs only
 * p's entropy, mean and variance, so it holds for every family on the real line that has them
 * in closed form (PyTorch registers it for beta, exponential, gamma, gumbel, laplace, pareto
 * and uniform; an infinite variance gives an infinite divergence).
 */
const toNormal: KlRule = (cx, p, q) => {
  const [mu, sigma] = q.params;
  const spread = add(cx, p.family.variance!(cx, p), square(cx, sub(cx, p.family.mean!(cx, p), mu)));
  return add(cx, add(cx, negentropy(cx, p), log(cx, mul(cx, sigma, Math.sqrt(2 * Math.PI)))), div(cx, spread, mul(cx, 2, square(cx, sigma))));
};
for (const family of ['lognormal', 'uniform', 'exponential', 'laplace', 'gumbel', 'halfnormal', 'weibull', 'pareto', 'kumaraswamy', 'gamma', 'chi2', 'beta']) {
  defineKl(family, 'normal', toNormal);
}

/** KL(p ‖ exponential(r)) = -H(p) - log r + r E p, for p on [0, ∞). */
const toExponential: KlRule = (cx, p, q) => add(cx, sub(cx, negentropy(cx, p), log(cx, q.p(0))), mul(cx, q.p(0), p.family.mean!(cx, p)));
for (const family of ['lognormal', 'halfnormal', 'weibull', 'pareto', 'kumaraswamy', 'gamma', 'chi2', 'beta']) defineKl(family, 'exponential', toExponential);
// A uniform reaching below 0 puts mass where the exponential has none.
defineKl('uniform', 'exponential', (cx, p, q) => where(cx, E.ge(cx, p.p(0), 0), toExponential(cx, p, q), Infinity));
