/**
 * nginx.conf read as nginx reads it, enough to check what it says: directives with their
 * arguments and blocks, comments dropped, quotes removed; and a directive's value where a
 * location takes it from, as nginx inherits it.
 */

export interface Directive {
  readonly name: string;
  readonly args: string[];
  /** The block's directives; undefined for a simple directive ending with `;`. */
  readonly block?: Directive[];
  readonly line: number;
}

/** Parses an nginx configuration; unbalanced braces or a missing `;` throw, naming the line. */
export function parseNginx(text: string): Directive[] {
  const tokens: { value: string; line: number; quoted: boolean }[] = [];
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '\n') line++;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ value: c, line, quoted: false });
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      const start = line;
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        if (text[i] === '\n') line++;
        value += text[i];
      }
      if (i >= text.length) throw new Error(`line ${start}: unterminated string`);
      i++;
      tokens.push({ value, line: start, quoted: true });
    } else {
      let value = '';
      while (i < text.length && !/[\s;{}#]/.test(text[i])) value += text[i++];
      tokens.push({ value, line, quoted: false });
    }
  }

  let position = 0;
  function block(closing: boolean): Directive[] {
    const directives: Directive[] = [];
    while (position < tokens.length) {
      const first = tokens[position];
      if (!first.quoted && first.value === '}') {
        if (!closing) throw new Error(`line ${first.line}: unexpected }`);
        position++;
        return directives;
      }
      const args: string[] = [];
      for (position++; position < tokens.length; position++) {
        const token = tokens[position];
        if (!token.quoted && (token.value === ';' || token.value === '{' || token.value === '}')) break;
        args.push(token.value);
      }
      const end = tokens[position];
      if (end === undefined || end.value === '}') throw new Error(`line ${first.line}: ${first.value} does not end with ;`);
      position++;
      directives.push(end.value === '{' ? { name: first.value, args, block: block(true), line: first.line } : { name: first.value, args, line: first.line });
    }
    if (closing) throw new Error('a block is not closed');
    return directives;
  }
  return block(false);
}

export function find(directives: readonly Directive[] | undefined, name: string): Directive[] {
  return (directives ?? []).filter((d) => d.name === name);
}

/**
 * A directive's arguments in effect in a location: its own, else the server's, else http's.
 * Array-like directives (proxy_set_header) are all taken from the innermost level that has any.
 */
export function effective(levels: readonly (readonly Directive[] | undefined)[], name: string): string[][] {
  for (const level of [...levels].reverse()) {
    const found = find(level, name);
    if (found.length > 0) return found.map((d) => d.args);
  }
  return [];
}

/** An nginx size ("10m", "512k", "1g", "1024") in bytes. */
export function nginxBytes(size: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(size);
  if (m === null) throw new Error(`not an nginx size: ${size}`);
  return Number(m[1]) * { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
}

/** An nginx time ("60s", "1h", "1m30s", "500ms", "75"), in seconds. */
export function nginxSeconds(time: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, '': 1 };
  let total = 0;
  let rest = time;
  while (rest !== '') {
    const m = /^(\d+)(ms|s|m|h|d|)/.exec(rest);
    if (m === null || m[0] === '') throw new Error(`not an nginx time: ${time}`);
    total += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}
