/**
 * What a schema cannot say about the common part of a compute request (SPEC.md section 3),
 * checked after its endpoint's schema accepted the body (schemas/validate.ts): the limits
 * (TOO_LARGE, 413), names as programs have them, `wrt` against the inputs, `output` with a
 * graph, exactly one of `program` or `graph`; and the tensors decoded. Types, unknown fields
 * and options, enums and ranges are the schema's alone.
 */
import { formatShape, sameShape, type ReusableStorage, type Tensor } from '../engine/index.js';
import type { Graph, GraphNode } from '../lang/graph.js';
import { Problem } from './problem.js';
import type { CommonRequest, GraphJson } from './schemas/shared.js';
import type { ValidBody } from './schemas/validate.js';
import { decodeValue, decodeValues, type Layout } from './values.js';

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

export interface ParsedRequest<Body extends CommonRequest = CommonRequest> {
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
  readonly options: NonNullable<Body['options']>;
  /** The body as its endpoint's schema accepted it. */
  readonly body: Body;
}

export { COMMON_OPTIONS, type EndpointFields } from './schemas/shared.js';

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
  // A name (every input's) has neither: no string is made again for it.
  if (!key.includes('~') && !key.includes('/')) return `/${key}`;
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function parseGraph(json: GraphJson, limits: RequestLimits): Graph {
  const { nodes, output } = json;
  const max = limits.maxGraphNodes ?? Infinity;
  if (nodes.length > max) throw new Problem('TOO_LARGE', `the graph has ${nodes.length} nodes, over the limit of ${max}`, { path: '/graph/nodes' });
  const parsed = nodes.map(({ id, op, args, value }, i): GraphNode => {
    const path = `/graph/nodes/${i}`;
    if (!isName(id)) throw new Problem('INVALID_REQUEST', `a node id must be ${NAME_RULE}`, { path: `${path}/id` });
    if (op === 'const') {
      if (value === undefined) throw new Problem('INVALID_REQUEST', 'a const node needs "value"', { path: `${path}/value` });
      const decoded = typeof value === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(value) ? value : decodeValue(value, `${path}/value`, { maxElements: limits.maxTensorElements });
      return { id, op, value: decoded };
    }
    if (args !== undefined && !args.every(isName)) throw new Problem('INVALID_REQUEST', '"args" must be a list of node ids or input names', { path: `${path}/args` });
    return { id, op, args: args ?? [] };
  });
  return { nodes: parsed, output };
}

/**
 * The request in `body`, which its endpoint's schema accepted: what the schema cannot say
 * checked, the tensors decoded (those of `at` into `storage`, if given: see compute.ts).
 */
export function parseRequest<Body extends CommonRequest>(body: ValidBody<Body>, limits: RequestLimits = {}, storage: ReusableStorage | null = null): ParsedRequest<Body> {
  const { program = null, graph: graphJson, output = null, seed = null, options = {} } = body;
  if ((program === null) === (graphJson === undefined)) throw new Problem('INVALID_REQUEST', 'send exactly one of "program" or "graph"', { path: '' });
  const maxProgram = limits.maxProgramLength ?? Infinity;
  if (program !== null && program.length > maxProgram) throw new Problem('TOO_LARGE', `the program has ${program.length} characters, over the limit of ${maxProgram}`, { path: '/program' });
  const graph = graphJson === undefined ? null : parseGraph(graphJson, limits);

  const atJson = body.at ?? {};
  const names = Object.keys(atJson);
  const maxInputs = limits.maxInputs ?? Infinity;
  if (names.length > maxInputs) throw new Problem('TOO_LARGE', `"at" has ${names.length} inputs, over the limit of ${maxInputs}`, { path: '/at' });
  for (const name of names) {
    if (!isName(name)) throw new Problem('INVALID_REQUEST', `${JSON.stringify(name.slice(0, 40))} is not a valid input name: an input name is ${NAME_RULE}`, { path: `/at${pointer(name)}` });
  }
  const tensors = decodeValues(
    names.map((name) => [atJson[name], `/at${pointer(name)}`] as const),
    { maxElements: limits.maxTensorElements },
    storage,
  );
  const at = new Map<string, Tensor>(names.map((name, k) => [name, tensors[k]]));

  const wrt = body.wrt ?? [...at.keys()];
  wrt.forEach((name, i) => {
    if (!at.has(name)) {
      const inputs = [...at.keys()];
      throw new Problem('INVALID_ARGUMENT', `"wrt" names "${name}", which is not an input: ${inputs.length === 0 ? '"at" gives no inputs' : `the inputs in "at" are ${inputs.join(', ')}`}`, {
        path: `/wrt/${i}`,
      });
    }
  });
  if (new Set(wrt).size !== wrt.length) throw new Problem('INVALID_REQUEST', '"wrt" names an input twice', { path: '/wrt' });

  if (output !== null) {
    if (!isName(output)) throw new Problem('INVALID_REQUEST', `"output" must be a variable name: ${NAME_RULE}`, { path: '/output' });
    if (graph !== null) throw new Problem('INVALID_REQUEST', '"output" is for programs; a graph names its output in "graph.output"', { path: '/output' });
  }
  // JSON has no NaN, but a library call may pass one: the schema's exclusiveMinimum lets it through.
  if (Number.isNaN(options.timeoutMs)) throw new Problem('INVALID_REQUEST', '"options.timeoutMs" must be a positive number of milliseconds', { path: '/options/timeoutMs' });
  const layout: Layout = { form: options.layout ?? 'nested', maxElements: limits.maxTensorElements ?? Infinity };
  return { program, graph, at, wrt, output, layout, timeoutMs: options.timeoutMs ?? null, seed, options: options as NonNullable<Body['options']>, body };
}

/** A tensor field of the body (`cotangent`), or null when absent. */
export function tensorField(request: ParsedRequest, name: string, limits: RequestLimits): Tensor | null {
  const v = request.body[name];
  return v === undefined ? null : decodeValue(v, `/${name}`, { maxElements: limits.maxTensorElements });
}

/** A {name: tensor} field of the body (`tangents`), checked against the inputs' names and shapes. */
export function tensorsField(request: ParsedRequest, name: string, limits: RequestLimits): Map<string, Tensor> {
  const v = request.body[name] as Readonly<Record<string, unknown>> | undefined;
  const out = new Map<string, Tensor>();
  for (const [key, value] of Object.entries(v ?? {})) {
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

/** A string option, which the schema holds to its values, or its default. */
export function optionOf<T extends string>(request: ParsedRequest, name: string, fallback: NoInfer<T>): T {
  return (request.options[name] as T | undefined) ?? fallback;
}
