import { EngineError } from './errors.js';

/** A shape is a list of non-negative extents; `[]` is a scalar. */
export type Shape = readonly number[];

export const SCALAR_SHAPE: Shape = Object.freeze([]) as Shape;

/** No tensor may exceed 1 GiB, whatever the budgets: past that, allocation itself would fail (the setting MAX_TENSOR_ELEMENTS, a request's limit, is far lower). */
export const ENGINE_MAX_TENSOR_SIZE = 2 ** 27;

/**
 * The size of a tensor of `shape` about to be allocated, refused past `ENGINE_MAX_TENSOR_SIZE` so
 * that an oversized shape is a LIMIT_EXCEEDED, never JavaScript's RangeError ("Invalid typed
 * array length") or a failed allocation.
 */
export function allocationSize(op: string, shape: Shape): number {
  const size = sizeOf(shape);
  if (!(size <= ENGINE_MAX_TENSOR_SIZE)) {
    throw new EngineError(
      'LIMIT_EXCEEDED',
      `memory limit exceeded: ${op} would allocate ${formatShape(shape)}, more than ${ENGINE_MAX_TENSOR_SIZE} elements in one tensor`,
      { op, limit: 'memory' },
    );
  }
  return size;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy/PyTorch broadcasting: align trailing axes; an extent of 1 stretches. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Shape {
  if (sameShape(a, b)) return a;
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else {
      throw new EngineError(
        'SHAPE_MISMATCH',
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (axis ${i + 1}: ${da} vs ${db})`,
        { op },
      );
    }
  }
  return out;
}

/**
 * A dense float64 tensor: row-major `Float64Array` storage and a shape. Tensors are immutable
 * once an operation has returned them; kernels fill `data` only while building their output.
 */
export class Tensor {
  readonly shape: Shape;
  readonly data: Float64Array;

  constructor(shape: Shape, data: Float64Array) {
    if (data.length !== sizeOf(shape)) {
      throw new EngineError('INVALID_ARGUMENT', `tensor of shape ${formatShape(shape)} needs ${sizeOf(shape)} elements, got ${data.length}`);
    }
    this.shape = shape;
    this.data = data;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  /** The same elements under another shape of the same size (storage is shared: tensors are immutable). */
  reshapeUnchecked(shape: Shape): Tensor {
    return new Tensor(shape, this.data);
  }

  /** The single element of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new EngineError('NOT_SCALAR', `expected a single element, got shape ${formatShape(this.shape)}`);
    }
    return this.data[0];
  }

  static scalar(value: number): Tensor {
    const data = new Float64Array(1);
    data[0] = value;
    return new Tensor(SCALAR_SHAPE, data);
  }

  /** Tensors made without a context are not charged to any budget, but the size limit of one tensor holds. */
  static zeros(shape: Shape): Tensor {
    return new Tensor(shape, new Float64Array(allocationSize('zeros', shape)));
  }

  static full(shape: Shape, value: number): Tensor {
    return new Tensor(shape, new Float64Array(allocationSize('full', shape)).fill(value));
  }

  static fromArray(shape: Shape, values: ArrayLike<number>): Tensor {
    return new Tensor(shape, Float64Array.from(values));
  }

  /** A tensor from a rectangular nested array of numbers (or a number for a scalar). */
  static fromNested(value: unknown): Tensor {
    const shape: number[] = [];
    let probe: unknown = value;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      if (probe.length === 0) break;
      probe = probe[0];
    }
    const data = new Float64Array(allocationSize('tensor', shape));
    let k = 0;
    const walk = (v: unknown, depth: number): void => {
      if (depth === shape.length) {
        if (typeof v !== 'number') throw new EngineError('INVALID_ARGUMENT', `tensor element is not a number: ${JSON.stringify(v)}`);
        data[k++] = v;
        return;
      }
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        throw new EngineError('INVALID_ARGUMENT', `nested array is not rectangular: expected ${shape[depth]} entries at depth ${depth + 1}`);
      }
      for (const x of v) walk(x, depth + 1);
    };
    walk(value, 0);
    return new Tensor(shape, data);
  }

  /** Nested arrays, row-major; a scalar becomes a number. */
  toNested(): unknown {
    if (this.shape.length === 0) return this.data[0];
    let k = 0;
    const build = (depth: number): unknown[] => {
      const n = this.shape[depth];
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = depth === this.shape.length - 1 ? this.data[k++] : build(depth + 1);
      return out;
    };
    return build(0);
  }
}
