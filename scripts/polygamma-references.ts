/**
 * Reference values of ψ⁽ⁿ⁾(x) for test/engine/special.test.ts, and the constants of
 * src/engine/special.ts's digamma near its zero, in arbitrary precision (decimal.js). The
 * recurrence ψ⁽ⁿ⁾(z) = ψ⁽ⁿ⁾(z + 1) - (-1)ⁿ n! / z^(n+1) moves the argument (the float64 x
 * exactly, not its decimal rendering) up past 60 + 2n, where the asymptotic series
 * ψ(z) ~ log z - 1/(2z) - Σ B_2k / (2k z^2k) and, for n ≥ 1,
 * ψ⁽ⁿ⁾(z) ~ (-1)^(n+1) [(n-1)!/zⁿ + n!/(2 z^(n+1)) + Σ B_2k (2k+n-1)! / ((2k)! z^(2k+n))]
 * is summed until its terms fall below 10^-(precision), the Bernoulli numbers exact rationals.
 * No reflection: for negative x the recurrence's terms cancel, so each value is computed at a
 * precision of 60 digits, then doubled until two evaluations agree to 40 digits. The method
 * shares nothing with special.ts but the textbook formulas.
 *
 *   npx tsx scripts/polygamma-references.ts        the test's table (30 digits)
 *   npx tsx scripts/polygamma-references.ts root   special.ts's DIGAMMA_ROOT* constants
 */
import { Decimal } from 'decimal.js';

const D = Decimal.clone({ precision: 60 });

/** The exact value of a float64 (x.toString() is only its shortest decimal rendering). */
export function exactDecimal(x: number): Decimal {
  if (Number.isInteger(x)) return new D(BigInt(x).toString());
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  const magnitude = new D(mantissa.toString()).times(new D(2).pow(exponent));
  return bits >> 63n === 1n ? magnitude.neg() : magnitude;
}

/** B_0, B_2, B_4, …, B_2K as exact fractions, from Σ_{j≤m} C(m+1, j) B_j = 0. */
function bernoulliEven(count: number): [bigint, bigint][] {
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b));
  const all: [bigint, bigint][] = [[1n, 1n]];
  for (let m = 1; m <= 2 * count; m++) {
    let num = 0n;
    let den = 1n;
    let choose = 1n;
    for (let j = 0; j < m; j++) {
      const [bn, bd] = all[j];
      num = num * bd + choose * bn * den;
      den *= bd;
      const g = gcd(num, den);
      num /= g;
      den /= g;
      choose = (choose * BigInt(m + 1 - j)) / BigInt(j + 1);
    }
    // C(m+1, m) B_m = -(the sum so far).
    const g = gcd(num, den * BigInt(m + 1));
    all.push([-num / g, (den * BigInt(m + 1)) / g]);
  }
  return all.filter((_, i) => i % 2 === 0);
}

const BERNOULLI_FRACTIONS = bernoulliEven(150);

function factorial(n: number): Decimal {
  let f = new D(1);
  for (let i = 2; i <= n; i++) f = f.times(i);
  return f;
}

/** ψ⁽ⁿ⁾(x) at D's current precision. */
function polygammaAtPrecision(n: number, x: Decimal): Decimal {
  const negligible = new D(10).pow(-D.precision);
  const bernoulli = (k: number): Decimal => new D(BERNOULLI_FRACTIONS[k][0].toString()).div(BERNOULLI_FRACTIONS[k][1].toString());
  let z = x;
  let shift = new D(0);
  const nFactorial = factorial(n);
  // ψ⁽ⁿ⁾(z) = ψ⁽ⁿ⁾(z + 1) - (-1)ⁿ n! / z^(n+1).
  const signN = n % 2 === 0 ? 1 : -1;
  while (z.lt(60 + 2 * n)) {
    shift = shift.minus(nFactorial.times(signN).div(z.pow(n + 1)));
    z = z.plus(1);
  }
  const inv2 = new D(1).div(z.times(z));
  if (n === 0) {
    let series = new D(0);
    let power = inv2;
    for (let k = 1; k < BERNOULLI_FRACTIONS.length; k++) {
      const term = bernoulli(k).div(2 * k).times(power);
      series = series.plus(term);
      if (term.abs().lt(negligible)) break;
      power = power.times(inv2);
    }
    return shift.plus(z.ln()).minus(new D(0.5).div(z)).minus(series);
  }
  let series = factorial(n - 1).div(z.pow(n)).plus(nFactorial.div(z.pow(n + 1).times(2)));
  let power = inv2.div(z.pow(n));
  for (let k = 1; k < BERNOULLI_FRACTIONS.length; k++) {
    const term = bernoulli(k).times(factorial(2 * k + n - 1)).div(factorial(2 * k)).times(power);
    series = series.plus(term);
    if (term.abs().lt(negligible.times(series.abs()))) break;
    power = power.times(inv2);
  }
  return shift.plus(series.times(-signN));
}

/** ψ⁽ⁿ⁾(x) to 40 digits or more, the precision doubled until two evaluations agree. */
function polygammaDecimal(n: number, x: Decimal): Decimal {
  let precision = 60;
  D.set({ precision });
  let previous = polygammaAtPrecision(n, x);
  for (;;) {
    precision *= 2;
    D.set({ precision });
    const next = polygammaAtPrecision(n, x);
    if (next.minus(previous).abs().lte(next.abs().times('1e-40'))) {
      D.set({ precision: 60 });
      return next;
    }
    previous = next;
  }
}

/** ψ⁽ⁿ⁾(x) for a float64 x that is not 0 or a negative integer. */
export function polygammaReference(n: number, x: number): Decimal {
  return polygammaDecimal(n, exactDecimal(x));
}

/** The arguments the test checks at orders 0 to 3: tiny, near poles (both sides), near ψ's zeros, moderate, huge. */
export const ARGUMENTS = [
  1e-300, 1e-8, 1e-3, 0.1, 0.5, 1, 1.25, 1.4616321449683622, 1.5, 2, 2.5, 3.7, 5, 7.3, 9.99, 10, 10.5, 14.2, 20, 33.3, 1e3, 12345.678, 1e8, 1e15, 1e300,
  -1e-8, -1e-3, -0.1, -0.5, -0.5040830082644554, -0.9, -1.5, -2.001, -2.5, -2.6107208684441447, -2.999, -3.5, -7.25, -10.3, -99.5, -1000.25, -20000.75,
];
/** Higher orders, reached by differentiating digamma again and again, at fewer arguments. */
export const HIGHER_ORDERS = [4, 6, 10, 25];
export const HIGHER_ORDER_ARGUMENTS = [1e-3, 0.5, 2.5, 30, 1e3, -1.5, -2.999, -7.25];

/**
 * The positive zero x₀ of ψ, by Newton's method, as a float64 and the float64 nearest the
 * rest, and the Taylor coefficients ψ⁽ᵏ⁾(x₀) / k! for k = 1 … count.
 */
function rootExpansion(count: number): void {
  let x0 = new D('1.4616321449683622');
  for (let i = 0; i < 8; i++) x0 = x0.minus(polygammaDecimal(0, x0).div(polygammaDecimal(1, x0)));
  const hi = x0.toNumber();
  console.log(`const DIGAMMA_ROOT = ${hi};`);
  console.log(`const DIGAMMA_ROOT_LOW = ${x0.minus(exactDecimal(hi)).toNumber()};`);
  const coefficients: number[] = [];
  for (let k = 1; k <= count; k++) coefficients.push(polygammaDecimal(k, x0).div(factorial(k)).toNumber());
  console.log(`const DIGAMMA_AT_ROOT = [${coefficients.join(', ')}];`);
}

function selfCheck(): void {
  // ψ(1) = -γ, ψ'(1) = π²/6, ψ''(1) = -2ζ(3), ψ'(-1/2) = π²/2 + 4.
  const pi = D.acos(-1);
  const checks: [Decimal, Decimal.Value][] = [
    [polygammaReference(0, 1), '-0.577215664901532860606512090082402431042159335939923598805767'],
    [polygammaReference(1, 1), pi.pow(2).div(6)],
    [polygammaReference(2, 1), '-2.40411380631918857079947632302289998152997258468100581133'],
    [polygammaReference(1, -0.5), pi.pow(2).div(2).plus(4)],
  ];
  for (const [got, want] of checks) {
    if (got.minus(want).abs().gt('1e-50')) throw new Error(`reference self-check failed: ${got.toString()} vs ${want.toString()}`);
  }
}

function table(): void {
  const value = (n: number, x: number): string => `'${polygammaReference(n, x).toSignificantDigits(30).toExponential()}'`;
  for (const x of ARGUMENTS) console.log(`  [${x}, [${[0, 1, 2, 3].map((n) => value(n, x)).join(', ')}]],`);
  for (const n of HIGHER_ORDERS) console.log(`  [${n}, [${HIGHER_ORDER_ARGUMENTS.map((x) => value(n, x)).join(', ')}]],`);
}

if (process.argv[1]?.endsWith('polygamma-references.ts')) {
  selfCheck();
  if (process.argv[2] === 'root') rootExpansion(Number(process.argv[3] ?? 21));
  else table();
}
