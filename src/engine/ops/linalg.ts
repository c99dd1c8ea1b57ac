/**
 * Linear algebra. `matmul` is the one product primitive (batched, with broadcast batch axes);
 * `det`, `inv` and `solve` are primitives over LU factorisation with partial pivoting, whose
 * rules are the standard matrix-calculus identities written in engine operations.
 */
import { bind, concrete, definePrimitive, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { broadcastIndex } from '../broadcast.js';
import { compileKernel } from '../kernels.js';
import { PRODUCT_WIDTH, productSource, productWidth } from '../product.js';
import { Tensor, broadcastShapes, formatShape, sameShape, type Shape } from '../tensor.js';
import { add, lift, mul, neg, sub, type Operand } from './elementwise.js';
import { range, select, stack, takeAlong } from './indexing.js';
import { eq, sqrt, where } from './math.js';
import { sum } from './reduce.js';
import { reshape, sumTo, transpose, unsqueeze } from './shape.js';

/** Where a matrix operand's element (row, column) lives: base + row * rowStride + column * columnStride. */
interface Operand2d {
  readonly data: Float64Array;
  readonly base: number;
  readonly rowStride: number;
  readonly columnStride: number;
}

type GemmKernel = (
  a: Float64Array,
  aBase: number,
  ar: number,
  ac: number,
  b: Float64Array,
  bBase: number,
  br: number,
  bc: number,
  c: Float64Array,
  co: number,
  m: number,
  k: number,
  n: number,
  cx: Context,
  op: string,
) => void;

/**
 * C (m×n, at offset co) = A (m×k) · B (k×n), where A and B may be read transposed through their
 * strides (so the VJP's products with transposes copy nothing), compiled from the product's one
 * loop (product.ts), which the plan's fused products share: four-column blocks, and for B of one
 * to three columns (a regression or classification head, and the VJPs that read it) blocks
 * exactly as wide, with no column computed in vain. Packing B's panels gained nothing even at
 * 512×512 and cost small products more than their arithmetic.
 */
const gemmKernels: readonly GemmKernel[] = Array.from({ length: PRODUCT_WIDTH }, (_, w) =>
  compileKernel<GemmKernel>(['a', 'aBase', 'ar', 'ac', 'b', 'bBase', 'br', 'bc', 'c', 'co', 'm', 'k', 'n', 'cx', 'op'], productSource(w + 1, (v) => `c[co + i] = ${v};`)),
);

function gemm(cx: Context, a: Operand2d, b: Operand2d, c: Float64Array, co: number, m: number, k: number, n: number): void {
  gemmKernels[productWidth(n) - 1](a.data, a.base, a.rowStride, a.columnStride, b.data, b.base, b.rowStride, b.columnStride, c, co, m, k, n, cx, 'matmul');
}

/** A stored matrix as the product reads it, from `base`, transposed or not (`cols`: its stored row length). */
function operand(t: Tensor, base: number, transposed: boolean, cols: number): Operand2d {
  return transposed ? { data: t.data, base, rowStride: 1, columnStride: cols } : { data: t.data, base, rowStride: cols, columnStride: 1 };
}

/** Which operands of the product are read transposed (their last two axes swapped). */
export interface MatmulParams {
  readonly ta: boolean;
  readonly tb: boolean;
}

/** The (rows, columns) of a matrix operand as the product sees it. */
function dims(t: Tensor, transposed: boolean): [number, number] {
  const r = t.shape.length;
  return transposed ? [t.shape[r - 1], t.shape[r - 2]] : [t.shape[r - 2], t.shape[r - 1]];
}

const NO_AXES: Shape = [];

const matmulPrim = definePrimitive<MatmulParams>({
  name: 'matmul',
  impl(cx, [a, b], { ta, tb }) {
    const [m, k] = dims(a, ta);
    const [k2, n] = dims(b, tb);
    if (k !== k2) {
      throw new EngineError(
        'SHAPE_MISMATCH',
        `matrix product: inner dimensions differ, ${formatShape(a.shape)} times ${formatShape(b.shape)} (${k} vs ${k2})`,
        { op: 'matmul' },
      );
    }
    // Two matrices (the common case) need no batch axes worked out.
    const plain = a.shape.length === 2 && b.shape.length === 2;
    const batchA = plain ? NO_AXES : a.shape.slice(0, -2);
    const batchB = plain ? NO_AXES : b.shape.slice(0, -2);
    const batch = plain ? NO_AXES : broadcastShapes('matmul', batchA, batchB);
    // gemm writes every element of every product.
    const out = cx.allocForWriting('matmul', plain ? [m, n] : [...batch, m, n]);
    // Row and column strides of each operand as stored (a.shape[-1] is its stored row length).
    const aCols = a.shape[a.shape.length - 1];
    const bCols = b.shape[b.shape.length - 1];
    if (batch.length === 0) {
      gemm(cx, operand(a, 0, ta, aCols), operand(b, 0, tb, bCols), out.data, 0, m, k, n);
      return out;
    }
    const ia = broadcastIndex(batchA, batch);
    const ib = broadcastIndex(batchB, batch);
    for (let t = 0; t < ia.length; t++) {
      gemm(cx, operand(a, ia[t] * m * k, ta, aCols), operand(b, ib[t] * k * n, tb, bCols), out.data, t * m * n, m, k, n);
    }
    return out;
  },
  jvp: (cx, [a, b], [da, db], _out, { ta, tb }) => {
    const left = da === null ? null : product(cx, da, b, ta, tb);
    const right = db === null ? null : product(cx, a, db, ta, tb);
    return left === null ? right : right === null ? left : add(cx, left, right);
  },
  // For C = op(A) op(B): the adjoint of op(A) is g op(B)ᵀ and that of op(B) is op(A)ᵀ g, each
  // transposed back where the operand was read transposed.
  vjp: (cx, g, [a, b], _out, { ta, tb }, needs) => [
    needs[0] ? sumTo(cx, ta ? product(cx, b, g, tb, true) : product(cx, g, b, false, !tb), a.shape) : null,
    needs[1] ? sumTo(cx, tb ? product(cx, g, a, true, ta) : product(cx, a, g, !ta, false), b.shape) : null,
  ],
});

function product(cx: Context, a: Value, b: Value, ta: boolean, tb: boolean): Value {
  return bind(cx, matmulPrim, [a, b], { ta, tb });
}

/**
 * The matrix product with PyTorch's `matmul` rules: matrices multiply, leading axes are batch
 * axes that broadcast, a vector on the left is a row and on the right a column (and that axis
 * is dropped again), and two vectors give their dot product.
 */
export function matmul(cx: Context, a: Operand, b: Operand): Value {
  const x = lift(a);
  const y = lift(b);
  if (x.shape.length === 0 || y.shape.length === 0) {
    throw new EngineError('SHAPE_MISMATCH', `matrix product needs vectors or matrices, got ${formatShape(x.shape)} and ${formatShape(y.shape)}`, {
      op: 'matmul',
    });
  }
  const xv = x.shape.length === 1;
  const yv = y.shape.length === 1;
  // Checked here as well as in the kernel so that the message shows the vectors as given.
  const k = x.shape[x.shape.length - 1];
  const k2 = y.shape[yv ? 0 : y.shape.length - 2];
  if (k !== k2) {
    throw new EngineError(
      'SHAPE_MISMATCH',
      `matrix product: inner dimensions differ, ${formatShape(x.shape)} times ${formatShape(y.shape)} (${k} vs ${k2})`,
      { op: 'matmul' },
    );
  }
  // Two vectors: their dot product, which a plan fuses into one loop with what computes them
  // (`r' * r` as `dot(r, r)`, not four reshapes and three matrix products forward and back). The
  // same numbers: the product of a row and a column adds in the same order.
  if (xv && yv) return dot(cx, x, y);
  const result = product(cx, xv ? unsqueeze(cx, x, 0) : x, yv ? unsqueeze(cx, y, 1) : y, false, false);
  if (!xv && !yv) return result;
  const shape = [...result.shape];
  if (yv) shape.splice(shape.length - 1, 1);
  if (xv) shape.splice(shape.length - (yv ? 1 : 2), 1);
  return reshape(cx, result, shape);
}

function checkSquare(op: string, a: Tensor | Value): number {
  const s = a.shape;
  if (s.length !== 2 || s[0] !== s[1]) {
    throw new EngineError('SHAPE_MISMATCH', `${op}: needs a square matrix, got shape ${formatShape(s)}`, { op });
  }
  return s[0];
}

/** The n×n identity matrix; charged to `cx`'s budget when given (n comes from a program, n² may be anything). */
export function identity(n: number, cx?: Context): Tensor {
  const t = cx === undefined ? Tensor.zeros([n, n]) : cx.alloc('identity', [n, n]);
  for (let i = 0; i < n; i++) t.data[i * n + i] = 1;
  return t;
}

/** The integer power of a square matrix by repeated squaring; negative powers invert first. */
export function matrixPower(cx: Context, a: Operand, power: number): Value {
  const x = lift(a);
  const n = checkSquare('matrix power', x);
  if (!Number.isInteger(power)) {
    throw new EngineError('INVALID_ARGUMENT', `matrix power: the exponent must be an integer, got ${power}`, { op: 'matrixPower' });
  }
  let base = power < 0 ? inv(cx, x) : x;
  let e = Math.abs(power);
  let result: Value | null = null;
  while (e > 0) {
    if (e & 1) result = result === null ? base : matmul(cx, result, base);
    e = Math.floor(e / 2);
    if (e > 0) base = matmul(cx, base, base);
  }
  return result ?? identity(n, cx);
}

/** The dot product of two vectors of equal length. */
export function dot(cx: Context, a: Operand, b: Operand): Value {
  const x = lift(a);
  const y = lift(b);
  if (x.shape.length !== 1 || !sameShape(x.shape, y.shape)) {
    throw new EngineError('SHAPE_MISMATCH', `dot: needs two vectors of equal length, got ${formatShape(x.shape)} and ${formatShape(y.shape)}`, {
      op: 'dot',
    });
  }
  return sum(cx, mul(cx, x, y));
}

/** The sum of the diagonal of a square matrix. */
export function trace(cx: Context, a: Operand): Value {
  const x = lift(a);
  const n = checkSquare('trace', x);
  const diagonal = Tensor.fromArray([n, 1], range(0, n));
  return sum(cx, takeAlong(cx, x, 1, diagonal));
}

/**
 * LU factorisation with partial pivoting of an n×n matrix, in place; null when singular. A NaN
 * in the matrix, or one that elimination makes of infinities, makes every entry NaN, so that
 * det, inv and solve give NaN (as IEEE arithmetic and mathjs do) rather than 0 or an error.
 */
function luFactor(cx: Context, op: string, lu: Float64Array, n: number): { pivots: Int32Array; sign: number } | null {
  const pivots = new Int32Array(n);
  let sign = 1;
  if (lu.some(Number.isNaN)) return nanFactor(lu, n);
  for (let col = 0; col < n; col++) {
    cx.work(op, (n - col) * (n - col));
    let p = col;
    let best = Math.abs(lu[col * n + col]);
    for (let r = col + 1; r < n; r++) {
      const v = Math.abs(lu[r * n + col]);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    pivots[col] = p;
    if (best !== best) return nanFactor(lu, n);
    if (best === 0) return null;
    if (p !== col) {
      sign = -sign;
      for (let j = 0; j < n; j++) {
        const t = lu[col * n + j];
        lu[col * n + j] = lu[p * n + j];
        lu[p * n + j] = t;
      }
    }
    const d = lu[col * n + col];
    for (let r = col + 1; r < n; r++) {
      const f = (lu[r * n + col] /= d);
      if (f === 0) continue;
      for (let j = col + 1; j < n; j++) lu[r * n + j] -= f * lu[col * n + j];
    }
  }
  return { pivots, sign };
}

function nanFactor(lu: Float64Array, n: number): { pivots: Int32Array; sign: number } {
  lu.fill(NaN);
  return { pivots: range(0, n), sign: 1 };
}

/** Solves LU x = P b in place for each of the m columns of b (n×m, row-major). */
function luSolve(cx: Context, op: string, lu: Float64Array, pivots: Int32Array, n: number, b: Float64Array, m: number): void {
  for (let i = 0; i < n; i++) {
    const p = pivots[i];
    if (p !== i) {
      for (let j = 0; j < m; j++) {
        const t = b[i * m + j];
        b[i * m + j] = b[p * m + j];
        b[p * m + j] = t;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    cx.work(op, i * m);
    for (let r = 0; r < i; r++) {
      const f = lu[i * n + r];
      if (f !== 0) for (let j = 0; j < m; j++) b[i * m + j] -= f * b[r * m + j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    cx.work(op, (n - i) * m);
    for (let r = i + 1; r < n; r++) {
      const f = lu[i * n + r];
      if (f !== 0) for (let j = 0; j < m; j++) b[i * m + j] -= f * b[r * m + j];
    }
    const d = lu[i * n + i];
    for (let j = 0; j < m; j++) b[i * m + j] /= d;
  }
}

function singular(op: string, shape: Shape): EngineError {
  return new EngineError('INVALID_ARGUMENT', `${op}: the matrix of shape ${formatShape(shape)} is singular`, { op });
}

const detPrim = definePrimitive<undefined>({
  name: 'det',
  impl(cx, [a]) {
    const n = checkSquare('det', a);
    const lu = cx.scratch('det', a.size);
    lu.set(a.data);
    const f = luFactor(cx, 'det', lu, n);
    if (f === null) return cx.scalar('det', 0);
    let d = f.sign;
    for (let i = 0; i < n; i++) d *= lu[i * n + i];
    return cx.scalar('det', d);
  },
  // d det(A) = det(A) tr(A⁻¹ dA) (Jacobi's formula); the adjoint is g det(A) A⁻ᵀ. A singular A
  // (det 0) has no inverse but the same derivative, adj(A)ᵀ: its cofactors.
  jvp: (cx, [a], [t], out) =>
    isZero(out) ? sum(cx, mul(cx, cofactors(cx, a), t!)) : mul(cx, out, trace(cx, matmul(cx, inv(cx, a), t!))),
  vjp: (cx, g, [a], out) => [isZero(out) ? mul(cx, g, cofactors(cx, a)) : mul(cx, mul(cx, g, out), transpose(cx, inv(cx, a)))],
});

function isZero(v: Value): boolean {
  return concrete(v).data[0] === 0;
}

/** adj(A)ᵀ: entry (i, j) is (-1)^(i+j) times the determinant of A without row i and column j. */
function cofactors(cx: Context, a: Value): Value {
  const n = a.shape[0];
  if (n === 1) return Tensor.full([1, 1], 1);
  const others = (k: number): Int32Array => range(0, n).filter((i) => i !== k);
  const entries: Value[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const minor = det(cx, select(cx, a, [others(i), others(j)]));
      entries.push((i + j) % 2 === 0 ? minor : neg(cx, minor));
    }
  }
  return reshape(cx, stack(cx, entries), [n, n]);
}

export function det(cx: Context, a: Operand): Value {
  const x = lift(a);
  checkSquare('det', x);
  return bind(cx, detPrim, [x], undefined);
}

const invPrim = definePrimitive<undefined>({
  name: 'inv',
  impl(cx, [a]) {
    const n = checkSquare('inv', a);
    const out = cx.alloc('inv', a.shape);
    const lu = cx.scratch('inv', a.size);
    lu.set(a.data);
    const f = luFactor(cx, 'inv', lu, n);
    if (f === null) throw singular('inv', a.shape);
    for (let i = 0; i < n; i++) out.data[i * n + i] = 1;
    luSolve(cx, 'inv', lu, f.pivots, n, out.data, n);
    return out;
  },
  // d(A⁻¹) = -A⁻¹ dA A⁻¹.
  jvp: (cx, _p, [t], out) => neg(cx, matmul(cx, matmul(cx, out, t!), out)),
  vjp: (cx, g, _p, out) => {
    const outT = transpose(cx, out);
    return [neg(cx, matmul(cx, matmul(cx, outT, g), outT))];
  },
});

export function inv(cx: Context, a: Operand): Value {
  const x = lift(a);
  checkSquare('inv', x);
  return bind(cx, invPrim, [x], undefined);
}

const solvePrim = definePrimitive<undefined>({
  name: 'solve',
  impl(cx, [a, b]) {
    const n = checkSquare('solve', a);
    if (b.shape[0] !== n || b.shape.length > 2) {
      throw new EngineError(
        'SHAPE_MISMATCH',
        `solve: the right-hand side of shape ${formatShape(b.shape)} does not match the matrix of shape ${formatShape(a.shape)}`,
        { op: 'solve' },
      );
    }
    const out = cx.alloc('solve', b.shape);
    out.data.set(b.data);
    const lu = cx.scratch('solve', a.size);
    lu.set(a.data);
    const f = luFactor(cx, 'solve', lu, n);
    if (f === null) throw singular('solve', a.shape);
    luSolve(cx, 'solve', lu, f.pivots, n, out.data, b.shape.length === 1 ? 1 : b.shape[1]);
    return out;
  },
  // x = A⁻¹ b: dx = A⁻¹ (db - dA x); the adjoints are ḃ = A⁻ᵀ g and Ā = -ḃ xᵀ.
  jvp: (cx, [a], [ta, tb], out) => {
    const rhs = ta === null ? tb! : tb === null ? neg(cx, matmul(cx, ta, out)) : sub(cx, tb, matmul(cx, ta, out));
    return solve(cx, a, rhs);
  },
  vjp: (cx, g, [a, b], out, _params, needs) => {
    const gb = solve(cx, transpose(cx, a), g);
    const column = (v: Value): Value => (v.shape.length === 1 ? reshape(cx, v, [v.shape[0], 1]) : v);
    return [needs[0] ? neg(cx, matmul(cx, column(gb), transpose(cx, column(out)))) : null, needs[1] ? sumTo(cx, gb, b.shape) : null];
  },
});

/** The solution x of A x = b, for a vector or a matrix b. */
export function solve(cx: Context, a: Operand, b: Operand): Value {
  return bind(cx, solvePrim, [lift(a), lift(b)], undefined);
}

/**
 * The largest eigenvalue of a symmetric n×n matrix (its symmetric part) and a unit eigenvector
 * for it, by cyclic Jacobi rotations, which find every eigenvalue to within rounding of the
 * matrix's norm. The eigenvector's sign is fixed: its largest component is positive.
 */
function symmetricTop(cx: Context, op: string, s: Float64Array, n: number): { value: number; vector: Float64Array } {
  if (n === 0) return { value: 0, vector: new Float64Array(0) };
  if (!s.every(Number.isFinite)) return { value: NaN, vector: new Float64Array(n).fill(NaN) };
  const a = cx.scratch(op, s.length);
  a.set(s);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i] = (s[i * n + j] + s[j * n + i]) / 2;
  }
  const v = identity(n, cx).data;
  for (let sweep = 0; sweep < 64; sweep++) {
    cx.work(op, n * n);
    let off = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-36 * diagonal) break;
    for (let p = 0; p < n; p++) {
      // Each rotation updates two rows and two columns of a and two columns of v.
      cx.work(op, 6 * n * (n - p));
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation J in the (p, q) plane with (Jᵀ A J)_pq = 0: t = tan of its angle, the
        // smaller root of t² + 2θt - 1 = 0.
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.abs(theta) > 1e150 ? 1 / (2 * theta) : Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  let top = 0;
  for (let i = 1; i < n; i++) if (a[i * n + i] > a[top * n + top]) top = i;
  const vector = new Float64Array(n);
  let largest = 0;
  for (let k = 0; k < n; k++) {
    vector[k] = v[k * n + top];
    if (Math.abs(vector[k]) > Math.abs(vector[largest])) largest = k;
  }
  if (vector[largest] < 0) for (let k = 0; k < n; k++) vector[k] = -vector[k];
  return { value: a[top * n + top], vector };
}

const symmetricPart = (cx: Context, t: Value): Value => mul(cx, 0.5, add(cx, t, transpose(cx, t)));
const outer = (cx: Context, a: Value, b: Value): Value => mul(cx, unsqueeze(cx, a, 1), unsqueeze(cx, b, 0));
/** x without its component along the unit vector v. */
const orthogonalTo = (cx: Context, v: Value, x: Value): Value => sub(cx, x, mul(cx, v, dot(cx, v, x)));
/** M = λI - S + v vᵀ: on v's orthogonal complement it is λI - S, whose inverse there moves v. */
function eigenPencil(cx: Context, s: Value, v: Value): Value {
  const lambda = dot(cx, v, matmul(cx, s, v));
  return add(cx, sub(cx, mul(cx, lambda, identity(s.shape[0], cx)), s), outer(cx, v, v));
}

const topEigenvectorPrim = definePrimitive<undefined>({
  name: 'topEigenvector',
  impl(cx, [s]) {
    const n = checkSquare('topEigenvector', s);
    const out = cx.alloc('topEigenvector', [n]);
    out.data.set(symmetricTop(cx, 'topEigenvector', s.data, n).vector);
    return out;
  },
  // For a simple largest eigenvalue λ, dv = (λI - S)⁺ dS v (first-order perturbation theory),
  // with dS's symmetric part: the pseudo-inverse on v's complement is M⁻¹ there.
  jvp: (cx, [s], [t], v) => solve(cx, eigenPencil(cx, s, v), orthogonalTo(cx, v, matmul(cx, symmetricPart(cx, t!), v))),
  vjp: (cx, g, [s], v) => [symmetricPart(cx, outer(cx, orthogonalTo(cx, v, solve(cx, eigenPencil(cx, s, v), g)), v))],
});

const topEigenvaluePrim = definePrimitive<undefined>({
  name: 'topEigenvalue',
  impl(cx, [s]) {
    const n = checkSquare('topEigenvalue', s);
    return cx.scalar('topEigenvalue', symmetricTop(cx, 'topEigenvalue', s.data, n).value);
  },
  // dλ = vᵀ dS v for a unit eigenvector v of λ; v is differentiable again, so higher orders follow.
  jvp: (cx, [s], [t]) => {
    const v = bind(cx, topEigenvectorPrim, [s], undefined);
    return dot(cx, v, matmul(cx, t!, v));
  },
  vjp: (cx, g, [s]) => {
    const v = bind(cx, topEigenvectorPrim, [s], undefined);
    return [mul(cx, g, outer(cx, v, v))];
  },
});

/**
 * The spectral norm of a matrix, its largest singular value (mathjs's `norm(A)` and
 * `norm(A, 2)`): the square root of the largest eigenvalue of AᵀA (or AAᵀ, the smaller). Its
 * gradient is u vᵀ for the top singular vectors, and 0 at the zero matrix.
 */
export function spectralNorm(cx: Context, a: Operand): Value {
  const x = lift(a);
  if (x.shape.length !== 2) {
    throw new EngineError('SHAPE_MISMATCH', `spectral norm: needs a matrix, got shape ${formatShape(x.shape)}`, { op: 'spectralNorm' });
  }
  const xt = transpose(cx, x);
  const gram = x.shape[0] < x.shape[1] ? matmul(cx, x, xt) : matmul(cx, xt, x);
  const lambda = bind(cx, topEigenvaluePrim, [gram], undefined);
  const zero = eq(cx, lambda, 0);
  return where(cx, zero, 0, sqrt(cx, where(cx, zero, 1, lambda)));
}
