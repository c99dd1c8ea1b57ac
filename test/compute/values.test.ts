/**
 * decodeValue's plain loops for vectors and matrices of finite numbers, and the general walk
 * for everything else: the same tensors, and the same refusals with their paths; encodeValue's
 * rows, non-finite numbers as their strings, at every rank.
 */
import t from 'tap';
import { decodeValue, encodeValue } from '../../src/compute/values.js';
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
];

for (const c of encoded) {
  t.test(`encodes ${c.name}`, async (t) => {
    t.same(encodeValue(c.tensor), c.json, 'as nested arrays');
    t.same(JSON.stringify(encodeValue(decodeValue(c.json, '/at/x'))), JSON.stringify(c.json), 'and back');
  });
}
