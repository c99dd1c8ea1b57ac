/**
 * Indexing primitives, in transpose pairs: `select` (read a sub-grid) and `selectAdd` (add a
 * sub-grid into zeros); `takeAlong` (PyTorch's gather) and `scatterAddAlong`; `assign` (index
 * assignment) and `concat`. All indices here are 0-based; the language converts from 1-based.
 */
import { bind, definePrimitive, type Context, type Primitive, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import { Tensor, formatShape, sameShape, sizeOf, stridesOf, type Shape } from '../tensor.js';
import { expand, reshape } from './shape.js';

/** One list of 0-based indices per axis; the selection is their outer product. */
export type GridIndex = readonly Int32Array[];

function gridShape(index: GridIndex): number[] {
  return index.map((ix) => ix.length);
}

function checkGrid(op: string, shape: Shape, index: GridIndex): void {
  if (index.length !== shape.length) {
    throw new EngineError('INVALID_ARGUMENT', `${op}: ${index.length} indices for a tensor of rank ${shape.length} (shape ${formatShape(shape)})`, { op });
  }
  index.forEach((ix, axis) => {
    for (let i = 0; i < ix.length; i++) {
      if (ix[i] < 0 || ix[i] >= shape[axis]) {
        throw new EngineError(
          'INVALID_ARGUMENT',
          `${op}: index ${ix[i] + 1} is out of range for axis ${axis + 1} of extent ${shape[axis]} (shape ${formatShape(shape)})`,
          { op },
        );
      }
    }
  });
}

/** Visits the selected offsets of a tensor of `shape` in row-major order of the grid. */
function forEachGridOffset(shape: Shape, index: GridIndex, visit: (offset: number, k: number) => void): void {
  const rank = shape.length;
  const strides = stridesOf(shape);
  const n = sizeOf(gridShape(index));
  if (n === 0) return;
  if (rank === 0) {
    visit(0, 0);
    return;
  }
  const pos = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let d = 0; d < rank; d++) offset += index[d][0] * strides[d];
  for (let k = 0; k < n; k++) {
    visit(offset, k);
    for (let d = rank - 1; d >= 0; d--) {
      const ix = index[d];
      offset -= ix[pos[d]] * strides[d];
      pos[d]++;
      if (pos[d] < ix.length) {
        offset += ix[pos[d]] * strides[d];
        break;
      }
      pos[d] = 0;
      offset += ix[0] * strides[d];
    }
  }
}

const selectPrim = definePrimitive<GridIndex>({
  name: 'select',
  impl(cx, [x], index) {
    checkGrid('index', x.shape, index);
    const out = cx.alloc('select', gridShape(index));
    const src = x.data;
    const dst = out.data;
    forEachGridOffset(x.shape, index, (offset, k) => (dst[k] = src[offset]));
    return out;
  },
  jvp: (cx, _p, [t], _out, index) => select(cx, t!, index),
  vjp: (cx, g, [x], _out, index) => [selectAdd(cx, g, index, x.shape)],
});

/** The sub-grid of `x` at the outer product of per-axis index lists. */
export function select(cx: Context, x: Value, index: GridIndex): Value {
  return bind(cx, selectPrim, [x], index);
}

interface ScatterParams {
  readonly index: GridIndex;
  readonly shape: Shape;
}

const selectAddPrim = definePrimitive<ScatterParams>({
  name: 'selectAdd',
  impl(cx, [g], { index, shape }) {
    checkGrid('selectAdd', shape, index);
    if (!sameShape(g.shape, gridShape(index))) {
      throw new EngineError(
        'SHAPE_MISMATCH',
        `selectAdd: values of shape ${formatShape(g.shape)} do not fill the grid of shape ${formatShape(gridShape(index))}`,
        { op: 'selectAdd' },
      );
    }
    const out = cx.alloc('selectAdd', shape);
    const src = g.data;
    const dst = out.data;
    forEachGridOffset(shape, index, (offset, k) => (dst[offset] += src[k]));
    return out;
  },
  jvp: (cx, _p, [t], _out, { index, shape }) => selectAdd(cx, t!, index, shape),
  vjp: (cx, g, _p, _out, { index }) => [select(cx, g, index)],
});

/** Zeros of `shape` with `g` added at the grid (repeated indices accumulate). */
export function selectAdd(cx: Context, g: Value, index: GridIndex, shape: Shape): Value {
  return bind(cx, selectAddPrim, [g], { index, shape });
}

const assignPrim = definePrimitive<GridIndex>({
  name: 'assign',
  impl(cx, [x, v], index) {
    checkGrid('index assignment', x.shape, index);
    const out = cx.alloc('assign', x.shape);
    out.data.set(x.data);
    const src = v.data;
    const dst = out.data;
    forEachGridOffset(x.shape, index, (offset, k) => (dst[offset] = src[k]));
    return out;
  },
  jvp: (cx, [x, v], [tx, tv], _out, index) =>
    assign(cx, tx ?? cx.alloc('assign', x.shape), tv ?? cx.alloc('assign', v.shape), index),
  vjp: (cx, g, [_x, v], _out, index, needs) => [
    needs[0] ? assign(cx, g, cx.alloc('assign', v.shape), index) : null,
    needs[1] ? select(cx, g, index) : null,
  ],
});

/** `x` with the grid replaced by `v` (broadcast to the grid's shape). */
export function assign(cx: Context, x: Value, v: Value, index: GridIndex): Value {
  const shape = gridShape(index);
  return bind(cx, assignPrim, [x, expand(cx, v, shape)], index);
}

interface AlongParams {
  readonly axis: number;
  /**
   * Set where the indices are the class labels of an operation (cross_entropy's): an index out
   * of range is then refused as that operation's class, 1-based.
   */
  readonly labelsOf?: string;
}

type ScatterAlongParams = AlongParams & { readonly shape: Shape };

/**
 * The index's shape against the tensor's. The index is an operand, not a parameter: a plan reads
 * it at each run (cross_entropy's labels sent as data) and its values are checked there, by
 * `alongOffsets`, as the kernel checks them. It has no derivative.
 */
function checkAlong(op: string, shape: Shape, index: Tensor, { axis }: AlongParams): void {
  const ok =
    index.shape.length === shape.length && index.shape.every((d, i) => i === axis || d === shape[i]) && axis >= 0 && axis < shape.length;
  if (!ok) {
    throw new EngineError(
      'SHAPE_MISMATCH',
      `${op}: index of shape ${formatShape(index.shape)} does not fit a tensor of shape ${formatShape(shape)} along axis ${axis + 1}`,
      { op },
    );
  }
}

/** The error for `i`, an index out of range along the axis (as a class of `labelsOf`, 1-based, where set). */
function outOfRange(op: string, i: number, extent: number, { axis, labelsOf }: AlongParams): EngineError {
  if (labelsOf !== undefined) return new EngineError('INVALID_ARGUMENT', `${labelsOf}: class ${i + 1} is not one of 1..${extent}`, { op: labelsOf });
  return new EngineError('INVALID_ARGUMENT', `${op}: index ${i + 1} is out of range 1..${extent} along axis ${axis + 1}`, { op });
}

/**
 * For each element of `index`, its offset in a tensor of `shape` (index replaces the axis
 * coordinate), each index checked on the way: an integer in 0..extent-1.
 */
function alongOffsets(op: string, shape: Shape, index: Tensor, params: AlongParams): Int32Array {
  // Index position (o, j, i) around the axis maps to (o, index[o, j, i], i) in `shape`.
  const inner = sizeOf(shape.slice(params.axis + 1));
  const extent = shape[params.axis];
  const indexExtent = index.shape[params.axis];
  const data = index.data;
  const offsets = new Int32Array(index.size);
  const block = indexExtent * inner;
  // Along the last axis (class labels), position k is (k / indexExtent, j): no division per element.
  for (let k = 0, o = 0, j = 0; k < offsets.length; k++) {
    const i = data[k];
    if (!(Number.isInteger(i) && i >= 0 && i < extent)) throw outOfRange(op, i, extent, params);
    if (inner === 1) {
      offsets[k] = o * extent + i;
      if (++j === indexExtent) {
        j = 0;
        o++;
      }
    } else {
      offsets[k] = (Math.floor(k / block) * extent + i) * inner + (k % inner);
    }
  }
  return offsets;
}

/**
 * The checked offsets of `index` in a tensor of `shape`, worked out once per index tensor and
 * axis: a compiled plan runs the same primitive with the same constant index step after step
 * (tensors, and so the index, are immutable). An index read at each run is checked each run.
 */
const offsetsByIndex = new WeakMap<Tensor, { readonly shape: Shape; readonly axis: number; readonly offsets: Int32Array }>();

function checkedOffsets(op: string, shape: Shape, index: Tensor, params: AlongParams): Int32Array {
  const known = offsetsByIndex.get(index);
  if (known !== undefined && known.axis === params.axis && sameShape(known.shape, shape)) return known.offsets;
  checkAlong(op, shape, index, params);
  const offsets = alongOffsets(op, shape, index, params);
  offsetsByIndex.set(index, { shape, axis: params.axis, offsets });
  return offsets;
}

const takeAlongPrim: Primitive<AlongParams> = definePrimitive<AlongParams>({
  name: 'takeAlong',
  impl(cx, [x, index], params) {
    const offsets = checkedOffsets('takeAlong', x.shape, index, params);
    const out = cx.alloc('takeAlong', index.shape);
    for (let k = 0; k < offsets.length; k++) out.data[k] = x.data[offsets[k]];
    return out;
  },
  jvp: (cx, [, index], [t], _out, params) => (t === null ? null : bind(cx, takeAlongPrim, [t, index], params)),
  vjp: (cx, g, [x, index], _out, params, needs) => [needs[0] ? bind(cx, scatterAddAlongPrim, [g, index], { ...params, shape: x.shape }) : null, null],
});

/** PyTorch's `gather`: out[..., k, ...] = x[..., index[..., k, ...], ...] along `axis`; `labelsOf` words a bad index as that operation's class. */
export function takeAlong(cx: Context, x: Value, axis: number, index: Value, labelsOf?: string): Value {
  return bind(cx, takeAlongPrim, [x, index], labelsOf === undefined ? { axis } : { axis, labelsOf });
}

const scatterAddAlongPrim: Primitive<ScatterAlongParams> = definePrimitive<ScatterAlongParams>({
  name: 'scatterAddAlong',
  impl(cx, [g, index], params) {
    const offsets = checkedOffsets('scatterAddAlong', params.shape, index, params);
    const out = cx.alloc('scatterAddAlong', params.shape);
    for (let k = 0; k < offsets.length; k++) out.data[offsets[k]] += g.data[k];
    return out;
  },
  jvp: (cx, [, index], [t], _out, params) => (t === null ? null : bind(cx, scatterAddAlongPrim, [t, index], params)),
  vjp: (cx, g, [, index], _out, { axis, labelsOf }, needs) => [needs[0] ? bind(cx, takeAlongPrim, [g, index], labelsOf === undefined ? { axis } : { axis, labelsOf }) : null, null],
});

export function scatterAddAlong(cx: Context, g: Value, axis: number, index: Value, shape: Shape): Value {
  return bind(cx, scatterAddAlongPrim, [g, index], { axis, shape });
}

const concatPrim = definePrimitive<number>({
  name: 'concat',
  impl(cx, xs, axis) {
    const first = xs[0].shape;
    const shape = [...first];
    shape[axis] = 0;
    for (const x of xs) {
      const ok = x.shape.length === first.length && x.shape.every((d, i) => i === axis || d === first[i]);
      if (!ok) {
        throw new EngineError(
          'SHAPE_MISMATCH',
          `concat: shapes ${xs.map((t) => formatShape(t.shape)).join(', ')} differ outside axis ${axis + 1}`,
          { op: 'concat' },
        );
      }
      shape[axis] += x.shape[axis];
    }
    const out = cx.alloc('concat', shape);
    // Each input contributes `outer` contiguous blocks of extent(axis) * inner elements.
    const outer = sizeOf(first.slice(0, axis));
    const inner = sizeOf(first.slice(axis + 1));
    const rowLength = shape[axis] * inner;
    let start = 0;
    for (const x of xs) {
      const block = x.shape[axis] * inner;
      for (let o = 0; o < outer; o++) out.data.set(x.data.subarray(o * block, (o + 1) * block), o * rowLength + start);
      start += block;
    }
    return out;
  },
  jvp: (cx, xs, ts, _out, axis) => concat(cx, xs.map((x, i) => ts[i] ?? cx.alloc('concat', x.shape)), axis),
  vjp: (cx, g, xs, _out, axis, needs) => {
    let start = 0;
    return xs.map((x, i) => {
      const extent = x.shape[axis];
      const index = g.shape.map((d, a) => (a === axis ? range(start, start + extent) : range(0, d)));
      start += extent;
      return needs[i] ? select(cx, g, index) : null;
    });
  },
});

export function range(from: number, to: number): Int32Array {
  const r = new Int32Array(Math.max(0, to - from));
  for (let i = 0; i < r.length; i++) r[i] = from + i;
  return r;
}

/** Joins tensors along an existing axis (0-based). */
export function concat(cx: Context, xs: readonly Value[], axis: number): Value {
  if (xs.length === 0) throw new EngineError('INVALID_ARGUMENT', 'concat: nothing to concatenate', { op: 'concat' });
  const rank = xs[0].shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    throw new EngineError('INVALID_ARGUMENT', `concat: axis ${axis + 1} does not exist for rank ${rank}`, { op: 'concat' });
  }
  if (xs.length === 1) return xs[0];
  return bind(cx, concatPrim, xs, axis);
}

/** Joins equally shaped tensors along a new axis (0-based). */
export function stack(cx: Context, xs: readonly Value[], axis = 0): Value {
  if (xs.length === 0) throw new EngineError('INVALID_ARGUMENT', 'stack: nothing to stack', { op: 'stack' });
  const shape = xs[0].shape;
  for (const x of xs) {
    if (!sameShape(x.shape, shape)) {
      throw new EngineError('SHAPE_MISMATCH', `stack: shapes ${xs.map((t) => formatShape(t.shape)).join(', ')} differ`, { op: 'stack' });
    }
  }
  if (!Number.isInteger(axis) || axis < 0 || axis > shape.length) {
    throw new EngineError('INVALID_ARGUMENT', `stack: axis ${axis + 1} is not one of 1..${shape.length + 1} for stacking tensors of shape ${formatShape(shape)}`, { op: 'stack' });
  }
  const lifted = [...shape];
  lifted.splice(axis, 0, 1);
  const parts = xs.map((x) => reshape(cx, x, lifted));
  return parts.length === 1 ? parts[0] : bind(cx, concatPrim, parts, axis);
}
