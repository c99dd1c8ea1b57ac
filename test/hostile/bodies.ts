/**
 * Structurally wrong bodies: every endpoint's documented examples (the OpenAPI document's, from
 * src/compute/schemas/) mutated a few times over. A value of the wrong type at any field, an
 * unknown field at the top level or inside options, a field left out, huge, negative and
 * non-finite numbers, "NaN" and "Infinity" strings, deep nesting, long strings, many keys; then
 * the text itself: numbers JSON.stringify cannot write (1e400), duplicate keys, a truncated or
 * padded body, a byte-order mark, invalid UTF-8, __proto__; and the headers: wrong content
 * types and encodings. The same mutations become WebSocket messages, with their envelope (id,
 * endpoint, type) mutated too.
 */
import fc from 'fast-check';
import { endpointSchemas } from '../../src/compute/schemas/index.js';
import type { FuzzRequest } from './wire.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every documented request answered 200, by endpoint. */
const seeds: readonly { endpoint: string; body: Json }[] = Object.entries(endpointSchemas).flatMap(([endpoint, schema]) =>
  Object.values(schema.examples)
    .filter((example) => (example.status ?? 200) === 200 && example.request !== undefined)
    .map((example) => ({ endpoint, body: example.request as Json })),
);

const nest = (depth: number, inner: Json, wrap: (j: Json) => Json): Json => {
  let v = inner;
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
};

/** Values that are wrong somewhere, or right in a way nobody expects. */
const HOSTILE_VALUES: readonly (() => Json)[] = [
  () => null,
  () => true,
  () => false,
  () => 0,
  () => -1,
  () => -0,
  () => 1.5,
  () => 2 ** 53 + 1,
  () => 1e308,
  () => -1e308,
  () => 5e-324,
  () => 2 ** 31,
  () => -(2 ** 31),
  () => 'NaN',
  () => 'Infinity',
  () => '-Infinity',
  () => '',
  () => '1',
  () => 'x',
  () => '\u0000',
  () => 'é α 🙂',
  () => 'x'.repeat(100_000),
  () => [],
  () => {
    return {};
  },
  () => [[]],
  () => [1, 'a', null],
  () => [[1, 2], [3]],
  () => nest(1000, 1, (j) => [j]),
  () => nest(3000, 1, (j) => [j]),
  () => nest(1000, 1, (j) => ({ a: j })),
  () => Array.from({ length: 30_000 }, (_, i) => i),
  () => Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])),
  () => ({ shape: [1e9, 1e9], data: [] }),
  () => ({ shape: [-1], data: [] }),
  () => ({ shape: [2], data: [1, 'a'] }),
  () => ({ shape: [3], data: [1, 2] }),
  () => ({ shape: [2 ** 31, 0], data: [] }),
  () => ({ shape: 'x', data: 1 }),
  () => ({ value: 1 }),
];

const UNKNOWN_FIELDS = ['colour', 'extra', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'program ', 'PROGRAM', 'é'];

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/json, text/plain',
  'application/problem+json',
  'application/x-ndjson',
  '',
];

const ENDPOINT_NAMES = ['eval', 'grad', 'nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '', 'EVAL', 'eval ', 'batch'];

type Pick = fc.GeneratorValue;

class BodyMutator {
  constructor(private readonly g: Pick) {}

  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  /** One of `items`; undefined when there is none (a body that is a bare value has no fields). */
  pick<T>(items: readonly T[]): T {
    return items.length === 0 ? (undefined as T) : items[this.int(0, items.length - 1)];
  }

  chance(percent: number): boolean {
    return this.int(1, 100) <= percent;
  }

  /** Paths to every value in `body`, the root included: [] is the body itself. */
  private paths(body: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
    out.push(prefix);
    if (out.length > 200) return out;
    if (Array.isArray(body)) body.slice(0, 5).forEach((v, i) => this.paths(v, [...prefix, i], out));
    else if (body !== null && typeof body === 'object') for (const [k, v] of Object.entries(body)) this.paths(v, [...prefix, k], out);
    return out;
  }

  /** The objects of `body` (the root, options, at, optimizer, ...): where unknown fields go. */
  private objects(body: Json): (string | number)[][] {
    return this.paths(body).filter((p) => {
      const v = get(body, p);
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    });
  }

  mutate(body: Json): Json {
    let b = structuredClone(body);
    for (let k = this.int(1, 3); k > 0; k--) {
      switch (this.int(0, 5)) {
        case 0:
        case 1: {
          const path = this.pick(this.paths(b).slice(1));
          if (path !== undefined) b = set(b, path, this.pick(HOSTILE_VALUES)());
          break;
        }
        case 2: {
          // An unknown field: at the top level, in options (created if need be), or in any object.
          const where = this.chance(40) ? ['options'] : this.chance(50) ? [] : (this.pick(this.objects(b)) ?? []);
          if (where.length === 1 && where[0] === 'options' && (typeof b !== 'object' || b === null || Array.isArray(b) || typeof b.options !== 'object')) b = set(b, ['options'], {});
          b = set(b, [...where, this.pick(UNKNOWN_FIELDS)], this.pick(HOSTILE_VALUES)());
          break;
        }
        case 3: {
          const path = this.pick(this.paths(b).slice(1));
          if (path !== undefined) b = remove(b, path);
          break;
        }
        case 4: {
          const where = this.pick(this.objects(b));
          if (where !== undefined) b = set(b, [...where, ...['many']], Object.fromEntries(Array.from({ length: this.pick([100, 5000, 20_000]) }, (_, i) => [`k${i}`, i])));
          break;
        }
        default:
          if (this.chance(30)) b = this.pick(HOSTILE_VALUES)();
          else if (this.chance(50)) b = [b];
          else b = { body: b };
      }
    }
    return b;
  }

  /** The body's text, now and then mangled where JSON.stringify cannot: bytes for invalid UTF-8. */
  text(body: Json): string | Uint8Array {
    const text = JSON.stringify(body) ?? 'null';
    if (!this.chance(35)) return text;
    switch (this.int(0, 11)) {
      case 0:
        return text.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/i, this.pick(['1e400', '-1e400', 'NaN', 'Infinity', '01', '.5', '1.', '-', '1e', '0x10', '1_0']));
      case 1:
        return text.replace(/^\{/, '{"program": "x", "program": 1, ');
      case 2:
        return text.slice(0, this.int(0, text.length));
      case 3:
        return `${text}${this.pick([' garbage', '}', ',', '\u0000', '\n{}', ' '.repeat(10_000)])}`;
      case 4:
        return `\ufeff${text}`;
      case 5:
        return Buffer.concat([Buffer.from(text.slice(0, 10)), Buffer.from(this.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]])), Buffer.from(text.slice(10))]);
      case 6:
        return text.replace(/^\{/, '{"__proto__": {"polluted": 1}, ');
      case 7:
        return text.replace(/^\{/, '{"constructor": {"prototype": {"polluted": 1}}, ');
      case 8:
        return Buffer.from(text, 'utf16le');
      case 9:
        return text.replace(/^\{/, '{ /* a comment */ ');
      case 10:
        return this.pick(['', ' ', 'null', '[]', '""', '{', '}', '{}', '{"program": }', '\ufeff', 'undefined']);
      default:
        // Deeper than JSON.stringify can write: the text alone.
        return text.replace(/^\{/, `{"deep": ${'['.repeat(50_000)}${']'.repeat(50_000)}, `);
    }
  }

  headers(): Record<string, string> | undefined {
    if (!this.chance(20)) return undefined;
    switch (this.int(0, 2)) {
      case 0:
        return { 'content-type': this.pick(CONTENT_TYPES) };
      case 1:
        return { 'content-encoding': this.pick(['gzip', 'deflate', 'br', 'identity', 'compress', 'gzip, gzip']) };
      default:
        return { accept: this.pick(['application/x-ndjson', 'text/html', 'application/xml', '*/*', '']) };
    }
  }

  /** The WebSocket envelope: a usable id and endpoint mostly, else a wrong one. */
  envelope(endpoint: string): Record<string, Json> {
    const id = this.chance(85) ? `b${this.int(0, 1e9)}` : this.pick<Json>([null, 5, '', {}, [], 'x'.repeat(10_000), true]);
    const e = this.chance(85) ? endpoint : this.pick<Json>([...ENDPOINT_NAMES, null, 3, {}]);
    const type = this.chance(92) ? undefined : this.pick<Json>(['cancel', 'result', 'error', 3, null, '']);
    return { id, endpoint: e, ...(type === undefined ? {} : { type }) };
  }
}

function get(body: Json, path: readonly (string | number)[]): Json | undefined {
  let v: Json | undefined = body;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<string, Json>)[key] : undefined;
  return v;
}

/**
 * `body` with the value at `path` set (own properties, __proto__ included, as JSON.parse makes
 * them). A name on an array is not set: JSON has no such thing (JSON.stringify would drop it), and
 * an array's own `constructor` breaks its slice and splice here.
 */
function set(body: Json, path: readonly (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const parent = get(body, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return body;
  if (Array.isArray(parent) && typeof path[path.length - 1] !== 'number') return body;
  Object.defineProperty(parent, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return body;
}

function remove(body: Json, path: readonly (string | number)[]): Json {
  const parent = get(body, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return body;
  if (Array.isArray(parent)) parent.splice(Number(path[path.length - 1]), 1);
  else delete (parent as Record<string, Json>)[path[path.length - 1]];
  return body;
}

/** Mutated bodies of every endpoint, over HTTP and as WebSocket messages. */
export const bodyRequests: fc.Arbitrary<FuzzRequest> = fc.gen().map((g): FuzzRequest => {
  const m = new BodyMutator(g);
  const seed = m.pick(seeds);
  const endpoint = m.chance(95) ? seed.endpoint : m.pick(ENDPOINT_NAMES.filter((e) => e !== ''));
  const body = m.mutate(seed.body);
  const text = m.text(body);
  const headers = m.headers();
  const envelope = m.envelope(endpoint);
  let message: string | Uint8Array;
  if (typeof text !== 'string') {
    message = text;
  } else if (body !== null && typeof body === 'object' && !Array.isArray(body) && text === JSON.stringify(body)) {
    message = JSON.stringify({ ...envelope, ...body });
  } else if (text.trimStart().startsWith('{')) {
    // The mangled text with the envelope spliced in: {"id": ..., "endpoint": ..., <the body's fields>}.
    const head = JSON.stringify(envelope).slice(0, -1);
    const rest = text.trimStart().slice(1);
    message = rest.trimStart().startsWith('}') ? `${head}${rest}` : `${head},${rest}`;
  } else {
    message = text;
  }
  return { endpoint: encodeURIComponent(endpoint), body: text, headers, message };
});
