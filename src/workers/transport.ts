/**
 * The scheduler's workers: piscina's threads. Piscina starts them, replaces one that dies, is
 * stopped or runs out of memory, holds a batch until a replacement is ready, and ends a worker
 * when its batch's signal aborts; the scheduler decides everything else (it sends at most one
 * batch per worker, so piscina's own queue holds only those waiting for a thread to start).
 */
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ComputeBatch, ComputeItem, ComputeOutcome, ComputeWorkerData, ProgressMessage } from './compute-worker.js';
import type { RunningBatch, Transport } from './scheduler.js';

/** Piscina's abort signal in its event-emitter form: an AbortController per batch costs more. */
class StopSignal {
  aborted = false;
  private listener: (() => void) | null = null;
  once(_event: 'abort', listener: () => void): void {
    this.listener = listener;
  }
  off(): void {
    this.listener = null;
  }
  /** What piscina calls; its types name it `off`. */
  removeListener(): void {
    this.off();
  }
  abort(): void {
    this.aborted = true;
    this.listener?.();
  }
}

export interface ThreadSettings {
  readonly workers: number;
  /** The workers' module (its default export runs a batch). */
  readonly workerFile: string;
  readonly workerData: ComputeWorkerData;
  /** Each worker's heap: a worker over it is stopped and replaced, and its request gets a clean error. */
  readonly workerMemoryMb: number;
  /** A worker that fails with no batch to blame (say, while starting); unheard, it would stop the process. */
  readonly onError: (error: Error) => void;
}

export class PiscinaTransport implements Transport {
  readonly size: number;
  private readonly pool: Piscina<ComputeBatch, (ComputeOutcome | null)[]>;
  private closing = false;
  private replacedCount = 0;

  constructor({ workers, workerFile, workerData, workerMemoryMb, onError }: ThreadSettings) {
    this.size = workers;
    this.pool = new Piscina<ComputeBatch, (ComputeOutcome | null)[]>({
      filename: workerFile,
      minThreads: workers,
      maxThreads: workers,
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: workerMemoryMb, maxYoungGenerationSizeMb: Math.min(64, workerMemoryMb / 4) },
    });
    this.pool.on('error', onError);
    this.pool.on('workerDestroy', () => {
      if (!this.closing) this.replacedCount++;
    });
  }

  /** Worker threads running now (fewer than `size` while a replacement starts). */
  get alive(): number {
    return this.pool.threads.length;
  }

  /** Workers stopped or dead, and so replaced, since the pool started. */
  get replaced(): number {
    return this.replacedCount;
  }

  run(items: readonly ComputeItem[], onProgress?: (message: ProgressMessage) => void): RunningBatch {
    const stop = new StopSignal();
    if (onProgress === undefined) {
      return { outcomes: this.pool.run({ items }, { signal: stop, transferList: [] }), stop: () => stop.abort() };
    }
    // Progress travels on a channel of its own, made only for streams.
    const progress = new MessageChannel();
    const closed = new Promise<void>((resolve) => progress.port1.on('message', (message: ProgressMessage | null) => (message === null ? resolve() : onProgress(message))));
    const outcomes = this.pool
      .run({ items, progress: progress.port2 }, { signal: stop, transferList: [progress.port2] })
      .then(async (outcomes) => {
        // The worker ends its progress messages with null: every one is passed on before the result.
        await closed;
        return outcomes;
      })
      .finally(() => progress.port1.close());
    return { outcomes, stop: () => stop.abort() };
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.pool.destroy();
  }
}
