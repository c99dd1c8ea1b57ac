/**
 * Gradients with respect to mvnormal's scale_tril as a whole matrix, entries above the diagonal
 * included, as PyTorch 1.13 gives them. PyTorch reads scale_tril through solve_triangular
 * (log_prob, and the second argument of kl), whose gradient it projects onto the lower
 * triangle, and through its diagonal (entropy): the entries above the diagonal get exactly 0
 * there. variance squares every entry, so those get 2 L_ij = 0. Its rsample (loc + L ε) and
 * the first argument of kl (the right-hand side of solve_triangular) read the whole matrix:
 * there they get PyTorch's closed forms below, not 0. The entries on and below the diagonal
 * are checked against central differences, which keep L lower triangular.
 */
import t, { type Test } from 'tap';
import { Context, Tensor, concrete, grad, gradForward, sum, type Value } from '../../src/engine/index.js';
import { Random } from '../../src/engine/random.js';
import * as D from '../../src/distributions/index.js';
import { assertClose, centralDifference } from '../helpers.js';

const mvnormal = (cx: Context, m: Value, l: Value): D.Distribution => D.makeDistribution(cx, D.familyNamed('mvnormal')!, [m, l]);

const M = Tensor.fromNested([0.5, -1, 2]);
const L = Tensor.fromNested([
  [1.2, 0, 0],
  [0.3, 0.8, 0],
  [-0.5, 0.2, 1.5],
]);
const BATCH_L = Tensor.fromNested([
  [
    [1.2, 0, 0],
    [0.3, 0.8, 0],
    [-0.5, 0.2, 1.5],
  ],
  [
    [0.9, 0, 0],
    [-0.2, 1.1, 0],
    [0.4, 0.6, 0.7],
  ],
]);
const OTHER_M = Tensor.fromNested([-0.3, 0.4, 1]);
const OTHER_L = Tensor.fromNested([
  [1, 0, 0],
  [0.1, 2, 0],
  [0.3, 0.4, 0.9],
]);
const SEED = 7;

interface TriangularCase {
  name: string;
  /** A scalar of the mean and the factor. */
  f: (cx: Context, m: Value, l: Value) => Value;
  l: Tensor;
  /** PyTorch's gradient where it reads the whole matrix: every entry, by a closed form. */
  exact?: (l: Tensor) => Tensor;
}

/** y with A y = b, A a lower-triangular K×K matrix (row-major), by forward substitution. */
function forwardSubstitute(a: ArrayLike<number>, k: number, b: readonly number[]): number[] {
  const y: number[] = [];
  for (let i = 0; i < k; i++) {
    let s = b[i];
    for (let j = 0; j < i; j++) s -= a[i * k + j] * y[j];
    y.push(s / a[i * k + i]);
  }
  return y;
}

/** y with Aᵀ y = b, A lower triangular, by back substitution. */
function backSubstitute(a: ArrayLike<number>, k: number, b: readonly number[]): number[] {
  const y = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i];
    for (let j = i + 1; j < k; j++) s -= a[j * k + i] * y[j];
    y[i] = s / a[i * k + i];
  }
  return y;
}

/**
 * d/dP of kl(mvnormal(m, P), mvnormal(m₂, Q)) as PyTorch computes it, with P read whole:
 * ½|Q⁻¹P|²_F gives Q⁻ᵀQ⁻¹P, and -log det P gives -1/P_ii on the diagonal.
 */
function klFirstFactorGradient(p: Tensor): Tensor {
  const k = 3;
  const q = OTHER_L.data;
  const g = Tensor.zeros([k, k]);
  for (let col = 0; col < k; col++) {
    const column = [0, 1, 2].map((row) => p.data[row * k + col]);
    const y = backSubstitute(q, k, forwardSubstitute(q, k, column));
    for (let row = 0; row < k; row++) g.data[row * k + col] = y[row] - (row === col ? 1 / p.data[row * k + row] : 0);
  }
  return g;
}

/** d/dL_ij of Σ (m + L ε) = ε_j for every i, PyTorch's loc + L ε read whole; ε recovered from the draw. */
function rsampleGradient(l: Tensor): Tensor {
  const cx = new Context();
  cx.random = new Random(SEED);
  const z = concrete(D.rsample(cx, mvnormal(cx, M, l)));
  const eps = forwardSubstitute(l.data, 3, [0, 1, 2].map((i) => z.data[i] - M.data[i]));
  return Tensor.fromNested([eps, eps, eps]);
}

const cases: readonly TriangularCase[] = [
  { name: 'log_prob at one point', f: (cx, m, l) => D.logProb(cx, mvnormal(cx, m, l), Tensor.fromNested([0.5, -0.2, 1.1])), l: L },
  {
    name: 'log_prob at a batch of points',
    f: (cx, m, l) => sum(cx, D.logProb(cx, mvnormal(cx, m, l), Tensor.fromNested([[0.5, -0.2, 1.1], [0, 1, 2]]))),
    l: L,
  },
  { name: 'log_prob with a batch of factors', f: (cx, m, l) => sum(cx, D.logProb(cx, mvnormal(cx, m, l), Tensor.fromNested([0.5, -0.2, 1.1]))), l: BATCH_L },
  { name: 'entropy', f: (cx, m, l) => D.entropy(cx, mvnormal(cx, m, l)), l: L },
  { name: 'variance', f: (cx, m, l) => sum(cx, D.variance(cx, mvnormal(cx, m, l))), l: L },
  { name: 'kl, the factor of the second argument', f: (cx, m, l) => D.kl(cx, mvnormal(cx, OTHER_M, OTHER_L), mvnormal(cx, m, l)), l: L },
  {
    name: 'kl, a batch of factors of the second argument',
    f: (cx, m, l) => sum(cx, D.kl(cx, mvnormal(cx, OTHER_M, OTHER_L), mvnormal(cx, m, l))),
    l: BATCH_L,
  },
  { name: 'kl, the factor of the first argument', f: (cx, m, l) => D.kl(cx, mvnormal(cx, m, l), mvnormal(cx, OTHER_M, OTHER_L)), l: L, exact: klFirstFactorGradient },
  {
    name: 'rsample',
    f: (cx, m, l) => {
      cx.random = new Random(SEED);
      return sum(cx, D.rsample(cx, mvnormal(cx, m, l)));
    },
    l: L,
    exact: rsampleGradient,
  },
];

/** Element e of a [..., K, K] tensor is above the diagonal. */
function isUpper(shape: readonly number[], e: number): boolean {
  const k = shape[shape.length - 1];
  return e % k > Math.floor(e / k) % k;
}

/** The gradient in L by reverse and by forward mode against PyTorch's: see the file's comment. */
function assertTriangularGradient(t: Test, c: TriangularCase): void {
  const f = (cx: Context, [m, l]: readonly Value[]): Value => c.f(cx, m, l);
  for (const [mode, differentiate] of [['reverse', grad], ['forward', gradForward]] as const) {
    const got = concrete(differentiate(new Context(), f, [M, c.l]).grads[1]);
    const label = `${c.name}: d/dscale_tril by ${mode} mode`;
    if (c.exact !== undefined) {
      assertClose(t, got, c.exact(c.l), `${label} against PyTorch's closed form`, { rtol: 1e-12, atol: 1e-14 });
      continue;
    }
    const upper = [...got.data.keys()].filter((e) => isUpper(got.shape, e) && got.data[e] !== 0);
    t.same(upper.map((e) => got.data[e]), [], `${label}: exactly 0 above the diagonal, as PyTorch's solve_triangular`);
    const numeric = Tensor.zeros(got.shape);
    const lowerGot = Tensor.zeros(got.shape);
    for (let e = 0; e < got.size; e++) {
      if (isUpper(got.shape, e)) continue;
      const direction = Tensor.zeros(c.l.shape);
      direction.data[e] = 1;
      numeric.data[e] = centralDifference(f, [M, c.l], [Tensor.zeros(M.shape), direction]).data[0];
      lowerGot.data[e] = got.data[e];
    }
    assertClose(t, lowerGot, numeric, `${label}: on and below the diagonal, against central differences`, { rtol: 1e-7, atol: 1e-9 });
  }
}

t.test("gradients in scale_tril's entries above the diagonal are PyTorch's", (t) => {
  for (const c of cases) assertTriangularGradient(t, c);
  t.end();
});
