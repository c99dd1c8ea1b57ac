/**
 * The arithmetic of the widgets' drawings: scales, ticks, histogram bins, contour lines
 * (marching squares) and SVG path data. Pure: no DOM, tested by tap against closed forms.
 */

/** A number as the API writes it: non-finite numbers come as the strings "NaN", "Infinity", "-Infinity". */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return NaN;
}

/** A value's single number when it is a scalar or a one-element tensor, else null. */
export function scalarOf(v: unknown): number | null {
  if (typeof v === 'number' || typeof v === 'string') return toNumber(v);
  if (Array.isArray(v) && v.length === 1) return scalarOf(v[0]);
  return null;
}

/** A number for reading: six significant digits, no trailing zeros, exponent form only when needed. */
export function formatNumber(n: number, digits = 6): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '−∞';
  if (n === 0) return '0';
  const abs = Math.abs(n);
  const text = abs >= 1e-4 && abs < 1e9 ? String(Number(n.toPrecision(digits))) : n.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return text.replace(/-/g, '−');
}

export interface Scale {
  (v: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  invert(p: number): number;
}

/** The affine map of `domain` onto `range` (a degenerate domain maps to the middle of the range). */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const f = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as Scale;
  Object.assign(f, { domain: [d0, d1] as const, range: [r0, r1] as const, invert: (p: number) => (r1 === r0 ? d0 : d0 + ((p - r0) / (r1 - r0)) * span) });
  return f;
}

/** The smallest and largest finite values, or null when there is none. */
export function extent(values: Iterable<number>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart) within [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi < lo) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** A domain widened by `fraction` of its span on each side (a degenerate one by 1). */
export function padded([lo, hi]: readonly [number, number], fraction = 0.05): [number, number] {
  if (hi === lo) return [lo - 1, hi + 1];
  const pad = (hi - lo) * fraction;
  return [lo - pad, hi + pad];
}

export interface Histogram {
  readonly lo: number;
  readonly hi: number;
  /** `bins + 1` edges from lo to hi. */
  readonly edges: number[];
  readonly counts: number[];
  /** Values left out: not finite, or outside [lo, hi]. */
  readonly outside: number;
}

/** `values` counted in `bins` equal bins over [lo, hi] (default: their extent); hi falls in the last bin. */
export function histogram(values: readonly number[], bins: number, domain?: readonly [number, number]): Histogram {
  const [lo, hi] = domain ?? extent(values) ?? [0, 1];
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  for (const v of values) {
    if (!Number.isFinite(v) || v < lo || v > hi) {
      outside++;
      continue;
    }
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
  return { lo, hi, edges, counts, outside };
}

/** The `p`-quantile (0 ≤ p ≤ 1) of ascending `sorted`, interpolated between order statistics. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const at = p * (sorted.length - 1);
  const k = Math.floor(at);
  return k + 1 < sorted.length ? sorted[k] + (at - k) * (sorted[k + 1] - sorted[k]) : sorted[k];
}

export interface TailedHistogram extends Histogram {
  /** Finite values below lo and above hi: counted, drawn as end bins, not stretching the axis. */
  readonly below: number;
  readonly above: number;
  /** The extremes of the finite values. */
  readonly min: number;
  readonly max: number;
}

/**
 * `values` in `bins` equal bins over their central mass, [the `tail` quantile, the 1 − `tail`
 * quantile], so a long tail (z² of a normal) does not squeeze every bar to one side; the finite
 * values beyond are counted in `below` and `above`. A side whose extreme lies within a tenth of
 * that range of its quantile is binned to its extreme instead. The bins, `below` and `above` together count
 * every finite value once. Null when no value is finite.
 */
export function tailedHistogram(values: readonly number[], bins: number, tail = 0.005): TailedHistogram | null {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const [min, max] = [sorted[0], sorted[sorted.length - 1]];
  let [lo, hi] = [quantile(sorted, tail), quantile(sorted, 1 - tail)];
  // A side whose tail would widen the axis by less than a tenth keeps its extreme: no end bin for nothing.
  if (lo - min <= 0.1 * (hi - lo)) lo = min;
  if (max - hi <= 0.1 * (hi - lo)) hi = max;
  if (!(hi > lo)) [lo, hi] = min < max ? [min, max] : [min - 0.5, max + 0.5];
  const hist = histogram(sorted, bins, [lo, hi]);
  let below = 0;
  for (const v of sorted) {
    if (v >= lo) break;
    below++;
  }
  return { ...hist, below, above: hist.outside - below, min, max };
}

/**
 * `count` contour levels for the finite values of a grid. A loss (no negative values) that spans
 * decades, as Rosenbrock's does, gets levels evenly spaced in its logarithm, from its lowest
 * positive value to its highest, so the valley shows as well as the walls; otherwise levels are
 * evenly spaced between the extremes. Each level lies strictly inside the range.
 */
export function contourLevels(values: readonly number[], count: number): number[] {
  const range = extent(values);
  if (range === null || range[0] === range[1] || count < 1) return [];
  const [lo, hi] = range;
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const floor = positive.length === 0 ? 0 : Math.min(...positive);
  if (lo >= 0 && floor > 0 && hi / floor > 100) {
    const [a, b] = [Math.log(floor), Math.log(hi)];
    return Array.from({ length: count }, (_, k) => Math.exp(a + ((b - a) * (k + 1)) / (count + 1)));
  }
  return Array.from({ length: count }, (_, k) => lo + ((hi - lo) * (k + 1)) / (count + 1));
}

/** A segment of a contour line, in the grid's coordinates: [x1, y1, x2, y2]. */
export type Segment = [number, number, number, number];

/**
 * The segments of the contour `level` of `z` (rows over `ys`, columns over `xs`: z[j][i] at
 * (xs[i], ys[j])), by marching squares with linear interpolation along cell edges; a saddle
 * cell is resolved by its centre's average. Cells with a non-finite corner are skipped.
 */
export function contourSegments(z: readonly (readonly number[])[], xs: readonly number[], ys: readonly number[], level: number): Segment[] {
  const segments: Segment[] = [];
  const cross = (xa: number, ya: number, za: number, xb: number, yb: number, zb: number): [number, number] => {
    const t = za === zb ? 0.5 : (level - za) / (zb - za);
    return [xa + t * (xb - xa), ya + t * (yb - ya)];
  };
  for (let j = 0; j + 1 < ys.length; j++) {
    for (let i = 0; i + 1 < xs.length; i++) {
      const [x0, x1, y0, y1] = [xs[i], xs[i + 1], ys[j], ys[j + 1]];
      // Corners counter-clockwise from (x0, y0).
      const c = [z[j][i], z[j][i + 1], z[j + 1][i + 1], z[j + 1][i]];
      if (!c.every(Number.isFinite)) continue;
      const above = c.map((v) => v >= level);
      const code = (above[0] ? 1 : 0) | (above[1] ? 2 : 0) | (above[2] ? 4 : 0) | (above[3] ? 8 : 0);
      if (code === 0 || code === 15) continue;
      // The crossing on each edge: bottom (0-1), right (1-2), top (2-3), left (3-0).
      const edge = [
        () => cross(x0, y0, c[0], x1, y0, c[1]),
        () => cross(x1, y0, c[1], x1, y1, c[2]),
        () => cross(x1, y1, c[2], x0, y1, c[3]),
        () => cross(x0, y1, c[3], x0, y0, c[0]),
      ];
      const crossed = [0, 1, 2, 3].filter((e) => above[e] !== above[(e + 1) % 4]);
      let pairs: [number, number][];
      if (crossed.length === 2) pairs = [[crossed[0], crossed[1]]];
      else {
        // A saddle: all four edges crossed. The centre decides which corners connect.
        const centreAbove = (c[0] + c[1] + c[2] + c[3]) / 4 >= level;
        pairs = centreAbove === above[0] ? [[0, 1], [2, 3]] : [[3, 0], [1, 2]];
      }
      for (const [a, b] of pairs) {
        const [p, q] = [edge[a](), edge[b]()];
        segments.push([p[0], p[1], q[0], q[1]]);
      }
    }
  }
  return segments;
}

/** An SVG path's data through `points`; a non-finite point breaks the line. Coordinates rounded to 0.01. */
export function linePath(points: readonly (readonly [number, number])[]): string {
  let d = '';
  let drawing = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      drawing = false;
      continue;
    }
    d += `${drawing ? 'L' : 'M'}${round(x)},${round(y)}`;
    drawing = true;
  }
  return d;
}

/** Segments as one path's data. */
export function segmentsPath(segments: readonly Segment[], sx: (v: number) => number, sy: (v: number) => number): string {
  return segments.map(([x1, y1, x2, y2]) => `M${round(sx(x1))},${round(sy(y1))}L${round(sx(x2))},${round(sy(y2))}`).join('');
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** `n` points evenly from lo to hi inclusive. */
export function linspace(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [(lo + hi) / 2];
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? hi : lo + ((hi - lo) * k) / (n - 1)));
}
