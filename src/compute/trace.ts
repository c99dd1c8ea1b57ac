/**
 * `trace`: the Wengert list of an evaluation, as the course teaches it. Every function the
 * program calls whose result depends on the inputs is a step, with its operation, its
 * arguments, its value, its forward tangent and its reverse adjoint; everything else is a
 * constant. The same steps, as an expression graph, evaluate to the same results.
 *
 * One run computes all three: the inputs carry forward-mode tangents (outer) and are recorded
 * on a tape (inner), whose backward pass then gives every step's adjoint.
 */
import { JvpTrace, JvpTracer, Tape, TapeTracer, Tensor, concrete, formatShape, sameShape, sizeOf, type Value } from '../engine/index.js';
import { Distribution } from '../distributions/index.js';
import type { LangValue } from '../lang/catalogue.js';
import type { ProgramEndpoint } from './endpoint.js';
import type { Evaluation } from './evaluation.js';
import { Problem } from './problem.js';
import { tracePicture, type TraceTable } from './picture.js';
import { optionOf, tensorField, tensorsField } from './request.js';
import { encodeValue } from './values.js';
import { endpointFields } from './schemas/index.js';

/** An argument of a step: an input's name, an earlier step's id, or a constant. */
type Ref = string | { const: unknown };

interface Step {
  readonly id: string;
  readonly op: string;
  readonly args: readonly Ref[];
  /** The step's value, or the distribution it made. */
  readonly out: TapeTracer | Distribution;
}

export const traceEndpoint: ProgramEndpoint = { name: 'trace', ...endpointFields('trace'), handle: trace };

function trace(ev: Evaluation): unknown {
  const { request } = ev;
  const format = optionOf<'table' | 'graph' | 'dot' | 'svg'>(request, 'format', 'table');
  const layout = request.layout;
  const cx = ev.context();

  // Tangents: as given, else a unit tangent along the first input (d/dx of every step).
  const given = tensorsField(request, 'tangents', ev.limits);
  const tangents = request.wrt.map((name, i) => given.get(name) ?? (given.size === 0 && i === 0 ? Tensor.full(request.at.get(name)!.shape, 1) : null));
  const forward = new JvpTrace(cx);
  const tape = new Tape(cx);
  const names = new Map<Value | Distribution, string>();
  const inputs = new Map<string, LangValue>(request.at);
  request.wrt.forEach((name, i) => {
    const leaf = tape.leaf(forward.input(request.at.get(name)!, tangents[i]));
    inputs.set(name, leaf);
    names.set(leaf, name);
  });

  const steps: Step[] = [];
  // Step ids v1, v2, … and constant ids c1, c2, … unless an input has such a name: then the
  // prefix grows (v_1, c_1) until no id can be mistaken for an input.
  // The fewest underscores no such input has, found in one pass over the inputs.
  const taken = new Set<number>();
  for (const name of request.at.keys()) {
    const m = /^[vc](_*)\d+$/.exec(name);
    if (m !== null) taken.add(m[1].length);
  }
  let underscores = 0;
  while (taken.has(underscores)) underscores++;
  const suffix = '_'.repeat(underscores);
  const stepPrefix = `v${suffix}`;
  const constPrefix = `c${suffix}`;
  const ref = (v: LangValue): Ref =>
    typeof v === 'string' ? { const: v } : (names.get(v) ?? { const: v instanceof Distribution ? v.family.name : encodeValue(v, layout) });
  const output = ev.output(cx, inputs, (op, args, out) => {
    // Distributions are steps too (their parameters' tangents and adjoints show on the steps that use them).
    if (!(out instanceof Distribution) && (!(out instanceof TapeTracer) || out.trace !== tape)) return;
    if (names.has(out)) return;
    const id = `${stepPrefix}${steps.length + 1}`;
    steps.push({ id, op, args: args.map(ref), out });
    names.set(out, id);
  });

  // Adjoints: the backward pass from the output, keeping every record's cotangent.
  const index = tape.indexOf(output);
  const cotangent = tensorField(request, 'cotangent', ev.limits);
  // The graph needs no adjoints, so any output exports; the table's (and pictures') adjoints need a scalar or a cotangent.
  if (format !== 'graph' && cotangent === null && sizeOf(output.shape) !== 1) {
    throw new Problem('NOT_SCALAR', `the output has shape ${formatShape(output.shape)}; send "cotangent", a tensor shaped like it, to trace adjoints`, {
      path: '/cotangent',
    });
  }
  if (cotangent !== null && !sameShape(cotangent.shape, output.shape)) {
    throw new Problem('SHAPE_MISMATCH', `the cotangent has shape ${formatShape(cotangent.shape)}, but the output has shape ${formatShape(output.shape)}`, {
      path: '/cotangent',
    });
  }
  const adjoints = index < 0 || format === 'graph' ? [] : tape.backward(index, cotangent ?? Tensor.full(output.shape, 1), true);
  const adjointOf = (v: TapeTracer): Value => adjoints[v.index] ?? Tensor.zeros(v.shape);
  const tangentOf = (v: Value): Value => {
    const inner = v instanceof TapeTracer ? v.primal : v;
    return inner instanceof JvpTracer && inner.trace === forward ? (inner.tangent ?? Tensor.zeros(v.shape)) : Tensor.zeros(v.shape);
  };
  const encode = (v: Value): unknown => encodeValue(concrete(v), layout);
  const outputRef = ref(output);

  if (format === 'graph') {
    const nodes: unknown[] = [];
    const constId = (value: unknown): string => {
      const id = `${constPrefix}${nodes.length + 1}`;
      nodes.push({ id, op: 'const', value });
      return id;
    };
    for (const s of steps) nodes.push({ id: s.id, op: s.op, args: s.args.map((a) => (typeof a === 'string' ? a : constId(a.const))) });
    const out = typeof outputRef === 'string' ? outputRef : constId(outputRef.const);
    return { value: encode(output), graph: { nodes, output: out } };
  }

  const table: TraceTable = {
    value: encode(output),
    inputs: request.wrt.map((name, i) => {
      const leaf = inputs.get(name) as TapeTracer;
      return { name, value: encode(leaf), tangent: encode(tangents[i] ?? Tensor.zeros(leaf.shape)), adjoint: encode(adjointOf(leaf)) };
    }),
    steps: steps.map((s) =>
      s.out instanceof Distribution
        ? { id: s.id, op: s.op, args: s.args, value: s.out.family.name, tangent: null, adjoint: null }
        : { id: s.id, op: s.op, args: s.args, value: encode(s.out), tangent: encode(tangentOf(s.out)), adjoint: encode(adjointOf(s.out)) },
    ),
    output: outputRef,
  };
  return format === 'table' ? table : tracePicture(format, table);
}
