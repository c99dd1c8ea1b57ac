/**
 * The common part of every compute request (SPEC.md section 3), validated: exactly one of
 * `program` or `graph`, the inputs `at`, `wrt`, `output` and `options`. Errors are
 * INVALID_REQUEST (400) with the JSON pointer of the offending field, or TOO_LARGE (413).
 */
import { formatShape, sameShape, type Tensor } from '../engine/index.js';
import { MAX_SEED } from '../engine/random.js';
import type { Graph, GraphNode } from '../lang/graph.js';
import { Problem } from './problem.js';
import { COMMON_FIELDS, COMMON_OPTIONS, type EndpointFields } from './schemas/shared.js';
import { decodeValue, type Layout } from './values.js';

export interface RequestLimits {
  /** The longest program text, in characters. */
  maxProgramLength?: number;
  /** The most inputs (entries of `at`) of a request. */
  maxInputs?: number;
  /** The most elements of any one tensor in the request. */
  maxTensorElements?: number;
  /** The most nodes of an expression graph. */
  maxGraphNodes?: number;
}

export interface ParsedRequest {
  readonly program: string | null;
  readonly graph: Graph | null;
  /** The inputs, in the order of `at`. */
  readonly at: ReadonlyMap<string, Tensor>;
  readonly wrt: readonly string[];
  readonly output: string | null;
  readonly layout: Layout;
  readonly timeoutMs: number | null;
  /** The seed the request gives, or null: then the evaluation picks a fresh one. */
  readonly seed: number | null;
  readonly options: Readonly<Record<string, unknown>>;
  readonly body: Readonly<Record<string, unknown>>;
}

export { COMMON_OPTIONS, type EndpointFields } from './schemas/shared.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A letter as mathjs's parser has it (`parse.isAlpha`): ASCII letters, `_`, `$`, Latin-1 to
 * IPA letters (é), Greek (α), letter-like symbols (ℏ), and the mathematical alphanumeric
 * symbols (𝑥, a surrogate pair) but for the code points Unicode leaves unassigned there.
 */
const LETTER = String.raw`(?:[A-Za-z_$\u00C0-\u02AF\u0370-\u03FF\u2100-\u214F]|\uD835(?![\uDC55\uDC9D\uDCA0\uDCA1\uDCA3\uDCA4\uDCA7\uDCA8\uDCAD\uDCBA\uDCBC\uDCC4\uDD06\uDD0B\uDD0C\uDD15\uDD1D\uDD3A\uDD3F\uDD45\uDD47-\uDD49\uDD51\uDEA6\uDEA7\uDFCC\uDFCD])[\uDC00-\uDFFF])`;
const NAME = new RegExp(`^${LETTER}(?:${LETTER}|[0-9])*$`);

/** Whether `s` is a name a program can use: a letter, then letters and digits (test/compute/validation.test.ts holds it to mathjs's parser). */
export function isName(s: string): boolean {
  return NAME.test(s);
}

/** What a name is, for messages. */
export const NAME_RULE = 'a name: a letter (Latin, Greek such as α, _ or $), then letters and digits, as in programs';

/** A JSON pointer's reference token for a key the client chose (RFC 6901: `~` and `/` escaped). */
function pointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function parseGraph(json: unknown, limits: RequestLimits): Graph {
  if (!isObject(json)) throw new Problem('INVALID_REQUEST', '"graph" must be an object with "nodes" and "output"', { path: '/graph' });
  const { nodes, output } = json;
  if (!Array.isArray(nodes)) throw new Problem('INVALID_REQUEST', '"graph.nodes" must be a list of nodes', { path: '/graph/nodes' });
  if (typeof output !== 'string') throw new Problem('INVALID_REQUEST', '"graph.output" must be the id of a node or an input', { path: '/graph/output' });
  const max = limits.maxGraphNodes ?? Infinity;
  if (nodes.length > max) throw new Problem('TOO_LARGE', `the graph has ${nodes.length} nodes, over the limit of ${max}`, { path: '/graph/nodes' });
  const parsed = nodes.map((node, i): GraphNode => {
    const path = `/graph/nodes/${i}`;
    if (!isObject(node)) throw new Problem('INVALID_REQUEST', 'a node must be an object {"id", "op", "args"} or {"id", "op": "const", "value"}', { path });
    const { id, op, args, value } = node;
    if (typeof id !== 'string' || !isName(id)) throw new Problem('INVALID_REQUEST', `a node id must be ${NAME_RULE}`, { path: `${path}/id` });
    if (typeof op !== 'string') throw new Problem('INVALID_REQUEST', 'a node needs "op", a function name or "const"', { path: `${path}/op` });
    if (op === 'const') {
      if (value === undefined) throw new Problem('INVALID_REQUEST', 'a const node needs "value"', { path: `${path}/value` });
      const decoded = typeof value === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(value) ? value : decodeValue(value, `${path}/value`, { maxElements: limits.maxTensorElements });
      return { id, op, value: decoded };
    }
    if (args !== undefined && (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && isName(a)))) {
      throw new Problem('INVALID_REQUEST', '"args" must be a list of node ids or input names', { path: `${path}/args` });
    }
    return { id, op, args: (args as string[] | undefined) ?? [] };
  });
  return { nodes: parsed, output };
}

/** Validates a request body; `endpoint` lists the endpoint's own fields and options. */
export function parseRequest(body: unknown, endpoint: EndpointFields, limits: RequestLimits = {}): ParsedRequest {
  if (!isObject(body)) throw new Problem('INVALID_REQUEST', 'the request body must be a JSON object', { path: '' });
  const fields = [...COMMON_FIELDS, ...endpoint.fields];
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) {
      throw new Problem('INVALID_REQUEST', `unknown field "${key}"; this endpoint takes ${fields.join(', ')}`, { path: pointer(key) });
    }
  }
  const hasProgram = body.program !== undefined;
  const hasGraph = body.graph !== undefined;
  if (hasProgram === hasGraph) throw new Problem('INVALID_REQUEST', 'send exactly one of "program" or "graph"', { path: '' });
  let program: string | null = null;
  if (hasProgram) {
    if (typeof body.program !== 'string') throw new Problem('INVALID_REQUEST', '"program" must be a string', { path: '/program' });
    const max = limits.maxProgramLength ?? Infinity;
    if (body.program.length > max) throw new Problem('TOO_LARGE', `the program has ${body.program.length} characters, over the limit of ${max}`, { path: '/program' });
    program = body.program;
  }
  const graph = hasGraph ? parseGraph(body.graph, limits) : null;

  const atJson = body.at ?? {};
  if (!isObject(atJson)) throw new Problem('INVALID_REQUEST', '"at" must be an object of input values, {"x": 0.5}', { path: '/at' });
  const names = Object.keys(atJson);
  const maxInputs = limits.maxInputs ?? Infinity;
  if (names.length > maxInputs) throw new Problem('TOO_LARGE', `"at" has ${names.length} inputs, over the limit of ${maxInputs}`, { path: '/at' });
  const at = new Map<string, Tensor>();
  for (const name of names) {
    if (!isName(name)) throw new Problem('INVALID_REQUEST', `${JSON.stringify(name.slice(0, 40))} is not a valid input name: an input name is ${NAME_RULE}`, { path: `/at${pointer(name)}` });
    at.set(name, decodeValue(atJson[name], `/at${pointer(name)}`, { maxElements: limits.maxTensorElements }));
  }

  let wrt: string[];
  if (body.wrt === undefined) wrt = [...at.keys()];
  else {
    if (!Array.isArray(body.wrt) || !body.wrt.every((w) => typeof w === 'string')) {
      throw new Problem('INVALID_REQUEST', '"wrt" must be a list of input names', { path: '/wrt' });
    }
    wrt = body.wrt as string[];
    wrt.forEach((name, i) => {
      if (!at.has(name)) {
        const inputs = [...at.keys()];
        throw new Problem(
          'INVALID_ARGUMENT',
          `"wrt" names "${name}", which is not an input: ${inputs.length === 0 ? '"at" gives no inputs' : `the inputs in "at" are ${inputs.join(', ')}`}`,
          { path: `/wrt/${i}` },
        );
      }
    });
    if (new Set(wrt).size !== wrt.length) throw new Problem('INVALID_REQUEST', '"wrt" names an input twice', { path: '/wrt' });
  }

  let output: string | null = null;
  if (body.output !== undefined) {
    if (typeof body.output !== 'string' || !isName(body.output)) throw new Problem('INVALID_REQUEST', `"output" must be a variable name: ${NAME_RULE}`, { path: '/output' });
    if (hasGraph) throw new Problem('INVALID_REQUEST', '"output" is for programs; a graph names its output in "graph.output"', { path: '/output' });
    output = body.output;
  }
  const seed = body.seed ?? null;
  if (seed !== null && !(Number.isSafeInteger(seed) && (seed as number) >= 0)) {
    throw new Problem('INVALID_REQUEST', `"seed" must be an integer from 0 to ${MAX_SEED}`, { path: '/seed' });
  }

  const options = body.options ?? {};
  if (!isObject(options)) throw new Problem('INVALID_REQUEST', '"options" must be an object', { path: '/options' });
  const known = [...COMMON_OPTIONS, ...endpoint.options];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new Problem('INVALID_REQUEST', `unknown option "${key}"; this endpoint's options are ${known.join(', ')}`, { path: `/options${pointer(key)}` });
    }
  }
  const form = options.layout ?? 'nested';
  if (form !== 'nested' && form !== 'flat') throw new Problem('INVALID_REQUEST', '"options.layout" must be "nested" or "flat"', { path: '/options/layout' });
  const layout: Layout = { form, maxElements: limits.maxTensorElements ?? Infinity };
  let timeoutMs: number | null = null;
  if (options.timeoutMs !== undefined) {
    if (typeof options.timeoutMs !== 'number' || !(options.timeoutMs > 0)) {
      throw new Problem('INVALID_REQUEST', '"options.timeoutMs" must be a positive number of milliseconds', { path: '/options/timeoutMs' });
    }
    timeoutMs = options.timeoutMs;
  }
  return { program, graph, at, wrt, output, layout, timeoutMs, seed: seed as number | null, options, body };
}

/** A string option with a fixed set of values and a default. */
export function optionOf<T extends string>(request: ParsedRequest, name: string, allowed: readonly T[], fallback: T): T {
  const v = request.options[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Problem('INVALID_REQUEST', `"options.${name}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`, { path: `/options/${name}` });
  }
  return v as T;
}

/** A tensor field of the body (`cotangent`), or null when absent. */
export function tensorField(request: ParsedRequest, name: string, limits: RequestLimits): Tensor | null {
  const v = request.body[name];
  return v === undefined ? null : decodeValue(v, `/${name}`, { maxElements: limits.maxTensorElements });
}

/** A {name: tensor} field of the body (`tangents`), checked against the inputs' names and shapes. */
export function tensorsField(request: ParsedRequest, name: string, limits: RequestLimits): Map<string, Tensor> {
  const v = request.body[name];
  const out = new Map<string, Tensor>();
  if (v === undefined) return out;
  if (!isObject(v)) throw new Problem('INVALID_REQUEST', `"${name}" must be an object {input name: value}`, { path: `/${name}` });
  for (const [key, value] of Object.entries(v)) {
    if (!request.at.has(key)) throw new Problem('INVALID_ARGUMENT', `"${name}" gives "${key}", which is not an input in "at"`, { path: `/${name}${pointer(key)}` });
    const t = decodeValue(value, `/${name}${pointer(key)}`, { maxElements: limits.maxTensorElements });
    const x = request.at.get(key)!;
    if (!sameShape(t.shape, x.shape)) {
      throw new Problem('SHAPE_MISMATCH', `the ${name.replace(/s$/, '')} of "${key}" has shape ${formatShape(t.shape)}, but "${key}" has shape ${formatShape(x.shape)}`, {
        path: `/${name}${pointer(key)}`,
      });
    }
    out.set(key, t);
  }
  return out;
}
