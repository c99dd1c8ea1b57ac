/**
 * Operations along one axis of a sequence. Running sums and products are primitives (a scan
 * has no cheaper composition); sorting, differences, quantiles, Kronecker and cross products
 * are compositions of `select`, `takeAlong` and element-wise operations, whose rules are those
 * ops' own. Axes are 0-based here; the language converts from mathjs's 1-based dimensions.
 */
import { bind, concrete, definePrimitive, type Context, type Primitive, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { Tensor, formatShape, sizeOf, type Shape } from '../tensor.js';
import { add, div, mul, sub } from './elementwise.js';
import { range, select, takeAlong } from './indexing.js';
import { eq, where } from './math.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';

/** The contiguous (outer, extent, inner) view of `shape` around one axis. */
function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

function checkAxis(op: string, shape: Shape, axis: number): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new EngineError('INVALID_ARGUMENT', `${op}: dimension ${axis + 1} does not exist for shape ${formatShape(shape)}`, { op });
  }
}

interface ScanParams {
  readonly axis: number;
  /** From the last element to the first. */
  readonly reverse: boolean;
}

const cumsumPrim: Primitive<ScanParams> = definePrimitive<ScanParams>({
  name: 'cumsum',
  arity: 1,
  impl(cx, [x], { axis, reverse }) {
    const out = cx.allocForWriting('cumsum', x.shape);
    const [outer, extent, inner] = around(x.shape, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * extent * inner + i;
        let total = 0;
        for (let k = 0; k < extent; k++) {
          const at = base + (reverse ? extent - 1 - k : k) * inner;
          total += x.data[at];
          out.data[at] = total;
        }
      }
    }
    return out;
  },
  jvp: (cx, _p, [t], _out, params) => bind(cx, cumsumPrim, [t!], params),
  // A running sum is linear; its transpose is the running sum from the other end.
  vjp: (cx, g, _p, _out, { axis, reverse }) => [bind(cx, cumsumPrim, [g], { axis, reverse: !reverse })],
});

/** Running sums along `axis` (reverse: from the end, Σ_{j ≥ i}). */
export function cumsum(cx: Context, x: Value, axis: number, reverse = false): Value {
  checkAxis('cumsum', x.shape, axis);
  return bind(cx, cumsumPrim, [x], { axis, reverse });
}

/**
 * Where the zeros of x along `axis` are: `zero` (1 at each zero), `first` (1 at the first zero
 * of its lane) and `clear` (1 where no zero has come yet, the position itself included).
 */
function zeros(cx: Context, x: Value, axis: number): { zero: Value; first: Value; clear: Value } {
  const zero = eq(cx, x, 0);
  const count = cumsum(cx, zero, axis);
  return { zero, first: mul(cx, zero, eq(cx, count, 1)), clear: eq(cx, count, 0) };
}

/*
 * The derivatives of y_j = Π_{m ≤ j} x_m, exact at zeros (as PyTorch's cumprod_backward):
 * before the first zero of a lane, ∂y_j/∂x_i = y_j / x_i; at the first zero k,
 * ∂y_j/∂x_k = Π_{m ≤ j, m ≠ k} x_m, the running product with x_k replaced by 1; every other
 * derivative is 0 (each product still holds a zero). Divisions are by x with its zeros replaced
 * by 1, so that no branch that `where` discards holds an infinity that a higher derivative
 * would turn into NaN.
 */
const cumprodPrim: Primitive<number> = definePrimitive<number>({
  name: 'cumprod',
  arity: 1,
  impl(cx, [x], axis) {
    const out = cx.allocForWriting('cumprod', x.shape);
    const [outer, extent, inner] = around(x.shape, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * extent * inner + i;
        let product = 1;
        for (let k = 0; k < extent; k++) {
          product *= x.data[base + k * inner];
          out.data[base + k * inner] = product;
        }
      }
    }
    return out;
  },
  jvp: (cx, [x], [t], y, axis) => {
    const { zero, first, clear } = zeros(cx, x, axis);
    const regular = mul(cx, y, cumsum(cx, div(cx, t!, where(cx, zero, 1, x)), axis));
    const atFirst = mul(cx, sum(cx, mul(cx, t!, first), [axis], true), cumprod(cx, where(cx, first, 1, x), axis));
    return where(cx, clear, regular, atFirst);
  },
  vjp: (cx, g, [x], y, axis) => {
    const { zero, first } = zeros(cx, x, axis);
    const regular = div(cx, cumsum(cx, mul(cx, g, y), axis, true), where(cx, zero, 1, x));
    const atFirst = cumsum(cx, mul(cx, g, cumprod(cx, where(cx, first, 1, x), axis)), axis, true);
    return [where(cx, first, atFirst, regular)];
  },
});

/** Running products along `axis`. */
export function cumprod(cx: Context, x: Value, axis: number): Value {
  checkAxis('cumprod', x.shape, axis);
  return bind(cx, cumprodPrim, [x], axis);
}

/** The differences of consecutive elements along `axis`: x[i + 1] - x[i]. */
export function diff(cx: Context, x: Value, axis: number): Value {
  checkAxis('diff', x.shape, axis);
  const n = x.shape[axis];
  const part = (from: number, to: number): Int32Array[] => x.shape.map((d, a) => (a === axis ? range(from, to) : range(0, d)));
  return sub(cx, select(cx, x, part(1, n)), select(cx, x, part(0, n - 1)));
}

/** mathjs's default tolerances (relTol, absTol), under which nearly equal numbers compare equal. */
const REL_TOL = 1e-12;
const ABS_TOL = 1e-15;

/** mathjs's `nearlyEqual` with its default tolerances. */
export function nearlyEqual(a: number, b: number): boolean {
  if (a !== a || b !== b) return false;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  if (a === b) return true;
  return Math.abs(a - b) <= Math.max(REL_TOL * Math.max(Math.abs(a), Math.abs(b)), ABS_TOL);
}

/** mathjs's `compare` of numbers: 0 when nearly equal, else the sign of a - b. */
export function compareNumbers(a: number, b: number): number {
  return nearlyEqual(a, b) ? 0 : a > b ? 1 : -1;
}

/**
 * The positions that put a vector in mathjs's order: its `sort` is JavaScript's stable sort
 * with `compare`, so the same comparisons on positions make the same moves.
 */
function sortOrder(cx: Context, x: Tensor, descending: boolean): Tensor {
  const n = x.size;
  cx.countOperation('argsort');
  cx.charge('argsort', n);
  const order = Array.from({ length: n }, (_, i) => i);
  const v = x.data;
  // n log n comparisons of millions of elements take seconds: the deadline is read as they go.
  let compared = 0;
  const compare = (i: number, j: number): number => {
    if ((++compared & 0xffff) === 0) cx.checkDeadline('argsort');
    return descending ? -compareNumbers(v[i], v[j]) : compareNumbers(v[i], v[j]);
  };
  order.sort(compare);
  const index = cx.allocForWriting('argsort', [n]);
  for (let i = 0; i < n; i++) index.data[i] = order[i];
  return index;
}

function checkVector(op: string, x: Value): void {
  if (x.shape.length !== 1) throw new EngineError('SHAPE_MISMATCH', `${op}: needs a vector, got shape ${formatShape(x.shape)}`, { op });
}

/**
 * A vector sorted as mathjs sorts it, ascending or descending; the values are differentiable
 * (each gradient returns to the element that moved there), as torch.sort's.
 */
export function sort(cx: Context, x: Value, descending = false): Value {
  checkVector('sort', x);
  return takeAlong(cx, x, 0, sortOrder(cx, concrete(x), descending));
}

/**
 * mathjs's `quantileSeq` of a vector at each probability in [0, 1]: linear interpolation between
 * order statistics, (1 - f)·x₍ₖ₎ + f·x₍ₖ₊₁₎ at k + f = p (n - 1), as torch.quantile, whose
 * gradient goes to the two order statistics with those weights. `sorted`: take the vector as
 * already in order (as mathjs does, without checking).
 */
export function quantile(cx: Context, x: Value, probs: ArrayLike<number>, sorted = false): Value {
  checkVector('quantile', x);
  const n = x.shape[0];
  if (n === 0) throw new EngineError('INVALID_ARGUMENT', 'quantile: cannot take a quantile of an empty sequence', { op: 'quantile' });
  const ordered = sorted ? x : sort(cx, x);
  const m = probs.length;
  const lo = cx.allocForWriting('quantile', [m]);
  const hi = cx.allocForWriting('quantile', [m]);
  const frac = cx.allocForWriting('quantile', [m]);
  const exact = cx.allocForWriting('quantile', [m]);
  for (let k = 0; k < m; k++) {
    const index = probs[k] * (n - 1);
    const whole = Number.isInteger(index);
    lo.data[k] = Math.floor(index);
    hi.data[k] = whole ? index : Math.floor(index) + 1;
    frac.data[k] = index % 1;
    exact.data[k] = whole ? 1 : 0;
  }
  const left = takeAlong(cx, ordered, 0, lo);
  const right = takeAlong(cx, ordered, 0, hi);
  // mathjs's arithmetic, in its order: left (1 - f) + right f; a whole index is the element itself.
  const between = add(cx, mul(cx, left, sub(cx, 1, frac)), mul(cx, right, frac));
  return where(cx, exact, left, between);
}

/**
 * mathjs's `median` of a vector: the middle element, or the mean of the two middle ones. The
 * gradient goes to the middle element (to each of two with weight 1/2), as torch.quantile's at 0.5.
 */
export function median(cx: Context, x: Value): Value {
  checkVector('median', x);
  const n = x.shape[0];
  if (n === 0) throw new EngineError('INVALID_ARGUMENT', 'median: cannot take the median of an empty sequence', { op: 'median' });
  const ordered = sort(cx, x);
  const middle = (k: number): Value => reshape(cx, select(cx, ordered, [Int32Array.of(k)]), []);
  if (n % 2 === 1) return middle((n - 1) / 2);
  return div(cx, add(cx, middle(n / 2 - 1), middle(n / 2)), 2);
}

/**
 * mathjs's `kron`: the Kronecker product, out[i·p + k, j·q + l] = a[i, j]·b[k, l], of tensors of
 * any rank (the lower-ranked gains leading dimensions of 1). A broadcast product of the two,
 * each spread over alternate axes, reshaped.
 */
export function kron(cx: Context, a: Value, b: Value): Value {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: Shape): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  const spreadA = reshape(cx, a, sa.flatMap((d) => [d, 1]));
  const spreadB = reshape(cx, b, sb.flatMap((d) => [1, d]));
  return reshape(cx, mul(cx, spreadA, spreadB), sa.map((d, i) => d * sb[i]));
}

/** The cross product of two 3-vectors: a[(i+1) % 3] b[(i+2) % 3] - a[(i+2) % 3] b[(i+1) % 3]. */
export function cross(cx: Context, a: Value, b: Value): Value {
  for (const v of [a, b]) {
    if (v.shape.length !== 1 || v.shape[0] !== 3) {
      throw new EngineError('SHAPE_MISMATCH', `cross: needs two vectors of length 3, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`, { op: 'cross' });
    }
  }
  const next = [Int32Array.of(1, 2, 0)];
  const after = [Int32Array.of(2, 0, 1)];
  return sub(cx, mul(cx, select(cx, a, next), select(cx, b, after)), mul(cx, select(cx, a, after), select(cx, b, next)));
}
