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
 * pow is fdlibm's too, whole, and never the builtin: `Math.pow` is fdlibm's on Node.js 20 but
 * another algorithm on Node.js 24 and in Chromium (about one result in ten differs in the last
 * bit), so the engine computes every power with this one to give the same bytes everywhere.
 *
 * From fdlibm (k_sin.c, k_cos.c, e_rem_pio2.c, e_exp.c, e_pow.c): Copyright (C) 1993 by Sun
 * Microsystems, Inc. All rights reserved. Developed at SunSoft, a Sun Microsystems, Inc.
 * business. Permission to use, copy, modify, and distribute this software is freely granted,
 * provided that this notice is preserved.
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
/**
 * From here (high word above 0x3fd62e42, about ln2/2), x is reduced by k·ln2. fdlibm takes k = ±1
 * without computing it below 1.5·ln2 (high word 0x3ff0a2b2); the rounding below gives the same
 * k there (test/engine/fdlibm.test.ts checks both ends), so one path serves both.
 */
const EXP_REDUCED = fromHighWord(0x3fd62e43);
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
  // V8 returns Math.E itself for exp(1), whose last bit this computation gets wrong.
  if (x === 1) return Math.E;
  // k = x/ln2 rounded half away from zero. The half's sign is a number, not a branch: a branch on
  // the sign of data (half of them negative) is mispredicted half the time, which cost a kernel of
  // exp over random signs 9.6 µs per 1000 elements against 5.0 for the same signs every call.
  const k = Math.trunc(INV_LN2 * x + (+(x > 0) - 0.5));
  const hi = x - k * LN2_HI;
  const lo = k * LN2_LO;
  const r = hi - lo;
  const t = r * r;
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  return (1 - (lo - (r * c) / (2 - c) - hi)) * POW2[POW2_OFFSET + k];
}

// pow reads the 32-bit halves of doubles through one shared view (the halves' order is the
// platform's: the high word, sign, exponent and top of the significand, comes second on a
// little-endian machine). Where fdlibm sets a word, pow scales by a power of two or truncates
// instead, to the same bits: a word written and the double read back misses the processor's
// store forwarding, and cost pow 15% more in a kernel's loop (128 ns an element against 111;
// Node 20's Math.pow 67 ns, Node 24's 21).
const word = new Float64Array(1);
const words = new Int32Array(word.buffer);
const HIGH = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
const LOW = 1 - HIGH;

function highWord(x: number): number {
  word[0] = x;
  return words[HIGH];
}

/** 2^k for k = -1074..1023, exact: TWO_TO[TWO_TO_OFFSET + k]. */
const TWO_TO_OFFSET = 1074;
const TWO_TO = new Float64Array(2098);
TWO_TO[TWO_TO_OFFSET] = 1;
for (let k = 1; k <= 1023; k++) TWO_TO[TWO_TO_OFFSET + k] = TWO_TO[TWO_TO_OFFSET + k - 1] * 2;
for (let k = 1; k <= 1074; k++) TWO_TO[TWO_TO_OFFSET - k] = TWO_TO[TWO_TO_OFFSET - k + 1] / 2;

/**
 * x with its low 32 bits cleared (fdlibm's SET_LOW_WORD(x, 0)): a head of 21 significant bits
 * whose products are exact. x·2^(20-e) is exact and truncated to an integer, e the exponent of
 * x; below 2^-1002 that scale would overflow, and the head is taken from the words.
 */
function headOf(x: number): number {
  word[0] = x;
  const e = (words[HIGH] >> 20) & 0x7ff;
  if (e > 20) return Math.trunc(x * TWO_TO[TWO_TO_OFFSET + 0x3ff + 20 - e]) * TWO_TO[TWO_TO_OFFSET + e - 0x3ff - 20];
  words[LOW] = 0;
  return word[0];
}

// pow: log2|x| = t1 + t2 to about 70 bits, y·log2|x| = n + f with |f| <= 1/2 in the same
// precision, and |x|^y = 2^n · 2^f (e_pow.c).
const TWO53 = 9007199254740992;
/** 2^-200: a subnormal result is made at 2^200 times its scale, then rounded once by this. */
const TWO_M200 = 2 ** -200;
// log2(1.5) = DP_H + DP_L, the offset of the interval [sqrt(3/2), sqrt(3)).
const DP_H = 5.84962487220764160156e-1;
const DP_L = 1.35003920212974897128e-8;
// Minimax coefficients of (3/2)·(log(x) - 2s - (2/3)s^3), s = (x-1)/(x+1).
const L1 = 5.99999999999994648725e-1;
const L2 = 4.28571428578550184252e-1;
const L3 = 3.33333329818377432918e-1;
const L4 = 2.72728123808534006489e-1;
const L5 = 2.30660745775561754067e-1;
const L6 = 2.06975017800338417784e-1;
// ln2 = LG2_H + LG2_L, LG2_H to 21 bits so that t·LG2_H is exact.
const LG2 = 6.93147180559945286227e-1;
const LG2_H = 6.93147182464599609375e-1;
const LG2_L = -1.90465429995776804525e-9;
/** -(1024 - log2(the largest double + half an ulp)): the tail that still overflows at exactly 1024. */
const OVT = 8.008566259537294e-17;
// 2/(3·ln2) = CP_H + CP_L, CP_H to 21 bits (float precision).
const CP = 9.61796693925975554329e-1;
const CP_H = 9.61796700954437255859e-1;
const CP_L = -7.02846165095275826516e-9;
// 1/ln2 = IVLN2_H + IVLN2_L, IVLN2_H to 21 bits.
const IVLN2 = 1.442695040888963387;
const IVLN2_H = 1.44269502162933349609;
const IVLN2_L = 1.92596299112661746887e-8;

/**
 * x ** y as ECMAScript defines it (Number::exponentiate: (±1) ** ±Infinity and anything ** NaN
 * are NaN, not C's 1), by fdlibm's __ieee754_pow, as V8's Math.pow computes it on Node.js 20
 * (V8's ieee754::legacy::pow). Within one ulp, and exact for an integer result that a double
 * holds.
 */
export function pow(x: number, y: number): number {
  word[0] = x;
  const hx = words[HIGH];
  const lx = words[LOW];
  word[0] = y;
  const hy = words[HIGH];
  const ly = words[LOW];
  const ix = hx & 0x7fffffff;
  const iy = hy & 0x7fffffff;

  // x ** ±0 is 1, even for a NaN x; otherwise a NaN in is a NaN out.
  if ((iy | ly) === 0) return 1;
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;

  // For a negative x (-0 and -Infinity included): is y an odd integer, an even one (every
  // double from 2^53 up), or not an integer?
  const oddY = hx < 0 && Number.isInteger(y) && y % 2 !== 0;
  const integerY = hx >= 0 || Number.isInteger(y);

  // Special values of y: ±Infinity, ±1, 2 and 1/2.
  if (ly === 0) {
    if (iy === 0x7ff00000) {
      if (((ix - 0x3ff00000) | lx) === 0) return NaN; // (±1) ** ±Infinity
      if (ix >= 0x3ff00000) return hy >= 0 ? y : 0; // |x| > 1
      return hy < 0 ? -y : 0; // |x| < 1
    }
    if (iy === 0x3ff00000) return hy < 0 ? 1 / x : x;
    if (hy === 0x40000000) return x * x;
    if (hy === 0x3fe00000 && hx >= 0) return Math.sqrt(x);
  }

  // Special values of x: ±0, ±Infinity and ±1 give 1/|x| or |x|, with the sign of an odd power.
  let ax = Math.abs(x);
  if (lx === 0 && (ix === 0x7ff00000 || ix === 0 || ix === 0x3ff00000)) {
    const z = hy < 0 ? 1 / ax : ax;
    if (hx < 0 && ix === 0x3ff00000 && !integerY) return NaN; // (-1) ** non-integer
    return oddY ? -z : z;
  }

  // A negative x to a non-integer power has no real value; to an odd power, the sign is -.
  if (!integerY) return NaN;
  const s = oddY ? -1 : 1;

  let t1: number;
  let t2: number;
  if (iy > 0x41e00000) {
    // |y| > 2^31. Beyond 2^64 every x but 1 over- or underflows …
    if (iy > 0x43f00000) {
      if (ix <= 0x3fefffff) return hy < 0 ? Infinity : 0;
      if (ix >= 0x3ff00000) return hy > 0 ? Infinity : 0;
    }
    // … and below it every x not within 2^-20 of 1 does.
    if (ix < 0x3fefffff) return hy < 0 ? s * Infinity : s * 0;
    if (ix > 0x3ff00000) return hy > 0 ? s * Infinity : s * 0;
    // |1 - x| <= 2^-20: log2 x from the series x - x^2/2 + x^3/3 - x^4/4 of log x.
    const t = ax - 1;
    const w = t * t * (0.5 - t * (0.3333333333333333 - t * 0.25));
    const u = IVLN2_H * t;
    const v = t * IVLN2_L - w * IVLN2;
    t1 = headOf(u + v);
    t2 = v - (t1 - u);
  } else {
    // |x| = 2^n · m, m in [sqrt(1/2), sqrt(2)) or [sqrt(3/2), sqrt(3)) (k = 1): a subnormal x is
    // first scaled by 2^53.
    let n = 0;
    let high = ix;
    if (ix < 0x00100000) {
      ax *= TWO53;
      n -= 53;
      high = highWord(ax);
    }
    let e = (high >> 20) - 0x3ff;
    const j = high & 0x000fffff;
    let k = 0;
    if (j <= 0x3988e) k = 0;
    else if (j < 0xbb67a) k = 1;
    else e += 1;
    n += e;
    // m = |x|·2^-e, exactly (fdlibm sets the exponent in the high word).
    const m = ax * TWO_TO[TWO_TO_OFFSET - e];
    const bp = k === 0 ? 1 : 1.5;
    const dpH = k === 0 ? 0 : DP_H;
    const dpL = k === 0 ? 0 : DP_L;

    // ss = sH + sL = (m - bp)/(m + bp), sH its head.
    const u = m - bp;
    const v = 1 / (m + bp);
    const ss = u * v;
    const sH = headOf(ss);
    // tH: m + bp to 21 bits (fdlibm builds it from m's high word): m cut to the bits of the
    // sum's high word, 19 after the point (20 for m below 1, whose sum is below 2), plus bp.
    const cut = m < 1 ? 1048576 : 524288;
    let tH = Math.trunc(m * cut) / cut + bp;
    let tL = m - (tH - bp);
    const sL = v * (u - sH * tH - sH * tL);
    // log m = 2ss + (2/3)ss^3 + ss^4·R(ss^2): (3 + ss^2 + R) in head and tail, times ss.
    let s2 = ss * ss;
    let r = s2 * s2 * (L1 + s2 * (L2 + s2 * (L3 + s2 * (L4 + s2 * (L5 + s2 * L6)))));
    r += sL * (sH + ss);
    s2 = sH * sH;
    tH = headOf(3 + s2 + r);
    tL = r - (tH - 3 - s2);
    const uu = sH * tH;
    const vv = sL * tH + tL * ss;
    // log2 m - log2 bp = (2/(3 ln2))·(uu + vv), in head and tail.
    const pH = headOf(uu + vv);
    const pL = vv - (pH - uu);
    const zH = CP_H * pH;
    const zL = CP_L * pH + pL * CP + dpL;
    // log2|x| = n + dpH + zH + zL = t1 + t2.
    t1 = headOf(zH + zL + dpH + n);
    t2 = zL - (t1 - n - dpH - zH);
  }

  // y·log2|x| = (y1 + (y - y1))·(t1 + t2) = pH + pL, y1 the head of y so that y1·t1 is exact.
  const y1 = headOf(y);
  const pL = (y - y1) * t1 + y * t2;
  let pH = y1 * t1;
  let z = pL + pH;
  word[0] = z;
  const j = words[HIGH];
  const i = words[LOW];
  if (j >= 0x40900000) {
    // z >= 1024: overflow, unless z is 1024 and its tail brings it below.
    if (((j - 0x40900000) | i) !== 0) return s * Infinity;
    if (pL + OVT > z - pH) return s * Infinity;
  } else if ((j & 0x7fffffff) >= 0x4090cc00) {
    // z <= -1075: underflow, unless z is -1075 and its tail brings it above.
    if (((j - 0xc090cc00) | i) !== 0) return s * 0;
    if (pL <= z - pH) return s * 0;
  }

  // 2^z: n = z rounded to the nearest integer (when |z| > 1/2), f = z - n in pH + pL.
  const az = j & 0x7fffffff;
  let n = 0;
  if (az > 0x3fe00000) {
    n = j + (0x00100000 >> (((az >> 20) - 0x3ff) + 1));
    const k = ((n & 0x7fffffff) >> 20) - 0x3ff;
    n = ((n & 0x000fffff) | 0x00100000) >> (20 - k);
    if (j < 0) n = -n;
    // fdlibm subtracts the double whose high word is n's bits cut to the integer: n itself.
    pH -= n;
  }
  // 2^f = e^(f·ln2), f·ln2 = zz + w, by exp's rational approximation (as e_exp.c's).
  let t = headOf(pL + pH);
  const u = t * LG2_H;
  const v = (pL - (t - pH)) * LG2 + t * LG2_L;
  const zz = u + v;
  const w = v - (zz - u);
  t = zz * zz;
  const c = zz - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  const r = (zz * c) / (c - 2 - (w + zz * w));
  z = 1 - (r - zz);
  // Scale by 2^n: in the exponent field, or for a subnormal result with one rounding (scalbn).
  const high = (highWord(z) + (n << 20)) | 0;
  if (high >> 20 <= 0) z = z * TWO_TO[TWO_TO_OFFSET + n + 200] * TWO_M200;
  else if (n <= 1023) z *= TWO_TO[TWO_TO_OFFSET + n];
  else z = z * 2 * TWO_TO[TWO_TO_OFFSET + n - 1];
  return s * z;
}
