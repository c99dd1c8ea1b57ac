/**
 * optimize in-process: every optimizer and its options against torch.optim's documented
 * algorithms (the pseudo-code of each optimizer's docstring) written independently in numpy
 * (computed once, kept here), 50 steps on the Rosenbrock
 * function from (-1.5, 2); the PyTorch vectors' own optimize cases run in test/lang/oracle.test.ts.
 */
import t from 'tap';
import { ProgramCache, computeSync } from '../../src/index.js';
import type { GradientPlan, Tensor } from '../../src/engine/index.js';
import { problemOf } from '../helpers.js';

const ROSENBROCK = { program: '(1 - x)^2 + 100 * (y - x^2)^2', params: { x: -1.5, y: 2 } };

const references: { optimizer: Record<string, unknown>; params: { x: number; y: number }; loss: number }[] = [
  { optimizer: {name: 'sgd', lr: 0.0001}, params: { x: -1.4183870124160436, y: 2.0193937470591545 }, loss: 5.854329305758641 },
  { optimizer: {name: 'sgd', lr: 0.0001, momentum: 0.5, dampening: 0.1, weight_decay: 0.01}, params: { x: -1.416148698207142, y: 2.0130729666063356 }, loss: 5.843544196968259 },
  { optimizer: {name: 'momentum', lr: 0.0001}, params: { x: -1.3886842162984783, y: 1.954224054086086 }, loss: 5.772274164077743 },
  { optimizer: {name: 'nesterov', lr: 0.0001}, params: { x: -1.396716323070346, y: 1.9585579875153791 }, loss: 5.7502422160917455 },
  { optimizer: {name: 'sgd', lr: 0.0001, momentum: 0.8, nesterov: true}, params: { x: -1.4079555808642152, y: 1.9899374791597615 }, loss: 5.804023893061125 },
  { optimizer: {name: 'adam', lr: 0.05}, params: { x: -1.3745064088634462, y: 1.8868385921216777 }, loss: 5.63887082386613 },
  { optimizer: {name: 'adam', lr: 0.02, betas: [0.8, 0.99], eps: 1e-06, weight_decay: 0.1, amsgrad: true}, params: { x: -1.4035452712018868, y: 1.9764933689133968 }, loss: 5.781325415535885 },
  { optimizer: {name: 'rmsprop', lr: 0.001}, params: { x: -1.4346154128957502, y: 2.0602370473869396 }, loss: 5.92779981232404 },
  { optimizer: {name: 'rmsprop', lr: 0.001, alpha: 0.9, momentum: 0.5, centered: true, weight_decay: 0.01}, params: { x: -1.4312034832808997, y: 2.054586050268669 }, loss: 5.914647432176173 },
  { optimizer: {name: 'adagrad', lr: 0.1}, params: { x: -1.3971105801676629, y: 1.9581316041993604 }, loss: 5.750000054550961 },
  { optimizer: {name: 'adagrad', lr: 0.1, lr_decay: 0.01, initial_accumulator_value: 0.5, weight_decay: 0.01}, params: { x: -1.4037245082822913, y: 1.9766514343354316 }, loss: 5.78174660429485 },
  { optimizer: {name: 'adam', lr: 0.01, maximize: true}, params: { x: -2.104743099991089, y: 1.4024174544831134 }, loss: 926.2308356146831 },
];


const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-10 * Math.max(1, Math.abs(b));

t.test('each optimizer and option follows torch.optim\'s update rule', async (t) => {
  for (const r of references) {
    const got = computeSync('optimize', { ...ROSENBROCK, optimizer: r.optimizer, steps: 50 }) as { params: { x: number; y: number }; loss: number };
    const label = JSON.stringify(r.optimizer);
    t.ok(close(got.params.x, r.params.x) && close(got.params.y, r.params.y), `${label}: params (${got.params.x}, ${got.params.y}) vs (${r.params.x}, ${r.params.y})`);
    t.ok(close(got.loss, r.loss), `${label}: loss ${got.loss} vs ${r.loss}`);
  }
});

t.test('history: the loss at steps 0, every, 2 every, ... before each update; params and loss after the last', async (t) => {
  const body = { program: 'sum(x .^ 2)', params: { x: [2, 1, 10] }, optimizer: { name: 'sgd', lr: 0.1 }, steps: 7, every: 3 };
  const r = computeSync('optimize', body) as { params: { x: number[] }; loss: number; history: { step: number; loss: number }[] };
  // Each sgd step multiplies x by 1 - 2 lr = 0.8, so the loss at step s is 105 · 0.64^s.
  t.same(
    r.history.map((h) => h.step),
    [0, 3, 6],
  );
  for (const h of r.history) t.ok(close(h.loss, 105 * 0.64 ** h.step), `loss at step ${h.step}: ${h.loss}`);
  t.ok(close(r.loss, 105 * 0.64 ** 7), 'the final loss is after all 7 updates');
  r.params.x.forEach((v, i) => t.ok(close(v, [2, 1, 10][i] * 0.8 ** 7), `x[${i}] after 7 updates`));
  const zero = computeSync('optimize', { ...body, steps: 0 }) as { params: { x: number[] }; loss: number; history: unknown[] };
  t.same(zero, { params: { x: [2, 1, 10] }, loss: 105, history: [] }, 'zero steps: the initial params and their loss');
});

t.test('the engine (tensors, data in at) and compiled code (scalars) give the same steps', async (t) => {
  const scalar = computeSync('optimize', { program: '(a - x)^2 + 3 * (y - x)^2', at: { a: 2 }, params: { x: 0, y: 1 }, optimizer: { name: 'adam', lr: 0.1 }, steps: 20 }) as {
    params: { x: number; y: number };
  };
  const tensor = computeSync('optimize', { program: 'sum((a - x) .^ 2) + 3 * sum((y - x) .^ 2)', at: { a: [2] }, params: { x: [0], y: 1 }, optimizer: { name: 'adam', lr: 0.1 }, steps: 20 }) as {
    params: { x: number[]; y: number };
  };
  t.ok(close(tensor.params.x[0], scalar.params.x) && close(tensor.params.y, scalar.params.y), 'the same parameters by both paths');
});

t.test('a diverging run stops at the first non-finite loss and says so', async (t) => {
  const r = computeSync('optimize', { ...ROSENBROCK, optimizer: { name: 'sgd', lr: 0.01 }, steps: 100, every: 10 }) as {
    loss: unknown;
    stopped: { step: number; reason: string };
    history: unknown[];
  };
  t.equal(r.loss, 'Infinity', 'the loss that stopped it');
  t.match(r.stopped, { step: 7, reason: /Infinity at step 7.*diverged/ });
  t.equal(r.history.length, 1, 'history up to the stop');
});

t.test('bad optimize requests: 400 for the shape of the request, 422 for values the program cannot take', async (t) => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['no params', { program: 'x^2', optimizer: { name: 'sgd' }, steps: 1 }, { status: 400, path: '/params' }],
    ['an unknown optimizer', { ...ROSENBROCK, optimizer: { name: 'lbfgs' }, steps: 1 }, { status: 400, path: '/optimizer/name' }],
    ['an unknown setting', { ...ROSENBROCK, optimizer: { name: 'adam', momentum: 0.9 }, steps: 1 }, { status: 400, path: '/optimizer/momentum', detail: /adam has no setting "momentum"/ }],
    ['a negative learning rate', { ...ROSENBROCK, optimizer: { name: 'sgd', lr: -1 }, steps: 1 }, { status: 422, code: 'INVALID_ARGUMENT', path: '/optimizer/lr' }],
    ['beta1 of 1', { ...ROSENBROCK, optimizer: { name: 'adam', beta1: 1 }, steps: 1 }, { status: 422, path: '/optimizer/beta1' }],
    ['nesterov without momentum', { ...ROSENBROCK, optimizer: { name: 'sgd', nesterov: true }, steps: 1 }, { status: 422, path: '/optimizer/momentum' }],
    ['negative steps', { ...ROSENBROCK, optimizer: { name: 'sgd' }, steps: -1 }, { status: 400, path: '/steps' }],
    ['too many steps', { ...ROSENBROCK, optimizer: { name: 'sgd' }, steps: 10_000_001 }, { status: 422, path: '/steps' }],
    ['every of 0', { ...ROSENBROCK, optimizer: { name: 'sgd' }, steps: 1, every: 0 }, { status: 400, path: '/every' }],
    ['a parameter also in at', { ...ROSENBROCK, at: { x: 1 }, optimizer: { name: 'sgd' }, steps: 1 }, { status: 400, path: '/at/x' }],
    ['a vector loss', { program: 'x .^ 2', params: { x: [1, 2] }, optimizer: { name: 'sgd' }, steps: 1 }, { status: 422, code: 'NOT_SCALAR', detail: /scalar loss/ }],
    ['wrt, which optimize does not take', { ...ROSENBROCK, wrt: ['x'], optimizer: { name: 'sgd' }, steps: 1 }, { status: 400, path: '/wrt' }],
  ];
  for (const [label, body, expected] of cases) t.match(problemOf(() => computeSync('optimize', body)), expected, label);
});

t.test('a tensor program with fixed data (run on its compiled plan) takes exactly the steps of the engine', async (t) => {
  const program = 'H = relu(X * W + b)\ncross_entropy(H * V, y)';
  const data = {
    X: [
      [0.5, -1.2, 0.3],
      [1.1, 0.4, -0.7],
      [-0.2, 0.9, 1.5],
      [0.8, -0.5, 0.1],
    ],
    y: [1, 3, 2, 3],
  };
  const initial = {
    W: [
      [0.2, -0.4, 0.1],
      [0.7, 0.1, -0.3],
      [-0.3, 0.6, 0.5],
    ],
    b: [0.05, -0.1, 0.2],
    V: [
      [0.3, -0.2, 0.1],
      [-0.5, 0.4, 0.2],
      [0.1, 0.1, -0.6],
    ],
  };
  const [lr, steps] = [0.1, 25];
  // By hand: each step's gradient from `grad` on a fresh cache (the general engine), then p - lr g.
  const subtract = (p: unknown, g: unknown): unknown => (Array.isArray(p) ? p.map((v, i) => subtract(v, (g as unknown[])[i])) : (p as number) - lr * (g as number));
  let params: Record<string, unknown> = initial;
  for (let s = 0; s < steps; s++) {
    const { grad } = computeSync('grad', { program, at: { ...data, ...params }, wrt: ['W', 'b', 'V'] }, { cache: new ProgramCache() }) as { grad: Record<string, unknown> };
    params = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, subtract(p, grad[k])]));
  }
  const got = computeSync('optimize', { program, at: data, params: initial, optimizer: { name: 'sgd', lr }, steps }) as { params: Record<string, unknown> };
  t.same(got.params, params, `${steps} steps of sgd: the same parameters to the last bit`);
  t.notSame(params, initial, 'and they moved');
});

t.test('a plan kept between requests serves only the same data: other data, or -0 for 0, gets its own', async (t) => {
  // atan2(y, -1) tells -0 from 0: -π or π.
  const program = 'sum((X * w - y).^2) + sum(atan2(y, -1))';
  const body = (X: number[][], y: number[]) => ({ program, at: { X, y }, params: { w: [0.5, -0.25] }, optimizer: { name: 'sgd', lr: 0.01 }, steps: 5 });
  const first = body([[1, 2], [3, 4], [5, 6]], [1, 0, -1]);
  const variants = {
    'the same data again': first,
    'one number of X changed': body([[1, 2], [3, 4.5], [5, 6]], [1, 0, -1]),
    'y changed': body([[1, 2], [3, 4], [5, 6]], [1, 0, 1]),
    'y with -0 for 0': body([[1, 2], [3, 4], [5, 6]], [1, -0, -1]),
    'X of another shape': body([[1, 2], [3, 4]], [1, 0]),
  };
  const shared = new ProgramCache();
  computeSync('optimize', first, { cache: shared });
  for (const [name, variant] of Object.entries(variants)) {
    t.same(computeSync('optimize', variant, { cache: shared }), computeSync('optimize', variant, { cache: new ProgramCache() }), name);
  }
  const a = computeSync('optimize', variants['one number of X changed'], { cache: shared }) as { loss: number };
  const b = computeSync('optimize', first, { cache: shared }) as { loss: number };
  t.not(a.loss, b.loss, 'and the answers differ where the data do');
});

t.test('a kept plan saves its compilation (fewer operations counted), whatever the size of the data, which it does not keep', async (t) => {
  const operations = (body: object, cache: ProgramCache): number => {
    const stats = { operations: 0 };
    computeSync('optimize', body, { cache, stats });
    return stats.operations;
  };
  const body = { program: 'sum((X * w - y).^2)', at: { X: [[1, 2], [3, 4]], y: [1, 0] }, params: { w: [0.5, -0.25] }, optimizer: { name: 'sgd', lr: 0.01 }, steps: 3 };
  const cache = new ProgramCache();
  const first = operations(body, cache);
  t.ok(operations(body, cache) < first, 'the second request reuses the plan');
  // 2^18 + 1 unused elements: more than a plan may keep, but the data are inputs of the plan, not kept in it.
  const big = { ...body, at: { ...body.at, unused: { shape: [(1 << 18) + 1], data: new Array((1 << 18) + 1).fill(0) } } };
  const bigCache = new ProgramCache();
  const once = operations(big, bigCache);
  t.ok(operations(big, bigCache) < once, 'large data: the plan is kept all the same');
});

/** A program cache that counts the plans `optimize` makes, or (refusing) makes none: the general engine at every step. */
class OptimizeCache extends ProgramCache {
  made = 0;

  constructor(private readonly refusing = false) {
    super();
  }

  override planAtOnce(key: string, make: () => GradientPlan | null): GradientPlan | null {
    if (this.refusing) return null;
    return super.planAtOnce(key, () => {
      this.made++;
      return make();
    });
  }

  override planWithData(key: string, data: ReadonlyMap<string, Tensor>, make: () => GradientPlan | null): GradientPlan | null {
    if (this.refusing) return null;
    return super.planWithData(key, data, () => {
      this.made++;
      return make();
    });
  }
}

t.test('new data reuse one plan: the data are inputs of it, and each data set gets the engine\'s steps', async (t) => {
  const program = 'H = relu(X * W + b)\ncross_entropy(H * V, y)';
  const body = (X: number[][], y: number[]) => ({
    program,
    at: { X, y },
    params: { W: [[0.2, -0.4], [0.7, 0.1]], b: [0.05, -0.1], V: [[0.3, -0.2, 0.1], [-0.5, 0.4, 0.2]] },
    optimizer: { name: 'adam', lr: 0.05 },
    steps: 20,
  });
  const sets = [body([[0.5, -1.2], [1.1, 0.4], [-0.2, 0.9]], [1, 3, 2]), body([[0.1, 0.3], [-0.7, 0.8], [0.6, -0.5]], [2, 2, 1]), body([[1, 2], [3, -4], [0, 0.5]], [3, 1, 1])];
  const cache = new OptimizeCache();
  for (const [k, set] of sets.entries()) {
    t.same(computeSync('optimize', set, { cache }), computeSync('optimize', set, { cache: new OptimizeCache(true) }), `data set ${k + 1}: the engine's parameters and losses, to the last bit`);
  }
  t.equal(cache.made, 1, 'one plan for the three data sets');
});

t.test('a program that reads a value of its data (a loop bound) keeps a plan with the data baked in, per data set', async (t) => {
  const body = (n: number) => ({ program: 's = 0\nfor i = 1:n\n  s = s + sum(w .^ 2) * i\nend\ns', at: { n }, params: { w: [0.5, -0.25] }, optimizer: { name: 'sgd', lr: 0.01 }, steps: 4 });
  const cache = new OptimizeCache();
  for (const n of [2, 3, 2]) t.same(computeSync('optimize', body(n), { cache }), computeSync('optimize', body(n), { cache: new OptimizeCache(true) }), `n = ${n}: the engine's steps`);
  // The data-input plan is refused once (remembered), then the baked plan is made for n = 2 and n = 3 (the last n = 2 replaces n = 3's).
  t.equal(cache.made, 4, 'one refused plan with data as inputs, then one baked plan per data set');
});

t.test('a planned run that fails mid-way reports the failure as the engine does, with its place', async (t) => {
  // sum(s) pulls s down by 1 a step: at step 3 it is -0.5, and normal's check fails inside the plan.
  const body = { program: 'sum(s) + 0 * sum(log_prob(normal(0, s), [0.5]))', params: { s: [2.5] }, optimizer: { name: 'sgd', lr: 1 }, steps: 6 };
  const problem = problemOf(() => computeSync('optimize', body));
  t.equal(problem?.code, 'INVALID_ARGUMENT');
  t.match(problem?.detail, /normal: sigma must be positive, got -0\.5/);
  t.same([problem?.line, problem?.column], [1, 27], 'at normal(0, s)');
});
