/**
 * Every budget tripped: an endless loop, endless recursion, a huge allocation, expressions and
 * blocks nested 100,000 deep, and each limit of ComputeLimits lowered. Each ends quickly in
 * LIMIT_EXCEEDED naming its limit, and the evaluator is healthy afterwards.
 */
import t, { type Test } from 'tap';
import { compute, computeSync, loadSymbolic, type ComputeLimits } from '../../src/index.js';
import { assertFields, assertProblem, outcomeOf, settled, type Outcome } from '../helpers.js';

// computeSync answers `derivative` once mathjs's symbolic differentiation is loaded.
await loadSymbolic();

interface BudgetCase {
  name: string;
  endpoint: string;
  body: { program: string; at: Record<string, unknown>; options?: Record<string, unknown>; cotangent?: unknown };
  limits?: ComputeLimits;
  /** The limit's name in the problem's `limit`. */
  limit: string;
  /** What the detail says: the limit, and its value where it has one. */
  detail: RegExp[];
  /** The line and column of the statement that tripped it, where the program text says. */
  line?: number | 'any';
  column?: number | 'any';
}

const QUICKLY_MS = 2000;

/** A deeper program than the default 100,000 characters allow, to reach the depth limits. */
const LONG_PROGRAMS: ComputeLimits = { maxProgramLength: 1_000_000 };

const scalar = (program: string, extra: Partial<BudgetCase['body']> = {}): BudgetCase['body'] => ({ program, at: { x: 0.5 }, ...extra });

const cases: BudgetCase[] = [
  // The default limits.
  { name: 'an empty endless loop: while 1 … end', endpoint: 'eval', body: scalar('while 1\nend'), limit: 'loop iterations', detail: [/loop iteration limit/, /1000000/], line: 1, column: 1 },
  // Under grad, 10^6 taped iterations take about a second to reach the limit: too close to the bound to time here.
  { name: 'an endless loop with a body', endpoint: 'eval', body: scalar('y = x\nwhile 1\n  y = y + x\nend\ny'), limit: 'loop iterations', detail: [/loop iteration limit/], line: 2, column: 1 },
  { name: 'an endless loop under grad', endpoint: 'grad', body: scalar('y = x\nwhile 1\nend\ny'), limit: 'loop iterations', detail: [/loop iteration limit/], line: 2, column: 1 },
  { name: 'endless recursion: f(x) = f(x)', endpoint: 'eval', body: scalar('f(x) = f(x)\nf(1)'), limit: 'recursion depth', detail: [/recursion depth limit/, /`f`/, /256/], line: 1, column: 1 },
  { name: 'endless recursion under grad', endpoint: 'grad', body: scalar('f(x) = f(x)\nf(x)'), limit: 'recursion depth', detail: [/recursion depth limit/, /`f`/], line: 1, column: 1 },
  { name: 'endless mutual recursion', endpoint: 'eval', body: scalar('f(x) = g(x)\ng(x) = f(x)\nf(1)'), limit: 'recursion depth', detail: [/recursion depth limit/], line: 2, column: 8 },
  { name: 'zeros(100000, 100000)', endpoint: 'eval', body: scalar('zeros(100000, 100000)'), limit: 'memory', detail: [/memory limit/, /zeros/, /\[100000, 100000\]/], line: 1, column: 1 },
  { name: 'a 10^10-element tensor under grad', endpoint: 'grad', body: scalar('sum(ones(100000, 100000) * x)'), limit: 'memory', detail: [/memory limit/, /ones/], line: 1, column: 5 },
  // Positions are held in an Int32Array: 2^32 + 1 used to wrap to 1 and overwrite A[1].
  { name: 'an assignment at index 2^32 + 1', endpoint: 'eval', body: scalar('A = [1, 2]\nA[4294967297] = 5\nA'), limit: 'memory', detail: [/index 4294967297/, /past the most elements/], line: 2, column: 1 },
  // No element to move, but 2^31 empty rows: the transpose returns at once, and the answer is refused before it is written.
  { name: "an empty [0, 2^31] matrix transposed", endpoint: 'eval', body: scalar("zeros(0, 2^31)'"), limit: 'memory', detail: [/too large to send/, /\[2147483648, 0\]/] },
  {
    name: 'brackets nested 100,000 deep',
    endpoint: 'grad',
    body: scalar('('.repeat(100_000) + 'x' + ')'.repeat(100_000)),
    limits: LONG_PROGRAMS,
    limit: 'nesting depth',
    detail: [/nesting depth limit/, /256/],
    line: 1,
    column: 257,
  },
  {
    name: 'brackets nested 49,999 deep, within the default length',
    endpoint: 'grad',
    body: scalar('('.repeat(49_999) + 'x' + ')'.repeat(49_999)),
    limit: 'nesting depth',
    detail: [/nesting depth limit/],
    line: 1,
    column: 257,
  },
  { name: 'matrices nested 49,999 deep', endpoint: 'eval', body: scalar('['.repeat(49_999) + '1' + ']'.repeat(49_999)), limit: 'nesting depth', detail: [/nesting depth limit/], line: 1, column: 257 },
  {
    name: 'calls nested 30,000 deep',
    endpoint: 'grad',
    body: scalar('sin('.repeat(30_000) + 'x' + ')'.repeat(30_000)),
    limits: LONG_PROGRAMS,
    limit: 'nesting depth',
    detail: [/nesting depth limit/],
    // The 257th `(`, that of the 257th `sin(`.
    line: 1,
    column: 4 * 257,
  },
  // Deep without brackets: the parser's and the interpreter's own recursion runs out first.
  { name: 'a chain of 100,000 additions', endpoint: 'grad', body: scalar('x' + '+x'.repeat(100_000)), limits: LONG_PROGRAMS, limit: 'recursion depth', detail: [/recursion depth limit/, /nests or recurses too deeply/] },
  { name: '100,000 unary minuses', endpoint: 'grad', body: scalar('-'.repeat(100_000) + 'x'), limits: LONG_PROGRAMS, limit: 'recursion depth', detail: [/recursion depth limit/] },
  { name: 'a chain of 49,999 additions, within the default length', endpoint: 'grad', body: scalar('x' + '+x'.repeat(49_999)), limit: 'recursion depth', detail: [/recursion depth limit/] },
  { name: 'a tower of 50,000 powers', endpoint: 'grad', body: scalar('x' + '^x'.repeat(50_000)), limits: LONG_PROGRAMS, limit: 'recursion depth', detail: [/recursion depth limit/] },
  { name: '100,000 transposes', endpoint: 'grad', body: scalar('x' + "'".repeat(100_000)), limits: LONG_PROGRAMS, limit: 'recursion depth', detail: [/recursion depth limit/] },
  {
    name: 'brackets nested 100,000 deep with the nesting limit lifted',
    endpoint: 'grad',
    body: scalar('('.repeat(100_000) + 'x' + ')'.repeat(100_000)),
    limits: { ...LONG_PROGRAMS, maxNesting: Infinity },
    limit: 'recursion depth',
    detail: [/recursion depth limit/],
  },
  { name: '10,000 nested `if` blocks', endpoint: 'grad', body: scalar('if 1\n'.repeat(10_000) + 'x\n' + 'end\n'.repeat(10_000)), limit: 'nesting depth', detail: [/nesting depth limit/, /blocks/, /256/], line: 257, column: 1 },
  {
    name: '5,000 nested `for` blocks, indented',
    endpoint: 'grad',
    body: scalar(Array.from({ length: 5_000 }, (_, i) => `${' '.repeat(i % 8)}for i = 1:1\n`).join('') + 'x\n' + 'end\n'.repeat(5_000)),
    limit: 'nesting depth',
    detail: [/nesting depth limit/],
    line: 257,
    column: 1 + (256 % 8),
  },
  { name: 'maxNesting: 3, four nested loops', endpoint: 'eval', body: scalar('s = 0\nfor i = 1:2\n for j = 1:2\n  while s < 0\n   if 1\n   end\n  end\n end\nend\ns'), limits: { maxNesting: 3 }, limit: 'nesting depth', detail: [/blocks nest more than 3 deep/], line: 5, column: 4 },

  // Each limit lowered.
  { name: 'maxOperations: 1000, a loop of additions', endpoint: 'grad', body: scalar('s = 0\nfor i = 1:100000\n  s = s + x\nend\ns'), limits: { maxOperations: 1000 }, limit: 'operations', detail: [/operation limit/, /1000/], line: 3, column: 3 },
  { name: 'maxOperations: 1000, under hessian', endpoint: 'hessian', body: scalar('s = 0\nfor i = 1:100000\n  s = s + x * x\nend\ns'), limits: { maxOperations: 1000 }, limit: 'operations', detail: [/operation limit/], line: 3, column: 3 },
  { name: 'maxElements: 1000, a 100 × 100 tensor', endpoint: 'grad', body: scalar('sum(ones(100, 100) * x)'), limits: { maxElements: 1000 }, limit: 'memory', detail: [/memory limit/, /1000/], line: 1, column: 5 },
  {
    name: 'timeoutMs: 50, a long but finite loop',
    endpoint: 'eval',
    body: scalar('s = 0\nk = 0\nwhile k < 100000000\n  k = k + 1\n  s = s + k\nend\ns'),
    limits: { timeoutMs: 50, maxIterations: Infinity },
    limit: 'time',
    detail: [/time limit/],
    // The deadline strikes in whichever statement is running then.
    line: 'any',
    column: 'any',
  },
  {
    name: 'options.timeoutMs: 50 in the request, a long but finite loop under grad',
    endpoint: 'grad',
    body: scalar('s = 0\nk = 0\nwhile k < 100000000\n  k = k + 1\n  s = s + x\nend\ns', { options: { timeoutMs: 50 } }),
    limits: { maxIterations: Infinity, maxOperations: Infinity, maxElements: Infinity },
    limit: 'time',
    detail: [/time limit/],
    line: 'any',
    column: 'any',
  },
  { name: 'maxIterations: 10, a for loop of 100', endpoint: 'eval', body: scalar('s = 0\nfor i = 1:100\n  s = s + i\nend\ns'), limits: { maxIterations: 10 }, limit: 'loop iterations', detail: [/loop iteration limit/, /10 iterations/], line: 2, column: 1 },
  {
    name: 'maxIterations: 10, loops counted together',
    endpoint: 'eval',
    body: scalar('s = 0\nfor i = 1:6\n  s = s + i\nend\nfor j = 1:6\n  s = s + j\nend\ns'),
    limits: { maxIterations: 10 },
    limit: 'loop iterations',
    detail: [/more than 10 iterations/],
    line: 5,
    column: 1,
  },
  { name: 'maxDepth: 10, a finite recursion 20 deep', endpoint: 'eval', body: scalar('f(n) = n <= 0 ? 0 : 1 + f(n - 1)\nf(20)'), limits: { maxDepth: 10 }, limit: 'recursion depth', detail: [/recursion depth limit/, /`f`/, /10 deep/], line: 1, column: 1 },
  { name: 'maxNesting: 3, four brackets', endpoint: 'eval', body: scalar('y = 1\ny + ((((x))))'), limits: { maxNesting: 3 }, limit: 'nesting depth', detail: [/nesting depth limit/, /3 deep/], line: 2, column: 8 },
  { name: 'every endpoint: jacobian of an endless loop', endpoint: 'jacobian', body: scalar('while 1\nend\nx'), limit: 'loop iterations', detail: [/loop iteration limit/], line: 1, column: 1 },
  { name: 'every endpoint: jvp of an endless loop', endpoint: 'jvp', body: scalar('while 1\nend\nx'), limit: 'loop iterations', detail: [/loop iteration limit/], line: 1, column: 1 },
  { name: 'every endpoint: trace of an endless loop', endpoint: 'trace', body: scalar('while 1\nend\nx'), limit: 'loop iterations', detail: [/loop iteration limit/], line: 1, column: 1 },
];

/** The lab's program: healthy means it still gives xy + sin x and (y + cos x, x). */
function assertHealthy(t: Test, label: string): void {
  const [x, y] = [0.5, 4.2];
  const outcome = outcomeOf(() => computeSync('grad', { program: 'x*y + sin(x)', at: { x, y } }));
  if ('threw' in outcome) t.fail(`${label}: a normal request afterwards failed: ${String(outcome.threw)}`);
  else assertFields(t, outcome.returned, { value: x * y + Math.sin(x), grad: { x: y + Math.cos(x), y: x } }, `${label}: a normal request afterwards`, { rtol: 1e-12, atol: 0 });
}

function checkOutcome(t: Test, c: BudgetCase, outcome: Outcome, elapsed: number): void {
  t.ok(elapsed < QUICKLY_MS, `${c.name}: ends within ${QUICKLY_MS} ms (took ${elapsed.toFixed(0)} ms)`);
  assertProblem(t, c.name, outcome, { status: 422, code: 'LIMIT_EXCEEDED', limit: c.limit, detail: c.detail, line: c.line, column: c.column });
  assertHealthy(t, c.name);
}

function checkBudget(t: Test, c: BudgetCase): void {
  const start = performance.now();
  const outcome = outcomeOf(() => computeSync(c.endpoint, c.body, { limits: c.limits }));
  checkOutcome(t, c, outcome, performance.now() - start);
}

t.test('every budget trips quickly, as LIMIT_EXCEEDED naming its limit, and leaves the evaluator healthy', (t) => {
  for (const c of cases) checkBudget(t, c);
  t.end();
});

t.test('the case names are distinct, so a failure names one case', (t) => {
  t.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  t.end();
});

t.test('the async compute rejects the same way', async (t) => {
  for (const c of cases.filter((c) => c.endpoint === 'eval').slice(0, 3)) {
    const start = performance.now();
    const outcome = await settled(compute(c.endpoint, c.body, { limits: c.limits }));
    checkOutcome(t, { ...c, name: `${c.name} (async)` }, outcome, performance.now() - start);
  }
});

t.test("derivative: mathjs's simplification and constant folding are held to the budgets", (t) => {
  const nested = (depth: number): string => `${'sin('.repeat(depth)}x${')'.repeat(depth)}`;
  const cases: [string, string, Parameters<typeof assertProblem>[3]][] = [
    // Simplifying takes minutes at this depth (its time grows far faster than the derivative's size).
    [
      'sin nested 24 deep',
      nested(24),
      { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', path: '/program', detail: [/649 nodes before simplification/, /300/, /\/v1\/grad/] },
    ],
    // mathjs would fold the constant, a 9 * 10^8-element matrix, with none of the engine's budgets.
    ['a constant over the memory budget', 'x * sum(ones(30000, 30000))', { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', line: 1, column: 9, detail: [/memory limit/, /ones/] }],
  ];
  for (const [name, program, expected] of cases) {
    const start = performance.now();
    const outcome = outcomeOf(() => computeSync('derivative', { program, wrt: ['x'] }));
    const elapsed = performance.now() - start;
    t.ok(elapsed < QUICKLY_MS, `${name}: ends within ${QUICKLY_MS} ms (took ${elapsed.toFixed(0)} ms)`);
    assertProblem(t, name, outcome, expected);
  }
  // Under the bound, nesting still differentiates: 12 deep is 181 nodes.
  const { derivative } = computeSync('derivative', { program: nested(12), wrt: ['x'] }) as { derivative: string };
  t.match(derivative, /^cos\(x\) \* cos\(sin\(x\)\)/, 'sin nested 12 deep: its derivative');
  t.end();
});
