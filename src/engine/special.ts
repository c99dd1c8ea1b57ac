/**
 * Scalar special functions: the logistic function, log-gamma and the polygamma functions
 * (digamma is order 0). The last two use the recurrence to move the argument up to where the
 * asymptotic (Stirling) series is accurate to float64, and a reflection formula for negative
 * arguments.
 */
import { exp, pow } from './fdlibm.js';

/**
 * The logistic function (sigmoid) as PyTorch computes it without overflow: 1 / (1 + e^-x) from 0
 * up, e^x / (1 + e^x) below. Both are n / (1 + e), e = e^-|x|, n = 1 or e: one exp, and n is
 * chosen by arithmetic, not by a branch on the sign (data make it random, and a mispredicted
 * branch cost more than the exp). [x >= 0] · 1 + (1 - [x >= 0]) · e is exactly 1 or e.
 */
export function logistic(x: number): number {
  const e = exp(-Math.abs(x));
  const up = +(x >= 0);
  return (up + (1 - up) * e) / (1 + e);
}

const HALF_LOG_2PI = 0.9189385332046728;

/** Bernoulli numbers B2, B4, …, B16. */
const BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510];

/** log |Γ(x)|; +Infinity at the poles 0, -1, -2, … */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity || x === -Infinity) return Infinity;
  if (x <= 0 && Number.isInteger(x)) return Infinity;
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1-x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(sinPi(x))) - lgamma(1 - x);
  }
  let shift = 0;
  let z = x;
  // Γ(z) = Γ(z + 1) / z, accumulated as one product to keep one logarithm.
  let product = 1;
  while (z < 15) {
    product *= z;
    z += 1;
  }
  if (product !== 1) shift = Math.log(product);
  const inv = 1 / z;
  const inv2 = inv * inv;
  // Stirling's series: Σ B_2k / (2k (2k-1) z^(2k-1)).
  let series = 0;
  let power = inv;
  for (let k = 0; k < BERNOULLI.length; k++) {
    const n = 2 * (k + 1);
    series += BERNOULLI[k] / (n * (n - 1)) * power;
    power *= inv2;
  }
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_2PI + series - shift;
}

/** sin(πx), exact at integers and half-integers. */
function sinPi(x: number): number {
  const r = x - 2 * Math.floor(x / 2);
  if (r === 0 || r === 1) return 0;
  if (r === 0.5) return 1;
  if (r === 1.5) return -1;
  return Math.sin(Math.PI * r);
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/**
 * cot(πx) for x not an integer. x's distance r to the nearest integer is exact, so near a pole
 * cot(πr) keeps its relative accuracy (π x itself would carry an absolute error of ulp(πx)),
 * and near a half-integer cos(πr) = sin(π(1/2 - |r|)), exactly 0 at r = ±1/2.
 */
function cotPi(x: number): number {
  const r = x - Math.round(x);
  const a = Math.abs(r);
  const cos = a > 0.25 ? Math.sin(Math.PI * (0.5 - a)) : Math.cos(Math.PI * a);
  return Math.sign(r) * (cos / Math.sin(Math.PI * a));
}

/** ψ's positive zero x₀ = DIGAMMA_ROOT + DIGAMMA_ROOT_LOW (scripts/polygamma-references.ts root). */
const DIGAMMA_ROOT = 1.4616321449683622;
const DIGAMMA_ROOT_LOW = 9.549995429965697e-17;
/** ψ⁽ᵏ⁾(x₀) / k! for k = 1 … 21: the Taylor series of ψ about x₀, converging for |x - x₀| < x₀. */
const DIGAMMA_AT_ROOT = [
  0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652, 0.10782405069126237, -0.07219956125645471,
  0.04880428816414311, -0.03316112647484736, 0.022597648232218104, -0.01542476590494896, 0.010538791616612175,
  -0.007204534386356869, 0.004926781395729853, -0.003369801655439328, 0.002305126326734928, -0.0015769367714301972,
  0.0010788252019162967, -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077, 0.00023635601564027053,
];
/** Within this distance of x₀ the recurrence below would cancel to a small ψ; the series' last term is then under 1e-18 of its first. */
const DIGAMMA_ROOT_RADIUS = 0.2;

/**
 * ψ(x), the digamma function: d/dx log Γ(x). Accurate relative to itself everywhere on the
 * positive axis, its zero x₀ included (there, as ψ(x₀ + t) = t Σ c_k t^(k-1) with t computed
 * without cancellation); for x < 0, reflection ψ(x) = ψ(1 - x) - π cot(πx) is accurate relative
 * to the larger of its two terms, so near ψ's negative zeros (one between each pair of poles)
 * only absolutely. PyTorch's conventions at the poles: ψ(±0) = ∓∞, NaN at negative integers.
 */
function digamma(x: number): number {
  if (Number.isNaN(x) || x === -Infinity) return NaN;
  if (x === Infinity) return Infinity;
  if (x <= 0 && Number.isInteger(x)) return x === 0 ? (Object.is(x, -0) ? Infinity : -Infinity) : NaN;
  if (x < 0) return digamma(1 - x) - Math.PI * cotPi(x);
  if (Math.abs(x - DIGAMMA_ROOT) < DIGAMMA_ROOT_RADIUS) {
    // x - DIGAMMA_ROOT is exact (Sterbenz).
    const t = x - DIGAMMA_ROOT - DIGAMMA_ROOT_LOW;
    let series = 0;
    for (let k = DIGAMMA_AT_ROOT.length - 1; k >= 0; k--) series = series * t + DIGAMMA_AT_ROOT[k];
    return t * series;
  }
  let result = 0;
  let z = x;
  while (z < 10) {
    result -= 1 / z;
    z += 1;
  }
  const inv2 = 1 / (z * z);
  // ψ(z) ~ log z - 1/(2z) - Σ B_2k / (2k z^(2k)).
  let series = 0;
  let power = inv2;
  for (let k = 0; k < BERNOULLI.length; k++) {
    series += BERNOULLI[k] / (2 * (k + 1)) * power;
    power *= inv2;
  }
  return result + Math.log(z) - 0.5 / z - series;
}

/** k! / z^(k+1) for z > 0 (kFactorial = k!), by a product where z^(k+1) alone would overflow or underflow. */
function factorialOverPower(k: number, kFactorial: number, z: number): number {
  const power = pow(z, k + 1);
  if (power > 1e-300 && power < 1e300) return kFactorial / power;
  let quotient = 1 / z;
  for (let i = 1; i <= k; i++) quotient *= i / z;
  return quotient;
}

/**
 * The coefficients of P_n with dⁿ/duⁿ cot u = P_n(cot u): P_0(c) = c and
 * P_(n+1)(c) = -(1 + c²) P_n'(c). Every coefficient of P_n has the sign (-1)ⁿ, so evaluating it
 * cancels nothing. Memoised per order (constants, shared by every evaluation).
 */
const cotDerivatives: number[][] = [[0, 1]];
function cotDerivative(n: number): number[] {
  while (cotDerivatives.length <= n) {
    const p = cotDerivatives[cotDerivatives.length - 1];
    const next = new Array<number>(p.length + 1).fill(0);
    for (let j = 1; j < p.length; j++) {
      // -(1 + c²) j p_j c^(j-1)
      next[j - 1] -= j * p[j];
      next[j + 1] -= j * p[j];
    }
    cotDerivatives.push(next);
  }
  return cotDerivatives[n];
}

/**
 * ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n = 0 is digamma itself). For x > 0,
 * ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) + (-1)^(n+1) n! / x^(n+1) moves x above 20 + 2n, where the asymptotic
 * series (-1)^(n+1) (n-1)!/zⁿ [1 + n/(2z) + Σ B_2k C(2k+n-1, 2k) / z^(2k)], whose terms shrink
 * about as ((2k + n) / 2πz)², is below float64's precision at the first term BERNOULLI leaves
 * out (k = 9); the recurrence's terms all have the series' sign, so nothing cancels. For x < 0,
 * the reflection formula ψ(1 - x) - ψ(x) = π cot(πx) differentiated n times:
 * ψ⁽ⁿ⁾(x) = (-1)ⁿ ψ⁽ⁿ⁾(1 - x) - π^(n+1) P_n(cot πx), accurate relative to its larger term (the
 * recurrence down from 1 - x, as before, cancelled between terms of alternating sign).
 */
export function polygamma(n: number, x: number): number {
  if (n === 0) return digamma(x);
  if (Number.isNaN(x) || x === -Infinity) return NaN;
  if (x === Infinity) return 0;
  if (x <= 0 && Number.isInteger(x)) return n % 2 === 1 ? Infinity : NaN;
  if (x < 0) {
    const c = cotPi(x);
    const p = cotDerivative(n);
    let value = 0;
    for (let j = p.length - 1; j >= 0; j--) value = value * c + p[j];
    return (n % 2 === 0 ? 1 : -1) * polygamma(n, 1 - x) - pow(Math.PI, n + 1) * value;
  }
  const nFactorial = factorial(n);
  let result = 0;
  let z = x;
  const shiftTo = 20 + 2 * n;
  while (z < shiftTo) {
    result += factorialOverPower(n, nFactorial, z);
    z += 1;
  }
  // 1 + n/(2z) + Σ B_2k C(2k+n-1, 2k) / z^(2k), each binomial from the last.
  const inv2 = 1 / (z * z);
  let series = 1 + n / (2 * z);
  let binomial = 1;
  let power = 1;
  for (let k = 1; k <= BERNOULLI.length; k++) {
    binomial *= ((2 * k + n - 1) * (2 * k + n - 2)) / (2 * k * (2 * k - 1));
    power *= inv2;
    series += BERNOULLI[k - 1] * binomial * power;
  }
  return (n % 2 === 1 ? 1 : -1) * (result + factorialOverPower(n - 1, nFactorial / n, z) * series);
}

/** ζ(n) - 1 for n = 2, 3, …, 30 (mpmath). */
const ZETA_MINUS_ONE = [
  0.6449340668482264, 0.2020569031595943, 0.08232323371113819, 0.03692775514336993, 0.01734306198444914, 0.008349277381922827,
  0.00407735619794434, 0.0020083928260822143, 0.0009945751278180853, 0.0004941886041194645, 0.0002460865533080483,
  0.00012271334757848915, 6.124813505870483e-5, 3.058823630702049e-5, 1.528225940865187e-5, 7.637197637899763e-6,
  3.81729326499984e-6, 1.908212716553939e-6, 9.539620338727962e-7, 4.769329867878064e-7, 2.38450502727733e-7,
  1.1921992596531106e-7, 5.960818905125948e-8, 2.980350351465228e-8, 1.4901554828365043e-8, 7.45071178983543e-9,
  3.725334024788457e-9, 1.862659723513049e-9, 9.313274324196682e-10,
];

const EULER_GAMMA = 0.5772156649015329;

/**
 * log Γ(1 + a) and ψ(1 + a) for -1/2 ≤ a < 10, accurate relative to themselves even near their
 * zeros (a = 0, 1), where lgamma's recurrence to large arguments would cancel. Γ(1 + a) =
 * a Γ(1 + (a - 1)) brings a into [-1/2, 1/2], where (Abramowitz and Stegun 6.1.33)
 * log Γ(1 + z) = -log(1 + z) + (1 - γ) z + Σ_{n≥2} (-1)^n (ζ(n) - 1) zⁿ / n, and its derivative.
 */
function logGamma1p(a: number): { value: number; digamma: number } {
  let z = a;
  let product = 1;
  let digammaShift = 0;
  while (z > 0.5) {
    product *= z;
    digammaShift += 1 / z;
    z -= 1;
  }
  let value = -Math.log1p(z) + (1 - EULER_GAMMA) * z;
  let digamma = -1 / (1 + z) + (1 - EULER_GAMMA);
  let power = z;
  for (let k = 0; k < ZETA_MINUS_ONE.length; k++) {
    const n = k + 2;
    const term = (n % 2 === 0 ? 1 : -1) * ZETA_MINUS_ONE[k] * power;
    digamma += term;
    value += (term * z) / n;
    power *= z;
  }
  return { value: value + Math.log(product), digamma: digamma + digammaShift };
}

/**
 * log(1 + t) - t for -1/2 ≤ t ≤ 1, without the cancellation of subtracting: with
 * s = t / (2 + t), log(1 + t) = 2 atanh(s) and t - 2s = t s, so
 * log(1 + t) - t = -t s + 2 s³ (1/3 + s²/5 + s⁴/7 + …), |s| ≤ 1/3.
 */
function log1pmx(t: number): number {
  const s = t / (2 + t);
  const s2 = s * s;
  let series = 0;
  let power = 1;
  for (let k = 1; k < 40 && power > 1e-18; k++) {
    series += power / (2 * k + 1);
    power *= s2;
  }
  return -t * s + 2 * s * s2 * series;
}

/** Where Stirling's series for log Γ(a) and ψ(a) is accurate to float64 with BERNOULLI's terms. */
const STIRLING_FROM = 10;

/**
 * log(x^a e^(-x) / Γ(a + 1)) and its derivative in a, log x - ψ(a + 1): the prefactor of P's
 * series (and, plus log a, of Q's fraction). For large a, a log x - x - log Γ(a + 1) would be
 * a small difference of numbers of size a; instead, with t = (x - a)/a and Stirling's series
 * Γ(a) = sqrt(2π) a^(a - 1/2) e^(-a) e^(s(a)), the log is a (log(1 + t) - t) - log(2πa)/2 - s(a)
 * and the derivative log(x/a) - 1/(2a) + Σ B_2k / (2k a^2k) (DiDonato and Morris 1986).
 */
function logPrefix(a: number, x: number): { value: number; derivative: number } {
  if (a < STIRLING_FROM) {
    const g = logGamma1p(a);
    return { value: a * Math.log(x) - x - g.value, derivative: Math.log(x) - g.digamma };
  }
  const t = (x - a) / a;
  // log(x/a): for x well below a, from x/a itself, since t has then lost x's digits.
  const logRatio = t >= -0.5 ? Math.log1p(t) : x / a >= 1e-300 ? Math.log(x / a) : Math.log(x) - Math.log(a);
  const eta = t >= -0.5 && t <= 1 ? log1pmx(t) : logRatio - t;
  const inv = 1 / a;
  const inv2 = inv * inv;
  let s = 0;
  let digammaSeries = 0;
  let power = inv;
  for (let k = 0; k < BERNOULLI.length; k++) {
    const n = 2 * (k + 1);
    s += (BERNOULLI[k] / (n * (n - 1))) * power;
    digammaSeries += (BERNOULLI[k] / n) * power * inv;
    power *= inv2;
  }
  return {
    value: a * eta - 0.5 * Math.log(2 * Math.PI * a) - s,
    derivative: logRatio - 0.5 * inv + digammaSeries,
  };
}

const EPSILON = Number.EPSILON;
/** Enough terms for a up to about 1e10 (the series needs about sqrt(75 a)); past that, fewer digits. */
const MAX_TERMS = 1_000_000;
const TINY = 1e-300;

/**
 * P or Q as prefix · s, with the derivatives in a of log prefix and of s. `lower`: P by its
 * series (x < a + 1), prefix = x^a e^(-x) / Γ(a + 1); otherwise Q by its continued fraction,
 * prefix = x^a e^(-x) / Γ(a). Whichever of P and Q is small is computed directly, never as
 * 1 minus the other.
 */
interface IncompleteGammaTerms {
  lower: boolean;
  logPrefix: number;
  dLogPrefix: number;
  s: number;
  ds: number;
}

/** a > 0 and 0 < x < ∞. */
function incompleteGammaTerms(a: number, x: number): IncompleteGammaTerms {
  const prefix = logPrefix(a, x);
  if (x < a + 1) {
    // P = prefix · Σ_{n≥0} xⁿ / ((a+1)…(a+n)); each term's log-derivative in a is -Σ_{k≤n} 1/(a+k).
    let term = 1;
    let harmonic = 0;
    let s = 1;
    let ds = 0;
    for (let n = 1; n < MAX_TERMS; n++) {
      term *= x / (a + n);
      harmonic += 1 / (a + n);
      const dterm = -term * harmonic;
      s += term;
      ds += dterm;
      if (term <= EPSILON * s && -dterm <= EPSILON * -ds) break;
    }
    return { lower: true, logPrefix: prefix.value, dLogPrefix: prefix.derivative, s, ds };
  }
  // Q = prefix · 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(x+5-a - …))) by Lentz's method (Numerical
  // Recipes §6.2), with each quantity carried with its derivative in a as a dual number (v, dv).
  const logPrefixQ = prefix.value + Math.log(a);
  const dLogPrefixQ = prefix.derivative + 1 / a;
  let b = x + 1 - a;
  let c = 1 / TINY;
  let dc = 0;
  let d = 1 / b;
  let dd = d * d;
  let h = d;
  let dh = dd;
  for (let i = 1; i < MAX_TERMS; i++) {
    const an = -i * (i - a);
    const dan = i;
    b += 2;
    // d ← 1 / (b + an d), c ← b + an / c, with db/da = -1.
    let dn = an * d + b;
    const ddn = dan * d + an * dd - 1;
    if (Math.abs(dn) < TINY) dn = TINY;
    const cn = b + an / c;
    const dcn = -1 + dan / c - (an * dc) / (c * c);
    c = Math.abs(cn) < TINY ? TINY : cn;
    dc = dcn;
    d = 1 / dn;
    dd = -ddn * d * d;
    const delta = d * c;
    const ddelta = dd * c + d * dc;
    dh = dh * delta + h * ddelta;
    h *= delta;
    if (Math.abs(delta - 1) <= EPSILON && Math.abs(ddelta) <= EPSILON * (Math.abs(dh / h) + Math.abs(dLogPrefixQ))) break;
  }
  return { lower: false, logPrefix: logPrefixQ, dLogPrefix: dLogPrefixQ, s: h, ds: dh };
}

/**
 * The regularized lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), the CDF of
 * Gamma(a, 1) at x: the series for x < a + 1, 1 - Q by the continued fraction otherwise.
 */
export function gammaP(a: number, x: number): number {
  if (!(a > 0 && x >= 0)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return a === Infinity ? NaN : 1;
  if (a === Infinity) return 0;
  const terms = incompleteGammaTerms(a, x);
  const part = Math.exp(terms.logPrefix) * terms.s;
  return terms.lower ? part : 1 - part;
}

/** The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x). */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0 && x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return a === Infinity ? NaN : 0;
  if (a === Infinity) return 1;
  if (a < 1 && x < a + 1) return smallUpperGamma(a, x);
  const terms = incompleteGammaTerms(a, x);
  const part = Math.exp(terms.logPrefix) * terms.s;
  return terms.lower ? 1 - part : part;
}

/**
 * Q(a, x) for a < 1 and x < a + 1, where P may be close to 1. From
 * P = x^a / Γ(a + 1) · (1 + a T), T = Σ_{n≥1} (-x)ⁿ / (n! (a + n)):
 * Q = -expm1(A) - e^A a T with A = a log x - log Γ(1 + a), which loses no digits as a → 0.
 */
function smallUpperGamma(a: number, x: number): number {
  const logPower = a * Math.log(x) - logGamma1p(a).value;
  let term = 1;
  let t = 0;
  for (let n = 1; n < MAX_TERMS; n++) {
    term *= -x / n;
    const contribution = term / (a + n);
    t += contribution;
    if (Math.abs(contribution) <= EPSILON * Math.abs(t)) break;
  }
  return -Math.expm1(logPower) - Math.exp(logPower) * a * t;
}

/**
 * ∂P(a, x)/∂a: forward-mode differentiation by hand of the same series or continued fraction,
 * prefix included, so it is as accurate as P itself and, in the upper tail, -∂Q/∂a carries no
 * cancellation against 1.
 */
export function gammaPDerivA(a: number, x: number): number {
  if (!(a > 0 && x >= 0)) return NaN;
  if (x === 0 || x === Infinity || a === Infinity) return 0;
  const terms = incompleteGammaTerms(a, x);
  const derivative = Math.exp(terms.logPrefix) * (terms.dLogPrefix * terms.s + terms.ds);
  return terms.lower ? derivative : -derivative;
}

/**
 * The x with P(a, x) = p, by Newton's method on log P(a, e^y) = log p in y = log x (on
 * log Q = log(1 - p) above the median, where Q holds the digits). log X of a gamma variable
 * has a log-concave density, so both sides are concave in y and Newton's iterates approach
 * the root from one side after the first step; the logs make the tails nearly linear. The
 * step is applied to x itself, x ← x + x expm1(-Δy), so the last steps resolve x to its ulp.
 */
export function gammaPInv(a: number, p: number): number {
  if (!(a > 0) || !(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return 0;
  if (p === 1 || a === Infinity) return Infinity;
  const upper = p > 0.5;
  const target = upper ? Math.log1p(-p) : Math.log(p);
  let x = gammaPInvStart(a, p);
  let lo = 0;
  let hi = Infinity;
  for (let iteration = 0; iteration < 200; iteration++) {
    if (x === 0 || x === Infinity) return x;
    const logs = logCdfs(a, x);
    // Written as a function increasing in y either way: log P - log p, or log q - log Q.
    const err = upper ? target - logs.logQ : logs.logP - target;
    if (err === 0) return x;
    if (err < 0) lo = x;
    else hi = x;
    // d/dy P(a, e^y) = x p(x) = x^a e^(-x) / Γ(a) = -d/dy Q(a, e^y).
    const slope = Math.exp(logs.logSlope - (upper ? logs.logQ : logs.logP));
    let next = x + x * Math.expm1(-err / slope);
    if (!(next > lo && next < hi)) next = lo > 0 && hi < Infinity ? Math.sqrt(lo) * Math.sqrt(hi) : lo > 0 ? lo * Math.E : hi / Math.E;
    if (Math.abs(next - x) <= EPSILON * x) return next;
    x = next;
  }
  return x;
}

/** log P(a, x), log Q(a, x) and log(x^a e^(-x) / Γ(a)), for a > 0 and 0 < x < ∞. */
function logCdfs(a: number, x: number): { logP: number; logQ: number; logSlope: number } {
  const terms = incompleteGammaTerms(a, x);
  const logPart = terms.logPrefix + Math.log(terms.s);
  if (terms.lower) {
    return { logP: logPart, logQ: Math.log(gammaQ(a, x)), logSlope: terms.logPrefix + Math.log(a) };
  }
  return { logP: Math.log1p(-Math.exp(logPart)), logQ: logPart, logSlope: terms.logPrefix };
}

function gammaPInvStart(a: number, p: number): number {
  // P(a, x) ≤ x^a / Γ(a + 1), nearly equal for x well below a: a lower bound, and close there.
  const power = Math.exp((Math.log(p) + (a < STIRLING_FROM ? logGamma1p(a).value : lgamma(a + 1))) / a);
  if (a <= 1) {
    // Numerical Recipes §6.2.1: the power law below t, an exponential tail above.
    const t = 1 - a * (0.253 + a * 0.12);
    return p < t ? power : 1 - Math.log(1 - (p - t) / (1 - t));
  }
  if (power < 0.1 * a) return power;
  // Wilson and Hilferty: (x/a)^(1/3) is nearly normal, with the normal quantile from
  // Abramowitz and Stegun 26.2.22.
  const pp = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(pp));
  let w = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t;
  if (p < 0.5) w = -w;
  const cube = 1 - 1 / (9 * a) - w / (3 * Math.sqrt(a));
  return Math.max(1e-3, a * cube * cube * cube);
}

/**
 * dz/da of z ~ Gamma(a, 1) held at its quantile: the implicit reparameterisation gradient
 * -(∂P/∂a)(a, z) / p(z; a) (Figurnov, Mohamed and Mnih 2018, eq. 6). The density
 * p(z) = z^(a-1) e^(-z) / Γ(a) is the prefix of P's series times a / z and of Q's fraction
 * times 1 / z, so it cancels in the quotient and nothing underflows: the gradient is
 * -(z/a) (prefix' s + s') in the lower region and z (prefix' s + s') in the upper.
 */
export function gammaSampleGrad(a: number, z: number): number {
  if (!(a > 0 && z >= 0)) return NaN;
  if (z === 0 || z === Infinity || a === Infinity) return 0;
  const terms = incompleteGammaTerms(a, z);
  const bracket = terms.dLogPrefix * terms.s + terms.ds;
  return terms.lower ? (-z / a) * bracket : z * bracket;
}
