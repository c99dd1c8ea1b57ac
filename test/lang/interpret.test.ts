/**
 * The interpreter calls a catalogue function of one or two arguments directly (`call1`,
 * `call2`, no array) unless a trace observes the calls, when it passes an array to `call`. Both
 * ways must give the same values, bit for bit, and the same errors at the same places.
 */
import t from 'tap';
import { Context, Tensor, type Value } from '../../src/engine/index.js';
import { catalogue, type LangValue } from '../../src/lang/catalogue.js';
import { run } from '../../src/lang/interpret.js';
import { parseProgram } from '../../src/lang/parse.js';

const inputs = new Map<string, LangValue>([
  ['x', Tensor.scalar(0.7)],
  ['y', Tensor.scalar(-1.3)],
  ['v', new Tensor([3], Float64Array.of(0.5, -1.25, 2))],
  ['A', new Tensor([2, 2], Float64Array.of(2, 1, 0.5, 3))],
  ['B', new Tensor([2, 2], Float64Array.of(1, -2, 0.25, 4))],
]);

/** The value's shape and elements (bits: -0 and NaN included), or the error's code, message and place. */
function outcome(source: string, observed: boolean): unknown {
  const calls: string[] = [];
  try {
    const { last } = run(new Context(), parseProgram(source), inputs, observed ? { onCall: (fn) => calls.push(fn) } : {});
    const value = last as Value;
    return { shape: [...value.shape], data: Array.from((value as Tensor).data, (d) => (Object.is(d, -0) ? '-0' : String(d))) };
  } catch (e) {
    const { code, message, loc } = e as { code?: string; message: string; loc?: unknown };
    return { code, message, loc };
  }
}

const programs = [
  // Element-wise functions of one and two arguments, operators, on scalars, vectors and matrices.
  'a = x * y\nb = sin(a)\nc = exp(-b)\nd = a / (1 + c)\ne = sqrt(d * d + 1)\nf = log(e)\ng = tanh(f - x)\nh = g * y + a\nk = h - b * c\nk + d',
  'sigmoid(v) .* relu(v - 1) + softplus(-v) ./ (abs(v) + 1)',
  'atan2(v, x) + v .^ 2 - mod(v, 0.3)',
  '-A + (+B)',
  'x ^ y + A ^ 2',
  // multiply: two factors, three (from the left), a matrix and a vector; divide by a matrix.
  'A * B',
  'A * B * A',
  'x * A * v[1:2]',
  'A / B',
  'v / x',
  // Errors: a string, a distribution, mismatched shapes, a matrix power that is not an integer.
  'sin("a")',
  'x + "b"',
  'normal(0, 1) * x',
  'A * v',
  'v .* [1, 2]',
  'A ^ 0.5',
  'pow(v, 2)',
];

t.test('direct calls (unobserved) and array calls (a trace observing) agree, values and errors', (t) => {
  for (const source of programs) t.same(outcome(source, false), outcome(source, true), source.replaceAll('\n', '; '));
  t.end();
});

// define1/define2 derive `call` from the direct form, so they cannot disagree; multiply writes
// both, and what the test above exercises must actually take the direct path.
t.test('multiply over several factors is its two-factor form folded from the left; the commonest functions have direct forms', (t) => {
  const cx = new Context();
  const entry = (name: string) => catalogue().find((f) => f.name === name)!;
  const multiply = entry('multiply');
  const [x, v, A] = ['x', 'v', 'A'].map((n) => inputs.get(n)!);
  const data = (f: () => unknown): unknown => {
    try {
      const r = f() as Tensor;
      return { shape: [...r.shape], data: Array.from(r.data) };
    } catch (e) {
      return (e as Error).message;
    }
  };
  t.same(data(() => multiply.call(cx, [A, x, A])), data(() => multiply.call2!(cx, multiply.call2!(cx, A, x), A)), 'multiply(A, x, A) is (A x) A');
  t.same(data(() => multiply.call(cx, [A, v])), data(() => multiply.call2!(cx, A, v)), 'multiply(A, v): the same error both ways');
  t.same(data(() => multiply.call(cx, [x, 'text'])), data(() => multiply.call2!(cx, x, 'text')), 'multiply(x, "text"): the same error both ways');
  for (const name of ['add', 'subtract', 'multiply', 'divide', 'pow', 'dotMultiply', 'larger']) t.ok(entry(name).call2, `${name} has a two-argument form`);
  for (const name of ['sin', 'exp', 'log1p', 'unaryMinus', 'sqrt', 'tanh']) t.ok(entry(name).call1, `${name} has a one-argument form`);
  t.end();
});
