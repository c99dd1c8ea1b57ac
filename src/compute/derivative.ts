/**
 * `derivative`: the symbolic derivative of one scalar expression with respect to one name, by
 * mathjs's `derivative`, simplified, with its TeX. The expression is first parsed by our own
 * parser, so everything a program may not contain is refused the same way.
 *
 * Two differentiators should agree: the simplified derivative (mathjs's expression, evaluated by
 * the engine) is checked against the engine's gradient at a few fixed points where both are finite, and the response
 * says whether they agree. Where mathjs cannot differentiate a function the engine can
 * (sigmoid, relu, softplus, ...), the problem says so, with the engine's derivative at a point.
 */
import { isFunctionNode, isSymbolNode, type MathNode } from 'mathjs';
import { Context, EngineError, Tensor, concrete, grad as gradient, type Fn, type Value } from '../engine/index.js';
import { Distribution } from '../distributions/index.js';
import { constants, functionNamed, type LangValue } from '../lang/catalogue.js';
import { ProgramError } from '../lang/errors.js';
import { run } from '../lang/interpret.js';
import type { Program } from '../lang/ir.js';
import { parseProgram } from '../lang/parse.js';
import type { ComputeOptions } from './evaluation.js';
import { withDefaults, type ComputeLimits } from './limits.js';
import type { BodyEndpoint } from './endpoint.js';
import { Problem } from './problem.js';
import { isName } from './request.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** mathjs's symbolic differentiation (lang/symbolic.ts), once loaded. */
export type Symbolic = typeof import('../lang/symbolic.js');
let loading: Promise<Symbolic> | null = null;
let symbolic: Symbolic | null = null;

/**
 * Gives `derivative` mathjs's symbolic differentiation, imported statically: the library's entry
 * in Node.js (src/index.ts) does, so that `computeSync` answers it at once there (and so that a
 * worker run from the sources through tsx, which compiles modules to CommonJS and leaves their
 * `import()` to Node's own loader, never imports a TypeScript file dynamically).
 */
export function provideSymbolic(module: Symbolic): void {
  symbolic = module;
}

/**
 * Loads mathjs's symbolic differentiation once per thread, unless it was given; resolves when
 * `computeSync` can answer `derivative`. The browser's local engine imports it on first use only,
 * as Graphviz (svg.ts): it is about 40 kB gzipped that most pages never need. A failed load is
 * tried again next time.
 */
export async function loadSymbolic(): Promise<void> {
  if (symbolic !== null) return;
  loading ??= import('../lang/symbolic.js').then((m) => (symbolic = m));
  try {
    await loading;
  } catch (e) {
    loading = null;
    throw e;
  }
}

/** The symbolic instance; a misuse of the library, not a bug, when it is not loaded: the detail is for the caller. */
function loaded(): Symbolic {
  if (symbolic === null) throw new Problem('INTERNAL', "the derivative endpoint needs mathjs's symbolic differentiation loaded first: call compute (not computeSync), or await loadSymbolic()");
  return symbolic;
}

export const derivativeEndpoint: BodyEndpoint = { name: 'derivative', fields: null, run: (body, options) => symbolicDerivative(body, withDefaults(options.limits), options) };

function symbolicDerivative(body: unknown, limits: Readonly<Required<ComputeLimits>>, options: ComputeOptions = {}): unknown {
  const maxProgramLength = limits.maxProgramLength;
  if (!isObject(body)) throw new Problem('INVALID_REQUEST', 'the request body must be a JSON object', { path: '' });
  for (const key of Object.keys(body)) {
    // As its schema: no inputs (the check picks its points) and no options.
    if (!['program', 'wrt'].includes(key)) {
      throw new Problem('INVALID_REQUEST', `unknown field "${key}"; derivative takes program, wrt`, { path: `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    }
  }
  const { program, wrt } = body;
  if (typeof program !== 'string') throw new Problem('INVALID_REQUEST', '"program" must be one scalar expression, such as "x^2 * sin(x)"', { path: '/program' });
  if (program.length > maxProgramLength) throw new Problem('TOO_LARGE', `the program has ${program.length} characters, over the limit of ${maxProgramLength}`, { path: '/program' });
  if (!Array.isArray(wrt) || wrt.length !== 1 || typeof wrt[0] !== 'string' || !isName(wrt[0])) {
    throw new Problem('INVALID_REQUEST', '"wrt" must name exactly one variable, as ["x"]', { path: '/wrt' });
  }
  const parsed = parseProgram(program, { maxNesting: limits.maxNesting });
  if (parsed.body.length !== 1 || parsed.body[0].kind !== 'expr') {
    throw new Problem('INVALID_ARGUMENT', 'derivative takes one expression, without assignments, blocks or several statements', { path: '/program' });
  }
  const { parse, derivative, simplify } = loaded();
  const node = parse(program);
  const budget = budgetOf(limits, options);
  const engine = engineDerivative(parsed, variablesOf(node, wrt[0]), wrt[0], budget);
  // mathjs works without our budgets: the engine evaluates first, so that an expression over
  // them (a huge constant, say) is refused before mathjs folds it.
  engine.at(trialPoint(engine.names, 0));
  if (engine.overLimit !== null) throw engine.overLimit;
  let result;
  try {
    const size = nodeCount(derivative(node, wrt[0], { simplify: false }));
    if (size > MAX_SIMPLIFIED_NODES) {
      throw new Problem(
        'LIMIT_EXCEEDED',
        `time limit: the derivative has ${size} nodes before simplification, over the ${MAX_SIMPLIFIED_NODES} that mathjs simplifies in reasonable time (its time grows far faster than the size); the engine's gradient (POST /v1/grad) has no such limit`,
        { limit: 'time', path: '/program' },
      );
    }
    result = simplify(derivative(node, wrt[0]));
  } catch (e) {
    if (e instanceof Problem) throw e;
    throw notDifferentiable(e, engine);
  }
  const text = result.toString();
  return { derivative: text, tex: result.toTex(), check: agreement(symbolicValue(result, text, budget), engine) };
}

/**
 * The most nodes of a raw derivative that is simplified. mathjs's simplification takes time far
 * beyond linear in the size, and has no deadline: sin nested 16 deep (305 nodes) takes 0.4 s
 * here, 18 deep (379) 1.3 s, 24 deep minutes.
 */
const MAX_SIMPLIFIED_NODES = 300;

function nodeCount(node: MathNode): number {
  let n = 0;
  node.traverse(() => n++);
  return n;
}

/** The free variables of an expression, in order of appearance, the one differentiated by first. */
function variablesOf(node: MathNode, wrt: string): string[] {
  const names = new Set<string>([wrt]);
  node.traverse((n, path, parent) => {
    if (isSymbolNode(n) && !(isFunctionNode(parent) && path === 'fn') && !Object.hasOwn(constants, n.name)) names.add(n.name);
  });
  return [...names];
}

/** Values tried for the variables, between 0.5 and 1.5: away from the 0s and 1s where functions tend to be singular. */
const TRIAL_VALUES = [0.7, 1.3, 0.9, 1.1, 1.4, 0.6, 1.2, 0.8, 1.5, 0.55, 1.05, 1.35];
/** The points compared, of the trial points where both derivatives are finite. */
const CHECK_POINTS = 3;
/** Two float64 evaluations of the same derivative, by different formulas, agree to about this. */
const AGREE_RTOL = 1e-8;
const AGREE_ATOL = 1e-12;

/** Trial point k: variable j takes a different trial value at each point and from the other variables. */
function trialPoint(names: readonly string[], k: number): Record<string, number> {
  return Object.fromEntries(names.map((name, j) => [name, TRIAL_VALUES[(k + 5 * j) % TRIAL_VALUES.length]]));
}

/** The engine's derivative of the expression at trial points, lazily: NaN where it has none or the expression is not finite. */
interface EngineDerivative {
  readonly names: readonly string[];
  readonly wrt: string;
  at(point: Record<string, number>): number;
  /** The first reason the engine gave no number, if any. */
  readonly failure: string | null;
  /** The first of those that was a budget (LIMIT_EXCEEDED), to answer with. */
  readonly overLimit: EngineError | ProgramError | Problem | null;
}

/** The request's budget for the engine's evaluations (the gradient's and the derivative's): one deadline for all. */
interface Budget {
  readonly limits: Readonly<Required<ComputeLimits>>;
  readonly options: ComputeOptions;
  readonly clock: () => number;
  readonly deadline: number;
}

function budgetOf(limits: Readonly<Required<ComputeLimits>>, options: ComputeOptions): Budget {
  const clock = options.clock ?? (() => performance.now());
  return { limits, options, clock, deadline: clock() + limits.timeoutMs };
}

/** `evaluate` in a fresh Context of the budget, its operations added to the request's. */
function withContext<T>({ limits, options, clock, deadline }: Budget, evaluate: (cx: Context) => T): T {
  const cx = new Context({ maxOperations: limits.maxOperations, maxElements: limits.maxElements, deadline }, clock);
  try {
    return evaluate(cx);
  } finally {
    if (options.stats !== undefined) options.stats.operations += cx.operations;
  }
}

/** The expression's value with these inputs, under the request's loop and recursion limits. */
function valueOf(cx: Context, program: Program, inputs: Map<string, LangValue>, limits: Readonly<Required<ComputeLimits>>): Value {
  const { last } = run(cx, program, inputs, { limits: { maxIterations: limits.maxIterations, maxDepth: limits.maxDepth } });
  if (last === null || last instanceof Distribution) throw new EngineError('INVALID_ARGUMENT', 'the expression computes no number');
  return last;
}

const scalarsOf = (point: Record<string, number>): Map<string, LangValue> => new Map(Object.entries(point).map(([name, v]) => [name, Tensor.scalar(v)]));

function engineDerivative(program: Program, names: readonly string[], wrt: string, budget: Budget): EngineDerivative {
  let failure: string | null = null;
  let overLimit: EngineError | ProgramError | Problem | null = null;
  // Each point once: the first is evaluated before mathjs runs (to hold it to the budgets), then again by the check.
  const known = new Map<string, number>();
  const at = (point: Record<string, number>): number => {
    const key = JSON.stringify(point);
    let g = known.get(key);
    if (g === undefined) known.set(key, (g = evaluate(point)));
    return g;
  };
  const evaluate = (point: Record<string, number>): number =>
    withContext(budget, (cx) => {
      const fn: Fn = (c, xs) => valueOf(c, program, scalarsOf(point).set(wrt, xs[0]), budget.limits);
      try {
        const { value, grads } = gradient(cx, fn, [Tensor.scalar(point[wrt])]);
        const g = concrete(grads[0]);
        // Outside the function's domain (log(x - 1) at x < 1) a derivative rule may still give a number: not a point to compare at.
        return g.size === 1 && Number.isFinite(concrete(value).data[0]) ? g.data[0] : NaN;
      } catch (e) {
        if (!(e instanceof EngineError || e instanceof ProgramError || e instanceof Problem)) throw e;
        failure ??= e.message;
        if (e.code === 'LIMIT_EXCEEDED') overLimit ??= e;
        return NaN;
      }
    });
  return {
    names,
    wrt,
    at,
    get failure() {
      return failure;
    },
    get overLimit() {
      return overLimit;
    },
  };
}

/**
 * The symbolic derivative's value at a point, NaN where it is not a finite real number: mathjs's
 * expression evaluated by the engine, whose functions (fdlibm.ts's pow, sin, exp, ...) give the
 * same bytes in every JavaScript engine, so that a browser's local mode answers as the service
 * does; by mathjs (its functions use `Math`, whose `pow` differs in the last bit between V8
 * versions) only where the language does not take mathjs's form of it.
 */
function symbolicValue(node: MathNode, text: string, budget: Budget): (point: Record<string, number>) => number {
  const byMathjs = (point: Record<string, number>): number => {
    try {
      const v: unknown = node.evaluate({ ...point });
      return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
    } catch {
      return NaN;
    }
  };
  let program: Program;
  try {
    program = parseProgram(text, { maxNesting: budget.limits.maxNesting });
  } catch {
    return byMathjs;
  }
  return (point) =>
    withContext(budget, (cx) => {
      try {
        const value = concrete(valueOf(cx, program, scalarsOf(point), budget.limits));
        return value.size === 1 && Number.isFinite(value.data[0]) ? value.data[0] : NaN;
      } catch (e) {
        if (!(e instanceof EngineError || e instanceof ProgramError || e instanceof Problem)) throw e;
        // A function the language names differently, say: mathjs's own value.
        return e.code === 'LIMIT_EXCEEDED' ? NaN : byMathjs(point);
      }
    });
}

/** The symbolic derivative against the engine's gradient at the first trial points where both are finite. */
function agreement(symbolicAt: (point: Record<string, number>) => number, engine: EngineDerivative): { agrees: boolean | null; points: unknown[]; detail?: string } {
  const points: { at: Record<string, number>; derivative: number; grad: number }[] = [];
  for (let k = 0; k < TRIAL_VALUES.length && points.length < CHECK_POINTS; k++) {
    const at = trialPoint(engine.names, k);
    const symbolic = symbolicAt(at);
    if (!Number.isFinite(symbolic)) continue;
    const grad = engine.at(at);
    if (Number.isFinite(grad)) points.push({ at, derivative: symbolic, grad });
  }
  if (points.length === 0) {
    const why = engine.failure === null ? 'the two are not both finite at any of the trial points (values from 0.5 to 1.5)' : `the engine gives no derivative: ${engine.failure}`;
    return { agrees: null, points, detail: `the derivative could not be checked against the engine's gradient: ${why}` };
  }
  const agrees = points.every((p) => Math.abs(p.derivative - p.grad) <= AGREE_ATOL + AGREE_RTOL * Math.max(Math.abs(p.derivative), Math.abs(p.grad)));
  return { agrees, points };
}

/** The problem when mathjs cannot differentiate: whether the engine can, with its derivative at a point. */
function notDifferentiable(e: unknown, engine: EngineDerivative): Problem {
  const message = e instanceof Error ? e.message : String(e);
  const fn = /function "([^"]+)"/.exec(message)?.[1];
  const what = fn === undefined ? `this expression (${message})` : `\`${fn}\``;
  const entry = fn === undefined ? undefined : functionNamed(fn);
  if (entry !== undefined && !entry.differentiable) {
    return new Problem('NOT_DIFFERENTIABLE', `mathjs cannot differentiate ${what} symbolically, and the catalogue lists \`${fn}\` as not differentiable (GET /v1/functions)`, {
      path: '/program',
    });
  }
  let example = '';
  for (let k = 0; k < TRIAL_VALUES.length; k++) {
    const at = trialPoint(engine.names, k);
    const grad = engine.at(at);
    if (Number.isFinite(grad)) {
      example = ` (at ${Object.entries(at).map(([name, v]) => `${name} = ${v}`).join(', ')}, d/d${engine.wrt} = ${grad})`;
      break;
    }
  }
  return new Problem('NOT_DIFFERENTIABLE', `mathjs cannot differentiate ${what} symbolically, but the engine can: the grad endpoint differentiates it numerically at any point${example}`, {
    path: '/program',
  });
}
