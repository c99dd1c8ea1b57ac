/**
 * The element-wise primitives rewritten for speed (relu, sigmoid, the comparisons and logic
 * without a branch on their data; softplus composed of its cap, exp, log1p and its choice;
 * ops/math.ts, special.ts) against the expressions they replaced, which are the oracle here: the
 * same numbers, bit for bit, at every special value and at random ones, through the kernels
 * (tensors), the scalar path, and a plan (fused loops). softplus's gradient is its rules', to an
 * ulp of PyTorch's.
 */
import t from 'tap';
import { Context, Tensor, and, compileGradientPlan, concrete, grad, eq, ge, gt, hessian, isfinite, le, lt, mul, ne, not, or, relu, sigmoid, softplus, sum, xor, type Value } from '../../src/engine/index.js';
import { exp } from '../../src/engine/fdlibm.js';

const SPECIAL = [0, -0, 5e-324, -5e-324, 1e-300, -1e-300, 0.5, -0.5, 1, -1, 20, -20, 36.7, -36.7, 708, -708, 745, -745, 1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity, NaN];

/** The special values, then random ones of every sign and size. */
function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  const random = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return [...SPECIAL, ...Array.from({ length: count }, () => (random() - 0.5) * 10 ** (random() * 12 - 6))];
}

/** The formulas as they were, branches and all. */
const BEFORE = {
  relu: (x: number): number => (x > 0 ? x : x === x ? 0 : x),
  sigmoid: (x: number): number => (x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))),
  softplus: (x: number): number => (x > 20 ? x : Math.log1p(exp(x))),
  lt: (x: number, y: number): number => (x < y ? 1 : 0),
  le: (x: number, y: number): number => (x <= y ? 1 : 0),
  gt: (x: number, y: number): number => (x > y ? 1 : 0),
  ge: (x: number, y: number): number => (x >= y ? 1 : 0),
  eq: (x: number, y: number): number => (x === y ? 1 : 0),
  ne: (x: number, y: number): number => (x !== y ? 1 : 0),
  and: (x: number, y: number): number => (x && y ? 1 : 0),
  or: (x: number, y: number): number => (x || y ? 1 : 0),
  xor: (x: number, y: number): number => (!x !== !y ? 1 : 0),
  not: (x: number): number => (x ? 0 : 1),
  isfinite: (x: number): number => (Number.isFinite(x) ? 1 : 0),
};

/**
 * g · softplus'(x) below PyTorch's threshold of 20, as the composition's rules compute it: log1p's
 * g / (1 + z), then exp's product by z = e^x (kept from the forward pass).
 */
function softplusGradient(g: number, x: number): number {
  const z = exp(Math.min(x, 30));
  return g * (1 / (z + 1)) * z;
}

const UNARY = { relu, sigmoid, softplus, not, isfinite } as const;
const BINARY = { lt, le, gt, ge, eq, ne, and, or, xor } as const;

/** Where two arrays differ (Object.is: -0 is not 0, NaN is NaN), for a message; empty if nowhere. */
function differences(got: ArrayLike<number>, want: ArrayLike<number>, at: (i: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < want.length && out.length < 5; i++) if (!Object.is(got[i], want[i])) out.push(`${at(i)}: ${got[i]}, was ${want[i]}`);
  return out;
}

t.test('unary primitives give the numbers of the branching formulas, in kernels and as scalars', async (t) => {
  const xs = values(20_000, 1);
  for (const [name, op] of Object.entries(UNARY)) {
    const before = BEFORE[name as keyof typeof UNARY];
    const want = xs.map(before);
    const kernel = (op(new Context(), new Tensor([xs.length], Float64Array.from(xs))) as Tensor).data;
    t.same(differences(kernel, want, (i) => `${name}(${xs[i]})`), [], `${name}: kernel over ${xs.length} values`);
    const scalars = xs.map((x) => (op(new Context(), Tensor.scalar(x)) as Tensor).data[0]);
    t.same(differences(scalars, want, (i) => `${name}(${xs[i]})`), [], `${name}: scalar path`);
  }
});

t.test('comparisons and logic give the numbers of the branching formulas on every pair of special values and random pairs', async (t) => {
  const xs = values(5_000, 2);
  const ys = [...SPECIAL.flatMap(() => SPECIAL), ...values(5_000, 3).slice(SPECIAL.length)];
  const as = [...SPECIAL.flatMap((x) => SPECIAL.map(() => x)), ...xs.slice(SPECIAL.length)];
  t.equal(as.length, ys.length);
  for (const [name, op] of Object.entries(BINARY)) {
    const before = BEFORE[name as keyof typeof BINARY];
    const want = as.map((a, i) => before(a, ys[i]));
    const got = (op(new Context(), new Tensor([as.length], Float64Array.from(as)), new Tensor([ys.length], Float64Array.from(ys))) as Tensor).data;
    t.same(differences(got, want, (i) => `${name}(${as[i]}, ${ys[i]})`), [], `${name}: ${as.length} pairs`);
  }
});

t.test('a plan gives the same numbers: relu, sigmoid and softplus with their derivatives', async (t) => {
  const xs = values(2_000, 4).filter((x) => Number.isFinite(x));
  const x = new Tensor([xs.length], Float64Array.from(xs));
  const w = new Tensor([xs.length], Float64Array.from(xs, (_, i) => ((i % 7) - 3) / 3));
  // sum(w .* f(x)): its gradient with respect to x, element for element, w · f'(x) as the rules
  // compute it (softplus's through log1p's rule, then exp's: (w / (z + 1)) · z, z = e^x).
  const gradients = {
    relu: (g: number, v: number) => g * BEFORE.gt(v, 0),
    sigmoid: (g: number, v: number) => g * (BEFORE.sigmoid(v) * (1 - BEFORE.sigmoid(v))),
    softplus: (g: number, v: number) => (v > 20 ? g : softplusGradient(g, v)),
  };
  for (const [name, f] of [
    ['relu', relu],
    ['sigmoid', sigmoid],
    ['softplus', softplus],
  ] as const) {
    const loss = (cx: Context, [a, b]: readonly Value[]): Value => sum(cx, mul(cx, b, f(cx, a)));
    const plan = compileGradientPlan(loss, [x, w], new Context(), { differentiated: [true, false] });
    t.ok(plan.fused.loops > 0, `${name}: the plan fuses its loops`);
    const { value, grads } = plan.run([x, w]);
    let total = 0;
    for (let i = 0; i < xs.length; i++) total += w.data[i] * BEFORE[name](xs[i]);
    t.ok(Object.is(value.data[0], total), `${name}: the value, ${value.data[0]} against ${total}`);
    const want = xs.map((v, i) => gradients[name](w.data[i], v));
    t.same(differences(grads[0].data, want, (i) => `${name}'(${xs[i]})`), [], `${name}: the gradient over ${xs.length} values`);
  }
});

t.test("softplus' is PyTorch's, z / (z + 1) with z = e^x, to an ulp up to its threshold of 20, and 1 above it, in the engine and in a plan", async (t) => {
  // torch.nn.functional.softplus's gradient at these points (PyTorch 1.13, float64).
  const xs = [-3, 0, 0.5, 19.9, 20, 20.5, 25, 800];
  const torch = [0.04742587317756679, 0.5, 0.6224593312018546, 0.9999999977220729, 0.9999999979388464, 1, 1, 1];
  const x = Tensor.fromArray([xs.length], xs);
  const loss = (cx: Context, [a]: readonly Value[]): Value => sum(cx, softplus(cx, a));
  const plan = compileGradientPlan(loss, [x], new Context());
  const planned = Array.from(plan.run([x]).grads[0].data);
  const ulp = (a: number, b: number): number => Math.abs(a - b) / (Number.EPSILON * Math.max(Math.abs(a), Math.abs(b)));
  planned.forEach((g, i) => t.ok(ulp(g, torch[i]) <= 1, `softplus'(${xs[i]}) = ${g}, PyTorch ${torch[i]}`));
  t.same(planned.slice(5), [1, 1, 1], 'exactly 1 above 20');
  t.same(planned, xs.map((v) => (v > 20 ? 1 : softplusGradient(1, v))), 'and (1 / (z + 1)) · z, z = e^x, below');
  t.same(Array.from(concrete(grad(new Context(), loss, [x]).grads[0]).data), planned, 'the engine, unplanned, the same');
});

t.test("softplus'' is finite far above the threshold and whole at it: e^x is taken at min(x, 30)", async (t) => {
  const loss = (cx: Context, [a]: readonly Value[]): Value => sum(cx, softplus(cx, a));
  const xs = [-3, 0, 20, 25, 800];
  const second = xs.map((x) => {
    const { hessian: h } = hessian(new Context(), loss, [Tensor.fromArray([1], [x])]);
    return concrete(h[0][0]).data[0];
  });
  // d/dx z / (z + 1) = z / (z + 1)^2, the derivative of sigmoid; 0 above 20, where softplus' is 1.
  // Absolutely to 1e-15: at 20 the quotient rule's z·(z + 1) - z·z cancels to 7 digits (as
  // sigmoid's y·(1 - y) did, 1 - y being 2e-9).
  const want = xs.map((x) => (x > 20 ? 0 : BEFORE.sigmoid(x) * (1 - BEFORE.sigmoid(x))));
  second.forEach((h, i) => t.ok(Math.abs(h - want[i]) <= 1e-15, `softplus''(${xs[i]}) = ${h}, sigmoid' ${want[i]}`));
});
