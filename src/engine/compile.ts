/**
 * The compiler: one more transformation. A straight-line function of scalars is run once with
 * symbolic inputs under the code-generating trace (codegen.ts); each primitive it meets (and,
 * under a tape, each VJP rule of the backward pass) appends one line of JavaScript built from
 * the primitive's own `scalarSource`. The lines become the body of one loop over many points,
 * so a gradient costs a few evaluations instead of a few hundred tensor operations per point.
 *
 * Only names made here and in codegen.ts and numbers formatted there reach the generated
 * source: never text from a request. Anything that is not an element-wise primitive on scalars
 * (a reduction, a data-dependent branch) cannot be compiled and throws `NotCompilable`, and the
 * caller falls back to the general engine. The per-primitive rule compilers live in codegen.ts,
 * which the ops import; this module imports the ops (through ad.ts), never the reverse.
 */
import { Context, type Value } from './core.js';
import { vjp, type Fn } from './ad.js';
import { CodegenTrace, NotCompilable } from './codegen.js';
import { compileKernel } from './kernels.js';
import type { Draw, NoiseKind, RandomSource } from './random.js';
import { Tensor, type Shape } from './tensor.js';

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
