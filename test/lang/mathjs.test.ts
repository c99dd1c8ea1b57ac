/**
 * adjoint's two mathjs instances, built from only the factories adjoint uses, against all of
 * mathjs. src/lang/symbolic.ts's (the derivative endpoint's) has every function, transform and
 * constant of the catalogue that mathjs has, and parses, differentiates, simplifies and
 * evaluates the catalogue's functions to the same text, TeX, numbers and errors.
 * src/lang/mathjs.ts's (the language's parser) parses to the same trees and knows the same units.
 */
import { all, create, isMatrix, isNode, type MathJsInstance } from 'mathjs';
import t from 'tap';
import { catalogue, constants } from '../../src/lang/catalogue.js';
import { mathjs as parser } from '../../src/lang/mathjs.js';
import { mathjs as custom } from '../../src/lang/symbolic.js';

const full = create(all);
type Namespace = Record<string, unknown> & { expression: { transform: Record<string, unknown> } };
const fullNamespace = full as unknown as Namespace;
const customNamespace = custom as unknown as Namespace;

/** Names of the catalogue (functions and constants) that all of mathjs has. */
const shared = [...catalogue().map((e) => e.name), ...Object.keys(constants)].filter((name) => fullNamespace[name] !== undefined);

t.test('every function, transform and constant of the catalogue that mathjs has is in the instance', async (t) => {
  t.ok(shared.length > 120, `${shared.length} names`);
  for (const name of shared) {
    t.equal(typeof customNamespace[name], typeof fullNamespace[name], name);
    if (typeof fullNamespace[name] === 'number') t.ok(Object.is(customNamespace[name], fullNamespace[name]), `${name} = ${String(fullNamespace[name])}`);
    t.equal(typeof customNamespace.expression.transform[name], typeof fullNamespace.expression.transform[name], `${name}'s transform`);
  }
});

/** What one mathjs does with an expression: its derivative and simplified form, their TeX and values, or the error. */
function outcome(math: MathJsInstance, expression: string): unknown {
  const attempt = (f: () => unknown): unknown => {
    try {
      const v = f();
      return isMatrix(v) ? v.toArray() : v;
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  const scope = { x: 0.7, y: 1.3 };
  const node = math.parse(expression);
  const derivative = attempt(() => math.simplify(math.derivative(node, 'x')));
  const simplified = attempt(() => math.simplify(node));
  const described = (v: unknown): unknown => (isNode(v) ? { text: v.toString(), tex: v.toTex(), value: attempt(() => v.evaluate({ ...scope })) } : v);
  return { value: attempt(() => node.evaluate({ ...scope })), derivative: described(derivative), simplified: described(simplified) };
}

/** Each catalogue function that mathjs has, called in the ways its arities allow, on x, on a constant and on a vector. */
function expressions(name: string): string[] {
  return [`${name}(x)`, `${name}(x^2 + 1)`, `${name}(2) * x`, `${name}(x, 2)`, `${name}(y, x)`, `${name}([x, 2, 3])`, `${name}([x, 2; 3, y], 1)`, `x * ${name}(0.5) + ${name}(1.5)`];
}

t.test('parse, derivative, simplify and evaluate agree with all of mathjs on every function of the catalogue', async (t) => {
  const names = shared.filter((name) => typeof fullNamespace[name] === 'function');
  const programs = [...names.flatMap(expressions), ...Object.keys(constants).map((c) => `${c} * x^2`), 'x[1]', '[x, y][2] * x', 'sum([x, y; 1, 2], 2)', 'max([x, y], 1) + x', '1:3'];
  let compared = 0;
  for (const program of programs) {
    let expected: unknown;
    try {
      expected = outcome(full, program);
    } catch {
      continue; // mathjs does not parse it: no comparison to make.
    }
    t.strictSame(outcome(custom, program), expected, program);
    compared++;
  }
  t.ok(compared > 800, `${compared} expressions compared`);
});

t.test('the same names are units (what tells a missing input from a unit name)', async (t) => {
  for (const name of ['cm', 'kg', 'm', 's', 'deg', 'rad', 'mm', 'inch', 'lr', 'loss', 'theta', 'w', 'bias']) {
    t.equal(parser.Unit.isValuelessUnit(name), full.Unit.isValuelessUnit(name), name);
    t.equal(custom.Unit.isValuelessUnit(name), full.Unit.isValuelessUnit(name), `${name}, to the symbolic instance`);
  }
});

t.test("the language's parser reads every program as all of mathjs does: the same tree, or the same error", async (t) => {
  const names = shared.filter((name) => typeof fullNamespace[name] === 'function');
  const programs = [
    ...names.flatMap(expressions),
    'x = 2; y = x .^ 2 + 3 cm',
    'f(a, b) = a * b; f(2, x)',
    "A[1, :] * B' .* 2e-3 == 1 ? x : -y!",
    '[1, 2; 3, 4][2, 1:end]',
    'sum(x)(2',
    'x +* 2',
    'a.b.c + "text"',
  ];
  for (const program of programs) {
    const tree = (math: MathJsInstance): unknown => {
      try {
        return JSON.parse(JSON.stringify(math.parse(program)));
      } catch (e) {
        return { error: (e as Error).message };
      }
    };
    t.strictSame(tree(parser), tree(full), program);
  }
});
