/**
 * A worker thread of the pool: runs `compute` for one request (awaited: an SVG trace first loads
 * Graphviz, once per worker). Imports no fastify. Parsed programs and compiled gradients stay
 * cached in the worker between requests.
 */
import type { MessagePort } from 'node:worker_threads';
import { Problem, compute, sampleChunkSync, type ComputeLimits, type ProblemBody } from '../index.js';

export interface ComputeTask {
  readonly endpoint: string;
  readonly body: unknown;
  /** For `sample`: compute only samples from..from+count, and answer with their statistics (a `SampleChunk`). */
  readonly chunk?: { readonly from: number; readonly count: number };
  readonly limits: ComputeLimits;
  /** Told when the task starts on this worker: the pool's hard deadline runs from then. */
  readonly started?: MessagePort;
  /** For streams: where progress messages go as the work goes on (`optimize`'s steps). */
  readonly progress?: MessagePort;
}

/** The answer, or the problem; and the primitive operations the evaluation ran, for the log. */
export type ComputeOutcome = ({ readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly problem: ProblemBody }) & {
  readonly operations: number;
};

export default async function run(task: ComputeTask): Promise<ComputeOutcome> {
  task.started?.postMessage(null);
  task.started?.close();
  const stats = { operations: 0 };
  try {
    const progress = task.progress;
    const options = { limits: task.limits, stats, onProgress: progress === undefined ? undefined : (message: unknown) => progress.postMessage(message) };
    const result = task.chunk === undefined ? await compute(task.endpoint, task.body, options) : sampleChunkSync(task.body, task.chunk.from, task.chunk.count, options);
    return { ok: true, result, operations: stats.operations };
  } catch (e) {
    if (e instanceof Problem) return { ok: false, problem: e.body, operations: stats.operations };
    throw e;
  } finally {
    // The end of the progress messages (null): the pool waits for it before answering, so none comes late.
    task.progress?.postMessage(null);
    task.progress?.close();
  }
}
