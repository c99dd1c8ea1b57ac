/**
 * Random programs in the syntax adjoint accepts (SPEC.md section 2: mathjs's expressions plus
 * MATLAB-style blocks), meant to be hostile rather than valid: operators on anything, calls to
 * every catalogue function with any number of arguments, matrices, ranges, indexing, loops,
 * if/while, function definitions (recursive too), huge and odd numbers, deep nesting, unicode
 * names, and now and then a program mangled by a few characters. Each goes to a random endpoint
 * with random inputs.
 */
import fc from 'fast-check';
import type { FuzzRequest } from './wire.js';

/** A catalogue entry as GET /v1/functions lists it. */
export interface CatalogueFunction {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number | null;
}

const NUMBERS = [
  '0', '1', '2', '3', '-1', '0.5', '1e308', '1e400', '-1e308', '1e-320', '5e-324', '9007199254740993', '1e9', '1e15', '123456789012345678901234567890',
  '0.1', '2.5e-3', 'pi', 'e', 'Infinity', 'NaN', 'true', 'false', '0x1F', '1_000',
];
const INPUTS = ['x', 'y', 'A', 'v', 'é', 'α', 'x_1', 'Ω2'];
const NAMES = [...INPUTS, 'z', 'w', 'B', 'i', 'k', 'end', 'sin', 'pi', '__proto__', 'constructor', 'ä𝑥', 'x'.repeat(200)];
const BINARY = ['+', '-', '*', '/', '^', '.*', './', '.^', '==', '!=', '<', '<=', '>', '>=', 'and', 'or', 'xor', 'mod', '%', '&', '|', '<<', '>>', ':', '\\', '**', '&&'];
const UNARY = ['-', '+', 'not ', '!', '~'];
const TOKENS = ['(', ')', '[', ']', ',', ';', '\n', '=', 'end', 'for', 'if', 'while', '"', "'", '#', ':', '.', '@', '$', '{', '}', '?', '\u0000', '\ud800', '🙂'];
const ENDPOINTS = ['eval', 'grad', 'jacobian', 'hessian', 'trace', 'sample', 'optimize', 'check', 'derivative', 'batch', 'jvp'];
const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop', 'adagrad', 'lbfgs'];

type Pick = fc.GeneratorValue;

class ProgramGrammar {
  private depth = 0;
  private readonly functions: string[] = [];

  constructor(private readonly g: Pick, private readonly catalogue: readonly CatalogueFunction[]) {}

  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  chance(percent: number): boolean {
    return this.int(1, 100) <= percent;
  }

  private name(): string {
    return this.chance(70) ? this.pick(INPUTS) : this.pick(NAMES);
  }

  private args(n: number): string {
    return Array.from({ length: n }, () => this.expr()).join(', ');
  }

  private call(): string {
    if (this.functions.length > 0 && this.chance(20)) return `${this.pick(this.functions)}(${this.args(this.int(0, 3))})`;
    const f = this.pick(this.catalogue);
    const most = f.maxArgs === null ? f.minArgs + 3 : f.maxArgs;
    // Mostly an arity it takes; now and then one too few or too many.
    const n = this.chance(85) ? this.int(f.minArgs, Math.min(most, f.minArgs + 3)) : this.pick([Math.max(0, f.minArgs - 1), most + 1]);
    return `${f.name}(${this.args(n)})`;
  }

  private matrix(): string {
    const rows = this.int(0, 3);
    const cols = this.int(1, 3);
    if (this.chance(50)) return `[${Array.from({ length: rows }, () => `[${this.args(cols)}]`).join(', ')}]`;
    // Ragged rows now and then: a shape mismatch to report, not a crash.
    return `[${Array.from({ length: rows }, () => this.args(this.chance(85) ? cols : this.int(1, 4))).join('; ')}]`;
  }

  private range(): string {
    const [a, b] = [this.atom(), this.atom()];
    return this.chance(60) ? `${a}:${b}` : `${a}:${this.atom()}:${b}`;
  }

  private index(): string {
    const one = (): string => this.pick(['1', 'end', '2', '0', '-1', '1:end', ':', '1:2', '1e10', '2^32 + 1', '0.5', this.atom()]);
    return `${this.name()}[${this.chance(50) ? one() : `${one()}, ${one()}`}]`;
  }

  atom(): string {
    switch (this.int(0, 9)) {
      case 0:
      case 1:
      case 2:
        return this.pick(NUMBERS);
      case 3:
      case 4:
      case 5:
        return this.name();
      case 6:
        return String(this.g(fc.double, { noNaN: true, noDefaultInfinity: true })).replace('Infinity', '1e999');
      case 7:
        return `"${this.pick(['', 'abc', 'fro', '\\n', 'ä', '"'])}"`;
      default:
        return String(this.int(-5, 5));
    }
  }

  expr(): string {
    if (this.depth > 5) return this.atom();
    this.depth++;
    try {
      switch (this.int(0, 16)) {
        case 0:
        case 1:
          return this.atom();
        case 2:
        case 3:
        case 4:
          return `${this.expr()} ${this.pick(BINARY)} ${this.expr()}`;
        case 5:
          return `${this.pick(UNARY)}${this.expr()}`;
        case 6:
        case 7:
        case 8:
          return this.call();
        case 9:
          return this.matrix();
        case 10:
          return this.range();
        case 11:
          return this.index();
        case 12:
          return `${this.expr()} ? ${this.expr()} : ${this.expr()}`;
        case 13:
          return `(${this.expr()})'`;
        case 14:
          return this.deep();
        case 15:
          return `(${this.expr()})`;
        default:
          return `${this.pick(['zeros', 'ones', 'rand', 'randn', 'identity'])}(${this.pick(['3', '100, 100', '1e3, 1e3', '1e5', '2, 3, 4', '0', '-1', '1e9, 0', '2^31'])})`;
      }
    } finally {
      this.depth--;
    }
  }

  /** Nesting hundreds to thousands deep: parentheses, unary minus, calls, matrices. */
  private deep(): string {
    const n = this.pick([50, 300, 1000, 5000]);
    const inner = this.atom();
    switch (this.int(0, 3)) {
      case 0:
        return `${'('.repeat(n)}${inner}${')'.repeat(n)}`;
      case 1:
        return `${'-'.repeat(n)}${inner}`;
      case 2:
        return `${'sin('.repeat(n)}${inner}${')'.repeat(n)}`;
      default:
        return `${'['.repeat(n)}${inner}${']'.repeat(n)}`;
    }
  }

  private block(): string {
    const n = this.int(1, 3);
    return Array.from({ length: n }, () => this.statement()).join('\n');
  }

  statement(): string {
    if (this.depth > 3) return `${this.name()} = ${this.expr()}`;
    this.depth++;
    try {
      switch (this.int(0, 12)) {
        case 0:
        case 1:
        case 2:
          return `${this.name()} = ${this.expr()}`;
        case 3:
          return `${this.index()} = ${this.expr()}`;
        case 4: {
          const f = this.pick(['f', 'g', 'h', 'sq', 'fact']);
          this.functions.push(f);
          const params = this.pick(['x', 'a, b', 'n', '']);
          // Recursive now and then, with or without a base case.
          const body = this.chance(30) ? `${params === '' ? '1' : params.split(',')[0]} > 1 ? ${f}(${params === '' ? '' : `${params.split(',')[0]} - 1`}) : 1` : this.expr();
          return `${f}(${params}) = ${body}`;
        }
        case 5:
          return `for ${this.pick(['i', 'k', 'x'])} = ${this.chance(70) ? `1:${this.pick(['3', '10', '1000', '1e6', 'n', this.atom()])}` : this.expr()}\n${this.block()}\nend`;
        case 6:
          return this.chance(50)
            ? `k = 0\nwhile k < ${this.pick(['5', '100', '1e9', this.atom()])}\nk = k + 1\n${this.block()}\nend`
            : `while ${this.expr()}\n${this.block()}\nend`;
        case 7:
          return `if ${this.expr()}\n${this.block()}\n${this.chance(50) ? `elseif ${this.expr()}\n${this.block()}\n` : ''}${this.chance(50) ? `else\n${this.block()}\n` : ''}end`;
        case 8:
          return this.pick(['break', 'continue', 'end', 'else', `# ${this.atom()}`, '']);
        default:
          return this.expr();
      }
    } finally {
      this.depth--;
    }
  }

  program(): string {
    const statements = Array.from({ length: this.int(1, 5) }, () => this.statement());
    const text = statements.join(this.chance(80) ? '\n' : '; ');
    return this.chance(12) ? this.mangle(text) : text;
  }

  /** A few characters deleted, inserted or swapped: near-programs for the parser. */
  private mangle(text: string): string {
    let s = text;
    for (let k = this.int(1, 3); k > 0; k--) {
      const at = this.int(0, s.length);
      const op = this.int(0, 2);
      if (op === 0) s = s.slice(0, at) + s.slice(at + 1);
      else if (op === 1) s = s.slice(0, at) + this.pick(TOKENS) + s.slice(at);
      else s = s.slice(0, at) + s.slice(at, at + 3).split('').reverse().join('') + s.slice(at + 3);
    }
    return s;
  }

  /** A value for an input: numbers of every kind, tensors, ragged and empty arrays, {shape, data}. */
  value(): unknown {
    switch (this.int(0, 9)) {
      case 0:
      case 1:
        return this.pick([0, 1, -1, 0.5, 2, 1e308, -1e308, 5e-324, 1e15, 'NaN', 'Infinity', '-Infinity']);
      case 2:
        return this.g(fc.double, { noNaN: true, noDefaultInfinity: true });
      case 3:
      case 4:
        return Array.from({ length: this.int(0, 5) }, () => this.int(-3, 3));
      case 5:
        return Array.from({ length: this.int(1, 3) }, () => Array.from({ length: 2 }, () => this.int(-3, 3) + 0.5));
      case 6:
        return [[1, 2], [3]];
      case 7: {
        const shape = [this.int(0, 3), this.int(0, 3)];
        const n = this.chance(80) ? shape[0] * shape[1] : this.int(0, 10);
        return { shape, data: Array.from({ length: n }, () => this.int(-3, 3)) };
      }
      case 8:
        return this.pick([[], [[]], [[[1]]], 'abc', null, true, {}]);
      default:
        return this.int(-10, 10);
    }
  }

  at(): Record<string, unknown> {
    const at: Record<string, unknown> = {};
    for (const name of INPUTS) if (this.chance(45)) at[name] = this.value();
    return at;
  }

  /** The body of `endpoint` for `program`. */
  body(endpoint: string, program: string): Record<string, unknown> {
    const at = this.at();
    const seed = this.chance(80) ? { seed: this.int(0, 1000) } : {};
    switch (endpoint) {
      case 'sample':
        return { program, at, n: this.int(1, 20), ...seed };
      case 'optimize':
        return { program, params: at, optimizer: { name: this.pick(OPTIMIZERS), lr: this.pick([0.1, 1e308, -1, 0]) }, steps: this.int(0, 5), ...seed };
      case 'check':
        return this.chance(30)
          ? { program, at, gradcheck: true }
          : { program, at, answer: this.chance(50) ? { value: this.value() } : { grad: Object.fromEntries(Object.keys(at).map((name) => [name, this.program()])) } };
      case 'derivative':
        return { program, wrt: [this.name()] };
      case 'grad':
        return this.chance(20) ? { program, at, cotangent: this.value() } : { program, at, wrt: Object.keys(at).filter(() => this.chance(60)), ...seed };
      case 'jvp':
        return { program, at, tangents: Object.fromEntries(Object.keys(at).map((name) => [name, this.value()])) };
      case 'trace':
        return { program, at, options: { format: this.pick(['table', 'graph', 'dot', 'svg']) } };
      case 'batch':
        return { requests: Array.from({ length: this.int(1, 3) }, () => ({ endpoint: this.pick(ENDPOINTS), ...this.body('eval', this.program()) })) };
      default:
        return { program, at, ...seed };
    }
  }
}

/** Requests of random programs to random endpoints, as JSON over HTTP and as WebSocket messages. */
export function programRequests(catalogue: readonly CatalogueFunction[]): fc.Arbitrary<FuzzRequest> {
  return fc.gen().map((g): FuzzRequest => {
    const grammar = new ProgramGrammar(g, catalogue);
    const endpoint = grammar.pick(ENDPOINTS);
    const body = grammar.body(endpoint, grammar.program());
    const text = JSON.stringify(body);
    // Streams too: sample and optimize answer NDJSON when asked.
    const headers = (endpoint === 'sample' || endpoint === 'optimize') && grammar.chance(40) ? { accept: 'application/x-ndjson' } : undefined;
    return { endpoint, body: text, headers, message: JSON.stringify({ id: `p${grammar.int(0, 1e9)}`, endpoint, ...body }) };
  });
}
