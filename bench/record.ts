/**
 * docs/performance.md holds the last full run's figures: `npm run bench` rewrites the block
 * between `<!-- bench:begin -->` and `<!-- bench:end -->`, `npm run soak` (a run of ten minutes
 * or more) the one between `<!-- soak:begin -->` and `<!-- soak:end -->`. The text around the
 * blocks, what each figure measures, is written by hand. Each block starts with when and where
 * it was measured: a figure means little without its machine.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { file } from '../scripts/paths.js';

export const PERFORMANCE_DOC = 'docs/performance.md';

/** The date, the machine and the runtime, as one line. */
export function measuredOn(date = new Date()): string {
  const cpu = cpus();
  const model = cpu[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `Measured ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu.length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}, Node.js ${process.version}.`;
}

/** `text` with the block `name` replaced by `content`: the markers must be there, once each. */
export function withBlock(text: string, name: string, content: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from || text.indexOf(begin, from + 1) >= 0 || text.indexOf(end, to + 1) >= 0) {
    throw new Error(`${PERFORMANCE_DOC} needs the lines ${begin} and ${end}, once each, in that order`);
  }
  return `${text.slice(0, from + begin.length)}\n${content.trim()}\n${text.slice(to)}`;
}

/** Rewrites block `name` of docs/performance.md with `content`, under the date and machine. */
export function record(name: string, content: string): void {
  const path = file(PERFORMANCE_DOC);
  writeFileSync(path, withBlock(readFileSync(path, 'utf8'), name, `${measuredOn()}\n\n${content}`));
  console.log(`\nwritten into ${PERFORMANCE_DOC} (${name})`);
}
