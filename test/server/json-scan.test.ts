/**
 * The body scanner (src/server/json-scan.ts) reads a body as it arrives, a chunk at a time:
 * whatever the chunks, it says what it says of the whole text, and that agrees with the parsed
 * value (JSON.parse as the oracle): how deep it nests, how many members its widest object has,
 * whether a number overflows float64; a refusal names the array or object by its JSON pointer.
 */
import t from 'tap';
import { JsonScanner, scanJson, type JsonLimits } from '../../src/server/json-scan.js';

const LIMITS: JsonLimits = { maxDepth: 4, maxMembers: 3 };

/** The parsed value's nesting depth and its widest object's members. */
function shape(value: unknown): { depth: number; members: number } {
  if (value === null || typeof value !== 'object') return { depth: 0, members: 0 };
  const children = Object.values(value as object).map(shape);
  return {
    depth: 1 + Math.max(0, ...children.map((c) => c.depth)),
    members: Math.max(Array.isArray(value) ? 0 : Object.keys(value as object).length, ...children.map((c) => c.members)),
  };
}

const overflows = (value: unknown): boolean =>
  typeof value === 'number' ? !Number.isFinite(value) : value !== null && typeof value === 'object' && Object.values(value as object).some(overflows);

const TEXTS = [
  '{"program":"x","at":{"x":[1,2,3]}}',
  '[[[[1]]]]',
  '[[[[[1]]]]]',
  '{"a":{"b":{"c":{"d":{}}}}}',
  '{"a":1,"b":2,"c":3}',
  '{"a":1,"b":2,"c":3,"d":4}',
  '{"a":[1,2,3,4,5,6,7,8],"b":{"x":1,"y":2,"z":3,"w":4}}',
  '{"s":"[[[[[[[[ {a,b,c,d,e} \\" ]]]]] \\\\","t":"\\\\"}',
  '{"k\\"[":{"~/x":{"a":1,"b":2,"c":3,"d":4}}}',
  '{"x":1e300,"y":1e+308,"z":1E299,"w":1e-400,"v":true,"u":false}',
  '{"x":1e400}',
  '{"x":-1E+309}',
  `{"x":${'9'.repeat(309)}}`,
  `{"x":${'9'.repeat(308)}.5}`,
  '{"x":0.000001e305}',
  `{"x":${'9'.repeat(307)}.5e2}`,
  `{"x":1${'0'.repeat(20)}e290}`,
  `{"x":-1${'0'.repeat(20)}.25E+289}`,
  `{"x":1${'0'.repeat(20)}e280}`,
  '{"t":[true,false,null,"e",1e5,2E-5]}',
];

t.test('whole or in chunks split anywhere, the scanner says the same, and agrees with the parsed value', async (t) => {
  for (const text of TEXTS) {
    const bytes = Buffer.from(text);
    const whole = scanJson(bytes, LIMITS);
    const value = JSON.parse(text) as unknown;
    const { depth, members } = shape(value);
    const refused = depth > LIMITS.maxDepth || members > LIMITS.maxMembers;
    t.equal(whole.problem !== null, refused, `${text.slice(0, 60)}: ${refused ? 'refused' : 'scanned'} (depth ${depth}, members ${members})`);
    if (whole.problem !== null) t.match(whole.problem.body, { status: 413, code: 'TOO_LARGE', path: /^(\/[^/]*)*$/ }, 'a 413 with a JSON pointer');
    // A number that overflows is always noticed (a large one that does not may be: it is then searched for).
    if (!refused && overflows(value)) t.ok(whole.largeNumbers, `${text.slice(0, 60)}: a number that overflows is noticed`);
    for (let at = 0; at <= bytes.length; at++) {
      const scanner = new JsonScanner(LIMITS);
      scanner.push(bytes.subarray(0, at));
      scanner.push(bytes.subarray(at));
      if (scanner.problem?.body.path !== whole.problem?.body.path || scanner.largeNumbers !== whole.largeNumbers || (scanner.problem === null) !== (whole.problem === null)) {
        t.fail(`${text.slice(0, 60)}: split at ${at}, the scanner says otherwise`);
        break;
      }
    }
    const byByte = new JsonScanner(LIMITS);
    for (const b of bytes) byByte.push(Uint8Array.of(b));
    t.same({ path: byByte.problem?.body.path, large: byByte.largeNumbers }, { path: whole.problem?.body.path, large: whole.largeNumbers }, 'a byte at a time, likewise');
    if (whole.problem === null) t.equal(byByte.bytes().toString('utf8'), text, 'and keeps the text whole');
  }
});

/** Random JSON texts: nested arrays and objects of numbers (long runs of digits, exponents), strings with escapes, literals. */
function randomTexts(count: number, seed: number): string[] {
  let s = seed;
  const random = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const atoms = ['1', '-0.5', '0.12345678901234567', '12345678901234567890', '1e300', '1E+299', '2e-400', '1e0300', '9'.repeat(310), `${'9'.repeat(307)}.5e2`, 'true', 'false', 'null', '"a\\"b"', '"\\\\"', '"[{,e9"', '"\\u0041"', '1e+3000'];
  const value = (depth: number): string => {
    const r = random();
    if (depth > 6 || r < 0.3) return pick(atoms);
    const n = Math.floor(random() * 5);
    if (r < 0.65) return `[${Array.from({ length: n }, () => value(depth + 1)).join(pick([',', ' , ']))}]`;
    return `{${Array.from({ length: n }, (_, k) => `"k${k}":${value(depth + 1)}`).join(',')}}`;
  };
  return Array.from({ length: count }, () => value(0));
}

t.test('random texts: cut into chunks anywhere, the scanner says what it says of the whole, which agrees with the parsed value', async (t) => {
  let disagreements = 0;
  const texts = randomTexts(3000, 11);
  texts.forEach((text, k) => {
    const bytes = Buffer.from(text);
    const whole = scanJson(bytes, LIMITS);
    const value = JSON.parse(text) as unknown;
    const { depth, members } = shape(value);
    const refused = depth > LIMITS.maxDepth || members > LIMITS.maxMembers;
    const cuts = [0, (k * 7919) % (bytes.length + 1), (k * 104729) % (bytes.length + 1), bytes.length].sort((a, b) => a - b);
    const chunked = new JsonScanner(LIMITS);
    for (let c = 1; c < cuts.length; c++) chunked.push(bytes.subarray(cuts[c - 1], cuts[c]));
    const agrees =
      (whole.problem !== null) === refused &&
      (refused || !overflows(value) || whole.largeNumbers) &&
      chunked.problem?.body.path === whole.problem?.body.path &&
      chunked.largeNumbers === whole.largeNumbers;
    if (!agrees && disagreements++ < 5) t.fail(`${text.slice(0, 80)}: cut at ${cuts.join(', ')}`);
  });
  t.equal(disagreements, 0, `${texts.length} texts`);
});

t.test('the pointer names the array or object refused', async (t) => {
  t.equal(scanJson(Buffer.from('{"a":[0,{"b":[[[1]]]}]}'), LIMITS).problem?.body.path, '/a/1/b/0', 'the fifth level, the first item of b');
  t.equal(scanJson(Buffer.from('{"k\\"[":{"~/x":{"a":1,"b":2,"c":3,"d":4}}}'), LIMITS).problem?.body.path, '/k"[/~0~1x');
});

t.test('once refused, later chunks are neither kept nor scanned', async (t) => {
  const scanner = new JsonScanner(LIMITS);
  t.equal(scanner.push(Buffer.from('[[[[[')), false, 'refused at the fifth bracket');
  t.equal(scanner.push(Buffer.alloc(1 << 20, 0x5b)), false, 'a megabyte more is refused at once');
  t.equal(scanner.bytes().length, 5, 'and not kept');
  t.equal(scanner.received, 5, 'nor counted');
});
