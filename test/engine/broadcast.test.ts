/**
 * The broadcast classifier (src/engine/broadcast.ts) against NumPy's rule, element by element:
 * for every operand shape that broadcasts to an output shape, the reading it is given must
 * name the operand's element that each output element reads, and broadcastIndex must agree.
 */
import t from 'tap';
import { broadcastIndex, broadcastOf, type Reading } from '../../src/engine/broadcast.js';

/** The operand's offset that each output element reads, as NumPy defines broadcasting. */
function numpyOffsets(operand: readonly number[], out: readonly number[]): number[] {
  const shape = [...new Array<number>(out.length - operand.length).fill(1), ...operand];
  const n = out.reduce((p, d) => p * d, 1);
  const offsets: number[] = [];
  const index = new Array<number>(out.length).fill(0);
  for (let i = 0; i < n; i++) {
    offsets.push(index.reduce((o, k, d) => o * shape[d] + (shape[d] === 1 ? 0 : k), 0));
    for (let d = out.length - 1; d >= 0 && ++index[d] === out[d]; d--) index[d] = 0;
  }
  return offsets;
}

/** The offset a reading names for output element i. */
function offsetOf(reading: Reading, period: number, i: number, strided: Int32Array): number {
  if (reading === 'same') return i;
  if (reading === 'scalar') return 0;
  if (reading === 'suffix') return i % period;
  if (reading === 'prefix') return Math.floor(i / period);
  return strided[i];
}

interface Case {
  operand: number[];
  out: number[];
  reading: Reading;
}

const cases: Case[] = [
  { operand: [2, 3], out: [2, 3], reading: 'same' },
  { operand: [3], out: [1, 3], reading: 'same' },
  { operand: [], out: [2, 3], reading: 'scalar' },
  { operand: [1, 1], out: [2, 3], reading: 'scalar' },
  { operand: [3], out: [2, 3], reading: 'suffix' },
  { operand: [1, 3], out: [4, 2, 3], reading: 'suffix' },
  { operand: [2, 3], out: [4, 2, 3], reading: 'suffix' },
  { operand: [2, 1], out: [2, 3], reading: 'prefix' },
  { operand: [4, 1, 1], out: [4, 2, 3], reading: 'prefix' },
  { operand: [4, 2, 1], out: [4, 2, 3], reading: 'prefix' },
  { operand: [2, 1, 3], out: [2, 4, 3], reading: 'strided' },
  { operand: [4, 1], out: [3, 4, 2], reading: 'strided' },
];

function check(c: Case | { operand: number[]; out: number[] }): string | null {
  const { reading, period } = broadcastOf(c.operand, c.out);
  if ('reading' in c && reading !== c.reading) return `read as ${reading}, not ${c.reading}`;
  const want = numpyOffsets(c.operand, c.out);
  const strided = broadcastIndex(c.operand, c.out);
  for (let i = 0; i < want.length; i++) {
    if (offsetOf(reading, period, i, strided) !== want[i]) return `${reading} (period ${period}) reads ${offsetOf(reading, period, i, strided)} at ${i}, NumPy ${want[i]}`;
    if (strided[i] !== want[i]) return `broadcastIndex reads ${strided[i]} at ${i}, NumPy ${want[i]}`;
  }
  return null;
}

for (const c of cases) {
  t.equal(check(c), null, `[${c.operand.join(', ')}] to [${c.out.join(', ')}] is read ${c.reading}`);
}

t.test('every operand that broadcasts to an output of rank up to 4 (extents 0 to 3) is read as NumPy reads it', async (t) => {
  const extents = [0, 1, 2, 3];
  const shapes = (rank: number): number[][] => (rank === 0 ? [[]] : shapes(rank - 1).flatMap((s) => extents.map((d) => [...s, d])));
  let count = 0;
  const failures: string[] = [];
  for (let rank = 0; rank <= 4; rank++) {
    for (const out of shapes(rank)) {
      for (let r = 0; r <= rank; r++) {
        for (const operand of shapes(r)) {
          if (!operand.every((d, i) => d === 1 || d === out[i + rank - r])) continue;
          count++;
          const failure = check({ operand, out });
          if (failure !== null) failures.push(`[${operand.join(', ')}] to [${out.join(', ')}]: ${failure}`);
        }
      }
    }
  }
  t.same(failures.slice(0, 5), [], `${count} pairs of shapes`);
});
