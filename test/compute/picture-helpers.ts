/**
 * Reading the pictures of a trace back, for the tests: DOT parsed by Graphviz itself (a test
 * instance of @viz-js/viz, apart from the service's), and SVG checked for well-formed XML.
 */
import { instance, type Viz } from '@viz-js/viz';

let viz: Viz | null = null;

/** A node as Graphviz reads it: its name, the lines of its label as drawn, and its attributes. */
export interface ParsedNode {
  readonly name: string;
  readonly lines: string[];
  readonly attributes: Record<string, unknown>;
}

export interface ParsedGraph {
  readonly nodes: Map<string, ParsedNode>;
  /** "tail -> head", in order. */
  readonly edges: string[];
}

/**
 * Parses and lays out DOT with Graphviz; throws with Graphviz's message when it does not parse.
 * The structure comes from Graphviz's JSON, the lines drawn from its SVG (its JSON escapes
 * backslashes in text twice).
 */
export async function parseDot(dot: string): Promise<ParsedGraph> {
  viz ??= await instance();
  const json = viz.renderJSON(dot) as { objects?: ({ _gvid: number; name: string } & Record<string, unknown>)[]; edges?: { tail: number; head: number }[] };
  const drawn = new Map<number, string[]>();
  for (const m of viz.renderString(dot, { format: 'svg' }).matchAll(/<g id="node(\d+)" class="node">([\s\S]*?)<\/g>/g)) {
    drawn.set(Number(m[1]) - 1, [...m[2].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => unescapeXml(t[1])));
  }
  const objects = json.objects ?? [];
  const nodes = new Map<string, ParsedNode>();
  for (const o of objects) nodes.set(o.name, { name: o.name, lines: drawn.get(o._gvid) ?? [], attributes: o });
  const edges = (json.edges ?? []).map((e) => `${objects[e.tail].name} -> ${objects[e.head].name}`);
  return { nodes, edges };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML text with its entities replaced. */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? m),
  );
}

/**
 * What keeps `svg` from being one well-formed XML element: characters XML forbids, a raw `<`
 * or `&` in text, unquoted attributes, unbalanced tags, more than one root. Empty when none.
 */
export function xmlProblems(svg: string): string[] {
  const problems: string[] = [];
  // eslint-disable-next-line no-control-regex -- the characters XML forbids
  const bad = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(svg);
  if (bad !== null) problems.push(`character U+${bad[0].charCodeAt(0).toString(16)} at ${bad.index}`);
  const body = svg.replace(/^<\?xml[^>]*\?>/, '').replace(/<!DOCTYPE[^>[]*(\[[^\]]*\])?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)|([\s\S])/g;
  const open: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(token)) {
    const [, closing, name, , selfClosing, text, stray] = m;
    if (stray !== undefined) {
      problems.push(`a stray ${JSON.stringify(stray)} at ${m.index}: ${JSON.stringify(body.slice(m.index, m.index + 40))}`);
      break;
    }
    if (text !== undefined) {
      if (open.length === 0 && text.trim() !== '') problems.push(`text outside the root: ${JSON.stringify(text.slice(0, 40))}`);
      if (/&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)/.test(text)) problems.push(`a raw & in ${JSON.stringify(text.slice(0, 40))}`);
      continue;
    }
    if (closing === '/') {
      const top = open.pop();
      if (top !== name) {
        problems.push(`</${name}> closes <${top}>`);
        break;
      }
    } else if (selfClosing !== '/') {
      if (open.length === 0) roots++;
      open.push(name);
    } else if (open.length === 0) roots++;
  }
  if (open.length > 0) problems.push(`unclosed <${open.join('>, <')}>`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** The node groups of Graphviz's SVG: each node's name (its <title>) and the lines of text drawn in it. */
export function svgNodes(svg: string): Map<string, string[]> {
  const nodes = new Map<string, string[]>();
  for (const m of svg.matchAll(/<g id="node\d+" class="node">\s*<title>([^<]*)<\/title>([\s\S]*?)<\/g>/g)) {
    nodes.set(unescapeXml(m[1]), [...m[2].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => unescapeXml(t[1])));
  }
  return nodes;
}
