/**
 * Differential tests against mathjs. SPEC.md section 2: the language's semantics are mathjs's,
 * and wherever `math.evaluate` gives a value for a program, adjoint's `eval` must give the same
 * value (up to float rounding). Random programs in the subset both run, then a table of the
 * semantics a reader of mathjs's documentation checks first. The one deliberate difference,
 * element-wise math functions on tensors (mathjs 15 refuses `sin([1, 2])`), is in
 * semantics.test.ts; here those functions only ever get scalars.
 */
import fc from 'fast-check';
import { evaluate, isMatrix, isResultSet, matrix } from 'mathjs';
import t, { type Test } from 'tap';
import { computeSync } from '../../src/index.js';
import { assertClose, closeMismatch, tensorFromJson } from '../helpers.js';

const TOLERANCE = { rtol: 1e-12, atol: 1e-12 };

type Json = number | Json[];
type Inputs = Readonly<Record<string, Json>>;

/** mathjs's result as plain JSON numbers: a Matrix as nested arrays, booleans as 1 and 0, a ResultSet as its last entry. */
function plain(v: unknown): unknown {
  if (isResultSet(v)) {
    const entries = (v as unknown as { entries: unknown[] }).entries;
    return plain(entries[entries.length - 1]);
  }
  if (isMatrix(v)) return plain(v.toArray());
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

/** math.evaluate with the inputs in its scope (tensors as mathjs matrices). */
function mathjsValue(program: string, at: Inputs): unknown {
  const scope: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(at)) scope[name] = Array.isArray(value) ? matrix(value as number[]) : value;
  return plain(evaluate(program, scope));
}

function adjointValue(program: string, at: Inputs): unknown {
  return (computeSync('eval', { program, at }) as { value: unknown }).value;
}

/**
 * Why adjoint's value of `program` differs from mathjs's value of `mathjsProgram` (the same
 * program, or its loops unrolled), or null when they agree.
 */
function disagreement(program: string, mathjsProgram: string, at: Inputs): string | null {
  let expected: unknown;
  try {
    expected = mathjsValue(mathjsProgram, at);
  } catch (e) {
    return `mathjs refuses it (${(e as Error).message}), so the generator left the common subset`;
  }
  if (typeof expected !== 'number' && !Array.isArray(expected)) return `mathjs gives ${JSON.stringify(expected)}, not a number or a matrix`;
  let got: unknown;
  try {
    got = adjointValue(program, at);
  } catch (e) {
    return `adjoint fails: ${(e as Error).message}`;
  }
  const why = closeMismatch(tensorFromJson(got), tensorFromJson(expected), TOLERANCE);
  return why === null ? null : `${why}; adjoint ${JSON.stringify(got)}, mathjs ${JSON.stringify(expected)}`;
}

// ---------------------------------------------------------------------------------------------
// Random programs in the common subset.

type Shape = readonly number[];

const same = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** Wraps a term in parentheses unless it is a name or a non-negative number. */
const p = (text: string): string => (/^([A-Za-z_]\w*|\d+(\.\d+)?)$/.test(text) ? text : `(${text})`);

const LITERALS = [-3, -2, -1, 0, 1, 2, 3, 4, 0.5, -1.5, 2.25];
const DIVISORS = [2, 4, -0.5, 3, 8];
/** Scalar math functions and domain-safe compositions; mathjs applies them to scalars only. */
const SCALAR_FUNCTIONS: readonly ((a: string) => string)[] = [
  (a) => `sin(${a})`,
  (a) => `cos(${a})`,
  (a) => `tanh(${a})`,
  (a) => `atan(${a})`,
  (a) => `abs(${a})`,
  (a) => `exp(sin(${a}))`,
  (a) => `log(abs(${a}) + 1)`,
  (a) => `log(${p(a)} ^ 2 + 0.5)`,
  (a) => `sqrt(abs(${a}))`,
  (a) => `sqrt(${p(a)} ^ 2 + 1)`,
  (a) => `sinh(tanh(${a}))`,
  (a) => `cosh(sin(${a}))`,
];
const REDUCTIONS = ['sum', 'mean', 'prod', 'max', 'min', 'variance', 'std'];
const ALONG = ['sum', 'mean', 'max', 'min', 'variance', 'std'];
/** Variable names: none is a mathjs constant (e, i, pi …) or starts with e (2e would be a number). */
const NAMES = ['a', 'b', 'c', 'u', 'w', 'x', 'y', 'z', 'q', 'r', 's', 'A', 'B', 'C', 'M', 'N', 'P', 'Q', 'V', 'W'];

interface Variable {
  readonly shape: Shape;
  /** Holds a strictly diagonally dominant matrix, so det and inv are well conditioned. */
  readonly invertible: boolean;
}

interface GeneratedProgram {
  readonly adjoint: string;
  readonly mathjs: string;
  readonly at: Inputs;
}

/**
 * Draws programs whose every step both languages define: shapes are tracked so that `*` gets
 * compatible operands, indices are in range, det and inv get diagonally dominant matrices, and
 * logarithms and square roots get positive arguments.
 */
class ProgramGenerator {
  private readonly variables = new Map<string, Variable>();

  constructor(private readonly g: fc.GeneratorValue) {}

  private int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  private chance(percent: number): boolean {
    return this.int(1, 100) <= percent;
  }

  private literal(): string {
    const v = this.pick(LITERALS);
    return v < 0 ? `(${v})` : String(v);
  }

  private variableOf(shape: Shape, invertible = false): string | null {
    const names = [...this.variables].filter(([, v]) => same(v.shape, shape) && (!invertible || v.invertible)).map(([name]) => name);
    return names.length === 0 ? null : this.pick(names);
  }

  /** A variable given a new value no longer holds a diagonally dominant matrix. */
  private changed(name: string): void {
    const v = this.variables.get(name);
    if (v !== undefined) this.variables.set(name, { shape: v.shape, invertible: false });
  }

  private freshName(): string {
    const free = NAMES.filter((n) => !this.variables.has(n));
    return free.length > 0 ? this.pick(free) : this.pick(NAMES);
  }

  private shape(): Shape {
    const kind = this.int(0, 2);
    if (kind === 0) return [];
    if (kind === 1) return [this.int(1, 4)];
    return [this.int(1, 3), this.int(1, 3)];
  }

  term(shape: Shape, depth: number): string {
    if (shape.length === 0) return this.scalar(depth);
    if (shape.length === 1) return this.vector(shape[0], depth);
    return this.matrix(shape[0], shape[1], depth);
  }

  private scalar(depth: number): string {
    const variable = this.variableOf([]);
    if (depth <= 0) return variable !== null && this.chance(50) ? variable : this.literal();
    const d = depth - 1;
    switch (this.int(0, 18)) {
      case 0:
        return this.literal();
      case 1:
        return variable ?? this.literal();
      case 2:
      case 3:
        return `${p(this.scalar(d))} ${this.pick(['+', '-', '*'])} ${p(this.scalar(d))}`;
      case 4:
        return this.chance(50) ? `${p(this.scalar(d))} / ${p(String(this.pick(DIVISORS)))}` : `${p(this.scalar(d))} / (abs(${this.scalar(d)}) + 1)`;
      case 5:
        return `${p(this.scalar(d))} ^ ${this.int(0, 3)}`;
      case 6:
      case 7:
        return this.pick(SCALAR_FUNCTIONS)(this.scalar(d));
      case 8: {
        const n = this.int(1, 4);
        const v = this.vector(n, d);
        return this.pick([`${this.pick(REDUCTIONS)}(${v})`, `norm(${v})`, `norm(${v}, 1)`, `norm(${v}, Infinity)`]);
      }
      case 9: {
        const [m, n] = [this.int(1, 3), this.int(1, 3)];
        const a = this.matrix(m, n, d);
        return this.pick([`${this.pick(REDUCTIONS)}(${a})`, `norm(${a}, 1)`, `norm(${a}, Infinity)`, `norm(${a}, "fro")`]);
      }
      case 10: {
        // mathjs's norm(A) and norm(A, 2) are the spectral norm, defined for square matrices.
        const n = this.int(1, 3);
        return this.chance(50) ? `norm(${this.matrix(n, n, d)})` : `det(${this.invertible(n)})`;
      }
      case 11: {
        const n = this.int(1, 4);
        return `${p(this.vector(n, d))}[${this.position(n)}]`;
      }
      case 12: {
        const [m, n] = [this.int(1, 3), this.int(1, 3)];
        return `${p(this.matrix(m, n, d))}[${this.position(m)}, ${this.position(n)}]`;
      }
      case 13: {
        // Two vectors: their dot product (a transposed vector is the same vector in mathjs).
        const n = this.int(1, 4);
        return `${p(this.vector(n, d))}${this.chance(30) ? "'" : ''} * ${p(this.vector(n, d))}`;
      }
      case 14:
        // Against an integer, so no comparison is a near-tie that rounding could flip.
        return `${p(this.scalar(d))} ${this.pick(['<', '>', '<=', '>=', '==', '!='])} ${this.int(-2, 2)}`;
      case 15:
        return `${p(this.scalar(d))} > ${this.int(-1, 1)} ? ${p(this.scalar(d))} : ${p(this.scalar(d))}`;
      case 16:
        return `${this.pick(['max', 'min'])}(${this.scalar(d)}, ${this.scalar(d)})`;
      case 17:
        // Implicit multiplication: `2x`.
        return variable !== null ? `${this.int(2, 5)}${variable}` : this.literal();
      default: {
        const n = this.int(1, 3);
        return `sum(${this.matrix(n, n, d)} * ${p(this.vector(n, d))})`;
      }
    }
  }

  /** A 1-based position in a dimension of extent n: a number or an expression of `end`. */
  private position(n: number): string {
    const k = this.int(1, n);
    if (this.chance(60)) return String(k);
    return k === n ? 'end' : `end - ${n - k}`;
  }

  /** A range of n positions within an extent, written with numbers or `end`. */
  private positions(n: number, extent: number): string {
    const first = this.int(1, extent - n + 1);
    const last = first + n - 1;
    if (this.chance(20) && n === extent) return ':';
    if (this.chance(25) && n > 1) {
      const picked = Array.from({ length: n }, () => this.int(1, extent));
      return `[${picked.join(', ')}]`;
    }
    return `${first}:${last === extent && this.chance(50) ? 'end' : last}`;
  }

  private vector(n: number, depth: number): string {
    const variable = this.variableOf([n]);
    if (depth <= 0) {
      if (variable !== null && this.chance(50)) return variable;
      if (this.chance(30)) return this.range(n);
      return `[${Array.from({ length: n }, () => this.literal()).join(', ')}]`;
    }
    const d = depth - 1;
    switch (this.int(0, 16)) {
      case 0:
        return `[${Array.from({ length: n }, () => this.scalar(d)).join(', ')}]`;
      case 1:
        return variable ?? this.range(n);
      case 2:
        return this.range(n);
      case 3:
      case 4:
        return `${p(this.vector(n, d))} ${this.pick(['+', '-', '.*'])} ${p(this.vector(n, d))}`;
      case 5:
        return `${p(this.vector(n, d))} ./ [${Array.from({ length: n }, () => this.pick(DIVISORS)).join(', ')}]`;
      case 6:
        return this.pick([
          `${p(this.scalar(d))} * ${p(this.vector(n, d))}`,
          `${p(this.vector(n, d))} * ${p(this.scalar(d))}`,
          `${p(this.vector(n, d))} / ${p(String(this.pick(DIVISORS)))}`,
        ]);
      case 7:
        return this.pick([`-${p(this.vector(n, d))}`, `abs(${this.vector(n, d)})`, `${p(this.vector(n, d))} .^ 2`, `${p(this.vector(n, d))}'`]);
      case 8: {
        const k = this.int(1, 3);
        return `${p(this.matrix(n, k, d))} * ${p(this.vector(k, d))}`;
      }
      case 9: {
        const k = this.int(1, 3);
        return `${p(this.vector(k, d))} * ${p(this.matrix(k, n, d))}`;
      }
      case 10: {
        const m = this.int(1, 3);
        return this.chance(50) ? `${p(this.matrix(m, n, d))}[${this.position(m)}, :]` : `${p(this.matrix(n, m, d))}[:, ${this.position(m)}]`;
      }
      case 11: {
        const extent = n + this.int(0, 2);
        return `${p(this.vector(extent, d))}[${this.positions(n, extent)}]`;
      }
      case 12: {
        const m = this.int(1, 3);
        const along = this.pick(ALONG);
        return this.chance(50) ? `${along}(${this.matrix(m, n, d)}, 1)` : `${along}(${this.matrix(n, m, d)}, 2)`;
      }
      case 13: {
        const v = this.vector(n, d);
        return `${p(this.scalar(d))} > 0 ? ${p(v)} : ${p(this.vector(n, d))}`;
      }
      case 14:
        return `inv(${this.invertible(n)}) * ${p(this.vector(n, d))}`;
      default:
        return `${p(this.vector(n, d))} ${this.pick(['+', '-'])} ${p(this.scalar(d))}`;
    }
  }

  /** `a:b` or `a:s:b` of n elements (steps exact in binary, so both sides count alike). */
  private range(n: number): string {
    const start = this.int(-3, 3);
    const step = this.pick([1, 1, 2, -1, 0.5, -2]);
    const end = start + step * (n - 1);
    const text = step === 1 && this.chance(70) ? `${start}:${end}` : `${start}:${step}:${end}`;
    return `(${text})`;
  }

  private matrix(m: number, n: number, depth: number): string {
    const variable = this.variableOf([m, n]);
    if (depth <= 0) {
      if (variable !== null && this.chance(50)) return variable;
      return this.matrixLiteral(m, n, () => this.literal());
    }
    const d = depth - 1;
    switch (this.int(0, 16)) {
      case 0:
        return this.matrixLiteral(m, n, () => this.scalar(d));
      case 1:
        return variable ?? this.matrixLiteral(m, n, () => this.literal());
      case 2:
      case 3:
        return `${p(this.matrix(m, n, d))} ${this.pick(['+', '-', '.*'])} ${p(this.matrix(m, n, d))}`;
      case 4:
        return this.pick([
          `${p(this.scalar(d))} * ${p(this.matrix(m, n, d))}`,
          `${p(this.matrix(m, n, d))} / ${p(String(this.pick(DIVISORS)))}`,
          `-${p(this.matrix(m, n, d))}`,
          `abs(${this.matrix(m, n, d)})`,
          `${p(this.matrix(m, n, d))} .^ 2`,
          `${p(this.matrix(m, n, d))} + ${p(this.scalar(d))}`,
        ]);
      case 5:
        return `${p(this.matrix(n, m, d))}'`;
      case 6:
      case 7: {
        const k = this.int(1, 3);
        return `${p(this.matrix(m, k, d))} * ${p(this.matrix(k, n, d))}`;
      }
      case 8:
        return m === n ? `${p(this.matrix(n, n, d))} ^ ${this.int(0, 3)}` : this.matrix(m, n, d);
      case 9:
        if (m !== n) return this.matrix(m, n, d);
        return this.pick([`inv(${this.invertible(n)})`, `${p(this.matrix(n, n, d))} / ${this.invertible(n)}`, `1 / ${this.invertible(n)}`]);
      case 10: {
        const [rows, columns] = [m + this.int(0, 1), n + this.int(0, 1)];
        return `${p(this.matrix(rows, columns, d))}[${this.positions(m, rows)}, ${this.positions(n, columns)}]`;
      }
      case 11:
        // Rows given as vectors: `[u, w]` (`[u; w]` would nest each row once more, as mathjs does).
        return `[${Array.from({ length: m }, () => this.vector(n, d)).join(', ')}]`;
      case 12:
        return this.pick([`ones(${m}, ${n})`, `zeros(${m}, ${n})`, m === n ? `identity(${n})` : `ones(${m}, ${n})`]);
      case 13:
        return this.outer(m, n, d);
      case 14:
        return `${p(this.scalar(d))} > 0 ? ${p(this.matrix(m, n, d))} : ${p(this.matrix(m, n, d))}`;
      default:
        return this.matrixLiteral(m, n, () => this.scalar(d));
    }
  }

  /** The outer product of two vectors, as the product of a column (m×1) and a row (1×n). */
  private outer(m: number, n: number, d: number): string {
    const column = `[[${Array.from({ length: m }, () => this.scalar(d)).join(', ')}]]'`;
    const row = `[[${Array.from({ length: n }, () => this.scalar(d)).join(', ')}]]`;
    return `${column} * ${row}`;
  }

  /** `[a, b; c, d]`, or `[[a, b], [c, d]]` (always for one row: `[a, b]` would be a vector). */
  private matrixLiteral(m: number, n: number, item: () => string): string {
    const rows = Array.from({ length: m }, () => Array.from({ length: n }, item).join(', '));
    return m > 1 && this.chance(70) ? `[${rows.join('; ')}]` : `[${rows.map((r) => `[${r}]`).join(', ')}]`;
  }

  /** A strictly diagonally dominant n×n matrix: a variable holding one, or a literal. */
  private invertible(n: number): string {
    const variable = this.variableOf([n, n], true);
    if (variable !== null && this.chance(50)) return variable;
    const rows = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i === j ? this.pick([5, 6, 7, -6, 8.5]) : this.pick([-2, -1, 0, 0.5, 1, 2]))).join(', '),
    );
    return n === 1 ? `[[${rows[0]}]]` : `[${rows.join('; ')}]`;
  }

  private inputs(): Record<string, Json> {
    const at: Record<string, Json> = {};
    const count = this.int(0, 2);
    for (let k = 0; k < count; k++) {
      const name = this.freshName();
      const shape = this.shape();
      const value = (s: Shape): Json => (s.length === 0 ? this.pick(LITERALS) : Array.from({ length: s[0] }, () => value(s.slice(1))));
      at[name] = value(shape);
      this.variables.set(name, { shape, invertible: false });
    }
    return at;
  }

  /** One statement for adjoint and the same for mathjs (a loop unrolled), each a list of lines. */
  private statement(inLoop: boolean): { adjoint: string[]; mathjs: string[] } {
    const kind = this.int(0, inLoop ? 3 : 6);
    const one = (text: string): { adjoint: string[]; mathjs: string[] } => ({ adjoint: [text], mathjs: [text] });
    const existing = [...this.variables].filter(([name]) => name !== 'k' && name !== 't');
    if ((kind === 0 || kind === 1) && existing.length > 0) {
      // Update a variable in place, keeping its shape.
      const [name, v] = this.pick(existing);
      const update = this.term(v.shape, this.int(0, 2));
      this.changed(name);
      return one(`${name} = ${p(name)} ${this.pick(['+', '-'])} ${p(update)}`);
    }
    if (kind === 2 && existing.length > 0) {
      const tensors = existing.filter(([, v]) => v.shape.length > 0);
      if (tensors.length > 0) {
        const [name, v] = this.pick(tensors);
        this.changed(name);
        if (v.shape.length === 1) return one(`${name}[${this.position(v.shape[0])}] = ${this.scalar(this.int(0, 2))}`);
        const row = this.position(v.shape[0]);
        return one(
          this.chance(50)
            ? `${name}[${row}, ${this.position(v.shape[1])}] = ${this.scalar(this.int(0, 2))}`
            : `${name}[${row}, :] = ${this.vector(v.shape[1], this.int(0, 1))}`,
        );
      }
    }
    if (kind >= 5 && !inLoop) return this.loop();
    const shape = this.shape();
    if (shape.length === 2 && shape[0] === shape[1] && this.chance(30)) {
      const name = this.freshName();
      const text = `${name} = ${this.invertible(shape[0])}`;
      this.variables.set(name, { shape, invertible: true });
      return one(text);
    }
    const value = this.term(shape, this.int(0, 3));
    const name = this.freshName();
    this.variables.set(name, { shape, invertible: false });
    return one(`${name} = ${value}`);
  }

  /** `for k = 1:K … end` or over a vector; mathjs has no loops, so its version is unrolled. */
  private loop(): { adjoint: string[]; mathjs: string[] } {
    const overRange = this.chance(70);
    const name = overRange ? 'k' : 't';
    const values = overRange ? Array.from({ length: this.int(1, 3) }, (_, i) => i + 1) : Array.from({ length: this.int(1, 3) }, () => this.pick(LITERALS));
    const header = overRange ? `for k = 1:${values.length}` : `for t = [${values.join(', ')}]`;
    const previous = this.variables.get(name);
    this.variables.set(name, { shape: [], invertible: false });
    const body: { adjoint: string[]; mathjs: string[] }[] = [];
    const statements = this.int(1, 2);
    for (let s = 0; s < statements; s++) {
      const targets = [...this.variables].filter(([n]) => n !== 'k' && n !== 't');
      if (targets.length === 0) break;
      const [target, v] = this.pick(targets);
      const text =
        overRange && v.shape.length === 1 && v.shape[0] >= values.length && this.chance(50)
          ? `${target}[k] = ${this.scalar(1)}`
          : `${target} = ${p(target)} + ${p(this.term(v.shape, 1))}`;
      this.changed(target);
      body.push({ adjoint: [text], mathjs: [text] });
    }
    if (previous === undefined) this.variables.delete(name);
    else this.variables.set(name, previous);
    if (body.length === 0) return { adjoint: [], mathjs: [] };
    const inner = body.flatMap((b) => b.adjoint);
    const adjoint = this.chance(50) ? [header, ...inner, 'end'] : [`${header}; ${inner.join('; ')}; end`];
    const mathjs = values.flatMap((v) => [`${name} = ${v < 0 ? `(${v})` : v}`, ...body.flatMap((b) => b.mathjs)]);
    return { adjoint, mathjs };
  }

  program(): GeneratedProgram {
    const at = this.inputs();
    const adjoint: string[] = [];
    const mathjs: string[] = [];
    const count = this.int(0, 4);
    for (let s = 0; s < count; s++) {
      const stmt = this.statement(false);
      adjoint.push(...stmt.adjoint);
      mathjs.push(...stmt.mathjs);
    }
    const last = this.term(this.shape(), this.int(1, 3));
    adjoint.push(last);
    mathjs.push(last);
    // Statements end at a newline or `;`; mathjs's `;` hides a result, so it gets newlines.
    return { adjoint: adjoint.reduce((text, line) => `${text}${this.pick(['\n', '; ', '\n  '])}${line}`), mathjs: mathjs.join('\n'), at };
  }
}

const programs: fc.Arbitrary<GeneratedProgram> = fc.gen().map((g) => new ProgramGenerator(g).program());

t.test('random programs in the common subset: adjoint eval equals math.evaluate', (t) => {
  fc.assert(
    fc.property(programs, ({ adjoint, mathjs, at }) => {
      const why = disagreement(adjoint, mathjs, at);
      if (why !== null) throw new Error(`program:\n${adjoint}\nmathjs program:\n${mathjs}\nat ${JSON.stringify(at)}\n${why}`);
    }),
    { seed: 20240611, numRuns: 1000 },
  );
  t.pass('1000 programs agree');
  t.end();
});

// ---------------------------------------------------------------------------------------------
// The semantics a reader of mathjs's documentation checks first, each against math.evaluate.

/** Checks adjoint's eval of `program` against math.evaluate's, shape and every element. */
function assertAgreesWithMathjs(t: Test, label: string, program: string, at: Inputs = {}): void {
  let expected: unknown;
  try {
    expected = mathjsValue(program, at);
  } catch (e) {
    t.fail(`${label}: mathjs refuses \`${program}\` (${(e as Error).message})`);
    return;
  }
  let got: unknown;
  try {
    got = adjointValue(program, at);
  } catch (e) {
    t.fail(`${label}: adjoint fails on \`${program}\`: ${(e as Error).message}`);
    return;
  }
  assertClose(t, tensorFromJson(got), tensorFromJson(expected as Json), `${label}: \`${program.replace(/\n/g, '; ')}\``, TOLERANCE);
}

const A3 = 'A = [1, 2, 3; 4, 5, 6; 7, 8, 10]';
const semantics: readonly { name: string; program: string; at?: Inputs }[] = [
  { name: 'A[2, :] drops the indexed dimension (a vector)', program: `${A3}; A[2, :]` },
  { name: 'A[:, 2] drops it too', program: `${A3}; A[:, 2]` },
  { name: 'A[2:end, 2:3] keeps both dimensions', program: `${A3}; A[2:end, 2:3]` },
  { name: 'A[end, end] is the last element', program: `${A3}; A[end, end]` },
  { name: 'A[[3, 1], :] picks rows in the order given', program: `${A3}; A[[3, 1], :]` },
  { name: 'x[[1, 3]] picks elements by a list of positions', program: 'x = [10, 20, 30]; x[[1, 3]]' },
  { name: 'x[end - 1] counts from the end', program: 'x = [10, 20, 30]; x[end - 1]' },
  { name: 'indexing applies to any expression', program: '([1, 2, 3] + 1)[2]' },
  { name: '[1; 2] is a 2x1 matrix', program: '[1; 2]' },
  { name: '[[1, 2], [3, 4]] is the same matrix as [1, 2; 3, 4]', program: '[[1, 2], [3, 4]]' },
  { name: '[u; w] of two vectors is 2x1x2, as mathjs nests rows', program: 'u = [1, 2]; w = [3, 4]; [u; w]' },
  { name: '[u, w] of two vectors stacks them as rows', program: 'u = [1, 2]; w = [3, 4]; [u, w]' },
  { name: '[1, 2] * [3, 4] is the dot product', program: '[1, 2] * [3, 4]' },
  { name: '[1, 2; 3, 4] * [1, 2] is a vector', program: '[1, 2; 3, 4] * [1, 2]' },
  { name: '[1, 2] * [1, 2; 3, 4] is a vector', program: '[1, 2] * [1, 2; 3, 4]' },
  { name: '[1, 2; 3, 4] * [1; 2] is a 2x1 matrix', program: '[1, 2; 3, 4] * [1; 2]' },
  { name: 'a row times a column is a 1x1 matrix', program: '[[1, 2]] * [3; 4]' },
  { name: 'a column times a row is the outer product', program: "[[1, 2]]' * [[3, 4]]" },
  { name: '[1, 2] + [1; 2] broadcasts to 2x2', program: '[1, 2] + [1; 2]' },
  { name: 'a matrix plus a scalar adds it to every element', program: '[1, 2; 3, 4] + 10' },
  { name: '.* and ./ are element-wise', program: '[1, 2; 3, 4] .* [5, 6; 7, 8] ./ [2, 4; 8, 16]' },
  { name: '.^ is element-wise', program: '[1, 2; 3, 4] .^ 2' },
  { name: 'A^2 is the matrix power, not element-wise', program: 'A = [1, 2; 3, 4]; A^2' },
  { name: 'A^0 is the identity', program: 'A = [1, 2; 3, 4]; A^0' },
  { name: 'A^-1 is the inverse', program: 'A = [1, 2; 3, 4]; A^-1' },
  { name: '1 / A is the inverse', program: 'A = [1, 2; 3, 4]; 1 / A' },
  { name: 'B / A is B times the inverse of A', program: 'A = [5, 1; 1, 4]; B = [1, 2; 3, 4]; B / A' },
  { name: "A' transposes", program: "A = [1, 2, 3; 4, 5, 6]; A'" },
  { name: "a vector's transpose is the same vector", program: "(1:3)'" },
  { name: 'assigning past the end grows the matrix with zeros', program: 'A = zeros(2, 2); A[3, 3] = 1; A' },
  { name: 'assigning past the end grows a vector', program: 'x = [1, 2, 3]; x[5] = 7; x' },
  { name: 'the value of x[2] = 5 is 5', program: 'x = [1, 2, 3]; x[2] = 5' },
  { name: 'x[2] = 5 changes x', program: 'x = [1, 2, 3]; x[2] = 5; x' },
  { name: 'a row assignment', program: 'A = [1, 2; 3, 4]; A[1, :] = [5, 6]; A' },
  { name: 'a column assignment from a column', program: 'A = [1, 2; 3, 4]; A[:, 2] = [9; 8]; A' },
  { name: 'a scalar assigned to a row fills it', program: 'A = [1, 2; 3, 4]; A[2, :] = 0; A' },
  { name: 'ranges are inclusive', program: '1:5' },
  { name: 'a range with a step', program: '1:2:7' },
  { name: 'a descending range', program: '5:-1:1' },
  { name: 'a range with a fractional step', program: '0:0.25:1' },
  { name: 'log(8, 2) is the base-2 logarithm', program: 'log(8, 2)' },
  { name: 'mod of a negative number is non-negative for a positive divisor', program: 'mod(-7, 3)' },
  { name: 'mod takes the sign of a negative divisor', program: 'mod(7, -3)' },
  { name: 'mod of a fraction', program: 'mod(5.5, 2)' },
  { name: 'mod by 0 is the number itself', program: 'mod(5, 0)' },
  { name: '% is mod', program: '-5 % 3' },
  { name: 'round(-2.5) rounds half away from zero', program: 'round(-2.5)' },
  { name: 'round(2.5) rounds half away from zero', program: 'round(2.5)' },
  { name: 'fix rounds toward zero', program: 'fix(-2.7)' },
  { name: 'max(2, 3) of several scalars', program: 'max(2, 3)' },
  { name: 'min of several scalars', program: 'min(4, -1, 2)' },
  { name: 'sum of several scalars', program: 'sum(1, 2, 3)' },
  { name: 'sum(A) sums every element', program: `${A3}; sum(A)` },
  { name: 'sum(A, 1) sums each column', program: `${A3}; sum(A, 1)` },
  { name: 'sum(A, 2) sums each row', program: `${A3}; sum(A, 2)` },
  { name: 'mean(A, 1) averages each column', program: `${A3}; mean(A, 1)` },
  { name: 'max(A, 2) is the largest of each row', program: `${A3}; max(A, 2)` },
  { name: 'min(A, 1) is the smallest of each column', program: `${A3}; min(A, 1)` },
  { name: 'prod multiplies every element', program: `${A3}; prod(A)` },
  { name: 'variance(v) is unbiased (divides by n - 1)', program: 'variance([1, 2, 4, 8])' },
  { name: 'variance(v, "uncorrected") divides by n', program: 'variance([1, 2, 4, 8], "uncorrected")' },
  { name: 'variance of one element is 0', program: 'variance([3])' },
  { name: 'variance(A, 2) per row', program: `${A3}; variance(A, 2)` },
  { name: 'std(v) is the square root of the unbiased variance', program: 'std([1, 2, 4, 8])' },
  { name: 'std(A, 1) per column', program: `${A3}; std(A, 1)` },
  { name: 'norm(v) is the 2-norm', program: 'norm([3, -4, 12])' },
  { name: 'norm(v, 1) sums absolute values', program: 'norm([3, -4, 12], 1)' },
  { name: 'norm(v, Infinity) is the largest absolute value', program: 'norm([3, -4, 12], Infinity)' },
  { name: 'norm(v, "inf") too', program: 'norm([3, -4, 12], "inf")' },
  { name: 'norm(v, 3) is the 3-norm', program: 'norm([3, -4, 12], 3)' },
  { name: 'norm(A) of a matrix is the spectral norm, the largest singular value', program: 'norm([1, 2; 3, 4])' },
  { name: 'norm(A) of a 3x3 matrix', program: `${A3}; norm(A)` },
  { name: 'norm(A, 2) is the spectral norm too', program: 'norm([1, -2; 3, 4], 2)' },
  { name: 'norm(A, "fro") is the Frobenius norm', program: 'norm([1, 2; 3, 4], "fro")' },
  { name: 'norm(A, 1) is the largest column sum of absolute values', program: 'norm([1, -2; 3, 4], 1)' },
  { name: 'norm(A, Infinity) is the largest row sum of absolute values', program: 'norm([1, -2; 3, 4], Infinity)' },
  { name: 'det of a matrix', program: `${A3}; det(A)` },
  { name: 'det of a scalar is the scalar', program: 'det(5)' },
  { name: 'inv of a matrix', program: `${A3}; inv(A)` },
  { name: 'inv of a scalar is its reciprocal', program: 'inv(4)' },
  { name: 'size(A) is a vector of sizes', program: `${A3}; size(A)` },
  { name: 'size of a column is [n, 1]', program: 'size([1; 2])' },
  { name: 'zeros(2, 3) is a matrix of zeros', program: 'zeros(2, 3)' },
  { name: 'zeros(3) is a vector', program: 'zeros(3)' },
  { name: 'identity(2, 3) is rectangular', program: 'identity(2, 3)' },
  { name: 'true + 1 is 2', program: 'true + 1' },
  { name: 'a comparison is a boolean (1 or 0)', program: '2 > 1' },
  { name: 'an element-wise comparison', program: '[2, 3] == 2' },
  { name: '1 < 2 < 3 is a chained comparison (true)', program: '1 < 2 < 3' },
  { name: '3 < 2 < 5 is a chained comparison (false, not (3 < 2) < 5)', program: '3 < 2 < 5' },
  { name: 'not, and, or, xor', program: '[not 0, 1 and 0, 1 or 0, 1 xor 1]' },
  { name: '2x is implicit multiplication', program: 'x = 3; 2x' },
  { name: '3x^2 binds the power first', program: 'x = 3; 3x^2' },
  { name: '2pi', program: '2pi' },
  { name: '-2^2 is -(2^2)', program: '-2^2' },
  { name: '2^3^2 is right-associative', program: '2^3^2' },
  { name: 'the ternary takes the branch of its condition', program: 'x = -2; x > 0 ? x : -x' },
  { name: 'a one-line function', program: 'f(x, y) = x^2 + y; f(3, 1)' },
  { name: 'a recursive function', program: 'fact(n) = n <= 1 ? 1 : n * fact(n - 1); fact(6)' },
  { name: 'the result of a multi-statement program is its last statement', program: 'a = 2\nb = a * 3\nb - a' },
  { name: 'inputs from "at" are in scope', program: 'A * v + x', at: { A: [[1, 2], [3, 4]], v: [1, -1], x: 0.5 } },
];

t.test('semantics against math.evaluate', (t) => {
  for (const c of semantics) assertAgreesWithMathjs(t, c.name, c.program, c.at);
  t.end();
});
