/**
 * The program cache: parsed programs, compiled gradients and plans, by program text, since the
 * same program comes again and again. It is bounded by an estimate of the memory its entries
 * keep, not by their number alone: a parsed program keeps a hundred or more bytes per character
 * of its text, so 512 programs of 100 KB each once kept 10 GB.
 */
import { ReusableStorage, SOURCE_BYTES_PER_CHAR, sameShape, type CompiledGradient, type GradientPlan, type Tensor } from '../engine/index.js';
import type { Program } from '../lang/ir.js';

/** What one program cache may keep, by estimate, in bytes: a worker's cache, beside its 512 MB heap limit by default. */
export const PROGRAM_CACHE_BYTES = 64 * 2 ** 20;

/** Entries kept at most, whatever their size. */
const PROGRAM_CACHE_ENTRIES = 1024;

/**
 * Bytes a parsed program keeps per character of its text (its IR, the closures the interpreter
 * compiles it to, their locations). Measured: about 100 for typical programs, up to 256 for the
 * densest (a statement of one character per line, a literal of one-digit numbers).
 */
const PROGRAM_BYTES_PER_CHAR = 256;

/** Bytes an entry keeps besides its key and value (the map's entry and its record), roughly. */
const ENTRY_BYTES = 128;

/**
 * The most tensor elements a cached plan may keep (2 MB): a larger one is made for the request
 * and not kept.
 */
export const MAX_CACHED_PLAN_ELEMENTS = 1 << 18;

interface Entry {
  value: unknown;
  bytes: number;
  /** Asked for (or made) since the last eviction passed it: its second chance. */
  used: boolean;
}

/**
 * A map bounded by the estimated bytes of its entries and by their number, which evicts the
 * least recently used entries, nearly: by second chance (the CLOCK algorithm). A Map keeps
 * insertion order; a hit only marks its entry used, and eviction takes entries from the oldest,
 * moving a used one to the newest end (unmarked) instead of dropping it. Re-inserting every hit
 * at the end, as an exact LRU does, cost a tenth of a small request (0.35 of 3 µs): a delete and
 * a set on every lookup, and the rehashing of a table full of deleted entries.
 */
class BoundedLru {
  private readonly entries = new Map<string, Entry>();
  private total = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxEntries: number,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The value under `key`, now marked used; undefined when absent. */
  get(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  /**
   * Keeps `value` under `key` as the newest entry, unmarked, and evicts past the bounds, never
   * the newcomer (were every older entry used, the sweep would reach it first). An entry larger
   * than the whole bound is not kept.
   */
  set(key: string, value: unknown, valueBytes: number): void {
    this.delete(key);
    // Keys are the program text, held as UTF-16 in the worst case.
    const bytes = ENTRY_BYTES + 2 * key.length + valueBytes;
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes, used: false });
    this.total += bytes;
    while (this.total > this.maxBytes || this.entries.size > this.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value!;
      if (entry.used || (oldest === key && this.entries.size > 1)) {
        // Its second chance: to the newest end, unmarked. Every entry is passed at most once before one is dropped.
        entry.used = false;
        this.entries.delete(oldest);
        this.entries.set(oldest, entry);
      } else {
        this.delete(oldest);
      }
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }
}

interface PlanEntry {
  seen: number;
  plan: GradientPlan | null;
}

interface DataPlanEntry {
  data: ReadonlyMap<string, Tensor>;
  plan: GradientPlan;
}

/**
 * A key of the cache's map for a compiled gradient or a plan: the kind and the caller's key, made
 * by `ProgramCache.key`. A caller that keeps one and passes it again spares the map building the
 * string and hashing it again (V8 keeps a string's hash), as fast-paths.ts does.
 */
export type CacheKey = string & { readonly cacheKey: unique symbol };

/**
 * Parsed programs and compiled gradients, by program text: the same program comes again and
 * again. One LRU over every kind of entry, bounded by `maxBytes` (estimated) and by
 * `maxEntries`.
 */
export class ProgramCache {
  private readonly lru: BoundedLru;
  private scratch = new ReusableStorage();

  constructor(maxBytes = PROGRAM_CACHE_BYTES, maxEntries = PROGRAM_CACHE_ENTRIES) {
    this.lru = new BoundedLru(maxBytes, maxEntries);
  }

  /** The estimated bytes the cache keeps now: never more than its bound. */
  get estimatedBytes(): number {
    return this.lru.bytes;
  }

  get maxBytes(): number {
    return this.lru.maxBytes;
  }

  /** Entries kept now. */
  get size(): number {
    return this.lru.size;
  }

  program(key: string, make: () => Program): Program {
    return this.remember(`program\u0000${key}`, make, () => PROGRAM_BYTES_PER_CHAR * key.length);
  }

  /** The map's key for `kind`'s entry under `key`: each kind has keys of its own. */
  static key(kind: 'gradient' | 'plan', key: string): CacheKey {
    return `${kind}\u0000${key}` as CacheKey;
  }

  /** A compiled gradient, under `ProgramCache.key('gradient', ...)`; null (not compilable) is remembered too. */
  gradient(at: CacheKey, make: () => CompiledGradient | null): CompiledGradient | null {
    return this.remember(at, make, (compiled) => (compiled === null ? 0 : SOURCE_BYTES_PER_CHAR * compiled.source.length));
  }

  /**
   * A tensor program's plan (engine/plan.ts), made the second time the program comes with
   * inputs of the same shapes: compiling costs about two evaluations, so a program seen once
   * is not worth it. Null: not yet, or not compilable. `at`: `ProgramCache.key('plan', ...)`.
   */
  plan(at: CacheKey, make: () => GradientPlan | null): GradientPlan | null {
    const entry = this.remember<PlanEntry>(at, () => ({ seen: 0, plan: null }), () => 0);
    if (++entry.seen === 2) {
      entry.plan = make();
      // Counted again now that it holds a plan (the plan's own bound is the caller's).
      if (entry.plan !== null && this.lru.has(at)) this.lru.set(at, entry, entry.plan.estimatedBytes);
    }
    return entry.plan;
  }

  /**
   * Memory for one plan run at a time, reset here: a run's intermediates are dead once its
   * answer is copied out, so requests need not feed the garbage collector their tensors. Runs
   * are synchronous, so one storage serves the whole cache; one that grew past what a cached
   * plan may keep is dropped after its run (`releaseScratch`).
   */
  scratchForRun(): ReusableStorage {
    this.scratch.reset();
    return this.scratch;
  }

  /** After a run on `scratchForRun()`'s storage: a storage grown past MAX_CACHED_PLAN_ELEMENTS is not kept. */
  releaseScratch(): void {
    if (this.scratch.capacity > MAX_CACHED_PLAN_ELEMENTS) this.scratch = new ReusableStorage();
  }

  /**
   * A plan made the first time it is asked for (`optimize` runs many steps on it, so it pays at
   * once), kept by key; null (not compilable) is remembered too.
   */
  planAtOnce(key: string, make: () => GradientPlan | null): GradientPlan | null {
    return this.remember(`planAtOnce\u0000${key}`, make, (plan) => (plan === null ? 0 : plan.estimatedBytes));
  }

  /**
   * The plan of a program whose data are baked into it as constants (`optimize`'s loss, with
   * `at` held fixed, where a plan cannot read them as inputs: the program reads a value of its
   * data, a loop's bound say), kept for the next request with the same program, shapes and data, element
   * for element: an autograder or a course page runs the same exercise again and again, with
   * other settings. A plan that cannot be made is not remembered.
   */
  planWithData(key: string, data: ReadonlyMap<string, Tensor>, make: () => GradientPlan | null): GradientPlan | null {
    const at = `dataPlan\u0000${key}`;
    const entry = this.lru.get(at) as DataPlanEntry | undefined;
    if (entry !== undefined && sameData(entry.data, data)) return entry.plan;
    const plan = make();
    // The entry keeps the data too, to compare: both count against the bound on what a plan keeps.
    let kept = plan === null ? 0 : plan.constantElements;
    for (const x of data.values()) kept += x.size;
    if (plan === null || kept > MAX_CACHED_PLAN_ELEMENTS) return plan;
    let dataBytes = 0;
    for (const x of data.values()) dataBytes += 8 * x.size;
    this.lru.set(at, { data, plan }, plan.estimatedBytes + dataBytes);
    return plan;
  }

  private remember<T>(key: string, make: () => T, bytes: (value: T) => number): T {
    // Entries are never undefined (a plan that cannot be made is null): one lookup for a hit.
    const known = this.lru.get(key);
    if (known !== undefined) return known as T;
    const value = make();
    this.lru.set(key, value, bytes(value));
    return value;
  }
}

/** The same names in the same order, each the same shape and the same numbers (-0 is not 0; NaN is NaN). */
function sameData(a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>): boolean {
  if (a.size !== b.size) return false;
  const bs = [...b];
  let k = 0;
  for (const [name, x] of a) {
    const [otherName, y] = bs[k++];
    if (name !== otherName || !sameShape(x.shape, y.shape)) return false;
    const xd = x.data;
    const yd = y.data;
    for (let i = 0; i < xd.length; i++) if (!Object.is(xd[i], yd[i])) return false;
  }
  return true;
}
