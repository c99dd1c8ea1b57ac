/**
 * mathjs's numeric functions as adjoint supports them (issue 14, finding 15): each value against
 * `math.evaluate` (SPEC: wherever mathjs gives a value, adjoint gives the same), each derivative
 * against central differences and its other mode, the gradients PyTorch defines (median,
 * quantile, sort, cumprod at zeros) against closed forms, the plan and scalar compilers against
 * the engine, and every name in mathjs's own list either in the catalogue or refused with a reason.
 */
import * as math from 'mathjs';
import t from 'tap';
import {
  Context,
  NotCompilable,
  Tensor,
  compileGradient,
  compileGradientPlan,
  concrete,
  grad,
  hessian,
  sum,
  type Fn,
  type Value,
} from '../../src/engine/index.js';
import { computeSync } from '../../src/index.js';
import { catalogue, functionNamed, refusal, type LangValue } from '../../src/lang/catalogue.js';
import { assertClose, assertDerivatives, assertProblem, closeMismatch, outcomeOf, tensorFromJson, toTensor } from '../helpers.js';

/** mathjs's result as plain JSON numbers (a Matrix as nested arrays, booleans as 1 and 0, a ResultSet as its last entry). */
function plain(v: unknown): unknown {
  if (math.isResultSet(v)) {
    const entries = (v as unknown as { entries: unknown[] }).entries;
    return plain(entries[entries.length - 1]);
  }
  if (math.isMatrix(v)) return plain(v.toArray());
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

/** Programs whose value mathjs gives: adjoint's must be the same (to float rounding). */
const mathjsPrograms = [
  'diff([1, 4, 9, 16])',
  'diff([[1, 2], [4, 8], [9, 18]])',
  'diff([[1, 2, 4], [4, 8, 9]], 2)',
  'diff([[1, 2, 4], [4, 8, 9]], 1)',
  'diff([7])',
  'cumsum([1, 2, 3])',
  'cumsum([[1, 2], [3, 4]])',
  'cumsum([[1, 2], [3, 4]], 2)',
  'cumsum([[[1, 2], [3, 4]]], 3)',
  'cumsum(1, 2, 3)',
  'cumsum(5)',
  'range(0, 1, 0.25)',
  'range(0, 1, 0.25, false)',
  'range(0, 1, 0.1)',
  'range(0, 1, 0.1, false)',
  'range(1, 4)',
  'range(1, 5, false)',
  'range(1, 5, 2, false)',
  'range(5, 1, -1)',
  'range(1, 0)',
  'range(1, 2, 0.3)',
  'range("0:2:9")',
  'range("1:4")',
  'range("0:0.5:2", false)',
  '0:0.1:1',
  '0.1:0.1:0.3',
  'median([1, 3, 2, 4])',
  'median([5, 1, 3])',
  'median([[1, 3], [2, 9]])',
  'median(1, 5, 2)',
  'quantileSeq([1, 2, 3, 4], 0.3)',
  'quantileSeq([1, 2, 3, 4], [0.3, 0.5])',
  'quantileSeq([[1, 2], [3, 4]], 0.3)',
  'quantileSeq([4, 2, 3, 1], 0.3, true)',
  'quantileSeq([1, 2, 3, 4, 5], 4)',
  'quantileSeq([1, 2, 3], 1)',
  'quantileSeq([3, 1, 2], 0)',
  'quantileSeq([[1, 2], [3, 4]], 0.5, 1)',
  'quantileSeq([[1, 2], [3, 4]], 0.5, 2)',
  'quantileSeq([[1, 2], [3, 5]], [0.5, 0.25], 1)',
  'quantileSeq([[1, 2], [3, 5]], 2, 1)',
  'quantileSeq(reshape(1:24, [2, 3, 4]), 0.5, 2)',
  'quantileSeq(reshape(1:24, [2, 3, 4]), [0.5, 0.1], 3)',
  'kron([1, 2], [3, 4])',
  'kron([[1, 2], [3, 4]], [[0, 1], [1, 0]])',
  'kron([1, 2], [[1], [2]])',
  'kron([[1, 2]], [3, 4])',
  'kron([[1], [2]], [3, 4])',
  'cross([1, 2, 3], [4, 5, 6])',
  'cross([[1, 2, 3]], [4, 5, 6])',
  'cross([[1], [2], [3]], [[4], [5], [6]])',
  'dot([1, 2, 3], [4, 5, 6])',
  'dot([[1], [2], [3]], [[4], [5], [6]])',
  'dot([1, 2, 3], [[4], [5], [6]])',
  'hypot(3, 4)',
  'hypot([3, 4])',
  'hypot([[3, 4], [0, 12]])',
  'hypot(3, 4, 12)',
  'hypot(-3)',
  'hypot(1e200, 1e200)',
  'log1p(0.5)',
  'log1p(1e-10)',
  'expm1(1e-10)',
  'expm1(2)',
  'nthRoot(-8, 3)',
  'nthRoot(16)',
  'nthRoot(16, 4)',
  'nthRoot([8, 27], 3)',
  'nthRoot(8, [3, 1])',
  'nthRoot(2, -2)',
  'nthRoot(2, 0.5)',
  'nthRoot(0, 3)',
  'nthRoot(-27, -3)',
  'cbrt(-27)',
  'cbrt(2)',
  'sort([3, 1, 2])',
  'sort([3, 1, 2], "desc")',
  'sort([3, 1, 2], "asc")',
  'sort([2, -1e300, 1e300, 0])',
  'flatten([[1, 2], [3, 4]])',
  'flatten([1, 2])',
  'squeeze(ones(2, 1, 3))',
  'size(squeeze(ones(1, 2, 1, 3, 1)))',
  'squeeze([[5]])',
  'squeeze([[1, 2, 3]])',
  'squeeze(5)',
  'concat([1, 2], [3])',
  'concat([[1, 2]], [[3, 4]])',
  'concat([[1, 2]], [[3, 4]], 1)',
  'concat([[1, 2]], [[3, 4]], 2)',
  'concat([1, 2], [3], 1)',
  'mad([1, 2, 3, 4, 10])',
  'mad([[1, 2], [3, 10]])',
  'mad(1, 2, 3)',
  'row([[1, 2], [3, 4]], 2)',
  'column([[1, 2], [3, 4]], 2)',
  'count([[1, 2], [3, 4]])',
  'isNaN(NaN)',
  'isInteger(2.5)',
  'isInteger(-3)',
  'isNegative(-0.5)',
  'isZero(0)',
  'isPositive(0)',
  'isFinite(Infinity)',
  ...['sec', 'csc', 'cot', 'acot', 'asinh', 'atanh', 'sech', 'csch', 'coth', 'asech', 'acsch'].map((f) => `${f}(0.3)`),
  ...['asec', 'acsc', 'acosh', 'acoth'].map((f) => `${f}(1.7)`),
  'coth(-2.5)',
  'csch(-4)',
  'matrix([1, 2])',
  'matrix()',
  'addScalar(1, 2)',
  'subtractScalar(1, 2)',
  'multiplyScalar(3, 2)',
  'divideScalar(1, 4)',
  'number(4)',
  'x = 0:0.1:1; sum(x)',
];

t.test('every function gives the value math.evaluate gives', (t) => {
  for (const program of mathjsPrograms) {
    const expected = plain(math.evaluate(program));
    const got = outcomeOf(() => (computeSync('eval', { program, at: {} }) as { value: unknown }).value);
    if (!('returned' in got)) {
      t.fail(`${program}: adjoint fails (${String((got.threw as Error).message)}) where mathjs gives ${JSON.stringify(expected)}`);
      continue;
    }
    const why = closeMismatch(tensorFromJson(got.returned), tensorFromJson(expected), { rtol: 1e-12, atol: 1e-12 });
    t.equal(why, null, `${program}: mathjs ${JSON.stringify(expected)}, adjoint ${JSON.stringify(got.returned)}`);
  }
  t.end();
});

/** A catalogue function as an engine function of its tensor arguments, with constants (numbers, strings) after them. */
const call =
  (name: string, ...constants: (number | string | number[])[]): Fn =>
  (cx, xs) => {
    const entry = functionNamed(name)!;
    const extra: LangValue[] = constants.map((c) => (typeof c === 'string' ? c : toTensor(c)));
    const out = entry.call(cx, [...xs, ...extra]);
    return out as Value;
  };

interface DerivativeCase {
  name: string;
  f: Fn;
  at: readonly unknown[];
  /** Exact gradients of sum(f) (or of f, a scalar), when a closed form says them. */
  grads?: readonly unknown[];
}

const derivativeCases: DerivativeCase[] = [
  { name: 'cumsum of a vector', f: call('cumsum'), at: [[0.3, -1.2, 2.5, 0.7]], grads: [[4, 3, 2, 1]] },
  { name: 'cumsum of a matrix along dimension 2', f: call('cumsum', 2), at: [[[0.3, -1.2, 2.5], [0.7, 0.1, -0.4]]], grads: [[[3, 2, 1], [3, 2, 1]]] },
  { name: 'cumprod of a vector without zeros', f: call('cumprod'), at: [[0.5, -1.5, 2, 0.8]] },
  // d/dx of x1 + x1 x2 + x1 x2 x3 + x1 x2 x3 x4 at (2, 0, 3, 5): (1, 2 + 6 + 30, 0, 0).
  { name: 'cumprod of a vector with one zero', f: call('cumprod'), at: [[2, 0, 3, 5]], grads: [[1, 38, 0, 0]] },
  { name: 'cumprod of a vector with two zeros', f: call('cumprod'), at: [[2, 0, 3, 0, 4]], grads: [[1, 8, 0, 0, 0]] },
  { name: 'cumprod of a vector starting with a zero', f: call('cumprod'), at: [[0, 1.5, -2]], grads: [[1 + 1.5 - 3, 0, 0]] },
  { name: 'cumprod of a matrix along dimension 1, a zero in one column', f: call('cumprod'), at: [[[1.5, 0], [0.5, 2], [-1, 3]]] },
  { name: 'diff of a vector', f: call('diff'), at: [[1, 4, 9, 16]], grads: [[-1, 0, 0, 1]] },
  { name: 'diff of a matrix along dimension 2', f: call('diff', 2), at: [[[1, 2, 4], [4, 8, 9]]] },
  { name: 'sort ascending: the gradient returns to each element', f: (cx, [x]) => sum(cx, call('sort')(cx, [x]) as Value, undefined), at: [[0.3, -1.2, 2.5]] },
  { name: 'sort descending, weighted', f: (cx, xs) => call('dot')(cx, [call('sort', 'desc')(cx, xs), Tensor.fromArray([3], [1, 10, 100])]), at: [[0.3, -1.2, 2.5]], grads: [[10, 100, 1]] },
  { name: 'median of an odd count: all to the middle element (torch.median)', f: call('median'), at: [[0.3, -1.2, 2.5, 0.9, -0.1]], grads: [[1, 0, 0, 0, 0]] },
  { name: 'median of an even count: half to each middle element', f: call('median'), at: [[0.3, -1.2, 2.5, 0.9]], grads: [[0.5, 0, 0, 0.5]] },
  { name: 'median of a matrix', f: call('median'), at: [[[4, 1], [3, 2]]], grads: [[[0, 0], [0.5, 0.5]]] },
  // p = 0.3 of 4 elements: index 0.9, so 0.1 to the smallest and 0.9 to the second (torch.quantile).
  { name: 'quantileSeq at 0.3: linear interpolation weights', f: call('quantileSeq', 0.3), at: [[4, 1, 3, 2]], grads: [[0, 0.1, 0, 0.9]] },
  { name: 'quantileSeq at several probabilities', f: call('quantileSeq', [0.25, 0.6]), at: [[0.3, -1.2, 2.5, 0.9, 1.7]] },
  { name: 'quantileSeq along dimension 2', f: call('quantileSeq', 0.4, 2), at: [[[0.3, -1.2, 2.5], [0.9, 1.7, -0.6]]] },
  { name: 'kron of two matrices', f: call('kron'), at: [[[1, 2], [3, 4]], [[0.5, -1], [2, 0.25]]] },
  { name: 'kron of a vector and a column', f: call('kron'), at: [[1.5, -2], [[0.5], [3]]] },
  { name: 'cross of two 3-vectors', f: call('cross'), at: [[1, -2, 0.5], [0.3, 4, -1]] },
  { name: 'dot of two columns', f: call('dot'), at: [[[1], [-2], [0.5]], [[0.3], [4], [-1]]], grads: [[[0.3], [4], [-1]], [[1], [-2], [0.5]]] },
  { name: 'hypot of three scalars', f: call('hypot'), at: [3, -4, 12], grads: [3 / 13, -4 / 13, 12 / 13] },
  { name: 'hypot of a matrix', f: call('hypot'), at: [[[3, 4], [0.5, -2]]] },
  { name: 'nthRoot of a negative number, odd root', f: call('nthRoot', 3), at: [-8], grads: [1 / 12] },
  { name: 'nthRoot in both arguments', f: call('nthRoot'), at: [5, 2.5] },
  { name: 'nthRoot with a negative root', f: call('nthRoot', -3), at: [[8, -27, 2]] },
  { name: 'cbrt', f: call('cbrt'), at: [[-8, 2, 0.5]], grads: [[1 / 12, 1 / (3 * Math.cbrt(4)), 1 / (3 * Math.cbrt(0.25))]] },
  { name: 'log1p', f: call('log1p'), at: [[0.5, -0.3, 1e-8]], grads: [[1 / 1.5, 1 / 0.7, 1 / (1 + 1e-8)]] },
  { name: 'expm1', f: call('expm1'), at: [[0.5, -0.3, 1e-8]], grads: [[Math.exp(0.5), Math.exp(-0.3), Math.exp(1e-8)]] },
  { name: 'flatten', f: call('flatten'), at: [[[1, 2], [3, 4]]] },
  { name: 'squeeze', f: call('squeeze'), at: [[[[1, 2, 3]]]] },
  { name: 'concat along dimension 1', f: call('concat', 1), at: [[[1, 2]], [[3, 4], [5, 6]]] },
  { name: 'mad', f: call('mad'), at: [[0.3, -1.2, 2.5, 0.9, -0.4]] },
  { name: 'row 2 of a matrix', f: call('row', 2), at: [[[1, 2], [3, 4]]], grads: [[[0, 0], [1, 1]]] },
  ...['sec', 'csc', 'cot', 'acot', 'asinh', 'atanh', 'sech', 'csch', 'coth', 'asech', 'acsch'].map((name) => ({ name, f: call(name), at: [[0.3, 0.7]] })),
  ...['asec', 'acsc', 'acosh', 'acoth'].map((name) => ({ name, f: call(name), at: [[1.7, -2.5].filter((x) => name === 'acosh' ? x > 0 : true)] })),
];

t.test('derivatives: JVP against VJP and central differences, gradients against closed forms', (t) => {
  for (const c of derivativeCases) {
    const at = c.at.map(toTensor);
    assertDerivatives(t, c.name, c.f, at);
    if (c.grads !== undefined) {
      const scalar: Fn = (cx, xs) => sum(cx, c.f(cx, xs));
      const { grads } = grad(new Context(), scalar, at);
      c.grads.forEach((g, i) => assertClose(t, grads[i], g, `${c.name}: gradient ${i} is the closed form`, { rtol: 1e-12, atol: 1e-12 }));
    }
  }
  t.end();
});

t.test("cumprod's second derivatives are exact at a zero (its rules are engine ops)", (t) => {
  // f = Σ cumprod(x) = x1 + x1 x2 + x1 x2 x3: ∂²f/∂x1∂x2 = 1 + x3, ∂²f/∂x1∂x3 = x2, ∂²f/∂x2∂x3 = x1. With
  // one zero in a lane; with two, the first derivatives are exact but not their derivatives.
  const f: Fn = (cx, [x]) => sum(cx, call('cumprod')(cx, [x]));
  for (const x of [
    [2, 0, 3],
    [0, 1.5, 2],
    [1.5, -2, 0],
    [0.5, -2, 3],
  ]) {
    const { hessian: H } = hessian(new Context(), f, [Tensor.fromArray([3], x)]);
    const [x1, x2, x3] = x;
    assertClose(t, H[0][0], [[0, 1 + x3, x2], [1 + x3, 0, x1], [x2, x1, 0]], `Hessian at (${x.join(', ')})`, { rtol: 1e-12, atol: 1e-12 });
  }
  t.end();
});

t.test('the plan compiler runs the new primitives as the engine does, and falls back where an order depends on the inputs', (t) => {
  const f: Fn = (cx, [x, y]) => sum(cx, call('dotMultiply')(cx, [call('cumprod')(cx, [call('cumsum')(cx, [x])]), call('nthRoot', 3)(cx, [y])]) as Value);
  const at = (base: number): Tensor[] => [Tensor.fromArray([4], [base, -0.5, 0, 1.25]), Tensor.fromArray([4], [2, -base, 0.3, 8])];
  const plan = compileGradientPlan(f, at(0.5));
  for (const base of [0.5, 1.7]) {
    const expected = grad(new Context(), f, at(base));
    const got = plan.run(at(base));
    assertClose(t, got.value, expected.value, `value at ${base}`, { rtol: 0, atol: 0 });
    got.grads.forEach((g, i) => assertClose(t, g, expected.grads[i], `gradient ${i} at ${base}`, { rtol: 0, atol: 0 }));
  }
  for (const name of ['sort', 'median', 'quantileSeq']) {
    const g: Fn = (cx, [x]) => sum(cx, (name === 'quantileSeq' ? call(name, 0.3) : call(name))(cx, [x]));
    t.throws(() => compileGradientPlan(g, [Tensor.fromArray([3], [3, 1, 2])]), NotCompilable, `${name}: its order is read from the inputs, so no plan`);
  }
  t.end();
});

t.test('the scalar compiler compiles nthRoot of a constant root and the inverse hyperbolic functions, and refuses what it cannot', (t) => {
  for (const root of [3, 2, -2]) {
    const f: Fn = (cx, [x]) => call('add')(cx, [call('nthRoot', root)(cx, [x]), call('asinh')(cx, [x])]);
    const compiled = compileGradient(f, 1);
    const xs = root === 3 ? [-8, 0, 0.5, 27] : [0, 0.5, 27];
    const got = compiled.run([Float64Array.from(xs)], xs.length);
    xs.forEach((x, i) => {
      const expected = grad(new Context(), f, [Tensor.scalar(x)]);
      assertClose(t, got.value[i], concrete(expected.value).item(), `nthRoot(${x}, ${root}): value`, { rtol: 0, atol: 0 });
      assertClose(t, got.grads[0][i], concrete(expected.grads[0]).item(), `nthRoot(${x}, ${root}): gradient`, { rtol: 0, atol: 0 });
    });
    if (root === 2) t.throws(() => compiled.run([Float64Array.of(-4)], 1), /negative and the root is not odd/, 'the compiled code checks every point: -4 has no real square root');
  }
  t.throws(() => compileGradient(call('nthRoot'), 2), NotCompilable, 'a root given as an input is read to check its parity: not compiled');
  t.throws(() => compileGradient((cx, [x]) => sum(cx, call('cumsum')(cx, [x])), 1), NotCompilable, 'cumsum is not element-wise');
  t.end();
});

/** The names mathjs's expressions can call: functions in its namespace that `evaluate` resolves, and its embedded docs' functions. */
function mathjsFunctionNames(): string[] {
  const names = new Set<string>();
  const namespace = math as unknown as Record<string, unknown>;
  for (const name of Object.keys(namespace)) {
    if (typeof namespace[name] !== 'function' || /Dependencies$|^create[A-Z]/.test(name)) continue;
    const resolved = outcomeOf(() => math.evaluate(name));
    if ('returned' in resolved && typeof resolved.returned === 'function') names.add(name);
  }
  const docs = (math as unknown as { docs: Record<string, { category?: string }> }).docs;
  for (const [name, doc] of Object.entries(docs)) if (doc.category !== undefined && doc.category !== 'Constants') names.add(name);
  return [...names].sort();
}

t.test("every function in mathjs's own list is supported or refused with its reason", (t) => {
  const names = mathjsFunctionNames();
  t.ok(names.length > 200, `${names.length} mathjs functions walked`);
  const supported = new Set(catalogue().map((f) => f.name));
  const neither = names.filter((n) => !supported.has(n) && refusal(n) === undefined);
  t.same(neither, [], 'no mathjs function is merely unknown');
  for (const name of names.filter((n) => !supported.has(n))) {
    const reason = refusal(name)!;
    const program = name === 'not' ? 'not(1)' : `${name}(1)`;
    assertProblem(t, name, outcomeOf(() => computeSync('eval', { program, at: {} })), {
      status: 422,
      code: 'PARSE_ERROR',
      line: 1,
      column: 1,
      detail: [new RegExp(`^\`${name}\` is not available in adjoint programs: `), new RegExp(reason.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))],
      notDetail: [/unknown function/],
    });
  }
  t.end();
});

t.test('GET /v1/functions lists the new functions, each with its arity and whether it is differentiable', (t) => {
  const expected: Record<string, [number, number, boolean]> = {
    diff: [1, 2, true],
    cumsum: [1, Infinity, true],
    cumprod: [1, Infinity, true],
    range: [1, 4, false],
    median: [1, Infinity, true],
    quantileSeq: [2, 4, true],
    kron: [2, 2, true],
    cross: [2, 2, true],
    dot: [2, 2, true],
    hypot: [1, Infinity, true],
    log1p: [1, 1, true],
    expm1: [1, 1, true],
    nthRoot: [1, 2, true],
    cbrt: [1, 1, true],
    sort: [1, 2, true],
    flatten: [1, 1, true],
    squeeze: [1, 1, true],
    concat: [1, Infinity, true],
  };
  for (const [name, [min, max, differentiable]] of Object.entries(expected)) {
    const entry = catalogue().find((f) => f.name === name);
    t.strictSame(entry === undefined ? null : [entry.arity[0], entry.arity[1], entry.differentiable], [min, max, differentiable], `${name}: arity and differentiability`);
  }
  t.end();
});

t.test('the distributions describe themselves in readable English', (t) => {
  for (const f of catalogue()) {
    t.notMatch(f.description, /\bthe (a|the|an)\b|draw distribution/, `${f.name}: "${f.description}"`);
  }
  t.end();
});
