/**
 * Bad input gets a typed EngineError: its code, the op that refused it, and a message naming the
 * op and the shapes (or the offending index or value). Messages count indices and axes from 1,
 * as the language's users do, although the engine's own arguments are 0-based.
 */
import t from 'tap';
import {
  Tensor,
  add,
  assign,
  binaryCrossEntropy,
  concat,
  crossEntropy,
  det,
  dot,
  expand,
  grad,
  gradForward,
  hessian,
  inv,
  jvp,
  logSoftmax,
  matmul,
  matrixPower,
  max,
  mseLoss,
  mul,
  norm,
  permute,
  polygamma,
  reshape,
  scatterAddAlong,
  select,
  selectAdd,
  sin,
  solve,
  stack,
  sum,
  sumTo,
  takeAlong,
  trace,
  vjp,
  where,
  type Context,
  type Reduction,
} from '../../src/engine/index.js';
import { assertEngineError, type ExpectedError } from '../helpers.js';

interface ErrorCase extends ExpectedError {
  name: string;
  run: (cx: Context) => unknown;
}

const T = (nested: unknown): Tensor => Tensor.fromNested(nested);
const zeros = (...shape: number[]): Tensor => Tensor.zeros(shape);
const grid = (...axes: number[][]): Int32Array[] => axes.map((a) => Int32Array.from(a));
const singular = T([
  [1, 2],
  [2, 4],
]);

const shapeMismatches: ErrorCase[] = [
  {
    name: 'add of [2, 3] and [4]',
    run: (cx) => add(cx, zeros(2, 3), zeros(4)),
    code: 'SHAPE_MISMATCH',
    op: 'add',
    message: [/^add:/, /\[2, 3\] and \[4\]/],
  },
  {
    name: 'mul of [3, 2] and [2, 3] while recording a gradient',
    run: (cx) => grad(cx, (cx, [x]) => sum(cx, mul(cx, x, zeros(2, 3))), [zeros(3, 2)]),
    code: 'SHAPE_MISMATCH',
    op: 'mul',
    message: [/^mul:/, /\[3, 2\] and \[2, 3\]/],
  },
  {
    name: 'matmul of [2, 3] and [2, 3]',
    run: (cx) => matmul(cx, zeros(2, 3), zeros(2, 3)),
    code: 'SHAPE_MISMATCH',
    op: 'matmul',
    message: [/matrix product/, /\[2, 3\] times \[2, 3\]/, /3 vs 2/],
  },
  {
    name: 'matmul of a vector [3] and a matrix [2, 2]',
    run: (cx) => matmul(cx, zeros(3), zeros(2, 2)),
    code: 'SHAPE_MISMATCH',
    op: 'matmul',
    message: [/matrix product/, /\[3\] times \[2, 2\]/],
  },
  {
    name: 'matmul of vectors [3] and [2]',
    run: (cx) => matmul(cx, zeros(3), zeros(2)),
    code: 'SHAPE_MISMATCH',
    op: 'matmul',
    message: [/matrix product/, /\[3\] times \[2\]/],
  },
  {
    name: 'matmul with batch axes [2] and [3]',
    run: (cx) => matmul(cx, zeros(2, 2, 3), zeros(3, 3, 2)),
    code: 'SHAPE_MISMATCH',
    op: 'matmul',
    message: [/^matmul:/, /\[2\] and \[3\]/],
  },
  {
    name: 'matmul of a scalar',
    run: (cx) => matmul(cx, 2, zeros(2, 2)),
    code: 'SHAPE_MISMATCH',
    op: 'matmul',
    message: [/matrix product/, /\[\] and \[2, 2\]/],
  },
  {
    name: 'dot of [3] and [2]',
    run: (cx) => dot(cx, zeros(3), zeros(2)),
    code: 'SHAPE_MISMATCH',
    op: 'dot',
    message: [/^dot:/, /\[3\] and \[2\]/],
  },
  {
    name: 'concat of [2, 3] and [2, 4] along axis 0',
    run: (cx) => concat(cx, [zeros(2, 3), zeros(2, 4)], 0),
    code: 'SHAPE_MISMATCH',
    op: 'concat',
    message: [/^concat:/, /\[2, 3\], \[2, 4\]/],
  },
  {
    name: 'stack of [2] and [3]',
    run: (cx) => stack(cx, [zeros(2), zeros(3)]),
    code: 'SHAPE_MISMATCH',
    op: 'stack',
    message: [/^stack:/, /\[2\], \[3\]/],
  },
  {
    name: 'where with a [2] condition and [3] branches',
    run: (cx) => where(cx, zeros(2), zeros(3), 0),
    code: 'SHAPE_MISMATCH',
    op: 'where',
    message: [/^where:/, /\[2\] and \[3\]/],
  },
  {
    name: 'where with [3] branches and a [2, 2] other branch',
    run: (cx) => where(cx, zeros(3), zeros(3), zeros(2, 2)),
    code: 'SHAPE_MISMATCH',
    op: 'where',
    message: [/^where:/, /\[3\] and \[2, 2\]/],
  },
  {
    name: 'expand of [3] to [4]',
    run: (cx) => expand(cx, zeros(3), [4]),
    code: 'SHAPE_MISMATCH',
    op: 'expand',
    message: [/^expand:/, /\[3\]/, /\[4\]/],
  },
  {
    name: 'sumTo of [2, 3] to [4]',
    run: (cx) => sumTo(cx, zeros(2, 3), [4]),
    code: 'SHAPE_MISMATCH',
    op: 'sumTo',
    message: [/^sumTo:/, /\[4\]/, /\[2, 3\]/],
  },
  {
    name: 'takeAlong with an index of shape [2, 2] into [3, 3] along axis 0',
    run: (cx) => takeAlong(cx, zeros(3, 3), 0, T([[0, 1], [1, 0]])),
    code: 'SHAPE_MISMATCH',
    op: 'takeAlong',
    message: [/^takeAlong:/, /\[2, 2\]/, /\[3, 3\]/],
  },
  {
    name: 'selectAdd of [2, 2] values into a grid of shape [1, 1]',
    run: (cx) => selectAdd(cx, zeros(2, 2), grid([0], [1]), [3, 2]),
    code: 'SHAPE_MISMATCH',
    op: 'selectAdd',
    message: [/^selectAdd:/, /\[2, 2\]/, /\[1, 1\]/],
  },
  {
    name: 'solve of [2, 2] with a right-hand side [3]',
    run: (cx) => solve(cx, T([[1, 0], [0, 1]]), zeros(3)),
    code: 'SHAPE_MISMATCH',
    op: 'solve',
    message: [/^solve:/, /\[3\]/, /\[2, 2\]/],
  },
  {
    name: 'crossEntropy of logits [2, 3] against 3 class indices',
    run: (cx) => crossEntropy(cx, zeros(2, 3), T([0, 1, 2])),
    code: 'SHAPE_MISMATCH',
    op: 'cross_entropy',
    message: [/^cross_entropy:/, /targets of shape \[3\]/, /logits \[2, 3\]/],
  },
];

const badReshapes: ErrorCase[] = [
  {
    name: 'reshape of [2, 3] to [4]',
    run: (cx) => reshape(cx, zeros(2, 3), [4]),
    code: 'SHAPE_MISMATCH',
    op: 'reshape',
    message: [/^reshape:/, /\[2, 3\] \(6 elements\) to \[4\]/],
  },
  {
    name: 'reshape of [6] to [-2, -3]',
    run: (cx) => reshape(cx, zeros(6), [-2, -3]),
    code: 'SHAPE_MISMATCH',
    op: 'reshape',
    message: [/^reshape:/, /\[6\]/, /\[-2, -3\]/],
  },
  {
    name: 'permute of [2, 3] by [1, 1]',
    run: (cx) => permute(cx, zeros(2, 3), [1, 1]),
    code: 'INVALID_ARGUMENT',
    op: 'permute',
    message: [/^permute:/, /\[1, 1\] is not a permutation of the 2 axes of \[2, 3\]/],
  },
  {
    name: 'permute of [2, 3] by [0]',
    run: (cx) => permute(cx, zeros(2, 3), [0]),
    code: 'INVALID_ARGUMENT',
    op: 'permute',
    message: [/^permute:/, /\[0\]/, /\[2, 3\]/],
  },
  {
    name: 'permute of [2, 3] by [0, 2]',
    run: (cx) => permute(cx, zeros(2, 3), [0, 2]),
    code: 'INVALID_ARGUMENT',
    op: 'permute',
    message: [/^permute:/, /\[0, 2\]/, /\[2, 3\]/],
  },
];

const outOfRange: ErrorCase[] = [
  {
    name: 'select of row 3 from [3, 2]',
    run: (cx) => select(cx, zeros(3, 2), grid([3], [0])),
    code: 'INVALID_ARGUMENT',
    op: 'index',
    message: [/index 4 is out of range for axis 1 of extent 3/, /\[3, 2\]/],
  },
  {
    name: 'select of column -1 from [3, 2]',
    run: (cx) => select(cx, zeros(3, 2), grid([0], [-1])),
    code: 'INVALID_ARGUMENT',
    op: 'index',
    message: [/index 0 is out of range for axis 2 of extent 2/, /\[3, 2\]/],
  },
  {
    name: 'select with one index list for [3, 2]',
    run: (cx) => select(cx, zeros(3, 2), grid([0])),
    code: 'INVALID_ARGUMENT',
    op: 'index',
    message: [/1 indices for a tensor of rank 2/, /\[3, 2\]/],
  },
  {
    name: 'select of row 3 from [3, 2] while recording a gradient',
    run: (cx) => grad(cx, (cx, [x]) => sum(cx, select(cx, x, grid([3], [0]))), [zeros(3, 2)]),
    code: 'INVALID_ARGUMENT',
    op: 'index',
    message: [/index 4 is out of range/, /\[3, 2\]/],
  },
  {
    name: 'selectAdd into row 3 of [3, 2]',
    run: (cx) => selectAdd(cx, zeros(1, 1), grid([3], [0]), [3, 2]),
    code: 'INVALID_ARGUMENT',
    op: 'selectAdd',
    message: [/index 4 is out of range for axis 1 of extent 3/, /\[3, 2\]/],
  },
  {
    name: 'selectAdd into column 2 of [3, 2], which would land in the next row',
    run: (cx) => selectAdd(cx, zeros(1, 1), grid([0], [2]), [3, 2]),
    code: 'INVALID_ARGUMENT',
    op: 'selectAdd',
    message: [/index 3 is out of range for axis 2 of extent 2/, /\[3, 2\]/],
  },
  {
    name: 'assign into row 3 of [3, 2]',
    run: (cx) => assign(cx, zeros(3, 2), Tensor.scalar(1), grid([3], [0])),
    code: 'INVALID_ARGUMENT',
    op: 'index assignment',
    message: [/index 4 is out of range for axis 1 of extent 3/, /\[3, 2\]/],
  },
  {
    name: 'takeAlong of position 3 along an axis of extent 3',
    run: (cx) => takeAlong(cx, zeros(2, 3), 1, T([[0], [3]])),
    code: 'INVALID_ARGUMENT',
    op: 'takeAlong',
    message: [/^takeAlong:/, /index 4 is out of range 1\.\.3 along axis 2/],
  },
  {
    name: 'takeAlong of position 0.5',
    run: (cx) => takeAlong(cx, zeros(2, 3), 1, T([[0], [0.5]])),
    code: 'INVALID_ARGUMENT',
    op: 'takeAlong',
    message: [/^takeAlong:/, /index 1\.5 is out of range 1\.\.3/],
  },
  {
    name: 'scatterAddAlong to position -1',
    run: (cx) => scatterAddAlong(cx, zeros(2, 1), 1, T([[0], [-1]]), [2, 3]),
    code: 'INVALID_ARGUMENT',
    op: 'scatterAddAlong',
    message: [/^scatterAddAlong:/, /index 0 is out of range 1\.\.3 along axis 2/],
  },
  {
    name: 'crossEntropy against class index 3 of 3 classes',
    run: (cx) => crossEntropy(cx, zeros(2, 3), T([0, 3])),
    code: 'INVALID_ARGUMENT',
    op: 'cross_entropy',
    message: [/^cross_entropy:/, /class 4 is not one of 1\.\.3/],
  },
  {
    name: 'crossEntropy against class index -1',
    run: (cx) => crossEntropy(cx, zeros(3), -1),
    code: 'INVALID_ARGUMENT',
    op: 'cross_entropy',
    message: [/^cross_entropy:/, /class 0 is not one of 1\.\.3/],
  },
  {
    name: 'crossEntropy against class index 1.5',
    run: (cx) => crossEntropy(cx, zeros(2, 3), T([0, 1.5])),
    code: 'INVALID_ARGUMENT',
    op: 'cross_entropy',
    message: [/^cross_entropy:/, /class 2\.5 is not one of 1\.\.3/],
  },
];

const badAxes: ErrorCase[] = [
  {
    name: 'concat of [2, 3] along axis 2',
    run: (cx) => concat(cx, [zeros(2, 3), zeros(2, 3)], 2),
    code: 'INVALID_ARGUMENT',
    op: 'concat',
    message: [/^concat:/, /axis 3 does not exist for rank 2/],
  },
  {
    name: 'stack of [2] along axis 2',
    run: (cx) => stack(cx, [zeros(2), zeros(2)], 2),
    code: 'INVALID_ARGUMENT',
    op: 'stack',
    message: [/^stack:/, /axis 3/, /\[2\]/],
  },
  {
    name: 'stack of [2] along axis -1',
    run: (cx) => stack(cx, [zeros(2), zeros(2)], -1),
    code: 'INVALID_ARGUMENT',
    op: 'stack',
    message: [/^stack:/, /axis 0/, /\[2\]/],
  },
  {
    name: 'sum of [2, 3] along axis 2',
    run: (cx) => sum(cx, zeros(2, 3), [2]),
    code: 'INVALID_ARGUMENT',
    op: 'sum',
    message: [/^sum:/, /dimension 3 does not exist for shape \[2, 3\]/],
  },
  {
    name: 'max of [2, 3] along axis 5',
    run: (cx) => max(cx, zeros(2, 3), 5),
    code: 'INVALID_ARGUMENT',
    op: 'max',
    message: [/^max:/, /dimension 6 does not exist for shape \[2, 3\]/],
  },
  {
    name: 'logSoftmax of [2, 3] along axis 2',
    run: (cx) => logSoftmax(cx, zeros(2, 3), 2),
    code: 'INVALID_ARGUMENT',
    op: 'log_softmax',
    message: [/^log_softmax:/, /dimension 3 does not exist for shape \[2, 3\]/],
  },
];

const badMatrices: ErrorCase[] = [
  {
    name: 'det of [2, 3]',
    run: (cx) => det(cx, zeros(2, 3)),
    code: 'SHAPE_MISMATCH',
    op: 'det',
    message: [/^det:/, /needs a square matrix, got shape \[2, 3\]/],
  },
  {
    name: 'det of a vector [3]',
    run: (cx) => det(cx, zeros(3)),
    code: 'SHAPE_MISMATCH',
    op: 'det',
    message: [/^det:/, /square matrix, got shape \[3\]/],
  },
  {
    name: 'inv of [3, 2]',
    run: (cx) => inv(cx, zeros(3, 2)),
    code: 'SHAPE_MISMATCH',
    op: 'inv',
    message: [/^inv:/, /needs a square matrix, got shape \[3, 2\]/],
  },
  {
    name: 'trace of [2, 3]',
    run: (cx) => trace(cx, zeros(2, 3)),
    code: 'SHAPE_MISMATCH',
    op: 'trace',
    message: [/^trace:/, /needs a square matrix, got shape \[2, 3\]/],
  },
  {
    name: 'matrixPower of [2, 3]',
    run: (cx) => matrixPower(cx, zeros(2, 3), 2),
    code: 'SHAPE_MISMATCH',
    op: 'matrix power',
    message: [/^matrix power:/, /needs a square matrix, got shape \[2, 3\]/],
  },
  {
    name: 'solve with a matrix [2, 3]',
    run: (cx) => solve(cx, zeros(2, 3), zeros(2)),
    code: 'SHAPE_MISMATCH',
    op: 'solve',
    message: [/^solve:/, /needs a square matrix, got shape \[2, 3\]/],
  },
  {
    name: 'inv of the singular [[1, 2], [2, 4]]',
    run: (cx) => inv(cx, singular),
    code: 'INVALID_ARGUMENT',
    op: 'inv',
    message: [/^inv:/, /\[2, 2\] is singular/],
  },
  {
    name: 'inv of a zero 3×3 matrix while recording a gradient',
    run: (cx) => grad(cx, (cx, [a]) => sum(cx, inv(cx, a)), [zeros(3, 3)]),
    code: 'INVALID_ARGUMENT',
    op: 'inv',
    message: [/^inv:/, /\[3, 3\] is singular/],
  },
  {
    name: 'solve with the singular [[1, 2], [2, 4]]',
    run: (cx) => solve(cx, singular, T([1, 1])),
    code: 'INVALID_ARGUMENT',
    op: 'solve',
    message: [/^solve:/, /\[2, 2\] is singular/],
  },
  {
    name: 'matrixPower -1 of the singular [[1, 2], [2, 4]]',
    run: (cx) => matrixPower(cx, singular, -1),
    code: 'INVALID_ARGUMENT',
    op: 'inv',
    message: [/^inv:/, /singular/],
  },
  {
    name: 'matrixPower with exponent 0.5',
    run: (cx) => matrixPower(cx, singular, 0.5),
    code: 'INVALID_ARGUMENT',
    op: 'matrixPower',
    message: [/^matrix power:/, /integer, got 0\.5/],
  },
];

const badArguments: ErrorCase[] = [
  ...(['avg', 'total'] as const).map(
    (reduction): ErrorCase => ({
      name: `crossEntropy with reduction "${reduction}"`,
      run: (cx) => crossEntropy(cx, zeros(2, 3), T([0, 1]), reduction as unknown as Reduction),
      code: 'INVALID_ARGUMENT',
      op: 'cross_entropy',
      message: [/^cross_entropy:/, /reduction must be "mean", "sum" or "none"/, new RegExp(`got "${reduction}"`)],
    }),
  ),
  {
    name: 'mseLoss with reduction "average"',
    run: (cx) => mseLoss(cx, zeros(3), zeros(3), 'average' as unknown as Reduction),
    code: 'INVALID_ARGUMENT',
    op: 'mse_loss',
    message: [/^mse_loss:/, /got "average"/],
  },
  {
    name: 'binaryCrossEntropy with reduction "batchmean"',
    run: (cx) => binaryCrossEntropy(cx, T([0.5]), T([1]), 'batchmean' as unknown as Reduction),
    code: 'INVALID_ARGUMENT',
    op: 'binary_cross_entropy',
    message: [/^binary_cross_entropy:/, /got "batchmean"/],
  },
  {
    name: 'norm with p = 0',
    run: (cx) => norm(cx, zeros(3), 0),
    code: 'INVALID_ARGUMENT',
    op: 'norm',
    message: [/^norm:/, /got 0/],
  },
  {
    name: 'polygamma of order -1',
    run: (cx) => polygamma(cx, -1, 1),
    code: 'INVALID_ARGUMENT',
    op: 'polygamma',
    message: [/^polygamma:/, /got -1/],
  },
];

const badDifferentiation: ErrorCase[] = [
  {
    name: 'grad of an output of shape [3] without a cotangent',
    run: (cx) => grad(cx, (cx, [x]) => sin(cx, x), [zeros(3)]),
    code: 'NOT_SCALAR',
    op: 'grad',
    message: [/^grad needs a scalar output, got shape \[3\]/, /cotangent/],
  },
  {
    name: 'grad by forward mode of an output of shape [2, 2] without a cotangent',
    run: (cx) => gradForward(cx, (cx, [x]) => sin(cx, x), [zeros(2, 2)]),
    code: 'NOT_SCALAR',
    op: 'grad',
    message: [/^grad needs a scalar output, got shape \[2, 2\]/],
  },
  {
    name: 'hessian of an output of shape [2]',
    run: (cx) => hessian(cx, (cx, [x]) => sin(cx, x), [zeros(2)]),
    code: 'NOT_SCALAR',
    op: 'hessian',
    message: [/^hessian needs a scalar output, got shape \[2\]/],
  },
  {
    name: 'grad of an output of shape [3] with a cotangent of shape [2]',
    run: (cx) => grad(cx, (cx, [x]) => sin(cx, x), [zeros(3)], zeros(2)),
    code: 'SHAPE_MISMATCH',
    op: 'backward',
    message: [/cotangent of shape \[2\]/, /output's shape \[3\]/],
  },
  {
    name: 'a pullback of an output of shape [2, 2] with a cotangent of shape [4]',
    run: (cx) => vjp(cx, (cx, [x]) => sin(cx, x), [zeros(2, 2)]).pullback(zeros(4)),
    code: 'SHAPE_MISMATCH',
    op: 'backward',
    message: [/cotangent of shape \[4\]/, /output's shape \[2, 2\]/],
  },
  {
    name: 'jvp of an input of shape [3] with a tangent of shape [3, 1]',
    run: (cx) => jvp(cx, (cx, [x]) => sin(cx, x), [zeros(3)], [zeros(3, 1)]),
    code: 'SHAPE_MISMATCH',
    op: 'jvp',
    message: [/tangent of shape \[3, 1\]/, /\[3\]/],
  },
];

const tables: Record<string, ErrorCase[]> = {
  'shape mismatches name both shapes': shapeMismatches,
  'bad reshapes and permutations': badReshapes,
  'out-of-range indices name the index and the extent': outOfRange,
  'axes that do not exist': badAxes,
  'non-square and singular matrices': badMatrices,
  'invalid arguments': badArguments,
  'differentiation asked the impossible': badDifferentiation,
};

for (const [title, cases] of Object.entries(tables)) {
  t.test(title, (t) => {
    for (const c of cases) {
      t.test(c.name, (t) => {
        assertEngineError(t, c.name, c.run, c);
        t.end();
      });
    }
    t.end();
  });
}
