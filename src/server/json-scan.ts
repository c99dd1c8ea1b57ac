/**
 * A JSON text checked before it is parsed, in one pass over its bytes: how deep its arrays
 * and objects nest, and how many members an object has. JSON.parse takes seconds over millions
 * of nested brackets, and far more than linear time over an object of a hundred thousand keys;
 * on the event loop that stalls every request. No request needs either: tensors nest as deep
 * as their rank, and objects are keyed by input names, as many as MAX_INPUTS. The bytes are
 * scanned as they came (UTF-8: every byte of a multi-byte character is over 0x7f, so none is
 * taken for a bracket or a quote), and a refused body is never decoded to a string.
 *
 * The same pass notes whether a number may overflow float64 (1e400): JSON.parse makes it an
 * infinity, which a schema then calls "not a number". Only then is the parsed value searched
 * for it, to say where and why.
 */
import { Problem } from '../compute/problem.js';

export interface JsonLimits {
  /** The deepest nesting of arrays and objects (MAX_JSON_DEPTH). */
  readonly maxDepth: number;
  /** The most members of one object. */
  readonly maxMembers: number;
}

/** The most members an object of a body may have is MAX_INPUTS, but never fewer than this (a body's own fields). */
const MIN_OBJECT_MEMBERS = 100;

/** A server's limits on the JSON it parses (bodies and WebSocket messages alike), from MAX_JSON_DEPTH and MAX_INPUTS. */
export function jsonLimitsOf(maxJsonDepth: number, maxInputs: number): JsonLimits {
  return { maxDepth: maxJsonDepth, maxMembers: Math.max(maxInputs, MIN_OBJECT_MEMBERS) };
}

export interface JsonScan {
  /** Why the text is refused before parsing, or null. */
  readonly problem: Problem | null;
  /** Whether a number literal may be too large for float64: search the parsed value (`overflowProblem`). */
  readonly largeNumbers: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const PLUS = 0x2b;

/**
 * What each byte is to the scanner outside strings, by table: a digit (most of a tensor's
 * bytes), a quote, an opening or closing bracket, a comma, an exponent's e, a decimal point, or
 * nothing to note (a sign, white space, the letters of true, false and null but e). One lookup rather
 * than a chain of comparisons, and runs of digits taken in a loop of their own: the MLP's body
 * of 10 KB took 25.6 µs to scan byte by byte through the chain (as long as computing its
 * answer), 16-18 µs so.
 */
const OTHER = 0;
const DIGIT = 1;
const STRING = 2;
const OPEN = 3;
const CLOSE = 4;
const SEPARATOR = 5;
const EXPONENT = 6;
const POINT = 7;
const KIND = new Uint8Array(256);
for (let c = ZERO; c <= NINE; c++) KIND[c] = DIGIT;
KIND[QUOTE] = STRING;
KIND[OPEN_ARRAY] = OPEN;
KIND[OPEN_OBJECT] = OPEN;
KIND[CLOSE_ARRAY] = CLOSE;
KIND[CLOSE_OBJECT] = CLOSE;
KIND[COMMA] = SEPARATOR;
KIND[0x2e] = POINT;
KIND[LOWER_E] = EXPONENT;
KIND[UPPER_E] = EXPONENT;

/** Digits of a number past which it may exceed float64's largest, about 1.8e308. */
const MAX_PLAIN_DIGITS = 308;
/**
 * An exponent from which a number may overflow: 300, or less where the mantissa has more than
 * nine digits before its point (9999999999e300 overflows: 309 less its digits).
 */
const LARGE_EXPONENT = 300;
const DIGITS_OF_THE_LARGEST = 309;

/** Where an exponent is, as the scanner goes: not in one, just after its `e`, or in its digits. */
const NO_EXPONENT = 0;
const AFTER_E = 1;
const EXPONENT_DIGITS = 2;

/**
 * Scans a JSON text in linear time and constant space per level, a chunk at a time as it
 * arrives: the first place it nests deeper than `maxDepth` or an object has more than
 * `maxMembers` members is a 413 TOO_LARGE with the JSON pointer of that array or object, and
 * the chunks after it are neither kept nor scanned. Strings are skipped (escapes included); the
 * text is not otherwise validated: JSON.parse does that after.
 */
export class JsonScanner {
  /** Why the text is refused, once it is. */
  problem: Problem | null = null;
  /** Whether a number literal may be too large for float64 (`overflowProblem` says where). */
  largeNumbers = false;
  /** The bytes kept: every chunk up to a refusal. */
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  /** Per open level: the commas seen in an object, or -1 for an array (whose length is not limited here). */
  private readonly commas: Int32Array;
  private depth = 0;
  private digits = 0;
  private inString = false;
  private escaped = false;
  private exponentState = NO_EXPONENT;
  private exponent = 0;
  /** The exponent from which the number being read may overflow (LARGE_EXPONENT). */
  private largeExponent = LARGE_EXPONENT;
  /** Whether a decimal point came since the last digit run began, and the digits before it. */
  private afterPoint = false;
  private integerDigits = 0;

  constructor(private readonly limits: JsonLimits) {
    this.commas = new Int32Array(limits.maxDepth + 1);
    this.commas[0] = -1;
  }

  /** The bytes received so far, scanned or not. */
  get received(): number {
    return this.length;
  }

  /** Scans the next chunk; false once the text is refused (`problem`). */
  push(chunk: Uint8Array): boolean {
    if (this.problem !== null) return false;
    const base = this.length;
    this.chunks.push(chunk);
    this.length += chunk.length;
    const { maxDepth, maxMembers } = this.limits;
    const commas = this.commas;
    let { depth, digits, inString, escaped, exponentState, exponent, largeExponent, afterPoint, integerDigits, largeNumbers } = this;
    const n = chunk.length;
    let refusal: { at: number; detail: string; inside: boolean } | null = null;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      if (inString) {
        // Skip the string: a backslash escapes the next character, whatever it is.
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
        continue;
      }
      if (exponentState !== NO_EXPONENT) {
        // An exponent's digits (true and false end in e too, with no digits after it).
        if (c >= ZERO && c <= NINE) {
          exponent = exponent * 10 + (c - ZERO);
          exponentState = EXPONENT_DIGITS;
          if (exponent >= largeExponent) {
            largeNumbers = true;
            exponentState = NO_EXPONENT;
          }
        } else if (c === PLUS && exponentState === AFTER_E) {
          exponentState = EXPONENT_DIGITS;
        } else {
          exponentState = NO_EXPONENT;
        }
      }
      const kind = KIND[c];
      if (kind === DIGIT) {
        // Outside an exponent, the rest of the run of digits at once: most of a tensor's bytes.
        let end = i + 1;
        if (exponentState === NO_EXPONENT) while (end < n && KIND[chunk[end]] === DIGIT) end++;
        digits += end - i;
        if (digits > MAX_PLAIN_DIGITS) largeNumbers = true;
        i = end - 1;
        continue;
      }
      if (kind === POINT) {
        afterPoint = true;
        integerDigits = digits;
        digits = 0;
        continue;
      }
      const leading = afterPoint ? integerDigits : digits;
      digits = 0;
      afterPoint = false;
      if (kind === OTHER) continue;
      if (kind === STRING) {
        inString = true;
      } else if (kind === OPEN) {
        if (depth === maxDepth) {
          refusal = { at: base + i, detail: `the body nests arrays and objects more than ${maxDepth} deep (MAX_JSON_DEPTH): no request needs so deep a nesting`, inside: false };
          break;
        }
        depth++;
        commas[depth] = c === OPEN_OBJECT ? 0 : -1;
      } else if (kind === CLOSE) {
        if (depth > 0) depth--;
      } else if (kind === SEPARATOR) {
        if (commas[depth] >= 0 && ++commas[depth] >= maxMembers) {
          refusal = { at: base + i, detail: `an object in the body has more than ${maxMembers} members, over the limit (MAX_INPUTS): objects are keyed by input names`, inside: true };
          break;
        }
      } else if (!largeNumbers) {
        // e or E, after a mantissa with `leading` digits before its point.
        exponentState = AFTER_E;
        exponent = 0;
        largeExponent = Math.min(LARGE_EXPONENT, DIGITS_OF_THE_LARGEST - leading);
      }
    }
    Object.assign(this, { depth, digits, inString, escaped, exponentState, exponent, largeExponent, afterPoint, integerDigits, largeNumbers });
    if (refusal !== null) {
      this.problem = new Problem('TOO_LARGE', refusal.detail, { path: pointerAt(this.bytes(), refusal.at, refusal.inside) });
      return false;
    }
    return true;
  }

  /** The bytes kept, as one buffer. */
  bytes(): Buffer {
    return this.chunks.length === 1 ? Buffer.from(this.chunks[0].buffer, this.chunks[0].byteOffset, this.chunks[0].byteLength) : Buffer.concat(this.chunks, this.length);
  }
}

/** A whole text scanned at once (see JsonScanner). */
export function scanJson(text: Uint8Array, limits: JsonLimits): JsonScan {
  const scanner = new JsonScanner(limits);
  scanner.push(text);
  return { problem: scanner.problem, largeNumbers: scanner.largeNumbers };
}

/**
 * The JSON pointer of the array or object that opens at `offset` (or, `inside`, the one that
 * holds `offset`), found by walking the text again up to there: only for a refusal.
 */
function pointerAt(text: Uint8Array, offset: number, inside: boolean): string {
  const frames: { object: boolean; key: string; index: number; expectKey: boolean }[] = [];
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    const top = frames[frames.length - 1];
    if (c === QUOTE) {
      const start = i;
      for (i++; i < text.length; i++) {
        const s = text[i];
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (top?.object === true && top.expectKey) {
        top.key = keyOf(Buffer.from(text.buffer, text.byteOffset + start, i + 1 - start).toString('utf8'));
        top.expectKey = false;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      frames.push({ object: c === OPEN_OBJECT, key: '', index: 0, expectKey: c === OPEN_OBJECT });
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      frames.pop();
    } else if (c === COMMA && top !== undefined) {
      if (top.object) top.expectKey = true;
      else top.index++;
    }
  }
  // The frames hold the way down to the container at `offset`: each level's key or index in its parent.
  const way = inside ? frames.slice(0, -1) : frames;
  return way.map((f) => `/${f.object ? f.key.replace(/~/g, '~0').replace(/\//g, '~1') : f.index}`).join('');
}

function keyOf(quoted: string): string {
  try {
    return String(JSON.parse(quoted));
  } catch {
    return quoted.slice(1, -1);
  }
}

/**
 * Where a parsed body holds a number JSON.parse could only make an infinity of (it overflowed
 * float64), as a 400 problem; null when it holds none. A walk with an explicit stack: the
 * value is as deep as `scanJson` allowed.
 */
export function overflowProblem(value: unknown): Problem | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : overflowAt('', value);
  if (value === null || typeof value !== 'object') return null;
  // Each open array or object, its keys (null for an array) and the next position in it; paths are made only for a hit.
  const stack: { items: unknown[]; keys: string[] | null; next: number }[] = [frameOf(value)];
  const pathTo = (): string =>
    stack.map((f) => (f.keys === null ? `/${f.next - 1}` : `/${f.keys[f.next - 1].replace(/~/g, '~0').replace(/\//g, '~1')}`)).join('');
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next === top.items.length) {
      stack.pop();
      continue;
    }
    const v = top.items[top.next++];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return overflowAt(pathTo(), v);
    } else if (v !== null && typeof v === 'object') {
      stack.push(frameOf(v));
    }
  }
  return null;
}

function frameOf(container: object): { items: unknown[]; keys: string[] | null; next: number } {
  if (Array.isArray(container)) return { items: container, keys: null, next: 0 };
  const keys = Object.keys(container);
  return { items: keys.map((k) => (container as Record<string, unknown>)[k]), keys, next: 0 };
}

function overflowAt(path: string, v: number): Problem {
  return new Problem('INVALID_REQUEST', `the number overflows float64 (its magnitude is over 1.8e308); send "${v > 0 ? 'Infinity' : '-Infinity'}" (a string) for an infinite value`, { path });
}

/**
 * A JSON text parsed with the checks above, for messages that do not come through fastify's
 * parser (WebSocket messages): throws the Problem of a text too deep or too wide, not JSON,
 * or holding a number that overflows.
 */
export function parseJsonChecked(text: Uint8Array | string, limits: JsonLimits): unknown {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const scan = scanJson(bytes, limits);
  if (scan.problem !== null) throw scan.problem;
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new Problem('INVALID_REQUEST', `the message is not valid JSON: ${(e as Error).message}`);
  }
  const overflow = scan.largeNumbers ? overflowProblem(value) : null;
  if (overflow !== null) throw overflow;
  return value;
}
