/**
 * `grad` of a tensor program that comes again with inputs of the same shapes runs on its
 * compiled plan (engine/plan.ts): the answers are those of the general engine, byte for byte,
 * errors included, and programs that cannot be planned keep the general path.
 */
import t from 'tap';
import { WatchedCache } from './watched-cache.js';
import { Problem, ProgramCache, computeSync } from '../../src/index.js';
import { encodeValue } from '../../src/compute/values.js';
import { prepare } from '../../src/compute/evaluation.js';
import { plannedGradient } from '../../src/compute/fast-paths.js';

/** Three requests through one cache: the first runs the engine, the second compiles, the third reuses. */
function thrice(body: object): { answers: string[]; operations: number[] } {
  const cache = new ProgramCache();
  const answers: string[] = [];
  const operations: number[] = [];
  for (let k = 0; k < 3; k++) {
    const stats = { operations: 0 };
    try {
      answers.push(JSON.stringify(computeSync('grad', body, { cache, stats })));
    } catch (e) {
      answers.push(JSON.stringify(e instanceof Problem ? e.body : String(e)));
    }
    operations.push(stats.operations);
  }
  return { answers, operations };
}

const mlp = {
  program: 'H = relu(X * W + b)\nsum(tanh(H) .^ 2) / 4',
  at: {
    X: [
      [0.5, -1.2, 0.3],
      [1.1, 0.4, -0.7],
      [-0.2, 0.9, 1.5],
      [0.8, -0.5, 0.1],
    ],
    W: [
      [0.2, -0.4],
      [0.7, 0.1],
      [-0.3, 0.6],
    ],
    b: [0.05, -0.1],
  },
};

t.test('a tensor program asked three times: the same bytes each time, the third from the plan', async (t) => {
  const { answers } = thrice(mlp);
  t.equal(answers[1], answers[0], 'the compiling request answers as the engine did');
  t.equal(answers[2], answers[0], 'the planned request answers as the engine did');
  // (Not by counting operations: the engine's square backward is one fused operation, the plan's two multiplications in one loop.)
  const cache = new ProgramCache();
  computeSync('grad', mlp, { cache });
  t.not(plannedGradient(prepare('grad', mlp, { cache }), (value) => value), null, 'the second sight of the program is answered from its plan');
  const grad = JSON.parse(answers[0]).grad as { W: number[][] };
  t.equal(grad.W.length, 3, 'the gradient has W’s shape');
});

t.test('new values of the same shapes reuse the plan and get their own, correct answers', async (t) => {
  const cache = new ProgramCache();
  const at = (scale: number) => ({ ...mlp, at: { ...mlp.at, b: [0.05 * scale, -0.1 * scale] } });
  computeSync('grad', at(1), { cache });
  computeSync('grad', at(2), { cache });
  const planned = JSON.stringify(computeSync('grad', at(3), { cache }));
  const fresh = JSON.stringify(computeSync('grad', at(3), { cache: new ProgramCache() }));
  t.equal(planned, fresh, 'b scaled by 3: planned and unplanned answers are identical');
});

t.test('a failure in a planned run is reported as the engine reports it, with its place', async (t) => {
  // Valid twice (the plan is made), then a negative scale: the check fails inside the plan.
  const cache = new ProgramCache();
  const body = (s: number[]) => ({ program: 'sum(log_prob(normal(0, s), [0.5, -0.25]))', at: { s } });
  computeSync('grad', body([1, 2]), { cache });
  computeSync('grad', body([1.5, 2]), { cache });
  const problem = (c: ProgramCache) => {
    try {
      computeSync('grad', body([1, -2]), { cache: c });
      return null;
    } catch (e) {
      return (e as Problem).body;
    }
  };
  const planned = problem(cache);
  t.ok(planned !== null, 'the request fails');
  t.same(planned, problem(new ProgramCache()), 'with the same problem (code, message, line, column) as without a plan');
  t.equal(planned?.code, 'INVALID_ARGUMENT');
});

t.test('programs that cannot be planned keep the general path, answering the same each time', async (t) => {
  const branching = { program: 'if sum(x) > 0\n  sum(x .^ 2)\nelse\n  sum(exp(x))\nend', at: { x: [0.5, -0.2, 0.3] } };
  const drawing = { program: 'sum(x .* randn(3))', at: { x: [1, 2, 3] }, seed: 5 };
  // A plan would keep a 360,000-element constant: too big to cache.
  const bigConstant = { program: 'sum(x .* ones(600, 600))', at: { x: [0.5] } };
  for (const [name, body] of Object.entries({ branching, drawing, bigConstant })) {
    const { answers, operations } = thrice(body);
    t.match(answers[0], /"grad":/, `${name}: a gradient`);
    t.equal(new Set(answers).size, 1, `${name}: the same answer three times`);
    t.equal(operations[2], operations[0], `${name}: the engine's operations each time (no plan)`);
  }
});

/** Deterministic numbers in [-1, 1) for request bodies. */
function numbers(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (2 * s) / 2 ** 32 - 1;
  });
}
const rows = (data: number[], columns: number): number[][] => Array.from({ length: data.length / columns }, (_, r) => data.slice(r * columns, (r + 1) * columns));

/** The iris-size MLP as an autograder sends it: X (100x4) and labels y fixed, the weights and biases differentiated, new data each call. */
function irisBody(seed: number, wrt = ['W1', 'b1', 'W2', 'b2']): object {
  return {
    program: 'H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)',
    at: {
      X: rows(numbers(400, seed).map((v) => 2 * v), 4),
      y: numbers(100, seed + 1).map((v) => 1 + Math.floor((v + 1) * 1.5)),
      W1: rows(numbers(48, seed + 2), 12),
      b1: numbers(12, seed + 3).map((v) => v / 10),
      W2: rows(numbers(36, seed + 4), 3),
      b2: numbers(3, seed + 5).map((v) => v / 10),
    },
    wrt,
  };
}

t.test('the MLP with fixed data and labels, new data each call: the engine\'s bytes, from the plan from the second call on', async (t) => {
  const cache = new WatchedCache();
  for (let k = 0; k < 5; k++) {
    const body = irisBody(10 * k + 1);
    const planned = JSON.stringify(computeSync('grad', body, { cache }));
    const engine = JSON.stringify(computeSync('grad', body, { cache: new WatchedCache() }));
    t.equal(planned, engine, `call ${k + 1}: the general engine's answer, byte for byte`);
    t.equal(cache.planned, Math.max(0, k), `call ${k + 1}: ${k === 0 ? 'the engine (first sight)' : 'the plan'}`);
  }
});

t.test('fixed inputs: wrt in another order than at, one weight alone, and a wrong label reported as the engine reports it', async (t) => {
  for (const wrt of [['b2', 'W1'], ['W2']]) {
    const cache = new WatchedCache();
    for (const seed of [1, 2, 3]) {
      const body = irisBody(seed, wrt);
      t.equal(JSON.stringify(computeSync('grad', body, { cache })), JSON.stringify(computeSync('grad', body, { cache: new ProgramCache() })), `wrt ${wrt.join(', ')}, data ${seed}: the engine's bytes`);
    }
    t.equal(cache.planned, 2, `wrt ${wrt.join(', ')}: the second and third calls from the plan`);
  }
  const cache = new WatchedCache();
  computeSync('grad', irisBody(1), { cache });
  computeSync('grad', irisBody(2), { cache });
  const bad = irisBody(3) as { at: { y: number[] } };
  bad.at.y[7] = 4;
  const problem = (c: ProgramCache) => {
    try {
      computeSync('grad', bad, { cache: c });
      return null;
    } catch (e) {
      return (e as Problem).body;
    }
  };
  const planned = problem(cache);
  t.match(planned, { code: 'INVALID_ARGUMENT', detail: /class 4 is not one of 1\.\.3/ }, 'class 4 of 3 is refused');
  t.same(planned, problem(new ProgramCache()), 'with the same problem (code, message, line, column) as without a plan');
});

t.test('fixed inputs: a planned request with new data keeps to the budgets', async (t) => {
  const cache = new WatchedCache();
  computeSync('grad', irisBody(1), { cache });
  computeSync('grad', irisBody(2), { cache });
  const stats = { operations: 0 };
  computeSync('grad', irisBody(3), { cache, stats });
  t.equal(cache.planned, 2, 'the third call ran on the plan');
  t.ok(stats.operations > 0, `its ${stats.operations} operations counted`);
  for (const [limit, value] of [['maxOperations', stats.operations - 1], ['maxElements', 1000]] as const) {
    let problem: Problem | null = null;
    try {
      computeSync('grad', irisBody(4), { cache, limits: { [limit]: value } });
    } catch (e) {
      problem = e as Problem;
    }
    t.match(problem?.body, { code: 'LIMIT_EXCEEDED' }, `${limit} ${value}: refused`);
  }
});

t.test('a planned answer is its own memory: the next run, on the same scratch storage, leaves it as it was', async (t) => {
  const cache = new ProgramCache();
  // The plan's tensors live in scratch memory while they are encoded; the encoded answer is the caller's.
  const planned = (seed: number) => plannedGradient(prepare('grad', irisBody(seed), { cache }), (value, grads) => [value, ...grads].map((v) => encodeValue(v)));
  t.equal(planned(1), null, 'first sight: no plan yet');
  const first = planned(2)!;
  const before = JSON.stringify(first);
  const second = planned(3)!;
  t.equal(JSON.stringify(first), before, 'the first answer is unchanged by the second run');
  t.not(JSON.stringify(second), before, 'and the second has its own numbers');
});
