/**
 * Scalar special functions: log-gamma and the polygamma functions (digamma is order 0). Each
 * uses the recurrence to move the argument up to where the asymptotic (Stirling) series is
 * accurate to float64, and a reflection formula for negative arguments.
 */

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

/** ψ(x), the digamma function: d/dx log Γ(x). */
function digamma(x: number): number {
  if (Number.isNaN(x) || x === -Infinity) return NaN;
  if (x === Infinity) return Infinity;
  if (x <= 0 && Number.isInteger(x)) return x === 0 ? -Infinity : NaN;
  if (x < 0) {
    // Reflection: ψ(1-x) - ψ(x) = π cot(πx).
    return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
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

/**
 * ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n = 0 is digamma itself). For n ≥ 1,
 * ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) + (-1)^(n+1) n! / x^(n+1) moves x above 20, where the asymptotic series
 * (-1)^(n+1) [(n-1)!/z^n + n!/(2 z^(n+1)) + Σ B_2k (2k+n-1)! / ((2k)! z^(2k+n))] converges fast.
 */
export function polygamma(n: number, x: number): number {
  if (n === 0) return digamma(x);
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 0;
  if (x <= 0 && Number.isInteger(x)) return n % 2 === 1 ? Infinity : NaN;
  if (x < -1e4) return NaN;
  const sign = n % 2 === 1 ? 1 : -1;
  const nFactorial = factorial(n);
  let result = 0;
  let z = x;
  while (z < 20) {
    result += sign * nFactorial / Math.pow(z, n + 1);
    z += 1;
  }
  let series = factorial(n - 1) / Math.pow(z, n) + nFactorial / (2 * Math.pow(z, n + 1));
  for (let k = 1; k <= BERNOULLI.length; k++) {
    series += (BERNOULLI[k - 1] * factorial(2 * k + n - 1)) / (factorial(2 * k) * Math.pow(z, 2 * k + n));
  }
  return result + sign * series;
}
