/**
 * The drawings' arithmetic (src/widget/plot.ts) against closed forms and brute force: scales and
 * their inverses, tick spacing, histogram counts, contour lines of a paraboloid (on the circle of
 * radius √level), contour levels, path data and number formatting.
 */
import t from 'tap';
import { contourLevels, contourSegments, extent, formatNumber, histogram, linePath, linearScale, linspace, niceTicks, padded, quantile, scalarOf, tailedHistogram, toNumber } from '../../src/widget/plot.js';

t.test('linearScale maps the domain onto the range and inverts it', async (t) => {
  const cases: [[number, number], [number, number], number, number][] = [
    [[0, 10], [0, 100], 2.5, 25],
    [[-1.5, 1.5], [52, 546], 0, 299],
    [[0, 1], [230, 10], 0.25, 175],
  ];
  for (const [domain, range, v, expected] of cases) {
    const f = linearScale(domain, range);
    t.ok(Math.abs(f(v) - expected) < 1e-12, `[${domain}] -> [${range}]: ${v} maps to ${expected} (got ${f(v)})`);
    t.ok(Math.abs(f.invert(f(v)) - v) < 1e-12, `[${domain}] -> [${range}]: invert(f(${v})) = ${v}`);
  }
  t.equal(linearScale([3, 3], [0, 10])(3), 5, 'a degenerate domain maps to the middle');
});

t.test('niceTicks: round steps of 1, 2 or 5 times a power of ten, within the range', async (t) => {
  const cases: [number, number, number, number[]][] = [
    [0, 10, 5, [0, 2, 4, 6, 8, 10]],
    [-1.5, 1.5, 6, [-1.5, -1, -0.5, 0, 0.5, 1, 1.5]],
    [0, 1000, 6, [0, 200, 400, 600, 800, 1000]],
    [0.001, 0.0042, 4, [0.001, 0.002, 0.003, 0.004]],
  ];
  for (const [lo, hi, count, expected] of cases) t.strictSame(niceTicks(lo, hi, count), expected, `ticks of [${lo}, ${hi}] (about ${count})`);
  t.strictSame(niceTicks(2, 2), [2]);
  t.strictSame(niceTicks(NaN, 1), []);
});

t.test('histogram counts as a brute-force count per bin; the maximum falls in the last bin', async (t) => {
  // Deterministic values: a 32-bit LCG mapped to [-3, 5).
  let state = 12345;
  const values = Array.from({ length: 5000 }, () => {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    return -3 + (8 * state) / 2 ** 32;
  });
  values.push(NaN, Infinity);
  const [lo, hi] = extent(values)!;
  const bins = 16;
  const hist = histogram(values, bins);
  t.equal(hist.edges.length, bins + 1);
  t.equal(hist.edges[bins], hi, 'the last edge is the maximum');
  const width = (hi - lo) / bins;
  for (let k = 0; k < bins; k++) {
    const a = lo + k * width;
    const b = lo + (k + 1) * width;
    const expected = values.filter((v) => Number.isFinite(v) && v >= a && (k === bins - 1 ? v <= hi : v < b)).length;
    t.equal(hist.counts[k], expected, `bin ${k}: [${a.toFixed(3)}, ${b.toFixed(3)})`);
  }
  t.equal(hist.outside, 2, 'NaN and Infinity left out');
  t.equal(hist.counts.reduce((a, c) => a + c, 0), 5000, 'every finite value counted once');
  const fixed = histogram([0, 0.5, 1, 2], 2, [0, 1]);
  t.strictSame(fixed.counts, [1, 2], 'a given domain: 0 in the first bin, 0.5 and 1 in the second');
  t.equal(fixed.outside, 1, '2 is outside [0, 1]');
});

/** Deterministic standard normals: Box–Muller over a 32-bit LCG. */
function normals(n: number, seed = 7): number[] {
  let state = seed;
  const uniform = (): number => {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

t.test('quantile interpolates between order statistics', async (t) => {
  const sorted = [1, 2, 3, 4, 5];
  for (const [p, expected] of [[0, 1], [0.5, 3], [1, 5], [0.125, 1.5], [0.9, 4.6]] as const) t.ok(Math.abs(quantile(sorted, p) - expected) < 1e-12, `p = ${p}: ${expected} (got ${quantile(sorted, p)})`);
  t.ok(Number.isNaN(quantile([], 0.5)), 'no values: NaN');
});

t.test('tailedHistogram: bins over the central 99%, the long tail in an end bin, every finite value counted once', async (t) => {
  const n = 5000;
  const cases: { name: string; values: number[]; below: boolean; above: boolean }[] = [
    // z = 0.5 + 1.5 ε, z²: a long right tail, and a left side that ends at 0 (no end bin there).
    { name: 'z² of normal(0.5, 1.5)', values: normals(n).map((e) => (0.5 + 1.5 * e) ** 2), below: false, above: true },
    { name: 'normal(0, 1)', values: normals(n, 11), below: true, above: true },
    { name: 'uniform on [0, 1)', values: Array.from({ length: n }, (_, k) => k / n), below: false, above: false },
  ];
  for (const c of cases) {
    const values = [...c.values, NaN, Infinity];
    const hist = tailedHistogram(values, 40)!;
    const sorted = c.values.slice().sort((a, b) => a - b);
    const [min, max] = [sorted[0], sorted[n - 1]];
    t.equal(hist.counts.reduce((a, k) => a + k, 0) + hist.below + hist.above, n, `${c.name}: the bins and the end bins count every finite value once`);
    t.equal(hist.below, sorted.filter((v) => v < hist.lo).length, `${c.name}: below counts the values under lo`);
    t.equal(hist.above, sorted.filter((v) => v > hist.hi).length, `${c.name}: above counts the values over hi`);
    t.equal(hist.below > 0, c.below, `${c.name}: ${c.below ? 'an' : 'no'} end bin below`);
    t.equal(hist.above > 0, c.above, `${c.name}: ${c.above ? 'an' : 'no'} end bin above`);
    t.strictSame([hist.min, hist.max], [min, max], `${c.name}: the extremes`);
    if (c.above) t.ok(hist.above <= 0.006 * n && hist.hi < max, `${c.name}: the axis stops at the 99.5% quantile ${hist.hi}, before the maximum ${max}`);
    else t.equal(hist.hi, max, `${c.name}: the axis runs to the maximum`);
  }
  const squares = tailedHistogram(normals(n).map((e) => (0.5 + 1.5 * e) ** 2), 40)!;
  const full = histogram(normals(n).map((e) => (0.5 + 1.5 * e) ** 2), 40);
  t.ok(squares.counts.filter((k) => k > 0).length > full.counts.filter((k) => k > 0).length, `z²: more bins hold draws than over the full extent (${squares.counts.filter((k) => k > 0).length} against ${full.counts.filter((k) => k > 0).length})`);
  t.strictSame(tailedHistogram([2, 2, 2], 4)?.counts, [0, 0, 3, 0], 'one repeated value: a unit domain around it');
  t.equal(tailedHistogram([NaN], 4), null, 'no finite value: null');
});

t.test('contour segments of x² + y² lie on the circle of radius √level', async (t) => {
  const xs = linspace(-2, 2, 41);
  const ys = linspace(-2, 2, 41);
  const z = ys.map((y) => xs.map((x) => x * x + y * y));
  for (const level of [0.5, 1, 2.25]) {
    const segments = contourSegments(z, xs, ys, level);
    const r = Math.sqrt(level);
    // Linear interpolation of a quadratic along an edge of length h is off by at most h²/4 in z, so by h²/(8r) in radius.
    const h = 0.1;
    const worst = Math.max(...segments.flatMap(([x1, y1, x2, y2]) => [Math.abs(Math.hypot(x1, y1) - r), Math.abs(Math.hypot(x2, y2) - r)]));
    t.ok(worst <= (h * h) / (8 * r) + 1e-12, `level ${level}: every endpoint within ${((h * h) / (8 * r)).toExponential(2)} of radius ${r} (worst ${worst.toExponential(2)})`);
    const length = segments.reduce((a, [x1, y1, x2, y2]) => a + Math.hypot(x2 - x1, y2 - y1), 0);
    t.ok(Math.abs(length - 2 * Math.PI * r) / (2 * Math.PI * r) < 0.01, `level ${level}: the segments' length is the circumference 2π·${r.toFixed(3)} within 1% (got ${length.toFixed(4)})`);
  }
  t.strictSame(contourSegments(z, xs, ys, 100), [], 'a level above every value: no segment');
  const holes = z.map((row, j) => row.map((v, i) => (i === 20 && j === 20 ? NaN : v)));
  t.ok(contourSegments(holes, xs, ys, 1).length > 0, 'a NaN corner skips its cells only');
});

t.test('contour levels: log-spaced for a loss spanning decades, else evenly spaced', async (t) => {
  const loss = [0.001, 0.01, 1, 10, 1000];
  const levels = contourLevels(loss, 5);
  const logs = levels.map(Math.log10);
  t.equal(levels.length, 5);
  for (let k = 1; k < logs.length; k++) t.ok(Math.abs(logs[k] - logs[k - 1] - 1) < 1e-9, `log10 steps of 1 (between ${levels[k - 1]} and ${levels[k]})`);
  t.strictSame(contourLevels([-1, 0, 3], 3), [0, 1, 2], 'with negative values: evenly spaced strictly inside');
  t.strictSame(contourLevels([2, 2], 3), [], 'a flat grid has no contour');
});

t.test('linePath breaks at non-finite points; padded, scalarOf, toNumber and formatNumber', async (t) => {
  t.equal(linePath([[0, 0], [1.004, 2], [NaN, 1], [3, 4], [5, 6]]), 'M0,0L1,2M3,4L5,6');
  t.strictSame(padded([0, 10], 0.1), [-1, 11]);
  t.strictSame(padded([2, 2]), [1, 3]);
  t.equal(scalarOf([[3.5]]), 3.5);
  t.equal(scalarOf([1, 2]), null);
  t.equal(toNumber('-Infinity'), -Infinity);
  t.ok(Number.isNaN(toNumber('NaN')));
  const cases: [number, string][] = [
    [0.3125, '0.3125'],
    [5.077582561890373, '5.07758'],
    [-1.2858394315471282, '−1.28584'],
    [6.59079e-7, '6.59079e−7'],
    [-2.5e-8, '−2.5e−8'],
    [1e12, '1e+12'],
    [0, '0'],
    [Infinity, '∞'],
  ];
  for (const [n, text] of cases) t.equal(formatNumber(n), text, `formatNumber(${n})`);
});
