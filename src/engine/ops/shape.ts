/**
 * Shape primitives. `expand` (broadcast to a shape) and `sumTo` (sum back down to one) are each
 * other's transpose and are the only code in the engine that deals with broadcasting.
 */
import { bind, definePrimitive, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { broadcastOf, broadcastStrides } from '../broadcast.js';
import { broadcastShapes, formatShape, sameShape, sizeOf, stridesOf, type Shape } from '../tensor.js';

function checkBroadcastable(op: string, from: Shape, to: Shape): void {
  const out = broadcastShapes(op, from, to);
  if (!sameShape(out, to)) {
    throw new EngineError('SHAPE_MISMATCH', `${op}: shape ${formatShape(from)} cannot be broadcast to ${formatShape(to)}`, { op });
  }
}

const expandPrim = definePrimitive<Shape>({
  name: 'expand',
  impl(cx, [x], shape) {
    checkBroadcastable('expand', x.shape, shape);
    const out = cx.alloc('expand', shape);
    const src = x.data;
    const dst = out.data;
    const { reading, period } = broadcastOf(x.shape, shape);
    if (reading === 'scalar') {
      dst.fill(src[0]);
      return out;
    }
    if (reading === 'suffix') {
      for (let o = 0; o < dst.length; o += period) dst.set(src, o);
      return out;
    }
    if (reading === 'prefix') {
      const p = period;
      for (let r = 0; r < src.length; r++) dst.fill(src[r], r * p, (r + 1) * p);
      return out;
    }
    // Walk the output row by row; the source offset follows by its broadcast strides.
    const strides = broadcastStrides(x.shape, shape);
    const rank = shape.length;
    const inner = shape[rank - 1];
    const step = strides[rank - 1];
    const idx = new Array<number>(rank).fill(0);
    let from = 0;
    for (let o = 0; o < dst.length; ) {
      for (let j = 0; j < inner; j++) dst[o++] = src[from + j * step];
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]++;
        from += strides[d];
        if (idx[d] < shape[d]) break;
        from -= strides[d] * shape[d];
        idx[d] = 0;
      }
    }
    return out;
  },
  jvp: (cx, _p, [t], _out, shape) => expand(cx, t!, shape),
  vjp: (cx, g, [x]) => [sumTo(cx, g, x.shape)],
});

/** Broadcasts `x` to `shape` (a no-op when it already has it). */
export function expand(cx: Context, x: Value, shape: Shape): Value {
  return sameShape(x.shape, shape) ? x : bind(cx, expandPrim, [x], shape);
}

const sumToPrim = definePrimitive<Shape>({
  name: 'sumTo',
  impl(cx, [x], shape) {
    checkBroadcastable('sumTo', shape, x.shape);
    // It reads all of x, however small its output: the reading counts as work against the deadline.
    cx.work('sumTo', x.size);
    const out = cx.alloc('sumTo', shape);
    const src = x.data;
    const dst = out.data;
    const { reading, period } = broadcastOf(shape, x.shape);
    if (reading === 'scalar') {
      let total = 0;
      for (let i = 0; i < src.length; i++) total += src[i];
      dst[0] = total;
      return out;
    }
    if (reading === 'suffix') {
      // Each column's sum in a local, rows in order: the same sums as row-major accumulation.
      // Four columns at a time: one column's additions wait on each other, four columns' do not
      // (a bias's gradient, 100 rows of 12: 2.7 µs a column at a time).
      const p = period;
      let j = 0;
      for (; j + 4 <= p; j += 4) {
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        for (let o = j; o < src.length; o += p) {
          t0 += src[o];
          t1 += src[o + 1];
          t2 += src[o + 2];
          t3 += src[o + 3];
        }
        dst[j] = t0;
        dst[j + 1] = t1;
        dst[j + 2] = t2;
        dst[j + 3] = t3;
      }
      for (; j < p; j++) {
        let total = 0;
        for (let o = j; o < src.length; o += p) total += src[o];
        dst[j] = total;
      }
      return out;
    }
    if (reading === 'prefix') {
      const p = period;
      for (let r = 0; r < dst.length; r++) {
        let total = 0;
        for (let j = r * p; j < (r + 1) * p; j++) total += src[j];
        dst[r] = total;
      }
      return out;
    }
    // Walk the source row by row; the destination offset follows by its broadcast strides.
    const strides = broadcastStrides(shape, x.shape);
    const rank = x.shape.length;
    const inner = x.shape[rank - 1];
    const step = strides[rank - 1];
    const idx = new Array<number>(rank).fill(0);
    let to = 0;
    for (let o = 0; o < src.length; ) {
      if (step === 0) {
        let total = 0;
        for (let j = 0; j < inner; j++) total += src[o++];
        dst[to] += total;
      } else {
        for (let j = 0; j < inner; j++) dst[to + j * step] += src[o++];
      }
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]++;
        to += strides[d];
        if (idx[d] < x.shape[d]) break;
        to -= strides[d] * x.shape[d];
        idx[d] = 0;
      }
    }
    return out;
  },
  jvp: (cx, _p, [t], _out, shape) => sumTo(cx, t!, shape),
  vjp: (cx, g, [x]) => [expand(cx, g, x.shape)],
});

/** Sums `x` down to `shape`, which must broadcast to x's shape (a no-op when equal). */
export function sumTo(cx: Context, x: Value, shape: Shape): Value {
  return sameShape(x.shape, shape) ? x : bind(cx, sumToPrim, [x], shape);
}

const reshapePrim = definePrimitive<Shape>({
  name: 'reshape',
  impl(cx, [x], shape) {
    cx.charge('reshape', 0);
    return x.reshapeUnchecked(shape);
  },
  jvp: (cx, _p, [t], _out, shape) => reshape(cx, t!, shape),
  vjp: (cx, g, [x]) => [reshape(cx, g, x.shape)],
});

export function reshape(cx: Context, x: Value, shape: Shape): Value {
  if (sameShape(x.shape, shape)) return x;
  if (sizeOf(shape) !== sizeOf(x.shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new EngineError('SHAPE_MISMATCH', `reshape: cannot reshape ${formatShape(x.shape)} (${sizeOf(x.shape)} elements) to ${formatShape(shape)}`, {
      op: 'reshape',
    });
  }
  return bind(cx, reshapePrim, [x], shape);
}

/** Inserts an axis of extent 1 at `axis` (0-based). */
export function unsqueeze(cx: Context, x: Value, axis: number): Value {
  const shape = [...x.shape];
  shape.splice(axis, 0, 1);
  return reshape(cx, x, shape);
}

const permutePrim = definePrimitive<readonly number[]>({
  name: 'permute',
  impl(cx, [x], perm) {
    const rank = x.shape.length;
    const shape = perm.map((p) => x.shape[p]);
    const out = cx.alloc('permute', shape);
    const inStrides = stridesOf(x.shape);
    const strides = perm.map((p) => inStrides[p]);
    const src = x.data;
    const dst = out.data;
    // Nothing to move (and no rows to walk: an empty [n, 0] may have billions).
    if (dst.length === 0) return out;
    if (rank === 2) {
      const [r, c] = shape;
      const [s0, s1] = strides;
      let k = 0;
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) dst[k++] = src[i * s0 + j * s1];
      return out;
    }
    const idx = new Array<number>(rank).fill(0);
    let offset = 0;
    for (let k = 0; k < dst.length; k++) {
      dst[k] = src[offset];
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]++;
        offset += strides[d];
        if (idx[d] < shape[d]) break;
        offset -= strides[d] * shape[d];
        idx[d] = 0;
      }
    }
    return out;
  },
  jvp: (cx, _p, [t], _out, perm) => permute(cx, t!, perm),
  vjp: (cx, g, _p, _out, perm) => [permute(cx, g, inversePermutation(perm))],
});

function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Reorders axes: axis i of the result is axis perm[i] of x. */
export function permute(cx: Context, x: Value, perm: readonly number[]): Value {
  const rank = x.shape.length;
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= rank)) {
    throw new EngineError('INVALID_ARGUMENT', `permute: [${perm.join(', ')}] is not a permutation of the ${rank} axes of ${formatShape(x.shape)}`, {
      op: 'permute',
    });
  }
  if (perm.every((p, i) => p === i)) return x;
  return bind(cx, permutePrim, [x], perm);
}

/** Swaps the last two axes (a matrix transpose; a vector or scalar is returned unchanged). */
export function transpose(cx: Context, x: Value): Value {
  const rank = x.shape.length;
  if (rank < 2) return x;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return permute(cx, x, perm);
}
