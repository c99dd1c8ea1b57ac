/**
 * Random compositions of smooth primitives at random points: forward mode, reverse mode and
 * central finite differences agree, and JVPs and VJPs are each other's transpose.
 */
import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  Context,
  Tensor,
  add,
  concrete,
  cos,
  div,
  exp,
  expand,
  grad,
  gradForward,
  jvp,
  log1p,
  matmul,
  mul,
  sigmoid,
  sin,
  sizeOf,
  softplus,
  square,
  sub,
  sum,
  tanh,
  vjp,
  type Value,
} from '../../src/engine/index.js';

/** Vector inputs have this length; scalar inputs broadcast against them. */
const N = 3;
const FIXED_MATRIX = Tensor.fromNested([
  [0.8, -0.3, 0.5],
  [0.2, 0.6, -0.7],
  [-0.4, 0.1, 0.9],
]);

type Unary = (cx: Context, x: Value) => Value;
type Binary = (cx: Context, a: Value, b: Value) => Value;

const unaryMenu: Readonly<Record<string, Unary>> = {
  sin,
  cos,
  tanh,
  sigmoid,
  softplus,
  square,
  'exp∘tanh': (cx, x) => exp(cx, tanh(cx, x)),
  'log1p∘square': (cx, x) => log1p(cx, square(cx, x)),
  sum: (cx, x) => sum(cx, x),
  'M·': (cx, x) => matmul(cx, FIXED_MATRIX, expand(cx, x, [N])),
};

const binaryMenu: Readonly<Record<string, Binary>> = {
  '+': add,
  '-': sub,
  '*': mul,
  '/(1+b²)': (cx, a, b) => div(cx, a, add(cx, 1, square(cx, b))),
};

type Expr =
  | { kind: 'input'; k: number }
  | { kind: 'const'; c: number }
  | { kind: 'unary'; op: string; a: Expr }
  | { kind: 'binary'; op: string; a: Expr; b: Expr };

/** A point: each input a scalar or a vector of length N. */
type Point = (number | number[])[];

const coordinate = fc.double({ min: -2, max: 2, noNaN: true });
const point: fc.Arbitrary<Point> = fc.array(fc.oneof(coordinate, fc.array(coordinate, { minLength: N, maxLength: N })), {
  minLength: 1,
  maxLength: 3,
});

const seeds = fc.array(coordinate, { minLength: N, maxLength: N });

const { expr } = fc.letrec<{ expr: Expr; leaf: Expr; unary: Expr; binary: Expr }>((tie) => ({
  expr: fc.oneof(
    { maxDepth: 5, depthSize: 'large' },
    { arbitrary: tie('leaf'), weight: 1 },
    { arbitrary: tie('unary'), weight: 2 },
    { arbitrary: tie('binary'), weight: 2 },
  ),
  leaf: fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('input' as const), k: fc.nat({ max: 2 }) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('const' as const), c: fc.double({ min: -1.5, max: 1.5, noNaN: true }) }), weight: 1 },
  ),
  unary: fc.record({ kind: fc.constant('unary' as const), op: fc.constantFrom(...Object.keys(unaryMenu)), a: tie('expr') }),
  binary: fc.record({ kind: fc.constant('binary' as const), op: fc.constantFrom(...Object.keys(binaryMenu)), a: tie('expr'), b: tie('expr') }),
}));

function evaluate(cx: Context, e: Expr, xs: readonly Value[]): Value {
  switch (e.kind) {
    case 'input':
      return xs[e.k % xs.length];
    case 'const':
      return Tensor.scalar(e.c);
    case 'unary':
      return unaryMenu[e.op](cx, evaluate(cx, e.a, xs));
    case 'binary':
      return binaryMenu[e.op](cx, evaluate(cx, e.a, xs), evaluate(cx, e.b, xs));
  }
}

function describe(e: Expr, arity: number): string {
  switch (e.kind) {
    case 'input':
      return `x${e.k % arity}`;
    case 'const':
      return String(e.c);
    case 'unary':
      return `${e.op}(${describe(e.a, arity)})`;
    case 'binary':
      return `(${describe(e.a, arity)} ${e.op} ${describe(e.b, arity)})`;
  }
}

const tensors = (p: Point): Tensor[] => p.map((v) => Tensor.fromNested(v));

/** Throws, naming the case, unless |got - expected| <= atol + rtol |expected| element-wise. */
function expectClose(got: Value, expected: Value, tol: { rtol: number; atol: number }, what: string): void {
  const g = concrete(got);
  const e = concrete(expected);
  if (g.shape.join() !== e.shape.join()) throw new Error(`${what}: shape [${g.shape}] vs [${e.shape}]`);
  for (let i = 0; i < e.size; i++) {
    if (!(Math.abs(g.data[i] - e.data[i]) <= tol.atol + tol.rtol * Math.abs(e.data[i]))) {
      throw new Error(`${what}: element ${i} is ${g.data[i]}, expected ${e.data[i]}`);
    }
  }
}

/** Forward and reverse mode do the same arithmetic in another order. */
const MODES_AGREE = { rtol: 1e-10, atol: 1e-12 };
/** Central differences with step 1e-5 are accurate to about 1e-10 relative to f and f'''. */
const FD_STEP = 1e-5;
const FD_AGREE = { rtol: 1e-5, atol: 1e-6 };

function centralDifferences(f: (xs: readonly Tensor[]) => number, xs: readonly Tensor[]): Tensor[] {
  return xs.map((x, i) =>
    Tensor.fromArray(
      x.shape,
      Array.from(x.data, (_, k) => {
        const shifted = (h: number): number => {
          const data = Float64Array.from(x.data);
          data[k] += h;
          return f(xs.map((y, j) => (j === i ? new Tensor(x.shape, data) : y)));
        };
        return (shifted(FD_STEP) - shifted(-FD_STEP)) / (2 * FD_STEP);
      }),
    ),
  );
}

function gradientsAgree(e: Expr, p: Point): void {
  const cx = new Context();
  const xs = tensors(p);
  const f = (cx: Context, inputs: readonly Value[]): Value => sum(cx, evaluate(cx, e, inputs));
  const reverse = grad(cx, f, xs);
  const forward = gradForward(cx, f, xs);
  const numeric = centralDifferences((ys) => concrete(f(cx, ys)).item(), xs);
  const name = `sum(${describe(e, xs.length)})`;
  expectClose(forward.value, reverse.value, MODES_AGREE, `${name}: value by forward vs reverse`);
  xs.forEach((_, i) => {
    expectClose(forward.grads[i], reverse.grads[i], MODES_AGREE, `${name}: d/dx${i} by forward vs reverse`);
    expectClose(reverse.grads[i], numeric[i], FD_AGREE, `${name}: d/dx${i} by reverse vs central differences`);
  });
}

/** A tensor of `shape` filled from `values` in turn, starting at `offset`. */
function filled(shape: readonly number[], values: readonly number[], offset = 0): Tensor {
  return Tensor.fromArray(shape, Array.from({ length: sizeOf(shape) }, (_, k) => values[(k + offset) % values.length]));
}

/** <v, J t> = <Jᵀ v, t> for random tangents t and cotangents v. */
function jvpIsTransposeOfVjp(e: Expr, p: Point, tangentValues: number[], cotangentValues: number[]): void {
  const cx = new Context();
  const xs = tensors(p);
  const ts = xs.map((x, i) => filled(x.shape, tangentValues, i));
  const f = (cx: Context, inputs: readonly Value[]): Value => evaluate(cx, e, inputs);
  const { value, tangent } = jvp(cx, f, xs, ts);
  const v = filled(value.shape, cotangentValues);
  const cts = vjp(cx, f, xs).pullback(v);
  const left = sum(cx, mul(cx, v, tangent));
  const right = cts.reduce<Value>((acc, c, i) => add(cx, acc, sum(cx, mul(cx, c, ts[i]))), Tensor.scalar(0));
  expectClose(left, right, MODES_AGREE, `${describe(e, xs.length)}: <v, J t> vs <Jᵀ v, t>`);
}

const RUNS = { seed: 20240611, numRuns: 150 };

function checkProperty(t: Test, property: fc.IProperty<unknown[]>): void {
  const details = fc.check(property, RUNS);
  t.notOk(details.failed, details.failed ? (fc.defaultReportMessage(details) ?? 'property failed') : 'all runs pass');
  t.end();
}

t.test('forward mode equals reverse mode equals central differences on random compositions', (t) =>
  checkProperty(t, fc.property(expr, point, gradientsAgree)),
);

t.test('JVP and VJP are transposes on random compositions', (t) =>
  checkProperty(t, fc.property(expr, point, seeds, seeds, jvpIsTransposeOfVjp)),
);
