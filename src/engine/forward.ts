/**
 * Forward mode: dual numbers generalised to tensors. Each tracer carries its primal value and
 * its tangent (`null` for a symbolic zero) and every primitive's JVP rule pushes tangents
 * forward as the program runs. No tape is kept.
 */
import { Tracer, bind, type Context, type Primitive, type Trace, type Value } from './core.js';
import { EngineError } from './errors.js';
import { formatShape, sameShape } from './tensor.js';

export class JvpTracer extends Tracer {
  readonly trace: JvpTrace;
  readonly primal: Value;
  readonly tangent: Value | null;

  constructor(trace: JvpTrace, primal: Value, tangent: Value | null) {
    super(primal.shape);
    this.trace = trace;
    this.primal = primal;
    this.tangent = tangent;
  }
}

export class JvpTrace implements Trace {
  readonly level: number;
  private readonly cx: Context;

  constructor(cx: Context) {
    this.cx = cx;
    this.level = cx.nextLevel();
  }

  /** Seeds an input: the value with its tangent, which must have the value's shape. */
  input(primal: Value, tangent: Value | null): JvpTracer {
    if (tangent !== null && !sameShape(tangent.shape, primal.shape)) {
      throw new EngineError('SHAPE_MISMATCH', `jvp: tangent of shape ${formatShape(tangent.shape)} does not match its input's shape ${formatShape(primal.shape)}`, {
        op: 'jvp',
      });
    }
    return new JvpTracer(this, primal, tangent);
  }

  process(prim: Primitive<unknown>, args: readonly Value[], params: unknown): Value {
    const n = args.length;
    const primals = new Array<Value>(n);
    const tangents = new Array<Value | null>(n);
    let anyTangent = false;
    for (let i = 0; i < n; i++) {
      const a = args[i];
      if (a instanceof JvpTracer && a.trace === this) {
        primals[i] = a.primal;
        tangents[i] = a.tangent;
        if (a.tangent !== null) anyTangent = true;
      } else {
        primals[i] = a;
        tangents[i] = null;
      }
    }
    const out = bind(this.cx, prim, primals, params);
    if (!anyTangent) return out;
    return new JvpTracer(this, out, prim.jvp(this.cx, primals, tangents, out, params));
  }

  /** The primal and tangent of a result of this trace; anything else has a zero tangent. */
  split(v: Value): { primal: Value; tangent: Value | null } {
    if (v instanceof JvpTracer && v.trace === this) return { primal: v.primal, tangent: v.tangent };
    return { primal: v, tangent: null };
  }
}
