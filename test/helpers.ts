/** Shared assertions for the engine's tests: element-wise closeness with a message naming the case. */
import type { Test } from 'tap';
import { Tensor, concrete, formatShape, type Value } from '../src/engine/index.js';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Converts a number, nested array or engine value to a flat tensor for comparison. */
export function toTensor(v: Value | number | unknown): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === 'number') return Tensor.scalar(v);
  if (Array.isArray(v)) return Tensor.fromNested(v);
  return concrete(v as Value);
}

function sameNumber(a: number, b: number, tol: Required<Tolerance>): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
}

/**
 * Passes when shapes match exactly and every element satisfies |got - expected| <= atol +
 * rtol |expected| (NaN matches NaN, infinities match themselves).
 */
export function assertClose(t: Test, got: unknown, expected: unknown, label: string, tolerance: Tolerance = {}): void {
  const tol = { rtol: tolerance.rtol ?? 1e-10, atol: tolerance.atol ?? 1e-12 };
  const g = toTensor(got);
  const e = toTensor(expected);
  if (formatShape(g.shape) !== formatShape(e.shape)) {
    t.fail(`${label}: shape ${formatShape(g.shape)}, expected ${formatShape(e.shape)}`);
    return;
  }
  for (let i = 0; i < e.size; i++) {
    if (!sameNumber(g.data[i], e.data[i], tol)) {
      t.fail(`${label}: element ${i} is ${g.data[i]}, expected ${e.data[i]} (rtol ${tol.rtol}, atol ${tol.atol})`);
      return;
    }
  }
  t.pass(label);
}
