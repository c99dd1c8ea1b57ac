/**
 * Reverse mode: a flat tape. Each primitive applied to a tracked value appends one record, in
 * execution order; `backward` walks the records from last to first in a plain loop (so a chain
 * of a million operations needs no deep stack) and accumulates cotangents with `add` where a
 * value fans out. VJP rules run with engine operations on the recorded primals, so when those
 * primals are themselves tracers of an enclosing transformation the backward pass is recorded
 * or differentiated in turn: that is how higher derivatives arise. Records of concrete scalars
 * are walked back by their rules' compiled scalar code (`scalarVjpOf`, codegen.ts), on numbers.
 */
import { Tracer, bind, type Context, type Primitive, type ScalarVjp, type Trace, type Value } from './core.js';
import { EngineError } from './errors.js';
import { Tensor, formatShape, sameShape } from './tensor.js';
import { scalarVjpOf } from './codegen.js';
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

function isScalarTensor(v: Value): v is Tensor {
  return v instanceof Tensor && v.shape.length === 0;
}

/** A record's compiled scalar VJP, when the record is element-wise on concrete scalars. */
function scalarRuleFor(rec: TapeRecord): ScalarVjp | null {
  if (rec.params !== undefined || !isScalarTensor(rec.out)) return null;
  for (const p of rec.primals) if (!isScalarTensor(p)) return null;
  return scalarVjpOf(rec.prim!);
}

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
    // Cotangents of scalar records, accumulated as plain numbers by compiled scalar rules: a
    // long chain of scalar operations is walked back without allocating a tensor per step.
    const scalars = new Float64Array(from + 1);
    const hasScalar = new Uint8Array(from + 1);
    const partials = new Float64Array(3);
    for (let i = from; i >= 0; i--) {
      const rec = this.records[i];
      let g = cts[i];
      const scalar = hasScalar[i] === 1;
      if (g === null && !scalar) continue;
      if (rec.prim === null) {
        if (scalar) cts[i] = g === null ? Tensor.scalar(scalars[i]) : add(this.cx, g, Tensor.scalar(scalars[i]));
        continue;
      }
      const rule = g === null || isScalarTensor(g) ? scalarRuleFor(rec) : null;
      if (rule !== null) {
        this.cx.countOperation(rec.prim.name);
        const gv = g === null ? scalars[i] : scalar ? scalars[i] + (g as Tensor).data[0] : (g as Tensor).data[0];
        const p = rec.primals as readonly Tensor[];
        rule.run(gv, p[0].data[0], p.length > 1 ? p[1].data[0] : 0, p.length > 2 ? p[2].data[0] : 0, (rec.out as Tensor).data[0], partials);
        for (let k = 0; k < rec.inputs.length; k++) {
          const j = rec.inputs[k];
          if (j < 0 || !rule.flows[k]) continue;
          scalars[j] += partials[k];
          hasScalar[j] = 1;
        }
        cts[i] = retainAll ? Tensor.scalar(gv) : null;
        continue;
      }
      if (scalar) g = g === null ? Tensor.scalar(scalars[i]) : add(this.cx, g, Tensor.scalar(scalars[i]));
      cts[i] = retainAll ? g : null;
      const inputs = rec.inputs;
      const needs = inputs.map((j) => j >= 0);
      if (!needs.includes(true)) continue;
      const inCts = rec.prim.vjp(this.cx, g!, rec.primals, rec.out, rec.params, needs);
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
