/**
 * Element-wise kernels, generated once per primitive from the primitive's own scalar
 * expression (a fixed template in this code base, never text from a request), so that each
 * primitive gets a tight monomorphic loop over `Float64Array`s.
 */
import { lgamma, polygamma } from './special.js';
import { sameShape, sizeOf, stridesOf, type Shape } from './tensor.js';

/** Functions that scalar expressions may call as `lib.name(...)`, besides `Math`. */
export const kernelLibrary = Object.freeze({ lgamma, polygamma });

/** Compiles a function body over the named parameters, with `lib` in scope. */
export function compileKernel<F>(params: readonly string[], body: string): F {
  return new Function('lib', `return function kernel(${params.join(', ')}) {\n${body}\n};`)(kernelLibrary) as F;
}

export type UnaryKernel = (a: Float64Array, out: Float64Array) => void;
export type BinaryKernel = (a: Float64Array, b: Float64Array, out: Float64Array, ia: Int32Array | null, ib: Int32Array | null) => void;

export function unaryKernel(source: (x: string) => string): UnaryKernel {
  const body = `const n = out.length;
for (let i = 0; i < n; i++) { const x = a[i]; out[i] = ${source('x')}; }`;
  return compileKernel<UnaryKernel>(['a', 'out'], body);
}

/**
 * A binary kernel with four loops: equal shapes, a scalar on either side, and general
 * broadcasting through precomputed source offsets (`ia`, `ib`).
 */
export function binaryKernel(source: (x: string, y: string) => string): BinaryKernel {
  const expr = source('x', 'y');
  const body = `const n = out.length;
if (ia !== null || ib !== null) {
  for (let i = 0; i < n; i++) { const x = a[ia === null ? i : ia[i]]; const y = b[ib === null ? i : ib[i]]; out[i] = ${expr}; }
} else if (a.length === b.length) {
  for (let i = 0; i < n; i++) { const x = a[i]; const y = b[i]; out[i] = ${expr}; }
} else if (b.length === 1) {
  const y = b[0];
  for (let i = 0; i < n; i++) { const x = a[i]; out[i] = ${expr}; }
} else {
  const x = a[0];
  for (let i = 0; i < n; i++) { const y = b[i]; out[i] = ${expr}; }
}`;
  return compileKernel<BinaryKernel>(['a', 'b', 'out', 'ia', 'ib'], body);
}

/**
 * For each element of a tensor of shape `outShape`, the offset of the element of a tensor of
 * shape `inShape` that broadcasting maps onto it. `inShape` must broadcast to `outShape`.
 */
export function broadcastIndex(inShape: Shape, outShape: Shape): Int32Array {
  const rank = outShape.length;
  const offset = rank - inShape.length;
  const inStrides = stridesOf(inShape);
  const strides = new Array<number>(rank).fill(0);
  for (let d = 0; d < inShape.length; d++) strides[d + offset] = inShape[d] === 1 ? 0 : inStrides[d];
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

/** The source offsets for one operand of a broadcasting op, or null where none are needed. */
export function operandIndex(inShape: Shape, outShape: Shape, otherSize: number): Int32Array | null {
  if (sameShape(inShape, outShape)) return null;
  if (sizeOf(inShape) === 1 && otherSize === sizeOf(outShape)) return null;
  return broadcastIndex(inShape, outShape);
}
