/**
 * The engine's core: values, traces and primitives.
 *
 * A value is a concrete `Tensor` or a `Tracer` that some transformation (forward mode, the
 * reverse-mode tape, the compiler) has wrapped around one. Every operation is a primitive
 * applied with `bind`: it goes to the innermost transformation among its arguments (the trace
 * with the highest level), which handles it in terms of its arguments' primals and binds again
 * one level down; with no tracer left, the primitive's kernel runs. Nesting transformations
 * therefore composes them (forward-over-reverse Hessians, gradients of gradients) with no code
 * of its own, as in JAX's `core.py`.
 */
import { EngineError } from './errors.js';
import { ENGINE_MAX_TENSOR_SIZE, Tensor, allocationSize, type Shape } from './tensor.js';
import { TensorStorage } from './storage.js';
import type { RandomSource } from './random.js';

export type Value = Tensor | Tracer;

/** A transformation in progress. Levels grow with nesting: an inner trace has a higher level. */
export interface Trace {
  readonly level: number;
  process(prim: Primitive<unknown>, args: readonly Value[], params: unknown): Value;
}

export abstract class Tracer {
  abstract readonly trace: Trace;
  /** The value one level down. */
  abstract readonly primal: Value;
  readonly shape: Shape;

  protected constructor(shape: Shape) {
    this.shape = shape;
  }
}

/** Budgets for one evaluation. Every field is optional; a missing one is unlimited. */
export interface Limits {
  /** Primitive operations executed. */
  maxOperations?: number;
  /** Tensor elements allocated in all, and in any one tensor. */
  maxElements?: number;
  /** Absolute time, on the context's clock (milliseconds), after which evaluation stops. */
  deadline?: number;
}

const DEADLINE_CHECK_EVERY = 64;

/**
 * Work, in element operations (a multiply-add, an element read or written), between two readings
 * of the clock inside long kernels: about a millisecond, so a kernel of any size stops within
 * a few milliseconds of its deadline while the clock costs nothing measurable.
 */
export const WORK_PER_DEADLINE_CHECK = 1 << 20;

const defaultClock = (): number => performance.now();

/**
 * The storage of contexts given none (see the constructor). Its chunks are never handed out
 * twice, so evaluations sharing it never see each other's tensors.
 */
const sharedStorage = new TensorStorage();

/**
 * The explicit context of one evaluation: its budgets and its counters. Nothing an evaluation
 * computes is global, so concurrent evaluations never see each other.
 */
export class Context {
  readonly limits: Readonly<Limits>;
  readonly clock: () => number;
  /** Primitive kernels run so far. */
  operations = 0;
  /** Tensor elements allocated so far. */
  elements = 0;
  /** Where random draws come from; null where the evaluation was given no seed to draw with. */
  random: RandomSource | null = null;
  private level = 0;
  /** Work done since the clock was last read (see `work`). */
  private pendingWork = 0;
  private readonly maxOperations: number;
  private readonly maxElements: number;
  private readonly deadline: number;

  private readonly storage: TensorStorage;

  /**
   * `storage`: where tensors' elements live; a `ReusableStorage` for evaluations that keep nothing
   * between runs. By default every context of the thread carves its tensors out of the same
   * chunks: a small evaluation then costs a few views, not a fresh zeroed buffer of its own.
   */
  constructor(limits: Limits = {}, clock: () => number = defaultClock, storage: TensorStorage = sharedStorage) {
    this.storage = storage;
    this.limits = limits;
    this.clock = clock;
    this.maxOperations = limits.maxOperations ?? Infinity;
    this.maxElements = limits.maxElements ?? Infinity;
    this.deadline = limits.deadline ?? Infinity;
  }

  /** A fresh level for a transformation that starts now (nested inside every open one). */
  nextLevel(): number {
    return ++this.level;
  }

  /** Counts one primitive kernel against the operation and time budgets. */
  countOperation(op: string): void {
    const n = ++this.operations;
    if (n > this.maxOperations) {
      throw new EngineError('LIMIT_EXCEEDED', `operation limit exceeded: more than ${this.maxOperations} operations (at ${op})`, {
        op,
        limit: 'operations',
      });
    }
    if (n % DEADLINE_CHECK_EVERY === 0) this.checkDeadline(op);
  }

  /**
   * Throws LIMIT_EXCEEDED (time) past the deadline. A clock that reads Infinity is past every
   * deadline, an infinite one included: that is how a worker cancels an evaluation, and the
   * deadline itself may have been worked out from a clock already cancelled (Infinity).
   */
  checkDeadline(op: string): void {
    const now = this.clock();
    if (now > this.deadline || now === Infinity) {
      throw new EngineError('LIMIT_EXCEEDED', `time limit exceeded (at ${op})`, { op, limit: 'time' });
    }
  }

  /**
   * Counts `amount` element operations of a kernel and checks the deadline once a million or so
   * have been done since the last check. Long kernels (products, factorisations, reductions of
   * large tensors) call it as they go, a row or a block at a time, so that no single kernel runs
   * past the deadline, however few operations the program counts.
   */
  work(op: string, amount: number): void {
    this.pendingWork += amount;
    if (this.pendingWork >= WORK_PER_DEADLINE_CHECK) {
      this.pendingWork = 0;
      this.checkDeadline(op);
    }
  }

  /** Charges `size` elements against the memory budget (and as work: they will be written); call before allocating. */
  charge(op: string, size: number): void {
    if (!(size <= ENGINE_MAX_TENSOR_SIZE)) {
      throw new EngineError('LIMIT_EXCEEDED', `memory limit exceeded: ${op} would allocate ${size} elements, more than ${ENGINE_MAX_TENSOR_SIZE} in one tensor`, {
        op,
        limit: 'memory',
      });
    }
    this.work(op, size);
    this.elements += size;
    if (this.elements > this.maxElements || size > this.maxElements) {
      throw new EngineError('LIMIT_EXCEEDED', `memory limit exceeded: more than ${this.maxElements} tensor elements (at ${op})`, {
        op,
        limit: 'memory',
      });
    }
  }

  /** A new scalar tensor for a kernel's output, charged to the budget. */
  scalar(op: string, value: number): Tensor {
    this.charge(op, 1);
    return Tensor.scalar(value);
  }

  /** A new zero-filled tensor for a kernel's output, charged to the budget. */
  alloc(op: string, shape: Shape): Tensor {
    return this.allocate(op, shape, true);
  }

  /** A new tensor for a kernel that writes every element: not necessarily zero-filled, so reused memory need not be cleared first. */
  allocForWriting(op: string, shape: Shape): Tensor {
    return this.allocate(op, shape, false);
  }

  private allocate(op: string, shape: Shape, zeroed: boolean): Tensor {
    const size = allocationSize(op, shape);
    this.charge(op, size);
    return new Tensor(shape, this.storage.allocate(size, zeroed));
  }

  /** Working memory for a kernel, charged to the budget; its contents are unspecified (reused memory is not cleared). */
  scratch(op: string, size: number): Float64Array {
    this.charge(op, size);
    return this.storage.allocate(size, false);
  }

}

/**
 * A differentiable primitive: its kernel and its forward (JVP) and reverse (VJP) rules, defined
 * together. Rules are written with engine operations, so they are differentiable again.
 * `null` stands for a zero tangent or cotangent, which costs nothing.
 */
export interface Primitive<P> {
  readonly name: string;
  /** The number of tensor arguments, for primitives that take a fixed number. */
  readonly arity?: number;
  /** The kernel, on concrete tensors. */
  impl(cx: Context, inputs: readonly Tensor[], params: P): Tensor;
  /** The output's tangent given the inputs' tangents (null: zero, and not all null). */
  jvp(cx: Context, primals: readonly Value[], tangents: readonly (Value | null)[], out: Value, params: P): Value | null;
  /** The inputs' cotangents given the output's; `needs[i]` is false where nobody wants input i's. */
  vjp(cx: Context, cotangent: Value, primals: readonly Value[], out: Value, params: P, needs: readonly boolean[]): (Value | null)[];
  /** For element-wise scalar primitives: the JavaScript expression of one element, over argument expressions. */
  readonly scalarSource?: (args: readonly string[], params: P) => string;
  /**
   * Kept out of a plan's fused loops (plan.ts), which inline `scalarSource`: its kernel must name
   * the element that fails (a check).
   */
  readonly unfused?: true;
  /** Code the compiler derives from this primitive's rules, filled in on first use. */
  readonly compiled: CompiledRules;
}

/**
 * A primitive's VJP on plain numbers: `run(g, a, b, c, y, partials)` writes the cotangent of each
 * argument for the output cotangent g, given the arguments and the output y. `flows[k]` is false
 * where the rule gives argument k no cotangent at all (null: stop_gradient, a comparison's
 * arguments): nothing reaches it, not even a zero, which an infinite derivative further back
 * would turn into NaN.
 */
export interface ScalarVjp {
  readonly run: (g: number, a: number, b: number, c: number, y: number, partials: Float64Array) => void;
  readonly flows: readonly boolean[];
}

/** A unary primitive's VJP over whole arrays: `out[i]` is the cotangent of `a[i]` for `g[i]`, given y = f(a). */
export type TensorVjp = (g: Float64Array, a: Float64Array, y: Float64Array, out: Float64Array) => void;

/**
 * The code compiled from a primitive's VJP rule (by `scalarVjpOf` and `tensorVjpOf` in
 * codegen.ts), kept on the primitive: undefined until first asked for, null where the rule
 * cannot be compiled. Declared here so that a primitive depends on no compiler.
 */
export interface CompiledRules {
  scalarVjp?: ScalarVjp | null;
  tensorVjp?: TensorVjp | null;
}

const registry = new Map<string, Primitive<unknown>>();

/** Registers a primitive under its name; a second registration of a name throws. */
export function definePrimitive<P>(definition: Omit<Primitive<P>, 'compiled'>): Primitive<P> {
  if (registry.has(definition.name)) throw new Error(`primitive ${definition.name} is defined twice`);
  const prim: Primitive<P> = { ...definition, compiled: {} };
  registry.set(prim.name, prim as Primitive<unknown>);
  return prim;
}

export function primitives(): ReadonlyMap<string, Primitive<unknown>> {
  return registry;
}

/** Applies a primitive: to the innermost transformation among the arguments, else to the kernel. */
export function bind<P>(cx: Context, prim: Primitive<P>, args: readonly Value[], params: P): Value {
  let top: Trace | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof Tracer && (top === null || a.trace.level > top.level)) top = a.trace;
  }
  if (top === null) {
    cx.countOperation(prim.name);
    return prim.impl(cx, args as readonly Tensor[], params);
  }
  return top.process(prim as Primitive<unknown>, args, params);
}

/** The concrete tensor under any number of tracers. */
export function concrete(v: Value): Tensor {
  let x: Value = v;
  while (x instanceof Tracer) x = x.primal;
  return x;
}
