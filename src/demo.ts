/**
 * `npm run demo`: the lab's first examples computed in-process, through `compute` (exactly what
 * `POST /v1/<endpoint>` answers) and through the engine directly, next to closed forms.
 */
import { Context, Tensor, add, concrete, hessian, mul, sin, square } from './engine/index.js';
import { Problem, computeSync } from './index.js';

const show = (endpoint: string, body: Record<string, unknown>, closedForm: string): void => {
  console.log(`POST /v1/${endpoint} ${JSON.stringify(body)}`);
  try {
    console.log(`  -> ${JSON.stringify(computeSync(endpoint, body))}`);
  } catch (e) {
    console.log(`  -> ${JSON.stringify(e instanceof Problem ? e.body : String(e))}`);
  }
  console.log(`     (${closedForm})\n`);
};

show('grad', { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } }, `closed form: dz/dx = y + cos x = ${4.2 + Math.cos(0.5)}, dz/dy = x = 0.5`);
show('grad', { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 }, options: { mode: 'forward' } }, 'the same numbers by forward mode');
show('grad', { program: 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz', at: { x: 0.5 } }, `z = x^4 + x^2, dz/dx = 4x^3 + 2x = ${4 * 0.5 ** 3 + 2 * 0.5}`);
show(
  'grad',
  { program: '[2; 4] .* x + [1; 0] .* sin(x) + [0; 1] .* cos(x)', at: { x: [[1], [1]] }, cotangent: [[1], [1]] },
  `multiple outputs with a cotangent: [2 + cos 1, 4 - sin 1] = [${2 + Math.cos(1)}, ${4 - Math.sin(1)}]`,
);
show('trace', { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } }, 'the Wengert list: each step with its value, its tangent along x and its adjoint');
show('grad', { program: 'sigmod(x)', at: { x: 1 } }, 'a typo gets a 422 naming the closest function');

const cx = new Context();
const h = hessian(cx, (cx, [x, y]) => add(cx, mul(cx, square(cx, x), y), sin(cx, mul(cx, x, y))), [Tensor.scalar(0.7), Tensor.scalar(-1.1)]);
console.log('The engine directly: the Hessian of x^2 y + sin(x y) at (0.7, -1.1), forward over reverse:');
console.log(`  ${JSON.stringify(h.hessian.map((row) => row.map((v) => concrete(v).item())))}`);
console.log('\nThe same requests over HTTP: `npm start` serves them on http://localhost:8080 (POST /v1/<endpoint> with a body above); docs/api.md has the contract and curl examples for every endpoint.');
