/**
 * kl(p, q) across families: p against a normal (from p's entropy, mean and variance) and p on
 * [0, ∞) against an exponential, as PyTorch registers them, against scipy.integrate.quad of
 * p log(p / q) (scipy 1.17, epsrel 1e-13, computed once and kept here); gradients by central
 * differences; an exponential against a uniform reaching below 0 is infinite.
 */
import t, { type Test } from 'tap';
import { computeSync } from '../../src/index.js';

/** The gradient of a program at a point against central differences of its value, input by input. */
function gradcheckProgram(t: Test, program: string, at: Record<string, number>): void {
  const { grad } = computeSync('grad', { program, at }) as { grad: Record<string, number> };
  const value = (point: Record<string, number>): number => (computeSync('eval', { program, at: point }) as { value: number }).value;
  for (const name of Object.keys(at)) {
    const h = 1e-6 * Math.max(1, Math.abs(at[name]));
    const difference = (value({ ...at, [name]: at[name] + h }) - value({ ...at, [name]: at[name] - h })) / (2 * h);
    t.ok(Math.abs(grad[name] - difference) <= 1e-6 * Math.max(1, Math.abs(difference)), `${program}: d/d${name} ${grad[name]} vs central difference ${difference}`);
  }
}

const at = { r: 1.3, m: 0.4, s: 1.7, k: 2.5, a: 0.2, b: 1.5, q: 0.8 };

const cases: [string, number][] = [
  ['kl(exponential(r), normal(m, s))', 0.8378907956682627],
  ['kl(gamma(k, r), normal(m, s))', 0.6392587887860044],
  ['kl(uniform(a, b), normal(m, s))', 1.2466027504798594],
  ['kl(beta(k, r), normal(m, s))', 1.6871361293915403],
  // quad over loc ± 60 scale (beyond, the integrand underflows)
  ['kl(laplace(m, s), normal(a, r))', 0.6794208571743082],
  // quad over loc - 5 scale .. loc + 60 scale
  ['kl(gumbel(m, s), normal(a, r))', 0.8927637057110417],
  ['kl(lognormal(m, q), normal(a, r))', 1.7224000140180322],
  ['kl(gamma(k, r), exponential(q))', 0.29402144473818476],
  ['kl(exponential(q), gamma(k, r))', 0.5617368283709655],
  ['kl(uniform(a, b), exponential(q))', 0.6407792868467186],
  ['kl(beta(k, r), exponential(q))', 0.9674094605134714],
  ['kl(weibull(s, k), exponential(q))', 0.46915542498945684],
  ['kl(chi2(k), gamma(s, r))', 0.4804487724874253],
];

t.test('kl across families equals the integral of p log(p / q)', async (t) => {
  for (const [program, expected] of cases) {
    const { value } = computeSync('eval', { program, at }) as { value: number };
    t.ok(Math.abs(value - expected) <= 1e-9 * Math.abs(expected), `${program}: ${value} vs scipy ${expected}`);
  }
});

t.test('kl across families: gradients in every parameter match central differences', async (t) => {
  for (const [program] of cases) gradcheckProgram(t, program, at);
});

t.test('kl(uniform, exponential) is infinite when the uniform reaches below 0', async (t) => {
  const { value } = computeSync('eval', { program: 'kl(uniform(-0.5, 1), exponential(2))' }) as { value: unknown };
  t.equal(value, 'Infinity');
});
