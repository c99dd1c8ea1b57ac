/**
 * The worker pool (piscina): all evaluation runs on worker threads, never on the event loop.
 * Each task carries an AbortSignal: a client that goes away, or a task past its hard deadline,
 * stops its worker (piscina replaces it). A full queue refuses work with 503 OVERLOADED.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Piscina } from 'piscina';
import { Problem, type ComputeLimits, type SampleChunk } from '../../index.js';
import type { ComputeOutcome, ComputeTask } from '../../worker/compute-worker.js';
import type { Config } from '../config.js';
import type { ProgressMessage } from '../dispatch.js';

/**
 * The hard deadline of a task beyond its cooperative one: time for the worker to notice. Both
 * run from the moment a worker starts the task, not while it waits in the queue.
 */
const HARD_DEADLINE_SLACK_MS = 1000;

/** The least time a task may wait for a worker before it is refused. */
const MIN_QUEUE_WAIT_MS = 30_000;

export interface WorkerPool {
  /** Computes on a worker; rejects with a Problem. Adds the evaluation's operations to `stats`. */
  compute(endpoint: string, body: unknown, signal?: AbortSignal, stats?: { operations: number }, onProgress?: (message: ProgressMessage) => void): Promise<unknown>;
  /** Samples from..from+count of a `sample` request, on a worker: their statistics, to combine in order. */
  sampleChunk(body: unknown, from: number, count: number, signal?: AbortSignal, stats?: { operations: number }): Promise<SampleChunk>;
  readonly size: number;
  /** Worker threads running now (fewer than `size` while a replacement starts). */
  readonly alive: number;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Tasks a worker has started and not finished. */
  readonly running: number;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    workers: WorkerPool;
  }
}

const workerFile = new URL(`../../worker/compute-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

/** `onError`: a worker that fails with no task to blame (say, while starting); unheard, it would stop the process. */
export function createWorkerPool(config: Config, onError: (error: Error) => void = () => {}): WorkerPool {
  const pool = new Piscina<ComputeTask, ComputeOutcome>({
    filename: workerFile,
    minThreads: config.workers,
    maxThreads: config.workers,
    maxQueue: config.maxQueue,
    // Memory: a worker over its heap is stopped and replaced; its request gets a clean error.
    resourceLimits: { maxOldGenerationSizeMb: config.workerMemoryMb, maxYoungGenerationSizeMb: Math.min(64, config.workerMemoryMb / 4) },
  });
  pool.on('error', onError);
  const limits: ComputeLimits = config.limits;
  let running = 0;
  return {
    get size() {
      return config.workers;
    },
    get alive() {
      return pool.threads.length;
    },
    get queued() {
      return pool.queueSize;
    },
    get running() {
      return running;
    },
    compute: (endpoint, body, signal, stats, onProgress) => run({ endpoint, body }, signal, stats, onProgress),
    sampleChunk: async (body, from, count, signal, stats) => (await run({ endpoint: 'sample', body, chunk: { from, count } }, signal, stats)) as SampleChunk,
    close: () => pool.destroy(),
  };

  async function run(
    task: Pick<ComputeTask, 'endpoint' | 'body' | 'chunk'>,
    signal?: AbortSignal,
    stats?: { operations: number },
    onProgress?: (message: ProgressMessage) => void,
  ): Promise<unknown> {
      if (pool.queueSize >= config.maxQueue && config.maxQueue > 0) {
        throw new Problem('OVERLOADED', `the server is at capacity: ${pool.queueSize} requests are waiting; try again shortly`);
      }
      const deadline = new AbortController();
      const abort = AbortSignal.any(signal === undefined ? [deadline.signal] : [deadline.signal, signal]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A task that no worker takes up in time (all busy, or none able to start) is refused
      // rather than left waiting without bound; starting a worker cold takes seconds.
      let unstarted = false;
      const waitLimitMs = Math.max(MIN_QUEUE_WAIT_MS, 3 * config.limits.timeoutMs);
      const waiting = setTimeout(() => {
        unstarted = true;
        deadline.abort();
      }, waitLimitMs);
      const started = new MessageChannel();
      let progress: MessageChannel | null = null;
      started.port1.once('message', () => {
        clearTimeout(waiting);
        running++;
        timer = setTimeout(() => deadline.abort(), config.limits.timeoutMs + HARD_DEADLINE_SLACK_MS);
      });
      try {
        // Progress travels on a channel of its own, made only for streams (a channel per task costs).
        progress = onProgress === undefined ? null : new MessageChannel();
        let ended = (): void => {};
        const closed = progress === null ? null : new Promise<void>((resolve) => (ended = resolve));
        progress?.port1.on('message', (message: ProgressMessage | null) => (message === null ? ended() : onProgress!(message)));
        const ports = progress === null ? [started.port2] : [started.port2, progress.port2];
        const outcome = await pool.run({ ...task, limits, started: started.port2, ...(progress === null ? {} : { progress: progress.port2 }) }, { signal: abort, transferList: ports });
        // The worker ends its messages with null when done: every one is passed on before the result.
        if (closed !== null) await closed;
        if (stats !== undefined) stats.operations += outcome.operations;
        if (!outcome.ok) {
          const p = outcome.problem;
          throw new Problem(p.code, p.detail, { line: p.line, column: p.column, path: p.path, limit: p.limit });
        }
        return outcome.result;
      } catch (e) {
        if (e instanceof Problem) throw e;
        if (unstarted) throw new Problem('OVERLOADED', `the server is at capacity: no worker could take the request within ${waitLimitMs} ms; try again shortly`);
        if (deadline.signal.aborted) {
          throw new Problem('LIMIT_EXCEEDED', `time limit exceeded: the evaluation ran past ${config.limits.timeoutMs} ms and was stopped`, { limit: 'time' });
        }
        if (signal?.aborted) throw new Problem('INVALID_REQUEST', 'the request was cancelled');
        const message = e instanceof Error ? e.message : String(e);
        // Piscina's refusals: "Task queue is at limit", "No task queue available and all Workers are busy".
        if (/task queue/i.test(message)) throw new Problem('OVERLOADED', 'the server is at capacity; try again shortly');
        if (/out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(message) || (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          throw new Problem('LIMIT_EXCEEDED', `memory limit exceeded: the evaluation needed more than the worker's ${config.workerMemoryMb} MiB`, { limit: 'memory' });
        }
        throw e;
      } finally {
        clearTimeout(waiting);
        started.port1.close();
        progress?.port1.close();
        if (timer !== undefined) {
          running--;
          clearTimeout(timer);
        }
      }
  }
}

export default fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    const pool = createWorkerPool(opts.config, (err) => app.log.error({ err }, 'a worker failed outside any request'));
    app.decorate('workers', pool);
    app.addHook('onClose', async () => pool.close());
  },
  { name: 'workers' },
);
