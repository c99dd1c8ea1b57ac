/**
 * Expression graphs (SPEC.md section 2) to the same IR as programs: one assignment per node in
 * dependency order, then the output. Nodes may come in any order; a duplicate id, a cycle, an
 * unknown op or a wrong number of arguments is an error located by a JSON pointer.
 */
import { Tensor } from '../engine/index.js';
import { functionNamed, knownNames, refusal } from './catalogue.js';
import { ProgramError, type Loc } from './errors.js';
import type { Expr, Program, Stmt } from './ir.js';
import { closest } from './suggest.js';

export interface GraphNode {
  readonly id: string;
  readonly op: string;
  readonly args?: readonly string[];
  /** For `const` nodes: the value (already decoded), or a string option. */
  readonly value?: Tensor | string;
}

export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly output: string;
}

/** Compiles a graph; `base` is the JSON pointer of the graph in the request. */
export function graphProgram(graph: Graph, base = '/graph'): Program {
  const at = (i: number, field?: string): Loc => ({ line: 0, column: 0, path: `${base}/nodes/${i}${field === undefined ? '' : `/${field}`}` });
  const byId = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    if (byId.has(node.id)) throw new ProgramError('INVALID_ARGUMENT', `duplicate node id "${node.id}" (also node ${byId.get(node.id)})`, at(i, 'id'));
    byId.set(node.id, i);
  });
  const inputs = new Set<string>();
  graph.nodes.forEach((node, i) => {
    if (node.op === 'const') {
      if (node.value === undefined) throw new ProgramError('INVALID_ARGUMENT', `const node "${node.id}" has no value`, at(i));
      return;
    }
    const refused = refusal(node.op);
    if (refused !== undefined) throw new ProgramError('UNKNOWN_NAME', `op "${node.op}" is not available: ${refused}`, at(i, 'op'));
    if (functionNamed(node.op) === undefined) {
      const hint = closest(node.op, knownNames());
      throw new ProgramError('UNKNOWN_NAME', `unknown op "${node.op}"${hint === null ? '' : `; did you mean "${hint}"?`}`, at(i, 'op'));
    }
    const [min, max] = functionNamed(node.op)!.arity;
    const n = node.args?.length ?? 0;
    if (n < min || n > max) {
      const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new ProgramError('INVALID_ARGUMENT', `op "${node.op}" takes ${expected} argument${expected === '1' ? '' : 's'}, got ${n}`, at(i, 'args'));
    }
    for (const a of node.args ?? []) if (!byId.has(a)) inputs.add(a);
  });
  if (!byId.has(graph.output) && !inputs.has(graph.output)) inputs.add(graph.output);

  // Kahn's algorithm: a node is ready once every node it reads has been emitted.
  const waiting = graph.nodes.map((node) => new Set((node.args ?? []).filter((a) => byId.has(a))).size);
  const readers = new Map<string, number[]>();
  graph.nodes.forEach((node, i) => {
    for (const a of new Set(node.args ?? [])) if (byId.has(a)) readers.set(a, [...(readers.get(a) ?? []), i]);
  });
  const ready = graph.nodes.flatMap((_, i) => (waiting[i] === 0 ? [i] : []));
  const body: Stmt[] = [];
  while (ready.length > 0) {
    const i = ready.pop()!;
    const node = graph.nodes[i];
    body.push({ kind: 'assign', name: node.id, value: nodeExpr(node, at(i)), loc: at(i) });
    for (const r of readers.get(node.id) ?? []) if (--waiting[r] === 0) ready.push(r);
  }
  if (body.length < graph.nodes.length) {
    const stuck = graph.nodes.findIndex((_, i) => waiting[i] > 0);
    throw new ProgramError('INVALID_ARGUMENT', `the graph has a cycle through node "${graph.nodes[stuck].id}"`, at(stuck));
  }
  const outLoc: Loc = { line: 0, column: 0, path: `${base}/output` };
  body.push({ kind: 'expr', value: { kind: 'var', name: graph.output, loc: outLoc }, loc: outLoc });
  return { body, inputs: [...inputs], assigned: graph.nodes.map((n) => n.id) };
}

function nodeExpr(node: GraphNode, loc: Loc): Expr {
  if (node.op === 'const') {
    const v = node.value!;
    return typeof v === 'string' ? { kind: 'string', value: v, loc } : { kind: 'const', value: v, loc };
  }
  return { kind: 'call', fn: node.op, args: (node.args ?? []).map((name) => ({ kind: 'var', name, loc }) as Expr), loc };
}
