/**
 * PyTorch's numbers (test/vectors/torch-oracle.json) through `compute`, as a client sends
 * them: each case's request to its endpoint, the response's fields compared with the case's
 * `expect` under its `tol`. Then the lab's programs against their closed forms.
 */
import t, { type Test } from 'tap';
import { compute, computeSync } from '../../src/index.js';
import { assertFields, outcomeOf, settled, type Outcome } from '../helpers.js';
import { oracle, pending, runnable, type OracleCase, type Pending } from '../oracle-cases.js';

function checkResponse(t: Test, label: string, outcome: Outcome, c: OracleCase): void {
  if ('threw' in outcome) {
    const e = outcome.threw as { body?: unknown };
    t.fail(`${label}: ${c.endpoint} failed: ${JSON.stringify(e.body ?? String(e))}`);
    return;
  }
  assertFields(t, outcome.returned, c.expect, label, c.tol);
}

/** A pending case must still fail the way its missing feature makes it fail, so the list cannot go stale. */
function checkStillPending(t: Test, c: OracleCase, why: Pending): void {
  const outcome = outcomeOf(() => computeSync(c.endpoint, c.request));
  const code = 'threw' in outcome ? (outcome.threw as { code?: unknown }).code : 'no error';
  t.equal(code, why.failsWith, `${c.name}: still fails with ${why.failsWith}; once it runs, take it off the pending list`);
}

t.test('every oracle case is run or pending, and every pending entry is an oracle case', (t) => {
  const names = oracle.cases.map((c) => c.name);
  t.equal(new Set(names).size, names.length, 'the oracle file names each case once');
  for (const name of Object.keys(pending)) t.ok(names.includes(name), `pending "${name}" is a case of the oracle file`);
  t.equal(runnable.length + Object.keys(pending).length, names.length, 'run + pending = all cases');
  t.end();
});

t.test('pending cases (a later issue delivers each) still fail for want of their feature', (t) => {
  for (const c of oracle.cases) if (c.name in pending) checkStillPending(t, c, pending[c.name]);
  t.end();
});

t.test('every runnable oracle case through computeSync matches PyTorch within its tolerance', async (t) => {
  for (const c of runnable) await t.test(c.name, async (t) => checkResponse(t, c.name, outcomeOf(() => computeSync(c.endpoint, c.request)), c));
});

// The first runnable case of each endpoint: the promise API, and the flat layout of SPEC.md section 1.
const firstOfEachEndpoint = [...new Map(runnable.map((c) => [c.endpoint, c] as const).reverse()).values()];

t.test('the async compute gives the same numbers, one case per endpoint', async (t) => {
  for (const c of firstOfEachEndpoint) checkResponse(t, `${c.name} (async)`, await settled(compute(c.endpoint, c.request)), c);
});

t.test('the flat layout {shape, data} carries the same numbers, one case per endpoint', async (t) => {
  for (const c of firstOfEachEndpoint) {
    const options = { ...(c.request.options as Record<string, unknown> | undefined), layout: 'flat' };
    checkResponse(t, `${c.name} (flat)`, outcomeOf(() => computeSync(c.endpoint, { ...c.request, options })), c);
  }
});

// The lab's programs, at several points, against closed forms.
interface LabCase {
  name: string;
  endpoint: string;
  body: Record<string, unknown>;
  expect: Record<string, unknown>;
}

const LAB_TOLERANCE = { rtol: 1e-12, atol: 1e-14 };

function checkLab(t: Test, c: LabCase): void {
  checkResponse(t, c.name, outcomeOf(() => computeSync(c.endpoint, c.body)), { name: c.name, endpoint: c.endpoint, request: c.body, expect: c.expect, tol: LAB_TOLERANCE });
}

const { sin, cos } = Math;
const modes = ['reverse', 'forward'] as const;

/** z = x y + sin x: ∂z/∂x = y + cos x, ∂z/∂y = x; the Hessian is [[-sin x, 1], [1, 0]]. */
const productPlusSine: LabCase[] = [
  [0.5, 4.2],
  [-1.3, 0.7],
  [2, -3],
].flatMap(([x, y]) => [
  ...modes.map((mode) => ({
    name: `x*y + sin(x) at (${x}, ${y}), ${mode} mode: value xy + sin x, gradient (y + cos x, x)`,
    endpoint: 'grad',
    body: { program: 'x*y + sin(x)', at: { x, y }, options: { mode } },
    expect: { value: x * y + sin(x), grad: { x: y + cos(x), y: x } },
  })),
  {
    name: `x*y + sin(x) as a graph at (${x}, ${y}): the same value and gradient`,
    endpoint: 'grad',
    body: {
      graph: {
        nodes: [
          { id: 'z', op: 'add', args: ['a', 'b'] },
          { id: 'a', op: 'multiply', args: ['x', 'y'] },
          { id: 'b', op: 'sin', args: ['x'] },
        ],
        output: 'z',
      },
      at: { x, y },
    },
    expect: { value: x * y + sin(x), grad: { x: y + cos(x), y: x } },
  },
  {
    name: `x*y + sin(x) at (${x}, ${y}), jvp along x: tangent y + cos x`,
    endpoint: 'jvp',
    body: { program: 'x*y + sin(x)', at: { x, y }, tangents: { x: 1, y: 0 } },
    expect: { value: x * y + sin(x), tangent: y + cos(x) },
  },
  {
    name: `x*y + sin(x) at (${x}, ${y}): Hessian [[-sin x, 1], [1, 0]]`,
    endpoint: 'hessian',
    body: { program: 'x*y + sin(x)', at: { x, y } },
    expect: { value: x * y + sin(x), grad: { x: y + cos(x), y: x }, hessian: { x: { x: -sin(x), y: 1 }, y: { x: 1, y: 0 } } },
  },
]);

/**
 * "Differentiating an algorithm": z = 1, then z = (z + i) x² for i = 0, 1 gives
 * z = (x² + 1) x² = x⁴ + x², so dz/dx = 4x³ + 2x and d²z/dx² = 12x² + 2.
 */
const ALGORITHM = 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz';
const algorithm: LabCase[] = [0.5, -1.2, 2, 0].flatMap((x) => [
  ...modes.map((mode) => ({
    name: `the loop z = (z + i) * x * x for i = 0:1 at x = ${x}, ${mode} mode: value x⁴ + x², derivative 4x³ + 2x`,
    endpoint: 'grad',
    body: { program: ALGORITHM, at: { x }, options: { mode } },
    expect: { value: x ** 4 + x ** 2, grad: { x: 4 * x ** 3 + 2 * x } },
  })),
  {
    name: `the loop z = (z + i) * x * x for i = 0:1 at x = ${x}: second derivative 12x² + 2`,
    endpoint: 'hessian',
    body: { program: ALGORITHM, at: { x } },
    expect: { value: x ** 4 + x ** 2, hessian: { x: { x: 12 * x ** 2 + 2 } } },
  },
]);

/**
 * Two outputs, y = [2a + sin a; 4b + cos b] for x = [a; b]: the Jacobian is diagonal,
 * diag(2 + cos a, 4 - sin b), so the cotangent [u; v] pulls back to [u (2 + cos a); v (4 - sin b)].
 */
const TWO_OUTPUTS = '[2; 4] .* x + [1; 0] .* sin(x) + [0; 1] .* cos(x)';
const twoOutputs: LabCase[] = [
  [1, 1, 1, 1],
  [0.3, -2, 2, -0.5],
].flatMap(([a, b, u, v]) => [
  ...modes.map((mode) => ({
    name: `two outputs at x = [${a}; ${b}] with cotangent [${u}; ${v}], ${mode} mode: [u (2 + cos a); v (4 - sin b)]`,
    endpoint: 'grad',
    body: { program: TWO_OUTPUTS, at: { x: [[a], [b]] }, cotangent: [[u], [v]], options: { mode } },
    expect: { value: [[2 * a + sin(a)], [4 * b + cos(b)]], grad: { x: [[u * (2 + cos(a))], [v * (4 - sin(b))]] } },
  })),
  {
    name: `two outputs at x = [${a}; ${b}]: the Jacobian, of shape [2, 1, 2, 1], is diag(2 + cos a, 4 - sin b)`,
    endpoint: 'jacobian',
    body: { program: TWO_OUTPUTS, at: { x: [[a], [b]] } },
    expect: { jacobian: { x: [[[[2 + cos(a)], [0]]], [[[0], [4 - sin(b)]]]] } },
  },
]);

t.test('lab: z = x*y + sin(x), its gradient, tangent and Hessian in closed form', (t) => {
  for (const c of productPlusSine) checkLab(t, c);
  t.end();
});

t.test('lab: differentiating an algorithm (a loop), against x⁴ + x² and its derivatives', (t) => {
  for (const c of algorithm) checkLab(t, c);
  t.end();
});

t.test('lab: multiple outputs with a cotangent, and their Jacobian, in closed form', (t) => {
  for (const c of twoOutputs) checkLab(t, c);
  t.end();
});
