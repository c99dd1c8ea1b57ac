/**
 * Reads a document (examples/lab2/README.md, README.md) as the tests replay it: every `curl`
 * command in a fenced block is a request, the lines right after it (up to a blank line, a `#`
 * comment, the next command or the end of the block) are the output the document shows; a
 * `$ node <script>` line is a run of an example script, and the rest of its block is the
 * script's output. A command may continue over lines ending in `\`, use a variable that a line
 * `NAME='value'` of the document set (`-H "$H"`), and be piped into other commands (`| jq -r
 * .dot`): then what it shows is not the answer, and the pipeline is kept for the test to judge.
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
  /** The commands curl's output is piped into, each as its words (empty: the answer is shown as it is). */
  readonly pipeline: readonly (readonly string[])[];
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
 * ('"'"' is a single quote inside a single-quoted argument); `$NAME` inside double quotes is
 * the value of one of `variables`. Unquoted pipes, redirections, other substitutions and
 * unknown variables are refused: the test could not replay them.
 */
export function shellWords(line: string, variables: Readonly<Record<string, string>> = {}): string[] {
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
        if (line[j] === '$') {
          const name = /^\$([A-Za-z_]\w*)/.exec(line.slice(j))?.[1];
          if (name === undefined || !(name in variables)) throw new Error(`a substitution inside double quotes at column ${j + 1}`);
          text += variables[name];
          j += name.length;
          continue;
        }
        if (line[j] === '`') throw new Error(`a substitution inside double quotes at column ${j + 1}`);
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

/** A command line cut at its unquoted pipes: `curl ... | jq -r .dot` is ['curl ...', 'jq -r .dot']. */
export function pipelineOf(line: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let from = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (quote === '"' && c === '\\') i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '|') {
      parts.push(line.slice(from, i).trim());
      from = i + 1;
    }
  }
  parts.push(line.slice(from).trim());
  return parts;
}

/** The request a curl line makes: only the options a lab's commands need. */
export function parseCurl(text: string, variables: Readonly<Record<string, string>> = {}): Pick<CurlCommand, 'method' | 'path' | 'headers' | 'body'> {
  const words = shellWords(text, variables);
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
  const variables: Record<string, string> = {};
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    if (FENCE.test(lines[i])) {
      inFence = !inFence;
      continue;
    }
    if (!inFence) continue;
    const trimmed = lines[i].trim();
    const assignment = /^([A-Za-z_]\w*)=('[^']*')$/.exec(trimmed);
    if (assignment !== null) {
      variables[assignment[1]] = shellWords(assignment[2]).join('');
      continue;
    }
    if (trimmed.startsWith('curl ')) {
      // A command continued over lines ending in a backslash is one line.
      let last = i;
      let line = trimmed;
      while (line.endsWith('\\') && last + 1 < lines.length && !FENCE.test(lines[last + 1])) line = `${line.slice(0, -1).trimEnd()} ${lines[++last].trim()}`;
      const [curl, ...piped] = pipelineOf(line);
      let request: ReturnType<typeof parseCurl>;
      let pipeline: string[][];
      try {
        request = parseCurl(curl, variables);
        pipeline = piped.map((p) => shellWords(p.replace(/\s*>\s*\S+$/, ''), variables));
      } catch (e) {
        throw new Error(`line ${i + 1}: ${(e as Error).message}: ${line}`);
      }
      let end = last + 1;
      while (end < lines.length && !FENCE.test(lines[end]) && lines[end].trim() !== '' && !lines[end].trim().startsWith('#') && !lines[end].trim().startsWith('curl ')) end++;
      commands.push({ line: i + 1, text: line, ...request, pipeline, output: [last + 1, end], shown: lines.slice(last + 1, end) });
      i = end - 1;
    } else if (trimmed.startsWith('$ node ')) {
      const args = shellWords(trimmed.slice('$ node '.length));
      let end = i + 1;
      while (end < lines.length && !FENCE.test(lines[end])) end++;
      scripts.push({ line: i + 1, text: trimmed, args, output: [i + 1, end], shown: lines.slice(i + 1, end) });
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
