/**
 * The tensor compiler (plan.ts): a plan's value and gradient equal the general engine's bit for
 * bit, at the point it was traced at and at others, with and without fused loops; functions
 * that read a computed value or draw are refused; runs keep to their shapes and budgets; and
 * generated loops contain only generated names.
 */
import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  Context,
  EngineError,
  NotCompilable,
  ReusableStorage,
  Tensor,
  add,
  clamp,
  compileGradientPlan,
  type GradientPlan,
  concrete,
  crossEntropy,
  det,
  inv,
  div,
  exp,
  grad,
  logSoftmax,
  logsumexp,
  matmul,
  max,
  maximum,
  min,
  neg,
  mseLoss,
  mul,
  norm,
  pow,
  relu,
  sigmoid,
  sin,
  solve,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  trace,
  transpose,
  where,
  gt,
  type Fn,
  type Value,
} from '../../src/engine/index.js';
import { Random } from '../../src/engine/random.js';

/** Deterministic pseudo-random numbers in [-1, 1). */
function numbers(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (2 * s) / 2 ** 32 - 1;
  });
}

const tensor = (shape: number[], seed: number): Tensor => new Tensor(shape, numbers(shape.reduce((a, b) => a * b, 1), seed));

const X = tensor([6, 4], 11);
const X7 = tensor([7, 3], 12);
const LABELS = Tensor.fromArray([6], [0, 2, 1, 1, 0, 2]);
const A = Tensor.fromNested([
  [2, 0.5, 0.1],
  [0.3, 3, -0.2],
  [0.1, 0.4, 1.5],
]);

interface Case {
  readonly name: string;
  readonly f: Fn;
  /** Input shapes; inputs are drawn from seeds 1, 2, ... (traced) and 101, 102, ... (run). */
  readonly shapes: number[][];
}

const cases: Case[] = [
  {
    name: 'the MLP: matmul, bias rows, relu, cross-entropy against fixed labels',
    f: (cx, [w1, b1, w2, b2]) => crossEntropy(cx, add(cx, matmul(cx, relu(cx, add(cx, matmul(cx, X, w1), b1)), w2), b2), LABELS),
    shapes: [[4, 5], [5], [5, 3], [3]],
  },
  { name: 'scalars only (one-element loops)', f: (cx, [x, y]) => add(cx, mul(cx, x, y), sin(cx, x)), shapes: [[], []] },
  { name: 'a column plus a row: both broadcast patterns in one loop', f: (cx, [c, r]) => sum(cx, tanh(cx, add(cx, mul(cx, c, r), square(cx, c)))), shapes: [[4, 1], [3]] },
  {
    name: 'a general broadcast ([2,1,3] with [4,1]) runs the primitive, not a loop',
    f: (cx, [a, b]) => sum(cx, sigmoid(cx, mul(cx, a, b))),
    shapes: [[2, 1, 3], [4, 1]],
  },
  { name: 'a scalar input scaling a matrix', f: (cx, [s, m]) => sum(cx, exp(cx, mul(cx, s, m))), shapes: [[], [3, 2]] },
  { name: 'an input used by several loops, and its square root through pow', f: (cx, [x]) => sum(cx, add(cx, mul(cx, x, x), pow(cx, square(cx, x), 0.25))), shapes: [[5]] },
  { name: 'log-softmax along rows, mse against a constant', f: (cx, [z]) => mseLoss(cx, logSoftmax(cx, z, 1), X), shapes: [[6, 4]] },
  { name: 'where, maximum and clamp (kinks away from the points)', f: (cx, [x, y]) => sum(cx, where(cx, gt(cx, x, 0.1), maximum(cx, x, y), clamp(cx, y, -0.5, 0.5))), shapes: [[7], [7]] },
  { name: 'linear algebra: solve, inv and the Frobenius norm', f: (cx, [b, m]) => add(cx, norm(cx, solve(cx, A, b), 'fro'), sum(cx, inv(cx, add(cx, A, m)))), shapes: [[3, 2], [3, 3]] },
  { name: 'an input the output does not depend on has a zero gradient', f: (cx, [_x]) => sum(cx, X), shapes: [[2]] },
  { name: 'division and subtraction with broadcasting against a constant row', f: (cx, [x]) => sum(cx, div(cx, sub(cx, x, Tensor.fromArray([4], [1, 2, 3, 4])), 3)), shapes: [[6, 4]] },
  {
    name: 'products into loops: 5x2 times 2x6, and the gradient Aᵀ·G (read transposed) plus another term',
    f: (cx, [a, b]) => add(cx, sum(cx, tanh(cx, matmul(cx, a, b))), sum(cx, mul(cx, b, b))),
    shapes: [[5, 2], [2, 6]],
  },
  { name: 'a product of two columns and 7 rows (n < 4, rows not a multiple of 4) into bias and sigmoid', f: (cx, [w, c]) => sum(cx, sigmoid(cx, add(cx, matmul(cx, X7, w), c))), shapes: [[3, 2], [2]] },
  { name: 'a batched product (2x3x4 times 4x2) keeps its primitive', f: (cx, [a, b]) => sum(cx, relu(cx, matmul(cx, a, b))), shapes: [[2, 3, 4], [4, 2]] },
  {
    name: 'max and min of all elements and along each axis: argmax and argmin found at each run',
    f: (cx, [m]) => add(cx, add(cx, max(cx, m), min(cx, m)), add(cx, sum(cx, max(cx, m, 0)), sum(cx, mul(cx, min(cx, m, 1), Tensor.fromArray([5], [1, 2, 3, 4, 5]))))),
    shapes: [[5, 4]],
  },
  { name: 'logsumexp of all elements and along rows (its maximum held constant)', f: (cx, [z]) => add(cx, logsumexp(cx, z), sum(cx, logsumexp(cx, z, [1]))), shapes: [[6, 3]] },
  {
    name: 'sums fused into the loops computing what they sum: all of a matrix, its columns, its rows',
    f: (cx, [m]) => add(cx, sum(cx, exp(cx, m)), add(cx, sum(cx, square(cx, sum(cx, sin(cx, m), [0]))), sum(cx, square(cx, sum(cx, tanh(cx, m), [1]))))),
    shapes: [[7, 5]],
  },
  {
    name: 'sums over 90,000 elements, in pieces between deadline reads: the same additions in the same order',
    f: (cx, [m]) => add(cx, sum(cx, exp(cx, m)), add(cx, sum(cx, square(cx, sum(cx, sin(cx, m), [0]))), sum(cx, square(cx, sum(cx, tanh(cx, m), [1]))))),
    shapes: [[300, 300]],
  },
  {
    name: 'the same computation written twice (tanh through exp, a residual squared as a product of itself): shared, the same bits',
    f: (cx, [x, u, v]) => {
      const e = (): Value => exp(cx, x);
      const f = (): Value => exp(cx, neg(cx, x));
      const r = (): Value => sub(cx, X, matmul(cx, u, v));
      return add(cx, sum(cx, div(cx, sub(cx, e(), f()), add(cx, e(), f()))), sum(cx, mul(cx, r(), r())));
    },
    shapes: [[5], [6, 2], [2, 4]],
  },
  {
    name: 'powers by the constants 2, 3 (the square and the cube) and 4 (pow), of a matrix and of a scalar',
    f: (cx, [m, s]) => add(cx, sum(cx, add(cx, pow(cx, m, 2), pow(cx, m, 3))), add(cx, sum(cx, pow(cx, m, 4)), pow(cx, s, 3))),
    shapes: [[4, 3], []],
  },
];

function inputs(c: Case, base: number): Tensor[] {
  // Away from 0 so that det, solve and the kinks behave; positive where pow needs it.
  return c.shapes.map((s, k) => {
    const x = tensor(s, base + k);
    return new Tensor(s, x.data.map((v) => (v >= 0 ? v + 0.2 : v - 0.2)));
  });
}

/**
 * Exactly equal, element by element (NaN equal to NaN; 0 equal to -0, whose sign the engine's
 * scalar fast path in `backward` does not keep): the plan does the engine's arithmetic.
 */
function same(got: Value, expected: Value): boolean {
  const g = concrete(got);
  const e = concrete(expected);
  return g.shape.join() === e.shape.join() && g.data.every((v, i) => v === e.data[i] || (Number.isNaN(v) && Number.isNaN(e.data[i])));
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const traced = inputs(c, 1);
    const plan = compileGradientPlan(c.f, traced);
    for (const at of [traced, inputs(c, 101)]) {
      const expected = grad(new Context(), c.f, at);
      const got = plan.run(at);
      t.ok(same(got.value, expected.value), `value ${got.value.data[0]} equals the engine's ${concrete(expected.value).data[0]}`);
      got.grads.forEach((g, k) => t.ok(same(g, expected.grads[k]), `gradient ${k} equals the engine's`));
    }
  });
}


/** A plan's generated loops (a product fused into one among them) hold only identifiers, indices and operators: none of the marker values 123.456, 654.321, 777.125, 98765 or 31337. */
function assertGeneratedNamesOnly(t: Test, plan: GradientPlan, noValue: string): void {
  t.ok(plan.fused.products > 0, 'a product fused into its loop among them');
  const sources = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [] : [i.source]));
  t.ok(sources.length > 0, `${sources.length} loops generated`);
  for (const source of sources) {
    t.notMatch(source, /123\.456|654\.321|777\.125|98765|31337/, noValue);
    t.match(source, /^[\sa-zA-Z0-9_[\]().,;=+\-*/<>?:!&|{}]*$/, 'only identifiers, indices and operators');
  }
}

t.test('fusion: the MLP step runs fewer instructions than it traced, in a few loops', async (t) => {
  const plan = compileGradientPlan(cases[0].f, inputs(cases[0], 1));
  t.ok(plan.instructions.length < plan.traced, `${plan.instructions.length} instructions for ${plan.traced} traced primitives`);
  const { loops, primitives } = plan.fused;
  t.ok(primitives > loops, `${primitives} element-wise primitives in ${loops} loops`);
  const kinds = plan.instructions.map((i) => (i.kind === 'prim' ? i.prim.name : i.kind));
  t.equal(kinds.filter((k) => k === 'matmul' || k === 'product').length, 5, 'two products forward, three backward (none for the fixed data X)');
  // X·W1 into bias and relu (and stored: the backward pass's relu mask reads it), H·W2 into its
  // bias, and the hidden layer's cotangent into the relu mask; the weights' gradients are outputs.
  t.equal(plan.fused.products, 3, 'three products feed their loops directly');
});

t.test('a computation written twice is computed once: its steps are shared, its gradient is still the engine\'s', async (t) => {
  const tanhByExp: Fn = (cx, [x]) => sum(cx, div(cx, sub(cx, exp(cx, x), exp(cx, neg(cx, x))), add(cx, exp(cx, x), exp(cx, neg(cx, x)))));
  const x = tensor([40], 5);
  const plan = compileGradientPlan(tanhByExp, [x]);
  const names = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [i.prim.name] : i.names));
  t.equal(names.filter((n) => n === 'exp').length, 2, `exp(x) and exp(-x) once each: ${names.join(' ')}`);
  const squared: Fn = (cx, [u, v]) => sum(cx, mul(cx, sub(cx, X, matmul(cx, u, v)), sub(cx, X, matmul(cx, u, v))));
  const product = compileGradientPlan(squared, [tensor([6, 2], 6), tensor([2, 4], 7)]);
  const kinds = product.instructions.map((i) => (i.kind === 'prim' ? i.prim.name : i.kind));
  t.equal(kinds.filter((k) => k === 'matmul' || k === 'product').length, 3, `U·V once forward, two products backward: ${kinds.join(' ')}`);
  // The literal 2 written twice is one constant of the plan: one fewer than 2 and 3.
  const scaled = (c: number): GradientPlan => compileGradientPlan((cx, [a, b]) => add(cx, sum(cx, mul(cx, 2, a)), sum(cx, mul(cx, c, b))), [tensor([3], 8), tensor([3], 9)]);
  t.equal(scaled(2).constantElements, scaled(3).constantElements - 1, `${scaled(2).constantElements} constant elements with 2 twice`);
  for (const [f, at] of [
    [tanhByExp, [tensor([40], 15)]],
    [squared, [tensor([6, 2], 16), tensor([2, 4], 17)]],
  ] as const) {
    const expected = grad(new Context(), f, at);
    const got = (f === tanhByExp ? plan : product).run(at);
    t.ok(same(got.value, expected.value), 'the value is the engine\'s');
    got.grads.forEach((g, k) => t.ok(same(g, expected.grads[k]), `gradient ${k} is the engine's`));
  }
});

t.test("a product of a transposed matrix reads the matrix transposed, without copying it, and gives the engine's bits", async (t) => {
  const cases: [string, Fn, number[][]][] = [
    ["trace(A' * B)", (cx, [a, b]) => trace(cx, matmul(cx, transpose(cx, a), b)), [[30, 4], [30, 4]]],
    ["sum((U * V')²)", (cx, [u, v]) => sum(cx, square(cx, matmul(cx, u, transpose(cx, v)))), [[12, 2], [5, 2]]],
    ["X' (X w - t)", (cx, [x, w, y]) => sum(cx, square(cx, matmul(cx, transpose(cx, x), sub(cx, matmul(cx, x, w), y)))), [[20, 3], [3, 1], [20, 1]]],
    ["A' A'' (both read transposed)", (cx, [a]) => sum(cx, matmul(cx, transpose(cx, a), transpose(cx, transpose(cx, a)))), [[7, 3]]],
  ];
  for (const [name, f, shapes] of cases) {
    const plan = compileGradientPlan(f, shapes.map((shape, k) => tensor(shape, 40 + k)));
    const names = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [i.prim.name] : i.names));
    t.notOk(names.includes('permute'), `${name}: no transpose copied (${names.join(' ')})`);
    for (const seed of [50, 60]) {
      const at = shapes.map((shape, k) => tensor(shape, seed + k));
      const expected = grad(new Context(), f, at);
      const got = plan.run(at);
      t.ok(same(got.value, expected.value) && got.grads.every((g, k) => same(g, expected.grads[k])), `${name}, data set ${seed}: the engine's value and gradients`);
    }
  }
});

t.test('powers by 2 and 3 are the square and the cube, in the loops and in the engine alike', async (t) => {
  const x = tensor([7], 3);
  t.ok(same(pow(new Context(), x, 2), mul(new Context(), x, x)), 'x .^ 2 is x .* x');
  t.ok(same(pow(new Context(), x, 3), mul(new Context(), mul(new Context(), x, x), x)), 'x .^ 3 is x .* x .* x, as PyTorch computes it');
  const plan = compileGradientPlan((cx, [v]) => sum(cx, add(cx, pow(cx, v, 2), pow(cx, v, 3))), [x]);
  const names = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [i.prim.name] : i.names));
  t.notOk(names.includes('pow'), `no Math.pow in the plan: ${names.join(' ')}`);
});

t.test('a sum goes into the loop computing its terms, and its gradient is broadcast where it is read', async (t) => {
  const plan = compileGradientPlan((cx, [x]) => sqrt(cx, sum(cx, square(cx, x))), [tensor([50], 4)]);
  const prims = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [i.prim.name] : []));
  const loops = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [] : [i.names.join(' ')]));
  t.notOk(prims.includes('sumTo') || prims.includes('expand'), `no sumTo or expand of its own: ${prims.join(' ')}`);
  t.ok(loops.some((l) => l.endsWith('square sumTo')) && loops.some((l) => l.startsWith('expand')), `in the loops: ${loops.join(' | ')}`);
});

t.test('a sum of results their rules read again goes into their loop, which stores them as well', async (t) => {
  // exp's, sigmoid's and tanh's derivatives are read from their results: each is summed (all of
  // it, by column, by row) and read again by the backward pass.
  const f: Fn = (cx, [m]) => add(cx, sum(cx, exp(cx, m)), add(cx, sum(cx, square(cx, sum(cx, sigmoid(cx, m), [0]))), sum(cx, square(cx, sum(cx, tanh(cx, m), [1])))));
  const m = tensor([6, 5], 11);
  const plan = compileGradientPlan(f, [m]);
  const prims = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [i.prim.name] : []));
  const loops = plan.instructions.flatMap((i) => (i.kind === 'prim' ? [] : [i.names.join(' ')]));
  t.notOk(prims.includes('sumTo'), `no sumTo of its own: ${prims.join(' ')}`);
  for (const name of ['exp', 'sigmoid', 'tanh']) t.ok(loops.some((l) => l.endsWith(`${name} sumTo`)), `${name}'s loop sums: ${loops.join(' | ')}`);
  for (const seed of [11, 12, 13]) {
    const at = tensor([6, 5], seed);
    const expected = grad(new Context(), f, [at]);
    const got = plan.run([at]);
    t.ok(same(got.value, expected.value) && same(got.grads[0], expected.grads[0]), `data set ${seed}: the engine's value and gradient, to the bit`);
  }
});

t.test('products fused into the loops that read them, where they are two matrices', async (t) => {
  const products = (name: string): number => {
    const c = cases.find((k) => k.name.startsWith(name))!;
    return compileGradientPlan(c.f, inputs(c, 1)).fused.products;
  };
  t.ok(products('products into loops') >= 1, 'A·B into tanh, and Aᵀ·G into the sum with 2B');
  t.equal(products('a product of two columns'), 1, 'X·W into bias and sigmoid');
  t.equal(products('a batched product'), 0, 'a batched product is left to matmul');
});

t.test('the general-broadcast case keeps its product as a primitive', async (t) => {
  const plan = compileGradientPlan(cases[3].f, inputs(cases[3], 1));
  t.ok(
    plan.instructions.some((i) => i.kind === 'prim' && i.prim.name === 'mul'),
    'mul of [2,1,3] by [4,1] is not a loop',
  );
});

t.test('a ReusableStorage reset between runs: each run is right, at new values each time', async (t) => {
  const c = cases[0];
  const plan = compileGradientPlan(c.f, inputs(c, 1));
  const storage = new ReusableStorage();
  for (let k = 0; k < 3; k++) {
    storage.reset();
    const at = inputs(c, 200 + 10 * k);
    const got = plan.run(at, new Context({}, undefined, storage));
    const expected = grad(new Context(), c.f, at);
    t.ok(same(got.value, expected.value) && got.grads.every((g, i) => same(g, expected.grads[i])), `run ${k} equals the engine`);
  }
});

t.test('refused: reading a computed value, a random draw', async (t) => {
  const branch: Fn = (cx, [x]) => (concrete(sum(cx, x)).data[0] > 0 ? sum(cx, x) : sum(cx, square(cx, x)));
  t.throws(() => compileGradientPlan(branch, [tensor([3], 1)]), NotCompilable, 'a data-dependent branch');
  // det's rules branch on whether the determinant is 0.
  t.throws(() => compileGradientPlan((cx, [m]) => det(cx, m), [A]), NotCompilable, 'det');
  const draws: Fn = (cx, [x]) => sum(cx, mul(cx, x, cx.random!.normal(cx, [3])));
  const cx = new Context();
  const random = new Random(7);
  cx.random = random;
  t.throws(() => compileGradientPlan(draws, [tensor([3], 1)], cx), NotCompilable, 'a normal draw');
  t.equal(cx.random, random, "the context's generator is put back");
});

t.test('errors of the function itself pass through: a non-scalar output', async (t) => {
  t.throws(() => compileGradientPlan((cx, [x]) => mul(cx, x, 2), [tensor([3], 1)]), { name: 'EngineError', code: 'NOT_SCALAR' });
});

t.test('runs keep to the shapes compiled for, and to their budgets', async (t) => {
  const c = cases[0];
  const plan = compileGradientPlan(c.f, inputs(c, 1));
  t.throws(() => plan.run(inputs(c, 1).slice(1)), RangeError, 'too few inputs');
  t.throws(() => plan.run([tensor([4, 6], 1), ...inputs(c, 1).slice(1)]), /shape \[4, 6\]/, 'a wrong shape');
  t.throws(() => plan.run(inputs(c, 1), new Context({ maxOperations: 5 })), EngineError, 'the operation budget');
  t.throws(() => plan.run(inputs(c, 1), new Context({ maxElements: 10 })), { code: 'LIMIT_EXCEEDED' }, 'the memory budget');
});

t.test('generated loops contain generated names only: no input values, no constants', async (t) => {
  // Distinctive values in the inputs and in fixed data: none may appear in any source.
  const marker = Tensor.fromArray([3], [123.456, 654.321, 777.125]);
  const weights = Tensor.fromNested([[123.456, 654.321], [777.125, 123.456], [654.321, 777.125]]);
  const f: Fn = (cx, [x, y]) => add(cx, sum(cx, tanh(cx, add(cx, mul(cx, x, marker), 98765.4321))), sum(cx, relu(cx, add(cx, matmul(cx, y, weights), 98765.4321))));
  const plan = compileGradientPlan(f, [Tensor.fromArray([3], [31337.5, 2, 3]), Tensor.fromNested([[31337.5, 1, 2]])]);
  assertGeneratedNamesOnly(t, plan, 'no value from the function or its inputs');
});

t.test('property: random element-wise compositions over broadcasting shapes equal the engine', async (t) => {
  type Op = (cx: Context, a: Value, b: Value) => Value;
  const binaries: Op[] = [add, sub, mul, (cx, a, b) => div(cx, a, add(cx, 2, square(cx, b))), (cx, a, b) => maximum(cx, a, b)];
  const unaries: ((cx: Context, a: Value) => Value)[] = [sin, tanh, sigmoid, exp, (cx, a) => relu(cx, a)];
  const shapes = [[], [3], [2, 3], [2, 1], [1, 3]];
  const program = fc.array(fc.tuple(fc.nat(4), fc.nat(4), fc.nat(4), fc.nat(8), fc.nat(8)), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(program, fc.array(fc.nat(4), { minLength: 3, maxLength: 3 }), (ops, shapeChoice) => {
      // Each op combines two earlier values (inputs or results) with a binary then a unary op.
      const f: Fn = (cx, xs) => {
        const values: Value[] = [...xs];
        for (const [b, u, , i, j] of ops) values.push(unaries[u](cx, binaries[b](cx, values[i % values.length], values[j % values.length])));
        return sum(cx, values[values.length - 1]);
      };
      const traced = shapeChoice.map((s, k) => tensor(shapes[s], k + 1));
      const plan = compileGradientPlan(f, traced);
      const at = shapeChoice.map((s, k) => tensor(shapes[s], k + 50));
      const expected = grad(new Context(), f, at);
      const got = plan.run(at);
      return same(got.value, expected.value) && got.grads.every((g, k) => same(g, expected.grads[k]));
    }),
    { numRuns: 200, seed: 20261126 },
  );
  t.pass('200 random programs agree');
});

t.test('property: random layers (a product, then element-wise work on it) of random sizes equal the engine', async (t) => {
  type Layer = (cx: Context, z: Value, b: Value) => Value;
  const layers: Layer[] = [
    (cx, z, b) => relu(cx, add(cx, z, b)),
    (cx, z, b) => tanh(cx, mul(cx, z, b)),
    (cx, z) => sigmoid(cx, z),
    (cx, z, b) => sub(cx, exp(cx, mul(cx, z, 0.1)), b),
  ];
  const size = fc.integer({ min: 1, max: 7 });
  let products = 0;
  fc.assert(
    fc.property(size, size, size, size, fc.nat(3), fc.nat(3), fc.boolean(), (m, k, n, p, first, second, reuse) => {
      // x (m×k) · W1 (k×n) → layer → · W2 (n×p) → layer, summed; `reuse` reads the first product again.
      const f: Fn = (cx, [x, w1, b1, w2, b2]) => {
        const z1 = matmul(cx, x, w1);
        const h = layers[first](cx, z1, b1);
        const out = sum(cx, layers[second](cx, matmul(cx, h, w2), b2));
        return reuse ? add(cx, out, sum(cx, square(cx, z1))) : out;
      };
      const shapes = [[m, k], [k, n], [n], [n, p], [p]];
      const plan = compileGradientPlan(f, shapes.map((s, i) => tensor(s, i + 1)));
      products += plan.fused.products;
      const at = shapes.map((s, i) => tensor(s, i + 40));
      const expected = grad(new Context(), f, at);
      const got = plan.run(at);
      return same(got.value, expected.value) && got.grads.every((g, i) => same(g, expected.grads[i]));
    }),
    { numRuns: 150, seed: 20261126 },
  );
  t.ok(products > 150, `150 random two-layer programs agree (${products} products fused into loops)`);
});

/**
 * The general engine's value and gradient of `f` with respect to the inputs `differentiated`
 * marks, the others held fixed as concrete tensors (as compute's Evaluation does).
 */
function engineWith(f: Fn, at: readonly Tensor[], differentiated: readonly boolean[]): { value: Value; grads: Value[] } {
  const wrt = at.flatMap((_, k) => (differentiated[k] ? [k] : []));
  const g: Fn = (cx, xs) => {
    const all: Value[] = [...at];
    wrt.forEach((k, i) => (all[k] = xs[i]));
    return f(cx, all);
  };
  return grad(new Context(), g, wrt.map((k) => at[k]));
}

/** The same bits, element by element (Object.is: -0 is not 0, NaN is NaN), and the same shape. */
function identical(got: Value, expected: Value): boolean {
  const g = concrete(got);
  const e = concrete(expected);
  return g.shape.join() === e.shape.join() && g.data.every((v, i) => Object.is(v, e.data[i]));
}

/** The MLP of the iris exercise with its data and labels as inputs 0 and 1: X (n×4), labels (n), W1, b1, W2, b2. */
const mlpWithData: Fn = (cx, [x, labels, w1, b1, w2, b2]) => crossEntropy(cx, add(cx, matmul(cx, relu(cx, add(cx, matmul(cx, x, w1), b1)), w2), b2), labels);
const MLP_FIXED = [false, false, true, true, true, true];
const mlpAt = (n: number, seed: number): Tensor[] => [
  tensor([n, 4], seed),
  Tensor.fromArray([n], Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3)),
  tensor([4, 12], seed + 1),
  tensor([12], seed + 2),
  tensor([12, 3], seed + 3),
  tensor([3], seed + 4),
];

t.test('fixed inputs: the MLP with its data and labels as inputs of the plan, new data each run, equals the engine bit for bit', async (t) => {
  const plan = compileGradientPlan(mlpWithData, mlpAt(20, 1), new Context(), { differentiated: MLP_FIXED });
  for (const seed of [1, 31, 57, 90]) {
    const at = mlpAt(20, seed);
    const got = plan.run(at);
    const expected = engineWith(mlpWithData, at, MLP_FIXED);
    t.equal(got.grads.length, 4, `data set ${seed}: a gradient for each differentiated input only`);
    t.ok(identical(got.value, expected.value), `data set ${seed}: value ${got.value.data[0]} equals the engine's`);
    got.grads.forEach((g, k) => t.ok(identical(g, expected.grads[k]), `data set ${seed}: gradient ${k} equals the engine's`));
  }
  const kinds = plan.instructions.map((i) => (i.kind === 'prim' ? i.prim.name : i.kind));
  t.equal(kinds.filter((k) => k === 'matmul' || k === 'product').length, 5, 'two products forward, three backward: none for the data X');
  // The mean's divisor, its cotangent column and a zero: the loss's own, made from shapes.
  t.ok(plan.constantElements < 20 * 5, `${plan.constantElements} elements of constants, fewer than the data's`);
});

t.test('fixed inputs: labels read at each run are checked at each run, as the engine checks them', async (t) => {
  const plan = compileGradientPlan(mlpWithData, mlpAt(5, 1), new Context(), { differentiated: MLP_FIXED });
  const at = mlpAt(5, 2);
  for (const [name, bad] of [['class 4 of 3', 3], ['class 0', -1], ['class 1.5', 0.5]] as const) {
    const labels = Tensor.fromArray([5], [0, 1, bad, 2, 0]);
    const inputs = [at[0], labels, ...at.slice(2)];
    let engine: unknown = null;
    try {
      engineWith(mlpWithData, inputs, MLP_FIXED);
    } catch (e) {
      engine = e;
    }
    t.ok(engine instanceof EngineError, `${name}: the engine refuses`);
    t.throws(() => plan.run(inputs), { name: 'EngineError', code: 'INVALID_ARGUMENT', op: 'cross_entropy', message: (engine as Error).message }, `${name}: the plan refuses with the same words`);
  }
});

t.test('labels computed from an input compile: a run reads them as the engine does (they have no derivative)', async (t) => {
  const labels: Fn = (cx, [z]) => crossEntropy(cx, z, relu(cx, sub(cx, sum(cx, z, [1]), 10)));
  const plan = compileGradientPlan(labels, [tensor([4, 3], 1)]);
  const at = [tensor([4, 3], 5)];
  const got = plan.run(at);
  const expected = grad(new Context(), labels, at);
  t.ok(identical(got.value, expected.value) && identical(got.grads[0], expected.grads[0]), 'value and gradient equal the engine');
});

t.test('fixed inputs: a derived value of fixed data is computed at each run, not folded into a constant', async (t) => {
  // exp(d) depends on the data alone: were it folded, a new d would leave the old exp(d).
  const f: Fn = (cx, [w, d]) => sum(cx, mul(cx, w, exp(cx, mul(cx, d, 2))));
  const plan = compileGradientPlan(f, [tensor([3], 1), tensor([3], 2)], new Context(), { differentiated: [true, false] });
  const at = [tensor([3], 3), tensor([3], 4)];
  const got = plan.run(at);
  const expected = engineWith(f, at, [true, false]);
  t.ok(identical(got.value, expected.value) && identical(got.grads[0], expected.grads[0]), 'new data, the engine\'s value and gradient');
  t.throws(() => compileGradientPlan(f, [tensor([3], 1)], new Context(), { differentiated: [true, false] }), RangeError, 'a flag per input');
});

t.test('fixed inputs: a plan run with new data keeps to the budgets', async (t) => {
  const plan = compileGradientPlan(mlpWithData, mlpAt(20, 1), new Context(), { differentiated: MLP_FIXED });
  const at = mlpAt(20, 7);
  const counted = new Context();
  plan.run(at, counted);
  t.ok(counted.operations >= plan.instructions.length, `${counted.operations} operations counted for ${plan.instructions.length} instructions`);
  t.throws(() => plan.run(at, new Context({ maxOperations: 5 })), { code: 'LIMIT_EXCEEDED' }, 'the operation budget');
  t.throws(() => plan.run(at, new Context({ maxElements: 100 })), { code: 'LIMIT_EXCEEDED' }, 'the memory budget');
});

t.test('fixed inputs: generated loops contain generated names only, whatever the data and labels', async (t) => {
  const marker = [123.456, 654.321, 777.125];
  const f: Fn = (cx, [x, d, e, labels]) => add(cx, sum(cx, tanh(cx, add(cx, matmul(cx, x, d), 98765.4321))), crossEntropy(cx, relu(cx, mul(cx, matmul(cx, x, d), e)), labels));
  const d = Tensor.fromNested([marker, [777.125, 123.456, 654.321], marker]);
  const inputs = [Tensor.fromNested([[31337.5, 1, 2], [3, 31337.5, 4]]), d, Tensor.fromArray([3], marker), Tensor.fromArray([2], [2, 1])];
  const plan = compileGradientPlan(f, inputs, new Context(), { differentiated: [true, false, false, false] });
  assertGeneratedNamesOnly(t, plan, 'no value from the function, its data or its inputs');
});

t.test('property: random layers with a random subset of inputs differentiated: one plan, several data sets, the engine\'s bits', async (t) => {
  type Layer = (cx: Context, z: Value, b: Value) => Value;
  const layers: Layer[] = [
    (cx, z, b) => relu(cx, add(cx, z, b)),
    (cx, z, b) => tanh(cx, mul(cx, z, b)),
    (cx, z) => sigmoid(cx, z),
    (cx, z, b) => sub(cx, exp(cx, mul(cx, z, 0.1)), b),
  ];
  const size = fc.integer({ min: 1, max: 6 });
  const subset = fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }).filter((d) => d.includes(true));
  fc.assert(
    fc.property(size, size, size, fc.nat(3), fc.nat(3), fc.boolean(), subset, (m, k, n, first, second, loss, differentiated) => {
      // x (m×k) · W1 (k×n) → layer → · W2 (n×3) → layer, then a sum or a cross-entropy against labels (input 5).
      const f: Fn = (cx, [x, w1, b1, w2, b2, labels]) => {
        const out = layers[second](cx, matmul(cx, layers[first](cx, matmul(cx, x, w1), b1), w2), b2);
        return loss ? crossEntropy(cx, out, labels) : add(cx, sum(cx, out), sum(cx, mul(cx, labels, labels)));
      };
      const at = (seed: number): Tensor[] => [
        ...[[m, k], [k, n], [n], [n, 3], [3]].map((s, i) => tensor(s, seed + i)),
        Tensor.fromArray([m], Array.from({ length: m }, (_, i) => (i + seed) % 3)),
      ];
      // Labels differentiated with a cross-entropy: their gradient is zero, as in the engine.
      const plan = compileGradientPlan(f, at(1), new Context(), { differentiated });
      return [20, 40, 60].every((seed) => {
        const inputs = at(seed);
        const expected = engineWith(f, inputs, differentiated);
        const got = plan.run(inputs);
        return got.grads.length === expected.grads.length && identical(got.value, expected.value) && got.grads.every((g, i) => identical(g, expected.grads[i]));
      });
    }),
    { numRuns: 150, seed: 20261206 },
  );
  t.pass('150 random programs, each through one plan at three data sets, agree bit for bit');
});

t.test('property: random element-wise compositions with a random subset differentiated equal the engine bit for bit', async (t) => {
  type Op = (cx: Context, a: Value, b: Value) => Value;
  const binaries: Op[] = [add, sub, mul, (cx, a, b) => div(cx, a, add(cx, 2, square(cx, b))), (cx, a, b) => maximum(cx, a, b)];
  const unaries: ((cx: Context, a: Value) => Value)[] = [sin, tanh, sigmoid, exp, (cx, a) => relu(cx, a)];
  const shapes = [[], [3], [2, 3], [2, 1], [1, 3]];
  const program = fc.array(fc.tuple(fc.nat(4), fc.nat(4), fc.nat(8), fc.nat(8)), { minLength: 1, maxLength: 12 });
  const subset = fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }).filter((d) => d.includes(true));
  fc.assert(
    fc.property(program, fc.array(fc.nat(4), { minLength: 3, maxLength: 3 }), subset, (ops, shapeChoice, differentiated) => {
      const f: Fn = (cx, xs) => {
        const values: Value[] = [...xs];
        for (const [b, u, i, j] of ops) values.push(unaries[u](cx, binaries[b](cx, values[i % values.length], values[j % values.length])));
        return sum(cx, values[values.length - 1]);
      };
      const plan = compileGradientPlan(f, shapeChoice.map((s, k) => tensor(shapes[s], k + 1)), new Context(), { differentiated });
      return [50, 70, 90].every((seed) => {
        const at = shapeChoice.map((s, k) => tensor(shapes[s], k + seed));
        const expected = engineWith(f, at, differentiated);
        const got = plan.run(at);
        return identical(got.value, expected.value) && got.grads.every((g, k) => identical(g, expected.grads[k]));
      });
    }),
    { numRuns: 200, seed: 20261206 },
  );
  t.pass('200 random programs agree');
});
