/**
 * Exact samplers for discrete distributions, one number at a time: element j of a draw reads
 * its blocks 0, 1, 2, ... in turn, so a sample is a pure function of (seed, draw, element)
 * however many attempts other elements take. Small means invert the cumulative distribution
 * with one uniform; large means use Hörmann's transformed rejection with squeeze (PTRS for
 * Poisson, BTRS for binomial), as numpy and PyTorch do, one block (two uniforms) per attempt.
 * Parameters are the callers' to check (p in [0, 1], rate >= 0, n a count); outside their
 * domain a sampler still returns, a NaN or an infinity.
 */
import type { Draw } from './random.js';
import { lgamma } from './special.js';

/**
 * How many blocks a rejection sampler tries before it falls back to inversion. PTRS and BTRS
 * accept an attempt with probability 0.7 or more wherever they are used (measured: 0.71 for
 * BTRS at n = 20, p = 1/2, the smallest hat, rising to 0.89 for large means), so the fallback
 * runs with probability below 0.3^10000: it bounds the loop, it is not there for speed.
 */
export const REJECTION_ATTEMPTS = 10_000;

/** 1 with probability p, else 0. */
export function bernoulliSample(p: number, draw: Draw, j: number): number {
  return draw.uniform(j, 0) < p ? 1 : 0;
}

/**
 * A category 1..k (1-based, as mathjs indexes) with the probabilities probs[offset .. offset+k),
 * already normalised, by inversion of their running sum.
 */
export function categoricalSample(probs: Float64Array, offset: number, k: number, draw: Draw, j: number): number {
  const u = draw.uniform(j, 0);
  let cumulative = 0;
  let lastPositive = k;
  for (let i = 0; i < k; i++) {
    const p = probs[offset + i];
    cumulative += p;
    if (u < cumulative) return i + 1;
    if (p > 0) lastPositive = i + 1;
  }
  // The running sum fell short of u by rounding: the mass belongs to the last category that has any.
  return lastPositive;
}

/**
 * The number of failures before the first success (PyTorch's Geometric, support 0, 1, ...), by
 * inversion: P(floor(log u / log(1 - p)) >= k) = P(u <= (1 - p)^k) = (1 - p)^k.
 */
export function geometricSample(p: number, draw: Draw, j: number): number {
  if (p >= 1) return 0;
  return Math.floor(Math.log(draw.uniform(j, 0)) / Math.log1p(-p));
}

/** A Poisson(rate) count: inversion below rate 10, PTRS from there. */
export function poissonSample(rate: number, draw: Draw, j: number): number {
  if (rate <= 0) return 0;
  if (rate < 10) return poissonInversion(rate, draw.uniform(j, 0));
  return poissonPtrs(rate, draw, j);
}

/** A Binomial(n, p) count: by symmetry p <= 1/2; then inversion below n p = 10, BTRS from there. */
export function binomialSample(n: number, p: number, draw: Draw, j: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomialSample(n, 1 - p, draw, j);
  if (n * p < 10) return binomialInversion(n, p, draw.uniform(j, 0));
  return binomialBtrs(n, p, draw, j);
}

/**
 * Sequential search from 0, the pmf by its recurrence p(k) = p(k - 1) rate / k. exp(-rate) does
 * not underflow below rate 10; the terms do, far in the tail, and the search stops there: the
 * running sum can fall short of u only by rounding.
 */
function poissonInversion(rate: number, u: number): number {
  let k = 0;
  let pk = Math.exp(-rate);
  let rest = u;
  while (rest > pk && pk > 0) {
    rest -= pk;
    k++;
    pk *= rate / k;
  }
  return k;
}

/**
 * PTRS, Hörmann, "The transformed rejection method for generating Poisson random variables",
 * Insurance: Mathematics and Economics 12 (1993), for rate >= 10: k = floor((2a/us + b) U +
 * rate + 0.43) with U uniform on (-1/2, 1/2), us = 1/2 - |U|; a box of (U, V) accepted at once,
 * then the exact test log(V alpha / (a/us^2 + b)) <= log p(k).
 */
function poissonPtrs(rate: number, draw: Draw, j: number): number {
  const sqrtRate = Math.sqrt(rate);
  const b = 0.931 + 2.53 * sqrtRate;
  const a = -0.059 + 0.02483 * b;
  const alpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  const uv = new Float64Array(2);
  for (let block = 0; block < REJECTION_ATTEMPTS; block++) {
    draw.uniforms(j, block, uv);
    const u = uv[0] - 0.5;
    const v = uv[1];
    const us = 0.5 - Math.abs(u);
    const k = Math.floor((2 * a / us + b) * u + rate + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v * alpha / (a / (us * us) + b)) <= poissonLogPmf(k, rate)) return k;
  }
  const u = draw.uniform(j, REJECTION_ATTEMPTS);
  return inversionFromMode(u, Math.floor(rate), Infinity, (k) => poissonLogPmf(k, rate));
}

/**
 * Sequential search from 0, the pmf by its recurrence p(k) = p(k - 1) (n - k + 1) p / (k q).
 * With p <= 1/2 and n p < 10, q^n = exp(n log1p(-p)) >= e^-14 does not underflow.
 */
function binomialInversion(n: number, p: number, u: number): number {
  const ratio = p / (1 - p);
  let k = 0;
  let pk = Math.exp(n * Math.log1p(-p));
  let rest = u;
  while (rest > pk && pk > 0 && k < n) {
    rest -= pk;
    k++;
    pk *= ratio * (n - k + 1) / k;
  }
  return k;
}

/**
 * BTRS, Hörmann, "The generation of binomial random variates", Journal of Statistical
 * Computation and Simulation 46 (1993), for p <= 1/2 and n p >= 10: the same transformed
 * rejection as PTRS, the exact test against p(k) / p(m) at the mode m.
 */
function binomialBtrs(n: number, p: number, draw: Draw, j: number): number {
  const spq = Math.sqrt(n * p * (1 - p));
  const b = 1.15 + 2.53 * spq;
  const a = -0.0873 + 0.0248 * b + 0.01 * p;
  const c = n * p + 0.5;
  const vr = 0.92 - 4.2 / b;
  const alpha = (2.83 + 5.1 / b) * spq;
  const mode = Math.min(Math.floor((n + 1) * p), n);
  const logPmf = (k: number): number => binomialLogPmf(k, n, p);
  const logPmfMode = logPmf(mode);
  const uv = new Float64Array(2);
  for (let block = 0; block < REJECTION_ATTEMPTS; block++) {
    draw.uniforms(j, block, uv);
    const u = uv[0] - 0.5;
    const v = uv[1];
    const us = 0.5 - Math.abs(u);
    const k = Math.floor((2 * a / us + b) * u + c);
    if (k < 0 || k > n) continue;
    if (us >= 0.07 && v <= vr) return k;
    if (Math.log(v * alpha / (a / (us * us) + b)) <= logPmf(k) - logPmfMode) return k;
  }
  const u = draw.uniform(j, REJECTION_ATTEMPTS);
  return inversionFromMode(u, mode, n, logPmf);
}

/**
 * Inversion over the support enumerated outward from the mode: mode, mode + 1, mode - 1,
 * mode + 2, ... Any fixed order of the support inverts exactly; this one needs |x - mode| steps
 * and no normalising constant below the mode. The walk ends when the running sum reaches u or
 * both frontiers leave the support or underflow (past the mode a unimodal pmf only decreases).
 */
function inversionFromMode(u: number, mode: number, max: number, logPmf: (k: number) => number): number {
  let cumulative = Math.exp(logPmf(mode));
  if (u <= cumulative) return mode;
  for (let step = 1; ; step++) {
    const up = mode + step;
    const down = mode - step;
    const pUp = up <= max ? Math.exp(logPmf(up)) : 0;
    cumulative += pUp;
    if (u <= cumulative && pUp > 0) return up;
    const pDown = down >= 0 ? Math.exp(logPmf(down)) : 0;
    cumulative += pDown;
    if (u <= cumulative && pDown > 0) return down;
    // Both frontiers spent: the running sum fell short of u by rounding. (NaN, from parameters
    // outside the domain, counts as spent too, so that the walk always ends.)
    if (!(pUp > 0) && !(pDown > 0)) return mode;
  }
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log p(k) of Poisson(rate), in Loader's saddle-point form ("Fast and accurate computation of
 * binomial probabilities", 2000): -stirlingError(k) - bd0(k, rate) - log(2 pi k) / 2. Every term
 * is O(log k), where k log(rate) - rate - lgamma(k + 1) cancels terms of size k log k.
 */
function poissonLogPmf(k: number, rate: number): number {
  if (k === 0) return -rate;
  return -stirlingError(k) - bd0(k, rate) - HALF_LOG_2PI - 0.5 * Math.log(k);
}

/** log p(k) of Binomial(n, p), in Loader's saddle-point form (as poissonLogPmf). */
function binomialLogPmf(k: number, n: number, p: number): number {
  const q = 1 - p;
  if (k === 0) return n * Math.log1p(-p);
  if (k === n) return n * Math.log(p);
  return stirlingError(n) - stirlingError(k) - stirlingError(n - k) - bd0(k, n * p) - bd0(n - k, n * q)
    + 0.5 * Math.log(n / (k * (n - k))) - HALF_LOG_2PI;
}

/**
 * log k! - [(k + 1/2) log k - k + log(2 pi)/2], the error of Stirling's formula, for k >= 1.
 * From k = 10 its asymptotic series 1/(12k) - 1/(360k^3) + 1/(1260k^5) - 1/(1680k^7) +
 * 1/(1188k^9) is accurate to 2e-14; below, lgamma's cancellation costs as little.
 */
function stirlingError(k: number): number {
  if (k < 10) return lgamma(k + 1) - (k + 0.5) * Math.log(k) + k - HALF_LOG_2PI;
  const k2 = k * k;
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / k2) / k2) / k2) / k2) / k;
}

/**
 * bd0(x, m) = x log(x/m) + m - x, the deviance term, without cancellation (Loader 2000): near
 * x = m, with v = (x - m)/(x + m), it is (x - m) v + 2x (v^3/3 + v^5/5 + ...), |v| < 0.1 so the
 * series converges to float64 in under 20 terms.
 */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) >= 0.1 * (x + m)) return x * Math.log(x / m) + m - x;
  const v = (x - m) / (x + m);
  const v2 = v * v;
  let sum = (x - m) * v;
  let term = 2 * x * v;
  for (let i = 1; i < 40; i++) {
    term *= v2;
    const next = sum + term / (2 * i + 1);
    if (next === sum) break;
    sum = next;
  }
  return sum;
}
