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

t.test("an entry's call1 and call2 are its call on one or two arguments, and multiply folds from the left", (t) => {
  const cx = new Context();
  const values: LangValue[] = [inputs.get('x')!, inputs.get('v')!, inputs.get('A')!, 'text'];
  const result = (f: () => unknown): unknown => {
    try {
      const v = f() as Tensor;
      return { shape: [...v.shape], data: Array.from(v.data) };
    } catch (e) {
      return (e as Error).message;
    }
  };
  let direct = 0;
  for (const entry of catalogue()) {
    for (const a of values) {
      if (entry.call1 !== undefined) {
        direct++;
        t.same(
          result(() => entry.call1!(cx, a)),
          result(() => entry.call(cx, [a])),
          `${entry.name}(one argument)`,
        );
      }
      for (const b of values) {
        if (entry.call2 === undefined) continue;
        direct++;
        t.same(
          result(() => entry.call2!(cx, a, b)),
          result(() => entry.call(cx, [a, b])),
          `${entry.name}(two arguments)`,
        );
      }
    }
  }
  t.ok(direct > 200, `direct forms checked: ${direct}`);
  const multiply = catalogue().find((f) => f.name === 'multiply')!;
  const [x, , A] = values as Tensor[];
  t.same(result(() => multiply.call(cx, [A, x, A])), result(() => multiply.call2!(cx, multiply.call2!(cx, A, x), A)), 'multiply(A, x, A) is (A x) A');
  t.end();
});
