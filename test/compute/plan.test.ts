/**
 * `grad` of a tensor program that comes again with inputs of the same shapes runs on its
 * compiled plan (engine/plan.ts): the answers are those of the general engine, byte for byte,
 * errors included, and programs that cannot be planned keep the general path.
 */
import t from 'tap';
import { Problem, ProgramCache, computeSync } from '../../src/index.js';

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
  const { answers, operations } = thrice(mlp);
  t.equal(answers[1], answers[0], 'the compiling request answers as the engine did');
  t.equal(answers[2], answers[0], 'the planned request answers as the engine did');
  t.ok(operations[2] < operations[0], `the plan ran ${operations[2]} operations, the engine ${operations[0]}`);
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
  const fixed = { ...mlp, wrt: ['W'] };
  const drawing = { program: 'sum(x .* randn(3))', at: { x: [1, 2, 3] }, seed: 5 };
  // A plan would keep a 360,000-element constant: too big to cache.
  const bigConstant = { program: 'sum(x .* ones(600, 600))', at: { x: [0.5] } };
  for (const [name, body] of Object.entries({ branching, fixed, drawing, bigConstant })) {
    const { answers, operations } = thrice(body);
    t.match(answers[0], /"grad":/, `${name}: a gradient`);
    t.equal(new Set(answers).size, 1, `${name}: the same answer three times`);
    t.equal(operations[2], operations[0], `${name}: the engine's operations each time (no plan)`);
  }
});
