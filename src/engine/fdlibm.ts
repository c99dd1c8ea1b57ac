/**
 * sin, cos and exp as V8 computes `Math.sin`, `Math.cos` and `Math.exp` (fdlibm's algorithms,
 * which V8 ports), written in JavaScript so that TurboFan inlines them into generated loops: no
 * call into the runtime per element, and the same results bit for bit (tested). cos's kernel
 * also picks its correction term by arithmetic rather than by a branch: on arguments scattered
 * across 0.3 (the common case: weights and data near zero) the builtin's branch is mispredicted
 * often enough to make `Math.cos` twice the cost of `Math.sin`.
 * Arguments that take fdlibm's rarer paths go to the builtins, which then do the same
 * computation: sin and cos of 31.5·π/2 (about 49.5) or more, or near a multiple of π/2 where
 * fdlibm reduces in two steps; exp of 708 or more in magnitude (overflow, subnormal results).
 *
 * From fdlibm (k_sin.c, k_cos.c, e_rem_pio2.c, e_exp.c): Copyright (C) 1993 by Sun Microsystems,
 * Inc. All rights reserved. Developed at SunSoft, a Sun Microsystems, Inc. business. Permission
 * to use, copy, modify, and distribute this software is freely granted, provided that this
 * notice is preserved.
 */

/** The double whose high 32 bits are `hi` and low 32 bits zero: fdlibm compares high words. */
function fromHighWord(hi: number): number {
  const bits = new DataView(new ArrayBuffer(8));
  bits.setUint32(0, hi);
  return bits.getFloat64(0);
}

// Taylor-like minimax coefficients of sin and cos on [-π/4, π/4].
const S1 = -1.66666666666666324348e-1;
const S2 = 8.33333333332248946124e-3;
const S3 = -1.98412698298579493134e-4;
const S4 = 2.75573137070700676789e-6;
const S5 = -2.50507602534068634195e-8;
const S6 = 1.58969099521155010221e-10;
const C1 = 4.16666666666666019037e-2;
const C2 = -1.38888888888741095749e-3;
const C3 = 2.48015872894767294178e-5;
const C4 = -2.75573143513906633035e-7;
const C5 = 2.0875723212981748279e-9;
const C6 = -1.13596475577881948265e-11;

/** Below 2^-27, sin x = x and cos x = 1 to the last bit. */
const TINY = fromHighWord(0x3e400000);
/** Below this (high word 0x3fe921fb, about π/4), no argument reduction. */
const NO_REDUCTION = fromHighWord(0x3fe921fc);
/** cos's kernel adds a correction `qx` from 0.3 (high word 0x3fd33333) up … */
const CORRECTED = fromHighWord(0x3fd33333);
/** … which is a constant 0.28125 past 0.78125 (high word above 0x3fe90000). */
const CONSTANT_CORRECTION = fromHighWord(0x3fe90001);

// π/2 = PIO2_1 + PIO2_1T to 33 + 53 bits, and 2/π.
const INV_PIO2 = 6.36619772367581382433e-1;
const PIO2_1 = 1.57079632673412561417;
const PIO2_1T = 6.07710050650619224932e-11;
/** High words of n·π/2 for n = 1..32: near these, fdlibm's reduction takes a second step. */
const NPIO2_HIGH_WORDS = [
  0x3ff921fb, 0x400921fb, 0x4012d97c, 0x401921fb, 0x401f6a7a, 0x4022d97c, 0x4025fdbb, 0x402921fb, 0x402c463a, 0x402f6a7a, 0x4031475c,
  0x4032d97c, 0x40346b9c, 0x4035fdbb, 0x40378fdb, 0x403921fb, 0x403ab41b, 0x403c463a, 0x403dd85a, 0x403f6a7a, 0x40407e4c, 0x4041475c,
  0x4042106c, 0x4042d97c, 0x4043a28c, 0x40446b9c, 0x404534ac, 0x4045fdbb, 0x4046c6cb, 0x40478fdb, 0x404858eb, 0x404921fb,
];
/** [start, end) of the doubles sharing each of those high words. */
const NEAR_NPIO2_START = Float64Array.from(NPIO2_HIGH_WORDS, fromHighWord);
const NEAR_NPIO2_END = Float64Array.from(NPIO2_HIGH_WORDS, (hi) => fromHighWord(hi + 1));

/** sin(x + y) for |x| <= π/4, y the tail of a reduced argument (k_sin.c). */
function kernelSin(x: number, y: number): number {
  if (Math.abs(x) < TINY) return x;
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x - (z * (0.5 * y - v * r) - y - v * S1);
}

/** sin(x) for |x| <= π/4, no tail. */
function kernelSin0(x: number): number {
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x + v * (S1 + z * r);
}

/** cos(x + y) for |x| <= π/4 (k_cos.c). */
function kernelCos(x: number, y: number): number {
  const ax = Math.abs(x);
  if (ax < TINY) return 1;
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  // fdlibm: below 0.3, 1 - (z/2 - (z·r - x·y)); above, the same with qx = x/4 cut to its high
  // word taken out of both terms. With qx = 0 the second form is the first to the bit, so qx is
  // computed for every x and multiplied by 0 or 1: no branch to mispredict.
  const q = ax * 0.25;
  // x/4 with its low 32 bits cleared: 20 bits after the point of its exponent 2^-4 or 2^-3.
  const scale = 16777216 - 8388608 * Number(q >= 0.125);
  let qx = (Math.floor(q * scale) / scale) * Number(ax >= CORRECTED);
  if (ax >= CONSTANT_CORRECTION) qx = 0.28125;
  return 1 - qx - (0.5 * z - qx - (z * r - x * y));
}

// The reduced argument y0 + y1 of the last `reduce`: module state, but only ever read
// synchronously right after the call that set it.
let reducedHead = 0;
let reducedTail = 0;

/**
 * x - n·π/2 into reducedHead + reducedTail, returning n, for the medium arguments fdlibm
 * reduces in one step (e_rem_pio2.c); NaN for any other argument.
 */
function reduce(x: number): number {
  const t = Math.abs(x);
  if (!(t < 50)) return NaN;
  const n = Math.trunc(t * INV_PIO2 + 0.5);
  if (n >= 32 || (t >= NEAR_NPIO2_START[n - 1] && t < NEAR_NPIO2_END[n - 1])) return NaN;
  const r = t - n * PIO2_1;
  const w = n * PIO2_1T;
  const head = r - w;
  const tail = r - head - w;
  if (x < 0) {
    reducedHead = -head;
    reducedTail = -tail;
    return -n;
  }
  reducedHead = head;
  reducedTail = tail;
  return n;
}

export function sin(x: number): number {
  const ax = Math.abs(x);
  if (ax < NO_REDUCTION) return ax < TINY ? x : kernelSin0(x);
  const n = reduce(x);
  if (Number.isNaN(n)) return Math.sin(x);
  switch (n & 3) {
    case 0:
      return kernelSin(reducedHead, reducedTail);
    case 1:
      return kernelCos(reducedHead, reducedTail);
    case 2:
      return -kernelSin(reducedHead, reducedTail);
    default:
      return -kernelCos(reducedHead, reducedTail);
  }
}

export function cos(x: number): number {
  if (Math.abs(x) < NO_REDUCTION) return kernelCos(x, 0);
  const n = reduce(x);
  if (Number.isNaN(n)) return Math.cos(x);
  switch (n & 3) {
    case 0:
      return kernelCos(reducedHead, reducedTail);
    case 1:
      return -kernelSin(reducedHead, reducedTail);
    case 2:
      return -kernelCos(reducedHead, reducedTail);
    default:
      return kernelSin(reducedHead, reducedTail);
  }
}

// exp: x = k·ln2 + r with |r| <= ln2/2, exp(r) by a rational approximation (e_exp.c).
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.442695040888963387;
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.6533902205465251539e-6;
const P5 = 4.13813679705723846039e-8;
/** Below 2^-28, exp x = 1 + x to the last bit. */
const EXP_TINY = fromHighWord(0x3e300000);
/** From here (high word above 0x3fd62e42, about ln2/2), x is reduced … */
const EXP_REDUCED = fromHighWord(0x3fd62e43);
/** … by exactly one ln2 below this (high word 0x3ff0a2b2, about 1.5·ln2). */
const EXP_ONE_LN2_END = fromHighWord(0x3ff0a2b2);
/** 2^k for k = -1021..1022, the scales of results in normal range. */
const POW2_OFFSET = 1021;
const POW2 = new Float64Array(2044);
POW2[POW2_OFFSET] = 1;
for (let k = 1; k <= 1022; k++) POW2[POW2_OFFSET + k] = POW2[POW2_OFFSET + k - 1] * 2;
for (let k = 1; k <= 1021; k++) POW2[POW2_OFFSET - k] = POW2[POW2_OFFSET - k + 1] / 2;

export function exp(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < 708)) return Math.exp(x);
  if (ax < EXP_REDUCED) {
    if (ax < EXP_TINY) return 1 + x;
    const t = x * x;
    const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    return 1 - ((x * c) / (c - 2) - x);
  }
  let k: number;
  let hi: number;
  let lo: number;
  if (ax < EXP_ONE_LN2_END) {
    // V8 returns Math.E itself for exp(1), whose last bit this computation gets wrong.
    if (x === 1) return Math.E;
    k = x > 0 ? 1 : -1;
    hi = x - k * LN2_HI;
    lo = k * LN2_LO;
  } else {
    k = Math.trunc(INV_LN2 * x + (x > 0 ? 0.5 : -0.5));
    hi = x - k * LN2_HI;
    lo = k * LN2_LO;
  }
  const r = hi - lo;
  const t = r * r;
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  return (1 - (lo - (r * c) / (2 - c) - hi)) * POW2[POW2_OFFSET + k];
}
