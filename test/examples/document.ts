/**
 * Reads a course document (examples/lab2/README.md) as the tests replay it: every `curl` line in
 * a fenced block is a request, the lines right after it (up to a blank line, a `#` comment, the
 * next command or the end of the block) are the output the document shows; a `$ node <script>`
 * line is a run of an example script, and the rest of its block is the script's output.
 */

/** One curl command of the document and the output shown below it. */
export interface CurlCommand {
  /** 1-based line of the command in the document, for failure messages. */
  readonly line: number;
  readonly text: string;
  readonly method: string;
  /** The path and query, e.g. /v1/grad. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** 0-based indices [from, to) of the output lines in the document. */
  readonly output: readonly [number, number];
  readonly shown: readonly string[];
}

/** One run of an example script and the output shown below it. */
export interface ScriptRun {
  readonly line: number;
  readonly text: string;
  /** The arguments after `node`, e.g. ['examples/lab2/factorise.mjs']. */
  readonly args: readonly string[];
  readonly output: readonly [number, number];
  readonly shown: readonly string[];
}

export interface Document {
  readonly lines: readonly string[];
  readonly commands: readonly CurlCommand[];
  readonly scripts: readonly ScriptRun[];
}

/**
 * Splits a command line into words as a POSIX shell does for the quoting a document uses:
 * 'single quotes', "double quotes" with backslash escapes, and words joined across them
 * ('"'"' is a single quote inside a single-quoted argument). Unquoted pipes, redirections,
 * substitutions and variables are refused: the test could not replay them.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote at column ${i + 1}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '$' || line[j] === '`') throw new Error(`a substitution inside double quotes at column ${j + 1}`);
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) j++;
        text += line[j];
      }
      if (j >= line.length) throw new Error(`unterminated double quote at column ${i + 1}`);
      word = (word ?? '') + text;
      i = j;
    } else if ('|&;<>$`(){}*?\\'.includes(c)) {
      throw new Error(`\`${c}\` outside quotes at column ${i + 1}: write each command as one plain curl line`);
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** The request a curl line makes: only the options a lab's commands need. */
export function parseCurl(text: string): Pick<CurlCommand, 'method' | 'path' | 'headers' | 'body'> {
  const words = shellWords(text);
  if (words[0] !== 'curl') throw new Error('not a curl command');
  let url: string | undefined;
  let method: string | undefined;
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    const value = (): string => {
      const v = words[++i];
      if (v === undefined) throw new Error(`${word} needs a value`);
      return v;
    };
    if (/^-[sSN]+$/.test(word)) continue; // silent, show errors, no buffering: nothing to replay
    if (word === '-H' || word === '--header') {
      const header = value();
      const colon = header.indexOf(':');
      if (colon < 1) throw new Error(`a header without a name: ${header}`);
      headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    } else if (word === '-d' || word === '--data' || word === '--data-raw') {
      if (body !== undefined) throw new Error('more than one -d');
      body = value();
    } else if (word === '-X' || word === '--request') {
      method = value();
    } else if (word.startsWith('-')) {
      throw new Error(`the option ${word} is not one the test can replay`);
    } else {
      if (url !== undefined) throw new Error(`a second URL ${word}`);
      url = word;
    }
  }
  const match = url === undefined ? null : /^(?:http:\/\/)?localhost:8080(\/\S*)$/.exec(url);
  if (match === null) throw new Error(`the URL must be localhost:8080/..., got ${String(url)}`);
  return { method: method ?? (body === undefined ? 'GET' : 'POST'), path: match[1], headers, body };
}

const FENCE = /^\s*```/;

/** Finds every curl command and script run in `text`; throws, naming the line, on one it cannot replay. */
export function parseDocument(text: string): Document {
  const lines = text.split('\n');
  const commands: CurlCommand[] = [];
  const scripts: ScriptRun[] = [];
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    if (FENCE.test(lines[i])) {
      inFence = !inFence;
      continue;
    }
    if (!inFence) continue;
    const line = lines[i].trim();
    if (line.startsWith('curl ')) {
      let request: ReturnType<typeof parseCurl>;
      try {
        request = parseCurl(line);
      } catch (e) {
        throw new Error(`line ${i + 1}: ${(e as Error).message}: ${line}`);
      }
      let end = i + 1;
      while (end < lines.length && !FENCE.test(lines[end]) && lines[end].trim() !== '' && !lines[end].trim().startsWith('#') && !lines[end].trim().startsWith('curl ')) end++;
      commands.push({ line: i + 1, text: line, ...request, output: [i + 1, end], shown: lines.slice(i + 1, end) });
      i = end - 1;
    } else if (line.startsWith('$ node ')) {
      const args = shellWords(line.slice('$ node '.length));
      let end = i + 1;
      while (end < lines.length && !FENCE.test(lines[end])) end++;
      scripts.push({ line: i + 1, text: line, args, output: [i + 1, end], shown: lines.slice(i + 1, end) });
      i = end - 1;
    }
  }
  if (inFence) throw new Error('a fenced block is not closed');
  return { lines, commands, scripts };
}

/** The document with each command's or script's shown output replaced by `outputs` (same order as `items`). */
export function withOutputs(document: Document, items: readonly { readonly output: readonly [number, number] }[], outputs: readonly (readonly string[])[]): string {
  const replacements = items.map((item, k) => ({ from: item.output[0], to: item.output[1], lines: outputs[k] })).sort((a, b) => b.from - a.from);
  const lines = [...document.lines];
  for (const r of replacements) lines.splice(r.from, r.to - r.from, ...r.lines);
  return lines.join('\n');
}

/** The first place where two JSON values differ, as a JSON pointer with both sides, or null when they are equal. */
export function firstDifference(got: unknown, expected: unknown, path = ''): string | null {
  if (Array.isArray(got) && Array.isArray(expected)) {
    if (got.length !== expected.length) return `${path || '/'}: ${got.length} elements, the document shows ${expected.length}`;
    for (let i = 0; i < got.length; i++) {
      const d = firstDifference(got[i], expected[i], `${path}/${i}`);
      if (d !== null) return d;
    }
    return null;
  }
  if (got !== null && expected !== null && typeof got === 'object' && typeof expected === 'object' && !Array.isArray(got) && !Array.isArray(expected)) {
    const keys = new Set([...Object.keys(got), ...Object.keys(expected)]);
    for (const key of keys) {
      const d = firstDifference((got as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}/${key}`);
      if (d !== null) return d;
    }
    return null;
  }
  return Object.is(got, expected) ? null : `${path || '/'}: the service answers ${JSON.stringify(got)}, the document shows ${JSON.stringify(expected)}`;
}
