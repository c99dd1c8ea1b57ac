/**
 * The engine's own sin, cos, exp and pow (src/engine/fdlibm.ts): the builtins' results bit for
 * bit on the Node.js versions whose V8 computes them with fdlibm (checked: 20 and 24 for sin, cos
 * and exp; 20 alone for pow), and within one unit in the last place of a 60-digit reference on
 * any runtime.
 */
import t from 'tap';
import { all, create, type BigNumber } from 'mathjs';
import { cos, exp, pow, sin } from '../../src/engine/fdlibm.js';

const bits = new BigInt64Array(1);
const asDouble = new Float64Array(bits.buffer);
/** Distance in units in the last place between two finite doubles of the same sign. */
function ulps(a: number, b: number): number {
  asDouble[0] = a;
  const ia = bits[0];
  asDouble[0] = b;
  return Number(ia > bits[0] ? ia - bits[0] : bits[0] - ia);
}

/** Arguments where the algorithm changes course, and where the results are hardest. */
function edgeArguments(): number[] {
  const xs = [0, -0, 5e-324, 2 ** -1022, 2 ** -28, 2 ** -27, 2 ** -26, 0.3, 0.2999999999999999, 0.78125, 0.7812500001, Math.PI / 4, 0.7853981633974484, 49.4, 49.5, 50, 1e6, 1e22, Number.MAX_VALUE];
  for (let k = 1; k <= 40; k++) {
    for (let d = -8; d <= 8; d++) xs.push((k * Math.PI) / 2 + d * 2 ** -40 * k, (k * Math.PI) / 4 + d * 1e-15);
  }
  return xs.flatMap((x) => [x, -x]);
}

/** Deterministic arguments spread over |x| < scale. */
function spread(scale: number, count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

const SCALES = [1e-9, 0.01, 0.35, 0.5, 0.8, 1, 2, 3.2, 10, 40, 52, 1e3, 1e9];
/**
 * The Node.js versions (major) whose Math.sin, Math.cos and Math.exp are V8's port of fdlibm, as
 * ours is: 20 (V8 11.3) and 24 (V8 13.6), each checked. Another version's builtins are compared
 * with nothing until checked and added here; the one-ulp checks run on every version.
 */
const FDLIBM_BUILTINS = new Set([20, 24]);
const fdlibmBuiltins = FDLIBM_BUILTINS.has(Number(process.versions.node.split('.')[0]));

t.test('sin and cos equal Math.sin and Math.cos bit for bit (fdlibm, as V8 computes them on Node 20 and 24)', { skip: !fdlibmBuiltins && `Node ${process.versions.node}'s Math.sin is not known to be fdlibm` }, async (t) => {
  const xs = [...edgeArguments(), ...SCALES.flatMap((scale, k) => spread(scale, 20_000, k + 1))];
  let mismatches = 0;
  for (const x of xs) {
    if (!Object.is(sin(x), Math.sin(x)) || !Object.is(cos(x), Math.cos(x))) {
      if (mismatches++ < 5) t.fail(`at x = ${x}: sin ${sin(x)} vs ${Math.sin(x)}, cos ${cos(x)} vs ${Math.cos(x)}`);
    }
  }
  t.equal(mismatches, 0, `${xs.length} arguments`);
});

t.test('sin and cos are within one ulp of a 60-digit reference', async (t) => {
  const big = create(all, { number: 'BigNumber', precision: 60 });
  // toPrecision(100) is the double's exact decimal value, not its shortest form.
  const exact = (x: number): BigNumber => big.bignumber(x.toPrecision(100));
  const xs = [...edgeArguments().filter((x) => Math.abs(x) < 1e6 && x !== 0), ...SCALES.slice(0, 11).flatMap((scale, k) => spread(scale, 150, k + 100))];
  let worst = 0;
  for (const x of xs) {
    const s = Number(big.sin(exact(x)));
    const c = Number(big.cos(exact(x)));
    const error = Math.max(ulps(sin(x), s), ulps(cos(x), c));
    if (error > 1) t.fail(`at x = ${x}: sin ${sin(x)} vs ${s}, cos ${cos(x)} vs ${c}`);
    worst = Math.max(worst, error);
  }
  t.ok(worst <= 1, `worst ${worst} ulp over ${xs.length} arguments`);
});

t.test('sin and cos of zeros, infinities and NaN', async (t) => {
  t.ok(Object.is(sin(-0), -0));
  t.ok(Object.is(sin(0), 0));
  t.equal(cos(-0), 1);
  for (const x of [NaN, Infinity, -Infinity]) {
    t.ok(Number.isNaN(sin(x)), `sin(${x})`);
    t.ok(Number.isNaN(cos(x)), `cos(${x})`);
  }
});

/** The double whose high word is `high` and low word 0, and the three doubles either side of it. */
function aroundHighWord(high: number): number[] {
  bits[0] = BigInt(high) << 32n;
  const x = bits[0];
  return [-3n, -2n, -1n, 0n, 1n, 2n, 3n].map((d) => {
    bits[0] = x + d;
    return asDouble[0];
  });
}

/**
 * Arguments where exp changes course: the reduction's thresholds (ln2/2, where it starts, and
 * 1.5·ln2, below which fdlibm takes k = ±1 without rounding), exp(1), overflow, subnormals.
 */
function expEdgeArguments(): number[] {
  const xs = [...aroundHighWord(0x3fd62e43), ...aroundHighWord(0x3ff0a2b2), 0, -0, 5e-324, 2 ** -29, 2 ** -28, 2 ** -27, 0.34657359027997264, 0.3465735902799727, 0.5, 1, 1.0397207708399179, 1.03972077083992, 2, 700, 707.99, 708, 709.7, 709.782712893384, 709.79, 710, 745.1, 746];
  for (let k = 1; k <= 1021; k += 7) xs.push(k * Math.LN2, k * Math.LN2 + 2 ** -40, (k + 0.5) * Math.LN2);
  return xs.flatMap((x) => [x, -x]);
}

t.test('exp equals Math.exp bit for bit (fdlibm, as V8 computes it on Node 20 and 24)', { skip: !fdlibmBuiltins && `Node ${process.versions.node}'s Math.exp is not known to be fdlibm` }, async (t) => {
  const xs = [...expEdgeArguments(), ...[1e-9, 0.3, 0.4, 1, 1.1, 3, 30, 300, 720].flatMap((scale, k) => spread(scale, 20_000, k + 200))];
  let mismatches = 0;
  for (const x of xs) {
    if (!Object.is(exp(x), Math.exp(x))) {
      if (mismatches++ < 5) t.fail(`at x = ${x}: exp ${exp(x)} vs ${Math.exp(x)}`);
    }
  }
  t.equal(mismatches, 0, `${xs.length} arguments`);
});

t.test('exp equals Math.exp at every double from ln2/2 to high word 0x3fd62e43 (where x/ln2 rounds to ±1 but fdlibm does not reduce) and a thousand past it', { skip: !fdlibmBuiltins && `Node ${process.versions.node}'s Math.exp is not known to be fdlibm` }, async (t) => {
  // The words of asDouble: the high one second on a little-endian machine (the BigInt view's order).
  const words = new Uint32Array(asDouble.buffer);
  const [low, high] = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? [0, 1] : [1, 0];
  asDouble[0] = Math.LN2 / 2;
  const [fromHigh, fromLow] = [words[high], words[low]];
  let mismatches = 0;
  let count = 0;
  for (let h = fromHigh; h <= 0x3fd62e43; h++) {
    for (let l = h === fromHigh ? fromLow : 0; l <= (h === 0x3fd62e43 ? 1000 : 0xffffffff); l++) {
      words[high] = h;
      words[low] = l;
      const x = asDouble[0];
      count += 2;
      if (!Object.is(exp(x), Math.exp(x)) || !Object.is(exp(-x), Math.exp(-x))) {
        if (mismatches++ < 5) t.fail(`at x = ±${x}: exp ${exp(x)}, ${exp(-x)} vs ${Math.exp(x)}, ${Math.exp(-x)}`);
      }
    }
  }
  t.equal(mismatches, 0, `${count} arguments`);
});

t.test('exp is within one ulp of a 60-digit reference', async (t) => {
  const big = create(all, { number: 'BigNumber', precision: 60 });
  const xs = [...expEdgeArguments().filter((x) => Math.abs(x) < 700), ...[1e-9, 0.3, 1, 3, 30, 300].flatMap((scale, k) => spread(scale, 200, k + 300))];
  let worst = 0;
  for (const x of xs) {
    const reference = Number(big.exp(big.bignumber(x.toPrecision(100))));
    const error = ulps(exp(x), reference);
    if (error > 1) t.fail(`at x = ${x}: exp ${exp(x)} vs ${reference}`);
    worst = Math.max(worst, error);
  }
  t.ok(worst <= 1, `worst ${worst} ulp over ${xs.length} arguments`);
});

t.test('exp of infinities, NaN, and past the ends of the double range', async (t) => {
  t.equal(exp(Infinity), Infinity);
  t.equal(exp(-Infinity), 0);
  t.ok(Number.isNaN(exp(NaN)));
  t.equal(exp(710), Infinity);
  t.equal(exp(-746), 0);
  t.equal(exp(1), Math.E);
});

/**
 * The Node.js versions (major) whose Math.pow is fdlibm's __ieee754_pow (V8's
 * ieee754::legacy::pow), as ours is: 20 (V8 11.3), checked on 13 million arguments. Not 24
 * (V8 13.6): its Math.pow is another algorithm, nearly correctly rounded (0.503 ulp at worst
 * against fdlibm's 0.891), and differs from fdlibm's in the last bit of about one result in ten.
 */
const FDLIBM_POW_BUILTINS = new Set([20]);
const fdlibmPowBuiltin = FDLIBM_POW_BUILTINS.has(Number(process.versions.node.split('.')[0]));

/** Deterministic uniforms in [0, 1). */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** (x, y) pairs of each kind where pow takes a path of its own, `count` of each. */
function powArguments(count: number, seed: number): [number, number][] {
  const u = uniforms(seed);
  const kinds: (() => [number, number])[] = [
    () => [u() * 10, u() * 20 - 10],
    // Adam's bias corrections: beta ** step.
    () => [[0.9, 0.999, 0.99, 0.5, 1.5, 2.5][Math.floor(u() * 6)], Math.floor(u() * 20_000) + 1],
    () => [(u() - 0.5) * 20, Math.floor(u() * 200) - 100],
    () => [Math.floor(u() * 30) - 15, Math.floor(u() * 40) - 10],
    // Near 1, to large exponents; beyond 2^31 the logarithm is a series.
    () => [1 + (u() - 0.5) * 2 ** -(u() * 40), (u() - 0.5) * 2 ** (u() * 60)],
    () => [1 + (u() - 0.5) * 2 ** -18, (u() - 0.5) * 2 ** (31 + u() * 33)],
    // Across the whole range, up to overflow and underflow.
    () => [Math.exp(u() * 1400 - 700), (u() - 0.5) * 4],
    () => [Math.exp(u() * 1400 - 700), (u() - 0.5) * 2000],
    // Subnormal bases, and subnormal results.
    () => [u() * 2 ** -1022, (u() - 0.5) * 2],
    () => {
      const x = 0.3 + u() * 0.6;
      return [x, (-1015 - u() * 65) / Math.log2(x)];
    },
    // Results up to the largest double (scaled by 2^1024 · 2^f, f < 0), exponents below 2^-1002
    // (whose heads are cut from their words), bases just under a power of two (m under 1).
    () => {
      const x = 1.5 + u() * 100;
      return [x, (1023 + u()) / Math.log2(x)];
    },
    () => [u() * 100, (u() - 0.5) * 2 ** (-990 - u() * 84)],
    () => [2 ** Math.floor(u() * 200 - 100) * (1 - u() * 2 ** -40), (u() - 0.5) * 50],
  ];
  return kinds.flatMap((kind) => Array.from({ length: count }, kind));
}

/** Values where ECMAScript's or fdlibm's special cases begin, as bases and as exponents. */
const POW_EDGES = [
  NaN, 0, -0, Infinity, -Infinity, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 1.5, -1.5, 0.3, -7, 1024, -1074, -1075, 1023.9999999999999,
  2 ** 31, 2 ** 31 + 1, -(2 ** 31 + 1), 2 ** 53, -(2 ** 53), 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53 + 2, 2 ** 64, 2 ** 64 + 2 ** 12,
  1 + 2 ** -52, 1 - 2 ** -53, -(1 + 2 ** -52), 1e300, -1e300, 5e-324, -5e-324, 2 ** -1022, Number.MAX_VALUE, -Number.MAX_VALUE,
];

t.test('pow equals Math.pow bit for bit (fdlibm, as V8 computes it on Node 20)', { skip: !fdlibmPowBuiltin && `Node ${process.versions.node}'s Math.pow is not fdlibm's` }, async (t) => {
  const pairs = [...POW_EDGES.flatMap((x) => POW_EDGES.map((y): [number, number] => [x, y])), ...powArguments(10_000, 400)];
  let mismatches = 0;
  for (const [x, y] of pairs) {
    if (!Object.is(pow(x, y), Math.pow(x, y))) {
      if (mismatches++ < 5) t.fail(`pow(${x}, ${y}): ${pow(x, y)} vs Math.pow ${Math.pow(x, y)}`);
    }
  }
  t.equal(mismatches, 0, `${pairs.length} arguments`);
});

t.test('pow is within one ulp of a 60-digit reference', async (t) => {
  const big = create(all, { number: 'BigNumber', precision: 60 });
  const exact = (x: number): BigNumber => big.bignumber(x.toPrecision(100));
  let worst = 0;
  let checked = 0;
  for (const [x, y] of powArguments(60, 500)) {
    const reference = Number(big.pow(exact(x), exact(y)));
    if (!Number.isFinite(reference) || reference === 0) continue;
    const error = ulps(pow(x, y), reference);
    if (error > 1) t.fail(`pow(${x}, ${y}): ${pow(x, y)} vs ${reference}`);
    worst = Math.max(worst, error);
    checked++;
  }
  t.ok(worst <= 1, `worst ${worst} ulp over ${checked} arguments`);
});

/** ECMAScript's Number::exponentiate, case by case, and integers a double holds (exact in fdlibm). */
const POW_CASES: [x: number, y: number, expected: number][] = [
  // An exponent of NaN gives NaN, even on 1 (C's pow gives 1); an exponent of ±0 gives 1, even on NaN.
  [2, NaN, NaN], [1, NaN, NaN], [-1, NaN, NaN], [NaN, NaN, NaN], [NaN, 0, 1], [NaN, -0, 1], [Infinity, 0, 1], [0, -0, 1],
  [NaN, 1, NaN], [NaN, -1, NaN],
  [Infinity, 0.5, Infinity], [Infinity, -0.5, 0], [Infinity, Infinity, Infinity], [Infinity, -Infinity, 0],
  [-Infinity, 3, -Infinity], [-Infinity, 2, Infinity], [-Infinity, 0.5, Infinity], [-Infinity, -3, -0], [-Infinity, -2, 0],
  [-Infinity, -0.5, 0], [-Infinity, Infinity, Infinity], [-Infinity, -Infinity, 0],
  [0, 3, 0], [0, 0.5, 0], [0, -3, Infinity], [0, -0.5, Infinity], [0, Infinity, 0], [0, -Infinity, Infinity],
  [-0, 3, -0], [-0, 2, 0], [-0, 0.5, 0], [-0, -3, -Infinity], [-0, -2, Infinity], [-0, -0.5, Infinity], [-0, Infinity, 0],
  [-0, -Infinity, Infinity],
  // ±1 to ±Infinity is NaN (C's pow gives 1).
  [2, Infinity, Infinity], [-2, Infinity, Infinity], [1, Infinity, NaN], [-1, Infinity, NaN], [0.5, Infinity, 0], [-0.5, Infinity, 0],
  [2, -Infinity, 0], [-2, -Infinity, 0], [1, -Infinity, NaN], [-1, -Infinity, NaN], [0.5, -Infinity, Infinity], [-0.5, -Infinity, Infinity],
  // A negative base to a finite non-integer power.
  [-2, 0.5, NaN], [-8, 1 / 3, NaN], [-1, 0.5, NaN], [-1, -2.5, NaN],
  // Odd and even integers, those from 2^53 up all even.
  [1, 1e300, 1], [-1, 3, -1], [-1, 2 ** 53 - 1, -1], [-1, 2 ** 53, 1], [-1, 2 ** 53 + 2, 1], [-2, 2 ** 53, Infinity],
  [-0.5, 2 ** 53 - 1, -0], [-3, 33, -5559060566555523], [3, 33, 5559060566555523], [10, 22, 1e22], [5, 22, 2384185791015625],
  // Over- and underflow, with the sign of an odd power.
  [2, 1023, 2 ** 1023], [2, 1024, Infinity], [-2, 1025, -Infinity], [2, -1074, 5e-324], [2, -1075, 0], [-2, -1075, -0],
  [1 + 2 ** -52, 2 ** 64, Infinity], [1 - 2 ** -53, 2 ** 64, 0],
];

t.test('pow follows ECMAScript on NaN, zeros, infinities and negative bases', async (t) => {
  for (const [x, y, expected] of POW_CASES) {
    t.ok(Object.is(pow(x, y), expected), `pow(${x}, ${y}) is ${expected}: got ${pow(x, y)}`);
    // The specification leaves these no freedom: every version's Math.pow agrees.
    t.ok(Object.is(Math.pow(x, y), expected), `Math.pow(${x}, ${y}) is ${expected}: got ${Math.pow(x, y)}`);
  }
});
