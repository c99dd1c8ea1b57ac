/**
 * Encoded tensors are packed arrays of doubles (values.ts's encodeRow): JSON.stringify writes a
 * packed array of doubles on its fast path, and a holey one (what a pre-sized `new Array(n)`
 * is) element by element, 30% slower for 1000 elements. V8 itself is the oracle: a child
 * process with its natives syntax asks the element kind of each encoded row.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';

const values = new URL('../../src/compute/values.js', import.meta.url).href;
const engine = new URL('../../src/engine/index.js', import.meta.url).href;

const SCRIPT = `
import { encodeValue } from ${JSON.stringify(values)};
import { Tensor } from ${JSON.stringify(engine)};
const kind = (a) => (%HasHoleyElements(a) ? 'holey ' : 'packed ') + (%HasDoubleElements(a) ? 'doubles' : %HasSmiElements(a) ? 'integers' : 'objects');
const rows = [];
for (let i = 0; i < 5000; i++) rows.push(encodeValue(new Tensor([20 + (i % 7)], new Float64Array(20 + (i % 7)).fill(0.5 + i))));
const vector = encodeValue(new Tensor([1000], Float64Array.from({ length: 1000 }, (_, i) => i / 7)));
const matrix = encodeValue(new Tensor([2, 8], Float64Array.from({ length: 16 }, (_, i) => i + 0.25)));
const integers = encodeValue(new Tensor([6], Float64Array.of(1, 2, 3, 4, 5, 6)));
console.log(JSON.stringify({ kinds: [kind(rows.at(-1)), kind(vector), ...matrix.map(kind), kind(integers)], vector: vector.slice(0, 3), integers }));
`;

t.test('encoded rows are packed arrays of doubles', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, '--allow-natives-syntax', '--input-type=module', '-e', SCRIPT], { timeout: 60_000 });
  const { kinds, vector, integers } = JSON.parse(stdout.trim().split('\n').pop()!) as { kinds: string[]; vector: number[]; integers: number[] };
  t.same(kinds, Array(5).fill('packed doubles'), 'a row after thousands, a vector of 1000, the rows of a matrix, a row of whole numbers');
  t.same(vector, [0, 1 / 7, 2 / 7], 'with their numbers');
  t.same(integers, [1, 2, 3, 4, 5, 6], 'whole numbers as numbers');
});
