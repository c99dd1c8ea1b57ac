/**
 * `POST /v1/check` and the hardened `POST /v1/derivative` through the real server: grades as
 * the library computes them, a student's bad answer a 200 with its reason, the same seed the
 * same points on any worker, malformed requests 400 with a JSON pointer, the limit on points
 * from the environment, and check inside a batch.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';
import { assertProblemReply, describe, post, startServer } from './harness.js';

interface Grade {
  pass: boolean;
  score: number;
  points: number;
  passed: number;
  failures: { point: Record<string, number>; quantity: string; expected: unknown; got: unknown; error: unknown; reason?: string; code?: string }[];
  seed?: number;
  trace?: { graded: number; correct: number; firstWrong: { id: string; field: string } | null };
}

t.test('grades over HTTP: what the library computes, for every kind of answer', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const cases: { name: string; body: Record<string, unknown>; expect: Record<string, unknown> }[] = [
    {
      name: 'a correct symbolic gradient at random points',
      body: { program: 'x * y + sin(x)', answer: { grad: { x: 'y + cos(x)', y: 'x' } }, random: { n: 100, ranges: { x: [-2, 2], y: [-2, 2] } }, seed: 9 },
      expect: { pass: true, score: 1, points: 100, passed: 100, failures: [], seed: 9 },
    },
    {
      name: 'a wrong symbolic gradient',
      body: { program: 'x^2 * sin(x)', answer: { grad: { x: '2*x*cos(x)' } }, random: { n: 40, ranges: { x: [-2, 2] } }, seed: 9 },
      expect: { pass: false, points: 40 },
    },
    {
      name: 'numbers at at',
      body: { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, answer: { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } } },
      expect: { pass: true, points: 1, failures: [] },
    },
    { name: 'gradcheck', body: { program: 'sum(W * x .^ 2)', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] }, gradcheck: true }, expect: { pass: true, gradcheck: { eps: 1e-6 } } },
    {
      name: 'a trace',
      body: { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, answer: { trace: [{ id: 'v1', tangent: 4.2 }, { id: 'v2', tangent: 0 }, { id: 'v3', tangent: 4.2 }] } },
      expect: { pass: false, trace: { graded: 3, correct: 1, firstWrong: { id: 'v2', op: 'sin', field: 'tangent' } } },
    },
  ];
  for (const c of cases) {
    const reply = await post(base, 'check', c.body);
    t.equal(reply.status, 200, `${c.name}: 200 (${describe(reply)})`);
    t.match(reply.json, c.expect, `${c.name}: graded`);
    t.same(reply.json, computeSync('check', c.body), `${c.name}: exactly the library's answer`);
  }
  const wrong = (await post(base, 'check', cases[1].body)).json as Grade;
  t.equal(wrong.failures.length, 10, 'a wrong answer: 10 failures listed');
  t.equal(wrong.score, wrong.passed / 40, 'and the score');
});

t.test('a garbage, huge or dangerous answer is a 200 graded wrong with the reason', async (t) => {
  const { base } = await startServer(t);
  const answers: [string, string, RegExp][] = [
    ['garbage', '2*x +)', /does not parse/],
    ['import(...)', 'import("fs")', /`import` is not available/],
    ['evaluate(...)', 'evaluate("2*x")', /`evaluate` is not available/],
    ['an unknown name', 'process.exit(1)', /property access|does not parse|unknown/],
    ['huge', `${'x + '.repeat(50_000)}x`, /too long: 200001 characters/],
    ['an endless loop', 'while true\nend', /iteration limit/],
  ];
  for (const [name, answer, reason] of answers) {
    const reply = await post(base, 'check', { program: 'x^2', answer: { grad: { x: answer } }, random: { n: 3, ranges: { x: [0, 1] } }, seed: 1 });
    t.equal(reply.status, 200, `${name}: 200`);
    const grade = reply.json as Grade;
    t.match(grade, { pass: false, score: 0, points: 3, passed: 0 }, `${name}: wrong at every point`);
    t.match(grade.failures[0]?.reason, reason, `${name}: ${grade.failures[0]?.reason}`);
  }
  const alive = await post(base, 'grad', { program: 'x^2', at: { x: 3 } });
  t.same(alive.json, { value: 9, grad: { x: 6 } }, 'the server still answers');
});

t.test('the same seed gives the same random points on any worker; a fresh seed is reported', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const body = { program: 'x * y', answer: { value: 'x + y' }, random: { n: 8, ranges: { x: [-1, 1], y: [-1, 1] } } };
  const replies = await Promise.all([1, 2, 3, 4].map(() => post(base, 'check', { ...body, seed: 123 })));
  for (const r of replies.slice(1)) t.equal(r.text, replies[0].text, 'the same bytes');
  const fresh = (await post(base, 'check', body)).json as Grade;
  t.ok(Number.isSafeInteger(fresh.seed), `a fresh seed is reported (${fresh.seed})`);
  const again = (await post(base, 'check', { ...body, seed: fresh.seed })).json as Grade;
  t.same(again.failures, fresh.failures, 'which gives the same points');
});

t.test('malformed requests are 400 with a JSON pointer; the program\'s problems 422', async (t) => {
  const { base } = await startServer(t, { MAX_CHECK_POINTS: '5' });
  const program = { program: 'x^2', at: { x: 1 } };
  const cases: { name: string; body: unknown; status: number; code: string; path?: string; line?: number; column?: number; detail: RegExp }[] = [
    { name: 'n as a string', body: { ...program, answer: { value: 'x^2' }, random: { n: '5', ranges: { x: [0, 1] } } }, status: 400, code: 'INVALID_REQUEST', path: '/random/n', detail: /integer/ },
    { name: 'an answer as a number', body: { ...program, answer: 2 }, status: 400, code: 'INVALID_REQUEST', path: '/answer', detail: /object/ },
    { name: 'an unknown answer field', body: { ...program, answer: { hint: 'x' } }, status: 400, code: 'INVALID_REQUEST', path: '/answer/hint', detail: /unknown field "hint"/ },
    { name: 'a range of three numbers', body: { ...program, answer: { value: 'x' }, random: { n: 2, ranges: { x: [0, 1, 2] } } }, status: 400, code: 'INVALID_REQUEST', path: '/random/ranges/x', detail: /more than 2/ },
    { name: 'a trace entry without an id', body: { ...program, answer: { trace: [{ tangent: 1 }] } }, status: 400, code: 'INVALID_REQUEST', path: '/answer/trace/0/id', detail: /id/ },
    { name: 'gradcheck false', body: { ...program, gradcheck: false }, status: 400, code: 'INVALID_REQUEST', path: '/gradcheck', detail: /allowed value/ },
    { name: 'n over MAX_CHECK_POINTS', body: { ...program, answer: { value: 'x^2' }, random: { n: 6, ranges: { x: [0, 1] } } }, status: 422, code: 'INVALID_ARGUMENT', path: '/random/n', detail: /from 1 to 5, got 6/ },
    { name: 'points over MAX_CHECK_POINTS', body: { ...program, answer: { value: 'x^2' }, points: Array.from({ length: 6 }, (_, i) => ({ x: i })) }, status: 413, code: 'TOO_LARGE', path: '/points', detail: /6 points, over the limit of 5/ },
    { name: 'the program does not parse', body: { program: 'x^', at: { x: 1 }, answer: { value: 1 } }, status: 422, code: 'PARSE_ERROR', line: 1, column: 3, detail: /syntax error/ },
  ];
  for (const c of cases) {
    const reply = await post(base, 'check', c.body);
    assertProblemReply(t, c.name, reply, { status: c.status, code: c.code as never, path: c.path, line: c.line, column: c.column, detail: [c.detail] });
  }
});

t.test('derivative over HTTP: the check field, and the engine named where mathjs cannot differentiate', async (t) => {
  const { base } = await startServer(t);
  const ok = await post(base, 'derivative', { program: 'x^2 * sin(x)', wrt: ['x'] });
  t.equal(ok.status, 200);
  t.match(ok.json, { derivative: '2 * x * sin(x) + x ^ 2 * cos(x)', check: { agrees: true } }, 'the derivative and its check');
  t.equal((ok.json as { check: { points: unknown[] } }).check.points.length, 3, 'three points');
  const none = await post(base, 'derivative', { program: 'sqrt(-x - 3)', wrt: ['x'] });
  t.match(none.json, { check: { agrees: null, points: [], detail: /not both finite/ } }, 'no point to compare at: agrees is null');
  const sigmoid = await post(base, 'derivative', { program: 'sigmoid(x)', wrt: ['x'] });
  assertProblemReply(t, 'sigmoid', sigmoid, { status: 422, code: 'NOT_DIFFERENTIABLE', path: '/program', detail: [/the engine can: the grad endpoint differentiates it numerically/] });
});

t.test('check inside a batch: each item graded, a bad one failing alone', async (t) => {
  const { base } = await startServer(t, { WORKERS: '2' });
  const reply = await post(base, 'batch', {
    requests: [
      { endpoint: 'check', program: 'x^2', answer: { grad: { x: '2*x' } }, random: { n: 10, ranges: { x: [-1, 1] } }, seed: 1 },
      { endpoint: 'check', program: 'x^2', answer: { grad: { x: '2*x +' } }, at: { x: 1 } },
      { endpoint: 'check', program: 'x^2', answer: { grad: { x: '2*x' } }, random: { n: 0, ranges: { x: [-1, 1] } } },
    ],
  });
  t.equal(reply.status, 200);
  const { results } = reply.json as { results: Record<string, unknown>[] };
  t.match(results[0], { pass: true, points: 10, seed: 1 }, 'a passing answer');
  t.match(results[1], { pass: false, failures: [{ code: 'PARSE_ERROR' }] }, 'a student\'s syntax error is a grade');
  t.match(results[2], { error: { status: 422, code: 'INVALID_ARGUMENT', path: '/requests/2/random/n' } }, 'a bad request is an error item');
});
