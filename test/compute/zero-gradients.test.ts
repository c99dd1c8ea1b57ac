/**
 * Where a derivative is zero and where there is none: PyTorch's floor, ceil, round, trunc and
 * sign pass a gradient of zeros (so 0 · ∞ from a square root at 0 further back is NaN), while
 * detach (stop_gradient) and a comparison pass nothing. Every path of the engine must agree:
 * the tape (its scalar records too), the compiled scalar code and the tensor plan a repeated
 * request runs on, so that a request gets the same answer from any worker, whatever it has cached.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';

/** PyTorch 1.13's gradients (float64, `backward()`), computed for these programs and inputs. */
const cases: { program: string; at: Record<string, number | number[]>; torch: Record<string, unknown> }[] = [
  { program: 'floor(sum(sqrt(v)))', at: { v: [0, 1] }, torch: { v: ['NaN', 0] } },
  { program: 'ceil(sum(sqrt(v)))', at: { v: [0, 1] }, torch: { v: ['NaN', 0] } },
  { program: 'round(sum(sqrt(v)))', at: { v: [0, 1] }, torch: { v: ['NaN', 0] } },
  { program: 'fix(sum(sqrt(v)))', at: { v: [0, 1] }, torch: { v: ['NaN', 0] } },
  { program: 'sign(sum(sqrt(v)))', at: { v: [0, 1] }, torch: { v: ['NaN', 0] } },
  { program: 'floor(sqrt(x))', at: { x: 0 }, torch: { x: 'NaN' } },
  { program: 'sign(log(x))', at: { x: 0 }, torch: { x: 'NaN' } },
  { program: 'floor(sqrt(x)) + x', at: { x: 0 }, torch: { x: 'NaN' } },
  { program: 'stop_gradient(sqrt(x)) + x', at: { x: 0 }, torch: { x: 1 } },
  { program: 'stop_gradient(sum(sqrt(v))) + sum(v)', at: { v: [0, 1] }, torch: { v: [1, 1] } },
  { program: 'where(sqrt(x) > 0, x, 2 * x)', at: { x: 0 }, torch: { x: 2 } },
  { program: 'sum(where(sqrt(v) > 0, v, 2 * v))', at: { v: [0, 1] }, torch: { v: [2, 1] } },
  { program: 'sum(floor(v) .* v)', at: { v: [0.5, 1.5] }, torch: { v: [0, 1] } },
  { program: 'sum(sign(v) .* sqrt(v))', at: { v: [0, 4] }, torch: { v: ['NaN', 0.25] } },
];

t.test("zero gradients and no gradients as PyTorch's, on the first request and on the repeats a plan answers", (t) => {
  for (const { program, at, torch } of cases) {
    // The first request runs the general engine; the plan is made when the program comes again.
    for (const run of ['first', 'second', 'third']) {
      const { grad } = computeSync('grad', { program, at }) as { grad: unknown };
      t.same(grad, torch, `${program}: the ${run} request`);
    }
  }
  t.end();
});
