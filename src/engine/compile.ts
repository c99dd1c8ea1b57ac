/**
 * The compiler: one more transformation. A straight-line function of scalars is run once with
 * symbolic inputs under a code-generating trace; each primitive it meets (and, under a tape,
 * each VJP rule of the backward pass) appends one line of JavaScript built from the
 * primitive's own `scalarSource`. The lines become the body of one loop over many points, so
 * a gradient costs a few evaluations instead of a few hundred tensor operations per point.
 *
 * Only names made here (`x0`, `t12`) and numbers formatted here reach the generated source:
 * never text from a request. Anything that is not an element-wise primitive on scalars (a
 * reduction, a data-dependent branch) cannot be compiled and throws `NotCompilable`, and the
 * caller falls back to the general engine.
 */
import { Context, Tracer, type Primitive, type Trace, type Value } from './core.js';
import { vjp, type Fn } from './ad.js';
import { compileKernel } from './kernels.js';
import type { Draw, NoiseKind, RandomSource } from './random.js';
import { Tensor, type Shape } from './tensor.js';

export class NotCompilable extends Error {
  constructor(reason: string) {
    super(`cannot compile: ${reason}`);
    this.name = 'NotCompilable';
  }
}

class SymbolTracer extends Tracer {
  readonly trace: CodegenTrace;
  readonly name: string;

  constructor(trace: CodegenTrace, name: string) {
    super([]);
    this.trace = trace;
    this.name = name;
  }

  get primal(): Value {
    throw new NotCompilable(`the value of ${this.name} is needed while compiling (a data-dependent branch or index)`);
  }
}

/** A number as JavaScript source. */
function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '(-Infinity)';
  if (Object.is(v, -0)) return '(-0)';
  return v < 0 ? `(${String(v)})` : String(v);
}

/** Longer straight-line code is left to the general engine (V8 compiles huge functions slowly). */
const MAX_LINES = 20000;

class CodegenTrace implements Trace {
  readonly level: number;
  readonly lines: string[] = [];
  private readonly cx: Context;

  constructor(cx: Context) {
    this.cx = cx;
    this.level = cx.nextLevel();
  }

  symbol(name: string): SymbolTracer {
    return new SymbolTracer(this, name);
  }

  /** The source of a scalar operand: a symbol of this trace or a concrete scalar constant. */
  expression(v: Value): string {
    if (v instanceof SymbolTracer && v.trace === this) return v.name;
    if (v instanceof Tensor && v.shape.length === 0) return literal(v.data[0]);
    throw new NotCompilable(`an operand of shape [${v.shape.join(', ')}] is not a scalar`);
  }

  process(prim: Primitive<unknown>, args: readonly Value[], params: unknown): Value {
    if (prim.scalarSource === undefined) throw new NotCompilable(`${prim.name} is not an element-wise primitive`);
    this.cx.countOperation(prim.name);
    if (this.lines.length >= MAX_LINES) throw new NotCompilable(`more than ${MAX_LINES} operations`);
    const source = prim.scalarSource(args.map((a) => this.expression(a)), params);
    const name = `t${this.lines.length}`;
    this.lines.push(`const ${name} = ${source};`);
    return this.symbol(name);
  }
}

/**
 * Random draws while compiling: each scalar draw becomes one more input of the generated code
 * (`r0`, `r1`, ...), its kind recorded, so that the caller feeds the numbers the generator
 * gives for each point. Draws of tensors and samplers that reject cannot be compiled.
 */
class SymbolicRandom implements RandomSource {
  readonly kinds: NoiseKind[] = [];

  constructor(private readonly trace: CodegenTrace) {}

  get draws(): number {
    return this.kinds.length;
  }

  private symbol(kind: NoiseKind, shape: Shape): Value {
    if (shape.length !== 0) throw new NotCompilable('a random draw is not a scalar');
    this.kinds.push(kind);
    return this.trace.symbol(`r${this.kinds.length - 1}`);
  }

  uniform(_cx: Context, shape: Shape): Value {
    return this.symbol('uniform', shape);
  }

  normal(_cx: Context, shape: Shape): Value {
    return this.symbol('normal', shape);
  }

  draw(): Draw {
    throw new NotCompilable('a sampler that rejects');
  }

  restart(): void {}
}

export interface CompiledGradient {
  /** The generated JavaScript, for inspection. */
  readonly source: string;
  /** The random draws the function makes, in order: after its inputs, the kernel takes one array of each. */
  readonly noise: readonly NoiseKind[];
  /**
   * Evaluates at n points: `inputs[k]` holds input k at every point (or one value for all
   * points), then come the random draws. Writes the value and each input's partial derivative at every point, into `into`
   * when given (so that a caller evaluating batch after batch allocates nothing).
   */
  run(
    inputs: readonly Float64Array[],
    n: number,
    into?: { value: Float64Array; grads: Float64Array[] },
  ): { value: Float64Array; grads: Float64Array[] };
}

type PointKernel = (inputs: readonly Float64Array[], n: number, value: Float64Array, grads: Float64Array[]) => void;

/**
 * Compiles the value and gradient of a scalar function of `arity` scalar inputs into one loop
 * over points. Throws `NotCompilable` when `f` is not straight-line element-wise code. `cx`
 * carries the budgets that tracing `f` runs under (the generated code itself is straight-line).
 */
export function compileGradient(f: Fn, arity: number, cx: Context = new Context()): CompiledGradient {
  const trace = new CodegenTrace(cx);
  const inputs = Array.from({ length: arity }, (_, k) => trace.symbol(`x${k}`));
  const random = new SymbolicRandom(trace);
  const outer = cx.random;
  cx.random = random;
  let value: Value;
  let gradSources: string[];
  try {
    const result = vjp(cx, f, inputs);
    value = result.value;
    gradSources = result.pullback(Tensor.scalar(1)).map((g) => trace.expression(g));
  } finally {
    cx.random = outer;
  }
  const valueSource = trace.expression(value);
  const noise = random.kinds;
  const loaded = [...inputs.map((_, k) => `x${k}`), ...noise.map((_, k) => `r${k}`)];
  const prologue = [
    ...loaded.map((_, k) => `const a${k} = inputs[${k}], s${k} = a${k}.length === 1 ? 0 : 1;`),
    ...gradSources.map((_, k) => `const g${k} = grads[${k}];`),
  ].join('\n');
  const loads = loaded.map((name, k) => `const ${name} = a${k}[i * s${k}];`).join(' ');
  const stores = gradSources.map((g, k) => `g${k}[i] = ${g};`).join(' ');
  const body = `${prologue}
for (let i = 0; i < n; i++) {
${loads}
${trace.lines.join('\n')}
value[i] = ${valueSource}; ${stores}
}`;
  const kernel = compileKernel<PointKernel>(['inputs', 'n', 'value', 'grads'], body);
  return {
    source: body,
    noise,
    run(points, n, into) {
      if (points.length !== loaded.length) throw new RangeError(`expected ${loaded.length} inputs, got ${points.length}`);
      for (const p of points) if (p.length !== n && p.length !== 1) throw new RangeError(`each input needs ${n} values or 1, got ${p.length}`);
      const out = into?.value ?? new Float64Array(n);
      const grads = into?.grads ?? inputs.map(() => new Float64Array(n));
      if (out.length < n || grads.length !== arity || grads.some((g) => g.length < n)) throw new RangeError(`output arrays need ${arity + 1} arrays of ${n} values`);
      kernel(points, n, out, grads);
      return { value: out, grads };
    },
  };
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

/**
 * The VJP rule of an element-wise primitive compiled to a function of numbers, by running the
 * rule itself once under the code-generating trace (null for other primitives). The tape uses
 * it to walk scalar records back without allocating; it is the same rule, not a second copy.
 */
export function scalarVjpOf(prim: Primitive<unknown>): ScalarVjp | null {
  const known = prim.compiled.scalarVjp;
  if (known !== undefined) return known;
  let compiled: ScalarVjp | null = null;
  if (prim.scalarSource !== undefined && prim.arity !== undefined && prim.arity <= 3) {
    const cx = new Context();
    const trace = new CodegenTrace(cx);
    const names = ['a', 'b', 'c'].slice(0, prim.arity);
    try {
      const cts = prim.vjp(cx, trace.symbol('g'), names.map((n) => trace.symbol(n)), trace.symbol('y'), undefined, names.map(() => true));
      const stores = cts.map((ct, k) => `partials[${k}] = ${ct === null ? '0' : trace.expression(ct)};`).join('\n');
      const run = compileKernel<ScalarVjp['run']>(['g', 'a', 'b', 'c', 'y', 'partials'], `${trace.lines.join('\n')}\n${stores}`);
      compiled = { run, flows: cts.map((ct) => ct !== null) };
    } catch (e) {
      if (!(e instanceof NotCompilable)) throw e;
    }
  }
  prim.compiled.scalarVjp = compiled;
  return compiled;
}

/** A unary primitive's VJP over whole arrays: `out[i]` is the cotangent of `a[i]` for `g[i]`, given y = f(a). */
export type TensorVjp = (g: Float64Array, a: Float64Array, y: Float64Array, out: Float64Array) => void;

/**
 * The VJP rule of a unary element-wise primitive without parameters compiled to one loop (null
 * for others), by running the rule once under the code-generating trace: the general engine's
 * backward pass then makes one pass over memory for `g · f'(x)` rather than one for f'(x) and
 * one for the product. The rule stays the single definition; this is its code.
 */
export function tensorVjpOf(prim: Primitive<unknown>): TensorVjp | null {
  const known = prim.compiled.tensorVjp;
  if (known !== undefined) return known;
  let compiled: TensorVjp | null = null;
  if (prim.scalarSource !== undefined && prim.arity === 1) {
    const trace = new CodegenTrace(new Context());
    try {
      const [ct] = prim.vjp(new Context(), trace.symbol('gi'), [trace.symbol('ai')], trace.symbol('yi'), undefined, [true]);
      if (ct !== null) {
        const body = `const n = out.length;
for (let i = 0; i < n; i++) {
  const gi = g[i], ai = a[i], yi = y[i];
  ${trace.lines.join('\n  ')}
  out[i] = ${trace.expression(ct)};
}`;
        compiled = compileKernel<TensorVjp>(['g', 'a', 'y', 'out'], body);
      }
    } catch (e) {
      if (!(e instanceof NotCompilable)) throw e;
    }
  }
  prim.compiled.tensorVjp = compiled;
  return compiled;
}
