/**
 * Continuous families with pathwise reparameterisation: a draw is a differentiable transform
 * of standard noise (location-scale families on a normal, inverse-CDF families on a uniform),
 * exactly as torch.distributions defines them. Formulas cite the family's closed forms.
 */
import * as E from '../engine/index.js';
import { Context, Tensor, concrete, type Value } from '../engine/index.js';
import { constraints, outside, type Distribution, type Family } from './distribution.js';

const { add, sub, mul, div, neg, log, log1p, exp, square, abs, lgamma } = E;

export const LOG_2PI = Math.log(2 * Math.PI);
export const EULER_GAMMA = 0.5772156649015329;

/** A constant tensor of the distribution's batch shape. */
export function filled(d: Distribution, value: number): Tensor {
  const t = new Tensor([...d.batchShape], new Float64Array(d.batchShape.reduce((a, b) => a * b, 1)));
  t.data.fill(value);
  return t;
}

/** log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b). */
export function lbeta(cx: Context, a: Value, b: Value): Value {
  return sub(cx, add(cx, lgamma(cx, a), lgamma(cx, b)), lgamma(cx, add(cx, a, b)));
}

const positiveSupport = (v: number): boolean => v > 0;
const nonNegativeSupport = (v: number): boolean => v >= 0;
const unitSupport = (v: number): boolean => v > 0 && v < 1;
const realSupport = (v: number): boolean => !Number.isNaN(v);

/** The first element of x where `ok` (x compared with parameters, broadcast) is false. */
function againstParams(x: Tensor, ok: (cx: Context) => Value): string | null {
  const cx = new Context();
  const mask = concrete(ok(cx));
  const xs = concrete(E.expand(cx, x, mask.shape));
  return outside(xs, (_v, i) => mask.data[i] !== 0);
}

export const normalLogProb = (cx: Context, x: Value, mu: Value, sigma: Value): Value =>
  sub(cx, neg(cx, div(cx, square(cx, sub(cx, x, mu)), mul(cx, 2, square(cx, sigma)))), add(cx, log(cx, sigma), 0.5 * LOG_2PI));

const cauchyLogProb = (cx: Context, x: Value, loc: Value, scale: Value): Value =>
  neg(cx, add(cx, add(cx, Math.log(Math.PI), log(cx, scale)), log1p(cx, square(cx, div(cx, sub(cx, x, loc), scale)))));

/** tan(π (u - 1/2)): a standard Cauchy draw by inversion. */
const standardCauchy = (cx: Context, u: Value): Value => E.tan(cx, mul(cx, Math.PI, sub(cx, u, 0.5)));

export const normal: Family = {
  name: 'normal',
  description: 'normal (Gaussian) with mean mu and standard deviation sigma',
  params: [
    { name: 'mu', constraint: constraints.finite },
    { name: 'sigma', constraint: constraints.positive },
  ],
  support: 'the real line',
  reparameterisation: 'pathwise',
  elementInSupport: realSupport,
  rsample: (cx, d, random, shape) => add(cx, d.p(0), mul(cx, d.p(1), random.normal(cx, shape))),
  logProb: (cx, d, x) => normalLogProb(cx, x, d.p(0), d.p(1)),
  entropy: (cx, d) => add(cx, log(cx, d.p(1)), 0.5 + 0.5 * LOG_2PI),
  mean: (_cx, d) => d.p(0),
  variance: (cx, d) => square(cx, d.p(1)),
};

export const lognormal: Family = {
  name: 'lognormal',
  description: 'exp of a normal(mu, sigma) draw',
  params: normal.params,
  support: '(0, ∞)',
  reparameterisation: 'pathwise',
  elementInSupport: positiveSupport,
  rsample: (cx, d, random, shape) => exp(cx, normal.rsample!(cx, d, random, shape)),
  logProb: (cx, d, x) => {
    const y = log(cx, x);
    return sub(cx, normalLogProb(cx, y, d.p(0), d.p(1)), y);
  },
  entropy: (cx, d) => add(cx, normal.entropy!(cx, d), d.p(0)),
  mean: (cx, d) => exp(cx, add(cx, d.p(0), div(cx, square(cx, d.p(1)), 2))),
  variance: (cx, d) => {
    const s2 = square(cx, d.p(1));
    return mul(cx, E.expm1(cx, s2), exp(cx, add(cx, mul(cx, 2, d.p(0)), s2)));
  },
};

export const uniform: Family = {
  name: 'uniform',
  description: 'uniform on [lo, hi)',
  params: [
    { name: 'lo', constraint: constraints.finite },
    { name: 'hi', constraint: constraints.finite },
  ],
  support: '[lo, hi)',
  reparameterisation: 'pathwise',
  checkParams: ([lo, hi]) => {
    const cx = new Context();
    const bad = outside(concrete(E.lt(cx, lo, hi)), (v) => v !== 0);
    return bad === null ? null : 'needs lo < hi in every element';
  },
  inSupport: (x, d) => againstParams(x, (cx) => E.and(cx, E.ge(cx, x, concrete(d.p(0))), E.lt(cx, x, concrete(d.p(1))))),
  rsample: (cx, d, random, shape) => add(cx, d.p(0), mul(cx, sub(cx, d.p(1), d.p(0)), random.uniform(cx, shape))),
  logProb: (cx, d, x) => add(cx, neg(cx, log(cx, sub(cx, d.p(1), d.p(0)))), mul(cx, x, 0)),
  entropy: (cx, d) => log(cx, sub(cx, d.p(1), d.p(0))),
  mean: (cx, d) => div(cx, add(cx, d.p(0), d.p(1)), 2),
  variance: (cx, d) => div(cx, square(cx, sub(cx, d.p(1), d.p(0))), 12),
};

export const exponential: Family = {
  name: 'exponential',
  description: 'exponential with rate `rate` (mean 1 / rate)',
  params: [{ name: 'rate', constraint: constraints.positive }],
  support: '[0, ∞)',
  reparameterisation: 'pathwise',
  elementInSupport: nonNegativeSupport,
  rsample: (cx, d, random, shape) => div(cx, neg(cx, log(cx, random.uniform(cx, shape))), d.p(0)),
  logProb: (cx, d, x) => sub(cx, log(cx, d.p(0)), mul(cx, d.p(0), x)),
  entropy: (cx, d) => sub(cx, 1, log(cx, d.p(0))),
  mean: (cx, d) => div(cx, 1, d.p(0)),
  variance: (cx, d) => div(cx, 1, square(cx, d.p(0))),
};

export const laplace: Family = {
  name: 'laplace',
  description: 'Laplace (double exponential) with location loc and scale',
  params: [
    { name: 'loc', constraint: constraints.finite },
    { name: 'scale', constraint: constraints.positive },
  ],
  support: 'the real line',
  reparameterisation: 'pathwise',
  elementInSupport: realSupport,
  // PyTorch's inversion: u in (-1/2, 1/2), loc - scale sign(u) log(1 - 2|u|).
  rsample: (cx, d, random, shape) => {
    const u = sub(cx, random.uniform(cx, shape), 0.5);
    return sub(cx, d.p(0), mul(cx, mul(cx, d.p(1), E.sign(cx, u)), log1p(cx, mul(cx, -2, abs(cx, u)))));
  },
  logProb: (cx, d, x) => neg(cx, add(cx, log(cx, mul(cx, 2, d.p(1))), div(cx, abs(cx, sub(cx, x, d.p(0))), d.p(1)))),
  entropy: (cx, d) => add(cx, 1, log(cx, mul(cx, 2, d.p(1)))),
  mean: (_cx, d) => d.p(0),
  variance: (cx, d) => mul(cx, 2, square(cx, d.p(1))),
};

export const gumbel: Family = {
  name: 'gumbel',
  description: 'Gumbel (type I extreme value) with location loc and scale',
  params: laplace.params,
  support: 'the real line',
  reparameterisation: 'pathwise',
  elementInSupport: realSupport,
  rsample: (cx, d, random, shape) => sub(cx, d.p(0), mul(cx, d.p(1), log(cx, neg(cx, log(cx, random.uniform(cx, shape)))))),
  logProb: (cx, d, x) => {
    const z = div(cx, sub(cx, x, d.p(0)), d.p(1));
    return neg(cx, add(cx, add(cx, z, exp(cx, neg(cx, z))), log(cx, d.p(1))));
  },
  entropy: (cx, d) => add(cx, log(cx, d.p(1)), 1 + EULER_GAMMA),
  mean: (cx, d) => add(cx, d.p(0), mul(cx, d.p(1), EULER_GAMMA)),
  variance: (cx, d) => mul(cx, square(cx, d.p(1)), Math.PI ** 2 / 6),
};

export const cauchy: Family = {
  name: 'cauchy',
  description: 'Cauchy with location loc and scale (no mean or variance: NaN and Infinity, as PyTorch)',
  params: laplace.params,
  support: 'the real line',
  reparameterisation: 'pathwise',
  elementInSupport: realSupport,
  rsample: (cx, d, random, shape) => add(cx, d.p(0), mul(cx, d.p(1), standardCauchy(cx, random.uniform(cx, shape)))),
  logProb: (cx, d, x) => cauchyLogProb(cx, x, d.p(0), d.p(1)),
  entropy: (cx, d) => add(cx, log(cx, d.p(1)), Math.log(4 * Math.PI)),
  mean: (_cx, d) => filled(d, NaN),
  variance: (_cx, d) => filled(d, Infinity),
};

export const halfnormal: Family = {
  name: 'halfnormal',
  description: '|x| for x a normal(0, scale) draw',
  params: [{ name: 'scale', constraint: constraints.positive }],
  support: '[0, ∞)',
  reparameterisation: 'pathwise',
  elementInSupport: nonNegativeSupport,
  rsample: (cx, d, random, shape) => mul(cx, d.p(0), abs(cx, random.normal(cx, shape))),
  logProb: (cx, d, x) => add(cx, normalLogProb(cx, x, Tensor.scalar(0), d.p(0)), Math.LN2),
  entropy: (cx, d) => add(cx, log(cx, d.p(0)), 0.5 * Math.log(Math.PI / 2) + 0.5),
  mean: (cx, d) => mul(cx, d.p(0), Math.sqrt(2 / Math.PI)),
  variance: (cx, d) => mul(cx, square(cx, d.p(0)), 1 - 2 / Math.PI),
};

export const halfcauchy: Family = {
  name: 'halfcauchy',
  description: '|x| for x a cauchy(0, scale) draw (mean and variance infinite)',
  params: [{ name: 'scale', constraint: constraints.positive }],
  support: '[0, ∞)',
  reparameterisation: 'pathwise',
  elementInSupport: nonNegativeSupport,
  rsample: (cx, d, random, shape) => mul(cx, d.p(0), abs(cx, standardCauchy(cx, random.uniform(cx, shape)))),
  logProb: (cx, d, x) => add(cx, cauchyLogProb(cx, x, Tensor.scalar(0), d.p(0)), Math.LN2),
  entropy: (cx, d) => add(cx, log(cx, d.p(0)), Math.log(2 * Math.PI)),
  mean: (_cx, d) => filled(d, Infinity),
  variance: (_cx, d) => filled(d, Infinity),
};

export const weibull: Family = {
  name: 'weibull',
  description: 'Weibull with scale and concentration k: scale · E^(1/k) for E a standard exponential draw',
  params: [
    { name: 'scale', constraint: constraints.positive },
    { name: 'concentration', constraint: constraints.positive },
  ],
  support: '[0, ∞)',
  reparameterisation: 'pathwise',
  elementInSupport: nonNegativeSupport,
  rsample: (cx, d, random, shape) => mul(cx, d.p(0), E.pow(cx, neg(cx, log(cx, random.uniform(cx, shape))), div(cx, 1, d.p(1)))),
  logProb: (cx, d, x) => {
    const [scale, k] = d.params;
    const z = div(cx, x, scale);
    return sub(cx, add(cx, log(cx, div(cx, k, scale)), mul(cx, sub(cx, k, 1), log(cx, z))), E.pow(cx, z, k));
  },
  // H = γ (1 - 1/k) + log(scale / k) + 1.
  entropy: (cx, d) => {
    const [scale, k] = d.params;
    return add(cx, add(cx, mul(cx, EULER_GAMMA, sub(cx, 1, div(cx, 1, k))), log(cx, div(cx, scale, k))), 1);
  },
  mean: (cx, d) => mul(cx, d.p(0), exp(cx, lgamma(cx, add(cx, 1, div(cx, 1, d.p(1)))))),
  variance: (cx, d) => {
    const [scale, k] = d.params;
    const g1 = exp(cx, lgamma(cx, add(cx, 1, div(cx, 1, k))));
    const g2 = exp(cx, lgamma(cx, add(cx, 1, div(cx, 2, k))));
    return mul(cx, square(cx, scale), sub(cx, g2, square(cx, g1)));
  },
};

export const pareto: Family = {
  name: 'pareto',
  description: 'Pareto (type I) with scale (the minimum) and shape alpha',
  params: [
    { name: 'scale', constraint: constraints.positive },
    { name: 'alpha', constraint: constraints.positive },
  ],
  support: '[scale, ∞)',
  reparameterisation: 'pathwise',
  inSupport: (x, d) => againstParams(x, (cx) => E.ge(cx, x, concrete(d.p(0)))),
  // scale · exp(E / alpha) with E = -log u a standard exponential draw.
  rsample: (cx, d, random, shape) => mul(cx, d.p(0), exp(cx, div(cx, neg(cx, log(cx, random.uniform(cx, shape))), d.p(1)))),
  logProb: (cx, d, x) => {
    const [scale, alpha] = d.params;
    return sub(cx, add(cx, log(cx, alpha), mul(cx, alpha, log(cx, scale))), mul(cx, add(cx, alpha, 1), log(cx, x)));
  },
  entropy: (cx, d) => {
    const [scale, alpha] = d.params;
    return add(cx, add(cx, log(cx, div(cx, scale, alpha)), div(cx, 1, alpha)), 1);
  },
  mean: (cx, d) => {
    const [scale, alpha] = d.params;
    return E.where(cx, E.gt(cx, alpha, 1), div(cx, mul(cx, alpha, scale), sub(cx, alpha, 1)), Infinity);
  },
  variance: (cx, d) => {
    const [scale, alpha] = d.params;
    const finite = div(cx, mul(cx, square(cx, scale), alpha), mul(cx, square(cx, sub(cx, alpha, 1)), sub(cx, alpha, 2)));
    return E.where(cx, E.gt(cx, alpha, 2), finite, Infinity);
  },
};

export const kumaraswamy: Family = {
  name: 'kumaraswamy',
  description: 'Kumaraswamy with concentrations a and b: (1 - (1 - u)^(1/b))^(1/a), a Beta-like law with a closed-form CDF',
  params: [
    { name: 'a', constraint: constraints.positive },
    { name: 'b', constraint: constraints.positive },
  ],
  support: '(0, 1)',
  reparameterisation: 'pathwise',
  elementInSupport: unitSupport,
  rsample: (cx, d, random, shape) => {
    const [a, b] = d.params;
    const u = random.uniform(cx, shape);
    // 1 - u^(1/b) with u uniform is the same law as 1 - (1 - u)^(1/b), written without cancellation.
    return E.pow(cx, neg(cx, E.expm1(cx, div(cx, log(cx, u), b))), div(cx, 1, a));
  },
  logProb: (cx, d, x) => {
    const [a, b] = d.params;
    const log1mxa = log1p(cx, neg(cx, E.pow(cx, x, a)));
    return add(cx, add(cx, log(cx, mul(cx, a, b)), mul(cx, sub(cx, a, 1), log(cx, x))), mul(cx, sub(cx, b, 1), log1mxa));
  },
  // PyTorch's closed form: (1 - 1/b) + (1 - 1/a) (ψ(b + 1) + γ) - log(a b).
  entropy: (cx, d) => {
    const [a, b] = d.params;
    const harmonic = add(cx, E.digamma(cx, add(cx, b, 1)), EULER_GAMMA);
    return sub(cx, add(cx, sub(cx, 1, div(cx, 1, b)), mul(cx, sub(cx, 1, div(cx, 1, a)), harmonic)), log(cx, mul(cx, a, b)));
  },
  mean: (cx, d) => kumaraswamyMoment(cx, d, 1),
  variance: (cx, d) => sub(cx, kumaraswamyMoment(cx, d, 2), square(cx, kumaraswamyMoment(cx, d, 1))),
};

/** E[x^m] = b B(1 + m/a, b). */
function kumaraswamyMoment(cx: Context, d: Distribution, m: number): Value {
  const [a, b] = d.params;
  return mul(cx, b, exp(cx, lbeta(cx, add(cx, 1, div(cx, m, a)), b)));
}
