/**
 * How element-wise primitives are defined. A unary primitive states its scalar expression and
 * its derivative f'(x) once; a binary one its expression and its two partial derivatives.
 * Both modes are built from those: JVP = f'(x)·t, VJP = sumTo(g·f'(x)). Broadcasting is left
 * to `expand` and `sumTo` (ops/shape.ts), the only places that know about it. At first order a
 * unary VJP runs as one loop compiled from the rule itself (`tensorVjpOf`, codegen.ts).
 */
import { bind, definePrimitive, type Context, type Primitive, type Value } from '../core.js';
import { ELEMENTS_PER_DEADLINE_CHECK, binaryKernel, binaryReadings, inPieces, scalarBinary, scalarUnary, unaryKernel, type BinaryKernel, type BinaryReadings } from '../kernels.js';
import { broadcastStrides, type Reading } from '../broadcast.js';
import { Tensor, broadcastShapes, sameShape } from '../tensor.js';
import { expand, sumTo } from './shape.js';
import { tensorVjpOf } from '../codegen.js';

/** Engine operations accept plain numbers wherever a scalar tensor would do. */
export type Operand = Value | number;

export function lift(x: Operand): Value {
  return typeof x === 'number' ? Tensor.scalar(x) : x;
}

export type UnaryOp = (cx: Context, x: Operand) => Value;
export type BinaryOp = (cx: Context, a: Operand, b: Operand) => Value;

export interface UnaryDefinition {
  name: string;
  /** The JavaScript expression of f(x) over the expression `x`. */
  source: (x: string) => string;
  /** f'(x), given x and y = f(x), in engine operations; absent for piecewise-constant functions. */
  derivative?: (cx: Context, x: Value, y: Value) => Value;
  /**
   * Piecewise constant with PyTorch's zero gradient (floor, sign…): the tangent and cotangent are
   * zeros, not nothing, so that an infinite derivative further on makes NaN there as in PyTorch.
   * Without it (a logical `not`), no derivative passes at all.
   */
  zeroGradient?: true;
}

export function defineUnary(def: UnaryDefinition): { prim: Primitive<undefined>; op: UnaryOp } {
  const kernel = unaryKernel(def.source);
  const scalar = scalarUnary(def.source);
  const derivative = def.derivative;
  const prim = definePrimitive<undefined>({
    name: def.name,
    arity: 1,
    impl(cx, [a]) {
      if (a.shape.length === 0) return cx.scalar(def.name, scalar(a.data[0]));
      const out = cx.allocForWriting(def.name, a.shape);
      if (a.size <= ELEMENTS_PER_DEADLINE_CHECK) kernel(a.data, out.data);
      else inPieces(cx, def.name, a.size, 1, (s, e) => kernel(a.data.subarray(s, e), out.data.subarray(s, e)));
      return out;
    },
    jvp: (cx, [x], [t], y) => {
      if (t === null) return null;
      if (def.zeroGradient === true) return cx.alloc(def.name, x.shape);
      return derivative === undefined ? null : mul(cx, t, derivative(cx, x, y));
    },
    vjp: (cx, g, [x], y) => {
      if (def.zeroGradient === true) return [cx.alloc(def.name, x.shape)];
      if (derivative === undefined) return [null];
      // First order (nothing traced): g · f'(x) in one pass, by the rule's own compiled code.
      if (g instanceof Tensor && x instanceof Tensor && y instanceof Tensor && sameShape(g.shape, x.shape)) {
        const fused = tensorVjpOf(prim as Primitive<unknown>);
        if (fused !== null) {
          cx.countOperation(def.name);
          const out = cx.allocForWriting(def.name, x.shape);
          if (x.size <= ELEMENTS_PER_DEADLINE_CHECK) fused(g.data, x.data, y.data, out.data);
          else inPieces(cx, def.name, x.size, 1, (s, e) => fused(g.data.subarray(s, e), x.data.subarray(s, e), y.data.subarray(s, e), out.data.subarray(s, e)));
          return [out];
        }
      }
      return [mul(cx, g, derivative(cx, x, y))];
    },
    scalarSource: ([x]) => `(${def.source(x)})`,
  });
  return { prim, op: (cx, x) => bind(cx, prim, [lift(x)], undefined) };
}

export interface BinaryDefinition {
  name: string;
  /** The JavaScript expression of f(x, y) over the expressions `x` and `y`. */
  source: (x: string, y: string) => string;
  /**
   * The partial derivatives df/da and df/db (each broadcastable to the output's shape), in
   * engine operations; only those flagged in `which` are needed. Absent for piecewise-constant
   * functions such as comparisons.
   */
  partials?: (cx: Context, a: Value, b: Value, out: Value, which: readonly boolean[]) => [Value | null, Value | null];
  /** Linear primitives state their rules directly instead. */
  jvp?: Primitive<undefined>['jvp'];
  vjp?: Primitive<undefined>['vjp'];
}

export function defineBinary(def: BinaryDefinition): { prim: Primitive<undefined>; op: BinaryOp } {
  const kernel = binaryKernel(def.source);
  const scalar = scalarBinary(def.source);
  const partials = def.partials;
  const prim = definePrimitive<undefined>({
    name: def.name,
    arity: 2,
    impl(cx, [a, b]) {
      if (a.shape.length === 0 && b.shape.length === 0) return cx.scalar(def.name, scalar(a.data[0], b.data[0]));
      const shape = broadcastShapes(def.name, a.shape, b.shape);
      const out = cx.allocForWriting(def.name, shape);
      const readings = binaryReadings(a.shape, b.shape, shape);
      const { a: ra, b: rb, p } = readings;
      if (ra === 'strided') kernel(a.data, b.data, out.data, ra, rb, p, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
      else if (out.size <= ELEMENTS_PER_DEADLINE_CHECK) kernel(a.data, b.data, out.data, ra, rb, p, shape, null, null);
      else binaryInPieces(cx, def.name, kernel, a.data, b.data, out.data, readings);
      return out;
    },
    jvp:
      def.jvp ??
      ((cx, [a, b], [ta, tb], out) => {
        if (partials === undefined) return null;
        const [da, db] = partials(cx, a, b, out, [ta !== null, tb !== null]);
        const terms: Value[] = [];
        if (ta !== null && da !== null) terms.push(mul(cx, ta, da));
        if (tb !== null && db !== null) terms.push(mul(cx, tb, db));
        if (terms.length === 0) return null;
        const t = terms.length === 1 ? terms[0] : add(cx, terms[0], terms[1]);
        return sameShape(t.shape, out.shape) ? t : expand(cx, t, out.shape);
      }),
    vjp:
      def.vjp ??
      ((cx, g, [a, b], out, _params, needs) => {
        if (partials === undefined) return [null, null];
        const [da, db] = partials(cx, a, b, out, needs);
        return [
          needs[0] && da !== null ? sumTo(cx, mul(cx, g, da), a.shape) : null,
          needs[1] && db !== null ? sumTo(cx, mul(cx, g, db), b.shape) : null,
        ];
      }),
    scalarSource: ([x, y]) => `(${def.source(x, y)})`,
  });
  return { prim, op: (cx, a, b) => bind(cx, prim, [lift(a), lift(b)], undefined) };
}

/**
 * A binary kernel over a large output in pieces (see `inPieces`), for every reading but
 * `strided`: a piece of a `same` operand is its subarray; a `scalar` or `suffix` one is read
 * whole, pieces starting at multiples of its period p; a `prefix` one is cut at the piece's
 * start over p.
 */
function binaryInPieces(cx: Context, op: string, kernel: BinaryKernel, a: Float64Array, b: Float64Array, out: Float64Array, { a: ra, b: rb, p }: BinaryReadings): void {
  const step = ra === 'suffix' || ra === 'prefix' || rb === 'suffix' || rb === 'prefix' ? p : 1;
  const piece = (x: Float64Array, reading: Reading, s: number, e: number): Float64Array =>
    reading === 'same' ? x.subarray(s, e) : reading === 'prefix' ? x.subarray(s / p, e / p) : x;
  inPieces(cx, op, out.length, step, (s, e) => kernel(piece(a, ra, s, e), piece(b, rb, s, e), out.subarray(s, e), ra, rb, p, NO_SHAPE, null, null));
}
const NO_SHAPE: readonly number[] = [];

// The arithmetic that every rule needs. Addition and subtraction are linear, so their rules
// only route (and un-broadcast) the tangent or cotangent.

export const { op: add } = defineBinary({
  name: 'add',
  source: (x, y) => `${x} + ${y}`,
  jvp: (cx, _p, [ta, tb], out) => {
    const t = ta === null ? tb! : tb === null ? ta : add(cx, ta, tb);
    return sameShape(t.shape, out.shape) ? t : expand(cx, t, out.shape);
  },
  vjp: (cx, g, [a, b], _out, _params, needs) => [needs[0] ? sumTo(cx, g, a.shape) : null, needs[1] ? sumTo(cx, g, b.shape) : null],
});

export const { op: sub } = defineBinary({
  name: 'sub',
  source: (x, y) => `${x} - ${y}`,
  jvp: (cx, _p, [ta, tb], out) => {
    const t = tb === null ? ta! : ta === null ? neg(cx, tb) : sub(cx, ta, tb);
    return sameShape(t.shape, out.shape) ? t : expand(cx, t, out.shape);
  },
  vjp: (cx, g, [a, b], _out, _params, needs) => [needs[0] ? sumTo(cx, g, a.shape) : null, needs[1] ? sumTo(cx, neg(cx, g), b.shape) : null],
});

export const { op: mul } = defineBinary({
  name: 'mul',
  source: (x, y) => `${x} * ${y}`,
  partials: (_cx, a, b) => [b, a],
});

export const { op: div } = defineBinary({
  name: 'div',
  source: (x, y) => `${x} / ${y}`,
  partials: (cx, _a, b, out, which) => [which[0] ? div(cx, 1, b) : null, which[1] ? neg(cx, div(cx, out, b)) : null],
});

export const { op: neg } = defineUnary({
  name: 'neg',
  source: (x) => `-${x}`,
  derivative: () => Tensor.scalar(-1),
});
