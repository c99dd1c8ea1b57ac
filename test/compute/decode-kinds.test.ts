/**
 * Decoding never boxes a client's numbers (values.ts's finiteRowsInto): V8's optimised code for
 * an indexed read that has met arrays of several element kinds converts each array it then reads
 * to the most general kind, and decoding a 100x4 matrix fresh from JSON.parse took 7.5 µs
 * instead of 1.2 while every number was boxed. Vectors and rows whose first element is a decimal
 * are read by index until a read meets an element that is not a number ("NaN", a string), and
 * every other array, and every array from then on, by `at`. V8 itself is
 * the oracle: a child process with its natives syntax optimises the decoder after feeding it the
 * kinds a request can hold, then asks each new array's element kind after it is decoded.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';

const values = new URL('../../src/compute/values.js', import.meta.url).href;

/** The scripts' way to ask V8 an array's element kind. */
const KIND = "const kind = (a) => (%HasDoubleElements(a) ? 'double' : %HasSmiElements(a) ? 'integer' : %HasObjectElements(a) ? 'object' : 'other');";

/** Runs `script` in a child process with V8's natives syntax; the JSON of its last line. */
async function natively<T>(script: string, timeout = 60_000): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, '--allow-natives-syntax', '--input-type=module', '-e', script], { timeout });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

const SCRIPT = `
import { decodeValue } from ${JSON.stringify(values)};
${KIND}
const bodies = () => [
  JSON.parse('[[0.5, 1.5], [2.5, 3.5]]'),
  JSON.parse('[[1, 2], [3, 4]]'),
  JSON.parse('[[0.5, "NaN"], [1, 2.5]]'),
  JSON.parse('[0.5, 1.5, 2.5]'),
  JSON.parse('[1, 2, "Infinity"]'),
  JSON.parse('[[[0.5], [1.5]]]'),
  JSON.parse('{"shape": [2], "data": [0.5, "-Infinity"]}'),
  JSON.parse('{"shape": [2], "data": [1, 2]}'),
  JSON.parse('3.5'),
];
// The way values.ts read shapes before: an indexed read of arrays of arrays and of numbers.
function probe(x) {
  let p = x;
  while (Array.isArray(p) && p.length > 0) p = p[0];
  return p;
}
for (const f of [decodeValue, probe]) {
  %PrepareFunctionForOptimization(f);
  for (let i = 0; i < 2000; i++) for (const body of bodies()) f(body, '/at/x');
  %OptimizeFunctionOnNextCall(f);
  f(bodies()[0], '/at/x');
  for (let i = 0; i < 2000; i++) for (const body of bodies()) f(body, '/at/x');
}
const control = JSON.parse('[[0.25, 1.25], [2.25, 3.25]]');
probe(control);
const matrix = JSON.parse('[[0.25, 1.25, 2.25], [3, 4, 5], [6.5, 7.5, 8.5]]');
const vector = JSON.parse('[0.25, 1.25, 2.25]');
const labels = JSON.parse('[1, 2, 3]');
const flat = JSON.parse('{"shape": [3], "data": [0.25, 1.25, 2.25]}');
const before = [...matrix.map(kind), kind(vector), kind(labels), kind(flat.data)];
const decoded = [matrix, vector, labels, flat].map((x) => Array.from(decodeValue(x, '/at/x').data));
const after = [...matrix.map(kind), kind(vector), kind(labels), kind(flat.data)];
console.log(JSON.stringify({ before, after, decoded, control: control.map(kind) }));
`;

t.test("decoding converts none of the client's arrays, after the decoder has met every kind (then reading by at)", async (t) => {
  const { before, after, decoded, control } = await natively<{ before: string[]; after: string[]; decoded: number[][]; control: string[] }>(SCRIPT);
  t.same(before, ['double', 'integer', 'double', 'double', 'integer', 'double'], 'JSON.parse makes rows of decimals doubles and of integers integers');
  // What this test would see if values.ts read with [i]: this V8 converts (Node 20 and 24 do).
  t.comment(`an indexed read fed the same arrays left the rows of a new matrix as: ${control.join(', ')}`);
  t.same(after, before, 'every array keeps its kind: no row boxed, no row of integers copied to doubles');
  t.same(decoded, [[0.25, 1.25, 2.25, 3, 4, 5, 6.5, 7.5, 8.5], [0.25, 1.25, 2.25], [1, 2, 3], [0.25, 1.25, 2.25]], 'and the numbers are decoded');
});

const index = new URL('../../src/index.js', import.meta.url).href;

/** The whole of a compute request (its schema's check, then decoding), fed flat and nested tensors holding every kind. */
const REQUESTS = `
import { computeSync } from ${JSON.stringify(index)};
${KIND}
const bodies = [
  '{"program": "sum(x)", "at": {"x": {"shape": [3], "data": [0.5, 1.5, 2.5]}}}',
  '{"program": "sum(x)", "at": {"x": {"shape": [3], "data": [0.5, "NaN", 2.5]}}}',
  '{"program": "sum(x)", "at": {"x": {"shape": [3], "data": [1, 2, 3]}}}',
  '{"program": "sum(x)", "at": {"x": [[0.5, "Infinity"], [1, 2]]}}',
];
for (let i = 0; i < 20000; i++) for (const text of bodies) computeSync('grad', JSON.parse(text));
const flat = JSON.parse(bodies[0]);
const nested = JSON.parse('{"program": "sum(x)", "at": {"x": [[0.5, 1.5], [2.5, 3.5]]}}');
const grads = [flat, nested].map((body) => computeSync('grad', body).value);
console.log(JSON.stringify({ kinds: [kind(flat.at.x.data), kind(nested.at.x[0])], grads }));
`;

t.test("a compute request converts none of the client's arrays, flat data included (the schema does not read its items)", async (t) => {
  const { kinds, grads } = await natively<{ kinds: string[]; grads: number[] }>(REQUESTS, 120_000);
  t.same(kinds, ['double', 'double'], 'flat data and nested rows of doubles stay doubles');
  t.same(grads, [4.5, 8], 'the values of sum(x)');
});

/** Numbers only, then a row and a vector holding a string: indexed reads of decimals until then, `at` after, and no number ever boxed. */
const NUMBERS_THEN_NAN = `
import { decodeValue } from ${JSON.stringify(values)};
${KIND}
const numeric = () => [
  JSON.parse('[[0.5, 1.5], [2.5, 3.5]]'),
  JSON.parse('[[1, 2], [3, 4]]'),
  JSON.parse('[0.5, 1.5, 2.5]'),
  JSON.parse('[1, 2, 3]'),
  JSON.parse('{"shape": [2], "data": [0.5, 1.5]}'),
];
%PrepareFunctionForOptimization(decodeValue);
for (let i = 0; i < 2000; i++) for (const body of numeric()) decodeValue(body, '/at/x');
%OptimizeFunctionOnNextCall(decodeValue);
decodeValue(numeric()[0], '/at/x');
for (let i = 0; i < 2000; i++) for (const body of numeric()) decodeValue(body, '/at/x');
const fresh = () => [JSON.parse('[[0.25, 1.25], [2.25, 3.25]]'), JSON.parse('[0.25, 1.25, 2.25]'), JSON.parse('[7, 8, 9]')];
const kinds = (arrays) => arrays.flatMap((a) => (Array.isArray(a[0]) ? a.map(kind) : [kind(a)]));
const first = fresh();
const numbers = first.map((x) => Array.from(decodeValue(x, '/at/x').data));
const beforeNaN = kinds(first);
const withNaN = [JSON.parse('[[0.5, "NaN"], [1, 2.5]]'), JSON.parse('[1.5, "Infinity", 2.5]')].map((x) => Array.from(decodeValue(x, '/at/x').data));
for (let i = 0; i < 2000; i++) for (const body of numeric()) decodeValue(body, '/at/x');
const second = fresh();
second.forEach((x) => decodeValue(x, '/at/x'));
console.log(JSON.stringify({ numbers, beforeNaN, withNaN, afterNaN: kinds(second) }));
`;

t.test('decimals read by index while requests hold numbers only, integers by at; after a "NaN", reads by at; nothing converted', async (t) => {
  const { numbers, beforeNaN, withNaN, afterNaN } = await natively<{ numbers: number[][]; beforeNaN: string[]; withNaN: (number | null)[][]; afterNaN: string[] }>(NUMBERS_THEN_NAN);
  t.same(numbers, [[0.25, 1.25, 2.25, 3.25], [0.25, 1.25, 2.25], [7, 8, 9]], 'the numbers decoded');
  t.same(beforeNaN, ['double', 'double', 'double', 'integer'], 'rows and vectors of doubles stay unboxed doubles, a vector of integers integers');
  // JSON.stringify writes NaN and Infinity as null.
  t.same(withNaN, [[0.5, null, 1, 2.5], [1.5, null, 2.5]], 'a row and a vector holding "NaN" and "Infinity" are decoded');
  t.same(afterNaN, ['double', 'double', 'double', 'integer'], 'after them, every array keeps its kind');
});
