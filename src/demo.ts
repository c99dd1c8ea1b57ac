/**
 * `npm start` until the HTTP service exists: the lab's first examples, computed by the engine
 * and printed next to their closed forms.
 */
import {
  Context,
  Tensor,
  add,
  compileGradient,
  concrete,
  grad,
  gradForward,
  hessian,
  mul,
  sin,
  square,
  type Fn,
  type Value,
} from './engine/index.js';

const show = (v: Value): string => JSON.stringify(concrete(v).toNested());
const cx = new Context();

const lab: Fn = (cx, [x, y]) => add(cx, mul(cx, x, y), sin(cx, x));
const at = [Tensor.scalar(0.5), Tensor.scalar(4.2)];
const reverse = grad(cx, lab, at);
const forward = gradForward(cx, lab, at);
console.log('z = x*y + sin(x) at x = 0.5, y = 4.2');
console.log(`  value ${show(reverse.value)}`);
console.log(`  reverse mode dz/dx = ${show(reverse.grads[0])}, dz/dy = ${show(reverse.grads[1])}`);
console.log(`  forward mode dz/dx = ${show(forward.grads[0])}, dz/dy = ${show(forward.grads[1])}`);
console.log(`  closed form  dz/dx = y + cos(x) = ${4.2 + Math.cos(0.5)}, dz/dy = x = 0.5`);

const loop: Fn = (cx, [x]) => {
  let z: Value = Tensor.scalar(1);
  for (let i = 0; i < 2; i++) z = mul(cx, mul(cx, add(cx, z, i), x), x);
  return z;
};
const differentiated = grad(cx, loop, [Tensor.scalar(0.5)]);
console.log('\nz = 1; for i = 0:1, z = (z + i) * x * x; at x = 0.5');
console.log(`  value ${show(differentiated.value)}, dz/dx = ${show(differentiated.grads[0])} (closed form z = x^4 + x^2, dz/dx = 4x^3 + 2x = ${4 * 0.5 ** 3 + 2 * 0.5})`);

const quadratic: Fn = (cx, [x, y]) => add(cx, mul(cx, square(cx, x), y), sin(cx, mul(cx, x, y)));
const h = hessian(cx, quadratic, [Tensor.scalar(0.7), Tensor.scalar(-1.1)]);
console.log('\nHessian of x^2 y + sin(x y) at (0.7, -1.1), forward over reverse:');
console.log(`  [[${show(h.hessian[0][0])}, ${show(h.hessian[0][1])}], [${show(h.hessian[1][0])}, ${show(h.hessian[1][1])}]]`);

const compiled = compileGradient(lab, 2);
const points = compiled.run([Float64Array.of(0, 0.5, 1), Float64Array.of(4.2)], 3);
console.log('\nThe same gradient compiled to one loop over points x = 0, 0.5, 1 (y = 4.2):');
console.log(`  dz/dx = ${JSON.stringify(Array.from(points.grads[0]))}`);
console.log('\nThe HTTP service arrives with the service issue; see README.md.');
