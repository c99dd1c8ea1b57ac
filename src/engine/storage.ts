/**
 * Where tensors' elements live. A fresh `Float64Array` of a thousand elements costs about a
 * microsecond (a new zeroed buffer), a view on an existing buffer a few tens of nanoseconds, so
 * mid-sized tensors are carved out of chunks that are never reused: a chunk is freed by the
 * garbage collector once no tensor views it. Tiny arrays live on V8's heap anyway and large
 * ones get a buffer of their own.
 */

/** Tensor storage sizes, in elements. */
const SMALL_TENSOR = 8;
const LARGE_TENSOR = 1 << 16;
const MIN_CHUNK = 1 << 12;
const MAX_CHUNK = 1 << 18;
/** Every empty array: it has no element anyone could write, and making one costs as much as a small one. */
const EMPTY = new Float64Array(0);

export class TensorStorage {
  private chunk: ArrayBuffer | null = null;
  private used = 0;
  private size = 0;

  /** A zero-filled array of `size` elements (`zeroed` false: any contents, for a kernel that writes them all). */
  allocate(size: number, _zeroed = true): Float64Array {
    if (size === 0) return EMPTY;
    if (size <= SMALL_TENSOR || size > LARGE_TENSOR) return new Float64Array(size);
    if (this.chunk === null || this.used + size > this.size) {
      this.size = Math.min(MAX_CHUNK, Math.max(this.size * 2, MIN_CHUNK, size));
      this.chunk = new ArrayBuffer(this.size * 8);
      this.used = 0;
    }
    const view = new Float64Array(this.chunk, this.used * 8, size);
    this.used += size;
    return view;
  }
}

/**
 * Storage for evaluations that run again and again and keep nothing from one run to the next
 * (an optimisation's steps): one buffer, handed out again after `reset`, so that a loop of a
 * thousand steps does not feed the garbage collector a thousand steps' tensors. Whoever resets
 * it promises that no tensor of the runs before is used again.
 */
export class ReusableStorage extends TensorStorage {
  private buffer = new Float64Array(1 << 12);
  private offset = 0;

  override allocate(size: number, zeroed = true): Float64Array {
    if (size === 0) return EMPTY;
    if (size <= SMALL_TENSOR) return new Float64Array(size);
    if (this.offset + size > this.buffer.length) {
      // Grow for the next run; this run's earlier tensors keep the old buffer alive meanwhile.
      this.buffer = new Float64Array(Math.max(2 * this.buffer.length, this.offset + size));
      this.offset = 0;
    }
    // A view made by the constructor: subarray() asks for the species constructor each time, and is slower.
    const view = new Float64Array(this.buffer.buffer, 8 * this.offset, size);
    this.offset += size;
    if (zeroed) view.fill(0);
    return view;
  }

  /** Elements of the buffer handed out again after a reset. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Every tensor allocated so far is dead: their memory is handed out again. */
  reset(): void {
    this.offset = 0;
  }
}
