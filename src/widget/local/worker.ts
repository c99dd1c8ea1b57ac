/**
 * The local engine, a Web Worker module (`adjoint-local-worker.js`): `compute()`, the service's
 * own code (the engine, the language, distributions, every endpoint and its schema's
 * validation), run in the page's browser with the service's default limits (compute/limits.ts),
 * so a long evaluation never blocks the page and its budgets stop it as they stop the service's
 * worker threads. A worker runs one request at a time; client.ts terminates it to stop one.
 *
 * A streamed `sample` runs in chunks of whole blocks, as the service spreads it over its workers
 * (server/dispatch.ts), with a `samples` message after each: the statistics combined in order
 * are the same numbers whatever the chunks. A streamed `optimize` reports its progress.
 */
import { DEFAULT_LIMITS, compute, sampleChunkSync } from '../../compute/compute.js';
import { Problem, toProblem } from '../../compute/problem.js';
import { BLOCK, summarise, type SampleChunk } from '../../compute/sample.js';
import { validatorOf } from '../../compute/schemas/validate.js';
import { freshSeed } from '../../engine/random.js';
import type { LocalAnswer, LocalRequest, StreamMessage } from './protocol.js';

/** What this module sees of a dedicated worker's global scope (the widget's tsconfig has the DOM's, not the worker's). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<LocalRequest>) => void) | null;
  postMessage(message: LocalAnswer): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event) => {
  const { id, endpoint, body, stream } = event.data;
  scope.postMessage({ id, type: 'start', timeoutMs: DEFAULT_LIMITS.timeoutMs });
  const emit = stream ? (message: StreamMessage): void => scope.postMessage({ id, type: 'message', message }) : undefined;
  run(endpoint, body, emit).then(
    (result) => scope.postMessage({ id, type: 'result', json: JSON.stringify(result) }),
    (e: unknown) => scope.postMessage({ id, type: 'error', error: toProblem(e).body }),
  );
};

function run(endpoint: string, body: unknown, emit: ((message: StreamMessage) => void) | undefined): Promise<unknown> {
  if (emit !== undefined && endpoint === 'sample') return Promise.resolve(streamSample(body, emit));
  return compute(endpoint, body, endpoint === 'optimize' && emit !== undefined ? { onProgress: emit } : {});
}

/** The chunks a streamed `sample` is cut into: about this many, of whole blocks. */
const CHUNKS = 8;
/** The most samples in one chunk, as the service's. */
const MAX_CHUNK = 256 * BLOCK;

/** `sample`, chunk by chunk, with the service's `samples` message after each; the result is `compute`'s. */
function streamSample(body: unknown, emit: (message: StreamMessage) => void): unknown {
  const request = body as { n?: number; seed?: number; options?: { timeoutMs?: number } };
  const { n } = request;
  // Whatever is wrong with the request, compute says so, as one of the service's workers would.
  if (!validatorOf('sample')!(body) || n === undefined || n < 1 || n > DEFAULT_LIMITS.maxSamples) return compute('sample', body);
  const timeoutMs = Math.min(request.options?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs, DEFAULT_LIMITS.timeoutMs);
  const timeExceeded = (): Problem => new Problem('LIMIT_EXCEEDED', `time limit exceeded: sampling ran past ${timeoutMs} ms on a worker`, { limit: 'time' });
  const deadline = performance.now() + timeoutMs;
  // Every chunk draws with the same seed: chosen here when the request gives none.
  const seeded = { ...request, seed: request.seed ?? freshSeed() };
  const perChunk = Math.min(MAX_CHUNK, Math.max(1, Math.ceil(Math.ceil(n / BLOCK) / CHUNKS)) * BLOCK);
  const chunks: SampleChunk[] = [];
  for (let from = 0; from < n; from += perChunk) {
    const count = Math.min(perChunk, n - from);
    const remaining = Math.floor(deadline - performance.now());
    if (remaining <= 0) throw timeExceeded();
    try {
      chunks.push(sampleChunkSync({ ...seeded, options: { ...request.options, timeoutMs: remaining } }, from, count));
    } catch (e) {
      // The chunk's deadline was what was left of the request's: the request's limit is the one passed.
      throw e instanceof Problem && e.code === 'LIMIT_EXCEEDED' && e.body.limit === 'time' ? timeExceeded() : e;
    }
    const { n: done, ...running } = summarise(chunks, false);
    const samples = chunks[chunks.length - 1].samples;
    emit({ type: 'samples', from, count, done, n, ...(samples === null ? {} : { samples }), ...running });
  }
  return summarise(chunks);
}
