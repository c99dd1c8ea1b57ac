/**
 * One request, however it arrives (a POST, an NDJSON stream, a WebSocket message): computed on
 * the worker pool, with the messages a stream shows as work progresses. A batch is spread over
 * the workers, its items emitted as they finish, under one deadline; so is a large `sample`,
 * in chunks of whole blocks whose statistics are combined in order, so that the answer does
 * not depend on how the chunks were spread.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Problem, SAMPLE_BLOCK, batchError, batchItems, deadlinePassed, freshSeed, summariseSamples, type SampleChunk } from '../index.js';
import type { ProgressMessage } from '../workers/compute-worker.js';
import { validatorOf } from '../compute/schemas/validate.js';
import type { Cancellation } from './cancellation.js';
import { problemFor } from './plugins/errors.js';

/** A message of a stream before its result: `{"type": "item", "index": i, ...}` for a batch; a worker's progress is one too. */
export type { ProgressMessage };

export interface DispatchOptions {
  /** The primitive operations the evaluation ran are added to it. */
  readonly stats?: { operations: number };
  /** A plain request's result comes as the JSON text the worker made of it (a batch's and a sample's are put together here, as values). */
  readonly json?: boolean;
  /** The body's JSON text, which a worker is sent instead of the body where given. */
  readonly bodyText?: string | null;
  /** The request's size as sent, where there is no `bodyText` (a WebSocket message's bytes): see the pool's `size`. */
  readonly size?: number;
  /** The request it came in, whose log and id a batch item's unexpected error goes to (see `problemFor`); else the app's log. */
  readonly request?: { readonly id: string; readonly log: FastifyBaseLogger };
}

/** The result of `endpoint` for `body`; rejects with a Problem, or with an Error for a bug. */
export async function dispatch(
  app: FastifyInstance,
  endpoint: string,
  body: unknown,
  cancel: Cancellation,
  emit?: (message: ProgressMessage) => void,
  options: DispatchOptions = {},
): Promise<unknown> {
  const report = emit ?? (() => {});
  const { stats } = options;
  const size = options.size ?? (typeof options.bodyText === 'string' ? options.bodyText.length : undefined);
  if (endpoint === 'batch') return dispatchBatch(app, body, cancel, report, stats, options.request ?? { id: 'unknown', log: app.log }, size);
  if (endpoint === 'sample') return dispatchSample(app, body, cancel, report, stats);
  // optimize reports its steps from the worker, when someone is listening.
  return app.workers.compute(endpoint, body, { cancel, stats, json: options.json, bodyText: options.bodyText, size, onProgress: endpoint === 'optimize' ? emit : undefined });
}

async function dispatchBatch(
  app: FastifyInstance,
  body: unknown,
  cancel: Cancellation,
  emit: (message: ProgressMessage) => void,
  stats: { operations: number } | undefined,
  request: NonNullable<DispatchOptions['request']>,
  size: number | undefined,
): Promise<unknown> {
  const { limits } = app.config;
  const items = batchItems(body, limits.maxBatch);
  // Each item's share of the batch's size: what the pool's inline lane knows its kind of work by.
  const itemSize = size === undefined ? undefined : Math.ceil(size / Math.max(1, items.length));
  // The items share one deadline, from when a worker starts the first of them (time in the
  // queue before is not the batch's): past it, those unfinished are cancelled.
  const stop = cancel.child();
  let expired = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const onStart = (): void => {
    deadline ??= setTimeout(() => {
      expired = true;
      stop.cancel();
    }, limits.timeoutMs);
  };
  try {
    const results = await Promise.all(
      items.map(async (item, index) => {
        let result: unknown;
        try {
          if ('problem' in item) throw item.problem;
          if (expired) throw deadlinePassed(limits.timeoutMs);
          result = await app.workers.compute(item.endpoint, item.body, { cancel: stop, stats, onStart, size: itemSize });
        } catch (e) {
          if (cancel.cancelled) throw e;
          // An item stopped by the batch's deadline failed for that reason, whatever the pool said.
          result = batchError(expired ? deadlinePassed(limits.timeoutMs) : problemFor(e, request, { item: index }), index);
        }
        emit({ type: 'item', index, ...(result as Record<string, unknown>) });
        return result;
      }),
    );
    return { results };
  } finally {
    clearTimeout(deadline);
  }
}

/** Chunks per worker that a large n is cut into: enough to spread the work over the workers and stream progress. */
const CHUNKS_PER_WORKER = 8;
/** The most samples in one chunk (whole blocks). */
const MAX_CHUNK = 256 * SAMPLE_BLOCK;

/** Chunks of whole blocks covering 0..n. */
/** Milliseconds on the clock every thread shares (a worker's `performance.now()` has its own origin). */
const now = (): number => performance.timeOrigin + performance.now();

function chunksOf(n: number, workers: number): { from: number; count: number }[] {
  const blocks = Math.ceil(n / SAMPLE_BLOCK);
  const perChunk = Math.min(MAX_CHUNK / SAMPLE_BLOCK, Math.max(1, Math.ceil(blocks / (workers * CHUNKS_PER_WORKER))));
  const chunks = [];
  for (let from = 0; from < n; from += perChunk * SAMPLE_BLOCK) chunks.push({ from, count: Math.min(perChunk * SAMPLE_BLOCK, n - from) });
  return chunks;
}

async function dispatchSample(
  app: FastifyInstance,
  body: unknown,
  cancel: Cancellation,
  emit: (message: ProgressMessage) => void,
  stats?: { operations: number },
): Promise<unknown> {
  const request = body as { n?: number; seed?: number; options?: { timeoutMs?: number } };
  const { limits } = app.config;
  const { n } = request;
  // Whatever is wrong with the request (its schema, n missing or beyond MAX_SAMPLES), one worker says so exactly as `compute` would.
  if (!validatorOf('sample')!(body) || n === undefined || n < 1 || n > limits.maxSamples) return app.workers.compute('sample', body, { cancel, stats });

  const timeoutMs = Math.min(request.options?.timeoutMs ?? limits.timeoutMs, limits.timeoutMs);
  const timeExceeded = (): Problem => new Problem('LIMIT_EXCEEDED', `time limit exceeded: sampling ran past ${timeoutMs} ms on a worker`, { limit: 'time' });
  // The time a single request may take from here to its answer: its run and its wait, each at
  // their limit. The chunks' own accounts (time on a worker, time queued) leave out the moments
  // between them (messages, the next chunk's dispatch), which under load add up: a chunk never
  // runs past this, whatever its lane has left.
  const answerBy = now() + timeoutMs + app.config.queueTimeoutMs;
  // Every chunk draws with the same seed: chosen here when the request gives none.
  const seeded = { ...request, seed: request.seed ?? freshSeed() };
  // A chunk that fails stops the others.
  const stop = cancel.child();
  const chunks = chunksOf(n, app.workers.size);
  const results: (SampleChunk | undefined)[] = new Array(chunks.length);
  let emitted = 0;
  let next = 0;

  /**
   * Runs chunk k with what its lane has left of the time limit after `ranMs` on a worker; the
   * chunk's own deadline runs from its start on the worker, which checks it block by block.
   * Time in the queue is never taken from the limit: under load a request's chunks wait their
   * turn, they do not fail 422. A lane's chunks after its first go ahead of requests not yet
   * started, and all its chunks together wait QUEUE_TIMEOUT_MS at most (else 503): a sample is
   * answered within TIMEOUT_MS + QUEUE_TIMEOUT_MS, as any request is (`answerBy`).
   */
  const runChunk = async (k: number, lane: { ranMs: number; queue: { waitedMs: number }; started: boolean }): Promise<void> => {
    const remaining = Math.floor(Math.min(timeoutMs - lane.ranMs, answerBy - now()));
    if (remaining <= 0) throw timeExceeded();
    const chunkBody = { ...seeded, options: { ...request.options, timeoutMs: remaining } };
    const timing = { runMs: 0 };
    try {
      results[k] = await app.workers.sampleChunk(chunkBody, chunks[k].from, chunks[k].count, { cancel: stop, stats, timing, queue: lane.queue, continuation: lane.started, answerBy });
      lane.started = true;
    } catch (e) {
      // The chunk's deadline is what was left of the request's: the request's limit is the one passed.
      throw e instanceof Problem && e.code === 'LIMIT_EXCEEDED' && e.body.limit === 'time' ? timeExceeded() : e;
    }
    lane.ranMs += timing.runMs;
    // Progress in order: each chunk once all before it are in.
    while (emitted < chunks.length && results[emitted] !== undefined) {
      const done = results.slice(0, emitted + 1) as SampleChunk[];
      const { n: finished, ...running } = summariseSamples(done, false);
      const chunk = results[emitted]!;
      emit({ type: 'samples', from: chunks[emitted].from, count: chunks[emitted].count, done: finished, n, ...(chunk.samples === null ? {} : { samples: chunk.samples }), ...running });
      emitted++;
    }
  };
  // A lane per worker, its chunks one after another: the rest wait here, not in the pool's queue.
  const lanes = Array.from({ length: Math.min(chunks.length, app.workers.size) }, async () => {
    const lane = { ranMs: 0, queue: { waitedMs: 0 }, started: false };
    while (next < chunks.length) await runChunk(next++, lane);
  });
  try {
    await Promise.all(lanes);
  } catch (e) {
    stop.cancel();
    throw e;
  }
  return summariseSamples(results as SampleChunk[]);
}
