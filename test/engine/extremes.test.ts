/**
 * max, min, argmax and argmin scan contiguous lines by a loop of their own, and logsumexp takes
 * its shift from a max with no positions (ops/reduce.ts). The oracle: the general loop as it was
 * (written out here) and logsumexp as it was composed (through `max`, its argmax and gather),
 * bit for bit, on data full of NaN, infinities, signed zeros and ties, along every axis.
 */
import t from 'tap';
import { Context, Tensor, add, argExtreme, concrete, exp, grad, isfinite, log, logsumexp, max, min, stopGradient, sub, sum, where, type Value } from '../../src/engine/index.js';

/** The scan as it was: first maximal (minimal) element along `axis`, NaN counting as both. */
function reference(x: Tensor, axis: number, which: 'max' | 'min'): { positions: number[]; values: number[] } {
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const extent = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const positions: number[] = [];
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = 0;
      let bestValue = x.data[o * extent * inner + i];
      for (let k = 1; k < extent && bestValue === bestValue; k++) {
        const v = x.data[(o * extent + k) * inner + i];
        if (v !== v || (which === 'max' ? v > bestValue : v < bestValue)) {
          best = k;
          bestValue = v;
        }
      }
      positions.push(best);
      values.push(bestValue);
    }
  }
  return { positions, values };
}

const CHOICES = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2.5];

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A tensor of `shape`: mostly random numbers with ties, and now and then a special value. */
function data(shape: number[], random: () => number, special: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    shape,
    Float64Array.from({ length: size }, () => (random() < special ? CHOICES[Math.floor(random() * CHOICES.length)] : Math.round((random() - 0.5) * 40) / 4)),
  );
}

const SHAPES = [[1], [7], [1000], [3, 5], [5, 3], [2, 3, 4], [4, 1, 6], [1, 9]];

t.test('positions and values of the extremes along every axis are the general loop\'s, bit for bit', async (t) => {
  const random = generator(17);
  let lines = 0;
  for (let trial = 0; trial < 200; trial++) {
    const shape = SHAPES[trial % SHAPES.length];
    const x = data(shape, random, [0, 0.02, 0.3][trial % 3]);
    for (let axis = 0; axis < shape.length; axis++) {
      for (const which of ['max', 'min'] as const) {
        const want = reference(x, axis, which);
        t.same(Array.from(argExtreme(x, axis, which).data), want.positions, `arg${which} along ${axis} of [${shape}], trial ${trial}`);
        const op = which === 'max' ? max : min;
        const got = Array.from(concrete(op(new Context(), x, axis)).data);
        const same = got.length === want.values.length && got.every((v, i) => Object.is(v, want.values[i]));
        t.ok(same, `${which} along ${axis} of [${shape}], trial ${trial}: ${got} against ${want.values}`);
        lines += want.values.length;
      }
    }
  }
  t.ok(lines > 4000, `${lines} lines compared`);
});

/** logsumexp as it was composed: its shift through `max` (argmax and gather). */
function composed(cx: Context, x: Value, axis: number): Value {
  let m = max(cx, x, axis, true);
  m = stopGradient(cx, where(cx, isfinite(cx, m), m, 0));
  return sum(cx, add(cx, log(cx, sum(cx, exp(cx, sub(cx, x, m)), [axis], true)), m));
}

t.test('logsumexp, shifted by a max without positions, gives the composition\'s value and gradient, bit for bit', async (t) => {
  const random = generator(29);
  for (let trial = 0; trial < 120; trial++) {
    const shape = SHAPES[trial % SHAPES.length];
    const x = data(shape, random, [0, 0.05][trial % 2]);
    const axis = trial % shape.length;
    const now = grad(new Context(), (cx, [a]) => sum(cx, logsumexp(cx, a, [axis])), [x]);
    const before = grad(new Context(), (cx, [a]) => composed(cx, a, axis), [x]);
    const bits = (v: Value): number[] => Array.from(concrete(v).data);
    const equal = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    t.ok(equal(bits(now.value), bits(before.value)), `value along ${axis} of [${shape}], trial ${trial}`);
    t.ok(equal(bits(now.grads[0]), bits(before.grads[0])), `gradient along ${axis} of [${shape}], trial ${trial}`);
  }
});
