/**
 * The 2-norm (kernels.ts's norm2, ops/reduce.ts's norm): the square root of the sum of squares in order, as
 * `sqrt(sum(x .^ 2))` computes it, bit for bit; where that sum would overflow or lose bits to
 * underflow, the same rounding by scaling with a power of two, which is exact.
 */
import t from 'tap';
import { norm2 } from '../../src/engine/kernels.js';

/** A small generator: the same data on every run. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const random = generator(17);
const vectors = Array.from({ length: 2000 }, (_, k) => Float64Array.from({ length: 1 + (k % 97) }, () => (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6)));

t.test('is the square root of the sum of squares in order, bit for bit', async (t) => {
  const differ = vectors.filter((x) => norm2(x, x.length) !== Math.sqrt(x.reduce((s, v) => s + v * v, 0)));
  t.equal(differ.length, 0, `over ${vectors.length} vectors of 1 to 97 elements spread over 12 decades`);
});

t.test('scales by a power of two where the squares overflow or underflow, with the same rounding', async (t) => {
  for (const k of [600, 1000, -600, -1000]) {
    const scale = 2 ** (k / 2) * 2 ** (k / 2);
    const differ = vectors.filter((x) => norm2(x.map((v) => v * scale), x.length) !== norm2(x, x.length) * scale);
    t.equal(differ.length, 0, `every vector times 2^${k}`);
  }
  t.equal(norm2(Float64Array.of(1e200, 1e200), 2), Math.SQRT2 * 1e200, '[1e200, 1e200]');
  t.equal(norm2(Float64Array.of(3e-200, 4e-200), 2), 5e-200, '[3e-200, 4e-200]');
  t.equal(norm2(Float64Array.of(Number.MAX_VALUE, Number.MAX_VALUE), 2), Infinity, 'a norm over the largest double overflows');
  t.equal(norm2(Float64Array.of(Number.MAX_VALUE), 1), Number.MAX_VALUE, 'the largest double alone');
  t.equal(norm2(Float64Array.of(5e-324, 0), 2), 5e-324, 'the smallest subnormal');
});

t.test('NaN wins over Infinity, Infinity over any number; zero and empty are 0', async (t) => {
  t.ok(Number.isNaN(norm2(Float64Array.of(Infinity, NaN, 1), 3)), 'NaN with an infinity');
  t.ok(Number.isNaN(norm2(Float64Array.of(1e300, NaN), 2)), 'NaN with an overflowing square');
  t.equal(norm2(Float64Array.of(-Infinity, 1e300, 2), 3), Infinity, 'an infinity');
  t.equal(norm2(Float64Array.of(0, -0), 2), 0, 'zeros');
  t.equal(norm2(new Float64Array(0), 0), 0, 'nothing');
  t.equal(norm2(Float64Array.of(3, 4, 12), 2), 5, 'the first n elements only');
});
