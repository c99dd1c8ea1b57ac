/**
 * Reverse mode: a flat tape. Each primitive applied to a tracked value appends one record, in
 * execution order; `backward` walks the records from last to first in a plain loop (so a chain
 * of a million operations needs no deep stack) and accumulates cotangents with `add` where a
 * value fans out. VJP rules run with engine operations on the recorded primals, so when those
 * primals are themselves tracers of an enclosing transformation the backward pass is recorded
 * or differentiated in turn: that is how higher derivatives arise.
 */
import { Tracer, bind, type Context, type Primitive, type Trace, type Value } from './core.js';
import { EngineError } from './errors.js';
import { formatShape, sameShape } from './tensor.js';
import { add } from './ops/elementwise.js';

export class TapeTracer extends Tracer {
  readonly trace: Tape;
  readonly primal: Value;
  /** This value's record on the tape. */
  readonly index: number;

  constructor(trace: Tape, primal: Value, index: number) {
    super(primal.shape);
    this.trace = trace;
    this.primal = primal;
    this.index = index;
  }
}

/** One step on the tape. Inputs that are not tracked by this tape have index -1. */
export interface TapeRecord {
  readonly prim: Primitive<unknown> | null;
  readonly params: unknown;
  readonly inputs: readonly number[];
  readonly primals: readonly Value[];
  readonly out: Value;
}

const NO_INPUTS: readonly number[] = [];

export class Tape implements Trace {
  readonly level: number;
  readonly records: TapeRecord[] = [];
  private readonly cx: Context;

  constructor(cx: Context) {
    this.cx = cx;
    this.level = cx.nextLevel();
  }

  /** Starts tracking a value: a leaf of the tape. */
  leaf(primal: Value): TapeTracer {
    this.records.push({ prim: null, params: undefined, inputs: NO_INPUTS, primals: [], out: primal });
    return new TapeTracer(this, primal, this.records.length - 1);
  }

  process(prim: Primitive<unknown>, args: readonly Value[], params: unknown): Value {
    const n = args.length;
    const primals = new Array<Value>(n);
    const inputs = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const a = args[i];
      if (a instanceof TapeTracer && a.trace === this) {
        primals[i] = a.primal;
        inputs[i] = a.index;
      } else {
        primals[i] = a;
        inputs[i] = -1;
      }
    }
    const out = bind(this.cx, prim, primals, params);
    this.records.push({ prim, params, inputs, primals, out });
    return new TapeTracer(this, out, this.records.length - 1);
  }

  /** The record index of a value tracked by this tape, or -1. */
  indexOf(v: Value): number {
    return v instanceof TapeTracer && v.trace === this ? v.index : -1;
  }

  /** The value one level down: the primal of a tracked value, else the value itself. */
  primalOf(v: Value): Value {
    return v instanceof TapeTracer && v.trace === this ? v.primal : v;
  }

  /**
   * Propagates `cotangent` from the record `from` back to the start of the tape and returns
   * the cotangents of the leaves (null where zero); with `retainAll`, of every record. The
   * tape is left intact, so several vector-Jacobian products can share one forward pass.
   */
  backward(from: number, cotangent: Value, retainAll = false): (Value | null)[] {
    const out = this.records[from].out;
    if (!sameShape(out.shape, cotangent.shape)) {
      throw new EngineError(
        'SHAPE_MISMATCH',
        `cotangent of shape ${formatShape(cotangent.shape)} does not match the output's shape ${formatShape(out.shape)}`,
        { op: 'backward' },
      );
    }
    const cts = new Array<Value | null>(from + 1).fill(null);
    cts[from] = cotangent;
    for (let i = from; i >= 0; i--) {
      const g = cts[i];
      if (g === null) continue;
      const rec = this.records[i];
      if (rec.prim === null) continue;
      if (!retainAll && i !== from) cts[i] = null;
      const inputs = rec.inputs;
      const needs = inputs.map((j) => j >= 0);
      if (!needs.includes(true)) continue;
      const inCts = rec.prim.vjp(this.cx, g, rec.primals, rec.out, rec.params, needs);
      for (let k = 0; k < inputs.length; k++) {
        const j = inputs[k];
        const c = inCts[k];
        if (j < 0 || c === null || c === undefined) continue;
        const prev = cts[j];
        cts[j] = prev === null ? c : add(this.cx, prev, c);
      }
    }
    return cts;
  }
}
