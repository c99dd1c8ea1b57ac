/**
 * Where tensors' elements live. A fresh `Float64Array` of a thousand elements costs about a
 * microsecond (a new zeroed buffer), a view on an existing buffer a few tens of nanoseconds, so
 * mid-sized tensors are carved out of chunks. Tiny arrays live on V8's heap anyway and large
 * ones get a buffer of their own.
 *
 * Without a pool, chunks are never reused and are freed by the garbage collector once no tensor
 * views them. With a `StoragePool`, the owner of an evaluation (a worker answering requests)
 * calls `release()` when it is done with every tensor the evaluation made, and the chunks
 * serve the next evaluation, warm in cache.
 */

/** Tensor storage sizes, in elements. */
const SMALL_TENSOR = 8;
const LARGE_TENSOR = 1 << 16;
const MIN_CHUNK = 1 << 12;
const MAX_CHUNK = 1 << 18;
/** Pooled chunks all have this size, so that any of them serves any request. */
const POOLED_CHUNK = 1 << 17;

/** Chunks handed back by finished evaluations; at most `capacity` of them are kept. */
export class StoragePool {
  private readonly free: ArrayBuffer[] = [];
  readonly capacity: number;

  constructor(capacity = 16) {
    this.capacity = capacity;
  }

  take(): ArrayBuffer | null {
    return this.free.pop() ?? null;
  }

  give(chunks: readonly ArrayBuffer[]): void {
    for (const c of chunks) if (this.free.length < this.capacity) this.free.push(c);
  }
}

export class TensorStorage {
  private readonly pool: StoragePool | null;
  private chunk: ArrayBuffer | null = null;
  /** Whether the current chunk came from the pool (and so holds old values). */
  private reused = false;
  private used = 0;
  private size = 0;
  private readonly taken: ArrayBuffer[] = [];

  constructor(pool: StoragePool | null = null) {
    this.pool = pool;
  }

  /** A zero-filled array of `size` elements. */
  allocate(size: number): Float64Array {
    if (size <= SMALL_TENSOR || size > LARGE_TENSOR) return new Float64Array(size);
    if (this.chunk === null || this.used + size > this.size) this.nextChunk(size);
    const view = new Float64Array(this.chunk!, this.used * 8, size);
    if (this.reused) view.fill(0);
    this.used += size;
    return view;
  }

  private nextChunk(size: number): void {
    const pooled = this.pool?.take() ?? null;
    if (this.pool !== null) {
      this.chunk = pooled ?? new ArrayBuffer(POOLED_CHUNK * 8);
      this.size = POOLED_CHUNK;
      this.reused = pooled !== null;
      this.taken.push(this.chunk);
    } else {
      this.size = Math.min(MAX_CHUNK, Math.max(this.size * 2, MIN_CHUNK, size));
      this.chunk = new ArrayBuffer(this.size * 8);
      this.reused = false;
    }
    this.used = 0;
  }

  /**
   * Hands this evaluation's chunks back to the pool. Every tensor allocated here must be dead:
   * its elements will be overwritten by the next evaluation.
   */
  release(): void {
    if (this.pool === null) return;
    this.pool.give(this.taken);
    this.taken.length = 0;
    this.chunk = null;
    this.used = 0;
  }
}
