/**
 * A worker thread of the pool: runs `computeSync` for one request. Imports no fastify. Parsed
 * programs and compiled gradients stay cached in the worker between requests.
 */
import { Problem, computeSync, type ComputeLimits, type ProblemBody } from '../index.js';

export interface ComputeTask {
  readonly endpoint: string;
  readonly body: unknown;
  readonly limits: ComputeLimits;
}

export type ComputeOutcome = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly problem: ProblemBody };

export default function run(task: ComputeTask): ComputeOutcome {
  try {
    return { ok: true, result: computeSync(task.endpoint, task.body, { limits: task.limits }) };
  } catch (e) {
    if (e instanceof Problem) return { ok: false, problem: e.body };
    throw e;
  }
}
