/**
 * The interpreter: runs IR on engine values, define-by-run. Control flow follows the actual
 * values, so whatever transformation the inputs carry (a tape, forward-mode tangents, the
 * compiler) sees exactly the operations executed. Budgets beyond the engine's own (operations,
 * memory, time) are checked here: loop iterations and recursion depth.
 */
import { Unit } from 'mathjs';
import * as E from '../engine/index.js';
import { Tensor, concrete, formatShape, type Context, type Value } from '../engine/index.js';
import { Distribution } from '../distributions/index.js';
import { constants, functionNamed, knownNames, type LangValue, type Result } from './catalogue.js';
import { ProgramError, locate, type Loc } from './errors.js';
import type { Expr, Program, Stmt } from './ir.js';
import { closest } from './suggest.js';

export interface RunLimits {
  /** Loop iterations in all (for and while together). */
  maxIterations?: number;
  /** Nested calls of the program's own functions. */
  maxDepth?: number;
}

/** Called after every catalogue function a program calls (the trace's steps). */
export type CallObserver = (fn: string, args: readonly LangValue[], out: Result, loc: Loc) => void;

export interface RunOptions {
  limits?: RunLimits;
  onCall?: CallObserver;
}

export interface RunResult {
  /** The value of the last statement executed, or null when none had one. */
  readonly last: Result | null;
  /** Every variable at the end. */
  readonly variables: ReadonlyMap<string, LangValue>;
}

const NORMAL = 0;
const BREAK = 1;
const CONTINUE = 2;
type Signal = typeof NORMAL | typeof BREAK | typeof CONTINUE;

interface UserFunction {
  readonly params: readonly string[];
  readonly body: Expr;
}

class Interpreter {
  readonly variables: Map<string, LangValue>;
  private readonly functions = new Map<string, UserFunction>();
  private readonly maxIterations: number;
  private readonly maxDepth: number;
  private iterations = 0;
  private depth = 0;
  /** Extents of the dimensions being indexed, innermost last: what `end` means. */
  private readonly ends: number[] = [];
  last: Result | null = null;

  constructor(
    private readonly cx: Context,
    inputs: ReadonlyMap<string, LangValue>,
    options: RunOptions,
  ) {
    this.variables = new Map(inputs);
    this.maxIterations = options.limits?.maxIterations ?? Infinity;
    this.maxDepth = options.limits?.maxDepth ?? 256;
    this.onCall = options.onCall;
  }

  private readonly onCall: CallObserver | undefined;

  block(body: readonly Stmt[]): Signal {
    for (const stmt of body) {
      let signal: Signal;
      try {
        signal = this.statement(stmt);
      } catch (e) {
        throw locate(e, stmt.loc);
      }
      if (signal !== NORMAL) return signal;
    }
    return NORMAL;
  }

  private statement(stmt: Stmt): Signal {
    switch (stmt.kind) {
      case 'expr': {
        const v = this.evaluate(stmt.value, null);
        if (typeof v !== 'string') this.last = v;
        return NORMAL;
      }
      case 'assign': {
        const v = this.evaluate(stmt.value, null);
        this.variables.set(stmt.name, v);
        if (typeof v !== 'string') this.last = v;
        return NORMAL;
      }
      case 'assignIndex': {
        const value = this.tensor(this.evaluate(stmt.value, null), 'the assigned value');
        const current = this.tensor(this.lookup(stmt.name, null, stmt.loc), `\`${stmt.name}\``);
        const v = this.call('assignSubset', [current, value, ...this.positions(current, stmt.dims, null)], stmt.loc);
        this.variables.set(stmt.name, v);
        // As in mathjs, the value of `A[i] = v` is the value assigned, not the whole of A.
        this.last = value;
        return NORMAL;
      }
      case 'function':
        this.functions.set(stmt.name, { params: stmt.params, body: stmt.body });
        return NORMAL;
      case 'for': {
        const values = this.tensor(this.evaluate(stmt.iterable, null), 'a for loop');
        if (values.shape.length > 1 && values.shape.filter((d) => d !== 1).length > 1) {
          throw new ProgramError('SHAPE_MISMATCH', `a for loop iterates over the elements of a vector, got shape ${formatShape(values.shape)}`);
        }
        const n = E.sizeOf(values.shape);
        const data = values instanceof Tensor ? values.data : null;
        const flat = data === null ? this.tensor(this.call('flatten', [values], stmt.loc), 'a for loop') : null;
        for (let k = 0; k < n; k++) {
          this.iterate();
          this.variables.set(stmt.name, data !== null ? Tensor.scalar(data[k]) : this.call('subset', [flat!, Tensor.scalar(k + 1)], stmt.loc));
          const signal = this.block(stmt.body);
          if (signal === BREAK) break;
        }
        return NORMAL;
      }
      case 'while':
        for (;;) {
          this.iterate();
          if (!this.truth(this.evaluate(stmt.test, null), 'while')) break;
          if (this.block(stmt.body) === BREAK) break;
        }
        return NORMAL;
      case 'if':
        for (const branch of stmt.branches) {
          if (this.truth(this.evaluate(branch.test, null), 'if')) return this.block(branch.body);
        }
        return stmt.otherwise === null ? NORMAL : this.block(stmt.otherwise);
      case 'break':
        return BREAK;
      case 'continue':
        return CONTINUE;
    }
  }

  private iterate(): void {
    if (++this.iterations > this.maxIterations) {
      throw new ProgramError('LIMIT_EXCEEDED', `loop iteration limit exceeded: more than ${this.maxIterations} iterations`, undefined, 'loop iterations');
    }
    if ((this.iterations & 63) === 0) this.cx.checkDeadline('loop');
  }

  /** A condition: a value with exactly one element, true when non-zero (NaN is false). */
  private truth(v: LangValue, what: string): boolean {
    const t = concrete(this.tensor(v, `the condition of ${what}`));
    if (t.size !== 1) throw new ProgramError('NOT_SCALAR', `the condition of \`${what}\` must be a scalar, got shape ${formatShape(t.shape)}`);
    const c = t.data[0];
    return c !== 0 && c === c;
  }

  private tensor(v: LangValue, what: string): Value {
    if (typeof v === 'string') throw new ProgramError('INVALID_ARGUMENT', `${what} must be a number or a tensor, not the string "${v}"`);
    if (v instanceof Distribution) throw new ProgramError('INVALID_ARGUMENT', `${what} must be a number or a tensor, not a ${v.family.name} distribution`);
    return v;
  }

  private lookup(name: string, frame: Map<string, LangValue> | null, loc: Loc): LangValue {
    const local = frame?.get(name);
    if (local !== undefined) return local;
    const v = this.variables.get(name);
    if (v !== undefined) return v;
    const c = constants[name];
    if (c !== undefined) return Tensor.scalar(c);
    const known = [...this.variables.keys(), ...(frame?.keys() ?? []), ...knownNames()];
    const hint = closest(name, known);
    // mathjs would read `5 cm` as a unit; one-letter names (`t`, `m`, `s`) are far likelier missing inputs.
    const why =
      name.length > 1 && Unit.isValuelessUnit(name)
        ? `mathjs reads \`${name}\` as a unit, and units are not supported`
        : `give it a value in "at" or ${loc.path === undefined ? 'assign it before use' : 'make it a node'}`;
    throw new ProgramError('UNKNOWN_NAME', `unknown variable \`${name}\`: ${why}${hint === null ? '' : `; did you mean \`${hint}\`?`}`, loc);
  }

  evaluate(expr: Expr, frame: Map<string, LangValue> | null): LangValue {
    switch (expr.kind) {
      case 'const':
        return expr.value;
      case 'string':
        return expr.value;
      case 'var':
        return this.lookup(expr.name, frame, expr.loc);
      case 'call': {
        const n = expr.args.length;
        const args = new Array<LangValue>(n);
        for (let i = 0; i < n; i++) args[i] = this.evaluate(expr.args[i], frame);
        return this.call(expr.fn, args, expr.loc);
      }
      case 'apply': {
        const fn = this.functions.get(expr.fn);
        if (fn === undefined) throw new ProgramError('UNKNOWN_NAME', `function \`${expr.fn}\` is called before its definition runs`, expr.loc);
        if (fn.params.length !== expr.args.length) {
          throw new ProgramError('INVALID_ARGUMENT', `\`${expr.fn}\` takes ${fn.params.length} argument(s), got ${expr.args.length}`, expr.loc);
        }
        const local = new Map<string, LangValue>();
        fn.params.forEach((p, i) => local.set(p, this.evaluate(expr.args[i], frame)));
        if (++this.depth > this.maxDepth) {
          throw new ProgramError('LIMIT_EXCEEDED', `recursion depth limit exceeded: \`${expr.fn}\` nested more than ${this.maxDepth} deep`, expr.loc, 'recursion depth');
        }
        try {
          return this.evaluate(fn.body, local);
        } finally {
          this.depth--;
        }
      }
      case 'matrix':
        return this.call(
          'stack',
          expr.items.map((item) => this.evaluate(item, frame)),
          expr.loc,
        );
      case 'range':
        return this.range(expr, frame);
      case 'index': {
        const x = this.tensor(this.evaluate(expr.object, frame), 'an indexed value');
        return this.call('subset', [x, ...this.positions(x, expr.dims, frame)], expr.loc);
      }
      case 'end': {
        const extent = this.ends[this.ends.length - 1];
        if (extent === undefined) throw new ProgramError('PARSE_ERROR', '`end` is only meaningful inside an index', expr.loc);
        return Tensor.scalar(extent);
      }
      case 'cond':
        return this.truth(this.evaluate(expr.test, frame), '?:') ? this.evaluate(expr.then, frame) : this.evaluate(expr.otherwise, frame);
    }
  }

  private number(expr: Expr, frame: Map<string, LangValue> | null, what: string): number {
    const t = concrete(this.tensor(this.evaluate(expr, frame), what));
    if (t.size !== 1) throw new ProgramError('NOT_SCALAR', `${what} must be a scalar, got shape ${formatShape(t.shape)}`, expr.loc);
    return t.data[0];
  }

  /** `start:end` and `start:step:end`, inclusive, as in mathjs. */
  private range(expr: Extract<Expr, { kind: 'range' }>, frame: Map<string, LangValue> | null): Tensor {
    const start = this.number(expr.start, frame, 'the start of a range');
    const step = expr.step === null ? 1 : this.number(expr.step, frame, 'the step of a range');
    const end = this.number(expr.end, frame, 'the end of a range');
    if (step === 0 || !Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step)) {
      throw new ProgramError('INVALID_ARGUMENT', `the range ${start}:${step}:${end} is not finite`, expr.loc);
    }
    const count = Math.max(0, Math.floor((end - start) / step + 1e-10) + 1);
    const out = this.cx.alloc('range', [count]);
    for (let k = 0; k < count; k++) out.data[k] = start + k * step;
    return out;
  }

  /** A catalogue function: the one way values are computed, so the trace sees every step. */
  call(fn: string, args: readonly LangValue[], loc: Loc): Result {
    let out: Result;
    try {
      out = functionNamed(fn)!.call(this.cx, args);
    } catch (e) {
      throw locate(e, loc);
    }
    this.onCall?.(fn, args, out, loc);
    return out;
  }

  /** The values of an index's positions, with `end` meaning each dimension's extent. */
  private positions(x: Value, dims: readonly Expr[], frame: Map<string, LangValue> | null): Value[] {
    return dims.map((d, axis) => {
      this.ends.push(x.shape.length === 0 ? 1 : (x.shape[axis] ?? 1));
      try {
        return this.tensor(this.evaluate(d, frame), 'an index');
      } finally {
        this.ends.pop();
      }
    });
  }
}

/** Runs a program with the given inputs under the context's budgets. */
export function run(cx: Context, program: Program, inputs: ReadonlyMap<string, LangValue>, options: RunOptions = {}): RunResult {
  const interpreter = new Interpreter(cx, inputs, options);
  try {
    interpreter.block(program.body);
  } catch (e) {
    throw locate(e, undefined);
  }
  return { last: interpreter.last, variables: interpreter.variables };
}
