/**
 * Tensor programs to IR. mathjs's parser parses every expression; this file adds the statement
 * layer around it: statements split on newlines and `;` (outside brackets), `#` comments, and
 * the MATLAB-style blocks `for`, `while`, `if … elseif … else … end`, `break`, `continue`.
 */
import type { MathNode } from 'mathjs';
import { parse as parseExpression } from './mathjs.js';
import { Tensor } from '../engine/index.js';
import { booleanValue, constants, functionNamed, isBlocked, knownNames, mayShadow, refusal } from './catalogue.js';
import { ProgramError, type Loc } from './errors.js';
import type { Expr, Program, Stmt } from './ir.js';
import { definitionHabit, syntaxHabit } from './habits.js';
import { closest } from './suggest.js';

export interface ParseLimits {
  /** The deepest bracket nesting accepted (deeper programs are refused before parsing). */
  maxNesting?: number;
}

const DEFAULT_MAX_NESTING = 256;

/** One statement's text and where it starts in the program. */
interface Segment {
  readonly text: string;
  readonly offset: number;
}

/** Maps offsets in the program text to 1-based lines and columns. */
class Locator {
  private readonly lineStarts: number[] = [0];

  constructor(source: string) {
    for (let i = 0; i < source.length; i++) if (source[i] === '\n') this.lineStarts.push(i + 1);
  }

  at(offset: number): Loc {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }
}

/** Whether a quote at position i is mathjs's transpose (after a value) rather than a string. */
function isTranspose(source: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && (source[j] === ' ' || source[j] === '\t')) j--;
  return j >= 0 && /[\w)\]'.]/.test(source[j]);
}

/** Splits a program into statements at newlines and `;` outside brackets, dropping comments. */
function splitStatements(source: string, locator: Locator, maxNesting: number): Segment[] {
  const segments: Segment[] = [];
  let depth = 0;
  let start = 0;
  let text = '';
  const flush = (end: number): void => {
    if (text.trim() !== '') segments.push({ text, offset: start });
    text = '';
    start = end + 1;
  };
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '"' || (ch === "'" && !isTranspose(source, i))) {
      let j = i + 1;
      while (j < source.length && source[j] !== ch && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      text += source.slice(i, j + 1);
      i = j;
      continue;
    }
    if (ch === '#') {
      while (i + 1 < source.length && source[i + 1] !== '\n') i++;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') {
      depth++;
      if (depth > maxNesting) {
        throw new ProgramError('LIMIT_EXCEEDED', `nesting depth limit exceeded: brackets nest more than ${maxNesting} deep`, locator.at(i), 'nesting depth');
      }
    } else if (ch === ')' || ch === ']' || ch === '}') {
      depth = Math.max(0, depth - 1);
    }
    if (depth === 0 && (ch === '\n' || ch === ';')) {
      flush(i);
      continue;
    }
    if (text === '' && (ch === ' ' || ch === '\t' || ch === '\r')) {
      start = i + 1;
      continue;
    }
    text += ch;
  }
  flush(source.length);
  return segments;
}

const KEYWORD = /^(for|while|if|elseif|else|end|break|continue)(?![\w(])|^(while|if|elseif)(?=\()/;

/** A block whose `end` has not been reached; `body` is where its statements go now. */
type OpenBlock =
  | { readonly kind: 'for'; readonly loc: Loc; readonly name: string; readonly iterable: Expr; body: Stmt[] }
  | { readonly kind: 'while'; readonly loc: Loc; readonly test: Expr; body: Stmt[] }
  | {
      readonly kind: 'if';
      readonly loc: Loc;
      readonly branches: { readonly test: Expr; readonly body: Stmt[] }[];
      otherwise: Stmt[] | null;
      body: Stmt[];
    };

function close(block: OpenBlock): Stmt {
  switch (block.kind) {
    case 'for':
      return { kind: 'for', name: block.name, iterable: block.iterable, body: block.body, loc: block.loc };
    case 'while':
      return { kind: 'while', test: block.test, body: block.body, loc: block.loc };
    case 'if':
      return { kind: 'if', branches: block.branches, otherwise: block.otherwise, loc: block.loc };
  }
}

/** The operators of mathjs that programs may use, by mathjs's function name. */
const OPERATORS = new Set([
  'add', 'subtract', 'multiply', 'divide', 'pow', 'dotMultiply', 'dotDivide', 'dotPow', 'unaryMinus', 'unaryPlus',
  'transpose', 'ctranspose', 'larger', 'smaller', 'largerEq', 'smallerEq', 'equal', 'unequal', 'and', 'or', 'xor', 'not', 'mod',
]);

/** `(` after optional spaces, where `lastIndex` says. */
const OPENING_PARENTHESIS = /\s*\(/y;

class Parser {
  private readonly locator: Locator;
  /** Names of the functions the program defines anywhere (so calls may precede definitions in loops). */
  private readonly userFunctions = new Set<string>();
  private readonly read = new Set<string>();
  private readonly assigned = new Set<string>();
  /** The statement being converted, for locating names in it. */
  private segment: Segment | undefined;

  constructor(private readonly source: string, private readonly limits: ParseLimits) {
    this.locator = new Locator(source);
  }

  program(): Program {
    const segments = splitStatements(this.source, this.locator, this.limits.maxNesting ?? DEFAULT_MAX_NESTING);
    // A first pass over definitions, so that a function may be called before (or by) its definition.
    for (const s of segments) {
      const m = /^([A-Za-z_]\w*)\s*\([^()]*\)\s*=[^=]/.exec(s.text);
      if (m !== null && !KEYWORD.test(s.text)) this.userFunctions.add(m[1]);
    }
    const top: Stmt[] = [];
    const open: OpenBlock[] = [];
    const emit = (stmt: Stmt): void => {
      (open.length === 0 ? top : open[open.length - 1].body).push(stmt);
    };
    const maxNesting = this.limits.maxNesting ?? DEFAULT_MAX_NESTING;
    // Blocks nest like brackets, and the interpreter recurses into each: the same limit.
    const enter = (block: OpenBlock): void => {
      if (open.length >= maxNesting) {
        throw new ProgramError('LIMIT_EXCEEDED', `nesting depth limit exceeded: blocks nest more than ${maxNesting} deep`, block.loc, 'nesting depth');
      }
      open.push(block);
    };
    for (const segment of segments) {
      const loc = this.locator.at(segment.offset);
      const keyword = KEYWORD.exec(segment.text);
      if (keyword === null) {
        emit(this.statement(segment, loc));
        continue;
      }
      const word = keyword[1] ?? keyword[2];
      const rest = segment.text.slice(word.length);
      const restSegment: Segment = { text: rest, offset: segment.offset + word.length };
      switch (word) {
        case 'for': {
          const m = /^\s*\(?\s*([A-Za-z_]\w*)\s*=(?!=)/.exec(rest);
          if (m === null) throw new ProgramError('PARSE_ERROR', 'expected `for name = values`, e.g. `for i = 1:10`', loc);
          let iterableText = rest.slice(m[0].length);
          if (/^\s*\(/.test(rest)) iterableText = iterableText.replace(/\)\s*$/, '');
          const iterable = this.expression({ text: iterableText, offset: restSegment.offset + m[0].length });
          this.assigned.add(m[1]);
          enter({ kind: 'for', loc, name: m[1], iterable, body: [] });
          break;
        }
        case 'while':
          enter({ kind: 'while', loc, test: this.expression(this.nonEmpty(restSegment, 'while', loc)), body: [] });
          break;
        case 'if': {
          const branch = { test: this.expression(this.nonEmpty(restSegment, 'if', loc)), body: [] as Stmt[] };
          enter({ kind: 'if', loc, branches: [branch], otherwise: null, body: branch.body });
          break;
        }
        case 'elseif':
        case 'else': {
          const block = open[open.length - 1];
          if (block === undefined || block.kind !== 'if') throw new ProgramError('PARSE_ERROR', `\`${word}\` without a matching \`if\``, loc);
          if (block.otherwise !== null) {
            throw new ProgramError('PARSE_ERROR', `\`${word}\` after \`else\`: an \`if\` has at most one \`else\`, and it comes last`, loc);
          }
          if (word === 'elseif') {
            const branch = { test: this.expression(this.nonEmpty(restSegment, 'elseif', loc)), body: [] as Stmt[] };
            block.branches.push(branch);
            block.body = branch.body;
          } else {
            if (rest.trim() !== '') throw new ProgramError('PARSE_ERROR', `unexpected \`${rest.trim()}\` after \`else\`; put it on the next line`, loc);
            block.otherwise = [];
            block.body = block.otherwise;
          }
          break;
        }
        case 'end': {
          if (rest.trim() !== '') throw new ProgramError('PARSE_ERROR', `unexpected \`${rest.trim()}\` after \`end\``, loc);
          const block = open.pop();
          if (block === undefined) throw new ProgramError('PARSE_ERROR', '`end` without a matching `for`, `while` or `if`', loc);
          emit(close(block));
          break;
        }
        case 'break':
        case 'continue': {
          if (rest.trim() !== '') throw new ProgramError('PARSE_ERROR', `unexpected \`${rest.trim()}\` after \`${word}\``, loc);
          if (!open.some((b) => b.kind === 'for' || b.kind === 'while')) {
            throw new ProgramError('PARSE_ERROR', `\`${word}\` outside a \`for\` or \`while\` loop`, loc);
          }
          emit({ kind: word, loc });
          break;
        }
      }
    }
    const unclosed = open.pop();
    if (unclosed !== undefined) {
      throw new ProgramError('PARSE_ERROR', `\`${unclosed.kind}\` block is not closed: expected \`end\` before the end of the program`, unclosed.loc);
    }
    const inputs = [...this.read].filter((n) => !this.assigned.has(n));
    return { body: top, inputs, assigned: [...this.assigned] };
  }

  private nonEmpty(segment: Segment, keyword: string, loc: Loc): Segment {
    if (segment.text.trim() === '') throw new ProgramError('PARSE_ERROR', `expected a condition after \`${keyword}\``, loc);
    return segment;
  }

  private parseNode(segment: Segment): MathNode {
    try {
      return parseExpression(segment.text);
    } catch (e) {
      if (e instanceof RangeError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      const char = (e as { char?: number }).char;
      const at = typeof char === 'number' ? Math.max(0, Math.min(char - 1, segment.text.length)) : 0;
      const habit = syntaxHabit(segment.text, message, at);
      if (habit !== null) throw new ProgramError('PARSE_ERROR', `syntax error, ${habit.message}`, this.locator.at(segment.offset + habit.at));
      const found = segment.text.slice(at).trim();
      const what = message
        .replace(/\s*\(char \d+\)$/, '')
        .replace(/^Column dimensions mismatch \((\d+) !== (\d+)\)$/, 'the rows of a matrix must have the same length: a row of $1 where rows of $2 were expected');
      const early = found === '' && /expected|end of/i.test(message);
      const detail = found === '' ? `${what}${early ? ': the statement ends too early' : ''}` : `${what}: found \`${found.slice(0, 20)}\``;
      throw new ProgramError('PARSE_ERROR', `syntax error, ${lowerFirst(detail)}`, this.locator.at(segment.offset + at));
    }
  }

  private statement(segment: Segment, loc: Loc): Stmt {
    this.segment = segment;
    const definition = definitionHabit(segment.text);
    if (definition !== null) throw new ProgramError('PARSE_ERROR', `syntax error, ${definition.message}`, this.locator.at(segment.offset + definition.at));
    const node = this.parseNode(segment);
    switch (node.type) {
      case 'AssignmentNode': {
        const n = node as unknown as { object: MathNode; index: { dimensions: MathNode[]; dotNotation: boolean } | null; value: MathNode };
        if (n.object.type !== 'SymbolNode') throw new ProgramError('PARSE_ERROR', 'only a variable or an indexed variable can be assigned', loc);
        const name = (n.object as unknown as { name: string }).name;
        this.checkAssignable(name, loc);
        const value = this.expr(n.value, loc, false);
        this.assigned.add(name);
        if (n.index === null) return { kind: 'assign', name, value, loc };
        if (n.index.dotNotation) throw new ProgramError('PARSE_ERROR', 'property assignment (`a.b = …`) is not supported', loc);
        this.read.add(name);
        return { kind: 'assignIndex', name, dims: n.index.dimensions.map((d) => this.expr(d, loc, true)), value, loc };
      }
      case 'FunctionAssignmentNode': {
        const n = node as unknown as { name: string; params: string[]; expr: MathNode };
        this.checkAssignable(n.name, loc);
        return { kind: 'function', name: n.name, params: n.params, body: this.expr(n.expr, loc, false, new Set(n.params)), loc };
      }
      case 'BlockNode':
        throw new ProgramError('PARSE_ERROR', 'separate statements with `;` or a new line, not `,`', loc);
      default:
        return { kind: 'expr', value: this.expr(node, loc, false), loc };
    }
  }

  private expression(segment: Segment): Expr {
    this.segment = segment;
    const loc = this.locator.at(segment.offset + (segment.text.length - segment.text.trimStart().length));
    const node = this.parseNode(segment);
    if (node.type === 'AssignmentNode' || node.type === 'FunctionAssignmentNode' || node.type === 'BlockNode') {
      throw new ProgramError('PARSE_ERROR', 'expected an expression here, not an assignment', loc);
    }
    return this.expr(node, loc, false);
  }

  /**
   * Where a name stands in the current statement (mathjs's nodes carry no positions): its first
   * occurrence as a whole word, followed by `(` for a call; else the statement's own location.
   */
  private nameLoc(name: string, call: boolean, fallback: Loc): Loc {
    const text = this.segment?.text;
    if (text === undefined) return fallback;
    // A plain search, not a RegExp made of the name: names may be as long as the program.
    for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
      const end = at + name.length;
      if ((at > 0 && /[\w.]/.test(text[at - 1])) || (end < text.length && /\w/.test(text[end]))) continue;
      OPENING_PARENTHESIS.lastIndex = end;
      if (call && !OPENING_PARENTHESIS.test(text)) continue;
      return this.locator.at(this.segment!.offset + at);
    }
    return fallback;
  }

  private checkAssignable(name: string, loc: Loc): void {
    if ((functionNamed(name) !== undefined && !mayShadow(name)) || isBlocked(name)) {
      throw new ProgramError('PARSE_ERROR', `cannot assign to \`${name}\`: it is a built-in function`, loc);
    }
    if (name === 'end') throw new ProgramError('PARSE_ERROR', '`end` is a keyword and cannot be assigned', loc);
  }

  /** mathjs node to IR. `params` are the names bound in a function body. */
  private expr(node: MathNode, loc: Loc, inIndex: boolean, params?: ReadonlySet<string>): Expr {
    const n = node as unknown as Record<string, unknown>;
    const sub = (m: unknown, index = inIndex): Expr => this.expr(m as MathNode, loc, index, params);
    switch (node.type) {
      case 'ConstantNode': {
        const v = n.value;
        if (typeof v === 'number') return { kind: 'const', value: Tensor.scalar(v), loc };
        if (typeof v === 'boolean') return { kind: 'const', value: booleanValue(v), loc };
        if (typeof v === 'string') return { kind: 'string', value: v, loc };
        throw new ProgramError('PARSE_ERROR', `unsupported constant ${String(v)}`, loc);
      }
      case 'SymbolNode': {
        const name = n.name as string;
        if (name === 'end') {
          if (!inIndex) throw new ProgramError('PARSE_ERROR', '`end` means the last position only inside an index, as in `x[end]`', loc);
          return { kind: 'end', loc };
        }
        if (params?.has(name) !== true && !this.assigned.has(name) && !(name in constants)) this.read.add(name);
        return { kind: 'var', name, loc: this.nameLoc(name, false, loc) };
      }
      case 'ParenthesisNode':
        return sub(n.content);
      case 'OperatorNode': {
        const fn = n.fn as string;
        if (!OPERATORS.has(fn)) throw new ProgramError('PARSE_ERROR', `the operator \`${String(n.op)}\` (${fn}) is not supported`, loc);
        return { kind: 'call', fn, args: (n.args as unknown[]).map((a) => sub(a)), loc };
      }
      case 'FunctionNode': {
        const target = n.fn as MathNode;
        if (target.type !== 'SymbolNode') throw new ProgramError('PARSE_ERROR', 'only named functions can be called', loc);
        const name = (target as unknown as { name: string }).name;
        loc = this.nameLoc(name, true, loc);
        // The name first: `import({…})` is refused as `import`, whatever its arguments hold.
        const own = this.userFunctions.has(name);
        const refused = own ? undefined : refusal(name);
        if (refused !== undefined) throw new ProgramError('PARSE_ERROR', `\`${name}\` is not available in adjoint programs: ${refused}`, loc);
        const entry = own ? undefined : functionNamed(name);
        if (!own && entry === undefined) {
          const hint = closest(name, knownNames());
          const advice = hint === null ? ` (to index a tensor, use square brackets: \`${name}[…]\`)` : `; did you mean \`${hint}\`?`;
          throw new ProgramError('UNKNOWN_NAME', `unknown function \`${name}\`${advice}`, loc);
        }
        const args = (n.args as unknown[]).map((a) => sub(a));
        if (entry === undefined) return { kind: 'apply', fn: name, args, loc };
        const [min, max] = entry.arity;
        if (args.length < min || args.length > max) {
          const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
          throw new ProgramError('INVALID_ARGUMENT', `\`${name}\` takes ${expected} argument${expected === '1' ? '' : 's'}, got ${args.length}`, loc);
        }
        return { kind: 'call', fn: entry.name, args, loc };
      }
      case 'ArrayNode':
        return { kind: 'matrix', items: (n.items as unknown[]).map((a) => sub(a)), loc };
      case 'RangeNode':
        return { kind: 'range', start: sub(n.start), step: n.step === null || n.step === undefined ? null : sub(n.step), end: sub(n.end), loc };
      case 'AccessorNode': {
        const index = n.index as { dimensions: unknown[]; dotNotation: boolean };
        if (index.dotNotation) throw new ProgramError('PARSE_ERROR', 'property access (`a.b`) is not supported', loc);
        return { kind: 'index', object: sub(n.object, false), dims: index.dimensions.map((d) => sub(d, true)), loc };
      }
      case 'ConditionalNode':
        return { kind: 'cond', test: sub(n.condition), then: sub(n.trueExpr), otherwise: sub(n.falseExpr), loc };
      case 'RelationalNode': {
        const ops = n.conditionals as string[];
        const ps = (n.params as unknown[]).map((a) => sub(a));
        let result: Expr = { kind: 'call', fn: ops[0], args: [ps[0], ps[1]], loc };
        for (let i = 1; i < ops.length; i++) result = { kind: 'call', fn: 'and', args: [result, { kind: 'call', fn: ops[i], args: [ps[i], ps[i + 1]], loc }], loc };
        return result;
      }
      case 'AssignmentNode':
      case 'FunctionAssignmentNode':
        throw new ProgramError('PARSE_ERROR', 'an assignment must be a statement of its own', loc);
      case 'ObjectNode':
        throw new ProgramError('PARSE_ERROR', 'objects (`{a: 1}`) are not supported: adjoint programs compute with numbers and tensors', loc);
      default:
        throw new ProgramError('PARSE_ERROR', `unsupported syntax (${node.type})`, loc);
    }
  }
}

function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0].toLowerCase() + s.slice(1);
}

/** Parses a tensor program into IR; throws ProgramError with a line and column. */
export function parseProgram(source: string, limits: ParseLimits = {}): Program {
  return new Parser(source, limits).program();
}
