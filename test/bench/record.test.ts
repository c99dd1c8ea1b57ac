/**
 * docs/performance.md's figures are written by the benchmarks (bench/record.ts) into blocks
 * between markers: a block is replaced whole, the hand-written text around it kept, and a
 * document without its markers is refused rather than appended to or overwritten.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { measuredOn, withBlock } from '../../bench/record.js';
import { file } from '../../scripts/paths.js';

const doc = ['# Performance', 'what the rows mean', '<!-- bench:begin -->', 'old table', 'old row', '<!-- bench:end -->', 'between', '<!-- soak:begin -->', 'old soak', '<!-- soak:end -->', 'after', ''].join('\n');

t.test('a block is replaced whole; the text around it and the other block are kept', async (t) => {
  const out = withBlock(doc, 'bench', '\n| new | table |\n');
  t.equal(out, doc.replace('old table\nold row', '| new | table |'));
  t.equal(withBlock(out, 'soak', 'new soak'), out.replace('old soak', 'new soak'), 'the other block, likewise');
  t.equal(withBlock(withBlock(doc, 'bench', 'x'), 'bench', 'x'), withBlock(doc, 'bench', 'x'), 'writing twice is writing once');
});

t.test('a document without its markers, or with them twice or out of order, is refused', async (t) => {
  t.throws(() => withBlock('# Performance\n', 'bench', 'x'), /<!-- bench:begin -->/);
  t.throws(() => withBlock(`${doc}<!-- bench:begin -->\n`, 'bench', 'x'), /once each/);
  t.throws(() => withBlock('<!-- bench:end -->\n<!-- bench:begin -->\n', 'bench', 'x'), /in that order/);
});

t.test('each block says when and on what it was measured', async (t) => {
  t.match(measuredOn(new Date('2026-12-06T05:07:00Z')), /^Measured 2026-12-06 05:07 UTC on \d+ × .+, \d+ GiB, \w+, Node\.js v\d+/);
});

t.test("docs/performance.md has its blocks (the bench's, one for each Node.js tested, and the soak's), each under its date and machine", async (t) => {
  const text = readFileSync(file('docs/performance.md'), 'utf8');
  for (const name of ['bench-node20', 'bench-node24', 'soak']) {
    t.doesNotThrow(() => withBlock(text, name, 'x'), `the ${name} block's markers`);
    const block = text.slice(text.indexOf(`<!-- ${name}:begin -->`), text.indexOf(`<!-- ${name}:end -->`));
    t.match(block, /Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC on /, `the ${name} block says when and where it was measured`);
  }
});
