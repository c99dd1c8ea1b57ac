/**
 * decodeValue's plain loops for vectors and matrices of finite numbers, and the general walk
 * for everything else: the same tensors, and the same refusals with their paths; decodeValues,
 * a request's inputs in one buffer, the same tensors as decodeValue; encodeValue's
 * rows, non-finite numbers as their strings, at every rank.
 */
import t from 'tap';
import { decodeValue, decodeValues, encodeValue } from '../../src/compute/values.js';
import { Tensor } from '../../src/engine/index.js';
import { Problem } from '../../src/compute/problem.js';

const decoded: { name: string; json: unknown; shape: number[]; data: number[] }[] = [
  { name: 'a vector of numbers', json: [1.5, -2, 0], shape: [3], data: [1.5, -2, 0] },
  { name: 'a matrix of numbers', json: [[1, 2, 3], [4, 5, 6]], shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
  { name: 'a matrix of empty rows', json: [[], []], shape: [2, 0], data: [] },
  { name: 'a matrix with "Infinity" and a boolean (the general walk)', json: [[1, 'Infinity'], [true, -0.5]], shape: [2, 2], data: [1, Infinity, 1, -0.5] },
  { name: 'a vector with "NaN" after numbers', json: [1, 2, 'NaN'], shape: [3], data: [1, 2, NaN] },
  { name: 'a tensor of rank 3', json: [[[1], [2]], [[3], [4]]], shape: [2, 2, 1], data: [1, 2, 3, 4] },
];

for (const c of decoded) {
  t.test(`decodes ${c.name}`, async (t) => {
    const x = decodeValue(c.json, '/at/x');
    t.same(x.shape, c.shape, 'its shape');
    t.same(Array.from(x.data), c.data, 'its elements, in order');
  });
}

t.test('decodeValues: every case at once, tiny and large, gives decodeValue\'s tensors, none overlapping', async (t) => {
  const large = Array.from({ length: 30 }, (_, r) => [r, r + 0.5]);
  const jsons = [...decoded.map((c) => c.json), 2.5, 'Infinity', large, { shape: [2, 2], data: [1, 'NaN', 3, 4] }];
  const tensors = decodeValues(jsons.map((json, k) => [json, `/at/x${k}`] as const));
  jsons.forEach((json, k) => {
    const alone = decodeValue(json, `/at/x${k}`);
    t.same(tensors[k].shape, alone.shape, `${k}: the shape`);
    t.same(Array.from(tensors[k].data), Array.from(alone.data), `${k}: the elements`);
  });
  // Writing one tensor's elements leaves every other's as decoded.
  const before = tensors.map((x) => Array.from(x.data));
  tensors.forEach((x) => x.data.fill(-7));
  tensors.forEach((x, k) => t.ok(x.data.every((v) => v === -7) && x.data.length === before[k].length, `${k}: its own memory`));
});

t.test('decodeValues checks every shape before any number: a later input\'s shape is refused first', async (t) => {
  let problem: Problem | undefined;
  try {
    decodeValues([[[1, 'oops'], '/at/a'] as const, [{ shape: [3], data: [1] }, '/at/b'] as const]);
  } catch (e) {
    problem = e as Problem;
  }
  t.ok(problem instanceof Problem, 'refused with a problem');
  t.match(problem?.body, { detail: /shape \[3\] needs 3 numbers/, path: '/at/b/data' }, "b's shape, not a's element");
});

const refused: { name: string; json: unknown; detail: RegExp; path: string }[] = [
  { name: 'a ragged matrix (a short second row)', json: [[1, 2], [3]], detail: /not rectangular: expected 2 entries here, got 1/, path: '/at/x/1' },
  { name: 'a row that is a number', json: [[1, 2], 3], detail: /expected an array here/, path: '/at/x/1' },
  { name: 'a word in a matrix', json: [[1, 2], [3, 'four']], detail: /expected a number/, path: '/at/x/1/1' },
  { name: 'an array inside a vector', json: [1, [2]], detail: /too deep here/, path: '/at/x/1' },
];

for (const c of refused) {
  t.test(`refuses ${c.name}, naming the element`, async (t) => {
    let problem: Problem | null = null;
    try {
      decodeValue(c.json, '/at/x');
    } catch (e) {
      problem = e as Problem;
    }
    t.ok(problem instanceof Problem, 'refused with a problem');
    t.match(problem?.body, { detail: c.detail, path: c.path }, 'its words and path');
  });
}

const encoded: { name: string; tensor: Tensor; json: unknown }[] = [
  { name: 'a scalar', tensor: Tensor.scalar(-0.25), json: -0.25 },
  { name: 'a vector with NaN and the infinities', tensor: Tensor.fromArray([4], [1, NaN, Infinity, -Infinity]), json: [1, 'NaN', 'Infinity', '-Infinity'] },
  { name: 'a matrix', tensor: Tensor.fromNested([[1, 2], [3, -Infinity]]), json: [[1, 2], [3, '-Infinity']] },
  { name: 'a matrix of empty rows', tensor: new Tensor([2, 0], new Float64Array(0)), json: [[], []] },
  { name: 'a tensor of rank 3', tensor: new Tensor([2, 1, 2], Float64Array.of(1, 2, 3, 4)), json: [[[1, 2]], [[3, 4]]] },
  // Rows of one to four elements are array literals, longer ones are pushed (encodeRow).
  ...[1, 2, 3, 4, 5, 6].map((columns) => {
    const values = Array.from({ length: 3 * columns }, (_, i) => [0.5 * i, NaN, -Infinity, Infinity, -0.25][i % 5]);
    const json = Array.from({ length: 3 }, (_, r) => values.slice(r * columns, (r + 1) * columns).map((v) => (Number.isFinite(v) ? v : String(v))));
    return { name: `a 3x${columns} matrix with NaN and the infinities`, tensor: new Tensor([3, columns], Float64Array.from(values)), json };
  }),
  { name: 'a vector of three with -Infinity', tensor: Tensor.fromArray([3], [2, -Infinity, 0.5]), json: [2, '-Infinity', 0.5] },
];

t.test('encodes long rows of finite numbers as their own arrays, whatever was encoded before', async (t) => {
  const row = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, (_, i) => Math.sin(seed + i) * 10 ** ((i % 7) - 3));
  // A long row first, then shorter ones: none may show what the longer left behind.
  const lengths = [1000, 5, 17, 999, 6, 4096, 64];
  const results = lengths.map((n, k) => ({ n, data: row(n, k), json: encodeValue(new Tensor([n], row(n, k))) as number[] }));
  for (const { n, data, json } of results) t.same(json, Array.from(data), `a row of ${n}`);
  const matrix = new Tensor([3, 6], Float64Array.from({ length: 18 }, (_, i) => i - 8.5));
  const rows = encodeValue(matrix) as number[][];
  t.same(rows, [0, 1, 2].map((r) => Array.from(matrix.data.subarray(6 * r, 6 * r + 6))), 'the rows of a 3x6 matrix');
  rows[0][0] = 99;
  t.equal(rows[1][0], -2.5, 'each row its own array');
  t.equal(results[0].json[0], results[0].data[0], 'an earlier result untouched by later ones');
  t.same(encodeValue(new Tensor([6], Float64Array.of(-0, 1, 2, 3, 4, NaN))), [-0, 1, 2, 3, 4, 'NaN'], 'a long row with NaN at its end');
  // A number that is not finite first, in the middle, last, in a row after a longer finite one:
  // the copy stops there, and the row is written with each such number as its string.
  const finite = encodeValue(new Tensor([1000], row(1000, 9))) as number[];
  for (const [at, v, text] of [
    [0, Infinity, 'Infinity'],
    [500, -Infinity, '-Infinity'],
    [999, NaN, 'NaN'],
    [3, NaN, 'NaN'],
  ] as const) {
    const n = at === 3 ? 9 : 1000;
    const data = row(n, 9);
    data[at] = v;
    const expected: (number | string)[] = Array.from(data);
    expected[at] = text;
    t.same(encodeValue(new Tensor([n], data)), expected, `a row of ${n} with ${text} at ${at}`);
  }
  t.same(finite, Array.from(row(1000, 9)), 'the finite row encoded before them untouched');
});

for (const c of encoded) {
  t.test(`encodes ${c.name}`, async (t) => {
    t.same(encodeValue(c.tensor), c.json, 'as nested arrays');
    t.same(JSON.stringify(encodeValue(decodeValue(c.json, '/at/x'))), JSON.stringify(c.json), 'and back');
  });
}
