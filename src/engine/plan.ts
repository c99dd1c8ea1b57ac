/**
 * The tensor compiler: a function of tensors without data-dependent control flow is traced
 * once, at its inputs' shapes, into a plan: the primitive applications that compute its value
 * and gradient, the backward pass's VJP rules unrolled into primitives just like the forward
 * pass. Running the plan again skips everything the general engine pays per operation
 * (tracers, the tape, the rules' bookkeeping, broadcasting logic), and each chain of
 * element-wise primitives whose intermediates nobody else reads becomes one generated loop,
 * built from the primitives' own `scalarSource` as compile.ts builds scalar code (a broadcast
 * is a reading of its operand; a sum that alone reads the chain's result is added up in the same
 * loop, in sumTo's order); a product of two matrices that such a loop reads element for element
 * hands it each element from its registers (a layer's bias and activation after its product).
 * A small network's training step is then a few matrix products and a few passes over memory.
 * A computation written twice (`exp(x)` in both halves of a fraction) is traced as one step.
 *
 * Tracing runs the primitives on real values, but a value computed from the inputs is never
 * handed to the program: reading one (a branch, an index, a label computed from the inputs)
 * throws `NotCompilable`, as does a random draw, and the caller keeps the general engine.
 * Inputs held fixed (data, labels) are inputs of the plan like the differentiated ones, read
 * at each run, with no gradient computed for them. Whatever depends on no input at all (a
 * literal of the program) is computed while tracing and becomes a constant of the plan. Only
 * names made here reach generated source.
 */
import { Context, Tracer, bind, type Primitive, type Trace, type Value } from './core.js';
import { grad, type Fn } from './ad.js';
import { NotCompilable } from './codegen.js';
import { ELEMENTS_PER_DEADLINE_CHECK, compileKernel } from './kernels.js';
import { broadcastOf, type Reading } from './broadcast.js';
import { productSource, productWidth } from './product.js';
import type { MatmulParams } from './ops/linalg.js';
import type { RandomSource } from './random.js';
import { Tensor, formatShape, sameShape, sizeOf, type Shape } from './tensor.js';

/** Longer plans are left to the general engine: each fused loop is a function for V8 to compile. */
const MAX_STEPS = 5000;

class PlanTracer extends Tracer {
  constructor(
    readonly trace: PlanTrace,
    /** Where the plan keeps this value: inputs first, then one slot per step. */
    readonly slot: number,
    /** The value at the inputs the plan is traced with, for the primitives run while tracing. */
    readonly value: Tensor,
  ) {
    super(value.shape);
  }

  get primal(): Value {
    throw new NotCompilable('a value computed from the inputs is read while compiling (a data-dependent branch, index or label)');
  }
}

/**
 * A step's operand: a slot (k >= 0) or a constant of the plan (k < 0: constant ~k). Numbers,
 * so that running a step is an array lookup.
 */
type Ref = number;

interface Step {
  readonly prim: Primitive<unknown>;
  readonly params: unknown;
  readonly args: readonly Ref[];
  readonly shape: Shape;
  readonly out: number;
}

class PlanTrace implements Trace {
  readonly level: number;
  readonly steps: Step[] = [];
  readonly constants: Tensor[] = [];
  private readonly constantRefs = new Map<Tensor, Ref>();
  /** Scalar constants by value (`numberKey`): the literal 2 written twice is one constant. */
  private readonly scalarRefs = new Map<string, Ref>();
  /** Each step by what it computes (`stepKey`): the same primitive of the same operands is one step. */
  private readonly computed = new Map<string, PlanTracer>();

  constructor(
    private readonly cx: Context,
    readonly arity: number,
  ) {
    this.level = cx.nextLevel();
  }

  ref(v: Value): Ref {
    if (v instanceof PlanTracer && v.trace === this) return v.slot;
    if (!(v instanceof Tensor)) throw new NotCompilable('a value of another transformation');
    let ref = this.constantRefs.get(v);
    if (ref === undefined) {
      const scalar = v.shape.length === 0 ? numberKey(v.data[0]) : null;
      ref = scalar === null ? undefined : this.scalarRefs.get(scalar);
      if (ref === undefined) {
        ref = ~this.constants.length;
        this.constants.push(v);
        if (scalar !== null) this.scalarRefs.set(scalar, ref);
      }
      this.constantRefs.set(v, ref);
    }
    return ref;
  }

  /**
   * A step computing what an earlier one computes (the same primitive, parameters and operands:
   * `exp(x)` written twice, `A - U * V'` in both factors of a square) is that step: primitives
   * are functions of their operands, so its numbers are the same. Only the computation is shared;
   * the gradient's steps stay as the engine's rules make them, each cotangent its own sum, so
   * the plan still gives the engine's bits.
   */
  process(prim: Primitive<unknown>, args: readonly Value[], params: unknown): Value {
    if (this.steps.length >= MAX_STEPS) throw new NotCompilable(`more than ${MAX_STEPS} operations`);
    const refs = args.map((a) => this.ref(a));
    const key = stepKey(prim, refs, params);
    const known = key === null ? undefined : this.computed.get(key);
    if (known !== undefined) return known;
    const values = args.map((a) => (a instanceof PlanTracer ? a.value : (a as Tensor)));
    const out = bind(this.cx, prim, values, params) as Tensor;
    const slot = this.arity + this.steps.length;
    this.steps.push({ prim, params, args: refs, shape: out.shape, out: slot });
    const tracer = new PlanTracer(this, slot, out);
    if (key !== null) this.computed.set(key, tracer);
    return tracer;
  }
}

/** A number as a key: its value, -0 apart from 0. */
function numberKey(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/**
 * What a step computes, as a key: its primitive, its operands and its parameters; null where the
 * parameters are not plain data (numbers, strings, booleans, and arrays and records of them, a
 * few levels deep), whose equality a key cannot tell: such a step is never shared.
 */
function stepKey(prim: Primitive<unknown>, refs: readonly Ref[], params: unknown): string | null {
  const data = (v: unknown, depth: number): string | null => {
    if (v === undefined) return 'u';
    if (v === null) return 'n';
    if (typeof v === 'number') return numberKey(v);
    if (typeof v === 'boolean') return v ? 't' : 'f';
    if (typeof v === 'string') return JSON.stringify(v);
    if (depth === 0 || typeof v !== 'object') return null;
    if (Array.isArray(v)) {
      const items = v.map((x) => data(x, depth - 1));
      return items.includes(null) ? null : `[${items.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return null;
    const entries = Object.keys(v)
      .sort()
      .map((k) => {
        const item = data((v as Record<string, unknown>)[k], depth - 1);
        return item === null ? null : `${JSON.stringify(k)}:${item}`;
      });
    return entries.includes(null) ? null : `{${entries.join(',')}}`;
  };
  const p = data(params, 3);
  return p === null ? null : `${prim.name}(${refs.join(',')})${p}`;
}

/** Draws would be baked into the plan as constants: a function that draws is not compiled. */
const refusingRandom: RandomSource = {
  draws: 0,
  uniform: () => {
    throw new NotCompilable('a random draw');
  },
  normal: () => {
    throw new NotCompilable('a random draw');
  },
  draw: () => {
    throw new NotCompilable('a random draw');
  },
  restart: () => {},
};

/**
 * How a fused loop over rows × cols (cols: the output's last axis) reads an operand: `same`
 * (element i), `scalar`, `suffix` of the last axis alone (one element per column, a bias: [j]),
 * `prefix` of all but the last axis (one per row, a row-wise sum kept as a column: [r]); null
 * for other broadcasts, which are not fused.
 */
function readingIn(operand: Shape, out: Shape): Reading | null {
  const { reading, axis } = broadcastOf(operand, out);
  if (reading === 'same' || reading === 'scalar') return reading;
  if ((reading === 'suffix' || reading === 'prefix') && axis === out.length - 1) return reading;
  return null;
}

/** Computes rows `from` to `rows` - 1 of the output. */
type FusedKernel = (operands: readonly Float64Array[], out: Float64Array, rows: number, cols: number, from: number, stored: Float64Array | null) => void;
/**
 * A product A·B whose elements go through a fused loop's body (`stored`: the product itself too,
 * for its other readers); `cx.work(op, amount)` counts multiply-adds against the deadline.
 */
type ProductKernel = (operands: readonly Float64Array[], out: Float64Array, a: Float64Array, b: Float64Array, stored: Float64Array, cx: Context, op: string) => void;

/** Generated kernels by parameters and source: the same program compiled again (another request) reuses them. */
const kernels = new Map<string, unknown>();
const MAX_KERNELS = 1000;
/**
 * The most characters of generated source the kernels kept may have in all (each also costs
 * V8's bytecode and machine code, a few times its source): a plan's fused loop may be long.
 */
const MAX_KERNEL_SOURCE = 1 << 22;
let kernelSource = 0;

function generated<K>(params: readonly string[], body: string): K {
  const key = `${params.join(',')}\n${body}`;
  let kernel = kernels.get(key) as K | undefined;
  if (kernel === undefined) {
    kernel = compileKernel<K>(params, body);
    kernels.set(key, kernel);
    kernelSource += key.length;
    while (kernels.size > MAX_KERNELS || (kernelSource > MAX_KERNEL_SOURCE && kernels.size > 1)) {
      const oldest = kernels.keys().next().value!;
      kernels.delete(oldest);
      kernelSource -= oldest.length;
    }
  }
  return kernel;
}

/**
 * What a run executes: a primitive's kernel, a fused loop of element-wise primitives, or a
 * matrix product whose elements a fused loop takes straight from the product's registers.
 */
type Instruction =
  | { readonly kind: 'prim'; readonly prim: Primitive<unknown>; readonly params: unknown; readonly args: readonly Ref[]; readonly out: number }
  | {
      readonly kind: 'loop';
      readonly kernel: FusedKernel;
      readonly source: string;
      readonly names: readonly string[];
      readonly args: readonly Ref[];
      /** The output's shape, and the shape the loop runs over: the same, unless it sums its elements into the output. */
      readonly shape: Shape;
      readonly domain: Shape;
      /** Whether it adds into its output (a sum fused into the loop), which then starts at zero. */
      readonly sums: boolean;
      readonly out: number;
      /** A loop that sums: its elements' own slot where others read them too (they are then stored as well), else null. */
      readonly stored: number | null;
    }
  | {
      readonly kind: 'product';
      readonly kernel: ProductKernel;
      readonly source: string;
      /** 'matmul', then the loop's primitives. */
      readonly names: readonly string[];
      /** The loop's operands other than the product; then the product's two factors. */
      readonly args: readonly Ref[];
      readonly factors: readonly [Ref, Ref];
      readonly shape: Shape;
      readonly out: number;
      /** The product's own slot where others read it too (it is then stored as well), else null. */
      readonly stored: number | null;
    };

/** Primitives worth recomputing in each loop that reads them rather than storing their result. */
const CHEAP = new Set(['add', 'sub', 'mul', 'neg']);

/**
 * The scalar expression of a step in a fused loop: an element-wise primitive's own, or for
 * `expand`, its operand as the loop reads it (a broadcast is a reading: the gradient of a sum,
 * scattered back over its input's elements, is read where it is used instead of copied out).
 */
function scalarSourceOf(prim: Primitive<unknown>): Primitive<unknown>['scalarSource'] {
  return prim.name === 'expand' ? ([x]) => x : prim.scalarSource;
}

function fusible(step: Step, shapeOf: (ref: Ref) => Shape): boolean {
  return scalarSourceOf(step.prim) !== undefined && step.prim.unfused !== true && step.args.every((a) => readingIn(shapeOf(a), step.shape) !== null);
}

/** The steps `outputs` need, in order, and how many steps read each slot (outputs: Infinity). */
function liveSteps(steps: readonly Step[], outputs: readonly Ref[]): { kept: Step[]; uses: Map<number, number> } {
  const live = new Set(outputs.filter((r) => r >= 0));
  const uses = new Map<number, number>(outputs.map((r) => [r, Infinity]));
  const kept: Step[] = [];
  for (let k = steps.length - 1; k >= 0; k--) {
    const step = steps[k];
    if (!live.has(step.out)) continue;
    kept.push(step);
    for (const a of step.args) {
      if (a < 0) continue;
      live.add(a);
      uses.set(a, (uses.get(a) ?? 0) + 1);
    }
  }
  return { kept: kept.reverse(), uses };
}

/**
 * The element-wise steps computed inside the loops that read them, never stored: read only by
 * loops of their shape, and by one of them, or by several when recomputing costs less than a
 * pass over memory (a cheap primitive of values that are stored).
 */
function inlinedSteps(kept: readonly Step[], uses: ReadonlyMap<number, number>, canFuse: ReadonlySet<number>): Set<number> {
  const readers = new Map<number, Step[]>();
  for (const step of kept) for (const a of step.args) readers.set(a, [...(readers.get(a) ?? []), step]);
  const inlined = new Set<number>();
  for (const step of kept) {
    if (!canFuse.has(step.out) || uses.get(step.out) === Infinity) continue;
    const into = readers.get(step.out) ?? [];
    if (!into.every((r) => canFuse.has(r.out) && sameShape(r.shape, step.shape))) continue;
    const cheap = CHEAP.has(step.prim.name) && step.args.every((a) => !inlined.has(a));
    if (into.length === 1 || cheap) inlined.add(step.out);
  }
  return inlined;
}

/** The body of a fused loop: its operands, their hoisted reads, one line per primitive, and the result's name. */
interface LoopParts {
  readonly operands: Ref[];
  readonly hoisted: string[];
  readonly lines: string[];
  readonly names: string[];
  readonly result: string;
}

/**
 * The lines computing `step` and, inside it, the inlined steps it reads: one line per primitive
 * (from its `scalarSource`), over operands read as `readingIn` says: element for element
 * (`a0[i]`), as one element, per column (`[j]`) or per row (`[r]`). `given` is read as the
 * local `p` rather than as an operand.
 */
function loopParts(step: Step, inlined: ReadonlySet<number>, producer: ReadonlyMap<number, Step>, shapeOf: (ref: Ref) => Shape, given: Ref | null = null): LoopParts {
  const operands: Ref[] = [];
  const lines: string[] = [];
  const names: string[] = [];
  const hoisted: string[] = [];
  const operand = (ref: Ref): string => {
    if (ref === given) return 'p';
    if (inlined.has(ref)) return expression(producer.get(ref)!);
    const reading = readingIn(shapeOf(ref), step.shape)!;
    let k = operands.indexOf(ref);
    if (k < 0) {
      k = operands.length;
      operands.push(ref);
      hoisted.push(reading === 'scalar' ? `const a${k} = operands[${k}][0];` : `const a${k} = operands[${k}];`);
    }
    return reading === 'scalar' ? `a${k}` : reading === 'same' ? `a${k}[i]` : reading === 'suffix' ? `a${k}[j]` : `a${k}[r]`;
  };
  const expression = (s: Step): string => {
    const args = s.args.map(operand);
    const name = `t${lines.length}`;
    lines.push(`const ${name} = ${scalarSourceOf(s.prim)!(args, s.params)};`);
    names.push(s.prim.name);
    return name;
  };
  const result = expression(step);
  return { operands, hoisted, lines, names, result };
}

/**
 * The loop computing `step` (see `loopParts`), or, given `sum` (a `sumTo` of step's result),
 * the loop adding each element into that sum's output: element i into [0] (all of them), [j] (a
 * column's) or [r] (a row's), in the order `sumTo`'s kernel adds them, so the sums are the same
 * to the bit, one pass over memory fewer. The elements are stored as well (into `stored`) where
 * others read them too: exp's, sigmoid's and tanh's results, which their rules read again.
 */
function loopOf(
  step: Step,
  inlined: ReadonlySet<number>,
  producer: ReadonlyMap<number, Step>,
  shapeOf: (ref: Ref) => Shape,
  sum: Step | null = null,
  keep = false,
): Instruction {
  const { operands, hoisted, lines, names, result } = loopParts(step, inlined, producer, shapeOf);
  const into = sum === null ? 'same' : readingIn(sum.shape, step.shape)!;
  const element = keep ? 'v' : result;
  // A total of every element is kept in a local between the pieces' reads and writes of out[0].
  const add = into === 'same' ? `out[i] = ${element};` : into === 'scalar' ? `total += ${element};` : `out[${into === 'suffix' ? 'j' : 'r'}] += ${element};`;
  const store = keep ? `const v = ${result}; stored[i] = v; ${add}` : add;
  const [before, after] = into === 'scalar' ? ['let total = out[0];', 'out[0] = total;'] : ['', ''];
  // Rows and columns only where an operand repeats along one of them; else one flat loop.
  const flat = ['same', 'scalar'].includes(into) && operands.every((ref) => ['same', 'scalar'].includes(readingIn(shapeOf(ref), step.shape)!));
  const body = flat
    ? `${hoisted.join('\n')}
const n = rows * cols;
${before}
for (let i = from * cols; i < n; i++) {
  ${lines.join('\n  ')}
  ${store}
}
${after}`
    : `${hoisted.join('\n')}
${before}
for (let r = from, i = from * cols; r < rows; r++) {
  for (let j = 0; j < cols; j++, i++) {
    ${lines.join('\n    ')}
    ${store}
  }
}
${after}`;
  return {
    kind: 'loop',
    kernel: generated<FusedKernel>(['operands', 'out', 'rows', 'cols', 'from', 'stored'], body),
    source: body,
    names: sum === null ? names : [...names, 'sumTo'],
    args: operands,
    shape: sum === null ? step.shape : sum.shape,
    domain: step.shape,
    sums: sum !== null,
    out: sum === null ? step.out : sum.out,
    stored: keep ? step.out : null,
  };
}

/**
 * The `sumTo` steps to fuse into the loop computing their operand, by that operand's slot:
 * those reading a loop's result summed to one element, one per column or one per row, one sum
 * per loop. `keep`: whether others read the result too (an output is read by the caller), which
 * the loop then stores as well.
 */
function fusedSums(order: readonly Step[], canFuse: ReadonlySet<number>, uses: ReadonlyMap<number, number>, shapeOf: (ref: Ref) => Shape): Map<number, { sum: Step; keep: boolean }> {
  const sums = new Map<number, { sum: Step; keep: boolean }>();
  for (const step of order) {
    if (step.prim.name !== 'sumTo') continue;
    const x = step.args[0];
    const into = readingIn(step.shape, shapeOf(x));
    if (x < 0 || !canFuse.has(x) || sums.has(x) || into === null || into === 'same') continue;
    sums.set(x, { sum: step, keep: uses.get(x) !== 1 });
  }
  return sums;
}

/**
 * The product `matmul` (two matrices, m×k times k×n, either read transposed) compiled from the
 * product's one loop (product.ts), as matmul's own kernel is, so each element is the same sum
 * in the same order (the same bits), and handed as `p` to the body of the loop computing
 * `loop`, which reads it element for element: one pass instead of two, and the product never
 * leaves its register unless `store` (other steps read it too). Dimensions and strides are
 * numbers of the plan.
 */
function productOf(matmul: Step, loop: Step, inlined: ReadonlySet<number>, producer: ReadonlyMap<number, Step>, shapeOf: (ref: Ref) => Shape, store: boolean): Instruction {
  const { operands, hoisted, lines, names, result } = loopParts(loop, inlined, producer, shapeOf, matmul.out);
  const { ta, tb } = matmul.params as MatmulParams;
  const [aShape, bShape] = matmul.args.map(shapeOf);
  const [m, n] = matmul.shape;
  const k = ta ? aShape[0] : aShape[1];
  // Where A's (row, kk) and B's (kk, col) are, as linalg.ts's operand() reads them.
  const [ar, ac] = ta ? [1, aShape[1]] : [aShape[1], 1];
  const [br, bc] = tb ? [1, bShape[1]] : [bShape[1], 1];
  const element = (v: string): string => `const p = ${v};${store ? ' stored[i] = p;' : ''} ${lines.join(' ')} out[i] = ${result};`;
  const body = `${hoisted.join('\n')}
const m = ${m}, k = ${k}, n = ${n}, ar = ${ar}, ac = ${ac}, br = ${br}, bc = ${bc}, aBase = 0, bBase = 0;
${productSource(productWidth(n), element)}`;
  return {
    kind: 'product',
    kernel: generated<ProductKernel>(['operands', 'out', 'a', 'b', 'stored', 'cx', 'op'], body),
    source: body,
    names: ['matmul', ...names],
    args: operands,
    factors: [matmul.args[0], matmul.args[1]],
    shape: loop.shape,
    out: loop.out,
    stored: store ? matmul.out : null,
  };
}

/**
 * Transposes of matrices folded into the products around them, which read a matrix transposed
 * as cheaply as not: a product's transposed factor is read transposed instead (`A' * B` as the
 * product of A, read transposed, and B), and a transposed product is the product of its factors
 * swapped, each read the other way ((A B)' = B' A', as the gradient of a transposed input is).
 * The product sums each element over k in order whatever the strides it reads with, and x·y is
 * y·x, so the numbers are the same; the transposes, copies, are left to the steps that still read
 * them, most often none. `trace(A' * B)` over 150x4 matrices spent a fifth of its plan copying A'
 * and reading the copy back.
 */
function foldedTransposes(steps: readonly Step[]): Step[] {
  const producer = new Map<number, Step>();
  const isTranspose = (step: Step): boolean => {
    if (step.prim.name !== 'permute' || step.shape.length !== 2) return false;
    const perm = step.params as readonly number[];
    return perm[0] === 1 && perm[1] === 0;
  };
  const isProduct = (step: Step | undefined): step is Step => step !== undefined && step.prim.name === 'matmul' && step.shape.length === 2;
  const untransposed = (ref: Ref): Ref | null => {
    const step = producer.get(ref);
    return step !== undefined && isTranspose(step) ? step.args[0] : null;
  };
  return steps.map((original) => {
    let step = original;
    if (isTranspose(step)) {
      // (op(A) op(B))' = op(B)' op(A)'.
      const inner = producer.get(step.args[0]);
      if (isProduct(inner)) {
        const { ta, tb } = inner.params as MatmulParams;
        step = { ...step, prim: inner.prim, args: [inner.args[1], inner.args[0]], params: { ta: !tb, tb: !ta } satisfies MatmulParams };
      }
    }
    if (step.prim.name === 'matmul') {
      let { ta, tb } = step.params as MatmulParams;
      let [a, b] = step.args;
      // A transpose of a transpose is unwrapped twice.
      for (let from = untransposed(a); from !== null; from = untransposed(a)) [a, ta] = [from, !ta];
      for (let from = untransposed(b); from !== null; from = untransposed(b)) [b, tb] = [from, !tb];
      if (a !== step.args[0] || b !== step.args[1]) step = { ...step, args: [a, b], params: { ta, tb } satisfies MatmulParams };
    }
    producer.set(step.out, step);
    return step;
  });
}

/** The instructions that compute `outputs`: needed steps only, element-wise chains fused into loops. */
function lower(steps: readonly Step[], arity: number, constants: readonly Tensor[], inputShapes: readonly Shape[], outputs: readonly Ref[]): Instruction[] {
  const producer = new Map<number, Step>(steps.map((s) => [s.out, s]));
  const shapeOf = (ref: Ref): Shape => (ref < 0 ? constants[~ref].shape : ref < arity ? inputShapes[ref] : producer.get(ref)!.shape);
  const { kept, uses } = liveSteps(steps, outputs);
  const canFuse = new Set(kept.filter((s) => fusible(s, shapeOf)).map((s) => s.out));
  const inlined = inlinedSteps(kept, uses, canFuse);
  const order = kept.filter((step) => !inlined.has(step.out));
  const instructions: Instruction[] = order.map((step) =>
    canFuse.has(step.out) ? loopOf(step, inlined, producer, shapeOf) : { kind: 'prim', prim: step.prim, params: step.params, args: step.args, out: step.out },
  );
  // A product of two matrices read whole by one loop goes into that loop; stored as well only
  // where something else reads it, and only if nothing reads it before that loop runs. (Fusing
  // moves only the reads of the product's factors, whose steps come earlier and are decided.)
  const readers = new Map<Ref, number[]>();
  instructions.forEach((ins, at) =>
    ins.args.forEach((ref) => {
      const list = readers.get(ref) ?? [];
      if (list[list.length - 1] !== at) list.push(at);
      readers.set(ref, list);
    }),
  );
  order.forEach((step, at) => {
    if (step.prim.name !== 'matmul' || step.args.some((a) => shapeOf(a).length !== 2)) return;
    const readBy = readers.get(step.out) ?? [];
    const into = readBy.find((r) => {
      const ins = instructions[r];
      return ins.kind === 'loop' && sameShape(ins.shape, step.shape) && readingIn(step.shape, ins.shape) === 'same';
    });
    if (into === undefined || readBy.some((r) => r < into)) return;
    const store = readBy.length > 1 || outputs.includes(step.out);
    instructions[into] = productOf(step, order[into], inlined, producer, shapeOf, store);
    instructions[at] = { kind: 'prim', prim: step.prim, params: step.params, args: [], out: NaN };
  });
  // Then a sum of a loop's elements goes into that loop, where no product went (a product's
  // blocks would add them in another order).
  const position = new Map(order.map((step, at) => [step, at]));
  for (const [x, { sum, keep }] of fusedSums(order, canFuse, uses, shapeOf)) {
    const at = order.findIndex((step) => step.out === x);
    if (at < 0 || instructions[at].kind !== 'loop') continue;
    instructions[at] = loopOf(order[at], inlined, producer, shapeOf, sum, keep);
    instructions[position.get(sum)!] = { kind: 'prim', prim: sum.prim, params: sum.params, args: [], out: NaN };
  }
  return instructions.filter((ins) => !(ins.kind === 'prim' && Number.isNaN(ins.out)));
}

/** Bytes an instruction keeps besides its source (its object, arrays and shape), roughly. */
const INSTRUCTION_BYTES = 256;
/** Bytes a generated function keeps per character of its source: the string, and V8's bytecode and code for it. */
export const SOURCE_BYTES_PER_CHAR = 4;

/** A function's value and gradient, compiled for inputs of fixed shapes (see the module comment). */
export class GradientPlan {
  /** Primitive applications traced, and what a run executes after dropping and fusing. */
  readonly traced: number;
  readonly instructions: readonly Instruction[];

  constructor(
    private readonly inputShapes: readonly Shape[],
    private readonly constants: readonly Tensor[],
    instructions: Instruction[],
    private readonly outputs: readonly Ref[],
    traced: number,
  ) {
    this.instructions = instructions;
    this.traced = traced;
  }

  /** Elements of the tensors the plan keeps (its constants), for callers that cache plans. */
  get constantElements(): number {
    return this.constants.reduce((n, c) => n + c.size, 0);
  }

  /**
   * An estimate of the memory the plan keeps, in bytes, for callers that cache plans: its
   * constants, its instructions, and its generated loops (their source and V8's code for it).
   */
  get estimatedBytes(): number {
    let bytes = 8 * this.constantElements + INSTRUCTION_BYTES * this.instructions.length;
    for (const ins of this.instructions) if (ins.kind !== 'prim') bytes += SOURCE_BYTES_PER_CHAR * ins.source.length;
    return bytes;
  }

  /** Fused loops (products with a loop's body included), the element-wise primitives they compute, and how many are products. */
  get fused(): { loops: number; primitives: number; products: number } {
    const loops = this.instructions.flatMap((i) => (i.kind === 'prim' ? [] : [i]));
    return {
      loops: loops.length,
      primitives: loops.reduce((n, i) => n + i.names.length - (i.kind === 'product' ? 1 : 0), 0),
      products: loops.filter((i) => i.kind === 'product').length,
    };
  }

  /**
   * The value and the gradient with respect to each differentiated input, in order; `inputs`
   * are every input, fixed ones included, shaped as the plan was compiled for. Tensors are allocated by `cx`
   * (budgets and storage): with a `ReusableStorage` reset between runs, a loop of runs reuses
   * one buffer, and what a run returns lives until that reset.
   */
  run(inputs: readonly Tensor[], cx: Context = new Context()): { value: Tensor; grads: Tensor[] } {
    if (inputs.length !== this.inputShapes.length) throw new RangeError(`the plan takes ${this.inputShapes.length} inputs, got ${inputs.length}`);
    inputs.forEach((x, k) => {
      if (!sameShape(x.shape, this.inputShapes[k])) throw new RangeError(`input ${k} has shape ${formatShape(x.shape)}; the plan was compiled for ${formatShape(this.inputShapes[k])}`);
    });
    const slots: Tensor[] = [...inputs];
    const constants = this.constants;
    const at = (ref: Ref): Tensor => (ref >= 0 ? slots[ref] : constants[~ref]);
    for (const ins of this.instructions) {
      if (ins.kind === 'prim') {
        cx.countOperation(ins.prim.name);
        slots[ins.out] = ins.prim.impl(cx, ins.args.map(at), ins.params);
        continue;
      }
      for (const name of ins.names) cx.countOperation(name);
      if (ins.kind === 'product') {
        const out = cx.allocForWriting(ins.names[ins.names.length - 1], ins.shape);
        const stored = ins.stored === null ? null : cx.allocForWriting('matmul', ins.shape);
        const [a, b] = ins.factors;
        ins.kernel(
          ins.args.map((r) => at(r).data),
          out.data,
          at(a).data,
          at(b).data,
          stored === null ? out.data : stored.data,
          cx,
          'matmul',
        );
        slots[ins.out] = out;
        if (stored !== null) slots[ins.stored!] = stored;
        continue;
      }
      const name = ins.names[ins.names.length - 1];
      // A sum adds into zeros; every other loop writes each element.
      const out = ins.sums ? cx.alloc(name, ins.shape) : cx.allocForWriting(name, ins.shape);
      const { domain } = ins;
      const size = ins.sums ? sizeOf(domain) : out.size;
      const cols = domain.length === 0 ? 1 : domain[domain.length - 1];
      const rows = cols === 0 ? 0 : size / cols;
      const operands = ins.args.map((a) => at(a).data);
      // The elements of a loop that sums, where others read them too (every one is written).
      const stored = ins.stored === null ? null : cx.allocForWriting(ins.names[ins.names.length - 2], domain);
      // A large loop runs in pieces of rows, with the deadline read between them.
      const piece = size <= ELEMENTS_PER_DEADLINE_CHECK ? rows : Math.max(1, Math.floor(ELEMENTS_PER_DEADLINE_CHECK / cols));
      for (let from = 0; from < rows; from += piece) {
        if (from > 0) cx.checkDeadline(ins.names[0]);
        ins.kernel(operands, out.data, Math.min(rows, from + piece), cols, from, stored === null ? null : stored.data);
      }
      slots[ins.out] = out;
      if (stored !== null) slots[ins.stored!] = stored;
    }
    const [value, ...grads] = this.outputs.map(at);
    return { value, grads };
  }
}

/** Which inputs a plan differentiates: by default every one. */
export interface PlanOptions {
  /**
   * `differentiated[k]` is false for an input held fixed (data, labels, a hyper-parameter): it
   * is still an input of the plan, read at each run, but gets no gradient, and no backward step
   * is spent on it.
   */
  readonly differentiated?: readonly boolean[];
}

/**
 * Compiles `f`'s value and gradient (of a scalar output) for inputs shaped like `inputs`,
 * tracing it once at those values under `cx`'s budgets: gradients with respect to the inputs
 * `options.differentiated` marks (every one by default), in order. Every input, fixed or not,
 * is read at each run: nothing computed from one is folded into a constant. Throws
 * `NotCompilable` where the function reads a value computed from its inputs (fixed ones
 * included) or draws; any other error of `f` as it is.
 */
export function compileGradientPlan(f: Fn, inputs: readonly Tensor[], cx: Context = new Context(), options: PlanOptions = {}): GradientPlan {
  const differentiated = options.differentiated ?? inputs.map(() => true);
  if (differentiated.length !== inputs.length) throw new RangeError(`${differentiated.length} flags for ${inputs.length} inputs`);
  const trace = new PlanTrace(cx, inputs.length);
  const tracers = inputs.map((p, k) => new PlanTracer(trace, k, p));
  const wrt = tracers.flatMap((_, k) => (differentiated[k] ? [k] : []));
  // The fixed inputs enter below the gradient's tape: the tape sees them as constants, so no
  // rule computes a cotangent for them (no product for the data's gradient, say).
  const g: Fn = (c, xs) => {
    const all: Value[] = [...tracers];
    wrt.forEach((k, i) => (all[k] = xs[i]));
    return f(c, all);
  };
  const outer = cx.random;
  cx.random = refusingRandom;
  let result: { value: Value; grads: Value[] };
  try {
    result = grad(cx, g, wrt.map((k) => tracers[k]));
  } finally {
    cx.random = outer;
  }
  const outputs = [trace.ref(result.value), ...result.grads.map((g) => trace.ref(g))];
  const shapes = inputs.map((p) => p.shape);
  const instructions = lower(foldedTransposes(trace.steps), inputs.length, trace.constants, shapes, outputs);
  return new GradientPlan(shapes, trace.constants, instructions, outputs, trace.steps.length);
}
