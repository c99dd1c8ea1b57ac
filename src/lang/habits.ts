/**
 * Habits from MATLAB, NumPy and Python that mathjs's grammar does not share, recognised in a
 * statement so that the error says what to write instead, at the place the habit is. Only
 * consulted for a statement that does not parse (or, for `function` and `def`, that would parse
 * as something else: `function f(x)` is an implicit product in mathjs).
 */

export interface Habit {
  /** Where in the statement's text the habit starts (0-based). */
  readonly at: number;
  readonly message: string;
}

/** The text with the insides of string literals blanked (same length), so no habit is found in one. */
function withoutStrings(text: string): string {
  return text.replace(/"(?:[^"\\\n]|\\.)*"/g, (m) => `"${' '.repeat(m.length - 2)}"`);
}

/** `code` as an example in a message, when short enough to read in one. */
function example(code: string): string {
  const trimmed = code.trim();
  return trimmed.length <= 60 ? ` (\`${trimmed}\`)` : '';
}

const FUNCTION_BLOCK = /^(\s*)function\b(?:\s+(?:(?:\[[^\]]*\]|[A-Za-z_]\w*)\s*=\s*)?([A-Za-z_]\w*)\s*\(([^)]*)\))?/;
const PYTHON_DEF = /^(\s*)def\s+([A-Za-z_]\w*)\s*\(([^)]*)\)/;

/** A function definition in another language's form, which mathjs would read as something else. */
export function definitionHabit(text: string): Habit | null {
  const block = FUNCTION_BLOCK.exec(text);
  if (block !== null && (block[2] !== undefined || /^\s*function\s*$/.test(text) || /^\s*function\s+[A-Za-z_[]/.test(text))) {
    const form = block[2] === undefined ? 'f(x) = …' : `${block[2]}(${block[3].trim()}) = …`;
    return { at: block[1].length, message: `MATLAB's \`function … end\` blocks are not supported: define one-line functions, \`${form}\`` };
  }
  const def = PYTHON_DEF.exec(text);
  if (def !== null) {
    return { at: def[1].length, message: `Python's \`def\` is not supported: define one-line functions, \`${def[2]}(${def[3].trim()}) = …\`` };
  }
  return null;
}

const COMPOUND = /^(\s*)([A-Za-z_]\w*(?:\[[^\]]*\])?)\s*(\.\*|\.\/|\.\^|[-+*/^])=(?!=)\s*(.*)$/;
const INCREMENT = /^(\s*)([A-Za-z_]\w*)\s*(\+\+|--)\s*$/;

/** Rewrites of single tokens: the habit, and what mathjs writes. */
const TOKENS: readonly { readonly pattern: RegExp; readonly message: (statement: string) => string }[] = [
  { pattern: /&&/, message: (s) => `\`&&\` is not an operator in mathjs: use \`and\`${example(s.replace(/&&/g, 'and'))}` },
  { pattern: /\|\|/, message: (s) => `\`||\` is not an operator in mathjs: use \`or\`${example(s.replace(/\|\|/g, 'or'))}` },
  { pattern: /\*\*/, message: (s) => `\`**\` is not an operator in mathjs: use \`^\` for a power, \`.^\` element-wise${example(s.replace(/\*\*/g, '^'))}` },
  { pattern: /\\/, message: () => "MATLAB's left division `A \\ b` is not supported: use `solve(A, b)`" },
  { pattern: /~=/, message: (s) => `\`~=\` is not an operator in mathjs: use \`!=\`${example(s.replace(/~=/g, '!='))}` },
  { pattern: /[=!]==/, message: (s) => `\`===\` and \`!==\` are not operators in mathjs: use \`==\` and \`!=\`${example(s.replace(/([=!])==/g, '$1='))}` },
  { pattern: /@\s*\(/, message: () => 'anonymous functions `@(x) …` are not supported: define a one-line function, `f(x) = …`, on a line of its own' },
];

/** A matrix literal in MATLAB's form (elements separated by spaces), with commas put in. */
function withCommas(literal: string): string {
  return literal.replace(/([\w.)\]'])\s+(?=[-+]?[\w.([])/g, '$1, ');
}

/** The habit in a statement that does not parse, or null; `parseMessage` is mathjs's own error. */
export function syntaxHabit(text: string, parseMessage: string, parseAt: number): Habit | null {
  const plain = withoutStrings(text);
  const compound = COMPOUND.exec(plain);
  if (compound !== null) {
    const [, lead, target, op, rhs] = compound;
    const operand = /^[\w.]+$/.test(rhs.trim()) ? rhs.trim() : `(${rhs.trim()})`;
    return {
      at: plain.indexOf(`${op}=`, lead.length + target.length),
      message: `compound assignment \`${op}=\` is not supported: write \`${target} = ${target} ${op} ${operand}\``,
    };
  }
  const increment = INCREMENT.exec(plain);
  if (increment !== null) {
    const [, lead, name, op] = increment;
    return { at: lead.length + name.length, message: `\`${op}\` is not supported: write \`${name} = ${name} ${op[0]} 1\`` };
  }
  for (const { pattern, message } of TOKENS) {
    const m = pattern.exec(plain);
    if (m !== null) return { at: m.index, message: message(text) };
  }
  if (/End of matrix/i.test(parseMessage)) {
    // The literal the error is in: the last `[` before it, to its matching `]`.
    const open = plain.lastIndexOf('[', Math.max(0, parseAt));
    if (open >= 0) {
      let depth = 0;
      let close = open;
      for (; close < plain.length; close++) {
        if (plain[close] === '[') depth++;
        else if (plain[close] === ']' && --depth === 0) break;
      }
      const literal = text.slice(open, close + 1);
      const fixed = withCommas(literal);
      // Only elements side by side with a space between are this habit (not a matrix left unclosed).
      if (fixed === literal) return null;
      const shown = fixed.length <= 60 ? fixed : '[1, 2; 3, 4]';
      return { at: open, message: `separate the elements of a matrix with commas, and its rows with \`;\`: \`${shown}\`` };
    }
  }
  return null;
}
