/**
 * `sample`: the program run n times with independent draws (SPEC.md sections 3 and 5), each
 * run with its value and gradient, and the Monte Carlo estimate of the gradient of the
 * expectation with its standard error.
 *
 * Run i draws from stream i of the request's seed, so a sample is the same wherever it is
 * computed. Statistics are kept per block of BLOCK consecutive samples (two passes over a
 * compiled block, Welford's updates sample by sample otherwise) and
 * blocks are combined in order (Chan, Golub and LeVeque's pairwise formula), and chunks are
 * whole blocks: the summary is the same to the bit however the samples were split over
 * workers or chunks.
 *
 * Estimators: "reparam" differentiates through the draws (`rsample`); "score" detaches every
 * draw and differentiates the surrogate f + stop(f)(Σ log p - stop(Σ log p)) instead, the
 * score-function (REINFORCE) estimator, unbiased for programs that use `sample` too.
 */
import { EngineError, NotCompilable, Tape, TapeTracer, Tensor, compileGradient, concrete, formatShape, grad as gradient, sameShape, sizeOf, type CompiledGradient, type Fn, type Value } from '../engine/index.js';
import { Random, fillNoise } from '../engine/random.js';
import { Distribution, ScoreFunctionSource, scoreSurrogate } from '../distributions/index.js';
import type { LangValue } from '../lang/catalogue.js';
import { ProgramError } from '../lang/errors.js';
import { Problem, toProblem } from './problem.js';
import { tensorField } from './request.js';
import { encodeValue, type Layout } from './values.js';
import type { ProgramEndpoint } from './endpoint.js';
import { countOperations, prepare, type ComputeOptions, type Evaluation } from './evaluation.js';
import { ProgramCache } from './cache.js';
import { endpointFields, type SampleRequest as SampleBody } from './schemas/index.js';

/** Samples per block of statistics; chunks are whole blocks. */
export const BLOCK = 1024;

/** The most samples a response lists one by one. */
export const MAX_LISTED_SAMPLES = 100_000;

/** The statistics of one block: count, and per coordinate (the value's elements, then each gradient's) the mean and the sum of squared deviations. */
export interface BlockStats {
  readonly count: number;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
}

/** What the summary needs to know of the request. */
export interface SampleMeta {
  readonly wrt: readonly string[];
  readonly layout: Layout;
  readonly estimator: SampleRequest['estimator'];
  readonly listSamples: boolean;
  readonly seed: number;
  /** What the response warns of (`drawWarnings`); the first chunk's speak for the request. */
  readonly warnings: readonly string[];
}

/** What one chunk of samples gives: its blocks' statistics in order, and its samples when listed. */
export interface SampleChunk {
  readonly blocks: BlockStats[];
  readonly samples: unknown[] | null;
  /** The shapes of the value and of each gradient, to read the coordinates back. */
  readonly shapes: { readonly value: number[]; readonly grads: number[][] };
  readonly meta: SampleMeta;
}

export interface SampleRequest {
  readonly n: number;
  readonly listSamples: boolean;
  readonly estimator: 'reparam' | 'score';
}

/** n, `options.samples` and `options.estimator`, validated. */
export function sampleRequest(ev: Evaluation<SampleBody>, maxSamples: number): SampleRequest {
  const { n } = ev.request.body;
  if (n === undefined) throw new Problem('INVALID_REQUEST', '"n", the number of samples, is required', { path: '/n' });
  if (n < 1 || n > maxSamples) throw new Problem('INVALID_ARGUMENT', `"n" must be from 1 to ${maxSamples}, got ${n}`, { path: '/n' });
  const listSamples = ev.request.options.samples ?? n <= 1000;
  if (listSamples && n > MAX_LISTED_SAMPLES) {
    throw new Problem('TOO_LARGE', `"options.samples" lists at most ${MAX_LISTED_SAMPLES} samples, and n is ${n}: ask for the summary only, or stream it`, { path: '/options/samples' });
  }
  const estimator = ev.request.options.estimator ?? 'reparam';
  return { n, listSamples, estimator };
}

/** Accumulates one block's statistics by Welford's updates. */
class BlockAccumulator {
  count = 0;
  mean: Float64Array;
  m2: Float64Array;

  constructor(readonly width: number) {
    this.mean = new Float64Array(width);
    this.m2 = new Float64Array(width);
  }

  add(x: ArrayLike<number>, offset = 0): void {
    const k = ++this.count;
    for (let c = 0; c < this.width; c++) {
      const v = x[offset + c];
      const delta = v - this.mean[c];
      this.mean[c] += delta / k;
      this.m2[c] += delta * (v - this.mean[c]);
    }
  }

  take(): BlockStats {
    const stats = { count: this.count, mean: this.mean, m2: this.m2 };
    this.count = 0;
    this.mean = new Float64Array(this.width);
    this.m2 = new Float64Array(this.width);
    return stats;
  }
}

/** The statistics of the first m entries of each column, by two passes (the mean, then the squared deviations). */
function columnStats(columns: readonly Float64Array[], m: number): BlockStats {
  const mean = new Float64Array(columns.length);
  const m2 = new Float64Array(columns.length);
  columns.forEach((x, c) => {
    let total = 0;
    for (let i = 0; i < m; i++) total += x[i];
    const mu = total / m;
    let squares = 0;
    for (let i = 0; i < m; i++) squares += (x[i] - mu) * (x[i] - mu);
    mean[c] = mu;
    m2[c] = squares;
  });
  return { count: m, mean, m2 };
}

/** Blocks combined in order (Chan et al. 1979): the statistics of all their samples. */
export function combineBlocks(blocks: readonly BlockStats[]): BlockStats {
  const width = blocks.length === 0 ? 0 : blocks[0].mean.length;
  const mean = new Float64Array(width);
  const m2 = new Float64Array(width);
  let count = 0;
  for (const b of blocks) {
    const total = count + b.count;
    for (let c = 0; c < width; c++) {
      const delta = b.mean[c] - mean[c];
      mean[c] += (delta * b.count) / total;
      m2[c] += b.m2[c] + (delta * delta * count * b.count) / total;
    }
    count = total;
  }
  return { count, mean, m2 };
}

/** The program as a function of the `wrt` inputs under the estimator: the output, or its score-function surrogate. */
function estimand(ev: Evaluation, estimator: SampleRequest['estimator']): Fn {
  if (estimator === 'reparam') return ev.fn;
  return (cx, xs) => {
    const score = new ScoreFunctionSource(cx.random!);
    cx.random = score;
    try {
      const out = ev.fn(cx, xs);
      return scoreSurrogate(cx, out, score.logProbs);
    } finally {
      cx.random = score.inner;
    }
  };
}

/**
 * Samples `from` to `from + count` (a whole number of blocks, but for the last chunk). Scalar
 * programs of scalar inputs are compiled once, their draws becoming inputs filled for a whole
 * block at a time; anything else runs sample by sample through the engine.
 */
export function sampleChunk(ev: Evaluation, spec: SampleRequest, from: number, count: number): SampleChunk {
  const warnings = from === 0 ? drawWarnings(ev) : [];
  const chunk = samplesOf(ev, spec, from, count);
  return warnings.length === 0 ? chunk : { ...chunk, meta: { ...chunk.meta, warnings } };
}

/** The most warnings a response lists. */
const MAX_WARNINGS = 10;

/**
 * A gradient asked through `sample(d)`, which carries none, with no estimator chosen: where
 * d's parameters depend on the inputs differentiated, the gradient silently leaves out that
 * path (it may be all zeros). One run of the program with draws of sample 0, its inputs on a
 * tape, finds such draws. Anything the run fails on, the samples report.
 */
function drawWarnings(ev: Evaluation): string[] {
  const { request } = ev;
  if (request.options.estimator !== undefined || request.wrt.length === 0) return [];
  const cx = ev.transientContext();
  cx.random = new Random(ev.seed, 0);
  const tape = new Tape(cx);
  const inputs = new Map<string, LangValue>(request.at);
  for (const name of request.wrt) inputs.set(name, tape.leaf(request.at.get(name)!));
  const warnings = new Map<string, string>();
  try {
    ev.output(cx, inputs, (fn, args, _out, loc) => {
      const d = args[0];
      if (fn !== 'sample' || !(d instanceof Distribution) || !d.params.some((p) => p instanceof TapeTracer && p.trace === tape)) return;
      const where = loc.path !== undefined ? `at ${loc.path}` : `at line ${loc.line}, column ${loc.column}`;
      if (warnings.size < MAX_WARNINGS && !warnings.has(where)) {
        const remedy =
          d.family.rsample === undefined
            ? `${d.family.name} has no reparameterised draw: choose options.estimator "score" (the score-function estimator)`
            : 'draw with rsample(...) to differentiate through it, or choose options.estimator "score"';
        warnings.set(
          where,
          `the draw sample(${d.family.name}(...)) ${where} carries no gradient, but its parameters depend on the inputs differentiated: ` +
            `the gradient leaves out its part (it may be all zero); ${remedy} (options.estimator "reparam" keeps this and silences the warning)`,
        );
      }
    });
  } catch {
    // The samples meet the same error and report it.
  } finally {
    ev.countOperations(cx);
  }
  return [...warnings.values()];
}

function samplesOf(ev: Evaluation, spec: SampleRequest, from: number, count: number): SampleChunk {
  const fast = compiledSampler(ev, spec);
  if (fast !== null) {
    try {
      return compiledChunk(ev, spec, fast, from, count);
    } catch (e) {
      // A check failed in compiled code: the engine finds it again, with its place in the program.
      if (!(e instanceof EngineError && e.code === 'INVALID_ARGUMENT')) throw e;
    }
  }
  return generalChunk(ev, spec, from, count);
}

function compiledSampler(ev: Evaluation, spec: SampleRequest): CompiledGradient | null {
  const { request } = ev;
  const names = request.wrt;
  if (request.body.cotangent !== undefined || names.some((n) => request.at.get(n)!.shape.length !== 0) || [...request.at.values()].some((v) => v.shape.length !== 0)) return null;
  const key = `${ev.cacheKey}\u0000sample:${spec.estimator}\u0000${[...request.at.keys()].join(',')}\u0000${names.join(',')}\u0000${request.output ?? ''}`;
  return ev.cache.gradient(ProgramCache.key('gradient', key), () => {
    try {
      return compileGradient(estimand(ev, spec.estimator), names.length, ev.context());
    } catch (e) {
      if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem) return null;
      throw e;
    }
  });
}

function compiledChunk(ev: Evaluation, spec: SampleRequest, compiled: CompiledGradient, from: number, count: number): SampleChunk {
  const { request } = ev;
  const inputs = request.wrt.map((n) => Float64Array.of(request.at.get(n)!.data[0]));
  const size = Math.min(BLOCK, count);
  const noise = compiled.noise.map(() => new Float64Array(size));
  const into = { value: new Float64Array(size), grads: request.wrt.map(() => new Float64Array(size)) };
  const blocks: BlockStats[] = [];
  const samples: unknown[] | null = spec.listSamples ? [] : null;
  const deadline = ev.context();
  for (let start = from; start < from + count; start += BLOCK) {
    deadline.checkDeadline('sample');
    const m = Math.min(BLOCK, from + count - start);
    const block = noise.map((a) => a.subarray(0, m));
    compiled.noise.forEach((kind, k) => fillNoise(ev.seed, kind, k, start, block[k]));
    const { value, grads } = compiled.run([...inputs, ...block], m, into);
    blocks.push(columnStats([value, ...grads], m));
    if (samples !== null) {
      for (let i = 0; i < m; i++) samples.push({ value: encodeValue(Tensor.scalar(value[i]), request.layout), grad: Object.fromEntries(request.wrt.map((name, g) => [name, grads[g][i]])) });
    }
  }
  return { blocks, samples, shapes: { value: [], grads: request.wrt.map(() => []) }, meta: metaOf(ev, spec) };
}

function metaOf(ev: Evaluation, spec: SampleRequest): SampleMeta {
  return { wrt: ev.request.wrt, layout: ev.request.layout, estimator: spec.estimator, listSamples: spec.listSamples, seed: ev.seed, warnings: [] };
}

function generalChunk(ev: Evaluation, spec: SampleRequest, from: number, count: number): SampleChunk {
  const { request } = ev;
  const cotangent = tensorField(request, 'cotangent', ev.limits);
  const f = estimand(ev, spec.estimator);
  let accumulator: BlockAccumulator | null = null;
  let shapes: SampleChunk['shapes'] | null = null;
  const blocks: BlockStats[] = [];
  const samples: unknown[] | null = spec.listSamples ? [] : null;
  for (let i = from; i < from + count; i++) {
    const cx = ev.transientContext();
    // A sample's few operations never reach its context's periodic deadline check: check here.
    cx.checkDeadline('sample');
    cx.random = new Random(ev.seed, i);
    let result;
    try {
      result = gradient(cx, checkedOutput(f, cotangent), ev.primals, cotangent ?? undefined);
    } finally {
      ev.countOperations(cx);
    }
    const value = concrete(result.value);
    const grads = result.grads.map(concrete);
    if (shapes === null) shapes = { value: [...value.shape], grads: grads.map((g) => [...g.shape]) };
    const width = value.size + grads.reduce((s, g) => s + g.size, 0);
    accumulator ??= new BlockAccumulator(width);
    const row = new Float64Array(width);
    row.set(value.data, 0);
    let offset = value.size;
    for (const g of grads) {
      row.set(g.data, offset);
      offset += g.size;
    }
    accumulator.add(row);
    if (samples !== null) samples.push({ value: encodeValue(value, request.layout), grad: Object.fromEntries(request.wrt.map((name, g) => [name, encodeValue(grads[g], request.layout)])) });
    if ((i - from + 1) % BLOCK === 0 || i === from + count - 1) blocks.push(accumulator.take());
  }
  return { blocks, samples, shapes: shapes ?? { value: [], grads: [] }, meta: metaOf(ev, spec) };
}

/** The program, checked for an output a gradient can be taken of: a scalar, or shaped like the cotangent. */
function checkedOutput(f: Fn, cotangent: Tensor | null): Fn {
  return (cx, xs) => {
    const out: Value = f(cx, xs);
    if (cotangent === null && sizeOf(out.shape) !== 1) {
      throw new Problem('NOT_SCALAR', `each sample's output has shape ${formatShape(out.shape)}; send "cotangent", a tensor shaped like it, for the gradient of its product with the output`, {
        path: '/cotangent',
      });
    }
    if (cotangent !== null && !sameShape(out.shape, cotangent.shape)) {
      throw new Problem('SHAPE_MISMATCH', `"cotangent" has shape ${formatShape(cotangent.shape)}, but each sample's output has shape ${formatShape(out.shape)}`, { path: '/cotangent' });
    }
    return out;
  };
}

/**
 * The summary of the chunks' samples so far, in order: `{n, estimator, samples?, mean,
 * stderr, seed}`, the standard error being the samples' standard deviation over √n.
 */
export function summarise(chunks: readonly SampleChunk[], withSamples = true): Record<string, unknown> {
  const { meta, shapes } = chunks[0];
  const all = combineBlocks(chunks.flatMap((c) => c.blocks));
  const result: Record<string, unknown> = { n: all.count, estimator: meta.estimator };
  if (meta.listSamples && withSamples) result.samples = chunks.flatMap((c) => c.samples ?? []);
  const stderr = all.mean.map((_, c) => Math.sqrt(all.m2[c] / (all.count - 1) / all.count));
  result.mean = coordinates(meta, shapes, all.mean);
  result.stderr = coordinates(meta, shapes, stderr);
  if (meta.warnings.length > 0) result.warnings = meta.warnings;
  result.seed = meta.seed;
  return result;
}

/** A row of coordinates read back as `{value, grad: {name: g}}`. */
function coordinates(meta: SampleMeta, shapes: SampleChunk['shapes'], row: Float64Array): { value: unknown; grad: Record<string, unknown> } {
  const layout = meta.layout;
  const take = (shape: number[], offset: number): Tensor => new Tensor(shape, row.slice(offset, offset + sizeOf(shape)));
  let offset = sizeOf(shapes.value);
  const grad: Record<string, unknown> = {};
  meta.wrt.forEach((name, g) => {
    grad[name] = encodeValue(take(shapes.grads[g], offset), layout);
    offset += sizeOf(shapes.grads[g]);
  });
  return { value: encodeValue(take(shapes.value, 0), layout), grad };
}

/** `sample`: n draws of the program, their statistics and their gradients' (samples listed on request). */
export const sampleEndpoint: ProgramEndpoint<SampleBody> = { name: 'sample', ...endpointFields('sample'), handle: sampleAll };

function sampleAll(ev: Evaluation<SampleBody>): unknown {
  const spec = sampleRequest(ev, ev.limits.maxSamples);
  return summarise([sampleChunk(ev, spec, 0, spec.n)]);
}

/**
 * Samples `from` to `from + count` of a `sample` request, for the service to spread a large n
 * over its workers; `summarise` combines the chunks, in order, into the response.
 */
export function sampleChunkSync(body: unknown, from: number, count: number, options: ComputeOptions = {}): SampleChunk {
  let ev: Evaluation<SampleBody> | null = null;
  try {
    ev = prepare('sample', body, options);
    const spec = sampleRequest(ev, ev.limits.maxSamples);
    if (!(Number.isInteger(from) && Number.isInteger(count) && from >= 0 && count >= 1 && from + count <= spec.n && from % BLOCK === 0)) {
      throw new RangeError(`a chunk of samples must be whole blocks within n: from ${from}, count ${count}`);
    }
    return sampleChunk(ev, spec, from, count);
  } catch (e) {
    throw toProblem(e);
  } finally {
    countOperations(options.stats, ev);
  }
}
