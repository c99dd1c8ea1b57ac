/** The derivative and batch endpoints, in-process. */
import t from 'tap';
import { compute, computeSync, loadSymbolic } from '../../src/index.js';
import { problemOf } from '../helpers.js';

t.test("derivative: mathjs's symbolic differentiation comes with the library; compute answers a batch's item too", async (t) => {
  await loadSymbolic();
  t.match(computeSync('derivative', { program: 'x^3', wrt: ['x'] }), { derivative: '3 * x ^ 2' }, 'computeSync answers');
  t.match(await compute('batch', { requests: [{ endpoint: 'derivative', program: 'x^3', wrt: ['x'] }] }), { results: [{ derivative: '3 * x ^ 2' }] }, "compute, a batch's item");
});

t.test('derivative: symbolic, simplified, with TeX, and agreeing with grad at a point', (t) => {
  const cases: { program: string; wrt: string; expected: string; at: Record<string, number> }[] = [
    { program: 'x^2 * sin(x)', wrt: 'x', expected: '2 * x * sin(x) + x ^ 2 * cos(x)', at: { x: 0.7 } },
    { program: 'x*y + sin(x)', wrt: 'x', expected: 'y + cos(x)', at: { x: 0.5, y: 4.2 } },
    { program: 'exp(x*y) + log(x)', wrt: 'y', expected: 'x * exp(x * y)', at: { x: 1.3, y: -0.4 } },
  ];
  for (const c of cases) {
    const r = computeSync('derivative', { program: c.program, wrt: [c.wrt] }) as { derivative: string; tex: string };
    t.equal(r.derivative, c.expected, `d/d${c.wrt} ${c.program}`);
    t.ok(r.tex.length > 0, `${c.program}: TeX`);
    // The symbolic derivative, evaluated by the engine, equals the engine's gradient.
    const symbolic = computeSync('eval', { program: r.derivative, at: c.at }) as { value: number };
    const numeric = computeSync('grad', { program: c.program, at: c.at, wrt: [c.wrt] }) as { grad: Record<string, number> };
    t.ok(Math.abs(symbolic.value - numeric.grad[c.wrt]) <= 1e-12 * Math.max(1, Math.abs(symbolic.value)), `${c.program}: symbolic equals grad at ${JSON.stringify(c.at)}`);
  }
  t.end();
});

t.test("derivative: the check's points hold mathjs's derivative as the engine evaluates it (fdlibm's pow and the rest: the same bytes in every JavaScript engine)", async (t) => {
  for (const program of ['x^2.5 * sin(x)', 'x^(1/3) + exp(x) / x^0.7', 'sinh(x) * x^1.5']) {
    const r = computeSync('derivative', { program, wrt: ['x'] }) as { derivative: string; check: { agrees: boolean; points: { at: { x: number }; derivative: number }[] } };
    t.equal(r.check.agrees, true, `${program}: mathjs and the engine agree`);
    t.equal(r.check.points.length, 3, `${program}: at three points`);
    for (const p of r.check.points) {
      const { value } = computeSync('eval', { program: r.derivative, at: p.at }) as { value: number };
      t.ok(Object.is(p.derivative, value), `${program} at x = ${p.at.x}: ${p.derivative}, the engine's value of ${r.derivative} to the bit`);
    }
  }
});

t.test('derivative: what mathjs cannot differentiate, and bad requests', (t) => {
  const cases: { name: string; body: unknown; status: number; code: string; detail: RegExp }[] = [
    { name: 'a function mathjs cannot differentiate', body: { program: 'sigmoid(x)', wrt: ['x'] }, status: 422, code: 'NOT_DIFFERENTIABLE', detail: /`sigmoid`.*grad endpoint/ },
    { name: 'two names in wrt', body: { program: 'x*y', wrt: ['x', 'y'] }, status: 400, code: 'INVALID_REQUEST', detail: /exactly one variable/ },
    { name: 'several statements', body: { program: 'a = x\na^2', wrt: ['x'] }, status: 422, code: 'INVALID_ARGUMENT', detail: /one expression/ },
    { name: 'a syntax error', body: { program: 'x^', wrt: ['x'] }, status: 422, code: 'PARSE_ERROR', detail: /syntax error/ },
    { name: 'a blocked function', body: { program: 'evaluate("1")', wrt: ['x'] }, status: 422, code: 'PARSE_ERROR', detail: /not available/ },
  ];
  for (const c of cases) {
    const p = problemOf(() => computeSync('derivative', c.body));
    t.ok(p !== null, `${c.name}: a problem`);
    t.equal(p?.status, c.status, `${c.name}: status`);
    t.equal(p?.code, c.code, `${c.name}: code`);
    t.match(p?.detail, c.detail, `${c.name}: detail`);
  }
  t.end();
});

t.test('batch: each item answered in order, one bad item never failing the others', (t) => {
  const r = computeSync('batch', {
    requests: [
      { endpoint: 'grad', program: 'x*y', at: { x: 1, y: 2 } },
      { endpoint: 'eval', program: 'q' },
      { endpoint: 'derivative', program: 'sin(x)', wrt: ['x'] },
      { endpoint: 'grad', program: 'x', at: { x: 'bad' } },
      { endpoint: 'nope' },
    ],
  }) as { results: Record<string, unknown>[] };
  t.same(r.results[0], { value: 2, grad: { x: 2, y: 1 } }, 'a gradient');
  t.match(r.results[1], { error: { status: 422, code: 'UNKNOWN_NAME' } }, 'an unknown name, as an error item');
  t.match(r.results[2], { derivative: 'cos(x)', tex: '\\cos\\left( x\\right)', check: { agrees: true } }, 'a derivative');
  t.match(r.results[3], { error: { status: 400, code: 'INVALID_REQUEST', path: '/requests/3/at/x' } }, 'a bad value, its path within the batch');
  t.match(r.results[4], { error: { status: 404, code: 'NOT_FOUND' } }, 'an unknown endpoint');
  t.end();
});

t.test('batch: limits and malformed batches', (t) => {
  t.match(problemOf(() => computeSync('batch', { requests: Array.from({ length: 3 }, () => ({ endpoint: 'eval', program: '1' })) }, { limits: { maxBatch: 2 } })), {
    status: 413,
    code: 'TOO_LARGE',
  });
  t.match(problemOf(() => computeSync('batch', { items: [] })), { status: 400, code: 'INVALID_REQUEST' });
  t.match(computeSync('batch', { requests: [{ endpoint: 'batch', requests: [] }] }), { results: [{ error: { code: 'INVALID_REQUEST' } }] }, 'no nested batches');
  // A clock that moves 70 ms at every reading: the batch's 200 ms run out after a few items.
  let now = 0;
  const clock = (): number => (now += 70);
  const item = { endpoint: 'eval', program: 'x + 1', at: { x: [1, 2] } };
  const r = computeSync('batch', { requests: [item, item, item, item, item] }, { limits: { timeoutMs: 200 }, clock }) as {
    results: { value?: unknown; error?: { code: string; limit?: string } }[];
  };
  t.same(r.results[0], { value: [2, 3] }, 'the first item runs');
  t.match(r.results[4], { error: { code: 'LIMIT_EXCEEDED', limit: 'time' } }, 'the items share one deadline: the last finds it passed');
  t.end();
});

t.test('stats count the primitive operations an evaluation ran, for the request log', (t) => {
  const one = { operations: 0 };
  computeSync('eval', { program: 'sum(A * x)', at: { A: [[1, 2], [3, 4]], x: [1, 1] } }, { stats: one });
  // The matrix-vector product (a reshape of x into a column, matmul, a reshape back) and the
  // sum (sumTo, and a reshape where shapes differ): 4 or 5 primitives.
  t.ok(one.operations >= 4 && one.operations <= 5, `eval of sum(A * x): ${one.operations} operations`);
  const both = { operations: 0 };
  computeSync('batch', { requests: [{ endpoint: 'eval', program: 'sum(A * x)', at: { A: [[1, 2], [3, 4]], x: [1, 1] } }, { endpoint: 'eval', program: 'sum(A * x)', at: { A: [[1, 2], [3, 4]], x: [1, 1] } }] }, { stats: both });
  t.equal(both.operations, 2 * one.operations, 'a batch counts every item');
  t.end();
});
