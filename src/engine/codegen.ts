/**
 * Code generation from primitives, shared by the compilers: the code-generating trace, under
 * which each primitive a function applies appends one line of JavaScript built from the
 * primitive's own `scalarSource`, and the per-primitive rule compilers (`scalarVjpOf`,
 * `tensorVjpOf`), which run a primitive's VJP rule once under that trace and keep the code on
 * the primitive. The ops import the rule compilers; `compileGradient` (compile.ts) builds
 * whole functions on the same trace. This module imports no op and no transformation, so
 * neither import brings a cycle.
 *
 * Only names made here (`x0`, `t12`) and numbers formatted here reach the generated source:
 * never text from a request. Anything that is not an element-wise primitive on scalars (a
 * reduction, a data-dependent branch) cannot be compiled and throws `NotCompilable`.
 */
import { Context, Tracer, type Primitive, type ScalarVjp, type TensorVjp, type Trace, type Value } from './core.js';
import { compileKernel } from './kernels.js';
import { Tensor } from './tensor.js';

export class NotCompilable extends Error {
  constructor(reason: string) {
    super(`cannot compile: ${reason}`);
    this.name = 'NotCompilable';
  }
}

export class SymbolTracer extends Tracer {
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

export class CodegenTrace implements Trace {
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
