/**
 * The trace endpoint (SPEC.md section 3): the Wengert list of `x*y + sin(x)`, each step's
 * value, forward tangent and reverse adjoint against the closed forms the course derives; then
 * the graph export of a table of programs and graphs, sent back as a graph, against the
 * original's value and gradient.
 */
import t, { type Test } from 'tap';
import { computeSync } from '../../src/index.js';
import { assertClose, assertFields, outcomeOf } from '../helpers.js';

type Response = Record<string, unknown>;
type Inputs = Readonly<Record<string, unknown>>;

const TIGHT = { rtol: 1e-12, atol: 1e-12 };

interface Step {
  id: string;
  op: string;
  args: unknown[];
  value: unknown;
  tangent: unknown;
  adjoint: unknown;
}

interface TraceTable {
  value: unknown;
  inputs: { name: string; value: unknown; tangent: unknown; adjoint: unknown }[];
  steps: Step[];
  output: unknown;
}

/** Runs a request, failing the test (rather than throwing) when it is refused. */
function response(t: Test, label: string, endpoint: string, body: Record<string, unknown>): Response | null {
  const outcome = outcomeOf(() => computeSync(endpoint, body));
  if ('returned' in outcome) return outcome.returned as Response;
  const e = outcome.threw as { body?: unknown };
  t.fail(`${label}: ${endpoint} refused the request: ${JSON.stringify(e.body ?? String(e))}`);
  return null;
}

// ---------------------------------------------------------------------------------------------
// The Wengert list of z = x*y + sin(x) at (0.5, 4.2).

const x = 0.5;
const y = 4.2;
const LAB = { program: 'x*y + sin(x)', at: { x, y } };

/** The list's structure: inputs x and y; v1 = multiply(x, y), v2 = sin(x), v3 = add(v1, v2); the output v3. */
const structure = {
  inputs: ['x', 'y'],
  steps: [
    { id: 'v1', op: 'multiply', args: ['x', 'y'] },
    { id: 'v2', op: 'sin', args: ['x'] },
    { id: 'v3', op: 'add', args: ['v1', 'v2'] },
  ],
  output: 'v3',
};

const values = [x * y, Math.sin(x), x * y + Math.sin(x)];

/** Forward tangents of every step for the tangent (dx, dy) of the inputs. */
const tangentsAlong = (dx: number, dy: number): number[] => [dx * y + x * dy, Math.cos(x) * dx, dx * y + x * dy + Math.cos(x) * dx];

/** Reverse adjoints: ∂z/∂v3 = 1, ∂z/∂v1 = ∂z/∂v2 = 1, and for the inputs ∂z/∂x = y + cos x, ∂z/∂y = x. */
const adjoints = [1, 1, 1];
const inputAdjoints = { x: y + Math.cos(x), y: x };

const tables: readonly { name: string; tangents?: Record<string, number>; inputTangents: [number, number] }[] = [
  { name: 'default: the unit tangent along the first input, x', inputTangents: [1, 0] },
  { name: 'tangents {x: 0, y: 1}', tangents: { x: 0, y: 1 }, inputTangents: [0, 1] },
  { name: 'tangents {x: 0.3, y: -2}', tangents: { x: 0.3, y: -2 }, inputTangents: [0.3, -2] },
];

t.test('the Wengert list of x*y + sin(x): each step, its value, forward tangent and reverse adjoint', (t) => {
  for (const c of tables) {
    const r = response(t, c.name, 'trace', c.tangents === undefined ? LAB : { ...LAB, tangents: c.tangents });
    if (r === null) continue;
    const table = r as unknown as TraceTable;
    t.same(
      { inputs: table.inputs.map((i) => i.name), steps: table.steps.map(({ id, op, args }) => ({ id, op, args })), output: table.output },
      structure,
      `${c.name}: inputs x, y; v1 = multiply(x, y), v2 = sin(x), v3 = add(v1, v2); output v3`,
    );
    const [dx, dy] = c.inputTangents;
    const tangents = tangentsAlong(dx, dy);
    assertFields(
      t,
      table,
      {
        value: values[2],
        inputs: [
          { value: x, tangent: dx, adjoint: inputAdjoints.x },
          { value: y, tangent: dy, adjoint: inputAdjoints.y },
        ],
        steps: values.map((value, i) => ({ value, tangent: tangents[i], adjoint: adjoints[i] })),
      },
      `${c.name}: values, tangents (dx, dy) = (${dx}, ${dy}) and adjoints`,
      TIGHT,
    );
  }
  t.end();
});

t.test("the inputs' adjoints in the trace are the gradient grad gives", (t) => {
  const programs: readonly { name: string; program: string; at: Inputs }[] = [
    { name: 'x*y + sin(x)', ...LAB },
    { name: 'the lab loop', program: 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz', at: { x: 0.5 } },
    { name: 'a matrix program', program: 'A = [x, 2; y, x * y]\nsum(A * [x; 1]) + det(A)', at: { x: 0.5, y: 4.2 } },
  ];
  for (const c of programs) {
    const trace = response(t, c.name, 'trace', { program: c.program, at: c.at }) as unknown as TraceTable | null;
    const grad = response(t, c.name, 'grad', { program: c.program, at: c.at });
    if (trace === null || grad === null) continue;
    assertFields(t, Object.fromEntries(trace.inputs.map((i) => [i.name, i.adjoint])), grad.grad, `${c.name}: input adjoints = grad`, TIGHT);
    assertClose(t, trace.value, grad.value, `${c.name}: trace value = grad value`, TIGHT);
  }
  t.end();
});

// ---------------------------------------------------------------------------------------------
// The graph export evaluates again to the same value and gradient.

const P = [
  [1, 2],
  [3, 4],
];
const Q = [
  [0.5, 2.5],
  [3, 2],
];

const roundTrips: readonly { name: string; source: Record<string, unknown>; at: Inputs; wrt?: string[]; cotangent?: unknown }[] = [
  { name: 'the lab expression', source: { program: 'x*y + sin(x)' }, at: { x, y } },
  { name: 'the lab loop', source: { program: 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz' }, at: { x: 0.5 } },
  {
    name: 'a vector and matrix program with indexing and a matrix literal built from inputs',
    source: { program: 'A = [x, 2; y, x * y]\nv = A * [x; 1]\nw = v .* [1; 3]\nw[2, 1] + sum(A[1, :]) + A[end, end] * norm(v)' },
    at: { x: 0.5, y: 4.2 },
  },
  {
    name: 'a program over a vector input with ranges and end',
    source: { program: 'u = v[2:end] .* v[1:end - 1]\nsum(exp(u)) + v[[3, 1]] * [2, 1]' },
    at: { v: [0.3, -0.4, 1.1] },
  },
  { name: 'a program with a user function', source: { program: 'g(u) = u * sin(u) + 1\ng(x) * g(y) + g(x * y)' }, at: { x, y } },
  { name: 'a program with recursion', source: { program: 'f(n, v) = n <= 0 ? v : f(n - 1, v * x + 1)\nf(3, 1)' }, at: { x: 0.5 } },
  { name: 'a program with branches taken by the values', source: { program: 's = 0\nfor i = 1:3\n  if v[i] > 0\n    s = s + v[i]^2\n  else\n    s = s - v[i]\n  end\nend\ns' }, at: { v: [0.3, -0.4, 1.1] } },
  { name: 'a program with index assignment', source: { program: 'y = zeros(3)\nfor i = 1:3\n  y[i] = x^i\nend\nsum(y)' }, at: { x: 0.4 } },
  { name: 'a program with a string option', source: { program: 'mse_loss(P, Q, "sum")' }, at: { P, Q } },
  { name: 'a program with a fixed input (not in wrt)', source: { program: 'A * v' }, at: { A: P, v: [1, -1] }, wrt: ['v'], cotangent: [1, 2] },
  { name: 'a program with a vector output', source: { program: '[x * y, sin(x), x]' }, at: { x, y }, cotangent: [1, -1, 0.5] },
  { name: 'a program whose inputs are named like steps and constants', source: { program: 'v2 = v1 * 2\nv2 + v1 * c1' }, at: { v1: 3, c1: -1.5 } },
  { name: 'a program whose result is an input', source: { program: 'x' }, at: { x } },
  { name: 'a program whose result does not depend on the inputs', source: { program: '2 + 3' }, at: { x } },
  {
    name: 'a graph request',
    source: {
      graph: {
        nodes: [
          { id: 'q', op: 'dotPow', args: ['s', 'two'] },
          { id: 'two', op: 'const', value: 2 },
          { id: 'h', op: 'multiply', args: ['W', 'x'] },
          { id: 's', op: 'tanh', args: ['h'] },
          { id: 'L', op: 'sum', args: ['q'] },
        ],
        output: 'L',
      },
    },
    at: { W: [[-0.3, 0.4], [0.04, 0.9], [-0.05, 0.65]], x: [0.7, -1.2] },
  },
];

t.test('the graph export of a program or a graph, evaluated again, gives the same value and gradient', (t) => {
  for (const c of roundTrips) {
    const common = { at: c.at, ...(c.wrt === undefined ? {} : { wrt: c.wrt }) };
    const withCotangent = c.cotangent === undefined ? {} : { cotangent: c.cotangent };
    const exported = response(t, c.name, 'trace', { ...c.source, ...common, options: { format: 'graph' } });
    const original = response(t, c.name, 'grad', { ...c.source, ...common, ...withCotangent });
    if (exported === null || original === null) continue;
    const graph = exported.graph;
    const again = response(t, c.name, 'eval', { graph, at: c.at });
    if (again !== null) assertClose(t, again.value, original.value, `${c.name}: the exported graph's value`, TIGHT);
    assertClose(t, exported.value, original.value, `${c.name}: the trace's value`, TIGHT);
    const gradAgain = response(t, c.name, 'grad', { graph, ...common, ...withCotangent });
    if (gradAgain !== null) assertFields(t, gradAgain, { value: original.value, grad: original.grad }, `${c.name}: the exported graph's gradient`, TIGHT);
  }
  t.end();
});

t.test('a flat layout exports constants as {shape, data}, and they read back', (t) => {
  const source = { program: 'sum([1, 2; 3, 4] * v) + v[2]', at: { v: [0.5, -2] } };
  const exported = response(t, 'flat', 'trace', { ...source, options: { format: 'graph', layout: 'flat' } });
  const original = response(t, 'flat', 'grad', source);
  if (exported === null || original === null) return t.end();
  const nodes = (exported.graph as { nodes: { op: string; value?: unknown }[] }).nodes;
  t.ok(
    nodes.some((n) => n.op === 'const' && JSON.stringify(n.value) === JSON.stringify({ shape: [2, 2], data: [1, 2, 3, 4] })),
    'the matrix constant is exported as {shape: [2, 2], data: [1, 2, 3, 4]}',
  );
  const again = response(t, 'flat', 'grad', { graph: exported.graph, at: source.at });
  if (again !== null) assertFields(t, again, { value: original.value, grad: original.grad }, 'the flat export evaluates to the same value and gradient', TIGHT);
  t.end();
});
