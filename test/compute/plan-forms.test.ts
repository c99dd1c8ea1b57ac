/**
 * The forms students write (bench/forms.ts, issue 17) are answered from plans: full reductions
 * of matrices, powers by small integer constants, max, min and logsumexp, a distribution's
 * log_prob. Each form, asked three times with new data, gets the general engine's answer byte
 * for byte, from its plan from the second call on, and its gradient agrees with central
 * differences of the program's value.
 */
import t from 'tap';
import { WatchedCache } from './watched-cache.js';
import { Problem, ProgramCache, computeSync } from '../../src/index.js';

type Nested = number | Nested[];

/** Deterministic numbers in [lo, hi). */
function numbers(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}
const rows = (data: number[], columns: number): number[][] => Array.from({ length: data.length / columns }, (_, r) => data.slice(r * columns, (r + 1) * columns));
const matrix = (r: number, c: number, seed: number, lo?: number, hi?: number): number[][] => rows(numbers(r * c, seed, lo, hi), c);
const scalar = (seed: number, lo?: number, hi?: number): number => numbers(1, seed, lo, hi)[0];
const oneHot = (labels: number[]): number[][] => labels.map((y) => [0, 1, 2].map((c) => (c === y ? 1 : 0)));

interface Form {
  readonly name: string;
  readonly program: string;
  /** The inputs for data set `seed`. */
  readonly at: (seed: number) => Record<string, Nested>;
  readonly wrt: readonly string[];
}

const factorisation = (seed: number) => ({ A: matrix(6, 4, seed, -2, 2), U: matrix(6, 2, seed + 1), V: matrix(4, 2, seed + 2) });
const vector = (seed: number) => ({ x: numbers(9, seed, -3, 3) });
const cubic = (seed: number) => ({ v: numbers(8, seed, -2, 2), a: scalar(seed + 1), b: scalar(seed + 2), c: scalar(seed + 3), d: scalar(seed + 4) });
const gaussian = (seed: number) => ({ v: numbers(7, seed, -2, 2), mu: scalar(seed + 1), sigma: scalar(seed + 2, 0.8, 1.6) });

const forms: Form[] = [
  { name: 'a full sum of a squared matrix (pow by 2 as a square)', program: "sum((A - U * V') .^ 2)", at: factorisation, wrt: ['U', 'V'] },
  { name: 'the sum of the column sums of a squared matrix', program: "sum(sum((A - U * V') .^ 2))", at: factorisation, wrt: ['U', 'V'] },
  { name: 'the Frobenius norm written out', program: "sqrt(sum((A - U * V') .^ 2))", at: factorisation, wrt: ['U', 'V'] },
  { name: 'a cubic by powers 3 and 2 (the cube and the square)', program: 'sum(a * v .^ 3 + b * v .^ 2 + c * v + d)', at: cubic, wrt: ['a', 'b', 'c', 'd', 'v'] },
  { name: 'a power by 4 (pow, whose rule takes the cube)', program: 'sum(v .^ 4 - v .^ 3)', at: cubic, wrt: ['v'] },
  { name: 'logsumexp of a vector', program: 'logsumexp(x)', at: vector, wrt: ['x'] },
  { name: 'the 2-norm of a vector', program: 'norm(x)', at: vector, wrt: ['x'] },
  {
    name: "least squares as a vector's transpose times itself (a dot product)",
    program: "r = X * w - t\nr' * r",
    at: (seed) => ({ X: matrix(7, 3, seed, -2, 2), t: numbers(7, seed + 1), w: numbers(3, seed + 2) }),
    wrt: ['w', 't'],
  },
  { name: 'log-sum-exp by hand, around the maximum', program: 'm = max(x)\nm + log(sum(exp(x - m)))', at: vector, wrt: ['x'] },
  { name: 'max and min along each dimension', program: 'M = reshape(x, [3, 3])\nsum(max(M, 1)) - sum(min(M, 2)) + min(x)', at: vector, wrt: ['x'] },
  {
    name: 'softmax regression by hand: logsumexp along rows',
    program: 'Z = X * W\nmean(logsumexp(Z, 2) - sum(Z .* Y, 2))',
    at: (seed) => ({ X: matrix(5, 4, seed, -2, 2), Y: oneHot(numbers(5, seed + 1, 0, 3).map(Math.floor)), W: matrix(4, 3, seed + 2) }),
    wrt: ['W'],
  },
  { name: 'the normal log-likelihood by log_prob (its support checked at each run)', program: 'sum(log_prob(normal(mu, sigma), v))', at: gaussian, wrt: ['mu', 'sigma'] },
  {
    name: 'the normal log-likelihood written out',
    program: 'sum(-0.5 * ((v - mu) / sigma) .^ 2 - log(sigma) - 0.5 * log(2 * pi))',
    at: gaussian,
    wrt: ['mu', 'sigma'],
  },
  { name: 'an exponential log-likelihood, the data differentiated too', program: 'sum(log_prob(exponential(r), v))', at: (seed) => ({ v: numbers(6, seed, 0.1, 3), r: scalar(seed + 1, 0.5, 2) }), wrt: ['r', 'v'] },
  {
    name: 'a Bernoulli log-likelihood ({0, 1} checked element by element)',
    program: 'sum(log_prob(bernoulli(p), k))',
    at: (seed) => ({ k: numbers(6, seed, 0, 2).map(Math.floor), p: numbers(6, seed + 1, 0.2, 0.8) }),
    wrt: ['p'],
  },
];

const flatten = (v: Nested): number[] => (typeof v === 'number' ? [v] : v.flatMap(flatten));

/** The program's value at `at`. */
function valueAt(program: string, at: Record<string, Nested>): number {
  return (computeSync('eval', { program, at }) as { value: number }).value;
}

/** `at` with element `k` (row-major) of input `name`, a scalar, vector or matrix, moved by `h`. */
function moved(at: Record<string, Nested>, name: string, k: number, h: number): Record<string, Nested> {
  const copy = structuredClone(at);
  const x = copy[name];
  if (typeof x === 'number') copy[name] = x + h;
  else if (typeof x[0] === 'number') (x as number[])[k] += h;
  else {
    const m = x as number[][];
    m[Math.floor(k / m[0].length)][k % m[0].length] += h;
  }
  return copy;
}

for (const form of forms) {
  t.test(`${form.name}: from its plan, the engine's bytes, and central differences`, async (t) => {
    const cache = new WatchedCache();
    for (const seed of [1, 11, 21]) {
      const body = { program: form.program, at: form.at(seed), wrt: form.wrt };
      const planned = JSON.stringify(computeSync('grad', body, { cache }));
      const engine = JSON.stringify(computeSync('grad', body, { cache: new WatchedCache() }));
      t.equal(planned, engine, `data ${seed}: the general engine's answer, byte for byte`);
    }
    t.equal(cache.planned, 2, 'the second and third calls answered from the plan');
    const at = form.at(31);
    const { grad } = computeSync('grad', { program: form.program, at, wrt: form.wrt }, { cache }) as { grad: Record<string, Nested> };
    const h = 1e-6;
    for (const name of form.wrt) {
      const g = flatten(grad[name]);
      g.forEach((gk, k) => {
        const fd = (valueAt(form.program, moved(at, name, k, h)) - valueAt(form.program, moved(at, name, k, -h))) / (2 * h);
        t.ok(Math.abs(fd - gk) <= 1e-6 * Math.max(1, Math.abs(gk)), `d/d${name}[${k}]: ${gk} against central differences ${fd}`);
      });
    }
  });
}

t.test('a value outside the support met by a planned run is refused as the engine refuses it, with its place', async (t) => {
  const body = (v: number[]) => ({ program: 'r = 2\nsum(log_prob(exponential(r), v))', at: { v }, wrt: ['v'] });
  const cache = new WatchedCache();
  computeSync('grad', body([0.5, 1, 2]), { cache });
  computeSync('grad', body([0.25, 1, 3]), { cache });
  const problem = (c: ProgramCache) => {
    try {
      computeSync('grad', body([0.5, -1, 2]), { cache: c });
      return null;
    } catch (e) {
      return (e as Problem).body;
    }
  };
  const planned = problem(cache);
  t.equal(cache.planned, 2, 'the second and third calls ran on the plan');
  t.match(planned, { code: 'INVALID_ARGUMENT', detail: 'log_prob: -1 (element 2) is outside the support of exponential, [0, ∞)', line: 2 }, 'the offending element named');
  t.same(planned, problem(new ProgramCache()), 'with the same problem (code, message, line, column) as without a plan');
});

t.test('the product of two vectors is the product of a row and a column, byte for byte, in either mode', async (t) => {
  // matmul takes two vectors as dot(a, b): the same numbers as the matrix product it replaced.
  for (const seed of [1, 2, 3]) {
    const at = { a: numbers(50, seed, -3, 3), b: numbers(50, seed + 10) };
    for (const mode of ['reverse', 'forward']) {
      const answer = (program: string) => JSON.stringify(computeSync('grad', { program, at, wrt: ['a', 'b'], options: { mode } }));
      t.equal(answer("a' * b"), answer('sum(reshape(a, [1, 50]) * reshape(b, [50, 1]))'), `a' * b, data set ${seed}, ${mode} mode`);
      t.equal(answer('a * a'), answer('sum(reshape(a, [1, 50]) * reshape(a, [50, 1]))'), `a * a, data set ${seed}, ${mode} mode`);
    }
  }
});
