/**
 * The two fast paths of a value and gradient, each tried before the general engine and each
 * giving its numbers: a scalar program compiled to straight-line JavaScript, and a tensor
 * program's plan. Both are cached with the program; both step aside (null) for anything they
 * cannot take, and the general path then answers, errors and all.
 */
import {
  EngineError,
  NotCompilable,
  Tensor,
  compileGradient,
  compileGradientPlan,
  formatShape,
  sameShape,
  type Context,
  type Fn,
  type GradientPlan,
  type Shape,
  type Value,
} from '../engine/index.js';
import { fillNoise } from '../engine/random.js';
import { ProgramError } from '../lang/errors.js';
import type { Program } from '../lang/ir.js';
import { MAX_CACHED_PLAN_ELEMENTS, ProgramCache, type CacheKey } from './cache.js';
import type { Evaluation } from './evaluation.js';
import { Problem } from './problem.js';

/**
 * A scalar program of scalar inputs with no data-dependent control flow is compiled once into
 * straight-line JavaScript (see engine/compile.ts) and its value and gradient then cost a few
 * evaluations. Anything else, or anything that fails while compiling, takes the general path,
 * which also reports any error the program has.
 */
export function compiledGradient(ev: Evaluation): { value: number; grads: number[] } | null {
  const { request } = ev;
  if (request.at.size === 0) return null;
  for (const x of request.at.values()) if (x.shape.length !== 0) return null;
  const { names, key } = scalarKey(ev);
  const compiled = ev.cache.gradient(key, () => {
    try {
      return compileGradient((cx, xs) => ev.output(cx, new Map(names.map((n, i) => [n, xs[i]]))), names.length, ev.context());
    } catch (e) {
      if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem) return null;
      throw e;
    }
  });
  if (compiled === null) return null;
  // The program's scalar draws are inputs of the compiled code: the numbers run 0 of this seed draws.
  const noise = compiled.noise.map((kind, k) => {
    const out = new Float64Array(1);
    fillNoise(ev.seed, kind, k, 0, out);
    return out;
  });
  if (noise.length > 0) ev.noteDraws();
  let result;
  try {
    result = compiled.run([...names.map((n) => Float64Array.of(request.at.get(n)!.data[0])), ...noise], 1);
  } catch (e) {
    // A check failed in compiled code: the general path finds it again, with its place in the program.
    if (e instanceof EngineError && e.code === 'INVALID_ARGUMENT') return null;
    throw e;
  }
  const { value, grads } = result;
  const position = new Map(names.map((n, i) => [n, i]));
  return { value: value[0], grads: request.wrt.map((w) => grads[position.get(w)!][0]) };
}

/**
 * The last cache keys made for each program, with what they were made of. The same program
 * comes again with inputs of the same names and shapes (a course's requests do), and its key is
 * then the string made before, rather than one built again and hashed again by the cache's map
 * (V8 keeps a string's hash): a third of the fixed cost of a small planned request was its keys.
 */
interface ScalarKey {
  readonly names: readonly string[];
  readonly output: string | null;
  readonly key: CacheKey;
}
interface PlanKey {
  readonly wrt: readonly string[];
  /** The plan's inputs: wrt's, then the others in the order of `at`. */
  readonly names: readonly string[];
  readonly shapes: readonly Shape[];
  readonly output: string | null;
  /** `grad`'s plan's. */
  readonly key: CacheKey;
  /** `optimize`'s plan's key, without its prefix. */
  readonly optimizeKey: string;
}
const scalarKeys = new WeakMap<Program, ScalarKey>();
const planKeys = new WeakMap<Program, PlanKey>();

const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((n, i) => n === b[i]);

/** The compiled gradient's key: the program, its inputs' names in the order of `at`, and the output. */
function scalarKey(ev: Evaluation): ScalarKey {
  const { request } = ev;
  const known = scalarKeys.get(ev.program);
  if (known !== undefined && known.output === request.output && known.names.length === request.at.size) {
    let k = 0;
    let same = true;
    for (const name of request.at.keys()) if (name !== known.names[k++]) same = false;
    if (same) return known;
  }
  const names = [...request.at.keys()];
  const made = { names, output: request.output, key: ProgramCache.key('gradient', `${ev.cacheKey}\u0000${names.join(',')}\u0000${request.output ?? ''}`) };
  scalarKeys.set(ev.program, made);
  return made;
}

/** A request's inputs as a plan takes them: the differentiated ones in wrt's order, then the fixed ones; null where one is not a tensor. */
function planInputs(ev: Evaluation): { names: readonly string[]; inputs: Tensor[]; key: CacheKey; optimizeKey: string } | null {
  const { request } = ev;
  const known = planKeys.get(ev.program);
  if (known !== undefined && known.output === request.output && known.names.length === request.at.size && sameNames(known.wrt, request.wrt)) {
    // The same names (as many, each found) and the same shapes: the same plan, its inputs in the order it was keyed with.
    const inputs: Tensor[] = [];
    for (let k = 0; k < known.names.length; k++) {
      const x = request.at.get(known.names[k]);
      if (!(x instanceof Tensor) || !sameShape(x.shape, known.shapes[k])) break;
      inputs.push(x);
    }
    if (inputs.length === known.names.length) return { names: known.names, inputs, key: known.key, optimizeKey: known.optimizeKey };
  }
  const differentiated = new Set(request.wrt);
  // The differentiated inputs first, in wrt's order, so the plan's gradients come in that order.
  const names = [...request.wrt, ...[...request.at.keys()].filter((n) => !differentiated.has(n))];
  const inputs: Tensor[] = [];
  for (const name of names) {
    const x = request.at.get(name);
    if (!(x instanceof Tensor)) return null;
    inputs.push(x);
  }
  const shapes = names.map((n, k) => `${n}:${formatShape(inputs[k].shape)}`).join(' ');
  const signature = `${ev.cacheKey}\u0000${request.wrt.join(',')}\u0000${shapes}\u0000${request.output ?? ''}`;
  const optimizeKey = `optimize\u0000${signature}`;
  const key = ProgramCache.key('plan', `grad\u0000${signature}`);
  planKeys.set(ev.program, { wrt: [...request.wrt], names, shapes: inputs.map((x) => x.shape), output: request.output, key, optimizeKey });
  return { names, inputs, key, optimizeKey };
}

/** The program's plan over `names` (wrt's first), traced under `cx`; null where it cannot be made or is too large to keep. */
function makePlan(ev: Evaluation, names: readonly string[], inputs: readonly Tensor[], cx: Context): GradientPlan | null {
  const differentiated = new Set(ev.request.wrt);
  const fn: Fn = (c, xs) => ev.output(c, new Map(names.map((n, k) => [n, xs[k]])));
  try {
    const made = compileGradientPlan(fn, inputs, cx, { differentiated: names.map((n) => differentiated.has(n)) });
    // A plan keeps its constants (a program's large literal, say) for as long as it is cached.
    return made.constantElements <= MAX_CACHED_PLAN_ELEMENTS ? made : null;
  } catch (e) {
    if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem || e instanceof EngineError) return null;
    throw e;
  }
}

/**
 * A tensor program coming again with inputs of the same shapes: its value and gradient from its
 * plan, the same numbers as the general engine's, as `encode` writes them for the response. The
 * inputs not differentiated (data, labels, fixed hyper-parameters) are inputs of the plan like
 * the others, read at each run, so new data reuse it; the plan is keyed by the program, `wrt`
 * and every input's shape, never by the data. Null where there is no plan (an input is not a
 * tensor, or the program reads one of its values, a fixed one included), or the plan failed (the
 * general path then reports the error with its place in the program).
 *
 * The run's tensors live in the cache's scratch memory, which the next run reuses: `encode`
 * reads them there, before it is released, rather than from copies (a copy of a 1000-element
 * gradient is memory outside V8's heap, a microsecond to make and another to collect).
 */
export function plannedGradient<R>(ev: Evaluation, encode: (value: Value, grads: readonly Value[]) => R): R | null {
  const planning = planInputs(ev);
  if (planning === null) return null;
  const { names, inputs, key } = planning;
  const plan = ev.cache.plan(key, () => makePlan(ev, names, inputs, ev.context()));
  if (plan === null) return null;
  const cx = ev.transientContext(ev.cache.scratchForRun());
  try {
    const { value, grads } = plan.run(inputs, cx);
    return encode(value, grads);
  } catch (e) {
    if (e instanceof EngineError && e.code !== 'LIMIT_EXCEEDED') return null;
    throw e;
  } finally {
    ev.countOperations(cx);
    ev.cache.releaseScratch();
  }
}

/**
 * `optimize`'s plan: the loss's gradient with respect to the parameters (wrt), its data (the
 * other inputs) read at each step as `fixed`, so another data set reuses the plan. Made at
 * first sight (a run is many steps); its tracing counts as the evaluation's operations. Null
 * where there is none.
 */
export function optimizerPlan(ev: Evaluation): { plan: GradientPlan; fixed: Tensor[] } | null {
  const planning = planInputs(ev);
  if (planning === null) return null;
  const { names, inputs, optimizeKey } = planning;
  const plan = ev.cache.planAtOnce(optimizeKey, () => {
    const cx = ev.transientContext();
    try {
      return makePlan(ev, names, inputs, cx);
    } finally {
      ev.countOperations(cx);
    }
  });
  return plan === null ? null : { plan, fixed: inputs.slice(ev.request.wrt.length) };
}
