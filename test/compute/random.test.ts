/**
 * Random draws in every endpoint (SPEC.md section 5): the seed is echoed or, when absent,
 * chosen fresh and reported; the same seed gives the same numbers by every path (compiled code,
 * the interpreter, each endpoint); programs without draws report no seed; and a Hessian
 * through a gamma draw is refused rather than silently zero.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';
import { problemOf } from '../helpers.js';

const PATHWISE = { program: 'z = rsample(normal(mu, sigma)); z .^ 2 + exp(z)', at: { mu: 0.3, sigma: 0.8 } };


t.test('the seed: echoed when given, fresh and reported when not, absent when nothing is drawn', async (t) => {
  const given = computeSync('eval', { program: 'randn(3)', seed: 9 }) as { value: number[]; seed: number };
  t.equal(given.seed, 9, 'a given seed is echoed');
  t.same(computeSync('eval', { program: 'randn(3)', seed: 9 }), given, 'and gives the same numbers again');
  const fresh = computeSync('eval', { program: 'randn(3)' }) as { value: number[]; seed: number };
  t.ok(Number.isSafeInteger(fresh.seed) && fresh.seed >= 0, `a fresh seed is reported: ${fresh.seed}`);
  t.same(computeSync('eval', { program: 'randn(3)', seed: fresh.seed }), fresh, 'the reported seed repeats the draws');
  t.not((computeSync('eval', { program: 'randn(3)' }) as { seed: number }).seed, fresh.seed, 'another request, another seed');
  t.same(computeSync('grad', { program: 'x^2', at: { x: 3 }, seed: 4 }), { value: 9, grad: { x: 6 } }, 'no draw, no seed in the response');
  for (const seed of [-1, 1.5, 2 ** 53, 'one']) {
    t.match(problemOf(() => computeSync('eval', { program: 'rand()', seed })), { status: 400, code: 'INVALID_REQUEST', path: '/seed' }, `seed ${String(seed)} is refused`);
  }
});

t.test('one seed, the same draws by every path: compiled code, the interpreter, each endpoint', async (t) => {
  const body = { ...PATHWISE, seed: 21 };
  const compiled = computeSync('grad', body) as { value: number; grad: Record<string, number> };
  // A tensor input keeps the program off the compiler: the same numbers through the engine.
  const general = computeSync('grad', { ...body, at: { mu: [0.3], sigma: 0.8 } }) as { value: number[]; grad: { mu: number[]; sigma: number } };
  t.equal(general.value[0], compiled.value, 'value: compiled and interpreted agree');
  t.ok(Math.abs(general.grad.mu[0] - compiled.grad.mu) <= 1e-15 * Math.abs(compiled.grad.mu), 'd/dmu: compiled and interpreted agree');
  t.equal((computeSync('eval', body) as { value: number }).value, compiled.value, 'eval draws what grad draws');
  const forward = computeSync('grad', { ...body, options: { mode: 'forward' } }) as { grad: Record<string, number> };
  t.ok(Math.abs(forward.grad.sigma - compiled.grad.sigma) <= 1e-14 * Math.abs(compiled.grad.sigma), 'forward mode draws the same z');
  const hessian = computeSync('hessian', body) as { value: number; grad: Record<string, number> };
  t.equal(hessian.value, compiled.value, 'hessian (several runs of the program) draws the same z every run');
  const sample = computeSync('sample', { ...body, n: 1 }) as { samples: { value: number }[] };
  t.equal(sample.samples[0].value, compiled.value, 'sample run 0 is the plain request\'s draw');
  // z = mu + sigma eps: d/dmu = 2z + e^z, d/dsigma = eps (2z + e^z).
  const z = 0.3 + 0.8 * ((computeSync('eval', { program: 'randn()', seed: 21 }) as { value: number }).value);
  t.ok(Math.abs(compiled.grad.mu - (2 * z + Math.exp(z))) <= 1e-13, 'd/dmu = 2z + e^z, with z from randn() of the same seed');
});

t.test('a Hessian through an implicitly reparameterised draw is refused, not zero', async (t) => {
  for (const program of ['rsample(gamma(k, 1))^2', 'rsample(beta(k, 2))', 'rsample(studentt(k))']) {
    t.match(problemOf(() => computeSync('hessian', { program, at: { k: 2.5 }, seed: 1 })), { status: 422, code: 'NOT_DIFFERENTIABLE', detail: /second derivatives/ }, program);
    const first = computeSync('grad', { program, at: { k: 2.5 }, seed: 1 }) as { grad: { k: number } };
    t.ok(Number.isFinite(first.grad.k), `${program}: the first derivative is fine`);
  }
});

t.test('trace: a distribution is a step of the Wengert list, and the gradient flows through it', async (t) => {
  const r = computeSync('trace', { program: 'log_prob(normal(mu, 2), 0.5)', at: { mu: 1 } }) as { steps: { op: string; value: unknown; adjoint: unknown }[]; inputs: { adjoint: number }[] };
  t.same(
    r.steps.map((s) => [s.op, s.value]),
    [
      ['normal', 'normal'],
      ['log_prob', -1.643335713764618],
    ],
  );
  // d/dmu log N(0.5; mu, 2) = (0.5 - mu) / 4.
  t.equal(r.inputs[0].adjoint, -0.125);
  const graph = computeSync('trace', { program: 'log_prob(normal(mu, 2), 0.5)', at: { mu: 1 }, options: { format: 'graph' } }) as { graph: unknown };
  t.same(computeSync('grad', { graph: graph.graph, at: { mu: 1 } }), { value: -1.643335713764618, grad: { mu: -0.125 } }, 'the exported graph evaluates again');
});

t.test('a program whose result is a distribution is told what to do with it', async (t) => {
  t.match(problemOf(() => computeSync('eval', { program: 'normal(0, 1)' })), { status: 422, code: 'INVALID_ARGUMENT', detail: /distribution.*rsample/ });
  t.match(problemOf(() => computeSync('eval', { program: 'sin(normal(0, 1))' })), { status: 422, code: 'INVALID_ARGUMENT', detail: /normal distribution/ });
});

t.test('a batch of mvnormal draws each with its own mean and covariance', async (t) => {
  const at = { m: [[1, 2], [0, 1]], L: [[[1, 0], [0.5, 2]], [[0.7, 0], [-0.3, 1.2]]] };
  const n = 40_000;
  const draws = computeSync('eval', { program: `rsample(mvnormal(m, L), ${n})`, at, seed: 3 }) as { value: number[][][] };
  t.same([draws.value.length, draws.value[0].length, draws.value[0][0].length], [n, 2, 2], 'shape [n, batch, K]');
  for (let b = 0; b < 2; b++) {
    const L = at.L[b];
    // Covariance L Lᵀ, compared element by element with the sample covariance (5 standard errors).
    const covariance = [0, 1].map((i) => [0, 1].map((j) => L[i][0] * L[j][0] + L[i][1] * L[j][1]));
    const mean = [0, 1].map((i) => draws.value.reduce((s, d) => s + d[b][i], 0) / n);
    for (let i = 0; i < 2; i++) t.ok(Math.abs(mean[i] - at.m[b][i]) < 5 * Math.sqrt(covariance[i][i] / n), `batch ${b}: mean ${i} ${mean[i]}`);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        const c = draws.value.reduce((s, d) => s + (d[b][i] - mean[i]) * (d[b][j] - mean[j]), 0) / n;
        const se = Math.sqrt((covariance[i][i] * covariance[j][j] + covariance[i][j] ** 2) / n);
        t.ok(Math.abs(c - covariance[i][j]) < 5 * se, `batch ${b}: covariance (${i}, ${j}) ${c} vs ${covariance[i][j]}`);
      }
    }
  }
});
