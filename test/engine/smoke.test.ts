import t from 'tap';
import { Context, Tensor, add, grad, mul, sin } from '../../src/engine/index.js';
import { assertClose } from '../helpers.js';

t.test('gradient of x*y + sin(x) is (y + cos x, x)', (t) => {
  const cx = new Context();
  const r = grad(cx, (cx, [x, y]) => add(cx, mul(cx, x, y), sin(cx, x)), [Tensor.scalar(0.5), Tensor.scalar(4.2)]);
  assertClose(t, r.grads[0], 4.2 + Math.cos(0.5), 'd/dx');
  assertClose(t, r.grads[1], 0.5, 'd/dy');
  t.end();
});
