/**
 * Neural-network functions, all compositions (no derivative code of their own), with
 * PyTorch's conventions: dimension arguments are 0-based here, losses reduce by their mean.
 */
import { bind, definePrimitive, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import * as fdlibm from '../fdlibm.js';
import { formatShape, sameShape, sizeOf } from '../tensor.js';
import { add, lift, mul, neg, sub, type Operand } from './elementwise.js';
import { takeAlong } from './indexing.js';
import { clamp, exp, log, square } from './math.js';
import { mean, sum } from './reduce.js';
import { reshape } from './shape.js';

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * log softmax along an axis, as one primitive rather than x - logsumexp(x): one pass per row
 * forward, and a three-operation rule (g - softmax · Σg) instead of the composition's dozen
 * tensor operations, which dominate a small classifier's training step.
 */
const logSoftmaxPrim = definePrimitive<number>({
  name: 'log_softmax',
  impl(cx, [x], axis) {
    // Every element is written.
    const out = cx.allocForWriting('log_softmax', x.shape);
    const extent = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const outer = sizeOf(x.shape.slice(0, axis));
    logSoftmaxAlong(x.data, out.data, outer, extent, inner);
    return out;
  },
  // d log softmax = t - Σ softmax · t along the axis; its transpose is g - softmax · Σ g.
  jvp: (cx, _p, [t], out, axis) => sub(cx, t!, sum(cx, mul(cx, exp(cx, out), t!), [axis], true)),
  vjp: (cx, g, _p, out, axis) => [sub(cx, g, mul(cx, exp(cx, out), sum(cx, g, [axis], true)))],
});

/** log softmax of each of outer × inner lines of `extent` elements, `inner` apart. */
function logSoftmaxAlong(src: Float64Array, dst: Float64Array, outer: number, extent: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * extent * inner + i;
      let m = -Infinity;
      for (let k = 0; k < extent; k++) m = Math.max(m, src[base + k * inner]);
      // All -Infinity (or +Infinity somewhere): no finite shift exists; let IEEE decide.
      if (!Number.isFinite(m)) m = 0;
      let total = 0;
      for (let k = 0; k < extent; k++) total += fdlibm.exp(src[base + k * inner] - m);
      const shift = m + Math.log(total);
      for (let k = 0; k < extent; k++) dst[base + k * inner] = src[base + k * inner] - shift;
    }
  }
}

export function logSoftmax(cx: Context, x: Operand, axis: number): Value {
  const v = lift(x);
  if (!Number.isInteger(axis) || axis < 0 || axis >= v.shape.length) {
    throw new EngineError('INVALID_ARGUMENT', `log_softmax: dimension ${axis + 1} does not exist for shape ${formatShape(v.shape)}`, {
      op: 'log_softmax',
    });
  }
  return bind(cx, logSoftmaxPrim, [v], axis);
}

export function softmax(cx: Context, x: Operand, axis: number): Value {
  return exp(cx, logSoftmax(cx, x, axis));
}

function reduce(cx: Context, op: string, losses: Value, reduction: Reduction): Value {
  if (reduction === 'mean') return mean(cx, losses);
  if (reduction === 'sum') return sum(cx, losses);
  if (reduction === 'none') return losses;
  throw new EngineError('INVALID_ARGUMENT', `${op}: reduction must be "mean", "sum" or "none", got "${String(reduction)}"`, { op });
}

/**
 * Cross-entropy of logits (N×C, or C for one example) against class indices (0-based, N of
 * them) or against class probabilities shaped like the logits, as PyTorch's `cross_entropy`.
 */
export function crossEntropy(cx: Context, logits: Operand, targets: Operand, reduction: Reduction = 'mean'): Value {
  const z = lift(logits);
  const t = lift(targets);
  if (z.shape.length !== 1 && z.shape.length !== 2) {
    throw new EngineError('SHAPE_MISMATCH', `cross_entropy: logits must be a vector or a matrix, got ${formatShape(z.shape)}`, { op: 'cross_entropy' });
  }
  const batched = z.shape.length === 2 ? z : reshape(cx, z, [1, z.shape[0]]);
  const logp = logSoftmax(cx, batched, 1);
  // As PyTorch: targets shaped like the logits are probabilities, for one example too.
  if (sameShape(t.shape, z.shape)) {
    const losses = neg(cx, sum(cx, mul(cx, reshape(cx, t, batched.shape), logp), [1]));
    return reduce(cx, 'cross_entropy', z.shape.length === 2 ? losses : reshape(cx, losses, []), reduction);
  }
  const rows = batched.shape[0];
  if (sizeOf(t.shape) !== rows || t.shape.length > 1) {
    throw new EngineError(
      'SHAPE_MISMATCH',
      `cross_entropy: targets of shape ${formatShape(t.shape)} match neither the ${rows} rows of logits ${formatShape(z.shape)} nor their shape`,
      { op: 'cross_entropy' },
    );
  }
  // The labels are an operand of the pick, checked by its kernel, so a plan reads them at each run.
  const picked = takeAlong(cx, logp, 1, reshape(cx, t, [rows, 1]), 'cross_entropy');
  const losses = neg(cx, reshape(cx, picked, z.shape.length === 2 ? [rows] : []));
  return reduce(cx, 'cross_entropy', losses, reduction);
}

export function mseLoss(cx: Context, input: Operand, target: Operand, reduction: Reduction = 'mean'): Value {
  return reduce(cx, 'mse_loss', square(cx, sub(cx, lift(input), lift(target))), reduction);
}

/** Binary cross-entropy of probabilities; logarithms are clamped at -100 as in PyTorch. */
export function binaryCrossEntropy(cx: Context, p: Operand, y: Operand, reduction: Reduction = 'mean'): Value {
  const prob = lift(p);
  const target = lift(y);
  const logP = clamp(cx, log(cx, prob), -100, Infinity);
  const log1mP = clamp(cx, log(cx, sub(cx, 1, prob)), -100, Infinity);
  const losses = neg(cx, add(cx, mul(cx, target, logP), mul(cx, sub(cx, 1, target), log1mP)));
  return reduce(cx, 'binary_cross_entropy', losses, reduction);
}
