/**
 * The NDJSON reader (src/widget/ndjson.ts): objects out as their lines complete, whatever the
 * chunks cut (inside a line, inside a UTF-8 sequence), against JSON.parse of each whole line.
 */
import t from 'tap';
import { LineSplitter, StreamError, ndjsonMessages, type ByteReader } from '../../src/widget/ndjson.js';

/** A reader handing out `bytes` in chunks of the given sizes (then the rest). */
function reader(bytes: Uint8Array, sizes: number[]): ByteReader {
  let at = 0;
  let k = 0;
  return {
    async read() {
      if (at >= bytes.length) return { done: true };
      const size = sizes[k++] ?? bytes.length;
      const value = bytes.slice(at, at + size);
      at += size;
      return { done: false, value };
    },
  };
}

async function collect(r: ByteReader): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of ndjsonMessages(r)) out.push(m);
  return out;
}

const MESSAGES = [
  { type: 'progress', step: 0, loss: 105 },
  { type: 'samples', from: 0, count: 1024, mean: { value: 2.5597762513422073, grad: { μ: 1.03, σ: 'NaN' } } },
  { type: 'result', loss: 'Infinity', note: 'ẋ = cos(x)·ẋ' },
];
const TEXT = MESSAGES.map((m) => JSON.stringify(m)).join('\n') + '\n';
const BYTES = new TextEncoder().encode(TEXT);

t.test('every way of cutting the stream gives the same messages', async (t) => {
  const cases: [string, number[]][] = [
    ['one chunk', [BYTES.length]],
    ['byte by byte (cuts inside μ, σ, ẋ and ·)', new Array(BYTES.length).fill(1)],
    ['chunks of 7', new Array(Math.ceil(BYTES.length / 7)).fill(7)],
    ['a cut right after each newline', TEXT.split('\n').slice(0, -1).map((l) => new TextEncoder().encode(`${l}\n`).length)],
  ];
  for (const [label, sizes] of cases) t.strictSame(await collect(reader(BYTES, sizes)), MESSAGES, label);
});

t.test('a last line without its newline, blank lines and CRLF', async (t) => {
  const text = `\n${JSON.stringify(MESSAGES[0])}\r\n\n${JSON.stringify(MESSAGES[2])}`;
  t.strictSame(await collect(reader(new TextEncoder().encode(text), [5, 9])), [MESSAGES[0], MESSAGES[2]]);
});

t.test('a line that is not JSON is a StreamError naming it', async (t) => {
  const bytes = new TextEncoder().encode(`${JSON.stringify(MESSAGES[0])}\n<html>bad gateway</html>\n`);
  await t.rejects(collect(reader(bytes, [4])), StreamError);
  await t.rejects(collect(reader(bytes, [4])), { message: /not JSON: <html>bad gateway/ });
});

t.test('LineSplitter keeps the unfinished line until its newline comes', async (t) => {
  const lines = new LineSplitter();
  t.strictSame(lines.push('{"a":'), []);
  t.strictSame(lines.push('1}\n{"b"'), ['{"a":1}']);
  t.strictSame(lines.push(':2}'), []);
  t.strictSame(lines.end(), ['{"b":2}']);
  t.strictSame(lines.end(), [], 'nothing twice');
});
