/**
 * How a tensor broadcast to a larger shape is read, in the one vocabulary that every kernel
 * and code generator uses (kernels.ts's binary kernels, ops/shape.ts's expand and sumTo,
 * plan.ts's fused loops): element i of the output reads the operand's element
 *
 * - `same`: i (the operand has the output's elements);
 * - `scalar`: 0 (the operand has one element);
 * - `suffix`: i mod period (the operand is the output's trailing axes, 1 before them: a bias);
 * - `prefix`: floor(i / period) (the operand is the output's leading axes, 1 after them: a
 *   row-wise sum kept as a column);
 * - `strided`: any other broadcast, walked through the operand's broadcast strides.
 */
import { sizeOf, stridesOf, type Shape } from './tensor.js';

export type Reading = 'same' | 'scalar' | 'suffix' | 'prefix' | 'strided';

export interface Broadcast {
  readonly reading: Reading;
  /** `suffix`: the operand's size; `prefix`: the output elements each of its elements covers; else 0. */
  readonly period: number;
  /**
   * `suffix`: the operand's first axis other than 1 (in the output's axes), from which it equals
   * the output; `prefix`: its first axis that differs from the output's, from which it is all 1;
   * else -1. A suffix at the output's last axis is one element per column, a prefix there one per row.
   */
  readonly axis: number;
}

/** Axis d of `shape` aligned to the right of a rank `offset` larger: 1 for the missing leading axes. */
function padded(shape: Shape, offset: number, d: number): number {
  return d < offset ? 1 : shape[d - offset];
}

/** How a tensor of shape `operand`, broadcast to `out`, is read (see the module comment). */
export function broadcastOf(operand: Shape, out: Shape): Broadcast {
  const size = sizeOf(operand);
  const n = sizeOf(out);
  if (size === n) return { reading: 'same', period: 0, axis: -1 };
  if (size === 1) return { reading: 'scalar', period: 0, axis: -1 };
  const rank = out.length;
  const offset = rank - operand.length;
  let k = 0;
  while (k < rank && padded(operand, offset, k) === 1) k++;
  let suffix = true;
  for (let d = k; d < rank; d++) if (padded(operand, offset, d) !== out[d]) suffix = false;
  if (suffix) return { reading: 'suffix', period: size, axis: k };
  k = 0;
  while (k < rank && padded(operand, offset, k) === out[k]) k++;
  let prefix = true;
  for (let d = k; d < rank; d++) if (padded(operand, offset, d) !== 1) prefix = false;
  if (prefix) return { reading: 'prefix', period: n / size, axis: k };
  return { reading: 'strided', period: 0, axis: -1 };
}

/** The strides of a tensor of `inShape` along each axis of `outShape` it broadcasts to (0 where stretched). */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const offset = rank - inShape.length;
  const inStrides = stridesOf(inShape);
  const strides = new Array<number>(rank).fill(0);
  for (let d = 0; d < inShape.length; d++) strides[d + offset] = inShape[d] === 1 ? 0 : inStrides[d];
  return strides;
}

/**
 * For each element of a tensor of shape `outShape`, the offset of the element of a tensor of
 * shape `inShape` that broadcasting maps onto it. `inShape` must broadcast to `outShape`.
 */
export function broadcastIndex(inShape: Shape, outShape: Shape): Int32Array {
  const rank = outShape.length;
  const strides = broadcastStrides(inShape, outShape);
  const n = sizeOf(outShape);
  const map = new Int32Array(n);
  if (n === 0) return map;
  const inner = outShape[rank - 1];
  const innerStride = strides[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  let k = 0;
  while (k < n) {
    for (let j = 0; j < inner; j++) map[k++] = src + j * innerStride;
    let d = rank - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < outShape[d]) break;
      src -= strides[d] * outShape[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return map;
}
