/**
 * Element-wise kernels, generated once per primitive from the primitive's own scalar
 * expression (a fixed template in this code base, never text from a request), so that each
 * primitive gets a tight monomorphic loop over `Float64Array`s.
 */
import { gammaSampleGrad, lgamma, logistic, polygamma } from './special.js';
import { cos, exp, pow, sin } from './fdlibm.js';
import { broadcastOf, type Reading } from './broadcast.js';
import type { Shape } from './tensor.js';
import type { Context } from './core.js';

/** Functions that scalar expressions may call as `lib.name(...)`, besides `Math`; `lib.checks[k]` are the checks of ops/check.ts. */
export const kernelLibrary = Object.freeze({ sin, cos, exp, pow, logistic, lgamma, polygamma, gammaSampleGrad, checks: [] as ((x: number) => number)[] });

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
 * A binary kernel: operands a and b read as `ra` and `rb` (see broadcast.ts and
 * `binaryReadings`), `p` the period of the one that is not `same`; the strides `sa` and `sb` of
 * both along each axis of the output's `shape` where they are read `strided`.
 */
export type BinaryKernel = (
  a: Float64Array,
  b: Float64Array,
  out: Float64Array,
  ra: Reading,
  rb: Reading,
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
 * A binary kernel with one loop per pair of readings it is given (one operand `same`); the
 * `strided` one walks the output row by row and moves each operand's offset by its strides (an
 * odometer over the outer axes), so nothing is allocated per element.
 */
export function binaryKernel(source: (x: string, y: string) => string): BinaryKernel {
  const expr = source('x', 'y');
  const body = `const n = out.length;
if (ra === 'same') {
  switch (rb) {
    case 'same': for (let i = 0; i < n; i++) { const x = a[i]; const y = b[i]; out[i] = ${expr}; } return;
    case 'scalar': { const y = b[0]; for (let i = 0; i < n; i++) { const x = a[i]; out[i] = ${expr}; } return; }
    case 'suffix': for (let o = 0; o < n; o += p) for (let j = 0; j < p; j++) { const x = a[o + j]; const y = b[j]; out[o + j] = ${expr}; } return;
    case 'prefix': for (let o = 0, r = 0; o < n; o += p, r++) { const y = b[r]; for (let j = o; j < o + p; j++) { const x = a[j]; out[j] = ${expr}; } } return;
  }
} else if (rb === 'same') {
  switch (ra) {
    case 'scalar': { const x = a[0]; for (let i = 0; i < n; i++) { const y = b[i]; out[i] = ${expr}; } return; }
    case 'suffix': for (let o = 0; o < n; o += p) for (let j = 0; j < p; j++) { const x = a[j]; const y = b[o + j]; out[o + j] = ${expr}; } return;
    case 'prefix': for (let o = 0, r = 0; o < n; o += p, r++) { const x = a[r]; for (let j = o; j < o + p; j++) { const y = b[j]; out[j] = ${expr}; } } return;
  }
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
  return compileKernel<BinaryKernel>(['a', 'b', 'out', 'ra', 'rb', 'p', 'shape', 'sa', 'sb'], body);
}

/** How a binary kernel reads operands of shapes a and b for an output of `shape`, and the period of the broadcast one. */
export interface BinaryReadings {
  readonly a: Reading;
  readonly b: Reading;
  readonly p: number;
}

const STRIDED: BinaryReadings = { a: 'strided', b: 'strided', p: 0 };

/**
 * The readings of a binary kernel's operands: where one is `same`, the other as it broadcasts
 * (the kernel has a loop for each); any other pair (a scalar against a bias, two biases of
 * different axes) `strided` on both sides.
 */
export function binaryReadings(a: Shape, b: Shape, shape: Shape): BinaryReadings {
  const ba = broadcastOf(a, shape);
  const bb = broadcastOf(b, shape);
  if (bb.reading === 'strided' || ba.reading === 'strided') return STRIDED;
  if (ba.reading === 'same') return { a: 'same', b: bb.reading, p: bb.period };
  if (bb.reading === 'same') return { a: ba.reading, b: 'same', p: ba.period };
  return STRIDED;
}

/** Where the sum of squares can have lost nothing to underflow (each square under 2^-1022 is at most 2^-1022). */
const SQUARES_EXACT_ABOVE = 2 ** -900;

/**
 * The 2-norm of `data`'s first `n` elements: the square root of the sum of their squares, in
 * order, as `sqrt(sum(x .^ 2))` computes it. Where that sum overflows or could have underflowed,
 * the elements are first divided by a power of two near the largest of them, which is exact, so
 * the rounding is the same as the unscaled sum would have had with an unbounded exponent (BLAS's
 * dnrm2 scales by the largest element itself, which rounds, and pays a division per element).
 * NaN if any element is NaN, else Infinity if any is infinite.
 */
export function norm2(data: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += data[i] * data[i];
  if (s < Infinity && s >= SQUARES_EXACT_ABOVE) return Math.sqrt(s);
  let largest = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(data[i]));
  if (!(largest > 0 && largest < Infinity)) return largest;
  // 2^e near the largest element: divisions by it are exact unless a quotient is subnormal (a
  // square then under 2^-1022, nothing beside the largest's, about 1).
  const power = 2 ** Math.max(-1022, Math.min(1023, Math.round(Math.log2(largest))));
  let scaled = 0;
  for (let i = 0; i < n; i++) {
    const v = data[i] / power;
    scaled += v * v;
  }
  return power * Math.sqrt(scaled);
}
