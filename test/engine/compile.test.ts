/**
 * The compiler: compiled gradients equal the engine's at every point, code that cannot be
 * compiled is refused, and nothing but generated names and formatted numbers reaches the
 * generated source. Also the tape's compiled scalar rules against its general path.
 */
import t from 'tap';
import {
  Context,
  NotCompilable,
  Tensor,
  add,
  atan2,
  compileGradient,
  primitives,
  concrete,
  div,
  exp,
  grad,
  gt,
  lgamma,
  log1p,
  maximum,
  mul,
  pow,
  prod,
  relu,
  sigmoid,
  sin,
  softplus,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  where,
  type Fn,
  type Value,
} from '../../src/engine/index.js';
import { scalarVjpOf, tensorVjpOf } from '../../src/engine/codegen.js';
import { assertClose } from '../helpers.js';

const cases: { name: string; arity: number; f: Fn }[] = [
  { name: 'x*y + sin(x)', arity: 2, f: (cx, [x, y]) => add(cx, mul(cx, x, y), sin(cx, x)) },
  {
    name: 'the lab loop z = (z + i) * x * x, 10 times',
    arity: 1,
    f: (cx, [x]) => {
      let z: Value = Tensor.scalar(1);
      for (let i = 0; i < 10; i++) z = mul(cx, mul(cx, add(cx, z, i), x), x);
      return z;
    },
  },
  { name: 'pow, division and log1p', arity: 2, f: (cx, [x, y]) => div(cx, pow(cx, x, y), log1p(cx, square(cx, y))) },
  { name: 'kinks: relu, maximum, where', arity: 2, f: (cx, [x, y]) => add(cx, relu(cx, sub(cx, x, y)), where(cx, gt(cx, x, 0), maximum(cx, x, y), mul(cx, x, 3))) },
  { name: 'sigmoid, softplus, tanh, atan2', arity: 2, f: (cx, [x, y]) => mul(cx, sigmoid(cx, x), add(cx, softplus(cx, y), atan2(cx, tanh(cx, x), y))) },
  { name: 'lgamma and sqrt', arity: 1, f: (cx, [x]) => add(cx, lgamma(cx, x), sqrt(cx, x)) },
  { name: 'constants that are not plain numbers', arity: 1, f: (cx, [x]) => add(cx, mul(cx, x, -0), mul(cx, exp(cx, x), 1e-300)) },
];

const points = [-1.7, -0.3, 0, 0.25, 0.9, 2.4, 3.1];

t.test('compiled value and gradient equal the engine at every point', (t) => {
  for (const c of cases) {
    const compiled = compileGradient(c.f, c.arity);
    const inputs = Array.from({ length: c.arity }, (_, k) => Float64Array.from(points, (p) => p + 0.37 * k));
    const { value, grads } = compiled.run(inputs, points.length);
    points.forEach((_, i) => {
      const at = inputs.map((column) => Tensor.scalar(column[i]));
      const expected = grad(new Context(), c.f, at);
      assertClose(t, value[i], expected.value, `${c.name}: value at point ${i}`, { rtol: 1e-14, atol: 0 });
      grads.forEach((g, k) => assertClose(t, g[i], expected.grads[k], `${c.name}: d/dx${k} at point ${i}`, { rtol: 1e-14, atol: 1e-300 }));
    });
  }
  t.end();
});

t.test('an input given once is broadcast over all points', (t) => {
  const compiled = compileGradient(cases[0].f, 2);
  const { grads } = compiled.run([Float64Array.of(0, 0.5, 1), Float64Array.of(4.2)], 3);
  assertClose(t, Tensor.fromArray([3], grads[0]), [4.2 + 1, 4.2 + Math.cos(0.5), 4.2 + Math.cos(1)], 'dz/dx = y + cos x');
  assertClose(t, Tensor.fromArray([3], grads[1]), [0, 0.5, 1], 'dz/dy = x');
  t.end();
});

t.test('code that is not straight-line element-wise scalar code is refused', (t) => {
  const refused: { name: string; f: Fn; reason: RegExp }[] = [
    { name: 'a branch on a value', f: (cx, [x]) => (concrete(x).item() > 0 ? x : mul(cx, x, 2)), reason: /value of x0 is needed/ },
    { name: 'a reduction', f: (cx, [x]) => prod(cx, x), reason: /reshape is not an element-wise primitive/ },
    { name: 'a tensor constant', f: (cx, [x]) => mul(cx, x, Tensor.fromNested([1, 2])), reason: /not a scalar/ },
    { name: 'a one-element vector (its shape would be lost)', f: (cx, [x]) => mul(cx, x, Tensor.fromNested([2])), reason: /not a scalar/ },
  ];
  for (const r of refused) {
    t.throws(() => compileGradient(r.f, 1), NotCompilable, `${r.name} is refused`);
    try {
      compileGradient(r.f, 1);
    } catch (e) {
      t.match((e as Error).message, r.reason, `${r.name}: the reason is given`);
    }
  }
  t.end();
});

t.test('generated source holds only generated names, operators, Math calls and numbers', (t) => {
  // Every identifier in the source is one the compiler or a primitive template wrote.
  const allowed = /^(const|let|for|value|grads|inputs|n|i|lib|lgamma|polygamma|Math|[a-z]+\d*|NaN|Infinity|length)$/;
  for (const c of cases) {
    const { source } = compileGradient(c.f, c.arity);
    t.notMatch(source, /["'`\\$]/, `${c.name}: no string, template or escape in the source`);
    const identifiers = source.match(/[A-Za-z_][A-Za-z_0-9]*/g) ?? [];
    const unexpected = identifiers.filter((id) => !allowed.test(id) && !(id in Math) && !/^e$/.test(id));
    t.same(unexpected, [], `${c.name}: no unexpected identifiers`);
  }
  t.end();
});

t.test("the tape's compiled scalar rules agree with its general rules", (t) => {
  // The same chain on scalars (compiled scalar rules) and on one-element vectors (general rules).
  const chain = (cx: Context, x: Value, y: Value): Value => {
    let z = add(cx, mul(cx, x, y), sin(cx, x));
    for (let i = 0; i < 20; i++) z = add(cx, mul(cx, tanh(cx, z), maximum(cx, x, y)), div(cx, sqrt(cx, square(cx, z)), add(cx, 1, exp(cx, y))));
    return z;
  };
  const scalar = grad(new Context(), (cx, [x, y]) => chain(cx, x, y), [Tensor.scalar(0.4), Tensor.scalar(-0.8)]);
  const vector = grad(new Context(), (cx, [x, y]) => sum(cx, chain(cx, x, y)), [Tensor.fromNested([0.4]), Tensor.fromNested([-0.8])]);
  assertClose(t, concrete(scalar.grads[0]).item(), concrete(vector.grads[0]).item(), 'd/dx', { rtol: 1e-15, atol: 0 });
  assertClose(t, concrete(scalar.grads[1]).item(), concrete(vector.grads[1]).item(), 'd/dy', { rtol: 1e-15, atol: 0 });
  t.end();
});

t.test("unary primitives' one-pass tensor VJPs compute their rules' scalar code, element by element", (t) => {
  const xs = Float64Array.from([-3.5, -1, -0.25, -0, 0, 0.3, 0.5, 0.999, 1, 2.5, 40, Infinity, -Infinity, NaN]);
  const gs = Float64Array.from(xs, (_, i) => (i % 3) - 0.75);
  let checked = 0;
  // The unary primitives without parameters (defineUnary's): check and polygamma take some.
  for (const prim of [...primitives().values()].filter((p) => p.name !== 'check' && p.name !== 'polygamma')) {
    const kernel = tensorVjpOf(prim);
    const scalar = scalarVjpOf(prim);
    if (kernel === null || scalar === null) continue;
    const ys = prim.impl(new Context(), [new Tensor([xs.length], xs)], undefined).data;
    const out = new Float64Array(xs.length);
    kernel(gs, xs, ys, out);
    const partials = new Float64Array(3);
    const differing = [...xs].filter((x, i) => {
      scalar.run(gs[i], x, 0, 0, ys[i], partials);
      return !Object.is(out[i], partials[0]);
    });
    t.same(differing, [], `${prim.name}: the same cotangent at every x, NaN and infinities included`);
    checked++;
  }
  t.ok(checked >= 25, `${checked} unary primitives have a one-pass VJP`);
  t.end();
});
