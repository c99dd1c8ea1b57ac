/**
 * `derivative` hardened: the simplified symbolic derivative is checked against the engine's
 * gradient at fixed points where both are finite (closed forms as the oracle), and where mathjs
 * cannot differentiate a function the engine can, the problem says so with the engine's number.
 */
import t from 'tap';
import { computeSync, loadSymbolic } from '../../src/index.js';
import { assertClose, assertProblem, outcomeOf } from '../helpers.js';

// computeSync answers `derivative` once mathjs's symbolic differentiation is loaded.
await loadSymbolic();

interface Derivative {
  derivative: string;
  tex: string;
  check: { agrees: boolean | null; points: { at: Record<string, number>; derivative: number; grad: number }[]; detail?: string };
}

const derive = (program: string, wrt: string): Derivative => computeSync('derivative', { program, wrt: [wrt] }) as Derivative;

t.test('the derivative agrees with the engine\'s gradient at three points, both equal to the closed form', (t) => {
  const cases: { program: string; wrt: string; closedForm: (p: Record<string, number>) => number }[] = [
    { program: 'x^2 * sin(x)', wrt: 'x', closedForm: ({ x }) => 2 * x * Math.sin(x) + x * x * Math.cos(x) },
    { program: 'x * y + sin(x)', wrt: 'x', closedForm: ({ y, x }) => y + Math.cos(x) },
    { program: 'exp(x * y) + log(x)', wrt: 'y', closedForm: ({ x, y }) => x * Math.exp(x * y) },
    // mathjs answers with sec, which the engine lacks: mathjs evaluates its own answer.
    { program: 'tan(x) * y', wrt: 'x', closedForm: ({ x, y }) => y / Math.cos(x) ** 2 },
    { program: 'atan(x) + asin(x / 2)', wrt: 'x', closedForm: ({ x }) => 1 / (1 + x * x) + 1 / Math.sqrt(4 - x * x) },
    { program: 'x^y', wrt: 'y', closedForm: ({ x, y }) => Math.log(x) * x ** y },
    { program: 'y^3', wrt: 'x', closedForm: () => 0 },
  ];
  for (const c of cases) {
    const r = derive(c.program, c.wrt);
    t.equal(r.check.agrees, true, `${c.program}: agrees (${r.derivative})`);
    t.equal(r.check.points.length, 3, `${c.program}: three points`);
    for (const p of r.check.points) {
      for (const v of Object.values(p.at)) t.ok(v >= 0.5 && v <= 1.5, `${c.program}: ${JSON.stringify(p.at)} between 0.5 and 1.5`);
      assertClose(t, p.derivative, c.closedForm(p.at), `${c.program}: the derivative at ${JSON.stringify(p.at)}`, { rtol: 1e-12 });
      assertClose(t, p.grad, c.closedForm(p.at), `${c.program}: the engine at ${JSON.stringify(p.at)}`, { rtol: 1e-12 });
    }
  }
  t.end();
});

t.test('the points are the first where both are finite; none is a null agreement with the reason', (t) => {
  const log = derive('log(x - 1)', 'x');
  t.equal(log.check.agrees, true, 'log(x - 1): agrees');
  t.ok(log.check.points.every((p) => p.at.x > 1), `log(x - 1): only points above 1 (${log.check.points.map((p) => p.at.x).join(', ')})`);
  const none = derive('sqrt(-x - 3)', 'x');
  t.same({ agrees: none.check.agrees, points: none.check.points }, { agrees: null, points: [] }, 'sqrt(-x - 3): no real point');
  t.match(none.check.detail, /not both finite at any of the trial points/, 'and says why');
  t.equal(derive('x', 'x').check.points[0].at.x, 0.7, 'the points are fixed: the same every time');
  t.end();
});

t.test('a function mathjs cannot differentiate: the problem says whether the engine can, with its derivative at a point', (t) => {
  const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
  const s07 = sigmoid(0.7) * (1 - sigmoid(0.7));
  const cases: { program: string; detail: RegExp[] }[] = [
    { program: 'sigmoid(x)', detail: [/mathjs cannot differentiate `sigmoid` symbolically, but the engine can: the grad endpoint differentiates it numerically/, new RegExp(`at x = 0.7, d/dx = ${s07}`.replace(/\./g, '\\.'))] },
    { program: 'relu(x) * y', detail: [/`relu`.*the engine can/, /at x = 0\.7, y = 0\.6, d\/dx = 0\.6\)/] },
    { program: 'softplus(x)', detail: [/`softplus`.*the engine can/] },
    { program: 'floor(x)', detail: [/mathjs cannot differentiate `floor` symbolically, and the catalogue lists `floor` as not differentiable/] },
  ];
  for (const c of cases) {
    assertProblem(t, c.program, outcomeOf(() => derive(c.program, 'x')), { status: 422, code: 'NOT_DIFFERENTIABLE', path: '/program', detail: c.detail });
  }
  t.end();
});
