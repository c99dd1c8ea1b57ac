/**
 * Element-wise kernels, generated once per primitive from the primitive's own scalar
 * expression (a fixed template in this code base, never text from a request), so that each
 * primitive gets a tight monomorphic loop over `Float64Array`s.
 */
import { gammaSampleGrad, lgamma, polygamma } from './special.js';
import { cos, exp, sin } from './fdlibm.js';
import { sizeOf, stridesOf, type Shape } from './tensor.js';
import type { Context } from './core.js';

/** Functions that scalar expressions may call as `lib.name(...)`, besides `Math`; `lib.checks[k]` are the checks of ops/check.ts. */
export const kernelLibrary = Object.freeze({ sin, cos, exp, lgamma, polygamma, gammaSampleGrad, checks: [] as ((x: number) => number)[] });

/** Compiles a function body over the named parameters, with `lib` in scope. */
export function compileKernel<F>(params: readonly string[], body: string): F {
  return new Function('lib', `return function kernel(${params.join(', ')}) {\n${body}\n};`)(kernelLibrary) as F;
}

/**
 * Elements an element-wise kernel computes between two readings of the deadline: a tensor of
 * millions of costly elements (lgamma, pow) takes seconds, and a kernel stops within about a
 * millisecond of its deadline. Smaller tensors run in one piece.
 */
export const ELEMENTS_PER_DEADLINE_CHECK = 1 << 16;

/** Runs `part(start, end)` over [0, n) in pieces of about ELEMENTS_PER_DEADLINE_CHECK elements (a multiple of `step`), checking the deadline between them. */
export function inPieces(cx: Context, op: string, n: number, step: number, part: (start: number, end: number) => void): void {
  const piece = Math.max(step, ELEMENTS_PER_DEADLINE_CHECK - (ELEMENTS_PER_DEADLINE_CHECK % step));
  for (let start = 0; start < n; start += piece) {
    if (start > 0) cx.checkDeadline(op);
    part(start, Math.min(n, start + piece));
  }
}

export type UnaryKernel = (a: Float64Array, out: Float64Array) => void;
export type ScalarUnary = (x: number) => number;
export type ScalarBinary = (x: number, y: number) => number;
/**
 * How a binary kernel reaches its operands (see `broadcastPattern`): 0 both full, 1 b is one
 * element, 2 a is one element, 3 b repeats with period `p` (a trailing-axes operand such as a
 * bias), 4 a does, 5 each element of b covers `p` consecutive outputs (a leading-axes operand
 * such as a column), 6 each element of a does, 7 general strides `sa` and `sb`.
 */
export type BinaryKernel = (
  a: Float64Array,
  b: Float64Array,
  out: Float64Array,
  mode: number,
  p: number,
  shape: Shape,
  sa: readonly number[] | null,
  sb: readonly number[] | null,
) => void;

export function unaryKernel(source: (x: string) => string): UnaryKernel {
  const body = `const n = out.length;
for (let i = 0; i < n; i++) { const x = a[i]; out[i] = ${source('x')}; }`;
  return compileKernel<UnaryKernel>(['a', 'out'], body);
}

export function scalarUnary(source: (x: string) => string): ScalarUnary {
  return compileKernel<ScalarUnary>(['x'], `return ${source('x')};`);
}

export function scalarBinary(source: (x: string, y: string) => string): ScalarBinary {
  return compileKernel<ScalarBinary>(['x', 'y'], `return ${source('x', 'y')};`);
}

/**
 * A binary kernel with one loop per broadcasting pattern; the general one walks the output row
 * by row and moves each operand's offset by its strides (an odometer over the outer axes), so
 * nothing is allocated per element.
 */
export function binaryKernel(source: (x: string, y: string) => string): BinaryKernel {
  const expr = source('x', 'y');
  const body = `const n = out.length;
switch (mode) {
  case 0: for (let i = 0; i < n; i++) { const x = a[i]; const y = b[i]; out[i] = ${expr}; } return;
  case 1: { const y = b[0]; for (let i = 0; i < n; i++) { const x = a[i]; out[i] = ${expr}; } return; }
  case 2: { const x = a[0]; for (let i = 0; i < n; i++) { const y = b[i]; out[i] = ${expr}; } return; }
  case 3: for (let o = 0; o < n; o += p) for (let j = 0; j < p; j++) { const x = a[o + j]; const y = b[j]; out[o + j] = ${expr}; } return;
  case 4: for (let o = 0; o < n; o += p) for (let j = 0; j < p; j++) { const x = a[j]; const y = b[o + j]; out[o + j] = ${expr}; } return;
  case 5: for (let o = 0, r = 0; o < n; o += p, r++) { const y = b[r]; for (let j = o; j < o + p; j++) { const x = a[j]; out[j] = ${expr}; } } return;
  case 6: for (let o = 0, r = 0; o < n; o += p, r++) { const x = a[r]; for (let j = o; j < o + p; j++) { const y = b[j]; out[j] = ${expr}; } } return;
}
const rank = shape.length;
const inner = shape[rank - 1];
const strideA = sa[rank - 1];
const strideB = sb[rank - 1];
const idx = new Array(rank).fill(0);
let oa = 0, ob = 0, o = 0;
while (o < n) {
  for (let j = 0; j < inner; j++) { const x = a[oa + j * strideA]; const y = b[ob + j * strideB]; out[o++] = ${expr}; }
  for (let d = rank - 2; d >= 0; d--) {
    idx[d]++; oa += sa[d]; ob += sb[d];
    if (idx[d] < shape[d]) break;
    oa -= sa[d] * shape[d]; ob -= sb[d] * shape[d]; idx[d] = 0;
  }
}`;
  return compileKernel<BinaryKernel>(['a', 'b', 'out', 'mode', 'p', 'shape', 'sa', 'sb'], body);
}

export type BroadcastPattern =
  | { kind: 'full' }
  | { kind: 'one' }
  /** Equal to the output on trailing axes, 1 before: element i of the output reads i mod period. */
  | { kind: 'suffix'; period: number }
  /** Equal to the output on leading axes, 1 after: element i of the output reads floor(i / period). */
  | { kind: 'prefix'; period: number }
  | { kind: 'general' };

/** Axis d of `shape` aligned to the right of a rank `offset` larger: 1 for the missing leading axes. */
function padded(shape: Shape, offset: number, d: number): number {
  return d < offset ? 1 : shape[d - offset];
}

/** How a tensor of `inShape` broadcast to `outShape` maps onto the output's elements. */
export function broadcastPattern(inShape: Shape, outShape: Shape): BroadcastPattern {
  const size = sizeOf(inShape);
  const n = sizeOf(outShape);
  if (size === n) return { kind: 'full' };
  if (size === 1) return { kind: 'one' };
  const rank = outShape.length;
  const offset = rank - inShape.length;
  // The first axis from which the operand matches the output (suffix) or is all ones (prefix).
  let k = 0;
  while (k < rank && padded(inShape, offset, k) === 1) k++;
  let suffix = true;
  for (let d = k; d < rank; d++) if (padded(inShape, offset, d) !== outShape[d]) suffix = false;
  if (suffix) return { kind: 'suffix', period: size };
  k = 0;
  while (k < rank && padded(inShape, offset, k) === outShape[k]) k++;
  let prefix = true;
  for (let d = k; d < rank; d++) if (padded(inShape, offset, d) !== 1) prefix = false;
  if (prefix) return { kind: 'prefix', period: n / size };
  return { kind: 'general' };
}

/** The mode and period of a binary kernel for operands of shapes a and b and output `shape`. */
export function binaryMode(a: Shape, b: Shape, shape: Shape): [number, number] {
  const pa = broadcastPattern(a, shape);
  const pb = broadcastPattern(b, shape);
  if (pa.kind === 'full') {
    if (pb.kind === 'full') return [0, 0];
    if (pb.kind === 'one') return [1, 0];
    if (pb.kind === 'suffix') return [3, pb.period];
    if (pb.kind === 'prefix') return [5, pb.period];
  } else if (pb.kind === 'full') {
    if (pa.kind === 'one') return [2, 0];
    if (pa.kind === 'suffix') return [4, pa.period];
    if (pa.kind === 'prefix') return [6, pa.period];
  }
  return [7, 0];
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

