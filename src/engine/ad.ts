/**
 * The differentiation API: vector-Jacobian and Jacobian-vector products, gradients, Jacobians
 * (by either mode), Hessians and Hessian-vector products (forward over reverse). Each takes a
 * function of engine values; because transformations nest, any of them may be applied to a
 * function that itself calls another (a gradient of a gradient is `grad` of `grad`).
 */
import { type Context, type Value } from './core.js';
import { EngineError } from './errors.js';
import { JvpTrace } from './forward.js';
import { Tape } from './reverse.js';
import { Tensor, formatShape, sizeOf } from './tensor.js';
import { reshape } from './ops/shape.js';
import { stack } from './ops/indexing.js';
import { matmul } from './ops/linalg.js';

/** A differentiable function of some inputs. */
export type Fn = (cx: Context, inputs: readonly Value[]) => Value;

export type Mode = 'reverse' | 'forward';

function zerosLike(cx: Context, v: Value): Tensor {
  return cx.alloc('zeros', v.shape);
}

/** A one-hot tensor of `shape` with 1 at flat position k. */
/**
 * The k-th one-hot seed of `shape`. Not charged to the memory budget (each is garbage once its
 * pass is done), but counted as work: a Jacobian of m rows writes m seeds of m elements, which
 * took 40 s for a 10^5-element output with nothing to differentiate and no other work to count.
 */
function basis(cx: Context, shape: readonly number[], k: number): Tensor {
  cx.work('jacobian', sizeOf(shape));
  const t = Tensor.zeros(shape);
  t.data[k] = 1;
  return t;
}

export interface VjpResult {
  value: Value;
  /** The cotangents of the inputs for a cotangent of the output; callable many times. */
  pullback(cotangent: Value): Value[];
  tape: Tape;
}

/** Runs `f` once on a tape; the returned pullback walks it back for any cotangent. */
export function vjp(cx: Context, f: Fn, primals: readonly Value[]): VjpResult {
  const tape = new Tape(cx);
  const leaves = primals.map((p) => tape.leaf(p));
  const out = f(cx, leaves);
  const index = tape.indexOf(out);
  return {
    value: tape.primalOf(out),
    tape,
    pullback(cotangent) {
      if (index < 0) return primals.map((p) => zerosLike(cx, p));
      const cts = tape.backward(index, cotangent);
      return leaves.map((leaf, i) => cts[leaf.index] ?? zerosLike(cx, primals[i]));
    },
  };
}

function requireScalar(op: string, v: Value): void {
  if (sizeOf(v.shape) !== 1) {
    throw new EngineError('NOT_SCALAR', `${op} needs a scalar output, got shape ${formatShape(v.shape)}; pass a cotangent for a vector-Jacobian product`, {
      op,
      shape: v.shape,
    });
  }
}

/**
 * The gradient of a scalar output (a tensor with one element counts) or, with a cotangent,
 * the vector-Jacobian product, as PyTorch's `backward(gradient)`.
 */
export function grad(cx: Context, f: Fn, primals: readonly Value[], cotangent?: Value): { value: Value; grads: Value[] } {
  const { value, pullback } = vjp(cx, f, primals);
  if (cotangent === undefined) requireScalar('grad', value);
  return { value, grads: pullback(cotangent ?? Tensor.full(value.shape, 1)) };
}

/** The output and its tangent for the inputs' tangents (null: zero), by forward mode. */
export function jvp(cx: Context, f: Fn, primals: readonly Value[], tangents: readonly (Value | null)[]): { value: Value; tangent: Value } {
  const trace = new JvpTrace(cx);
  const out = f(
    cx,
    primals.map((p, i) => trace.input(p, tangents[i] ?? null)),
  );
  const { primal, tangent } = trace.split(out);
  return { value: primal, tangent: tangent ?? zerosLike(cx, primal) };
}

/** The gradient by forward mode: one JVP per input element. Same numbers as `grad`. */
export function gradForward(cx: Context, f: Fn, primals: readonly Value[], cotangent?: Value): { value: Value; grads: Value[] } {
  const { value, jacobians } = jacobian(cx, f, primals, 'forward');
  if (cotangent === undefined) requireScalar('grad', value);
  const ct = cotangent ?? Tensor.full(value.shape, 1);
  const grads = jacobians.map((J, i) => contractOutput(cx, ct, J, primals[i].shape));
  return { value, grads };
}

/** Σ_out ct[out] J[out, …]: the vector-Jacobian product from a materialised Jacobian. */
function contractOutput(cx: Context, ct: Value, J: Value, inShape: readonly number[]): Value {
  const m = sizeOf(ct.shape);
  const n = sizeOf(inShape);
  const row = reshape(cx, ct, [1, m]);
  const flat = reshape(cx, J, [m, n]);
  return reshape(cx, matmul(cx, row, flat), inShape);
}

/**
 * Jacobians of the output with respect to each input, each of shape output ++ input. Reverse
 * mode runs the function once and pulls back one basis cotangent per output element; forward
 * mode pushes one basis tangent per input element.
 */
export function jacobian(cx: Context, f: Fn, primals: readonly Value[], mode: Mode = 'reverse'): { value: Value; jacobians: Value[] } {
  if (mode === 'reverse') {
    const { value, pullback } = vjp(cx, f, primals);
    // With nothing to differentiate (empty inputs) every row is empty: no pass is needed.
    const m = primals.every((p) => sizeOf(p.shape) === 0) ? 0 : sizeOf(value.shape);
    const rows: Value[][] = primals.map(() => []);
    for (let k = 0; k < m; k++) {
      const cts = pullback(basis(cx, value.shape, k));
      cts.forEach((c, i) => rows[i].push(c));
    }
    const jacobians = primals.map((p, i) =>
      m === 0 ? cx.alloc('jacobian', [...value.shape, ...p.shape]) : reshape(cx, stack(cx, rows[i], 0), [...value.shape, ...p.shape]),
    );
    return { value, jacobians };
  }
  let value: Value | null = null;
  const jacobians = primals.map((p, i) => {
    const n = sizeOf(p.shape);
    const columns: Value[] = [];
    for (let k = 0; k < n; k++) {
      const tangents = primals.map((_, j) => (j === i ? basis(cx, p.shape, k) : null));
      const r = jvp(cx, f, primals, tangents);
      value = r.value;
      columns.push(r.tangent);
    }
    if (n === 0) return null;
    const outShape = columns[0].shape;
    return reshape(cx, stack(cx, columns, outShape.length), [...outShape, ...p.shape]);
  });
  if (value === null) value = f(cx, primals);
  const v: Value = value;
  return { value: v, jacobians: jacobians.map((J, i) => J ?? cx.alloc('jacobian', [...v.shape, ...primals[i].shape])) };
}

/** The Hessian-vector product: the tangent of the gradient along `v` (forward over reverse). */
export function hvp(cx: Context, f: Fn, primals: readonly Value[], v: readonly (Value | null)[]): { value: Value; grads: Value[]; hvp: Value[] } {
  const outer = new JvpTrace(cx);
  const inputs = primals.map((p, i) => outer.input(p, v[i] ?? null));
  // grad's value, not f's output: that is a tracer of grad's tape, which has ended.
  const { value, grads } = grad(cx, f, inputs);
  const split = grads.map((g) => outer.split(g));
  return {
    value: outer.split(value).primal,
    grads: split.map((s) => s.primal),
    hvp: split.map((s, i) => s.tangent ?? zerosLike(cx, primals[i])),
  };
}

/**
 * The Hessian of a scalar output: H[i][j] of shape input_i ++ input_j, one Hessian-vector
 * product per input element. Returns the value and gradient too.
 */
export function hessian(cx: Context, f: Fn, primals: readonly Value[]): { value: Value; grads: Value[]; hessian: Value[][] } {
  // Checked on the first run, before the inner `grad` would report it as its own.
  const scalarF: Fn = (cx2, xs) => {
    const out = f(cx2, xs);
    requireScalar('hessian', out);
    return out;
  };
  let value: Value | null = null;
  let grads: Value[] = [];
  const columns: Value[][][] = primals.map(() => primals.map(() => []));
  primals.forEach((p, j) => {
    for (let k = 0; k < sizeOf(p.shape); k++) {
      const r = hvp(cx, scalarF, primals, primals.map((_, i) => (i === j ? basis(cx, p.shape, k) : null)));
      value = r.value;
      grads = r.grads;
      r.hvp.forEach((h, i) => columns[i][j].push(h));
    }
  });
  if (value === null) {
    const g = grad(cx, scalarF, primals);
    value = g.value;
    grads = g.grads;
  }
  const hessian = primals.map((pi, i) =>
    primals.map((pj, j) => {
      const cols = columns[i][j];
      const shape = [...pi.shape, ...pj.shape];
      return cols.length === 0 ? cx.alloc('hessian', shape) : reshape(cx, stack(cx, cols, pi.shape.length), shape);
    }),
  );
  return { value, grads, hessian };
}
