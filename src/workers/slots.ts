/**
 * Start and cancel signals between the pool and its workers, through memory they share: one
 * Int32 per task in flight, so that no message is needed to say a task started or to stop it.
 *
 * A slot holds `tag | phase`. The pool gives the slot a new tag each time it hands it to a task,
 * and every change is a compare-and-swap on the full value, so a worker that is being stopped
 * cannot touch a slot that has since gone to another task. The worker claims a task
 * (QUEUED → STARTED) and ends it (STARTED or CANCELLED → DONE); the pool withdraws a task that
 * has not started (QUEUED → DONE: the worker skips it) or cancels a running one
 * (STARTED → CANCELLED: the worker's deadline checks see it and stop).
 */
export const QUEUED = 0;
export const STARTED = 1;
export const CANCELLED = 2;
export const DONE = 3;

const PHASES = 4;
/** Tags stay below 2^30: an Int32 holds tag and phase. */
const GENERATIONS = 1 << 28;

export type Slots = Int32Array;

/** The phase of the task holding `tag` in `slot`. */
export const phaseOf = (slots: Slots, slot: number, tag: number): number => Atomics.load(slots, slot) - tag;

const move = (slots: Slots, slot: number, tag: number, from: number, to: number): boolean =>
  Atomics.compareExchange(slots, slot, tag + from, tag + to) === tag + from;

/** The worker starts the task unless the pool withdrew it. */
export const claim = (slots: Slots, slot: number, tag: number): boolean => move(slots, slot, tag, QUEUED, STARTED);

export const isCancelled = (slots: Slots, slot: number, tag: number): boolean => Atomics.load(slots, slot) === tag + CANCELLED;

/** The worker has finished the task, cancelled or not. */
export function finish(slots: Slots, slot: number, tag: number): void {
  if (!move(slots, slot, tag, STARTED, DONE)) move(slots, slot, tag, CANCELLED, DONE);
}

/** The pool takes back a task no worker has started; false when one has. */
export const withdraw = (slots: Slots, slot: number, tag: number): boolean => move(slots, slot, tag, QUEUED, DONE);

/** The pool asks a running task to stop; false when it is not running. */
export const cancel = (slots: Slots, slot: number, tag: number): boolean => move(slots, slot, tag, STARTED, CANCELLED);

/** Slots to hand out, each time under a new tag. */
export class SlotAllocator {
  readonly slots: Slots;
  private readonly free: number[];
  private readonly generations: Int32Array;

  constructor(count: number) {
    this.slots = new Int32Array(new SharedArrayBuffer(count * Int32Array.BYTES_PER_ELEMENT));
    this.generations = new Int32Array(count);
    this.free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  get available(): number {
    return this.free.length;
  }

  /** A free slot, QUEUED under a fresh tag; call only when `available` > 0. */
  take(): { slot: number; tag: number } {
    const slot = this.free.pop()!;
    const generation = (this.generations[slot] + 1) % GENERATIONS;
    this.generations[slot] = generation;
    const tag = generation * PHASES;
    Atomics.store(this.slots, slot, tag + QUEUED);
    return { slot, tag };
  }

  release(slot: number): void {
    this.free.push(slot);
  }
}
