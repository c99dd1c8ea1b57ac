/**
 * The discrete samplers against their exact pmfs, computed here from closed forms with lgamma:
 * for each case, 100,000 elements of one draw, whose mean and variance lie within 5 standard
 * errors of the distribution's and whose histogram passes a chi-square goodness-of-fit test
 * (bins with expected count below 5 merged, p-value above 1e-4). Then determinism per element,
 * the support under extreme parameters, the rejection samplers' fallback and the categorical
 * sampler's rounding guard.
 */
import t, { type Test } from 'tap';
import { Draw, Random } from '../../src/engine/random.js';
import {
  REJECTION_ATTEMPTS,
  bernoulliSample,
  binomialSample,
  categoricalSample,
  geometricSample,
  poissonSample,
} from '../../src/engine/samplers.js';
import { lgamma } from '../../src/engine/special.js';

/** A discrete distribution: its sampler, exact pmf, moments and integer support [min, max]. */
interface Discrete {
  name: string;
  sample: (draw: Draw, j: number) => number;
  pmf: (k: number) => number;
  mean: number;
  variance: number;
  min: number;
  max: number;
}

const poisson = (rate: number): Discrete => ({
  name: `poisson(${rate})`,
  sample: (draw, j) => poissonSample(rate, draw, j),
  pmf: (k) => (rate === 0 ? Number(k === 0) : Math.exp(k * Math.log(rate) - rate - lgamma(k + 1))),
  mean: rate,
  variance: rate,
  min: 0,
  max: Infinity,
});

const binomial = (n: number, p: number): Discrete => ({
  name: `binomial(${n}, ${p})`,
  sample: (draw, j) => binomialSample(n, p, draw, j),
  pmf: (k) => Math.exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p)),
  mean: n * p,
  variance: n * p * (1 - p),
  min: 0,
  max: n,
});

const geometric = (p: number): Discrete => ({
  name: `geometric(${p})`,
  sample: (draw, j) => geometricSample(p, draw, j),
  pmf: (k) => (p === 1 ? Number(k === 0) : p * Math.exp(k * Math.log1p(-p))),
  mean: (1 - p) / p,
  variance: (1 - p) / (p * p),
  min: 0,
  max: Infinity,
});

const bernoulli = (p: number): Discrete => ({
  name: `bernoulli(${p})`,
  sample: (draw, j) => bernoulliSample(p, draw, j),
  pmf: (k) => (k === 1 ? p : 1 - p),
  mean: p,
  variance: p * (1 - p),
  min: 0,
  max: 1,
});

const categorical = (probs: number[]): Discrete => {
  // The probabilities sit inside a longer buffer, as the caller's rows do.
  const buffer = Float64Array.from([0.9, 0.1, ...probs, 0.7]);
  const mean = probs.reduce((s, p, i) => s + (i + 1) * p, 0);
  return {
    name: `categorical([${probs.join(', ')}])`,
    sample: (draw, j) => categoricalSample(buffer, 2, probs.length, draw, j),
    pmf: (k) => probs[k - 1],
    mean,
    variance: probs.reduce((s, p, i) => s + (i + 1 - mean) ** 2 * p, 0),
    min: 1,
    max: probs.length,
  };
};

/**
 * Q(a, x), the regularized upper incomplete gamma function: the series for P below x = a + 1,
 * else Lentz's continued fraction (Numerical Recipes, gammq). A chi-square statistic's p-value
 * on df degrees of freedom is Q(df/2, chi2/2).
 */
function gammaQ(a: number, x: number): number {
  const logPrefactor = -x + a * Math.log(x) - lgamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-16; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * Math.exp(logPrefactor);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefactor) * h;
}

const SAMPLES = 100_000;

/**
 * Draws `count` elements of one draw and checks that each is an integer of the support, that
 * the sample mean and variance are within 5 standard errors, and the chi-square fit to the pmf.
 */
function checkAgainstPmf(t: Test, d: Discrete, seed: number, count = SAMPLES, draw = new Random(seed).draw()): void {
  const samples = new Float64Array(count);
  let outside = 0;
  for (let j = 0; j < count; j++) {
    const x = d.sample(draw, j);
    if (!Number.isInteger(x) || x < d.min || x > d.max) outside++;
    samples[j] = x;
  }
  t.equal(outside, 0, `${d.name}: every sample is an integer in [${d.min}, ${d.max}]`);

  const mean = samples.reduce((s, x) => s + x, 0) / count;
  const variance = samples.reduce((s, x) => s + (x - mean) ** 2, 0) / (count - 1);
  if (d.variance === 0) {
    t.ok(samples.every((x) => x === d.mean), `${d.name}: every sample is ${d.mean}`);
    return;
  }

  // The pmf on mean ± (15 sd + 30), clipped to the support: the mass outside is below 1e-6.
  const sd = Math.sqrt(d.variance);
  const lo = Math.max(d.min, Math.ceil(d.mean - 15 * sd - 30));
  const hi = Math.min(d.max, Math.floor(d.mean + 15 * sd + 30));
  const expected = new Float64Array(hi - lo + 1);
  let total = 0;
  let fourthMoment = 0;
  for (let k = lo; k <= hi; k++) {
    const p = d.pmf(k);
    expected[k - lo] = count * p;
    total += p;
    fourthMoment += (k - d.mean) ** 4 * p;
  }
  t.ok(Math.abs(total - 1) < 1e-6, `${d.name}: the oracle's pmf sums to 1 (${total})`);

  // Standard errors: of the mean sqrt(var/n), of the sample variance sqrt((mu4 - var^2)/n).
  const meanError = Math.sqrt(d.variance / count);
  const varianceError = Math.sqrt((fourthMoment - d.variance ** 2) / count);
  t.ok(Math.abs(mean - d.mean) < 5 * meanError, `${d.name}: mean ${mean}, expected ${d.mean} ± ${5 * meanError}`);
  t.ok(Math.abs(variance - d.variance) < 5 * varianceError, `${d.name}: variance ${variance}, expected ${d.variance} ± ${5 * varianceError}`);

  const observed = new Float64Array(hi - lo + 1);
  for (const x of samples) observed[Math.min(Math.max(x, lo), hi) - lo]++;
  const bins: { observed: number; expected: number }[] = [];
  let pending = { observed: 0, expected: 0 };
  for (let i = 0; i < expected.length; i++) {
    pending.observed += observed[i];
    pending.expected += expected[i];
    if (pending.expected >= 5) {
      bins.push(pending);
      pending = { observed: 0, expected: 0 };
    }
  }
  const last = bins[bins.length - 1];
  last.observed += pending.observed;
  last.expected += pending.expected;
  const chi2 = bins.reduce((s, b) => s + (b.observed - b.expected) ** 2 / b.expected, 0);
  const df = bins.length - 1;
  const pValue = gammaQ(df / 2, chi2 / 2);
  t.ok(pValue > 1e-4, `${d.name}: chi-square ${chi2.toFixed(1)} on ${df} degrees of freedom, p-value ${pValue}`);
}

const distributions: Discrete[] = [
  ...[0, 0.3, 4, 9.99, 10, 37, 1e3, 1e6].map(poisson),
  ...([[1, 0.3], [20, 0.05], [20, 0.5], [100, 0.97], [1000, 0.3], [1e6, 1e-3], [1e6, 0.5]] as const).map(([n, p]) => binomial(n, p)),
  ...[0.01, 0.3, 1].map(geometric),
  ...[0.3, 0.999].map(bernoulli),
  categorical([0.2, 0.5, 0.3]),
];

t.test('samples have the mean, variance and pmf of their distribution', async (t) => {
  distributions.forEach((d, i) => checkAgainstPmf(t, d, 1000 + i));
});

t.test('a sample depends on the seed and its element only, not on the other elements drawn', async (t) => {
  for (const d of [poisson(4), poisson(37), binomial(20, 0.05), binomial(100, 0.97), binomial(1000, 0.3), geometric(0.3), bernoulli(0.3), categorical([0.2, 0.5, 0.3])]) {
    const alone = d.sample(new Random(77).draw(), 17);
    // The same draw, its elements visited backwards and interleaved with another sampler's.
    const draw = new Random(77).draw();
    const backwards: number[] = [];
    for (let j = 40; j >= 0; j--) {
      poissonSample(1e3, draw, j);
      backwards[j] = d.sample(draw, j);
    }
    t.equal(backwards[17], alone, `${d.name}: element 17 alone or among 41`);
  }
});

t.test('samples stay integers in the support under extreme parameters', async (t) => {
  const cases: [string, (draw: Draw, j: number) => number, number, number][] = [
    ['poisson(1e-300)', (draw, j) => poissonSample(1e-300, draw, j), 0, Infinity],
    ['poisson(1e-9)', (draw, j) => poissonSample(1e-9, draw, j), 0, Infinity],
    ['poisson(1e12)', (draw, j) => poissonSample(1e12, draw, j), 0, Infinity],
    ['binomial(0, 0.5)', (draw, j) => binomialSample(0, 0.5, draw, j), 0, 0],
    ['binomial(7, 0)', (draw, j) => binomialSample(7, 0, draw, j), 0, 0],
    ['binomial(5, 1)', (draw, j) => binomialSample(5, 1, draw, j), 5, 5],
    ['binomial(1e9, 1e-9)', (draw, j) => binomialSample(1e9, 1e-9, draw, j), 0, 1e9],
    ['binomial(1e12, 0.5)', (draw, j) => binomialSample(1e12, 0.5, draw, j), 0, 1e12],
    ['binomial(2^53 - 1, 0.75)', (draw, j) => binomialSample(2 ** 53 - 1, 0.75, draw, j), 0, 2 ** 53 - 1],
    ['binomial(30, 1 - 1e-12)', (draw, j) => binomialSample(30, 1 - 1e-12, draw, j), 0, 30],
    ['geometric(1e-12)', (draw, j) => geometricSample(1e-12, draw, j), 0, Infinity],
    ['geometric(1 - 1e-12)', (draw, j) => geometricSample(1 - 1e-12, draw, j), 0, Infinity],
    ['bernoulli(0)', (draw, j) => bernoulliSample(0, draw, j), 0, 0],
    ['bernoulli(1)', (draw, j) => bernoulliSample(1, draw, j), 1, 1],
    ['categorical([0, 1, 0])', (draw, j) => categoricalSample(Float64Array.from([0, 1, 0]), 0, 3, draw, j), 2, 2],
  ];
  for (const [name, sample, min, max] of cases) {
    const draw = new Random(5).draw();
    const bad: number[] = [];
    for (let j = 0; j < 2000; j++) {
      const x = sample(draw, j);
      if (!Number.isInteger(x) || x < min || x > max) bad.push(x);
    }
    t.same(bad, [], `${name}: every sample is an integer in [${min}, ${max}]`);
  }
});

/** A draw whose first REJECTION_ATTEMPTS blocks every rejection sampler rejects: k < 0. */
class RejectingDraw extends Draw {
  fallbacks = 0;

  override uniforms(j: number, block: number, out: Float64Array): void {
    if (block >= REJECTION_ATTEMPTS) return super.uniforms(j, block, out);
    out[0] = 1e-9;
    out[1] = 0.5;
  }

  override uniform(j: number, block = 0): number {
    if (block === REJECTION_ATTEMPTS) this.fallbacks++;
    return super.uniform(j, block);
  }
}

t.test('after REJECTION_ATTEMPTS rejections, the fallback inversion samples the same pmf', async (t) => {
  const count = 3000;
  for (const d of [poisson(37), binomial(1000, 0.3), binomial(200, 0.9)]) {
    const draw = new RejectingDraw(9, 0, 0, 0);
    checkAgainstPmf(t, d, 0, count, draw);
    t.equal(draw.fallbacks, count, `${d.name}: every sample came from the fallback`);
  }
});

/** A draw whose every uniform is u. */
class FixedDraw extends Draw {
  constructor(private readonly u: number) {
    super(0, 0, 0, 0);
  }

  override uniform(): number {
    return this.u;
  }
}

t.test('categorical inversion: boundaries, zero-probability categories, a running sum short of u', async (t) => {
  const largestUniform = 1 - 2 ** -53;
  const cases: [string, number[], number, number][] = [
    ['the smallest u picks the first category', [0.2, 0.5, 0.3], 2 ** -53, 1],
    ['u on a boundary belongs to the next category', [0.5, 0.5], 0.5, 2],
    ['a zero-probability first category is skipped', [0, 1], 2 ** -53, 2],
    ['a sum short of u gives the last category', [0.5, 0.5 - 1e-12], largestUniform, 2],
    ['a sum short of u skips trailing zero categories', [0.6, 0.4 - 1e-12, 0, 0], largestUniform, 2],
  ];
  for (const [name, probs, u, expected] of cases) {
    const buffer = Float64Array.from([0.3, ...probs]);
    t.equal(categoricalSample(buffer, 1, probs.length, new FixedDraw(u), 0), expected, `${name}: [${probs.join(', ')}] at u = ${u}`);
  }
});
