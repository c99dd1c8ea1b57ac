/**
 * What mathjs cannot check (differential.test.ts covers what it can): control flow, gradients
 * that follow the branch and the loop actually taken, the ternary's laziness, conditions that
 * must be scalars, element-wise math on tensors, and the request options `output`, `wrt`,
 * `options.mode`, `options.layout`, non-finite values, `jvp` tangents, Hessians, expression
 * graphs and string options. Expected values are closed forms computed here in plain
 * JavaScript, or finite differences where noted.
 */
import { evaluate } from 'mathjs';
import t, { type Test } from 'tap';
import { computeSync, type ComputeOptions } from '../../src/index.js';
import { assertClose, assertFields, assertProblem, outcomeOf, type ExpectedProblem } from '../helpers.js';

type Json = number | string | Json[] | { shape: number[]; data: Json[] };
type Inputs = Readonly<Record<string, Json>>;
type Response = Record<string, unknown>;

const TIGHT = { rtol: 1e-12, atol: 1e-12 };

function call(endpoint: string, body: Record<string, unknown>, options?: ComputeOptions): Response {
  return computeSync(endpoint, body, options) as Response;
}

/** Runs a request, failing the test (rather than throwing) when it is refused. */
function response(t: Test, label: string, endpoint: string, body: Record<string, unknown>): Response | null {
  const outcome = outcomeOf(() => call(endpoint, body));
  if ('returned' in outcome) return outcome.returned as Response;
  const e = outcome.threw as { body?: unknown };
  t.fail(`${label}: ${endpoint} refused the request: ${JSON.stringify(e.body ?? String(e))}`);
  return null;
}

const map2 = (m: readonly (readonly number[])[], f: (v: number, i: number, j: number) => number): number[][] => m.map((row, i) => row.map((v, j) => f(v, i, j)));
const matVec = (m: readonly (readonly number[])[], v: readonly number[]): number[] => m.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));

// ---------------------------------------------------------------------------------------------
// Control flow: the value of each program against a closed form.

const SIGN = 'if x < 0\n  y = -1\nelseif x == 0\n  y = 0\nelse\n  y = 1\nend\ny';

function nestedLoopSum(n: number): number {
  let s = 0;
  for (let i = 1; i <= n; i++) for (let j = 1; j <= i; j++) s += i * j;
  return s;
}

const controlFlow: readonly { name: string; program: string; at?: Inputs; expected: number }[] = [
  { name: 'for over a range: the sum of i^2 for i = 1..10', program: 's = 0\nfor i = 1:10\n  s = s + i^2\nend\ns', expected: (10 * 11 * 21) / 6 },
  { name: 'for over a vector visits its elements in order', program: 's = 0; for v = [2, -1, 5]; s = 10 * s + v; end; s', expected: (2 * 10 - 1) * 10 + 5 },
  { name: 'for over a column vector', program: 's = 0; for v = [1; 2; 3]; s = s + v; end; s', expected: 6 },
  { name: 'for over an input vector', program: 's = 0; for v = w; s = s + v^3; end; s', at: { w: [1, 2, 3] }, expected: 36 },
  { name: 'for over a descending stepped range', program: 's = 0; for i = 10:-3:1; s = s + i; end; s', expected: 10 + 7 + 4 + 1 },
  { name: 'for over an empty range runs no iteration', program: 's = 7; for i = 1:0; s = 0; end; s', expected: 7 },
  { name: 'the loop bound may be an input', program: 's = 0; for i = 1:n; s = s + i; end; s', at: { n: 100 }, expected: 5050 },
  { name: 'while runs until its condition is false', program: 'n = 0; x = 1; while x < 1000; x = 2 * x; n = n + 1; end; n', expected: 10 },
  {
    name: 'while with break and continue sums the odd numbers below 10',
    program: 'i = 0\ns = 0\nwhile true\n  i = i + 1\n  if i > 10\n    break\n  end\n  if mod(i, 2) == 0\n    continue\n  end\n  s = s + i\nend\ns',
    expected: 1 + 3 + 5 + 7 + 9,
  },
  { name: 'continue in a for loop skips the rest of the body', program: 's = 0; for i = 1:6; if mod(i, 3) == 0; continue; end; s = s + i; end; s', expected: 1 + 2 + 4 + 5 },
  { name: 'a compound while condition', program: 'i = 0; while i < 10 and mod(i, 7) != 6; i = i + 1; end; i', expected: 6 },
  { name: 'if takes the first branch when x < 0', program: SIGN, at: { x: -2 }, expected: -1 },
  { name: 'elseif takes its branch when x == 0', program: SIGN, at: { x: 0 }, expected: 0 },
  { name: 'else takes the rest', program: SIGN, at: { x: 3 }, expected: 1 },
  { name: 'an if with no else and a false condition does nothing', program: 'y = 5; if 0; y = 6; end; y', expected: 5 },
  { name: 'nested for loops', program: 's = 0\nfor i = 1:4\n  for j = 1:i\n    s = s + i * j\n  end\nend\ns', expected: nestedLoopSum(4) },
  { name: 'break leaves only the innermost loop', program: 'c = 0; for i = 1:3; for j = 1:10; if j > 2; break; end; c = c + 1; end; end; c', expected: 6 },
  {
    name: 'if inside while inside for: the Collatz steps of 1..6',
    program: 'total = 0\nfor k = 1:6\n  n = k\n  while n != 1\n    if mod(n, 2) == 0\n      n = n / 2\n    else\n      n = 3 * n + 1\n    end\n    total = total + 1\n  end\nend\ntotal',
    expected: 0 + 1 + 7 + 2 + 5 + 8,
  },
  { name: 'a one-element matrix counts as a scalar condition', program: 'y = 0; if [[1]]; y = 1; end; y', expected: 1 },
  { name: 'a loop body may assign by index', program: 'v = zeros(4); for i = 1:4; v[i] = i^2; end; sum(v)', expected: 1 + 4 + 9 + 16 },
  { name: 'the last statement executed is the result', program: 'for i = 1:3; y = 10 * i; end', expected: 30 },
  { name: 'a recursive function', program: 'fib(n) = n <= 2 ? 1 : fib(n - 1) + fib(n - 2)\nfib(15)', expected: 610 },
];

t.test('control flow runs as written', (t) => {
  for (const c of controlFlow) {
    const r = response(t, c.name, 'eval', { program: c.program, at: c.at ?? {} });
    if (r !== null) assertClose(t, r.value, c.expected, c.name, TIGHT);
  }
  t.end();
});

// ---------------------------------------------------------------------------------------------
// Define-by-run gradients: through the branch and the loop taken, by reverse and forward mode.

const BRANCH = 'if x > 0\n  y = x^2\nelse\n  y = -x^3\nend\ny';
const RECURSION = 'f(n, v) = n <= 0 ? v : f(n - 1, v * x + 1)\nf(3, 1)';

/** y = x, then y = y * x until y >= 100: y = x^k, and its derivative k x^(k-1). */
function powerUntil(x: number, bound: number): { value: number; grad: number } {
  let k = 1;
  let y = x;
  while (y < bound) {
    y *= x;
    k++;
  }
  return { value: y, grad: k * x ** (k - 1) };
}

/** Π (x + i) for i = 1..n and its derivative Π · Σ 1 / (x + i). */
function shiftedProduct(x: number, n: number): { value: number; grad: number } {
  let p = 1;
  let s = 0;
  for (let i = 1; i <= n; i++) {
    p *= x + i;
    s += 1 / (x + i);
  }
  return { value: p, grad: p * s };
}

/** A = U diag(3, 1) Vᵀ for rotations U (by θ) and V (by φ): norm(A) = 3, its gradient u₁v₁ᵀ. */
function spectralCase(theta: number, phi: number): { A: number[][]; grad: number[][] } {
  const rot = (a: number): number[][] => [
    [Math.cos(a), -Math.sin(a)],
    [Math.sin(a), Math.cos(a)],
  ];
  const U = rot(theta);
  const V = rot(phi);
  const A = map2(U, (_, i, j) => 3 * U[i][0] * V[j][0] + 1 * U[i][1] * V[j][1]);
  return { A, grad: map2(U, (_, i, j) => U[i][0] * V[j][0]) };
}

const whileCase = powerUntil(1.5, 100);
const productCase = shiftedProduct(0.3, 5);
const spectral = spectralCase(0.3, -0.5);

const gradients: readonly { name: string; program: string; at: Inputs; value: Json; grad: Record<string, Json> }[] = [
  { name: 'if at x = 0.7 takes y = x^2: gradient 2x', program: BRANCH, at: { x: 0.7 }, value: 0.7 ** 2, grad: { x: 2 * 0.7 } },
  { name: 'if at x = -0.7 takes y = -x^3: gradient -3x^2', program: BRANCH, at: { x: -0.7 }, value: -((-0.7) ** 3), grad: { x: -3 * 0.7 ** 2 } },
  { name: 'the ternary at x = 0.7 takes x^2', program: 'x > 0 ? x^2 : -x^3', at: { x: 0.7 }, value: 0.49, grad: { x: 1.4 } },
  { name: 'the ternary at x = -0.7 takes -x^3', program: 'x > 0 ? x^2 : -x^3', at: { x: -0.7 }, value: 0.343, grad: { x: -3 * 0.49 } },
  { name: 'while: y = y * x until y >= 100 gives x^k, gradient k x^(k-1)', program: 'y = x\nwhile y < 100\n  y = y * x\nend\ny', at: { x: 1.5 }, ...whileCase, grad: { x: whileCase.grad } },
  { name: 'for: the product of (x + i) for i = 1..5', program: 'p = 1; for i = 1:5; p = p * (x + i); end; p', at: { x: 0.3 }, ...productCase, grad: { x: productCase.grad } },
  {
    name: 'recursion f(3, 1) = x^3 + x^2 + x + 1: gradient 3x^2 + 2x + 1',
    program: RECURSION,
    at: { x: 0.5 },
    value: 0.125 + 0.25 + 0.5 + 1,
    grad: { x: 3 * 0.25 + 2 * 0.5 + 1 },
  },
  { name: 'a loop over an input vector: the sum of v^2, gradient 2w', program: 's = 0; for v = w; s = s + v^2; end; s', at: { w: [0.5, -1, 2] }, value: 5.25, grad: { w: [1, -2, 4] } },
  {
    name: 'index assignment in a loop: y[i] = x^i, sum(y) has gradient 1 + 2x + 3x^2',
    program: 'y = zeros(3); for i = 1:3; y[i] = x^i; end; sum(y)',
    at: { x: 0.4 },
    value: 0.4 + 0.16 + 0.064,
    grad: { x: 1 + 0.8 + 3 * 0.16 },
  },
  {
    name: 'break where x^k first exceeds 10: the value and gradient of that power',
    program: 'y = 1; for k = 1:100; y = y * x; if y > 10; break; end; end; y',
    at: { x: 2.5 },
    value: 2.5 ** 3,
    grad: { x: 3 * 2.5 ** 2 },
  },
  {
    name: 'a user function called in a loop',
    program: 'g(u) = u * sin(u)\ns = 0\nfor i = 1:3\n  s = s + g(i * x)\nend\ns',
    at: { x: 0.2 },
    value: [1, 2, 3].reduce((s, i) => s + i * 0.2 * Math.sin(i * 0.2), 0),
    grad: { x: [1, 2, 3].reduce((s, i) => s + i * (Math.sin(i * 0.2) + i * 0.2 * Math.cos(i * 0.2)), 0) },
  },
  { name: 'norm(A) of a matrix is its largest singular value, gradient u₁v₁ᵀ', program: 'norm(A)', at: { A: spectral.A }, value: 3, grad: { A: spectral.grad } },
];

t.test('gradients follow the operations executed, in both modes', (t) => {
  for (const c of gradients) {
    for (const mode of ['reverse', 'forward'] as const) {
      const label = `${c.name} (${mode} mode)`;
      const r = response(t, label, 'grad', { program: c.program, at: c.at, options: { mode } });
      if (r !== null) assertFields(t, r, { value: c.value, grad: c.grad }, label, TIGHT);
    }
  }
  t.end();
});

t.test("the Hessian of norm(A) agrees with central differences of its gradient (the singular vectors' derivatives)", (t) => {
  const A = [
    [0.3, -1, 2],
    [1, 0.5, 0.2],
    [2, -0.7, 1],
  ];
  const r = response(t, 'hessian of norm(A)', 'hessian', { program: 'norm(A)', at: { A } });
  if (r === null) return t.end();
  const H = (r.hessian as Record<string, Record<string, number[][][][]>>).A.A;
  const h = 1e-5;
  A.forEach((row, i) =>
    row.forEach((_, j) => {
      const shifted = (d: number): number[][] => map2(A, (v, k, l) => (k === i && l === j ? v + d : v));
      const gradAt = (d: number): number[][] => (call('grad', { program: 'norm(A)', at: { A: shifted(d) } }).grad as Record<string, number[][]>).A;
      const numeric = map2(A, (_, k, l) => (gradAt(h)[k][l] - gradAt(-h)[k][l]) / (2 * h));
      assertClose(t, H[i][j], numeric, `d(grad norm(A))/dA[${i + 1}, ${j + 1}]`, { rtol: 1e-6, atol: 1e-8 });
    }),
  );
  t.end();
});

// ---------------------------------------------------------------------------------------------
// The ternary evaluates only the branch taken.

const lazy: readonly { name: string; program: string; at?: Inputs; expected: number }[] = [
  { name: 'a branch naming an unknown variable is not evaluated', program: 'x > 0 ? x^2 : nosuch', at: { x: 3 }, expected: 9 },
  { name: 'a branch with mismatched shapes is not evaluated', program: 'x > 0 ? x : sum([1, 2] + [1, 2, 3])', at: { x: 2 }, expected: 2 },
  { name: 'a branch that would recurse forever is not evaluated', program: 'f(n) = n > 0 ? n : f(n)\nf(3)', expected: 3 },
  { name: 'recursion stops at its base case', program: 'count(n) = n <= 0 ? 0 : 1 + count(n - 1)\ncount(50)', expected: 50 },
];

t.test('the ternary evaluates only the branch taken', (t) => {
  for (const c of lazy) {
    const r = response(t, c.name, 'eval', { program: c.program, at: c.at ?? {} });
    if (r !== null) assertClose(t, r.value, c.expected, c.name, TIGHT);
  }
  t.end();
});

// ---------------------------------------------------------------------------------------------
// Refusals: conditions must be scalars, loops iterate over vectors, budgets hold.

const refusals: readonly { name: string; program: string; at?: Inputs; limits?: ComputeOptions['limits']; problem: ExpectedProblem }[] = [
  {
    name: 'an if condition must be a scalar',
    program: 'y = 0\nif [1, 2]\n  y = 1\nend\ny',
    problem: { status: 422, code: 'NOT_SCALAR', detail: [/condition/, /\[2\]/], line: 2, column: 1 },
  },
  {
    name: 'an elseif condition must be a scalar',
    program: 'y = 0\nif 0\n  y = 1\nelseif [1, 0]\n  y = 2\nend\ny',
    problem: { status: 422, code: 'NOT_SCALAR', detail: [/condition/, /\[2\]/], line: 2, column: 1 },
  },
  {
    name: 'a while condition must be a scalar',
    program: 'y = 0\nwhile [1; 1]\n  y = 1\nend\ny',
    problem: { status: 422, code: 'NOT_SCALAR', detail: [/condition/, /\[2, 1\]/], line: 2, column: 1 },
  },
  { name: 'a ternary condition must be a scalar', program: '[1, 0] ? 1 : 2', problem: { status: 422, code: 'NOT_SCALAR', detail: [/condition/], line: 1, column: 1 } },
  {
    name: 'the branch not taken is evaluated when taken: an unknown name',
    program: 'x > 0 ? x^2 : nosuch',
    at: { x: -3 },
    problem: { status: 422, code: 'UNKNOWN_NAME', detail: [/nosuch/], line: 1, column: 15 },
  },
  {
    name: 'for over a matrix is refused',
    program: 's = 0\nfor v = [1, 2; 3, 4]\n  s = s + v\nend\ns',
    problem: { status: 422, code: 'SHAPE_MISMATCH', detail: [/vector/, /\[2, 2\]/], line: 2, column: 1 },
  },
  {
    name: 'a while loop that never ends stops at the iteration limit',
    program: 'x = 0\nwhile true\n  x = x + 1\nend\nx',
    limits: { maxIterations: 1000 },
    problem: { status: 422, code: 'LIMIT_EXCEEDED', detail: [/iteration/], line: 2, column: 1, limit: 'loop iterations' },
  },
  {
    name: 'recursion with no base case stops at the depth limit',
    program: 'f(n) = f(n + 1)\nf(1)',
    problem: { status: 422, code: 'LIMIT_EXCEEDED', detail: [/recursion depth/], line: 1, column: 1, limit: 'recursion depth' },
  },
];

t.test('conditions must be scalars, loops run over vectors, budgets hold', (t) => {
  for (const c of refusals) assertProblem(t, c.name, outcomeOf(() => call('eval', { program: c.program, at: c.at ?? {} }, { limits: c.limits })), c.problem);
  t.end();
});

// ---------------------------------------------------------------------------------------------
// Element-wise math on tensors (the deliberate difference from mathjs 15, SPEC.md section 2).

const X = [
  [0.5, 1],
  [2, 3],
];
const elementwise: readonly { fn: string; f: (x: number) => number; df: (x: number) => number }[] = [
  { fn: 'sin', f: Math.sin, df: Math.cos },
  { fn: 'cos', f: Math.cos, df: (x) => -Math.sin(x) },
  { fn: 'tan', f: Math.tan, df: (x) => 1 / Math.cos(x) ** 2 },
  { fn: 'exp', f: Math.exp, df: Math.exp },
  { fn: 'log', f: Math.log, df: (x) => 1 / x },
  { fn: 'sqrt', f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x) },
  { fn: 'tanh', f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  { fn: 'sinh', f: Math.sinh, df: Math.cosh },
  { fn: 'atan', f: Math.atan, df: (x) => 1 / (1 + x * x) },
  { fn: 'log1p', f: Math.log1p, df: (x) => 1 / (1 + x) },
  { fn: 'expm1', f: Math.expm1, df: Math.exp },
  { fn: 'cbrt', f: Math.cbrt, df: (x) => 1 / (3 * Math.cbrt(x) ** 2) },
  { fn: 'square', f: (x) => x * x, df: (x) => 2 * x },
  { fn: 'sigmoid', f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2 },
];

t.test('element-wise math functions apply element by element to tensors (mathjs 15 refuses them)', (t) => {
  t.throws(() => evaluate('sin([1, 2])'), 'mathjs refuses sin of a matrix: here adjoint deliberately differs (SPEC.md section 2)');
  const r = response(t, 'sin of a vector literal', 'eval', { program: 'sin([1, 2])' });
  if (r !== null) assertClose(t, r.value, [Math.sin(1), Math.sin(2)], 'sin([1, 2]) is [sin 1, sin 2]', TIGHT);
  for (const { fn, f, df } of elementwise) {
    const g = response(t, fn, 'grad', { program: `sum(${fn}(X))`, at: { X } });
    if (g === null) continue;
    const e = response(t, fn, 'eval', { program: `${fn}(X)`, at: { X } });
    if (e !== null) assertClose(t, e.value, map2(X, f), `${fn}(X) of a 2x2 matrix, element by element`, { rtol: 1e-14, atol: 0 });
    assertClose(t, (g.grad as Record<string, unknown>).X, map2(X, df), `the gradient of sum(${fn}(X)) is ${fn}'(X)`, { rtol: 1e-12, atol: 1e-14 });
  }
  t.end();
});

// ---------------------------------------------------------------------------------------------
// Request options.

t.test('"output" selects a variable; naming one never assigned is refused', (t) => {
  const program = 'a = x^2\nb = a + 1\nb * 3';
  const r = response(t, 'output a', 'grad', { program, at: { x: 1.5 }, output: 'a' });
  if (r !== null) assertFields(t, r, { value: 2.25, grad: { x: 3 } }, 'output "a" is x^2, gradient 2x', TIGHT);
  const last = response(t, 'no output', 'grad', { program, at: { x: 1.5 } });
  if (last !== null) assertFields(t, last, { value: 3 * (2.25 + 1), grad: { x: 9 } }, 'without "output", the last statement: 3(x^2 + 1), gradient 6x', TIGHT);
  const inLoop = response(t, 'output from a loop', 'eval', { program: 's = 0; for i = 1:4; s = s + i; t2 = 2 * s; end; 0', output: 't2' });
  if (inLoop !== null) assertClose(t, inLoop.value, 20, 'output names a variable last assigned inside a loop', TIGHT);
  assertProblem(t, 'output naming a variable never assigned', outcomeOf(() => call('eval', { program, at: { x: 1 }, output: 'c' })), {
    status: 422,
    code: 'INVALID_ARGUMENT',
    detail: [/"c"/, /never assigns/],
    path: '/output',
  });
  t.end();
});

t.test('"wrt" restricts differentiation to the inputs named', (t) => {
  const r = response(t, 'wrt', 'grad', { program: 'x * y * z', at: { x: 2, y: 3, z: 5 }, wrt: ['z', 'x'] });
  if (r !== null) {
    t.same(Object.keys(r.grad as object), ['z', 'x'], 'the gradient holds exactly the inputs in "wrt", in its order');
    assertFields(t, r, { value: 30, grad: { z: 6, x: 15 } }, 'd/dz = xy, d/dx = yz', TIGHT);
  }
  const j = response(t, 'jacobian wrt', 'jacobian', { program: 'A * v', at: { A: [[1, 2], [3, 4]], v: [1, -1] }, wrt: ['v'] });
  if (j !== null) {
    t.same(Object.keys(j.jacobian as object), ['v'], 'the Jacobian holds only v');
    assertClose(t, (j.jacobian as Record<string, unknown>).v, [[1, 2], [3, 4]], 'the Jacobian of A v with respect to v is A', TIGHT);
  }
  t.end();
});

const V = [0.3, -1.2, 2];
const M = [
  [1, 2, -1],
  [0.5, -3, 2],
];
const modes: readonly { name: string; endpoint: 'grad' | 'jacobian'; program: string; at: Inputs; expected: Record<string, unknown> }[] = [
  {
    name: 'grad of sum(v .* exp(v))',
    endpoint: 'grad',
    program: 'sum(v .* exp(v))',
    at: { v: V },
    expected: { value: V.reduce((s, x) => s + x * Math.exp(x), 0), grad: { v: V.map((x) => (1 + x) * Math.exp(x)) } },
  },
  {
    name: 'grad of a loop with a branch',
    endpoint: 'grad',
    program: 's = 0\nfor i = 1:3\n  if v[i] > 0\n    s = s + v[i]^2\n  else\n    s = s - v[i]\n  end\nend\ns',
    at: { v: V },
    expected: { value: 0.09 + 1.2 + 4, grad: { v: [0.6, -1, 4] } },
  },
  {
    name: 'jacobian of M * sin(v): M diag(cos v)',
    endpoint: 'jacobian',
    program: 'M * sin(v)',
    at: { M, v: V },
    expected: { value: matVec(M, V.map(Math.sin)), jacobian: { v: map2(M, (m, _i, j) => m * Math.cos(V[j])) } },
  },
  {
    name: 'jacobian of v .^ 2 with respect to a vector: diag(2v)',
    endpoint: 'jacobian',
    program: 'v .^ 2',
    at: { v: V },
    expected: { value: V.map((x) => x * x), jacobian: { v: V.map((_, i) => V.map((x, j) => (i === j ? 2 * x : 0))) } },
  },
];

t.test('options.mode "forward" gives the same numbers as reverse mode', (t) => {
  for (const c of modes) {
    const wrt = Object.keys(c.expected[c.endpoint === 'grad' ? 'grad' : 'jacobian'] as object);
    for (const mode of ['reverse', 'forward'] as const) {
      const r = response(t, c.name, c.endpoint, { program: c.program, at: c.at, wrt, options: { mode } });
      if (r !== null) assertFields(t, r, c.expected, `${c.name} (${mode} mode)`, TIGHT);
    }
  }
  t.end();
});

t.test('options.layout "flat" gives {shape, data} for every value', (t) => {
  const flat = { layout: 'flat' };
  const e = response(t, 'flat eval', 'eval', { program: '[1, 2; 3, 4] * x', at: { x: 2 }, options: flat });
  if (e !== null) t.same(e, { value: { shape: [2, 2], data: [2, 4, 6, 8] } }, 'a 2x2 matrix, row-major');
  const g = response(t, 'flat grad', 'grad', { program: 'sum(v .* v)', at: { v: [1, 2, 3] }, options: flat });
  if (g !== null) t.same(g, { value: { shape: [], data: [14] }, grad: { v: { shape: [3], data: [2, 4, 6] } } }, 'a scalar has shape [] and one datum');
  const input = response(t, 'flat input', 'eval', { program: "A'", at: { A: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } } });
  if (input !== null) t.same(input, { value: [[1, 4], [2, 5], [3, 6]] }, 'a {shape, data} input is read row-major; the response is nested by default');
  t.end();
});

const nonFinite: readonly { name: string; endpoint: string; body: Record<string, unknown>; expected: unknown }[] = [
  { name: '1 / 0 is "Infinity"', endpoint: 'eval', body: { program: '1 / x', at: { x: 0 } }, expected: { value: 'Infinity' } },
  { name: '-1 / 0 is "-Infinity"', endpoint: 'eval', body: { program: '-1 / x', at: { x: 0 } }, expected: { value: '-Infinity' } },
  { name: 'Infinity * 0 is "NaN", a value and not an error', endpoint: 'eval', body: { program: 'x * 0', at: { x: 'Infinity' } }, expected: { value: 'NaN' } },
  { name: 'exp(-Infinity) is 0', endpoint: 'eval', body: { program: 'exp(x)', at: { x: '-Infinity' } }, expected: { value: 0 } },
  {
    name: 'strings inside a nested array input',
    endpoint: 'eval',
    body: { program: 'v + 1', at: { v: [1, 'NaN', '-Infinity'] } },
    expected: { value: [2, 'NaN', '-Infinity'] },
  },
  {
    name: 'strings inside a flat input and a flat response',
    endpoint: 'eval',
    body: { program: '2 * v', at: { v: { shape: [2], data: ['Infinity', 1] } }, options: { layout: 'flat' } },
    expected: { value: { shape: [2], data: ['Infinity', 2] } },
  },
  { name: 'a NaN input gives a NaN gradient', endpoint: 'grad', body: { program: 'x^2', at: { x: 'NaN' } }, expected: { value: 'NaN', grad: { x: 'NaN' } } },
  { name: 'the gradient of sqrt at 0 is "Infinity"', endpoint: 'grad', body: { program: 'sqrt(x)', at: { x: 0 } }, expected: { value: 0, grad: { x: 'Infinity' } } },
  { name: 'log(0) is "-Infinity"', endpoint: 'eval', body: { program: 'log(0)' }, expected: { value: '-Infinity' } },
];

t.test('non-finite values travel as "NaN", "Infinity" and "-Infinity" both ways', (t) => {
  for (const c of nonFinite) {
    const r = response(t, c.name, c.endpoint, c.body);
    if (r !== null) t.same(r, c.expected, c.name);
  }
  t.end();
});

const jvps: readonly { name: string; program: string; at: Inputs; tangents: Inputs; value: Json; tangent: Json }[] = [
  {
    name: 'x*y + sin(x) along x: y + cos x',
    program: 'x * y + sin(x)',
    at: { x: 0.5, y: 4.2 },
    tangents: { x: 1 },
    value: 2.1 + Math.sin(0.5),
    tangent: 4.2 + Math.cos(0.5),
  },
  { name: 'x*y + sin(x) along y: x', program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, tangents: { y: 1 }, value: 2.1 + Math.sin(0.5), tangent: 0.5 },
  {
    name: 'x*y + sin(x) along (0.3, -2)',
    program: 'x * y + sin(x)',
    at: { x: 0.5, y: 4.2 },
    tangents: { x: 0.3, y: -2 },
    value: 2.1 + Math.sin(0.5),
    tangent: 0.3 * (4.2 + Math.cos(0.5)) - 2 * 0.5,
  },
  { name: 'M * v along t is M t', program: 'M * v', at: { M, v: V }, tangents: { v: [1, 0, -1] }, value: matVec(M, V), tangent: matVec(M, [1, 0, -1]) },
  {
    name: 'a loop: the tangent of the product of (x + i)',
    program: 'p = 1; for i = 1:5; p = p * (x + i); end; p',
    at: { x: 0.3 },
    tangents: { x: 2 },
    value: productCase.value,
    tangent: 2 * productCase.grad,
  },
];

t.test('jvp pushes the tangents given forward', (t) => {
  for (const c of jvps) {
    const r = response(t, c.name, 'jvp', { program: c.program, at: c.at, tangents: c.tangents });
    if (r !== null) assertFields(t, r, { value: c.value, tangent: c.tangent }, c.name, TIGHT);
  }
  t.end();
});

t.test("the Hessian of x' * A * x is A + A'", (t) => {
  const A = [
    [2, 1, 0],
    [-1, 3, 0.5],
    [4, 0, 1],
  ];
  const x = [0.5, -1, 2];
  const sym = map2(A, (a, i, j) => a + A[j][i]);
  const r = response(t, 'hessian', 'hessian', { program: "x' * A * x", at: { x, A }, wrt: ['x'] });
  if (r !== null) {
    assertFields(
      t,
      r,
      { value: x.reduce((s, xi, i) => s + xi * matVec(A, x)[i], 0), grad: { x: matVec(sym, x) }, hessian: { x: { x: sym } } },
      "x' A x: value, gradient (A + A') x, Hessian A + A'",
      TIGHT,
    );
  }
  const both = response(t, 'hessian in x and y', 'hessian', { program: 'x^2 * y + y^3', at: { x: 1.5, y: -2 } });
  if (both !== null) {
    assertFields(
      t,
      both,
      { hessian: { x: { x: 2 * -2, y: 2 * 1.5 }, y: { x: 2 * 1.5, y: 6 * -2 } } },
      'the mixed Hessian of x^2 y + y^3: [[2y, 2x], [2x, 6y]]',
      TIGHT,
    );
  }
  t.end();
});

// ---------------------------------------------------------------------------------------------
// Graphs: any node order evaluates like the equivalent program.

const GRAPH_NODES = [
  { id: 'a', op: 'multiply', args: ['x', 'y'] },
  { id: 'b', op: 'sin', args: ['x'] },
  { id: 'z', op: 'add', args: ['a', 'b'] },
];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

t.test('a graph evaluates like the equivalent program, its nodes in any order', (t) => {
  const at = { x: 0.5, y: 4.2 };
  const expected = { value: 2.1 + Math.sin(0.5), grad: { x: 4.2 + Math.cos(0.5), y: 0.5 } };
  const program = response(t, 'the program', 'grad', { program: 'x * y + sin(x)', at });
  if (program !== null) assertFields(t, program, expected, 'the program x * y + sin(x)', TIGHT);
  for (const nodes of permutations(GRAPH_NODES)) {
    const order = nodes.map((n) => n.id).join(', ');
    const r = response(t, order, 'grad', { graph: { nodes, output: 'z' }, at });
    if (r !== null) assertFields(t, r, expected, `the graph with its nodes in the order ${order}`, TIGHT);
  }
  const constants = {
    nodes: [
      { id: 'out', op: 'add', args: ['sq', 'c'] },
      { id: 'c', op: 'const', value: [1, 2] },
      { id: 'sq', op: 'dotMultiply', args: ['v', 'v'] },
    ],
    output: 'out',
  };
  const r = response(t, 'consts', 'grad', { graph: constants, at: { v: [3, -1] }, cotangent: [1, 1] });
  if (r !== null) assertFields(t, r, { value: [10, 3], grad: { v: [6, -2] } }, 'a graph with a const node and a node read twice, defined after its reader', TIGHT);
  t.end();
});

t.test('a string option: mse_loss(P, Q, "sum") as a program and as a graph', (t) => {
  const P = [
    [1, 2],
    [3, 4],
  ];
  const Q = [
    [0.5, 2.5],
    [3, 2],
  ];
  const diff = map2(P, (p, i, j) => p - Q[i][j]);
  const expected = {
    value: diff.flat().reduce((s, d) => s + d * d, 0),
    grad: { P: map2(diff, (d) => 2 * d), Q: map2(diff, (d) => -2 * d) },
  };
  const program = response(t, 'program', 'grad', { program: 'mse_loss(P, Q, "sum")', at: { P, Q } });
  if (program !== null) assertFields(t, program, expected, 'mse_loss(P, Q, "sum") is the sum of squared differences, gradient 2(P - Q)', TIGHT);
  const mean = response(t, 'mean', 'eval', { program: 'mse_loss(P, Q)', at: { P, Q } });
  if (mean !== null) assertClose(t, mean.value, expected.value / 4, 'mse_loss without the option is the mean', TIGHT);
  const graph = {
    nodes: [
      { id: 'loss', op: 'mse_loss', args: ['P', 'Q', 'how'] },
      { id: 'how', op: 'const', value: 'sum' },
    ],
    output: 'loss',
  };
  const g = response(t, 'graph', 'grad', { graph, at: { P, Q } });
  if (g !== null) assertFields(t, g, expected, 'the same through a graph with a string const node', TIGHT);
  t.end();
});
