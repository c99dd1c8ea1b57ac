/**
 * The interpreter: runs IR on engine values, define-by-run. Control flow follows the actual
 * values, so whatever transformation the inputs carry (a tape, forward-mode tangents, the
 * compiler) sees exactly the operations executed. Budgets beyond the engine's own (operations,
 * memory, time) are checked here: loop iterations and recursion depth.
 *
 * A program is made into closures once (kept with the program), each running one node: the
 * catalogue function of a call is found then, and each of the program's variables given a slot
 * in an array, so that a run pays for neither the walk over the tree nor lookups by name.
 */
import { Unit } from './mathjs.js';
import * as E from '../engine/index.js';
import { Tensor, concrete, formatShape, type Context, type Value } from '../engine/index.js';
import { Distribution } from '../distributions/index.js';
import { constants, functionNamed, knownNames, mathjsRange, type FunctionEntry, type LangValue, type Result } from './catalogue.js';
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
  /** A variable's value at the end (an input's, if the program never assigned it). */
  variable(name: string): LangValue | undefined;
}

const NORMAL = 0;
const BREAK = 1;
const CONTINUE = 2;
type Signal = typeof NORMAL | typeof BREAK | typeof CONTINUE;

/** The arguments of the user function being run, by name; null outside one. */
type Frame = ReadonlyMap<string, LangValue> | null;
/** An expression, made into code: its value. */
type Code = (it: Interpreter, frame: Frame) => LangValue;
/** A statement, made into code. */
type StmtCode = (it: Interpreter) => Signal;

/** Statements in order, and where each is: an error inside one is located there. */
interface Block {
  readonly code: readonly StmtCode[];
  readonly locs: readonly Loc[];
}

interface UserFunction {
  readonly params: readonly string[];
  readonly body: Code;
}

/** A program made into code, with the names of its variables' slots. */
interface Compiled {
  readonly body: Block;
  readonly names: readonly string[];
}

class Interpreter implements RunResult {
  /** The variables' values, by slot (see Compiler): undefined until assigned or first read from the inputs. */
  readonly values: (LangValue | undefined)[];
  /** The program's own functions, once it defines one. */
  private functions: Map<string, UserFunction> | null = null;
  private readonly maxIterations: number;
  private readonly maxDepth: number;
  private readonly onCall: CallObserver | undefined;
  private iterations = 0;
  private depth = 0;
  /** Extents of the dimensions being indexed, innermost last: what `end` means. */
  private readonly ends: number[] = [];
  last: Result | null = null;

  constructor(
    readonly cx: Context,
    private readonly inputs: ReadonlyMap<string, LangValue>,
    private readonly names: readonly string[],
    options: RunOptions,
  ) {
    this.values = new Array<LangValue | undefined>(names.length).fill(undefined);
    this.maxIterations = options.limits?.maxIterations ?? Infinity;
    this.maxDepth = options.limits?.maxDepth ?? 256;
    this.onCall = options.onCall;
  }

  block(body: Block): Signal {
    const { code, locs } = body;
    for (let i = 0; i < code.length; i++) {
      let signal: Signal;
      try {
        signal = code[i](this);
      } catch (e) {
        throw locate(e, locs[i]);
      }
      if (signal !== NORMAL) return signal;
    }
    return NORMAL;
  }

  /** An expression statement's or an assignment's value: the program's, if it is the last. */
  settle(v: LangValue): void {
    if (typeof v !== 'string') this.last = v;
  }

  /** The variable in `slot`, named `name`: assigned, else an input, else a constant; else an error. */
  read(slot: number, name: string, frame: Frame, loc: Loc): LangValue {
    const v = this.values[slot];
    if (v !== undefined) return v;
    const input = this.inputs.get(name);
    if (input !== undefined) return (this.values[slot] = input);
    const c = constants[name];
    if (c !== undefined) return Tensor.scalar(c);
    const known = [...this.variableNames(), ...(frame?.keys() ?? []), ...knownNames()];
    const hint = closest(name, known);
    // mathjs would read `5 cm` as a unit; one-letter names (`t`, `m`, `s`) are far likelier missing inputs.
    const why =
      name.length > 1 && Unit.isValuelessUnit(name)
        ? `mathjs reads \`${name}\` as a unit, and units are not supported`
        : `give it a value in "at" or ${loc.path === undefined ? 'assign it before use' : 'make it a node'}`;
    throw new ProgramError('UNKNOWN_NAME', `unknown variable \`${name}\`: ${why}${hint === null ? '' : `; did you mean \`${hint}\`?`}`, loc);
  }

  /** The inputs' names, then those of the variables assigned. */
  private variableNames(): string[] {
    const names = [...this.inputs.keys()];
    this.values.forEach((v, slot) => {
      if (v !== undefined && !this.inputs.has(this.names[slot])) names.push(this.names[slot]);
    });
    return names;
  }

  variable(name: string): LangValue | undefined {
    const slot = this.names.indexOf(name);
    return (slot < 0 ? undefined : this.values[slot]) ?? this.inputs.get(name);
  }

  define(name: string, fn: UserFunction): void {
    (this.functions ??= new Map()).set(name, fn);
  }

  /** Runs the user function `name` on its arguments' values, within the recursion budget. */
  apply(name: string, args: readonly Code[], frame: Frame, loc: Loc): LangValue {
    const fn = this.functions?.get(name);
    if (fn === undefined) throw new ProgramError('UNKNOWN_NAME', `function \`${name}\` is called before its definition runs`, loc);
    if (fn.params.length !== args.length) {
      throw new ProgramError('INVALID_ARGUMENT', `\`${name}\` takes ${fn.params.length} argument(s), got ${args.length}`, loc);
    }
    const local = new Map<string, LangValue>();
    fn.params.forEach((p, i) => local.set(p, args[i](this, frame)));
    if (++this.depth > this.maxDepth) {
      throw new ProgramError('LIMIT_EXCEEDED', `recursion depth limit exceeded: \`${name}\` nested more than ${this.maxDepth} deep`, loc, 'recursion depth');
    }
    try {
      return fn.body(this, local);
    } finally {
      this.depth--;
    }
  }

  iterate(): void {
    if (++this.iterations > this.maxIterations) {
      throw new ProgramError('LIMIT_EXCEEDED', `loop iteration limit exceeded: more than ${this.maxIterations} iterations`, undefined, 'loop iterations');
    }
    if ((this.iterations & 63) === 0) this.cx.checkDeadline('loop');
  }

  /** A condition: a value with exactly one element, true when non-zero (NaN is false). */
  truth(v: LangValue, what: string): boolean {
    const t = concrete(tensorOf(v, `the condition of ${what}`));
    if (t.size !== 1) throw new ProgramError('NOT_SCALAR', `the condition of \`${what}\` must be a scalar, got shape ${formatShape(t.shape)}`);
    const c = t.data[0];
    return c !== 0 && c === c;
  }

  /** `end` inside an index: the extent of the dimension being indexed. */
  end(loc: Loc): Tensor {
    const extent = this.ends[this.ends.length - 1];
    if (extent === undefined) throw new ProgramError('PARSE_ERROR', '`end` is only meaningful inside an index', loc);
    return Tensor.scalar(extent);
  }

  /** A scalar operand of a range. */
  number(code: Code, frame: Frame, what: string, loc: Loc): number {
    const t = concrete(tensorOf(code(this, frame), what));
    if (t.size !== 1) throw new ProgramError('NOT_SCALAR', `${what} must be a scalar, got shape ${formatShape(t.shape)}`, loc);
    return t.data[0];
  }

  /** `start:end` and `start:step:end`, inclusive, as in mathjs (its `range`, element by element). */
  range(start: number, step: number, end: number, loc: Loc): Tensor {
    if (step === 0 || !Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step)) {
      throw new ProgramError('INVALID_ARGUMENT', `the range ${start}:${step}:${end} is not finite`, loc);
    }
    return mathjsRange(this.cx, start, end, step, true);
  }

  /** True when every call is observed (a trace): its arguments are then always an array. */
  get observed(): boolean {
    return this.onCall !== undefined;
  }

  /** A catalogue function of one argument, unobserved: no array (see `call`). */
  call1(direct: (cx: Context, a: LangValue) => Result, a: LangValue, loc: Loc): Result {
    try {
      return direct(this.cx, a);
    } catch (e) {
      throw locate(e, loc);
    }
  }

  /** A catalogue function of two arguments, unobserved: no array (see `call`). */
  call2(direct: (cx: Context, a: LangValue, b: LangValue) => Result, a: LangValue, b: LangValue, loc: Loc): Result {
    try {
      return direct(this.cx, a, b);
    } catch (e) {
      throw locate(e, loc);
    }
  }

  /** A catalogue function: the one way values are computed, so the trace sees every step. */
  call(entry: FunctionEntry, args: readonly LangValue[], loc: Loc): Result {
    let out: Result;
    try {
      out = entry.call(this.cx, args);
    } catch (e) {
      throw locate(e, loc);
    }
    this.onCall?.(entry.name, args, out, loc);
    return out;
  }

  /** The values of an index's positions, with `end` meaning each dimension's extent. */
  positions(x: Value, dims: readonly Code[], frame: Frame): Value[] {
    return dims.map((d, axis) => {
      this.ends.push(x.shape.length === 0 ? 1 : (x.shape[axis] ?? 1));
      try {
        return tensorOf(d(this, frame), 'an index');
      } finally {
        this.ends.pop();
      }
    });
  }
}

function tensorOf(v: LangValue, what: string): Value {
  if (v instanceof Tensor) return v;
  if (typeof v === 'string') throw new ProgramError('INVALID_ARGUMENT', `${what} must be a number or a tensor, not the string "${v}"`);
  if (v instanceof Distribution) throw new ProgramError('INVALID_ARGUMENT', `${what} must be a number or a tensor, not a ${v.family.name} distribution`);
  return v;
}

/** Makes a program's statements and expressions into code, giving each variable name a slot. */
class Compiler {
  private readonly slots = new Map<string, number>();
  readonly names: string[] = [];

  slot(name: string): number {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = this.names.length;
      this.slots.set(name, slot);
      this.names.push(name);
    }
    return slot;
  }

  block(body: readonly Stmt[]): Block {
    return { code: body.map((stmt) => this.statement(stmt)), locs: body.map((stmt) => stmt.loc) };
  }

  private statement(stmt: Stmt): StmtCode {
    switch (stmt.kind) {
      case 'expr': {
        const value = this.expr(stmt.value, null);
        return (it) => {
          it.settle(value(it, null));
          return NORMAL;
        };
      }
      case 'assign': {
        const slot = this.slot(stmt.name);
        const value = this.expr(stmt.value, null);
        return (it) => {
          const v = value(it, null);
          it.values[slot] = v;
          it.settle(v);
          return NORMAL;
        };
      }
      case 'assignIndex': {
        const { name, loc } = stmt;
        const slot = this.slot(name);
        const value = this.expr(stmt.value, null);
        const dims = stmt.dims.map((d) => this.expr(d, null));
        const assignSubset = entryOf('assignSubset');
        return (it) => {
          const assigned = tensorOf(value(it, null), 'the assigned value');
          const current = tensorOf(it.read(slot, name, null, loc), `\`${name}\``);
          it.values[slot] = it.call(assignSubset, [current, assigned, ...it.positions(current, dims, null)], loc);
          // As in mathjs, the value of `A[i] = v` is the value assigned, not the whole of A.
          it.last = assigned;
          return NORMAL;
        };
      }
      case 'function': {
        const { name } = stmt;
        const fn: UserFunction = { params: stmt.params, body: this.expr(stmt.body, new Set(stmt.params)) };
        return (it) => {
          it.define(name, fn);
          return NORMAL;
        };
      }
      case 'for': {
        const { loc } = stmt;
        const slot = this.slot(stmt.name);
        const iterable = this.expr(stmt.iterable, null);
        const body = this.block(stmt.body);
        const flatten = entryOf('flatten');
        const subset = entryOf('subset');
        return (it) => {
          const values = tensorOf(iterable(it, null), 'a for loop');
          if (values.shape.length > 1 && values.shape.filter((d) => d !== 1).length > 1) {
            throw new ProgramError('SHAPE_MISMATCH', `a for loop iterates over the elements of a vector, got shape ${formatShape(values.shape)}`);
          }
          const n = E.sizeOf(values.shape);
          const data = values instanceof Tensor ? values.data : null;
          const flat = data === null ? tensorOf(it.call(flatten, [values], loc), 'a for loop') : null;
          for (let k = 0; k < n; k++) {
            it.iterate();
            it.values[slot] = data !== null ? Tensor.scalar(data[k]) : it.call(subset, [flat!, Tensor.scalar(k + 1)], loc);
            if (it.block(body) === BREAK) break;
          }
          return NORMAL;
        };
      }
      case 'while': {
        const test = this.expr(stmt.test, null);
        const body = this.block(stmt.body);
        return (it) => {
          for (;;) {
            it.iterate();
            if (!it.truth(test(it, null), 'while')) break;
            if (it.block(body) === BREAK) break;
          }
          return NORMAL;
        };
      }
      case 'if': {
        const branches = stmt.branches.map((branch) => ({ test: this.expr(branch.test, null), body: this.block(branch.body) }));
        const otherwise = stmt.otherwise === null ? null : this.block(stmt.otherwise);
        return (it) => {
          for (const branch of branches) {
            if (it.truth(branch.test(it, null), 'if')) return it.block(branch.body);
          }
          return otherwise === null ? NORMAL : it.block(otherwise);
        };
      }
      case 'break':
        return () => BREAK;
      case 'continue':
        return () => CONTINUE;
    }
  }

  /** `params`: inside a user function's body, its parameters' names (found in its frame). */
  private expr(expr: Expr, params: ReadonlySet<string> | null): Code {
    const sub = (e: Expr): Code => this.expr(e, params);
    switch (expr.kind) {
      case 'const':
      case 'string': {
        const { value } = expr;
        return () => value;
      }
      case 'var': {
        const { name, loc } = expr;
        if (params?.has(name) === true) return (_it, frame) => frame!.get(name)!;
        const slot = this.slot(name);
        return (it, frame) => it.values[slot] ?? it.read(slot, name, frame, loc);
      }
      case 'call': {
        const entry = entryOf(expr.fn);
        const { loc } = expr;
        const args = expr.args.map(sub);
        // One and two arguments, nearly every call: without a loop, and without an array unless a trace observes it.
        const { call1, call2 } = entry;
        if (args.length === 1) {
          const [a] = args;
          if (call1 !== undefined) return (it, frame) => (it.observed ? it.call(entry, [a(it, frame)], loc) : it.call1(call1, a(it, frame), loc));
          return (it, frame) => it.call(entry, [a(it, frame)], loc);
        }
        if (args.length === 2) {
          const [a, b] = args;
          if (call2 !== undefined) {
            return (it, frame) => {
              const x = a(it, frame);
              return it.observed ? it.call(entry, [x, b(it, frame)], loc) : it.call2(call2, x, b(it, frame), loc);
            };
          }
          return (it, frame) => {
            const x = a(it, frame);
            return it.call(entry, [x, b(it, frame)], loc);
          };
        }
        return (it, frame) => {
          const values = new Array<LangValue>(args.length);
          for (let i = 0; i < args.length; i++) values[i] = args[i](it, frame);
          return it.call(entry, values, loc);
        };
      }
      case 'apply': {
        const { fn, loc } = expr;
        const args = expr.args.map(sub);
        return (it, frame) => it.apply(fn, args, frame, loc);
      }
      case 'matrix': {
        const items = expr.items.map(sub);
        const stack = entryOf('stack');
        const { loc } = expr;
        return (it, frame) =>
          it.call(
            stack,
            items.map((item) => item(it, frame)),
            loc,
          );
      }
      case 'range': {
        const { loc } = expr;
        const start = sub(expr.start);
        const step = expr.step === null ? null : sub(expr.step);
        const end = sub(expr.end);
        const stepLoc = expr.step?.loc ?? loc;
        return (it, frame) => {
          const from = it.number(start, frame, 'the start of a range', expr.start.loc);
          const by = step === null ? 1 : it.number(step, frame, 'the step of a range', stepLoc);
          return it.range(from, by, it.number(end, frame, 'the end of a range', expr.end.loc), loc);
        };
      }
      case 'index': {
        const { loc } = expr;
        const object = sub(expr.object);
        const dims = expr.dims.map(sub);
        const subset = entryOf('subset');
        return (it, frame) => {
          const x = tensorOf(object(it, frame), 'an indexed value');
          return it.call(subset, [x, ...it.positions(x, dims, frame)], loc);
        };
      }
      case 'end': {
        const { loc } = expr;
        return (it) => it.end(loc);
      }
      case 'cond': {
        const test = sub(expr.test);
        const then = sub(expr.then);
        const otherwise = sub(expr.otherwise);
        return (it, frame) => (it.truth(test(it, frame), '?:') ? then(it, frame) : otherwise(it, frame));
      }
    }
  }
}

/** The catalogue function a call names: the parser and the graph reader admit no other. */
function entryOf(name: string): FunctionEntry {
  const entry = functionNamed(name);
  if (entry === undefined) throw new Error(`interpret: \`${name}\` is not in the catalogue`);
  return entry;
}

/** Each program's code, made on its first run. */
const compiledPrograms = new WeakMap<Program, Compiled>();

function compiled(program: Program): Compiled {
  let code = compiledPrograms.get(program);
  if (code === undefined) {
    const compiler = new Compiler();
    code = { body: compiler.block(program.body), names: compiler.names };
    compiledPrograms.set(program, code);
  }
  return code;
}

/** Runs a program with the given inputs under the context's budgets. */
export function run(cx: Context, program: Program, inputs: ReadonlyMap<string, LangValue>, options: RunOptions = {}): RunResult {
  const { body, names } = compiled(program);
  const interpreter = new Interpreter(cx, inputs, names, options);
  try {
    interpreter.block(body);
  } catch (e) {
    throw locate(e, undefined);
  }
  return interpreter;
}
