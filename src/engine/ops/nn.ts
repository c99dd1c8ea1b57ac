/**
 * Neural-network functions, all compositions (no derivative code of their own), with
 * PyTorch's conventions: dimension arguments are 0-based here, losses reduce by their mean.
 */
import { concrete, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { Tensor, formatShape, sameShape } from '../tensor.js';
import { add, lift, mul, neg, sub, type Operand } from './elementwise.js';
import { takeAlong } from './indexing.js';
import { clamp, exp, log, square } from './math.js';
import { logsumexp, mean, sum } from './reduce.js';
import { reshape } from './shape.js';

export type Reduction = 'mean' | 'sum' | 'none';

export function logSoftmax(cx: Context, x: Operand, axis: number): Value {
  const v = lift(x);
  return sub(cx, v, logsumexp(cx, v, [axis], true));
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
  const classes = batched.shape[1];
  const logp = logSoftmax(cx, batched, 1);
  if (sameShape(t.shape, z.shape) && z.shape.length === 2) {
    return reduce(cx, 'cross_entropy', neg(cx, sum(cx, mul(cx, t, logp), [1])), reduction);
  }
  const rows = batched.shape[0];
  const labels = concrete(t);
  if (labels.size !== rows || labels.shape.length > 1) {
    throw new EngineError(
      'SHAPE_MISMATCH',
      `cross_entropy: targets of shape ${formatShape(t.shape)} match neither the ${rows} rows of logits ${formatShape(z.shape)} nor their shape`,
      { op: 'cross_entropy' },
    );
  }
  for (const c of labels.data) {
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new EngineError('INVALID_ARGUMENT', `cross_entropy: class ${c + 1} is not one of 1..${classes}`, { op: 'cross_entropy' });
    }
  }
  const picked = takeAlong(cx, logp, 1, new Tensor([rows, 1], labels.data));
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
