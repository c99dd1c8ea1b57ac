/**
 * One request, however it arrives (a POST, an NDJSON stream, a WebSocket message): computed on
 * the worker pool, with the messages a stream shows as work progresses. A batch is spread over
 * the workers, its items emitted as they finish, under one deadline.
 */
import type { FastifyInstance } from 'fastify';
import { batchError, batchItems, deadlinePassed } from '../index.js';

/** A message of a stream before its result: `{"type": "item", "index": i, ...}` for a batch. */
export type ProgressMessage = Record<string, unknown> & { type: string };

export async function dispatch(
  app: FastifyInstance,
  endpoint: string,
  body: unknown,
  signal: AbortSignal,
  emit: (message: ProgressMessage) => void = () => {},
  stats?: { operations: number },
): Promise<unknown> {
  if (endpoint !== 'batch') return app.workers.compute(endpoint, body, signal, stats);
  const { limits } = app.config;
  const items = batchItems(body, limits.maxBatch);
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const both = AbortSignal.any([signal, deadline]);
  const results = await Promise.all(
    items.map(async (item, index) => {
      let result: unknown;
      try {
        if ('problem' in item) throw item.problem;
        if (deadline.aborted) throw deadlinePassed(limits.timeoutMs);
        result = await app.workers.compute(item.endpoint, item.body, both, stats);
      } catch (e) {
        if (signal.aborted) throw e;
        // An item stopped by the batch's deadline failed for that reason, whatever the pool said.
        result = batchError(deadline.aborted ? deadlinePassed(limits.timeoutMs) : e, index);
      }
      emit({ type: 'item', index, ...(result as Record<string, unknown>) });
      return result;
    }),
  );
  return { results };
}
