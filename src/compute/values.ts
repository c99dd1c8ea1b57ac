/**
 * Values in JSON (SPEC.md section 1): a number, a rectangular nested array, or
 * `{"shape": [...], "data": [...]}`; non-finite numbers travel as "NaN", "Infinity" and
 * "-Infinity". Responses use nested arrays unless the layout is "flat".
 */
import { Tensor, concrete, formatShape, sizeOf, type ReusableStorage, type Shape, type Value } from '../engine/index.js';
import { Problem } from './problem.js';

/**
 * How a response writes its tensors: as nested arrays (the default) or `{"shape", "data"}`,
 * each of at most `maxElements` elements (the limit on a request's tensors: what a client sends
 * it may get back, and no answer grows a worker's memory past what its budget allows).
 */
export interface Layout {
  readonly form: 'nested' | 'flat';
  readonly maxElements: number;
}

export const NESTED: Layout = Object.freeze({ form: 'nested', maxElements: Infinity });

/**
 * The elements a tensor would have with every empty dimension counted as one: what its nested
 * form costs (a `[1000000, 0]` tensor has no element but a million empty arrays).
 */
export function extentOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= Math.max(d, 1);
  return n;
}

/** Why a tensor of `shape` is over `max` elements. */
function overLimit(shape: Shape, max: number): string {
  const size = sizeOf(shape);
  return size === extentOf(shape)
    ? `a tensor of ${size} elements is over the limit of ${max}`
    : `a tensor of shape ${formatShape(shape)} is over the limit of ${max} elements (an empty dimension counts as one: its nested form has an array for each position)`;
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** An element's number, or undefined when it is not one (see `notAnElement`). */
function element(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return Object.hasOwn(NON_FINITE, v) ? NON_FINITE[v] : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/**
 * Why `v` is not an element. A JSON number too large for float64 (1e400) is parsed as an
 * infinity, which JSON cannot otherwise carry: say so, rather than that it is not a number.
 */
function notAnElement(v: unknown, path: string): Problem {
  if (typeof v === 'number' && !Number.isNaN(v)) {
    return new Problem('INVALID_REQUEST', `the number overflows float64 (its magnitude is over 1.8e308); send "${v > 0 ? 'Infinity' : '-Infinity'}" (a string) for an infinite value`, { path });
  }
  const shown = typeof v === 'number' ? 'NaN (send the string "NaN")' : JSON.stringify(v)?.slice(0, 40);
  return new Problem('INVALID_REQUEST', `expected a number (or "NaN", "Infinity", "-Infinity"), got ${shown}`, { path });
}

/** The most dimensions a tensor in a request may have (NumPy 2 allows 64). */
const MAX_RANK = 64;

export interface DecodeLimits {
  /** The most elements one tensor may have (413 beyond). */
  maxElements?: number;
}

/**
 * What requests send most, a vector or a matrix of finite numbers, copied into `data` in two
 * plain loops: the general walk below (a stack of levels, each element's kind asked in turn)
 * took a third of a small planned request. False at anything else (a string, a ragged row, a
 * higher rank), which the general walk then decodes or refuses, path and all.
 *
 * How the elements are read matters. V8's optimised code for an indexed read (`a[i]`) that has
 * met arrays of several element kinds converts each array it then reads to the most general of
 * them: once a row holding "NaN" (a string) had been read at a place, every row of doubles read
 * there after it was converted to boxed numbers first (7.5 µs for a 100x4 matrix fresh from
 * JSON.parse, against 1.8 µs); a row of integers read where rows of decimals are is copied to
 * doubles (30 ns a row: a one-hot matrix beside the data cost the MLP 2 µs). `at` reads each
 * kind as it is, but is a call per element. JSON.parse makes an array of integers one of small
 * integers, an array of numbers that are not all integers one of doubles, and an array holding
 * anything else (a string) one of objects. So a vector, or a row, whose first element is a
 * number that is not an integer (never an array of small integers) is read by index, each at a
 * place of its own, until that place meets an element that is not a number: from then on, for
 * the life of the process, it is not used. Every other array is read by `at`. The MLP's inputs
 * (100x4 data, 100 labels, weights) took 5.0 µs to decode by `at` alone, and about 3 so;
 * test/compute/decode-kinds.test.ts asks V8 the kinds.
 */
function finiteRowsInto(json: unknown[], shape: Shape, data: Float64Array): boolean {
  if (shape.length === 1) {
    if (indexed.vectors && decimalFirst(json)) {
      const read = vectorByIndex(json, data);
      if (read !== NOT_A_NUMBER) return read === READ;
      indexed.vectors = false;
    }
    return vectorByAt(json, data, 0, json.length);
  }
  if (shape.length !== 2) return false;
  const columns = shape[1];
  for (let r = 0; r < json.length; r++) {
    // The outer array holds arrays: always of the kind that holds objects, so no conversion.
    const row: unknown = json[r];
    if (!Array.isArray(row) || row.length !== columns) return false;
    if (indexed.rows && decimalFirst(row)) {
      const read = rowByIndex(row, data, r * columns);
      if (read === READ) continue;
      if (read === OTHER) return false;
      indexed.rows = false;
    }
    if (!vectorByAt(row, data, r * columns, columns)) return false;
  }
  return true;
}

/** Whether the first element of `json` is a number that is not an integer: `json` is not an array of small integers. */
function decimalFirst(json: unknown[]): boolean {
  const first: unknown = json.at(0);
  return typeof first === 'number' && !Number.isInteger(first);
}

/** Whether vectors (and `{shape, data}` data) and the rows of matrices are still read by index. */
const indexed = { vectors: true, rows: true };

/** What an indexed read found: every element a finite number (read), something else that is a number (an infinity), or an element that is not a number. */
const READ = 1;
const OTHER = 0;
const NOT_A_NUMBER = -1;

// The same loop twice, on purpose: each indexed read is a place of its own in V8's feedback, so
// a string met in a row turns off the rows' reads and leaves the vectors' fast.
function vectorByIndex(json: unknown[], data: Float64Array): number {
  for (let i = 0; i < json.length; i++) {
    const v: unknown = json[i];
    if (typeof v !== 'number') return NOT_A_NUMBER;
    if (!Number.isFinite(v)) return OTHER;
    data[i] = v;
  }
  return READ;
}

function rowByIndex(row: unknown[], data: Float64Array, offset: number): number {
  for (let j = 0; j < row.length; j++) {
    const v: unknown = row[j];
    if (typeof v !== 'number') return NOT_A_NUMBER;
    if (!Number.isFinite(v)) return OTHER;
    data[offset + j] = v;
  }
  return READ;
}

/** `n` finite numbers of `json` into `data` from `offset`, read by `at`; false at anything else. */
function vectorByAt(json: unknown[], data: Float64Array, offset: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v: unknown = json.at(i);
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
    data[offset + i] = v;
  }
  return true;
}

/**
 * The shape of the tensor a JSON value holds, at a JSON pointer `path` of the request, checked
 * against the limits; the numbers are read (and refused, path and all) by `fill`.
 */
function shapeOf(json: unknown, path: string, limits: DecodeLimits): Shape {
  const max = limits.maxElements ?? Infinity;
  if (typeof json === 'number' || typeof json === 'string' || typeof json === 'boolean') return SCALAR;
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const { shape, data } = json as { shape?: unknown; data?: unknown };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Problem('INVALID_REQUEST', 'a tensor object needs "shape", a list of non-negative integers', { path: `${path}/shape` });
    }
    if (!Array.isArray(data)) throw new Problem('INVALID_REQUEST', 'a tensor object needs "data", a list of numbers', { path: `${path}/data` });
    if (shape.length > MAX_RANK) throw new Problem('TOO_LARGE', `a tensor of rank ${shape.length} is over the limit of ${MAX_RANK} dimensions`, { path: `${path}/shape` });
    if (extentOf(shape as number[]) > max) throw new Problem('TOO_LARGE', overLimit(shape as number[], max), { path });
    const size = sizeOf(shape as number[]);
    if (data.length !== size) {
      throw new Problem('INVALID_REQUEST', `shape [${shape.join(', ')}] needs ${size} numbers in "data", got ${data.length}`, { path: `${path}/data` });
    }
    return shape as number[];
  }
  if (!Array.isArray(json)) throw new Problem('INVALID_REQUEST', 'expected a number, a nested array or {"shape", "data"}', { path });
  const shape: number[] = [];
  let probe: unknown = json;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    // Responses nest arrays as deep as the rank, and JSON encoders recurse: refuse absurd ranks here.
    if (shape.length > MAX_RANK) throw new Problem('TOO_LARGE', `the nested array is more than ${MAX_RANK} levels deep, over the limit on a tensor's rank`, { path });
    if (probe.length === 0) break;
    probe = probe.at(0);
  }
  if (extentOf(shape) > max) throw new Problem('TOO_LARGE', overLimit(shape, max), { path });
  return shape;
}

/** A scalar's shape, shared. */
const SCALAR: Shape = Object.freeze([]);

/** Reads the numbers of `json`, whose shape `shapeOf` found, into `data` (of that size); refuses any that is not one, and a ragged nesting. */
function fill(json: unknown, shape: Shape, data: Float64Array, path: string): void {
  // A number, string or boolean (shapeOf refused anything else that is not an object).
  if (typeof json !== 'object') {
    const x = element(json);
    if (x === undefined) throw notAnElement(json, path);
    data[0] = x;
    return;
  }
  if (!Array.isArray(json)) {
    const items = (json as { data: unknown[] }).data;
    if (finiteRowsInto(items, [data.length], data)) return;
    for (let i = 0; i < data.length; i++) {
      const x = element(items.at(i));
      if (x === undefined) throw notAnElement(items.at(i), `${path}/data/${i}`);
      data[i] = x;
    }
    return;
  }
  if (finiteRowsInto(json, shape, data)) return;
  let k = 0;
  // An explicit stack rather than recursion: the depth of the array is the client's to choose.
  // Each level keeps its index in its parent: paths are made only for an error.
  const stack: { items: unknown[]; index: number; next: number }[] = [{ items: json, index: 0, next: 0 }];
  const pathTo = (last?: number): string => stack.slice(1).reduce((p, level) => `${p}/${level.index}`, path) + (last === undefined ? '' : `/${last}`);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const depth = stack.length - 1;
    if (top.items.length !== shape[depth]) {
      throw new Problem('INVALID_REQUEST', `the nested array is not rectangular: expected ${shape[depth]} entries here, got ${top.items.length}`, { path: pathTo() });
    }
    if (top.next === top.items.length) {
      stack.pop();
      continue;
    }
    const i = top.next++;
    const item = top.items.at(i);
    if (depth === shape.length - 1) {
      if (Array.isArray(item)) throw new Problem('INVALID_REQUEST', 'the nested array is not rectangular: too deep here', { path: pathTo(i) });
      const x = element(item);
      if (x === undefined) throw notAnElement(item, pathTo(i));
      data[k++] = x;
    } else {
      if (!Array.isArray(item)) throw new Problem('INVALID_REQUEST', 'the nested array is not rectangular: expected an array here', { path: pathTo(i) });
      stack.push({ items: item, index: i, next: 0 });
    }
  }
}

/** Decodes a JSON value at a JSON pointer `path` of the request. */
export function decodeValue(json: unknown, path: string, limits: DecodeLimits = {}): Tensor {
  const shape = shapeOf(json, path, limits);
  const data = new Float64Array(sizeOf(shape));
  fill(json, shape, data, path);
  return new Tensor(shape, data);
}

/** The most elements V8 keeps in a typed array on its own heap (64 bytes); a larger one's memory is outside it. */
const ON_HEAP_ELEMENTS = 8;

/**
 * Arrays of `sizes` elements for a request's inputs: from `storage` if given (see
 * `ReusableStorage`: a view costs what an ArrayBuffer of its own, made and collected, does not;
 * `sum(x .* 2)` of 1000 elements 8.4 -> 6.9 µs), or else those too large for V8's heap carved out
 * of one buffer (an array whose memory is outside the heap costs about a microsecond to make and
 * to collect); the others each their own, on the heap (a view of a buffer there would move it out).
 */
function buffersFor(sizes: readonly number[], storage: ReusableStorage | null): Float64Array[] {
  // Every element is written by `fill`: no zeros needed.
  if (storage !== null) return sizes.map((size) => storage.allocate(size, false));
  let total = 0;
  for (const size of sizes) if (size > ON_HEAP_ELEMENTS) total += size;
  const buffer = new ArrayBuffer(8 * total);
  let offset = 0;
  return sizes.map((size) => {
    if (size <= ON_HEAP_ELEMENTS) return new Float64Array(size);
    const view = new Float64Array(buffer, 8 * offset, size);
    offset += size;
    return view;
  });
}

/**
 * Several JSON values (a request's inputs, each at its JSON pointer), decoded into `buffersFor`'s
 * arrays, from `storage` if given; every shape is checked before any number is read.
 */
export function decodeValues(values: readonly (readonly [json: unknown, path: string])[], limits: DecodeLimits = {}, storage: ReusableStorage | null = null): Tensor[] {
  const shapes = values.map(([json, path]) => shapeOf(json, path, limits));
  const buffers = buffersFor(shapes.map(sizeOf), storage);
  return values.map(([json, path], k) => {
    fill(json, shapes[k], buffers[k], path);
    return new Tensor(shapes[k], buffers[k]);
  });
}

function encodeNumber(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * `n` elements from `start` as a JSON array. V8 keeps an array of finite numbers unboxed and
 * writes it fast to JSON only while it is packed: a pre-sized `new Array(n)` is holey, and
 * JSON.stringify took 87 µs for 1000 elements of one against 67 µs. Short rows are array
 * literals; a row of finite numbers is copied into `PACKED`, a packed array kept for the
 * purpose, and sliced out of it (a copy of its memory): 1.5 µs for 1000 elements against 4.5 µs
 * by `push`, which grows the array several times. Any other row is pushed.
 */
function encodeRow(data: Float64Array, start: number, n: number): (number | string)[] {
  if (n <= 4) return shortRow(data, start, n);
  if (n <= MAX_PACKED) {
    const row = packedRow(data, start, n);
    if (row !== null) return row;
  }
  const out: (number | string)[] = [];
  for (let i = start; i < start + n; i++) {
    const v = data[i];
    out.push(Number.isFinite(v) ? v : encodeNumber(v));
  }
  return out;
}

/** The longest row copied through `PACKED` (its memory, 512 KiB, is kept for good). */
const MAX_PACKED = 65536;
/** A packed array of doubles, grown to the longest row encoded through it; its elements stay doubles. */
const PACKED: number[] = [0.5];

/**
 * `n` numbers from `start` as a packed array of doubles; null at the first that is not finite
 * (v - v is 0 for a finite v, NaN for an infinity or NaN: a branch taken the same way for every
 * number of a finite row). The test is in the copy's loop: a pass of its own, a chain of
 * dependent additions, cost a 1000-element row 1.5 µs against 1.17.
 */
function packedRow(data: Float64Array, start: number, n: number): number[] | null {
  while (PACKED.length < n) PACKED.push(0.5);
  for (let i = 0; i < n; i++) {
    const v = data[start + i];
    if (v - v !== 0) return null;
    PACKED[i] = v;
  }
  return PACKED.slice(0, n);
}

/**
 * A row of at most four elements as an array literal, made at its size (a pushed array's first
 * push makes room for 17): a tall matrix's rows, a 150x2 gradient's, are built in half the time.
 */
function shortRow(data: Float64Array, i: number, n: number): (number | string)[] {
  const at = (k: number): number | string => {
    const v = data[i + k];
    return Number.isFinite(v) ? v : encodeNumber(v);
  };
  switch (n) {
    case 0:
      return [];
    case 1:
      return [at(0)];
    case 2:
      return [at(0), at(1)];
    case 3:
      return [at(0), at(1), at(2)];
    default:
      return [at(0), at(1), at(2), at(3)];
  }
}

/** Encodes a value for a response; a tensor over the layout's limit is refused before any of it is written. */
export function encodeValue(v: Value, layout: Layout = NESTED): unknown {
  const t = concrete(v);
  if (extentOf(t.shape) > layout.maxElements) {
    throw new Problem('LIMIT_EXCEEDED', `the result is too large to send: ${overLimit(t.shape, layout.maxElements)} in a response`, { limit: 'memory' });
  }
  if (layout.form === 'flat') return { shape: [...t.shape], data: Array.from(t.data, encodeNumber) };
  if (t.shape.length === 0) return encodeNumber(t.data[0]);
  if (t.shape.length === 1) return encodeRow(t.data, 0, t.size);
  if (t.shape.length === 2) {
    const [rows, columns] = t.shape;
    const out: unknown[] = [];
    for (let r = 0; r < rows; r++) out.push(encodeRow(t.data, r * columns, columns));
    return out;
  }
  let k = 0;
  const build = (depth: number): unknown[] => {
    const n = t.shape[depth];
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = depth === t.shape.length - 1 ? encodeNumber(t.data[k++]) : build(depth + 1);
    return out;
  };
  return build(0);
}

/** Named values as a JSON object, each encoded as `encodeValue` does. */
export function encodeMap(names: readonly string[], values: readonly Value[], layout: Layout = NESTED): Record<string, unknown> {
  return Object.fromEntries(names.map((name, i) => [name, encodeValue(values[i], layout)]));
}
