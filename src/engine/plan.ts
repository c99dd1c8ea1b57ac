/**
 * The tensor compiler: a function of tensors without data-dependent control flow is traced
 * once, at its inputs' shapes, into a plan: the primitive applications that compute its value
 * and gradient, the backward pass's VJP rules unrolled into primitives just like the forward
 * pass. Running the plan again skips everything the general engine pays per operation
 * (tracers, the tape, the rules' bookkeeping, broadcasting logic), and each chain of
 * element-wise primitives whose intermediates nobody else reads becomes one generated loop,
 * built from the primitives' own `scalarSource` as compile.ts builds scalar code. A small
 * network's training step is then a few matrix products and a few passes over memory.
 *
 * Tracing runs the primitives on real values, but a value computed from the inputs is never
 * handed to the program: reading one (a branch, an index, a label computed from the inputs)
 * throws `NotCompilable`, as does a random draw, and the caller keeps the general engine.
 * Whatever does not depend on the inputs (data held fixed) is computed while tracing and
 * becomes a constant of the plan. Only names made here reach generated source.
 */
import { Context, Tracer, bind, type Primitive, type Trace, type Value } from './core.js';
import { grad, type Fn } from './ad.js';
import { NotCompilable } from './compile.js';
import { compileKernel } from './kernels.js';
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
      ref = ~this.constants.length;
      this.constants.push(v);
      this.constantRefs.set(v, ref);
    }
    return ref;
  }

  process(prim: Primitive<unknown>, args: readonly Value[], params: unknown): Value {
    if (this.steps.length >= MAX_STEPS) throw new NotCompilable(`more than ${MAX_STEPS} operations`);
    const refs = args.map((a) => this.ref(a));
    const values = args.map((a) => (a instanceof PlanTracer ? a.value : (a as Tensor)));
    const out = bind(this.cx, prim, values, params) as Tensor;
    const slot = this.arity + this.steps.length;
    this.steps.push({ prim, params, args: refs, shape: out.shape, out: slot });
    return new PlanTracer(this, slot, out);
  }
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

/** How a fused loop over an output of shape S reads an operand (see `accessOf`). */
type Access = 'full' | 'one' | 'row' | 'column';

/**
 * An operand's access in a loop over rows × cols (cols: the output's last axis): every element
 * (`full`), one element (`one`), one per column like a bias (`row`), one per row like a
 * row-wise sum kept as a column (`column`); null for other broadcasts, which are not fused.
 */
function accessOf(operand: Shape, out: Shape): Access | null {
  const size = sizeOf(operand);
  if (size === sizeOf(out)) return 'full';
  if (size === 1) return 'one';
  const rank = out.length;
  const padded = (d: number): number => (d < rank - operand.length ? 1 : operand[d - (rank - operand.length)]);
  let row = true;
  let column = padded(rank - 1) === 1;
  for (let d = 0; d < rank - 1; d++) {
    if (padded(d) !== 1) row = false;
    if (padded(d) !== out[d]) column = false;
  }
  if (row && padded(rank - 1) === out[rank - 1]) return 'row';
  return column ? 'column' : null;
}

type FusedKernel = (operands: readonly Float64Array[], out: Float64Array, rows: number, cols: number) => void;

/** Generated loops by source: the same program compiled again (another request) reuses them. */
const kernels = new Map<string, FusedKernel>();
const MAX_KERNELS = 1000;

function fusedKernel(body: string): FusedKernel {
  let kernel = kernels.get(body);
  if (kernel === undefined) {
    if (kernels.size >= MAX_KERNELS) kernels.delete(kernels.keys().next().value!);
    kernel = compileKernel<FusedKernel>(['operands', 'out', 'rows', 'cols'], body);
    kernels.set(body, kernel);
  }
  return kernel;
}

/** What a run executes: a primitive's kernel, or a fused loop of element-wise primitives. */
type Instruction =
  | { readonly kind: 'prim'; readonly prim: Primitive<unknown>; readonly params: unknown; readonly args: readonly Ref[]; readonly out: number }
  | { readonly kind: 'loop'; readonly kernel: FusedKernel; readonly source: string; readonly names: readonly string[]; readonly args: readonly Ref[]; readonly shape: Shape; readonly out: number };

/** Primitives worth recomputing in each loop that reads them rather than storing their result. */
const CHEAP = new Set(['add', 'sub', 'mul', 'neg']);

/** Primitives kept out of fused loops: a failed check must name the element, as its kernel does. */
const UNFUSED = new Set(['check']);

function fusible(step: Step, shapeOf: (ref: Ref) => Shape): boolean {
  return step.prim.scalarSource !== undefined && !UNFUSED.has(step.prim.name) && step.args.every((a) => accessOf(shapeOf(a), step.shape) !== null);
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

/**
 * The loop computing `step` and, inside it, the inlined steps it reads: one line per primitive
 * (from its `scalarSource`), over operands read whole, as one element, per column or per row.
 */
function loopOf(step: Step, inlined: ReadonlySet<number>, producer: ReadonlyMap<number, Step>, shapeOf: (ref: Ref) => Shape): Instruction {
  const operands: Ref[] = [];
  const lines: string[] = [];
  const names: string[] = [];
  const hoisted: string[] = [];
  const operand = (ref: Ref): string => {
    if (inlined.has(ref)) return expression(producer.get(ref)!);
    const access = accessOf(shapeOf(ref), step.shape)!;
    let k = operands.indexOf(ref);
    if (k < 0) {
      k = operands.length;
      operands.push(ref);
      hoisted.push(access === 'one' ? `const a${k} = operands[${k}][0];` : `const a${k} = operands[${k}];`);
    }
    return access === 'one' ? `a${k}` : access === 'full' ? `a${k}[i]` : access === 'row' ? `a${k}[j]` : `a${k}[r]`;
  };
  const expression = (s: Step): string => {
    const args = s.args.map(operand);
    const name = `t${lines.length}`;
    lines.push(`const ${name} = ${s.prim.scalarSource!(args, s.params)};`);
    names.push(s.prim.name);
    return name;
  };
  const result = expression(step);
  // Rows and columns only where an operand repeats along one of them; else one flat loop.
  const flat = operands.every((ref) => ['full', 'one'].includes(accessOf(shapeOf(ref), step.shape)!));
  const body = flat
    ? `${hoisted.join('\n')}
const n = rows * cols;
for (let i = 0; i < n; i++) {
  ${lines.join('\n  ')}
  out[i] = ${result};
}`
    : `${hoisted.join('\n')}
for (let r = 0, i = 0; r < rows; r++) {
  for (let j = 0; j < cols; j++, i++) {
    ${lines.join('\n    ')}
    out[i] = ${result};
  }
}`;
  return { kind: 'loop', kernel: fusedKernel(body), source: body, names, args: operands, shape: step.shape, out: step.out };
}

/** The instructions that compute `outputs`: needed steps only, element-wise chains fused into loops. */
function lower(steps: readonly Step[], arity: number, constants: readonly Tensor[], inputShapes: readonly Shape[], outputs: readonly Ref[]): Instruction[] {
  const producer = new Map<number, Step>(steps.map((s) => [s.out, s]));
  const shapeOf = (ref: Ref): Shape => (ref < 0 ? constants[~ref].shape : ref < arity ? inputShapes[ref] : producer.get(ref)!.shape);
  const { kept, uses } = liveSteps(steps, outputs);
  const canFuse = new Set(kept.filter((s) => fusible(s, shapeOf)).map((s) => s.out));
  const inlined = inlinedSteps(kept, uses, canFuse);
  return kept
    .filter((step) => !inlined.has(step.out))
    .map((step) =>
      canFuse.has(step.out) ? loopOf(step, inlined, producer, shapeOf) : { kind: 'prim', prim: step.prim, params: step.params, args: step.args, out: step.out },
    );
}

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

  /** Fused loops, and the primitives they compute. */
  get fused(): { loops: number; primitives: number } {
    const loops = this.instructions.filter((i) => i.kind === 'loop');
    return { loops: loops.length, primitives: loops.reduce((n, i) => n + (i.kind === 'loop' ? i.names.length : 0), 0) };
  }

  /**
   * The value and the gradient with respect to each input. Tensors are allocated by `cx`
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
      const out = cx.allocForWriting(ins.names[ins.names.length - 1], ins.shape);
      const cols = ins.shape.length === 0 ? 1 : ins.shape[ins.shape.length - 1];
      ins.kernel(
        ins.args.map((a) => at(a).data),
        out.data,
        cols === 0 ? 0 : out.size / cols,
        cols,
      );
      slots[ins.out] = out;
    }
    const [value, ...grads] = this.outputs.map(at);
    return { value, grads };
  }
}

/**
 * Compiles `f`'s value and gradient (of a scalar output) for inputs shaped like `primals`,
 * tracing it once at those values under `cx`'s budgets. Throws `NotCompilable` where the
 * function reads a value computed from its inputs or draws; any other error of `f` as it is.
 */
export function compileGradientPlan(f: Fn, primals: readonly Tensor[], cx: Context = new Context()): GradientPlan {
  const trace = new PlanTrace(cx, primals.length);
  const inputs = primals.map((p, k) => new PlanTracer(trace, k, p));
  const outer = cx.random;
  cx.random = refusingRandom;
  let result: { value: Value; grads: Value[] };
  try {
    result = grad(cx, f, inputs);
  } finally {
    cx.random = outer;
  }
  const outputs = [trace.ref(result.value), ...result.grads.map((g) => trace.ref(g))];
  const shapes = primals.map((p) => p.shape);
  const instructions = lower(trace.steps, primals.length, trace.constants, shapes, outputs);
  return new GradientPlan(shapes, trace.constants, instructions, outputs, trace.steps.length);
}
