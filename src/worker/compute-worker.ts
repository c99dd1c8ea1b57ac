/**
 * A worker thread of the pool: runs `computeSync` for one request. Imports no fastify. Parsed
 * programs and compiled gradients stay cached in the worker between requests.
 */
import type { MessagePort } from 'node:worker_threads';
import { Problem, computeSync, sampleChunkSync, type ComputeLimits, type ProblemBody } from '../index.js';

export interface ComputeTask {
  readonly endpoint: string;
  readonly body: unknown;
  /** For `sample`: compute only samples from..from+count, and answer with their statistics (a `SampleChunk`). */
  readonly chunk?: { readonly from: number; readonly count: number };
  readonly limits: ComputeLimits;
  /** Told when the task starts on this worker: the pool's hard deadline runs from then. */
  readonly started?: MessagePort;
}

/** The answer, or the problem; and the primitive operations the evaluation ran, for the log. */
export type ComputeOutcome = ({ readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly problem: ProblemBody }) & {
  readonly operations: number;
};

export default function run(task: ComputeTask): ComputeOutcome {
  task.started?.postMessage(null);
  task.started?.close();
  const stats = { operations: 0 };
  try {
    const options = { limits: task.limits, stats };
    const result = task.chunk === undefined ? computeSync(task.endpoint, task.body, options) : sampleChunkSync(task.body, task.chunk.from, task.chunk.count, options);
    return { ok: true, result, operations: stats.operations };
  } catch (e) {
    if (e instanceof Problem) return { ok: false, problem: e.body, operations: stats.operations };
    throw e;
  }
}
