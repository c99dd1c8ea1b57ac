/**
 * Discrete families: their draws carry no gradient (no `rsample`), but `log_prob`, `entropy`,
 * `mean` and `variance` are differentiable in the parameters, which is what the
 * score-function estimator needs. Samplers are exact (engine/samplers.ts).
 */
import * as E from '../engine/index.js';
import { Tensor, concrete, type Context, type Value } from '../engine/index.js';
import type { Draw, RandomSource } from '../engine/random.js';
import { binomialSample, categoricalSample, poissonSample } from '../engine/samplers.js';
import type { Shape } from '../engine/tensor.js';
import { constraints, outside, type Distribution, type Family } from './distribution.js';
import { probsParam } from './multivariate.js';

const { add, sub, mul, div, neg, log, log1p, lgamma, where, eq } = E;

/** x log x, with 0 log 0 = 0. */
const xlogx = (cx: Context, x: Value): Value => where(cx, eq(cx, x, 0), 0, mul(cx, x, log(cx, x)));

/** The largest count whose probabilities `entropy` sums over, element by element. */
const MAX_ENTROPY_TERMS = 1_000_000;

/**
 * A draw of `shape` = sample ++ batch, element j from the parameters of batch element
 * j mod (batch size), by a scalar sampler of the engine.
 */
function drawEach(cx: Context, name: string, d: Distribution, random: RandomSource, shape: Shape, sampler: (draw: Draw, j: number, batchIndex: number) => number): Tensor {
  const draw = random.draw();
  const out = cx.alloc(name, shape);
  const batch = d.batchShape.reduce((a, b) => a * b, 1);
  for (let j = 0; j < out.size; j++) {
    out.data[j] = sampler(draw, j, j % batch);
    if ((j & 1023) === 1023) cx.checkDeadline(name);
  }
  return out;
}

const integerIn = (lo: number, hi: (i: number) => number) => (x: Tensor) => outside(x, (v, i) => Number.isInteger(v) && v >= lo && v <= hi(i));

/** The sum over k = 0..K of f(k) per batch element, K the largest count needed, as engine operations. */
function sumOverCounts(cx: Context, d: Distribution, largest: number, term: (k: Value) => Value): Value {
  if (!(largest <= MAX_ENTROPY_TERMS)) {
    throw new E.EngineError('INVALID_ARGUMENT', `entropy: ${d.family.name} would sum more than ${MAX_ENTROPY_TERMS} terms`, { op: 'entropy' });
  }
  const counts = new Tensor([largest + 1, ...d.batchShape.map(() => 1)], Float64Array.from({ length: largest + 1 }, (_, k) => k));
  return E.sum(cx, term(counts), [0]);
}

export const bernoulli: Family = {
  name: 'bernoulli',
  description: 'a coin: 1 with probability probs, else 0',
  params: [{ name: 'probs', constraint: constraints.probability }],
  support: '{0, 1}',
  reparameterisation: 'none',
  elementInSupport: (v) => v === 0 || v === 1,
  // u < p on a uniform: element-wise, so a compiled sampler can make the draw too.
  sample: (cx, d, random, shape) => E.lt(cx, random.uniform(cx, shape), E.stopGradient(cx, d.p(0))),
  logProb: (cx, d, x) => where(cx, eq(cx, x, 1), log(cx, d.p(0)), log1p(cx, neg(cx, d.p(0)))),
  entropy: (cx, d) => neg(cx, add(cx, xlogx(cx, d.p(0)), xlogx(cx, sub(cx, 1, d.p(0))))),
  mean: (_cx, d) => d.p(0),
  variance: (cx, d) => mul(cx, d.p(0), sub(cx, 1, d.p(0))),
};

/** Category k (1-based) as a one-hot comparison against 1..K, for sums over categories. */
const categories = (k: number): Tensor => Tensor.fromNested(Array.from({ length: k }, (_, i) => i + 1));

export const categorical: Family = {
  name: 'categorical',
  description: 'one of the categories 1..K with probabilities probs (a vector summing to 1)',
  params: [probsParam],
  support: '{1, ..., K}',
  reparameterisation: 'none',
  inSupport: (x, d) => integerIn(1, () => d.p(0).shape[d.p(0).shape.length - 1])(x),
  sample: (cx, d, random, shape) => {
    const probs = concrete(d.p(0));
    const k = probs.shape[probs.shape.length - 1];
    return drawEach(cx, 'categorical', d, random, shape, (draw, j, b) => categoricalSample(probs.data, b * k, k, draw, j));
  },
  // log p[x], gathered along the categories with x broadcast against the batch.
  logProb: (cx, d, x) => {
    const p = d.p(0);
    const k = p.shape[p.shape.length - 1];
    const xs = concrete(x);
    const shape = E.broadcastShapes('log_prob', xs.shape, d.batchShape);
    const index = E.expand(cx, E.sub(cx, xs, 1), shape) as Tensor;
    const rows = E.expand(cx, p, [...shape, k]);
    const picked = E.takeAlong(cx, rows, shape.length, E.reshape(cx, index, [...shape, 1]) as Tensor);
    return log(cx, E.reshape(cx, picked, shape));
  },
  entropy: (cx, d) => neg(cx, E.sum(cx, xlogx(cx, d.p(0)), [d.p(0).shape.length - 1])),
  mean: (cx, d) => E.sum(cx, mul(cx, d.p(0), categories(d.p(0).shape[d.p(0).shape.length - 1])), [d.p(0).shape.length - 1]),
  variance: (cx, d) => {
    const last = d.p(0).shape.length - 1;
    const ks = categories(d.p(0).shape[last]);
    const m = E.sum(cx, mul(cx, d.p(0), ks), [last]);
    return sub(cx, E.sum(cx, mul(cx, d.p(0), E.square(cx, ks)), [last]), E.square(cx, m));
  },
};

export const poisson: Family = {
  name: 'poisson',
  description: 'counts of events at rate `rate` (mean and variance rate)',
  params: [{ name: 'rate', constraint: constraints.nonNegative }],
  support: '{0, 1, 2, ...}',
  reparameterisation: 'none',
  inSupport: integerIn(0, () => Infinity),
  sample: (cx, d, random, shape) => {
    const rate = concrete(d.p(0));
    return drawEach(cx, 'poisson', d, random, shape, (draw, j, b) => poissonSample(rate.data[b], draw, j));
  },
  // x log λ - λ - log x!, with 0 log 0 = 0.
  logProb: (cx, d, x) => {
    const rate = d.p(0);
    const xLogRate = where(cx, eq(cx, x, 0), 0, mul(cx, x, log(cx, rate)));
    return sub(cx, sub(cx, xLogRate, rate), lgamma(cx, add(cx, x, 1)));
  },
  // No closed form: -Σ p(k) log p(k) over k up to where the tail is far below rounding.
  entropy: (cx, d) => {
    const largest = Math.max(0, ...concrete(d.p(0)).data);
    return sumOverCounts(cx, d, Math.ceil(largest + 20 * Math.sqrt(largest) + 40), (k) => neg(cx, xlogx(cx, E.exp(cx, poisson.logProb(cx, d, k)))));
  },
  mean: (_cx, d) => d.p(0),
  variance: (_cx, d) => d.p(0),
};

export const binomial: Family = {
  name: 'binomial',
  description: 'successes in total_count independent trials, each with probability probs',
  params: [
    { name: 'total_count', constraint: constraints.count },
    { name: 'probs', constraint: constraints.probability },
  ],
  support: '{0, 1, ..., total_count}',
  reparameterisation: 'none',
  inSupport: (x, d) => {
    const n = concrete(d.p(0));
    return integerIn(0, (i) => (n.size === 1 ? n.data[0] : n.data[i % n.size]))(x);
  },
  sample: (cx, d, random, shape) => {
    const n = concrete(d.p(0));
    const p = concrete(d.p(1));
    return drawEach(cx, 'binomial', d, random, shape, (draw, j, b) => binomialSample(n.data[b], p.data[b], draw, j));
  },
  // log C(n, x) + x log p + (n - x) log(1 - p), with 0 log 0 = 0.
  logProb: (cx, d, x) => {
    const [n, p] = d.params;
    const rest = sub(cx, n, x);
    const choose = sub(cx, lgamma(cx, add(cx, n, 1)), add(cx, lgamma(cx, add(cx, x, 1)), lgamma(cx, add(cx, rest, 1))));
    const successes = where(cx, eq(cx, x, 0), 0, mul(cx, x, log(cx, p)));
    const failures = where(cx, eq(cx, rest, 0), 0, mul(cx, rest, log1p(cx, neg(cx, p))));
    return add(cx, choose, add(cx, successes, failures));
  },
  entropy: (cx, d) => {
    const largest = Math.max(0, ...concrete(d.p(0)).data);
    return sumOverCounts(cx, d, largest, (k) => {
      const inSupport = E.le(cx, k, E.stopGradient(cx, d.p(0)));
      // Counts beyond total_count contribute nothing (their log-probability is not defined).
      const clamped = where(cx, inSupport, k, 0);
      return where(cx, inSupport, neg(cx, xlogx(cx, E.exp(cx, binomial.logProb(cx, d, clamped)))), 0);
    });
  },
  mean: (cx, d) => mul(cx, d.p(0), d.p(1)),
  variance: (cx, d) => mul(cx, mul(cx, d.p(0), d.p(1)), sub(cx, 1, d.p(1))),
};

export const geometric: Family = {
  name: 'geometric',
  description: 'the number of failures before the first success, each trial succeeding with probability probs',
  params: [{ name: 'probs', constraint: constraints.geometricProbability }],
  support: '{0, 1, 2, ...}',
  reparameterisation: 'none',
  inSupport: integerIn(0, () => Infinity),
  // floor(log u / log(1 - p)), element-wise on a uniform (p = 1 gives 0).
  sample: (cx, d, random, shape) => {
    const p = E.stopGradient(cx, d.p(0));
    const failures = E.floor(cx, div(cx, log(cx, random.uniform(cx, shape)), log1p(cx, neg(cx, p))));
    return where(cx, eq(cx, p, 1), 0, failures);
  },
  logProb: (cx, d, x) => add(cx, where(cx, eq(cx, x, 0), 0, mul(cx, x, log1p(cx, neg(cx, d.p(0))))), log(cx, d.p(0))),
  entropy: (cx, d) => {
    const p = d.p(0);
    return div(cx, neg(cx, add(cx, xlogx(cx, sub(cx, 1, p)), xlogx(cx, p))), p);
  },
  mean: (cx, d) => div(cx, sub(cx, 1, d.p(0)), d.p(0)),
  variance: (cx, d) => div(cx, sub(cx, 1, d.p(0)), E.square(cx, d.p(0))),
};
