/**
 * The gamma family and those built on it: chi2, beta, dirichlet and Student's t. Their draws
 * come from the gamma sampler (Marsaglia-Tsang), whose gradient in the shape is the implicit
 * reparameterisation gradient (Figurnov, Mohamed and Mnih 2018) of engine/ops/gamma.ts; the
 * constructions are PyTorch's (beta as the first coordinate of a two-dimensional dirichlet,
 * dirichlet as normalised gammas, t as a normal over the root of a scaled chi2).
 */
import * as E from '../engine/index.js';
import { standardGamma } from '../engine/ops/gamma.js';
import type { Context, Shape, Value } from '../engine/index.js';
import type { RandomSource } from '../engine/random.js';
import { lbeta } from './continuous.js';
import { constraints, makeDistribution, outside, type Distribution, type Family } from './distribution.js';
import { defineGeneralisation } from './kl.js';
import { offSimplex } from './multivariate.js';

const { add, sub, mul, div, neg, log, log1p, lgamma, digamma, sum, square } = E;

/** Gamma(k, 1) draws of `shape`, the shape parameter broadcast to it. */
function gammaDraws(cx: Context, k: Value, random: RandomSource, shape: Shape): Value {
  return standardGamma(cx, E.sameShape(k.shape, shape) ? k : E.expand(cx, k, shape), random.draw());
}

const positiveSupport = (v: number): boolean => v > 0;

/** log density of Gamma(k, rate r) at x: k log r + (k - 1) log x - r x - lgamma(k). */
const gammaLogProb = (cx: Context, k: Value, r: Value, x: Value): Value =>
  sub(cx, add(cx, mul(cx, k, log(cx, r)), mul(cx, sub(cx, k, 1), log(cx, x))), add(cx, mul(cx, r, x), lgamma(cx, k)));

/** H = k - log r + lgamma(k) + (1 - k) ψ(k). */
const gammaEntropy = (cx: Context, k: Value, r: Value): Value =>
  add(cx, sub(cx, k, log(cx, r)), add(cx, lgamma(cx, k), mul(cx, sub(cx, 1, k), digamma(cx, k))));

export const gamma: Family = {
  name: 'gamma',
  description: 'gamma with shape (concentration) and rate (mean shape / rate)',
  params: [
    { name: 'shape', constraint: constraints.positive },
    { name: 'rate', constraint: constraints.positive },
  ],
  support: '(0, ∞)',
  reparameterisation: 'implicit',
  elementInSupport: positiveSupport,
  rsample: (cx, d, random, shape) => div(cx, gammaDraws(cx, d.p(0), random, shape), d.p(1)),
  logProb: (cx, d, x) => gammaLogProb(cx, d.p(0), d.p(1), x),
  entropy: (cx, d) => gammaEntropy(cx, d.p(0), d.p(1)),
  mean: (cx, d) => div(cx, d.p(0), d.p(1)),
  variance: (cx, d) => div(cx, d.p(0), square(cx, d.p(1))),
};

/** chi2(df) is gamma(df / 2, 1 / 2). */
const chi2Shape = (cx: Context, d: Distribution): Value => div(cx, d.p(0), 2);

export const chi2: Family = {
  name: 'chi2',
  description: 'chi-squared with df degrees of freedom: gamma(df / 2, 1 / 2)',
  params: [{ name: 'df', constraint: constraints.positive }],
  support: '(0, ∞)',
  reparameterisation: 'implicit',
  elementInSupport: positiveSupport,
  rsample: (cx, d, random, shape) => mul(cx, 2, gammaDraws(cx, chi2Shape(cx, d), random, shape)),
  logProb: (cx, d, x) => gammaLogProb(cx, chi2Shape(cx, d), E.Tensor.scalar(0.5), x),
  entropy: (cx, d) => gammaEntropy(cx, chi2Shape(cx, d), E.Tensor.scalar(0.5)),
  mean: (_cx, d) => d.p(0),
  variance: (cx, d) => mul(cx, 2, d.p(0)),
};

export const beta: Family = {
  name: 'beta',
  description: 'beta with concentrations a and b: X / (X + Y) for X ~ gamma(a, 1), Y ~ gamma(b, 1)',
  params: [
    { name: 'a', constraint: constraints.positive },
    { name: 'b', constraint: constraints.positive },
  ],
  support: '(0, 1)',
  reparameterisation: 'implicit',
  elementInSupport: (v) => v > 0 && v < 1,
  rsample: (cx, d, random, shape) => {
    const x = gammaDraws(cx, d.p(0), random, shape);
    const y = gammaDraws(cx, d.p(1), random, shape);
    return div(cx, x, add(cx, x, y));
  },
  logProb: (cx, d, x) => {
    const [a, b] = d.params;
    return sub(cx, add(cx, mul(cx, sub(cx, a, 1), log(cx, x)), mul(cx, sub(cx, b, 1), log1p(cx, neg(cx, x)))), lbeta(cx, a, b));
  },
  // log B(a, b) - (a - 1) ψ(a) - (b - 1) ψ(b) + (a + b - 2) ψ(a + b).
  entropy: (cx, d) => {
    const [a, b] = d.params;
    const terms = sub(cx, mul(cx, sub(cx, add(cx, a, b), 2), digamma(cx, add(cx, a, b))), add(cx, mul(cx, sub(cx, a, 1), digamma(cx, a)), mul(cx, sub(cx, b, 1), digamma(cx, b))));
    return add(cx, lbeta(cx, a, b), terms);
  },
  mean: (cx, d) => div(cx, d.p(0), add(cx, d.p(0), d.p(1))),
  variance: (cx, d) => {
    const [a, b] = d.params;
    const total = add(cx, a, b);
    return div(cx, mul(cx, a, b), mul(cx, square(cx, total), add(cx, total, 1)));
  },
};

/** Σ along the last axis, kept. */
const total = (cx: Context, x: Value): Value => sum(cx, x, [x.shape.length - 1], true);
const dropLast = (cx: Context, x: Value): Value => E.reshape(cx, x, x.shape.slice(0, -1));

export const dirichlet: Family = {
  name: 'dirichlet',
  description: 'Dirichlet with concentration vector alpha: normalised gamma(alpha_i, 1) draws',
  params: [{ name: 'alpha', constraint: constraints.positive, eventRank: 1 }],
  support: 'the probability simplex (K positive numbers summing to 1)',
  reparameterisation: 'implicit',
  eventShape: ([alpha]) => [alpha.shape[alpha.shape.length - 1]],
  inSupport: (x, d) => offSimplex(x, d.eventShape[0]),
  rsample: (cx, d, random, shape) => {
    const g = gammaDraws(cx, d.p(0), random, shape);
    return div(cx, g, total(cx, g));
  },
  // Σ (α_i - 1) log x_i + lgamma(Σ α) - Σ lgamma(α_i).
  logProb: (cx, d, x) => {
    const alpha = d.p(0);
    const last = Math.max(x.shape.length, alpha.shape.length) - 1;
    const kernel = sum(cx, mul(cx, sub(cx, alpha, 1), log(cx, x)), [last]);
    return add(cx, kernel, dropLast(cx, sub(cx, lgamma(cx, total(cx, alpha)), total(cx, lgamma(cx, alpha)))));
  },
  // log B(α) + (α₀ - K) ψ(α₀) - Σ (α_i - 1) ψ(α_i).
  entropy: (cx, d) => {
    const alpha = d.p(0);
    const k = d.eventShape[0];
    const a0 = total(cx, alpha);
    const logB = sub(cx, total(cx, lgamma(cx, alpha)), lgamma(cx, a0));
    const h = sub(cx, add(cx, logB, mul(cx, sub(cx, a0, k), digamma(cx, a0))), total(cx, mul(cx, sub(cx, alpha, 1), digamma(cx, alpha))));
    return dropLast(cx, h);
  },
  mean: (cx, d) => div(cx, d.p(0), total(cx, d.p(0))),
  variance: (cx, d) => {
    const alpha = d.p(0);
    const a0 = total(cx, alpha);
    return div(cx, mul(cx, alpha, sub(cx, a0, alpha)), mul(cx, square(cx, a0), add(cx, a0, 1)));
  },
};

export const studentt: Family = {
  name: 'studentt',
  description: 'Student\'s t with df degrees of freedom, location loc and scale',
  params: [
    { name: 'df', constraint: constraints.positive },
    { name: 'loc', constraint: constraints.finite, default: 0 },
    { name: 'scale', constraint: constraints.positive, default: 1 },
  ],
  support: 'the real line',
  reparameterisation: 'implicit',
  inSupport: (x) => outside(x, (v) => !Number.isNaN(v)),
  // loc + scale · X / sqrt(Z / df), X ~ normal(0, 1), Z ~ chi2(df).
  rsample: (cx, d, random, shape) => {
    const [df, loc, scale] = d.params;
    const x = random.normal(cx, shape);
    const z = mul(cx, 2, gammaDraws(cx, div(cx, df, 2), random, shape));
    return add(cx, loc, mul(cx, scale, mul(cx, x, E.sqrt(cx, div(cx, df, z)))));
  },
  logProb: (cx, d, x) => {
    const [df, loc, scale] = d.params;
    const y = div(cx, sub(cx, x, loc), scale);
    const half = div(cx, add(cx, df, 1), 2);
    const normaliser = add(cx, add(cx, mul(cx, 0.5, log(cx, mul(cx, df, Math.PI))), log(cx, scale)), sub(cx, lgamma(cx, div(cx, df, 2)), lgamma(cx, half)));
    return neg(cx, add(cx, mul(cx, half, log1p(cx, div(cx, square(cx, y), df))), normaliser));
  },
  // (ν+1)/2 (ψ((ν+1)/2) - ψ(ν/2)) + ½ log ν + log B(ν/2, ½) + log scale.
  entropy: (cx, d) => {
    const [df, , scale] = d.params;
    const half = div(cx, add(cx, df, 1), 2);
    const digammas = mul(cx, half, sub(cx, digamma(cx, half), digamma(cx, div(cx, df, 2))));
    return add(cx, add(cx, digammas, mul(cx, 0.5, log(cx, df))), add(cx, lbeta(cx, div(cx, df, 2), E.Tensor.scalar(0.5)), log(cx, scale)));
  },
  mean: (cx, d) => {
    const [df, loc] = d.params;
    return E.where(cx, E.gt(cx, df, 1), loc, NaN);
  },
  variance: (cx, d) => {
    const [df, , scale] = d.params;
    const finite = div(cx, mul(cx, square(cx, scale), df), sub(cx, df, 2));
    return E.where(cx, E.gt(cx, df, 2), finite, E.where(cx, E.gt(cx, df, 1), Infinity, NaN));
  },
};

// exponential(rate) is gamma(1, rate) and chi2(df) is gamma(df / 2, 1 / 2): kl pairs with gamma.
defineGeneralisation('exponential', 'gamma', (cx, d) => makeDistribution(cx, gamma, [E.Tensor.scalar(1), d.p(0)]));
defineGeneralisation('chi2', 'gamma', (cx, d) => makeDistribution(cx, gamma, [div(cx, d.p(0), 2), E.Tensor.scalar(0.5)]));
