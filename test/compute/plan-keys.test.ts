/**
 * A program's plan and compiled gradient are found by keys remembered with the program
 * (fast-paths.ts): a request with the same names and shapes as the one before reuses its key.
 * Every change that makes another plan (an input's shape, the order of `at`, `wrt` and its order,
 * `output`, another input's name) must get another key: each request here, sent after the others
 * to one cache, gets the same bytes as it does alone on a fresh cache (the general engine's).
 */
import t from 'tap';
import { WatchedCache } from './watched-cache.js';
import { ProgramCache, computeSync } from '../../src/index.js';

/** Deterministic numbers in [-1, 1). */
function numbers(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return -1 + (2 * s) / 2 ** 32;
  });
}

const alone = (body: object): string => JSON.stringify(computeSync('grad', body, { cache: new ProgramCache() }));

t.test('a tensor program: a plan per shapes, order of inputs, wrt and output, each answering as the engine does', async (t) => {
  const program = 'a = sum(x .* w)\nb = a + c * sum(w .^ 2)\nb';
  const cache = new WatchedCache();
  let seed = 1;
  const vectors = (n: number) => ({ x: numbers(n, seed++), w: numbers(n, seed++), c: numbers(1, seed++)[0] });
  const bodies: { label: string; body: (k: number) => object }[] = [
    { label: 'x and w of 3', body: () => ({ program, at: vectors(3), wrt: ['w'] }) },
    { label: 'x and w of 4', body: () => ({ program, at: vectors(4), wrt: ['w'] }) },
    {
      label: '"at" in another order',
      body: () => {
        const { x, w, c } = vectors(4);
        return { program, at: { c, w, x }, wrt: ['w'] };
      },
    },
    { label: 'wrt w and c', body: () => ({ program, at: vectors(4), wrt: ['w', 'c'] }) },
    { label: 'wrt c and w', body: () => ({ program, at: vectors(4), wrt: ['c', 'w'] }) },
    { label: 'output a', body: () => ({ program, at: vectors(4), wrt: ['w'], output: 'a' }) },
    {
      label: 'another input beside them',
      body: () => ({ program, at: { ...vectors(4), unused: numbers(4, seed++) }, wrt: ['w'] }),
    },
    {
      label: 'as many inputs, one of another name',
      body: () => {
        const { x, w } = vectors(4);
        return { program: 'a = sum(x .* w)\nb = a + d * sum(w .^ 2)\nb', at: { x, w, d: 0.5 }, wrt: ['w'] };
      },
    },
  ];
  // Each kind three times (its plan made at the second), then the kinds interleaved: a key
  // remembered for one must never answer another.
  const sequence = [...bodies.flatMap((b) => [b, b, b]), ...bodies, ...[...bodies].reverse(), ...bodies];
  let answered = 0;
  for (const { label, body } of sequence) {
    const request = body(0);
    const got = JSON.stringify(computeSync('grad', request, { cache }));
    if (got !== alone(request)) t.fail(`${label}: ${got} against ${alone(request)} alone`);
    else answered++;
  }
  t.equal(answered, sequence.length, `all ${sequence.length} requests answered as alone`);
  t.ok(cache.planned >= sequence.length - 2 * bodies.length, `from plans after their first (${cache.planned} of ${sequence.length})`);
});

t.test('a scalar program: a compiled gradient per names of the inputs, in their order, and output', async (t) => {
  const cache = new ProgramCache();
  const program = 'p = x * y + sin(x)\nq = p * z\nq';
  const requests = [
    { program, at: { x: 0.5, y: 4.2, z: 2 } },
    { program, at: { z: 2, y: 4.2, x: 0.5 } },
    { program, at: { y: 4.2, x: 0.5, z: 2 }, wrt: ['z', 'x'] },
    { program, at: { x: 0.5, y: 4.2, z: 2 }, output: 'p' },
    { program, at: { x: 0.5, y: 4.2, z: 2, w: 1 } },
    { program: 'p = x * y + sin(x)\nq = p * v\nq', at: { x: 0.5, y: 4.2, v: 2 } },
    // As many inputs, one of another name, which the program does not read.
    { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2, z: 2 } },
    { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2, k: 3 } },
    { program: 'x * y + sin(x)', at: { k: 3, x: 0.5, y: 4.2 } },
  ];
  const sequence = [...requests, ...requests, ...[...requests].reverse()];
  const mismatches = sequence.filter((request) => JSON.stringify(computeSync('grad', request, { cache })) !== alone(request));
  t.strictSame(mismatches, [], `all ${sequence.length} requests answered as alone`);
});
