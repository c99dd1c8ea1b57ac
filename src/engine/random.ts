/**
 * Random draws from one counter-based generator, Philox4x32-10 (Salmon, Moraes, Dror and Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the generator PyTorch uses on GPUs).
 * A number is a pure function of (seed, stream, draw, element): no state is carried from one
 * number to the next, so the same request and seed give bit-identical numbers on any worker or
 * machine, however samples are split into chunks.
 *
 * The key is the seed (an integer below 2^53, as two 32-bit words). A block is the output for
 * one counter: four words, read as two uniforms u = (k + 1/2) / 2^52 with k the top 52 bits of
 * a word pair: strictly inside (0, 1), symmetric (1 - u is exact), never 0 or 1. `stream` is
 * the sample's index in `/v1/sample` (0 otherwise), `draw` counts the program's random calls in
 * the order they run, `element` is the position in the draw's tensor.
 *
 * - `rand` and `randn` (and every pathwise sampler built on them) share each block between two
 *   neighbouring streams, 2i and 2i + 1, so that a block serves two samples: counter (element,
 *   draw, stream >> 1, KIND) with KIND 0 for uniforms and 2^30 for normals. A uniform is the
 *   block's first uniform for the even stream, its second for the odd one; a normal is
 *   Box-Muller on the block's two uniforms, sqrt(-2 log u1) cos(2 pi u2) for the even stream
 *   and the independent sqrt(-2 log u1) sin(2 pi u2) for the odd one: exact transformations.
 * - Samplers that reject (gamma, Poisson, binomial) read whole blocks of their own stream:
 *   counter (element, draw, stream, 2^31 + block) for blocks 0, 1, 2, ... in turn.
 */
import type { Context, Value } from './core.js';
import type { Tensor, Shape } from './tensor.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** The high 32 bits of a 32x32-bit product, exactly, in float64 arithmetic. */
function mulhi(a: number, b: number): number {
  const p1 = (a >>> 16) * b;
  const p0 = (a & 0xffff) * b;
  return Math.floor((p1 + Math.floor(p0 / 65536)) / 65536) >>> 0;
}

/** Philox4x32-10 of counter (c0..c3) and key (k0, k1), into `out`. */
export function philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

const TWO_POW_52 = 2 ** 52;

/** A uniform in (0, 1) from two words: the top 52 bits, centred in their interval. */
function uniformOf(hi: number, lo: number): number {
  return ((hi >>> 0) * 1048576 + (lo >>> 12) + 0.5) / TWO_POW_52;
}

const TWO_PI = 2 * Math.PI;

/** The largest seed: seeds travel as JSON numbers, exact up to 2^53 - 1. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** Words from the platform's cryptographic generator, fetched 512 seeds at a time (one call each, not one per request). */
const seedWords = new Uint32Array(1024);
let seedWordsUsed = seedWords.length;

/** A seed for a request that gives none: 53 bits from the platform's cryptographic generator. */
export function freshSeed(): number {
  if (seedWordsUsed === seedWords.length) {
    globalThis.crypto.getRandomValues(seedWords);
    seedWordsUsed = 0;
  }
  const high = seedWords[seedWordsUsed++] & 0x1fffff;
  return high * 2 ** 32 + seedWords[seedWordsUsed++];
}

const UNIFORMS = 0;
const NORMALS = 2 ** 30;
const BLOCKS = 2 ** 31;

/**
 * One draw's numbers for samplers that need several per element: element j's blocks 0, 1, 2,
 * ... of this stream alone, each as two uniforms or one normal.
 */
export class Draw {
  private readonly words = new Uint32Array(4);

  constructor(
    private readonly k0: number,
    private readonly k1: number,
    private readonly draw: number,
    private readonly stream: number,
  ) {}

  /** Block `block` of element j as two uniforms, written into `out[0]` and `out[1]`. */
  uniforms(j: number, block: number, out: Float64Array): void {
    const w = this.words;
    philox(j, this.draw, this.stream, BLOCKS + block, this.k0, this.k1, w);
    out[0] = uniformOf(w[0], w[1]);
    out[1] = uniformOf(w[2], w[3]);
  }

  /** The first uniform of element j's block. */
  uniform(j: number, block = 0): number {
    const w = this.words;
    philox(j, this.draw, this.stream, BLOCKS + block, this.k0, this.k1, w);
    return uniformOf(w[0], w[1]);
  }

  /** A standard normal from element j's block (Box-Muller, cosine branch). */
  normal(j: number, block = 0): number {
    const w = this.words;
    philox(j, this.draw, this.stream, BLOCKS + block, this.k0, this.k1, w);
    return Math.sqrt(-2 * Math.log(uniformOf(w[0], w[1]))) * Math.cos(TWO_PI * uniformOf(w[2], w[3]));
  }
}

/** The kinds of base noise a reparameterised sampler transforms. */
export type NoiseKind = 'uniform' | 'normal';

/**
 * Where a program's random draws come from. Each call is one draw; draws are numbered in the
 * order they are made. The compiler substitutes a source that makes each scalar draw a
 * symbolic input instead (engine/compile.ts), so the same code serves both.
 */
export interface RandomSource {
  /** Standard uniforms in (0, 1), of the given shape. */
  uniform(cx: Context, shape: Shape): Value;
  /** Standard normals, of the given shape. */
  normal(cx: Context, shape: Shape): Value;
  /** The next draw's numbers, for samplers that need more than one block per element. */
  draw(): Draw;
  /** Draws made so far in this run. */
  readonly draws: number;
  /** Starts another run of the same program: draws are numbered from 0 again, so each run makes the same draws. */
  restart(): void;
}

/** The generator of one program run: seed `seed`, stream `stream` (the sample's index). */
export class Random implements RandomSource {
  private readonly k0: number;
  private readonly k1: number;
  draws = 0;
  /** Whether any run drew at all (a response reports its seed only then). */
  used = false;

  constructor(
    readonly seed: number,
    readonly stream = 0,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`a seed is an integer from 0 to ${MAX_SEED}, got ${seed}`);
    this.k0 = seed % 2 ** 32;
    this.k1 = Math.floor(seed / 2 ** 32);
  }

  draw(): Draw {
    this.used = true;
    return new Draw(this.k0, this.k1, this.draws++, this.stream);
  }

  restart(): void {
    this.draws = 0;
  }

  uniform(cx: Context, shape: Shape): Tensor {
    return this.shared(cx, 'rand', 'uniform', shape);
  }

  normal(cx: Context, shape: Shape): Tensor {
    return this.shared(cx, 'randn', 'normal', shape);
  }

  /** Draws whose blocks this stream shares with its neighbour (see the head of this file). */
  private shared(cx: Context, op: string, kind: NoiseKind, shape: Shape): Tensor {
    this.used = true;
    const draw = this.draws++;
    const out = cx.alloc(op, shape);
    const data = out.data;
    const w = new Uint32Array(4);
    for (let j = 0; j < data.length; j++) {
      // Each element is a Philox block, some tens of operations: the deadline is read as the draw goes.
      if ((j & 1023) === 1023) cx.work(op, 1024 * 32);
      data[j] = sharedNumber(kind, j, draw, this.stream, this.k0, this.k1, w);
    }
    return out;
  }
}

/** Element j of a shared draw for one stream (see the head of this file). */
function sharedNumber(kind: NoiseKind, j: number, draw: number, stream: number, k0: number, k1: number, w: Uint32Array): number {
  const odd = stream & 1;
  philox(j, draw, Math.floor(stream / 2), kind === 'uniform' ? UNIFORMS : NORMALS, k0, k1, w);
  if (kind === 'uniform') return odd === 0 ? uniformOf(w[0], w[1]) : uniformOf(w[2], w[3]);
  const radius = Math.sqrt(-2 * Math.log(uniformOf(w[0], w[1])));
  const angle = TWO_PI * uniformOf(w[2], w[3]);
  return radius * (odd === 0 ? Math.cos(angle) : Math.sin(angle));
}

/**
 * Scalar noise for many streams at once: `kind` of draw `draw`, element 0, for streams
 * `from`, `from + 1`, ... into `out`, each block serving two neighbouring streams. The same
 * numbers `Random(seed, stream)` gives its scalar draws, so a compiled sampler and the
 * interpreter agree bit for bit.
 */
export function fillNoise(seed: number, kind: NoiseKind, draw: number, from: number, out: Float64Array): void {
  const k0 = seed % 2 ** 32;
  const k1 = Math.floor(seed / 2 ** 32);
  const w = new Uint32Array(4);
  const n = out.length;
  let i = 0;
  if (from % 2 === 1 && n > 0) out[i++] = sharedNumber(kind, 0, draw, from, k0, k1, w);
  const counter3 = kind === 'uniform' ? UNIFORMS : NORMALS;
  for (; i + 1 < n; i += 2) {
    philox(0, draw, (from + i) / 2, counter3, k0, k1, w);
    const u1 = uniformOf(w[0], w[1]);
    const u2 = uniformOf(w[2], w[3]);
    if (kind === 'uniform') {
      out[i] = u1;
      out[i + 1] = u2;
    } else {
      const radius = Math.sqrt(-2 * Math.log(u1));
      const angle = TWO_PI * u2;
      out[i] = radius * Math.cos(angle);
      out[i + 1] = radius * Math.sin(angle);
    }
  }
  if (i < n) out[i] = sharedNumber(kind, 0, draw, from + i, k0, k1, w);
}
