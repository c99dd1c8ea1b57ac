/**
 * Families whose draws are vectors or relaxations of discrete choices: the multivariate normal
 * with a Cholesky factor, and the Concrete / Gumbel-softmax relaxations (Maddison, Mnih and
 * Teh 2017; Jang, Gu and Poole 2017) of Bernoulli and categorical draws, as PyTorch's
 * `RelaxedBernoulli` and `RelaxedOneHotCategorical`.
 */
import * as E from '../engine/index.js';
import { type Context, type Tensor, type Value } from '../engine/index.js';
import { LOG_2PI } from './continuous.js';
import { constraints, outside, type Family, type ParamSpec } from './distribution.js';

const { add, sub, mul, div, neg, log, log1p, square, sum } = E;

/** Each slice along the last axis is non-negative and sums to 1 (PyTorch's tolerance, 1e-6). */
export function simplexCheck(t: Tensor): string | null {
  const k = t.shape[t.shape.length - 1];
  if (k === 0) return 'needs at least one category';
  for (let start = 0; start < t.size; start += k) {
    let total = 0;
    for (let i = start; i < start + k; i++) total += t.data[i];
    if (!(Math.abs(total - 1) < 1e-6)) return `must sum to 1 along its last dimension, got a sum of ${total}${t.size === k ? '' : ` (row ${start / k + 1})`}`;
  }
  return null;
}

/** For log_prob: a value whose last dimension has K positive elements summing to 1, else what is wrong with it. */
export function offSimplex(x: Tensor, k: number): string | null {
  if (x.shape[x.shape.length - 1] !== k) return `a value of shape [${x.shape.join(', ')}] (the last dimension must have ${k} elements)`;
  const element = outside(x, (v) => v > 0 && v <= 1);
  if (element !== null) return element;
  for (let start = 0; start < x.size; start += k) {
    let total = 0;
    for (let i = start; i < start + k; i++) total += x.data[i];
    if (!(Math.abs(total - 1) < 1e-6)) return `a value whose elements sum to ${total}, not 1,`;
  }
  return null;
}

export const probsParam: ParamSpec = { name: 'probs', constraint: constraints.probability, eventRank: 1, check: simplexCheck };

const lowerTriangular = (t: Tensor): string | null => {
  const [rows, cols] = t.shape.slice(-2);
  if (rows !== cols) return `must be square, got ${rows}×${cols}`;
  for (let start = 0; start < t.size; start += rows * cols) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = t.data[start + i * cols + j];
        if (j > i && v !== 0) return `must be lower triangular, but element (${i + 1}, ${j + 1}) is ${v}`;
        if (j === i && !(v > 0)) return `must have a positive diagonal, but element (${i + 1}, ${i + 1}) is ${v}`;
      }
    }
  }
  return null;
};

const last = (v: Value): number => v.shape.length - 1;

/** log |det L| for lower-triangular L [..., K, K]: the sum of the logs of its diagonal (det itself leaves float64's range in many dimensions). */
export const logDetTril = (cx: Context, l: Value): Value => {
  const diagonal = sum(cx, mul(cx, l, E.identity(l.shape[last(l)])), [last(l)]);
  return sum(cx, log(cx, diagonal), [last(diagonal)]);
};

/**
 * The lower triangle of L [..., K, K], as PyTorch's tril: what a triangular solve reads. The
 * engine's general solve reads the whole matrix, and its gradient reaches the entries above
 * the diagonal; PyTorch's solve_triangular projects its gradient onto the triangle, so those
 * entries get exactly 0 (they are 0 in value: scale_tril is checked lower triangular).
 */
function lowerTriangle(cx: Context, l: Value): Value {
  const k = l.shape[last(l)];
  const mask = E.Tensor.zeros([k, k]);
  for (let i = 0; i < k; i++) mask.data.fill(1, i * k, i * k + i + 1);
  return mul(cx, l, mask);
}

/** X with L X = B for one lower-triangular L [K, K] and B [K] or [K, N], by the engine's solve on L's lower triangle. */
export function solveLower(cx: Context, l: Value, b: Value): Value {
  return E.solve(cx, lowerTriangle(cx, l), b);
}

/**
 * y with L y = b for lower-triangular L [..., K, K] and b [..., K], broadcasting their leading
 * dimensions: forward substitution, y_k = (b_k - Σ_{j<k} L_kj y_j) / L_kk, in engine operations
 * (so differentiable), one row at a time; it reads no entry above L's diagonal. A single L
 * takes the engine's solve instead.
 */
export function solveTril(cx: Context, l: Value, b: Value): Value {
  if (l.shape.length === 2 && b.shape.length === 1) return solveLower(cx, l, b);
  const k = l.shape[last(l)];
  let y: Value = E.Tensor.zeros(b.shape);
  for (let row = 0; row < k; row++) {
    const unit = E.Tensor.zeros([k]);
    unit.data[row] = 1;
    const lRow = E.matmul(cx, unit, l);
    const known = sum(cx, mul(cx, lRow, y), [Math.max(last(lRow), last(y))]);
    const yRow = div(cx, sub(cx, E.matmul(cx, b, unit), known), E.matmul(cx, lRow, unit));
    y = add(cx, y, mul(cx, E.unsqueeze(cx, yRow, yRow.shape.length), unit));
  }
  return y;
}

/** |L⁻¹ (x - mean)|², for x of shape [..., K]: the Mahalanobis distance, by a triangular solve. */
function mahalanobis(cx: Context, l: Value, diff: Value): Value {
  if (l.shape.length === 2) {
    const k = l.shape[0];
    if (diff.shape.length === 1) return sum(cx, square(cx, solveLower(cx, l, diff)));
    const lead = diff.shape.slice(0, -1);
    const rows = E.reshape(cx, diff, [lead.reduce((a, b) => a * b, 1), k]);
    const y = solveLower(cx, l, E.transpose(cx, rows));
    return E.reshape(cx, sum(cx, square(cx, y), [0]), lead);
  }
  const y = solveTril(cx, l, diff);
  return sum(cx, square(cx, y), [last(y)]);
}

export const mvnormal: Family = {
  name: 'mvnormal',
  description: 'multivariate normal with mean vector `mean` and covariance L Lᵀ given by its lower-triangular Cholesky factor `scale_tril`',
  params: [
    { name: 'mean', constraint: constraints.finite, eventRank: 1 },
    { name: 'scale_tril', constraint: constraints.finite, eventRank: 2, check: lowerTriangular },
  ],
  support: 'vectors of K reals',
  reparameterisation: 'pathwise',
  checkParams: ([mean, l]) => {
    const k = mean.shape[mean.shape.length - 1];
    const size = l.shape[l.shape.length - 1];
    return k === size ? null : `mean has ${k} elements but scale_tril is ${size}×${size}`;
  },
  eventShape: ([mean]) => [mean.shape[mean.shape.length - 1]],
  inSupport: (x, d) =>
    x.shape[x.shape.length - 1] === d.eventShape[0] ? outside(x, (v) => !Number.isNaN(v)) : `a value of shape [${x.shape.join(', ')}] (the last dimension must have ${d.eventShape[0]} elements)`,
  // mean + L ε, with ε a vector of standard normals: as rows, ε Lᵀ.
  rsample: (cx, d, random, shape) => {
    const [mean, l] = d.params;
    const eps = random.normal(cx, shape);
    if (l.shape.length === 2) return add(cx, mean, E.matmul(cx, eps, E.transpose(cx, l)));
    // Batched: each ε a row [..., 1, K] times its own Lᵀ.
    const rows = E.matmul(cx, E.unsqueeze(cx, eps, eps.shape.length - 1), E.transpose(cx, l));
    return add(cx, mean, E.reshape(cx, rows, shape));
  },
  logProb: (cx, d, x) => {
    const [mean, l] = d.params;
    const k = d.eventShape[0];
    return sub(cx, mul(cx, -0.5, mahalanobis(cx, l, sub(cx, x, mean))), add(cx, logDetTril(cx, l), 0.5 * k * LOG_2PI));
  },
  entropy: (cx, d) => add(cx, logDetTril(cx, d.p(1)), 0.5 * d.eventShape[0] * (1 + LOG_2PI)),
  mean: (_cx, d) => d.p(0),
  variance: (cx, d) => sum(cx, square(cx, d.p(1)), [last(d.p(1))]),
};

const logit = (cx: Context, p: Value): Value => sub(cx, log(cx, p), log1p(cx, neg(cx, p)));

export const relaxedBernoulli: Family = {
  name: 'relaxed_bernoulli',
  description: 'the Concrete relaxation of bernoulli(probs) at a temperature: sigmoid((logit(p) + logistic noise) / temperature)',
  params: [
    { name: 'temperature', constraint: constraints.positive },
    { name: 'probs', constraint: constraints.openProbability },
  ],
  support: '(0, 1)',
  reparameterisation: 'relaxed',
  inSupport: (x) => outside(x, (v) => v > 0 && v < 1),
  rsample: (cx, d, random, shape) => {
    const [t, p] = d.params;
    const u = random.uniform(cx, shape);
    return E.sigmoid(cx, div(cx, add(cx, logit(cx, p), logit(cx, u)), t));
  },
  // The logistic density of y = logit(x), log T + δ - 2 softplus(δ) with δ = logit(p) - T y,
  // less log |dx/dy| = log x + log(1 - x).
  logProb: (cx, d, x) => {
    const [t, p] = d.params;
    const delta = sub(cx, logit(cx, p), mul(cx, t, logit(cx, x)));
    const logistic = sub(cx, add(cx, log(cx, t), delta), mul(cx, 2, E.softplus(cx, delta)));
    return sub(cx, logistic, add(cx, log(cx, x), log1p(cx, neg(cx, x))));
  },
};

export const relaxedCategorical: Family = {
  name: 'relaxed_categorical',
  description: 'the Gumbel-softmax (Concrete) relaxation of categorical(probs) at a temperature: softmax((log p + Gumbel noise) / temperature)',
  params: [{ name: 'temperature', constraint: constraints.positive }, probsParam],
  support: 'the probability simplex (K positive numbers summing to 1)',
  reparameterisation: 'relaxed',
  eventShape: ([, p]) => [p.shape[p.shape.length - 1]],
  inSupport: (x, d) => offSimplex(x, d.eventShape[0]),
  rsample: (cx, d, random, shape) => {
    const [t, p] = d.params;
    const gumbel = neg(cx, log(cx, neg(cx, log(cx, random.uniform(cx, shape)))));
    const last = shape.length - 1;
    return E.softmax(cx, div(cx, add(cx, log(cx, p), gumbel), E.unsqueeze(cx, t, t.shape.length)), last);
  },
  // The Concrete density (Maddison et al. 2017, eq. 12) of log x, less the log-Jacobian Σ log x.
  logProb: (cx, d, x) => {
    const [t, p] = d.params;
    const k = d.eventShape[0];
    const logx = log(cx, x);
    const last = Math.max(x.shape.length, p.shape.length) - 1;
    const score = sub(cx, log(cx, p), mul(cx, E.unsqueeze(cx, t, t.shape.length), logx));
    const normalised = sum(cx, sub(cx, score, E.logsumexp(cx, score, [last], true)), [last]);
    const logScale = add(cx, mul(cx, k - 1, log(cx, t)), E.lgamma(cx, k));
    return sub(cx, add(cx, normalised, logScale), sum(cx, logx, [last]));
  },
};
