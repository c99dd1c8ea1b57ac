/**
 * The program cache is bounded by an estimate of the bytes it keeps, not by a count alone:
 * large programs evict the oldest and keep the estimate under the bound, small programs still
 * hit, and an entry larger than the whole bound is not kept.
 */
import t, { type Test } from 'tap';
import { ProgramCache, computeSync } from '../../src/index.js';
import { PROGRAM_CACHE_BYTES } from '../../src/compute/cache.js';
import { parseProgram } from '../../src/lang/parse.js';

/** A program of `length` characters, different for each `i`: one short statement per line, the densest IR per character. */
const dense = (i: number, length: number): string => `y = ${i} * x\n${'x\n'.repeat(Math.floor((length - 20) / 2))}y`;

/** Parses `programs` in order through `cache`; returns which of them were parsed (not found in the cache). */
function parseAll(cache: ProgramCache, programs: readonly string[]): boolean[] {
  return programs.map((text) => {
    let parsed = false;
    cache.program(text, () => {
      parsed = true;
      return parseProgram(text);
    });
    return parsed;
  });
}

interface FillCase {
  name: string;
  bound: number;
  programs: string[];
  /** How many of the most recent programs must still hit after the fill. */
  recentHits: number;
}

const fillCases: FillCase[] = [
  { name: '40 programs of 5 KB in a 4 MiB cache', bound: 4 * 2 ** 20, programs: Array.from({ length: 40 }, (_, i) => dense(i, 5000)), recentHits: 2 },
  { name: '200 programs of 2 KB in a 4 MiB cache', bound: 4 * 2 ** 20, programs: Array.from({ length: 200 }, (_, i) => dense(i, 2000)), recentHits: 5 },
  { name: '6 programs of 90 KB in the default cache', bound: PROGRAM_CACHE_BYTES, programs: Array.from({ length: 6 }, (_, i) => dense(i, 90_000)), recentHits: 1 },
];

function checkFill(t: Test, c: FillCase): void {
  const cache = new ProgramCache(c.bound);
  let largest = 0;
  for (const program of c.programs) {
    parseAll(cache, [program]);
    largest = Math.max(largest, cache.estimatedBytes);
  }
  t.ok(largest <= c.bound, `${c.name}: the estimate stayed within the bound (at most ${largest} of ${c.bound} bytes)`);
  t.ok(cache.size < c.programs.length, `${c.name}: ${cache.size} of ${c.programs.length} programs kept`);
  // The most recent are found without parsing; the oldest was evicted and is parsed again.
  const recent = c.programs.slice(-c.recentHits);
  t.same(parseAll(cache, recent), recent.map(() => false), `${c.name}: the ${c.recentHits} most recent hit`);
  t.same(parseAll(cache, [c.programs[0]]), [true], `${c.name}: the oldest was evicted`);
}

t.test('filling the cache with large programs keeps its estimate under the bound and evicts the oldest', async (t) => {
  for (const c of fillCases) checkFill(t, c);
});

t.test('the estimate of a parsed program is at least the memory it was measured to keep (~256 bytes per character at the densest)', async (t) => {
  const cache = new ProgramCache();
  const text = dense(0, 10_000);
  parseAll(cache, [text]);
  t.ok(cache.estimatedBytes >= 256 * text.length, `${cache.estimatedBytes} bytes estimated for ${text.length} characters`);
});

t.test('small programs still hit, through computeSync, and their repeats add nothing', async (t) => {
  const cache = new ProgramCache();
  const bodies = Array.from({ length: 300 }, (_, i) => ({ program: `x * ${i} + sin(x)`, at: { x: 0.5 } }));
  for (const body of bodies) computeSync('grad', body, { cache });
  const size = cache.size;
  const bytes = cache.estimatedBytes;
  t.ok(bytes <= PROGRAM_CACHE_BYTES, `300 small programs: ${bytes} bytes estimated`);
  for (const body of bodies) computeSync('grad', body, { cache });
  t.equal(cache.size, size, 'the repeats found every entry (none added)');
  t.equal(cache.estimatedBytes, bytes, 'and the estimate did not move');
});

t.test('an entry larger than the whole bound is not kept, and evicts nothing', async (t) => {
  const cache = new ProgramCache(1 * 2 ** 20);
  const small = dense(1, 200);
  parseAll(cache, [small]);
  const huge = dense(2, 10_000);
  t.same(parseAll(cache, [huge, huge]), [true, true], 'a 2.5 MB estimate in a 1 MiB cache is parsed each time');
  t.same(parseAll(cache, [small]), [false], 'the small program is still there');
});

t.test('a plan counts its own estimate once it is made', async (t) => {
  const cache = new ProgramCache();
  const body = { program: 'sum(tanh(X * W) .^ 2)', at: { X: [[0.5, -1.2], [1.1, 0.4]], W: [[0.2, -0.4], [0.7, 0.1]] } };
  computeSync('grad', body, { cache });
  const before = cache.estimatedBytes;
  // The second request makes the plan (engine/plan.ts), with its generated loop.
  computeSync('grad', body, { cache });
  t.ok(cache.estimatedBytes > before + 256, `the plan added ${cache.estimatedBytes - before} bytes`);
});

t.test('a hit keeps its entry: eviction takes the least recently used, by second chance, not the oldest made', async (t) => {
  const programs = Array.from({ length: 6 }, (_, i) => dense(i, 40));
  // Room for four entries by number.
  const cache = new ProgramCache(PROGRAM_CACHE_BYTES, 4);
  t.same(parseAll(cache, programs.slice(0, 4)), [true, true, true, true], 'four programs parsed');
  t.same(parseAll(cache, [programs[0]]), [false], 'the oldest hits');
  parseAll(cache, [programs[4]]);
  t.equal(cache.size, 4, 'a fifth evicts one');
  t.same(parseAll(cache, [programs[0]]), [false], 'the oldest, used since, is kept');
  t.same(parseAll(cache, [programs[2], programs[3], programs[4]]), [false, false, false], 'and so are the newer');
  t.same(parseAll(cache, [programs[1]]), [true], 'the least recently used was evicted');
  // Every entry used since the last eviction: the next one still evicts the least recent of them, never the newcomer.
  parseAll(cache, [programs[5]]);
  t.same(parseAll(cache, [programs[5]]), [false], 'the newest is kept when every older entry is used');
  t.equal(cache.size, 4, 'and the number bound holds');
});
