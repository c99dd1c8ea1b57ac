/**
 * A worker thread of the pool: runs `computeSync` for one request. Imports no fastify. Parsed
 * programs and compiled gradients stay cached in the worker between requests.
 */
import type { MessagePort } from 'node:worker_threads';
import { Problem, computeSync, type ComputeLimits, type ProblemBody } from '../index.js';

export interface ComputeTask {
  readonly endpoint: string;
  readonly body: unknown;
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
    return { ok: true, result: computeSync(task.endpoint, task.body, { limits: task.limits, stats }), operations: stats.operations };
  } catch (e) {
    if (e instanceof Problem) return { ok: false, problem: e.body, operations: stats.operations };
    throw e;
  }
}
