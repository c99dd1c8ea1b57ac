/**
 * `batch`: several requests of any endpoint in one, each answered in order with its result or
 * `{"error": problem}`; one bad item never fails the others. The items share one deadline.
 * `compute` runs the items one after another; the service spreads them over its workers and
 * streams them as they finish, with the same items and the same answers.
 */
import type { BodyEndpoint, ComputeFn } from './endpoint.js';
import type { ComputeOptions } from './evaluation.js';
import { withDefaults } from './limits.js';
import { Problem, toProblem, type ProblemBody } from './problem.js';

/** An item ready to compute, or the problem that makes it invalid. */
export type BatchItem = { readonly endpoint: string; readonly body: Record<string, unknown> } | { readonly problem: Problem };

export type BatchResult = unknown;

/** The items of a batch body; throws for a malformed batch as a whole. */
export function batchItems(body: unknown, maxBatch: number): BatchItem[] {
  const requests = (body as { requests?: unknown } | null)?.requests;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(requests)) {
    throw new Problem('INVALID_REQUEST', 'batch takes {"requests": [{"endpoint": "grad", ...body}, ...]}', { path: '/requests' });
  }
  const extra = Object.keys(body).filter((k) => k !== 'requests');
  if (extra.length > 0) throw new Problem('INVALID_REQUEST', `unknown field "${extra[0]}"; batch takes requests`, { path: `/${extra[0]}` });
  if (requests.length > maxBatch) throw new Problem('TOO_LARGE', `the batch has ${requests.length} requests, over the limit of ${maxBatch}`, { path: '/requests' });
  return requests.map((item, i): BatchItem => {
    if (item === null || typeof item !== 'object' || Array.isArray(item) || typeof (item as { endpoint?: unknown }).endpoint !== 'string') {
      return { problem: new Problem('INVALID_REQUEST', 'each item needs "endpoint", the name of an endpoint, beside its body', { path: `/requests/${i}` }) };
    }
    const { endpoint, ...rest } = item as { endpoint: string };
    if (endpoint === 'batch') return { problem: new Problem('INVALID_REQUEST', 'a batch cannot contain a batch', { path: `/requests/${i}/endpoint` }) };
    return { endpoint, body: rest };
  });
}

/** An item's error as its answer: paths point into the item, within the batch's body. */
export function batchError(e: unknown, index: number): { error: ProblemBody } {
  const problem = toProblem(e).body;
  const prefixed = problem.path === undefined || problem.path.startsWith('/requests/') ? problem : { ...problem, path: `/requests/${index}${problem.path}` };
  return { error: prefixed };
}

export function deadlinePassed(timeoutMs: number): Problem {
  return new Problem('LIMIT_EXCEEDED', `time limit exceeded: the batch ran past ${timeoutMs} ms before this item`, { limit: 'time' });
}

export const batchEndpoint: BodyEndpoint = { name: 'batch', fields: null, run: runBatch };

/** `batch` in-process: the items one after another, under one deadline (see batch.ts). */
function runBatch(body: unknown, options: ComputeOptions, computeSync: ComputeFn): unknown {
  const limits = withDefaults(options.limits);
  const clock = options.clock ?? (() => performance.now());
  const deadline = clock() + limits.timeoutMs;
  const results = batchItems(body, limits.maxBatch).map((item, i) => {
    try {
      if ('problem' in item) throw item.problem;
      const remaining = deadline - clock();
      // Not a number when the clock reads Infinity (cancelled) at both ends: past the deadline too.
      if (!(remaining > 0)) throw deadlinePassed(limits.timeoutMs);
      return computeSync(item.endpoint, item.body, { ...options, limits: { ...limits, timeoutMs: remaining } });
    } catch (e) {
      return batchError(e, i);
    }
  });
  return { results };
}
