/**
 * `check`, the autograder's endpoint, in-process: answers graded against the engine's own
 * gradient and closed forms, at `at`, at given points and at seeded random points; answers
 * that are garbage, huge or dangerous graded wrong with a reason (never a 4xx); the Wengert
 * list graded step by step; gradcheck; and the requests that are the client's mistake.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';
import { assertClose, assertProblem, outcomeOf, type ExpectedProblem } from '../helpers.js';

interface Failure {
  point: Record<string, unknown>;
  quantity: string;
  expected: unknown;
  got: unknown;
  error: unknown;
  reason?: string;
  code?: string;
}

interface Grade {
  pass: boolean;
  score: number;
  points: number;
  passed: number;
  failures: Failure[];
  tolerance: { rtol: number; atol: number };
  seed?: number;
  trace?: { graded: number; correct: number; firstWrong: (Record<string, unknown> & { id: string; field: string }) | null };
  gradcheck?: { eps: number; maxError: number };
}

const check = (body: unknown, options = {}): Grade => computeSync('check', body, options) as Grade;

/** The engine's gradient at a point: the oracle every expected value is checked against. */
const engineGrad = (program: string, at: Record<string, unknown>): { value: unknown; grad: Record<string, unknown> } =>
  computeSync('grad', { program, at }) as { value: unknown; grad: Record<string, unknown> };

t.test('a correct symbolic gradient passes at every random point', (t) => {
  const cases: { name: string; program: string; grad: Record<string, string>; ranges: Record<string, [number, number]>; at?: Record<string, unknown> }[] = [
    { name: 'product rule', program: 'x^2 * sin(x)', grad: { x: '2*x*sin(x) + x^2*cos(x)' }, ranges: { x: [-3, 3] } },
    { name: 'two inputs', program: 'x * y + sin(x)', grad: { x: 'y + cos(x)', y: 'x' }, ranges: { x: [-2, 2], y: [-2, 2] } },
    { name: 'chain rule', program: 'exp(sin(x) * y)', grad: { x: 'exp(sin(x) * y) * cos(x) * y', y: 'exp(sin(x) * y) * sin(x)' }, ranges: { x: [-1, 1], y: [0, 2] } },
    { name: 'quotient', program: 'x / (1 + x^2)', grad: { x: '(1 - x^2) / (1 + x^2)^2' }, ranges: { x: [-5, 5] } },
    { name: 'sigmoid, written out', program: 'sigmoid(x)', grad: { x: 'sigmoid(x) * (1 - sigmoid(x))' }, ranges: { x: [-4, 4] } },
    { name: 'log on a positive range', program: 'log(x) * x', grad: { x: 'log(x) + 1' }, ranges: { x: [0.1, 10] } },
    { name: 'a vector input, each element drawn', program: 'sum(x .^ 3)', grad: { x: '3 * x .^ 2' }, ranges: { x: [-1, 1] }, at: { x: [0, 0, 0, 0] } },
    { name: 'a fixed input from at', program: 'a * x^2', grad: { x: '2 * a * x' }, ranges: { x: [-1, 1] }, at: { a: 3.5 } },
  ];
  for (const c of cases) {
    const r = check({ program: c.program, at: c.at, answer: { grad: c.grad }, random: { n: 200, ranges: c.ranges }, seed: 42 });
    t.same({ pass: r.pass, score: r.score, points: r.points, passed: r.passed, failures: r.failures, seed: r.seed }, { pass: true, score: 1, points: 200, passed: 200, failures: [], seed: 42 }, c.name);
  }
  t.end();
});

t.test('a wrong symbolic gradient fails: at most 10 failing points, each with the engine\'s gradient, the answer and the error', (t) => {
  const program = 'x^2 * sin(x)';
  const r = check({ program, answer: { grad: { x: '2*x*cos(x)' } }, random: { n: 30, ranges: { x: [-2, 2] } }, seed: 3 });
  t.equal(r.pass, false, 'fails');
  t.equal(r.points, 30, '30 points graded');
  t.equal(r.score, r.passed / 30, 'score is the fraction passing');
  t.ok(r.passed <= 1, `(almost) no point passes: ${r.passed}`);
  t.equal(r.failures.length, 10, 'at most 10 failures listed');
  for (const f of r.failures) {
    const x = f.point.x as number;
    t.ok(x >= -2 && x <= 2, `x = ${x} is within the range`);
    t.equal(f.quantity, 'grad.x', 'the quantity');
    assertClose(t, f.expected, engineGrad(program, { x }).grad.x, `expected at x = ${x} is the engine's gradient`);
    assertClose(t, f.got, 2 * x * Math.cos(x), `got at x = ${x} is the answer's value`);
    assertClose(t, f.error, Math.abs((f.got as number) - (f.expected as number)), `error at x = ${x}`);
  }
  t.end();
});

t.test('a partly right answer scores the fraction of points where it is right', (t) => {
  // |2x| is d/dx x^2 for x >= 0 only.
  const points = [-1.5, -1, -0.25, 0.25, 0.5, 2].map((x) => ({ x }));
  const r = check({ program: 'x^2', answer: { grad: { x: 'abs(2 * x)' } }, points });
  t.same({ pass: r.pass, points: r.points, passed: r.passed, score: r.score }, { pass: false, points: 6, passed: 3, score: 0.5 }, 'three of six');
  t.same(
    r.failures.map((f) => [f.point.x, f.expected, f.got]),
    [
      [-1.5, -3, 3],
      [-1, -2, 2],
      [-0.25, -0.5, 0.5],
    ],
    'the failing points, in order, with 2x and |2x|',
  );
  t.equal(r.seed, undefined, 'no seed: nothing was drawn');
  t.end();
});

t.test('numbers are compared at at: value and gradient, scalars and tensors', (t) => {
  const scalar = { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 } };
  const truth = engineGrad(scalar.program, scalar.at);
  t.match(check({ ...scalar, answer: { value: truth.value, grad: truth.grad } }), { pass: true, score: 1, points: 1, failures: [] }, 'the engine\'s own numbers pass');
  const wrong = check({ ...scalar, answer: { value: truth.value, grad: { x: truth.grad.x, y: 0.6 } } });
  t.same(wrong.failures, [{ point: { x: 0.5, y: 4.2 }, quantity: 'grad.y', expected: 0.5, got: 0.6, error: 0.09999999999999998 }], 'a wrong partial names the quantity');
  const matrix = { program: 'sum(W * x)', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] } };
  // d/dW sum(W x) = 1 x^T; d/dx = W^T 1.
  t.match(check({ ...matrix, answer: { grad: { W: [[0.5, -1], [0.5, -1]], x: [4, 6] } } }), { pass: true }, 'tensor gradients (closed forms)');
  const shaped = check({ ...matrix, answer: { grad: { x: [4, 6, 0] } } });
  t.match(shaped.failures, [{ quantity: 'grad.x', got: [4, 6, 0], error: null, code: 'SHAPE_MISMATCH', reason: /shape \[3\].*shape \[2\]/ }], 'a tensor of the wrong shape is wrong, with the reason');
  t.end();
});

t.test('tolerances: rtol and atol, defaults 1e-6 and 1e-9', (t) => {
  const body = { program: 'x^3', at: { x: 2 } };
  const near = 12 * (1 + 1e-7);
  t.equal(check({ ...body, answer: { grad: { x: near } } }).pass, true, '1e-7 relative passes by default');
  t.equal(check({ ...body, answer: { grad: { x: near } }, rtol: 1e-8 }).pass, false, 'not with rtol 1e-8');
  t.equal(check({ ...body, answer: { grad: { x: 12.01 } }, rtol: 0, atol: 0.02 }).pass, true, 'atol alone');
  t.same(check({ ...body, answer: { grad: { x: 12 } } }).tolerance, { rtol: 1e-6, atol: 1e-9 }, 'the defaults are reported');
  t.equal(check({ program: 'log(x)', at: { x: -1 }, answer: { value: 'NaN' } }).pass, true, 'NaN matches NaN');
  t.equal(check({ program: '1 / x', at: { x: 0 }, answer: { value: 'Infinity' } }).pass, true, 'an infinity matches itself');
  t.equal(check({ program: '1 / x', at: { x: 0 }, answer: { value: 1e300 } }).pass, false, 'and nothing else');
  t.end();
});

t.test('a garbage, huge or dangerous answer is graded wrong with its reason, and the request succeeds', (t) => {
  const cases: { name: string; answer: string; code: string; reason: RegExp }[] = [
    { name: 'a syntax error', answer: '2*x +', code: 'PARSE_ERROR', reason: /does not parse: syntax error.*column 6/ },
    { name: 'import(...)', answer: 'import("fs")', code: 'PARSE_ERROR', reason: /`import` is not available/ },
    { name: 'evaluate(...)', answer: 'evaluate("2*x")', code: 'PARSE_ERROR', reason: /`evaluate` is not available/ },
    { name: 'property access', answer: 'x.constructor', code: 'PARSE_ERROR', reason: /property access/ },
    { name: 'an unknown variable', answer: '2 * z', code: 'UNKNOWN_NAME', reason: /unknown variable `z`.*the inputs are x/ },
    { name: 'an unknown function', answer: 'dsin(x)', code: 'UNKNOWN_NAME', reason: /unknown function `dsin`/ },
    { name: 'longer than programs may be', answer: 'x + '.repeat(30_000) + 'x', code: 'TOO_LARGE', reason: /120001 characters, over the limit of 100000/ },
    { name: 'brackets nested too deep', answer: `${'('.repeat(300)}x${')'.repeat(300)}`, code: 'LIMIT_EXCEEDED', reason: /nesting depth/ },
    { name: 'an endless loop', answer: 'while 1 > 0\n  y = 1\nend', code: 'LIMIT_EXCEEDED', reason: /iteration limit/ },
    { name: 'endless recursion', answer: 'f(n) = f(n + 1)\nf(1)', code: 'LIMIT_EXCEEDED', reason: /recursion depth/ },
    { name: 'a huge allocation', answer: 'ones(100000000)', code: 'LIMIT_EXCEEDED', reason: /memory limit/ },
    { name: 'a random draw', answer: '2 * x + rand()', code: 'INVALID_ARGUMENT', reason: /no random generator/ },
    { name: 'a distribution', answer: 'normal(x, 1)', code: 'INVALID_ARGUMENT', reason: /normal distribution, not a number/ },
    { name: 'a function definition only', answer: 'g(x) = 2 * x', code: 'INVALID_ARGUMENT', reason: /computes no number/ },
    { name: 'the wrong shape', answer: '[2 * x, 2 * x]', code: 'SHAPE_MISMATCH', reason: /shape \[2\].*shape \[\]/ },
    { name: 'a domain error', answer: 'inv([1, 2; 2, 4]) * x', code: 'INVALID_ARGUMENT', reason: /singular/ },
  ];
  for (const c of cases) {
    const r = check({ program: 'x^2', at: { x: 3 }, answer: { grad: { x: c.answer } } });
    t.match(r, { pass: false, score: 0, points: 1, passed: 0 }, `${c.name}: wrong`);
    t.equal(r.failures.length, 1, `${c.name}: one failure`);
    t.match(r.failures[0], { point: { x: 3 }, quantity: 'grad.x', expected: 6, code: c.code, reason: c.reason }, `${c.name}: ${r.failures[0]?.reason}`);
  }
  t.end();
});

t.test('an answer that runs past the deadline is wrong there and at the points after it, and the request still answers', (t) => {
  const start = Date.now();
  const r = check(
    { program: 'x^2', answer: { grad: { x: 'f(n) = n > 0 ? f(n - 1) + f(n - 1) : 1\nf(40)' } }, random: { n: 5, ranges: { x: [0, 1] } }, seed: 1 },
    { limits: { timeoutMs: 300 } },
  );
  t.ok(Date.now() - start < 2000, `answered in ${Date.now() - start} ms`);
  t.match(r, { pass: false, points: 5, passed: 0 });
  t.equal(r.failures.length, 5, 'every point fails');
  for (const f of r.failures) t.match(f, { code: 'LIMIT_EXCEEDED', reason: /time limit/ }, `${f.reason}`);
  t.end();
});

t.test('the same seed gives the same random points; a fresh seed is reported and repeats them', (t) => {
  const body = { program: 'x * y', answer: { value: 'x * y + 1' }, random: { n: 5, ranges: { x: [-1, 1], y: [10, 20] } } };
  const pointsOf = (r: Grade): unknown[] => r.failures.map((f) => f.point);
  const a = check({ ...body, seed: 7 });
  const b = check({ ...body, seed: 7 });
  t.equal(a.seed, 7, 'the seed is echoed');
  t.same(pointsOf(a), pointsOf(b), 'seed 7 twice: the same points');
  t.notSame(pointsOf(check({ ...body, seed: 8 })), pointsOf(a), 'seed 8: other points');
  for (const p of pointsOf(a) as { x: number; y: number }[]) t.ok(p.x > -1 && p.x < 1 && p.y > 10 && p.y < 20, `${JSON.stringify(p)} within the ranges`);
  const fresh = check(body);
  t.ok(Number.isSafeInteger(fresh.seed), `a fresh seed is reported (${fresh.seed})`);
  t.same(pointsOf(check({ ...body, seed: fresh.seed })), pointsOf(fresh), 'the reported seed gives the same points');
  t.end();
});

t.test('points are merged over at; an input may come from the points alone', (t) => {
  const r = check({ program: 'x * y', at: { y: 2 }, answer: { grad: { x: 'y', y: 'x + 1' } }, points: [{ x: 1 }, { x: 2, y: 3 }] });
  t.same(
    r.failures.map((f) => [f.point, f.expected, f.got]),
    [
      [{ y: 2, x: 1 }, 1, 2],
      [{ y: 3, x: 2 }, 2, 3],
    ],
    'grad.y = x is wrong at both points; grad.x = y is right (y from at, then from the point)',
  );
  t.end();
});

t.test('a vector output: grad answers are vector-Jacobian products with a cotangent', (t) => {
  const body = { program: 'x .^ 2', at: { x: [1, 2] }, cotangent: [1, 3] };
  t.equal(check({ ...body, answer: { grad: { x: '2 * x .* [1, 3]' } } }).pass, true, '2x * cotangent');
  t.equal(check({ ...body, answer: { value: 'x .^ 2' } }).pass, true, 'the value, element-wise');
  t.end();
});

t.test('gradcheck: the engine\'s gradient against central differences', (t) => {
  const smooth: { program: string; at: Record<string, unknown> }[] = [
    { program: 'sin(x) * exp(y)', at: { x: 0.3, y: 0.2 } },
    { program: 'sum(W * x .^ 2)', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] } },
    { program: 'logsumexp(x) + softplus(x[1])', at: { x: [0.1, -0.4, 2] } },
    { program: 'det(A) + sum(inv(A))', at: { A: [[2, 1], [0.5, 3]] } },
    { program: 'x .^ 2', at: { x: [1, 2] } },
  ];
  for (const c of smooth) t.match(check({ ...c, gradcheck: true }), { pass: true, points: 1, failures: [], tolerance: { rtol: 1e-3, atol: 1e-5 }, gradcheck: { eps: 1e-6 } }, c.program);
  const random = check({ program: 'tanh(x * y)', at: { x: 0, y: 0 }, gradcheck: true, random: { n: 20, ranges: { x: [-2, 2], y: [-2, 2] } }, seed: 1 });
  t.match(random, { pass: true, points: 20, seed: 1 }, 'at 20 random points');
  // stop_gradient(x) * x: the engine differentiates the second factor only (x, not 2x).
  const stopped = check({ program: 'stop_gradient(x) * x', at: { x: 1.5 }, gradcheck: true });
  t.equal(stopped.pass, false, 'a gradient that is not the derivative fails');
  t.match(stopped.failures, [{ quantity: 'grad.x', got: 1.5 }]);
  assertClose(t, stopped.failures[0].expected, 3, 'the central difference is 2x', { rtol: 1e-6 });
  const jacobian = check({ program: 'stop_gradient(x) .* x', at: { x: [1.5, 2] }, gradcheck: true });
  t.same(
    jacobian.failures.map((f) => f.quantity),
    ['jacobian.x[1, 1]', 'jacobian.x[2, 2]'],
    'a vector output: Jacobian entries, 1-based',
  );
  t.end();
});

t.test('trace: a student\'s Wengert list graded step by step, the first wrong step reported', (t) => {
  const body = { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 } };
  const table = computeSync('trace', body) as { inputs: { name: string; tangent: number; adjoint: number }[]; steps: { id: string; value: number; tangent: number; adjoint: number }[] };
  const full = [
    ...table.steps.map((s) => ({ id: s.id, value: s.value, tangent: s.tangent, adjoint: s.adjoint })),
    ...table.inputs.map((i) => ({ id: i.name, tangent: i.tangent, adjoint: i.adjoint })),
  ];
  const right = check({ ...body, answer: { trace: full } });
  t.match(right, { pass: true, score: 1, failures: [], trace: { graded: 3 * 3 + 2 * 2, correct: 13, firstWrong: null } }, 'the true table passes, every entry graded');

  // Tangents along x: v1 = x y has tangent y = 4.2, v2 = sin x has cos x, v3 their sum.
  const tangents = check({
    ...body,
    answer: {
      trace: [
        { id: 'v1', tangent: 4.2 },
        { id: 'v2', tangent: Math.sin(0.5) },
        { id: 'v3', tangent: 4.2 + Math.sin(0.5) },
      ],
    },
  });
  t.match(tangents, { pass: false, trace: { graded: 3, correct: 1, firstWrong: { id: 'v2', op: 'sin', field: 'tangent', got: Math.sin(0.5) } } }, 'the first wrong tangent: v2 (sin), not v3');
  assertClose(t, tangents.trace!.firstWrong!.expected, Math.cos(0.5), 'its expected tangent is cos x');
  t.same(
    tangents.failures.map((f) => f.quantity),
    ['v2.tangent', 'v3.tangent'],
    'every wrong entry is listed, in order',
  );

  // Adjoints are filled backwards: of v1 and v2 both wrong, v2 is the first wrong.
  const adjoints = check({ ...body, answer: { trace: [{ id: 'v1', adjoint: 2 }, { id: 'v2', adjoint: 0 }, { id: 'v3', adjoint: 1 }] } });
  t.match(adjoints.trace, { graded: 3, correct: 1, firstWrong: { id: 'v2', field: 'adjoint', expected: 1, got: 0 } }, 'the reverse sweep: v2 before v1');

  const unknown = check({ ...body, answer: { trace: [{ id: 'v1', tangent: 4.2 }, { id: 'v9', tangent: 1 }] } });
  t.match(unknown.trace, { firstWrong: { id: 'v9', reason: /no step "v9": the trace has steps v1 to v3 and the inputs x, y/ } }, 'an id the trace does not have');

  // Tangents along y instead: v1 = x y has tangent x = 0.5.
  t.equal(check({ ...body, tangents: { x: 0, y: 1 }, answer: { trace: [{ id: 'v1', tangent: 0.5 }, { id: 'v2', tangent: 0 }] } }).pass, true, 'tangents along the direction given');
  t.end();
});

t.test('the count of points is limited', (t) => {
  const body = { program: 'x^2', answer: { grad: { x: '2*x' } } };
  t.match(check({ ...body, random: { n: 1000, ranges: { x: [0, 1] } }, seed: 1 }), { pass: true, points: 1000 }, '1000 random points, the default limit');
  t.match(check({ ...body, points: [{ x: 1 }, { x: 2 }, { x: 3 }] }, { limits: { maxCheckPoints: 3 } }), { pass: true, points: 3 }, 'a lower limit');
  assertProblem(t, 'over a lower limit', outcomeOf(() => check({ ...body, points: [{ x: 1 }, { x: 2 }, { x: 3 }] }, { limits: { maxCheckPoints: 2 } })), {
    status: 413,
    code: 'TOO_LARGE',
    path: '/points',
    detail: [/3 points, over the limit of 2/],
  });
  // Every point's inputs and expected values are kept until the answers are graded: as many numbers as one tensor may have.
  const small = { limits: { maxTensorElements: 10 } };
  assertProblem(t, 'random tensor inputs over the limit', outcomeOf(() => check({ program: 'sum(x)', at: { x: [0, 0, 0] }, answer: { value: 'sum(x)' }, random: { n: 4, ranges: { x: [0, 1] } } }, small)), {
    status: 413,
    code: 'TOO_LARGE',
    path: '/random/n',
    detail: [/the random inputs of 4 points are 12 numbers, over the limit of 10/],
  });
  assertProblem(t, 'expected values over the limit', outcomeOf(() => check({ program: 'x * [1, 2, 3, 4]', answer: { value: 'x * [1, 2, 3, 4]' }, points: [{ x: 1 }, { x: 2 }, { x: 3 }] }, small)), {
    status: 413,
    code: 'TOO_LARGE',
    path: '/points',
    detail: [/the expected values of 3 points are 12 numbers/],
  });
  t.match(check({ program: 'x * ones(20)', at: { x: 1 }, answer: { value: 'x * ones(20)' } }, small), { pass: true }, 'one point is never held to it');
  t.end();
});

t.test('the request\'s and the program\'s mistakes are problems, with a JSON pointer', (t) => {
  const base = { program: 'x^2', at: { x: 1 } };
  const cases: { name: string; body: unknown; expected: ExpectedProblem }[] = [
    { name: 'neither answer nor gradcheck', body: base, expected: { status: 400, code: 'INVALID_REQUEST', path: '', detail: [/exactly one of "answer" or "gradcheck"/] } },
    { name: 'both', body: { ...base, answer: { value: 1 }, gradcheck: true }, expected: { status: 400, code: 'INVALID_REQUEST', path: '', detail: [/exactly one/] } },
    { name: 'gradcheck false', body: { ...base, gradcheck: false }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/gradcheck', detail: [/must be true/] } },
    { name: 'an answer that is not an object', body: { ...base, answer: '2*x' }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/answer', detail: [/must be an object/] } },
    { name: 'an empty answer', body: { ...base, answer: {} }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/answer', detail: [/empty/] } },
    { name: 'an unknown answer field', body: { ...base, answer: { hint: 'x' } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/answer/hint', detail: [/unknown field "hint"/] } },
    { name: 'a malformed tensor', body: { ...base, answer: { value: [[1, 2], [3]] } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/answer/value/1', detail: [/not rectangular/] } },
    { name: 'grad of a name that is not an input', body: { ...base, answer: { grad: { z: '1' } } }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/answer/grad/z', detail: [/"z", which is not an input: the inputs are x/] } },
    { name: 'random.n of 0', body: { ...base, answer: { grad: { x: '2*x' } }, random: { n: 0, ranges: { x: [0, 1] } } }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/random/n', detail: [/from 1 to 1000, got 0/] } },
    { name: 'random.n over the limit', body: { ...base, answer: { grad: { x: '2*x' } }, random: { n: 1001, ranges: { x: [0, 1] } } }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/random/n', detail: [/got 1001/] } },
    { name: 'random.n not an integer', body: { ...base, answer: { grad: { x: '2*x' } }, random: { n: 2.5, ranges: { x: [0, 1] } } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/random/n', detail: [/integer/] } },
    { name: 'random without ranges', body: { ...base, answer: { grad: { x: '2*x' } }, random: { n: 3 } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/random/ranges', detail: [/ranges/] } },
    { name: 'a reversed range', body: { ...base, answer: { grad: { x: '2*x' } }, random: { n: 3, ranges: { x: [1, 0] } } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/random/ranges/x', detail: [/lo <= hi/] } },
    { name: 'points and random', body: { ...base, answer: { grad: { x: '2*x' } }, points: [{ x: 1 }], random: { n: 3, ranges: { x: [0, 1] } } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/random', detail: [/at most one/] } },
    { name: 'a number with several points', body: { ...base, answer: { grad: { x: 2 } }, points: [{ x: 1 }, { x: 2 }] }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/points', detail: [/grad.x is a number/, /the 2 points/] } },
    { name: 'a trace with random points', body: { ...base, answer: { trace: [{ id: 'v1', tangent: 2 }] }, random: { n: 3, ranges: { x: [0, 1] } } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/random', detail: [/trace is graded at one point/] } },
    { name: 'a point without an input\'s value', body: { program: 'x * y', answer: { value: 'x * y' }, points: [{ x: 1, y: 1 }, { x: 2 }] }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/points/1', detail: [/point 2 gives no value for "y"/] } },
    { name: 'a point that is not an object', body: { ...base, answer: { value: 'x' }, points: [3] }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/points/0', detail: [/a point must be an object/] } },
    { name: 'a negative rtol', body: { ...base, answer: { value: 1 }, rtol: -1 }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/rtol', detail: [/non-negative/] } },
    { name: 'a trace entry with nothing to grade', body: { ...base, answer: { trace: [{ id: 'v1' }] } }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/answer/trace/0', detail: [/at least one of value, tangent, adjoint/] } },
    { name: 'an unknown top-level field', body: { ...base, answer: { value: 1 }, hint: 1 }, expected: { status: 400, code: 'INVALID_REQUEST', path: '/hint', detail: [/unknown field "hint"/] } },
    { name: 'the program does not parse', body: { program: 'x^', at: { x: 1 }, answer: { value: 1 } }, expected: { status: 422, code: 'PARSE_ERROR', line: 1, column: 3, detail: [/syntax error/] } },
    {
      name: 'the program fails at a point',
      body: { program: 'if x > 0\n  y = x\nend\ny', answer: { value: 'x' }, points: [{ x: 1 }, { x: -1 }] },
      expected: { status: 422, code: 'UNKNOWN_NAME', line: 4, column: 1, detail: [/`y`/, /at point 2 of 2: \{"x":-1\}/] },
    },
    { name: 'grad of a vector output', body: { program: '[x, x]', at: { x: 1 }, answer: { grad: { x: '[1, 1]' } } }, expected: { status: 422, code: 'NOT_SCALAR', path: '/cotangent', detail: [/shape \[2\]/, /cotangent/] } },
    { name: 'gradcheck without inputs', body: { program: '2', gradcheck: true }, expected: { status: 422, code: 'INVALID_ARGUMENT', path: '/at', detail: [/an input/] } },
  ];
  for (const c of cases) assertProblem(t, c.name, outcomeOf(() => check(c.body)), c.expected);
  t.end();
});
