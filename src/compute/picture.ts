/**
 * Pictures of a trace (`options.format` "dot" and "svg"): the Wengert list drawn as the
 * lecture draws a computational graph. One node per input and per step, labelled with its
 * operation (or name), value, forward tangent and reverse adjoint; constants as small nodes;
 * an edge from each argument to the step that uses it; the output with a double border.
 *
 * Everything in the DOT text that a client could have chosen (names, string constants) is
 * written only inside quoted strings, escaped for both of Graphviz's readings: the DOT lexer
 * (`"` and `\`) and label text (`\n`, `\N`, … and HTML entities), so a label shows exactly
 * its text and nothing can end the string early.
 */
import { Problem } from './problem.js';
import { renderSvg } from './svg.js';

/** The most steps a picture draws: a larger graph is unreadable, and slow to lay out. */
export const MAX_PICTURE_STEPS = 500;
/** The most edges (arguments of steps): a matrix literal of many inputs is one step with many. */
export const MAX_PICTURE_EDGES = 2000;
/**
 * The most layers that the edges of an SVG picture may cross in all. Graphviz's dot puts a
 * virtual node on every layer an edge crosses, and its layout time grows faster than their
 * number: 20,000 take about a second (a loop of 200 steps that each use the input x: the edge
 * from x to step k crosses k layers). DOT text has no such limit: it costs nothing to write.
 */
export const MAX_LAYOUT_SPAN = 20_000;
/** Past this many nodes, edges and crossed layers, Graphviz lays out with cheaper settings (straight edges, fewer passes). */
const LARGE_LAYOUT = 1000;

/** An argument of a step as the table has it: an input's name, an earlier step's id, or a constant. */
export type TraceRef = string | { const: unknown };

/** The trace as format "table" answers it (values encoded as in the response). */
export interface TraceTable {
  readonly value: unknown;
  readonly inputs: readonly { name: string; value: unknown; tangent: unknown; adjoint: unknown }[];
  readonly steps: readonly { id: string; op: string; args: readonly TraceRef[]; value: unknown; tangent: unknown; adjoint: unknown }[];
  readonly output: TraceRef;
}

/** The response of format "dot" or "svg" for the trace `table`. */
export function tracePicture(format: 'dot' | 'svg', table: TraceTable): { value: unknown; dot: string } | { value: unknown; svg: string } {
  const dot = traceDot(table);
  if (format === 'dot') return { value: table.value, dot };
  const span = layoutSpan(table);
  if (span > MAX_LAYOUT_SPAN) {
    throw new Problem(
      'LIMIT_EXCEEDED',
      `picture size limit exceeded: the edges of this graph cross ${span} layers in all, over the ${MAX_LAYOUT_SPAN} the server lays out; ` +
        'format "dot" gives the same graph as Graphviz source to draw elsewhere, "table" the whole trace',
      { limit: 'picture size' },
    );
  }
  return { value: table.value, svg: renderSvg(dot) };
}

/**
 * The layers the edges cross in all, as dot ranks the graph: a step one layer past its
 * deepest argument, an input or a constant one layer before its first use.
 */
export function layoutSpan(table: TraceTable): number {
  const layer = new Map<string, number>();
  for (const step of table.steps) layer.set(step.id, 1 + Math.max(0, ...step.args.map((a) => (typeof a === 'string' ? (layer.get(a) ?? 0) : 0))));
  const inputLayer = new Map<string, number>();
  for (const step of table.steps) {
    for (const a of step.args) if (typeof a === 'string' && !layer.has(a)) inputLayer.set(a, Math.min(inputLayer.get(a) ?? Infinity, layer.get(step.id)! - 1));
  }
  let span = 0;
  for (const step of table.steps) {
    for (const a of step.args) if (typeof a === 'string') span += layer.get(step.id)! - (layer.get(a) ?? inputLayer.get(a)!) - 1;
  }
  return span;
}

const FONT = 'Helvetica,Arial,sans-serif';

/** Graphviz DOT source of the trace's computational graph. */
export function traceDot(table: TraceTable): string {
  const edgeCount = table.steps.reduce((n, s) => n + s.args.length, 0);
  if (table.steps.length > MAX_PICTURE_STEPS || edgeCount > MAX_PICTURE_EDGES) {
    const [what, count, max] = table.steps.length > MAX_PICTURE_STEPS ? ['steps', table.steps.length, MAX_PICTURE_STEPS] : ['arguments', edgeCount, MAX_PICTURE_EDGES];
    throw new Problem(
      'LIMIT_EXCEEDED',
      `picture size limit exceeded: the trace has ${count} ${what}, over the ${max} a picture draws; format "table" or "graph" gives the whole trace`,
      { limit: 'picture size' },
    );
  }

  // Constants get ids c1, c2, … unless an input or a step has such a name: then c_1, c__1, ….
  const taken = new Set([...table.inputs.map((i) => i.name), ...table.steps.map((s) => s.id)]);
  let constPrefix = 'c';
  while ([...taken].some((name) => new RegExp(`^${constPrefix}\\d+$`).test(name))) constPrefix += '_';

  const size = table.inputs.length + table.steps.length + edgeCount + layoutSpan(table);
  const lines: string[] = [
    'digraph trace {',
    `  graph [rankdir=LR, fontname=${quote(FONT)}, nodesep=0.3, ranksep=0.4${size > LARGE_LAYOUT ? ', splines=line, mclimit=0.1, nslimit=2, nslimit1=2, remincross=false, searchsize=10' : ''}];`,
    `  node [fontname=${quote(FONT)}, fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", margin="0.2,0.08"];`,
    `  edge [fontname=${quote(FONT)}, color="#555555", arrowsize=0.7];`,
  ];
  const outputId = typeof table.output === 'string' ? table.output : null;
  const marked = (id: string): string => (id === outputId ? ', peripheries=2, penwidth=1.5, fillcolor="#fff3c4"' : '');
  const numbers = (v: { value: unknown; tangent: unknown; adjoint: unknown }): string[] => [
    `value ${summarise(v.value)}`,
    `tangent ${summarise(v.tangent)}`,
    `adjoint ${summarise(v.adjoint)}`,
  ];

  for (const input of table.inputs) {
    const label = [`${input.name} (input)`, ...numbers(input), ...(input.name === outputId ? ['output'] : [])];
    lines.push(`  ${quote(input.name)} [label=${labelOf(label)}, shape=ellipse, fillcolor="#dbe9f6"${marked(input.name)}];`);
  }

  let constants = 0;
  const constant = (value: unknown, output = false): string => {
    const id = `${constPrefix}${++constants}`;
    const text = summarise(value);
    const label = short(text) ? [text] : [id, text];
    const look = output ? 'shape=box, peripheries=2, penwidth=1.5, fillcolor="#fff3c4"' : 'shape=plaintext, style="", fontsize=9';
    lines.push(`  ${quote(id)} [label=${labelOf(output ? [...label, 'output'] : label)}, ${look}];`);
    return id;
  };

  const edges: string[] = [];
  for (const step of table.steps) {
    const shown: string[] = [];
    for (const arg of step.args) {
      if (typeof arg === 'string') {
        edges.push(`  ${quote(arg)} -> ${quote(step.id)};`);
        shown.push(arg);
      } else {
        const id = constant(arg.const);
        edges.push(`  ${quote(id)} -> ${quote(step.id)} [style=dashed];`);
        const text = summarise(arg.const);
        shown.push(short(text) ? text : id);
      }
    }
    const formula = `${step.id} = ${step.op}(${shown.length > 6 ? [...shown.slice(0, 5), `… ${shown.length - 5} more`].join(', ') : shown.join(', ')})`;
    // A distribution is a step too; its value is the family, with no tangent or adjoint of its own.
    const body = step.tangent === null && typeof step.value === 'string' && !NON_FINITE.has(step.value) ? [`${step.value} distribution`] : numbers(step);
    lines.push(`  ${quote(step.id)} [label=${labelOf([formula, ...body, ...(step.id === outputId ? ['output'] : [])])}${marked(step.id)}];`);
  }
  if (typeof table.output !== 'string') constant(table.output.const, true);
  lines.push(...edges, '}', '');
  return lines.join('\n');
}

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** A summary short enough to show inside a step's formula: a number or a short string. */
const short = (text: string): boolean => text.length <= 12 && !text.startsWith('[');

/**
 * Text Graphviz shows as it is: control characters, lone surrogates and the non-characters
 * U+FFFE and U+FFFF (none allowed in XML, so in SVG) written as \u{…}.
 */
function visible(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it finds
  return text.replace(/[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/** A DOT quoted string: an id, or an attribute that is not a label. */
function quote(text: string): string {
  return `"${visible(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A label of lines. Graphviz reads a label's `\` escapes (\n, \l, \N for the node's name, …)
 * and HTML entities, so `\` is written `\\` and `&` `&amp;`; the lines are joined by `\n`.
 */
function labelOf(lines: readonly string[]): string {
  return `"${lines.map((line) => visible(line).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/&/g, '&amp;')).join('\\n')}"`;
}

/** A number with 5 significant digits, in exponent form when very large or small. */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : '-∞';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(4).replace(/\.?0+e/, 'e');
  return String(Number(x.toPrecision(5)));
}

/** Elements shown of a tensor. */
const SHOWN = 4;

/**
 * An encoded value (a number, "NaN", a nested array or {shape, data}), a string constant or a
 * distribution's family, in a few characters: a tensor as its shape and first elements.
 */
export function summarise(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return NON_FINITE.has(v) ? formatNumber(Number(v)) : JSON.stringify(v.length > 40 ? `${v.slice(0, 39)}…` : v);
  if (v === null || v === undefined) return '—';
  let shape: number[];
  let first: unknown[];
  if (Array.isArray(v)) {
    shape = [];
    for (let a: unknown = v; Array.isArray(a); a = a[0]) shape.push(a.length);
    first = [];
    const take = (a: unknown): void => {
      if (!Array.isArray(a)) {
        first.push(a);
        return;
      }
      for (const e of a) {
        if (first.length >= SHOWN) return;
        take(e);
      }
    };
    take(v);
  } else if (typeof v === 'object' && Array.isArray((v as { shape?: unknown }).shape) && Array.isArray((v as { data?: unknown }).data)) {
    shape = (v as { shape: number[] }).shape;
    first = (v as { data: unknown[] }).data.slice(0, SHOWN);
    if (shape.length === 0) return summarise(first[0]);
  } else {
    return JSON.stringify(v).slice(0, 40);
  }
  const size = shape.reduce((n, d) => n * d, 1);
  const elements = first.map((e) => (typeof e === 'number' || typeof e === 'string' ? summarise(e) : '?')).join(', ');
  return `[${shape.join('×')}] ${elements}${size > SHOWN ? ', …' : ''}`;
}
