/**
 * What people type from MATLAB, NumPy and Python (issue 14, finding 15): each habit gets a 422
 * whose detail says what to write in mathjs, located at the habit's line and column, and the
 * names people call get mathjs's functions or a reason, never a bare "unknown function".
 */
import t from 'tap';
import { computeSync, type ProblemCode } from '../../src/index.js';
import { assertProblem, outcomeOf, type ExpectedProblem } from '../helpers.js';

interface HabitCase {
  name: string;
  program: string;
  expect: ExpectedProblem;
}

const at = { A: [[2, 0], [0, 4]], b: [1, 2], x: 2 };
const located = (code: ProblemCode, line: number, column: number, ...detail: RegExp[]): ExpectedProblem => ({ status: 422, code, line, column, detail, notDetail: [/unknown function/, /value expected/] });
const syntax = (line: number, column: number, ...detail: RegExp[]): ExpectedProblem => located('PARSE_ERROR', line, column, ...detail);

const cases: HabitCase[] = [
  { name: 'MATLAB left division', program: 'A \\ b', expect: syntax(1, 3, /left division `A \\ b` is not supported/, /use `solve\(A, b\)`/) },
  { name: 'MATLAB left division on line 2', program: 'y = 1\nz = A \\ b', expect: syntax(2, 7, /use `solve\(A, b\)`/) },
  { name: '`&&`', program: 'x > 1 && x < 3', expect: syntax(1, 7, /`&&` is not an operator in mathjs: use `and`/, /`x > 1 and x < 3`/) },
  { name: '`&&` in an `if`', program: 'y = 0\nif x > 1 && x < 3\n  y = 1\nend', expect: syntax(2, 10, /use `and`/) },
  { name: '`||`', program: 'x < 1 || x > 3', expect: syntax(1, 7, /use `or`/, /`x < 1 or x > 3`/) },
  { name: '`**`', program: '2 ** 3', expect: syntax(1, 3, /`\*\*` is not an operator in mathjs: use `\^`/, /`2 \^ 3`/) },
  { name: '`+=`', program: 'x += 2', expect: syntax(1, 3, /compound assignment `\+=` is not supported: write `x = x \+ 2`/) },
  { name: '`*=` of an expression', program: 'y = 1\n  x *= y + 1', expect: syntax(2, 5, /write `x = x \* \(y \+ 1\)`/) },
  { name: '`-=` on an indexed element', program: 'A[1, 2] -= 1', expect: syntax(1, 9, /write `A\[1, 2\] = A\[1, 2\] - 1`/) },
  { name: '`++`', program: 'x++', expect: syntax(1, 2, /write `x = x \+ 1`/) },
  { name: 'a matrix with spaces', program: '[1 2; 3 4]', expect: syntax(1, 1, /separate the elements of a matrix with commas/, /`\[1, 2; 3, 4\]`/) },
  { name: 'a row with a negative element', program: 'M = [1 -2 3]', expect: syntax(1, 5, /`\[1, -2, 3\]`/) },
  {
    name: 'a MATLAB function block',
    program: 'function y = f(x)\n  y = x^2\nend\nf(3)',
    expect: syntax(1, 1, /`function … end` blocks are not supported: define one-line functions, `f\(x\) = …`/),
  },
  { name: 'a function block without outputs, indented', program: 'z = 1\n  function g(a, b)', expect: syntax(2, 3, /define one-line functions, `g\(a, b\) = …`/) },
  { name: "Python's def", program: 'def f(x): return x^2', expect: syntax(1, 1, /`def` is not supported: define one-line functions, `f\(x\) = …`/) },
  { name: 'an anonymous function', program: 'f = @(x) x.^2', expect: syntax(1, 5, /anonymous functions `@\(x\) …` are not supported/, /`f\(x\) = …`/) },
  { name: '`~=`', program: 'x ~= 2', expect: syntax(1, 3, /use `!=`/) },
  { name: '`===`', program: 'x === 2', expect: syntax(1, 3, /use `==`/) },
  { name: 'a 0-based dimension', program: 'max([-1, 2, -3], 0)', expect: located('INVALID_ARGUMENT', 1, 1, /dimension 0 does not exist: dimensions are 1-based, as in mathjs \(use 1/) },
  { name: 'a 0-based dimension of cumsum', program: 'cumsum([[1, 2], [3, 4]], 0)', expect: located('INVALID_ARGUMENT', 1, 1, /use 1 for the first/) },
  { name: 'a mathjs function with complex results', program: 'y = fft([1, 2])', expect: located('PARSE_ERROR', 1, 5, /`fft` is not available in adjoint programs: it works with complex numbers/) },
  { name: 'a symbolic mathjs function', program: 'derivative("x^2", "x")', expect: located('PARSE_ERROR', 1, 1, /POST \/v1\/derivative/) },
];

/** Not habits: mathjs's own errors, which keep mathjs's message. */
const plain: HabitCase[] = [
  { name: 'an unclosed matrix', program: 'y = [1, 2', expect: { status: 422, code: 'PARSE_ERROR', line: 1, column: 10, detail: [/\] expected/, /ends too early/], notDetail: [/commas/] } },
  { name: '`&&` inside a string is no habit', program: 'x = "a && b" +* 2', expect: { status: 422, code: 'PARSE_ERROR', line: 1, column: 15, detail: [/value expected/], notDetail: [/`and`/] } },
];

t.test('each habit gets a hint of what to write, at its line and column', (t) => {
  for (const c of [...cases, ...plain]) assertProblem(t, c.name, outcomeOf(() => computeSync('eval', { program: c.program, at })), c.expect);
  t.end();
});

t.test("names of the functions added may still name a program's own variables and functions, as mathjs allows", (t) => {
  for (const [program, value] of [
    ['count(n) = n == 0 ? 0 : 1 + count(n - 1); count(5)', 5],
    ['diff = 5 - 2; diff^2', 9],
    ['range = 3; range * 2', 6],
    ['sort(v) = v + 1; sort(2)', 3],
  ] as const) {
    t.same((computeSync('eval', { program, at: {} }) as { value: unknown }).value, value, program);
  }
  assertProblem(t, '`sin = 3` is still refused', outcomeOf(() => computeSync('eval', { program: 'sin = 3', at: {} })), located('PARSE_ERROR', 1, 1, /cannot assign to `sin`/));
  t.end();
});

t.test('what people call from MATLAB and NumPy now runs', (t) => {
  for (const [program, value] of [
    ['diff([1, 4, 9, 16])', [3, 5, 7]],
    ['cumsum([1, 2, 3])', [1, 3, 6]],
    ['range(0, 1, 0.25, false)', [0, 0.25, 0.5, 0.75]],
    ['max([-1, 2, -3], 1)', 2],
  ] as const) {
    t.same((computeSync('eval', { program, at: {} }) as { value: unknown }).value, value, program);
  }
  t.end();
});
