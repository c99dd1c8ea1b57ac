/**
 * `compute(endpoint, body)`: exactly the JSON that `POST /v1/<endpoint>` returns for that body,
 * or a rejected `Problem`. The server's workers call it; tests and a browser widget may too.
 * Isomorphic: no Node.js API.
 *
 * A dispatcher over the endpoints, one module each (endpoint.ts says what one is): those that
 * evaluate a program get an `Evaluation` prepared from the body (evaluation.ts); the others
 * take the body as it is. Every body is first validated against its endpoint's schema
 * (schemas/validate.ts); what a schema cannot say (names, shapes against `wrt`, the limits) is
 * request.ts's.
 */
import { batchEndpoint } from './batch.js';
import { checkEndpoint } from './check.js';
import { derivativeEndpoint, loadSymbolic } from './derivative.js';
import { takesBody, type Endpoint } from './endpoint.js';
import { evalEndpoint } from './eval.js';
import { Evaluation, countOperations, type ComputeOptions } from './evaluation.js';
import { gradEndpoint } from './grad.js';
import { hessianEndpoint } from './hessian.js';
import { jacobianEndpoint } from './jacobian.js';
import { jvpEndpoint } from './jvp.js';
import { optimizeEndpoint } from './optimize.js';
import { Problem, toProblem } from './problem.js';
import { sampleEndpoint } from './sample.js';
import { optionsOf } from './schemas/index.js';
import { validBody } from './schemas/validate.js';
import { loadSvgRenderer, wantsSvg } from './svg.js';
import { traceEndpoint } from './trace.js';
import { ReusableStorage } from '../engine/index.js';
import { MAX_CACHED_PLAN_ELEMENTS } from './cache.js';

export { DEFAULT_LIMITS, LIMIT_SETTINGS, type ComputeLimits, type LimitSetting } from './limits.js';
export { ProgramCache, PROGRAM_CACHE_BYTES } from './cache.js';
export { prepare, type ComputeOptions, type Evaluation } from './evaluation.js';
export { sampleChunkSync } from './sample.js';

const ENDPOINTS: readonly Endpoint[] = [
  evalEndpoint,
  gradEndpoint,
  jvpEndpoint,
  jacobianEndpoint,
  hessianEndpoint,
  traceEndpoint,
  sampleEndpoint,
  derivativeEndpoint,
  checkEndpoint,
  batchEndpoint,
  optimizeEndpoint,
];

const byName: ReadonlyMap<string, Endpoint> = new Map(ENDPOINTS.map((e) => [e.name, e]));

/**
 * The decoded inputs of requests to these endpoints live in `inputs`, memory handed out again at
 * the next request (an array too large for V8's heap otherwise costs an ArrayBuffer to make and
 * collect): their answers are encoded copies and their caches keep programs and plans, never an
 * input, where `optimize` keeps a plan with its data and `sample` may hold its inputs across chunks.
 */
const ARENA_ENDPOINTS: ReadonlySet<string> = new Set(['grad', 'eval', 'jacobian', 'jvp', 'hessian']);
let inputs = new ReusableStorage();
/** computeSync calls in progress: a batch runs its items through computeSync inside its own. */
let depth = 0;

/** The endpoints `compute` serves. */
export const computeEndpoints: readonly string[] = ENDPOINTS.map((e) => e.name);

/** The options an endpoint takes, the common ones included (read from its schema), or null: it takes none. */
export function endpointOptions(endpoint: string): readonly string[] | null {
  return byName.has(endpoint) ? optionsOf(endpoint) : null;
}

/**
 * Computes what `POST /v1/<endpoint>` returns for `body`; rejects with a `Problem` (its
 * `status`, `code`, `detail`, and `line`/`column` or `path`) exactly as the server would answer.
 */
export async function compute(endpoint: string, body: unknown, options: ComputeOptions = {}): Promise<unknown> {
  // What few requests need loads asynchronously, once, when a request (or a batch's item) first
  // needs it: Graphviz (WebAssembly) for an SVG picture, mathjs's symbolic differentiation for a
  // derivative.
  const requests = [{ endpoint, body }, ...itemsAsSent(endpoint, body)];
  const load = (loader: () => Promise<void>): Promise<void> => loader().catch((e: unknown) => Promise.reject(toProblem(e)));
  if (requests.some((r) => wantsSvg(r.endpoint, r.body))) await load(loadSvgRenderer);
  if (requests.some((r) => r.endpoint === 'derivative')) await load(loadSymbolic);
  return computeSync(endpoint, body, options);
}

/** A batch's items as they are sent, before any validation (none for another endpoint, or a body that is not a batch's). */
function itemsAsSent(endpoint: string, body: unknown): { endpoint: string; body: unknown }[] {
  const items = endpoint === 'batch' && body !== null && typeof body === 'object' ? (body as { requests?: unknown }).requests : undefined;
  if (!Array.isArray(items)) return [];
  return items.map((item: unknown) => {
    const named = item !== null && typeof item === 'object' ? (item as { endpoint?: unknown }).endpoint : undefined;
    return { endpoint: typeof named === 'string' ? named : '', body: item };
  });
}

/**
 * `compute` without the promise, for callers already off the event loop (benchmarks). An SVG
 * trace needs Graphviz loaded first, and `derivative` mathjs's symbolic differentiation (the
 * package's entry, src/index.ts, gives it): `compute` loads them, or await `loadSvgRenderer()`
 * and `loadSymbolic()`.
 */
export function computeSync(endpoint: string, body: unknown, options: ComputeOptions = {}): unknown {
  // A request entered from outside: the requests before it are answered, their inputs dead. A
  // storage grown past what a cached plan may keep is not kept (as the cache's scratch).
  if (depth === 0) {
    if (inputs.capacity > MAX_CACHED_PLAN_ELEMENTS) inputs = new ReusableStorage();
    else inputs.reset();
  }
  depth++;
  try {
    return computeOne(endpoint, body, options);
  } finally {
    depth--;
  }
}

function computeOne(endpoint: string, body: unknown, options: ComputeOptions): unknown {
  const found = byName.get(endpoint);
  if (found === undefined) throw new Problem('NOT_FOUND', `there is no endpoint "${endpoint}"; the endpoints are ${computeEndpoints.join(', ')}`);
  // Every path validates here, against the endpoint's schema (schemas/): HTTP bodies, WebSocket
  // messages, batch items and library calls get the same 400 with the same path.
  const valid = validBody(endpoint, body);
  if (takesBody(found)) {
    try {
      return found.run(valid, options, computeSync);
    } catch (e) {
      throw toProblem(e);
    }
  }
  let ev: Evaluation | null = null;
  try {
    ev = Evaluation.prepare(valid, options, ARENA_ENDPOINTS.has(endpoint) ? inputs : null);
    const result = found.handle(ev) as Record<string, unknown>;
    // A fresh seed is reported so that the draws can be repeated; a given one is echoed.
    return ev.randomUsed() ? { ...result, seed: ev.seed } : result;
  } catch (e) {
    throw toProblem(e);
  } finally {
    countOperations(options.stats, ev);
  }
}
