/**
 * Reductions over all elements or along axes (0-based here; the language converts from
 * mathjs's 1-based dimensions). Most are compositions of `sumTo`, `reshape` and element-wise
 * operations; `prod` and the 2-norm have rules of their own for their zeros.
 */
import { bind, definePrimitive, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { Tensor, formatShape, sizeOf, type Shape } from '../tensor.js';
import { add, div, lift, mul, sub, type Operand } from './elementwise.js';
import { norm2 } from '../kernels.js';
import { takeAlong } from './indexing.js';
import { abs, eq, exp, isfinite, log, pow, sqrt, square, stopGradient, where } from './math.js';
import { expand, reshape, sumTo } from './shape.js';

/** Axes to reduce: all of them when absent. */
export type Axes = readonly number[] | undefined;

function normaliseAxes(op: string, shape: Shape, axes: Axes): number[] {
  if (axes === undefined) return shape.map((_, i) => i);
  for (const a of axes) {
    if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
      throw new EngineError('INVALID_ARGUMENT', `${op}: dimension ${a + 1} does not exist for shape ${formatShape(shape)}`, { op });
    }
  }
  return [...new Set(axes)].sort((a, b) => a - b);
}

function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function droppedShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

export function sum(cx: Context, x: Operand, axes?: Axes, keepdims = false): Value {
  const v = lift(x);
  const ax = normaliseAxes('sum', v.shape, axes);
  const kept = sumTo(cx, v, keptShape(v.shape, ax));
  return keepdims ? kept : reshape(cx, kept, droppedShape(v.shape, ax));
}

function countOf(shape: Shape, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * shape[a], 1);
}

export function mean(cx: Context, x: Operand, axes?: Axes, keepdims = false): Value {
  const v = lift(x);
  const ax = normaliseAxes('mean', v.shape, axes);
  return div(cx, sum(cx, v, ax, keepdims), countOf(v.shape, ax));
}

/** Variance, unbiased (n - 1) by default as in mathjs and PyTorch. */
export function variance(cx: Context, x: Operand, axes?: Axes, unbiased = true, keepdims = false): Value {
  const v = lift(x);
  const ax = normaliseAxes('variance', v.shape, axes);
  const centred = sub(cx, v, mean(cx, v, ax, true));
  const n = countOf(v.shape, ax);
  return div(cx, sum(cx, square(cx, centred), ax, keepdims), unbiased ? n - 1 : n);
}

export function std(cx: Context, x: Operand, axes?: Axes, unbiased = true, keepdims = false): Value {
  return sqrt(cx, variance(cx, x, axes, unbiased, keepdims));
}

/** The contiguous (outer, extent, inner) view of `shape` around one axis. */
function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

/** For each position along `axis`, the product of the others: the derivative of `prod`. */
const prodOthersPrim = definePrimitive<number>({
  name: 'prodOthers',
  impl(cx, [x], axis) {
    const out = cx.alloc('prodOthers', x.shape);
    const [outer, extent, inner] = around(x.shape, axis);
    // Prefix and suffix products, so zeros need no division.
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * extent * inner + i;
        let prefix = 1;
        for (let k = 0; k < extent; k++) {
          out.data[base + k * inner] = prefix;
          prefix *= x.data[base + k * inner];
        }
        let suffix = 1;
        for (let k = extent - 1; k >= 0; k--) {
          out.data[base + k * inner] *= suffix;
          suffix *= x.data[base + k * inner];
        }
      }
    }
    return out;
  },
  // d(prodOthers_i)/dx_k = prodOthers_i / x_k for k != i. Exact away from zeros of x; at a zero
  // this second-order rule divides by zero (first derivatives of prod are exact everywhere).
  jvp: (cx, [x], [t], out, axis) => {
    const ratio = div(cx, t!, x);
    return mul(cx, out, sub(cx, expand(cx, sum(cx, ratio, [axis], true), x.shape), ratio));
  },
  vjp: (cx, g, [x], out, axis) => {
    const gp = mul(cx, g, out);
    return [div(cx, sub(cx, expand(cx, sum(cx, gp, [axis], true), x.shape), gp), x)];
  },
});

const prodPrim = definePrimitive<number>({
  name: 'prod',
  impl(cx, [x], axis) {
    const shape = droppedShape(x.shape, [axis]);
    cx.work('prod', x.size);
    const out = cx.alloc('prod', shape);
    const [outer, extent, inner] = around(x.shape, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let p = 1;
        for (let k = 0; k < extent; k++) p *= x.data[(o * extent + k) * inner + i];
        out.data[o * inner + i] = p;
      }
    }
    return out;
  },
  jvp: (cx, [x], [t], _out, axis) => sum(cx, mul(cx, t!, bind(cx, prodOthersPrim, [x], axis)), [axis]),
  vjp: (cx, g, [x], _out, axis) => [mul(cx, expand(cx, reshape(cx, g, keptShape(x.shape, [axis])), x.shape), bind(cx, prodOthersPrim, [x], axis))],
});

/** The product of all elements, or along one axis. */
export function prod(cx: Context, x: Operand, axis?: number): Value {
  const v = lift(x);
  if (axis === undefined) return bind(cx, prodPrim, [reshape(cx, v, [sizeOf(v.shape)])], 0);
  normaliseAxes('prod', v.shape, [axis]);
  return bind(cx, prodPrim, [v], axis);
}

/**
 * The position of the first maximal (or minimal) element along `axis`, keeping the axis with
 * extent 1. NaN counts as maximal and minimal, so that it propagates as in PyTorch.
 */
export function argExtreme(x: Tensor, axis: number, which: 'max' | 'min', out: Tensor = Tensor.zeros(keptShape(x.shape, [axis]))): Tensor {
  return extremeAlong(x, axis, which, out, true);
}

/**
 * The first maximal (or minimal) element along `axis`, or its position (`positions`), into
 * `out`. Lines along the last axis are contiguous and scanned by a loop of their own: the
 * general one, whose index is computed and whose guard reads the best value at every step, took
 * 2.6 µs for a line of 1000 elements, against 1.
 */
function extremeAlong(x: Tensor, axis: number, which: 'max' | 'min', out: Tensor, positions: boolean): Tensor {
  const [outer, extent, inner] = around(x.shape, axis);
  if (extent === 0) {
    throw new EngineError('INVALID_ARGUMENT', `${which}: cannot reduce an empty axis of shape ${formatShape(x.shape)}`, { op: which });
  }
  const data = x.data;
  const sign = which === 'max' ? 1 : -1;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * extent * inner + i;
      let best = 0;
      let bestValue = data[start];
      if (inner === 1) {
        // sign · v > sign · best is v > best for max and v < best for min (negation is exact); a
        // NaN is taken and ends the scan, and a first element NaN is the answer.
        if (bestValue === bestValue) {
          for (let k = 1; k < extent; k++) {
            const v = data[start + k];
            if (sign * v > sign * bestValue) {
              best = k;
              bestValue = v;
            } else if (v !== v) {
              best = k;
              bestValue = v;
              break;
            }
          }
        }
      } else {
        for (let k = 1; k < extent && bestValue === bestValue; k++) {
          const v = data[start + k * inner];
          if (v !== v || sign * v > sign * bestValue) {
            best = k;
            bestValue = v;
          }
        }
      }
      out.data[o * inner + i] = positions ? best : bestValue;
    }
  }
  return out;
}

/**
 * argmax and argmin along an axis as operations with no derivative, so that a plan computes
 * the positions at each run rather than reading a traced value.
 */
const [argmaxPrim, argminPrim] = (['max', 'min'] as const).map((which) =>
  definePrimitive<number>({
    name: `arg${which}`,
    arity: 1,
    impl(cx, [x], axis) {
      cx.work(`arg${which}`, x.size);
      return argExtreme(x, axis, which, cx.alloc(`arg${which}`, keptShape(x.shape, [axis])));
    },
    jvp: () => null,
    vjp: () => [null],
  }),
);

/** Where `maxValuePrim` reduces, and whether it is logsumexp's shift (its last axis): a maximum that is not finite taken as 0. */
interface MaxValueParams {
  readonly axis: number;
  readonly shift: boolean;
}

/**
 * The maximum along an axis (kept, extent 1) as an operation with no derivative: the shift of
 * logsumexp, whose gradient is stopped anyway. The same number as `max`'s (the element at its
 * argmax), without the positions and the gather that carry `max`'s gradient. As the shift, an
 * infinite or NaN maximum is 0 (all of a row -Infinity, say), as where(isfinite(m), m, 0) made
 * it: in the same kernel, rather than a step of three primitives after it.
 */
const maxValuePrim = definePrimitive<MaxValueParams>({
  name: 'max',
  arity: 1,
  impl(cx, [x], { axis, shift }) {
    cx.work('max', x.size);
    const out = extremeAlong(x, axis, 'max', cx.alloc('max', keptShape(x.shape, [axis])), false);
    if (shift) for (let i = 0; i < out.size; i++) if (!Number.isFinite(out.data[i])) out.data[i] = 0;
    return out;
  },
  jvp: () => null,
  vjp: () => [null],
});

function extreme(cx: Context, which: 'max' | 'min', x: Operand, axis?: number, keepdims = false): Value {
  const v = lift(x);
  if (axis === undefined) {
    const all = extreme(cx, which, reshape(cx, v, [sizeOf(v.shape)]), 0);
    return keepdims ? reshape(cx, all, v.shape.map(() => 1)) : all;
  }
  normaliseAxes(which, v.shape, [axis]);
  const picked = takeAlong(cx, v, axis, bind(cx, which === 'max' ? argmaxPrim : argminPrim, [v], axis));
  return keepdims ? picked : reshape(cx, picked, droppedShape(v.shape, [axis]));
}

/** The maximum of all elements or along an axis; the gradient goes to the first maximal element. */
export function max(cx: Context, x: Operand, axis?: number, keepdims = false): Value {
  return extreme(cx, 'max', x, axis, keepdims);
}

export function min(cx: Context, x: Operand, axis?: number, keepdims = false): Value {
  return extreme(cx, 'min', x, axis, keepdims);
}

const norm2Prim = definePrimitive<undefined>({
  name: 'norm2',
  impl(cx, [x]) {
    cx.work('norm2', 2 * x.size);
    cx.charge('norm2', 1);
    return Tensor.scalar(norm2(x.data, x.size));
  },
  // d|x|/dx = x / |x|, and 0 at x = 0 (PyTorch's subgradient).
  jvp: (cx, [x], [t], out) => where(cx, eq(cx, out, 0), 0, div(cx, sum(cx, mul(cx, x, t!)), out)),
  vjp: (cx, g, [x], out) => [where(cx, eq(cx, out, 0), 0, mul(cx, x, div(cx, g, out)))],
});

/**
 * mathjs's `norm`: the 2-norm of a vector and the Frobenius norm of a matrix by default, or the
 * p-norm of all elements for p = 1, Infinity, -Infinity or any other positive p.
 */
export function norm(cx: Context, x: Operand, p: number | 'fro' = 2): Value {
  const v = lift(x);
  if (p === 2 || p === 'fro') return bind(cx, norm2Prim, [v], undefined);
  if (p === 1) return sum(cx, abs(cx, v));
  if (p === Infinity) return max(cx, abs(cx, v));
  if (p === -Infinity) return min(cx, abs(cx, v));
  if (!(p > 0)) throw new EngineError('INVALID_ARGUMENT', `norm: p must be positive, 1, 2, Infinity or "fro", got ${p}`, { op: 'norm' });
  return pow(cx, sum(cx, pow(cx, abs(cx, v), p)), 1 / p);
}

/**
 * log Σ exp(x), stabilised by subtracting the maximum, which is held constant (its gradient
 * cancels exactly), so the gradient is softmax(x) with no subgradient at ties.
 */
export function logsumexp(cx: Context, x: Operand, axes?: Axes, keepdims = false): Value {
  const v = lift(x);
  const ax = normaliseAxes('logsumexp', v.shape, axes);
  let m: Value = v;
  ax.forEach((axis, k) => (m = bind(cx, maxValuePrim, [m], { axis, shift: k === ax.length - 1 })));
  // A scalar has no axis to reduce: it is its own maximum.
  if (ax.length === 0) m = stopGradient(cx, where(cx, isfinite(cx, v), v, 0));
  const kept = add(cx, log(cx, sum(cx, exp(cx, sub(cx, v, m)), ax, true)), m);
  return keepdims ? kept : reshape(cx, kept, droppedShape(v.shape, ax));
}
