import t from 'tap';
import { Context } from '../../src/engine/index.js';
import { MAX_SEED, Random, fillNoise, freshSeed, philox } from '../../src/engine/random.js';

// Random123's known-answer vectors for Philox4x32-10: counter (4 words), key (2 words), output.
const knownAnswers: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

t.test('Philox4x32-10 gives Random123 known answers', async (t) => {
  const out = new Uint32Array(4);
  for (const [ctr, key, expected] of knownAnswers) {
    philox(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out);
    t.same(Array.from(out), expected, `counter ${ctr.map((w) => w.toString(16)).join(' ')}`);
  }
});

t.test('uniforms lie strictly inside (0, 1) with the moments of U(0, 1)', async (t) => {
  const u = new Random(7).uniform(new Context(), [200_000]).data;
  let sum = 0;
  let sumSq = 0;
  let outside = 0;
  for (const x of u) {
    if (!(x > 0 && x < 1)) outside++;
    sum += x;
    sumSq += x * x;
  }
  t.equal(outside, 0, 'no uniform outside (0, 1)');
  const n = u.length;
  const mean = sum / n;
  // The standard error of the mean is sqrt(1/12 / n); of the second moment sqrt(4/45 / n).
  t.ok(Math.abs(mean - 0.5) < 5 * Math.sqrt(1 / 12 / n), `mean ${mean}`);
  t.ok(Math.abs(sumSq / n - 1 / 3) < 5 * Math.sqrt(4 / 45 / n), `second moment ${sumSq / n}`);
});

t.test('normals have the first four moments of N(0, 1)', async (t) => {
  const z = new Random(11).normal(new Context(), [400_000]).data;
  const n = z.length;
  const moment = (k: number): number => z.reduce((s, x) => s + x ** k, 0) / n;
  // Standard errors: sqrt(E[z^2k] / n) with E z^2 = 1, z^4 = 3, z^6 = 15, z^8 = 105.
  t.ok(Math.abs(moment(1)) < 5 * Math.sqrt(1 / n), `mean ${moment(1)}`);
  t.ok(Math.abs(moment(2) - 1) < 5 * Math.sqrt(2 / n), `variance ${moment(2)}`);
  t.ok(Math.abs(moment(3)) < 5 * Math.sqrt(15 / n), `third moment ${moment(3)}`);
  t.ok(Math.abs(moment(4) - 3) < 5 * Math.sqrt(96 / n), `fourth moment ${moment(4)}`);
});

t.test('draws are a function of seed, stream and draw number only', async (t) => {
  const cx = new Context();
  const a = new Random(42, 3);
  const first = a.normal(cx, [5]).data;
  const second = a.uniform(cx, [5]).data;
  const b = new Random(42, 3);
  t.same(Array.from(b.normal(cx, [5]).data), Array.from(first), 'same seed, stream and draw: same numbers');
  t.same(Array.from(b.uniform(cx, [5]).data), Array.from(second));
  t.not(new Random(43, 3).normal(cx, [1]).data[0], first[0], 'another seed');
  t.not(new Random(42, 4).normal(cx, [1]).data[0], first[0], 'another stream');
  t.not(second[0], new Random(42, 3).uniform(cx, [1]).data[0], 'another draw number');
  // A draw's elements do not depend on how many were asked for.
  t.same(Array.from(new Random(42, 3).normal(cx, [2]).data), Array.from(first.subarray(0, 2)));
});

t.test('fillNoise gives the scalar draws of many streams, bit for bit', async (t) => {
  const cx = new Context();
  for (const kind of ['uniform', 'normal'] as const) {
    // An odd start and an odd length: streams share blocks in pairs, and the ends are alone.
    const out = new Float64Array(21);
    fillNoise(2 ** 40 + 5, kind, 1, 101, out);
    for (let i = 0; i < out.length; i++) {
      const r = new Random(2 ** 40 + 5, 101 + i);
      r.uniform(cx, []);
      t.equal(out[i], r[kind](cx, []).data[0], `${kind} of stream ${101 + i}`);
    }
  }
});

t.test('seeds outside 0..2^53-1 are refused', async (t) => {
  for (const seed of [-1, 0.5, 2 ** 53, NaN]) t.throws(() => new Random(seed), RangeError, `seed ${seed}`);
});

t.test('neighbouring streams, which share blocks, and the two kinds of draw are uncorrelated', async (t) => {
  const n = 100_000;
  const cx = new Context();
  const pairs: [string, (i: number) => [number, number]][] = [
    ['normals of streams 2i and 2i + 1', (i) => [new Random(3, 2 * i).normal(cx, []).data[0], new Random(3, 2 * i + 1).normal(cx, []).data[0]]],
    ['uniforms of streams 2i and 2i + 1', (i) => [new Random(3, 2 * i).uniform(cx, []).data[0], new Random(3, 2 * i + 1).uniform(cx, []).data[0]]],
    ['a normal and a uniform of the same draw number in neighbouring streams', (i) => [new Random(3, 2 * i).normal(cx, []).data[0], new Random(3, 2 * i + 1).uniform(cx, []).data[0]]],
    ['squares of the normals of streams 2i and 2i + 1 (Box-Muller pairs are independent, not only uncorrelated)', (i) => {
      const a = new Random(3, 2 * i).normal(cx, []).data[0];
      const b = new Random(3, 2 * i + 1).normal(cx, []).data[0];
      return [a * a, b * b];
    }],
  ];
  for (const [label, pair] of pairs) {
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < n; i++) {
      const [x, y] = pair(i);
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
    }
    const cov = sxy / n - (sx / n) * (sy / n);
    const r = cov / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
    // The sample correlation of independent variables has standard error 1/sqrt(n).
    t.ok(Math.abs(r) < 5 / Math.sqrt(n), `${label}: correlation ${r}`);
  }
});

t.test('fresh seeds: safe integers of 53 bits, all different, across refills of the word buffer', async (t) => {
  const seeds = Array.from({ length: 2000 }, () => freshSeed());
  t.ok(seeds.every((s) => Number.isSafeInteger(s) && s >= 0 && s <= MAX_SEED), 'each an integer in 0..2^53-1');
  t.equal(new Set(seeds).size, seeds.length, '2000 draws (four refills), no repeat');
  t.ok(seeds.some((s) => s >= 2 ** 52), 'the top bit is used');
});
