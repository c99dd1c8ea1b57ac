/**
 * Newline-delimited JSON as it streams in (SPEC.md section 4): bytes in chunks that cut lines and
 * UTF-8 sequences anywhere, out whole lines parsed. Pure: no DOM, so tap tests it without a browser.
 */

/** Splits text arriving in pieces into lines; a line is complete at its `\n`. */
export class LineSplitter {
  private rest = '';

  /** The complete lines in `text` and what came before it; blank lines skipped. */
  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  }

  /** What is left once the input ends: a last line without its `\n`, if any. */
  end(): string[] {
    const last = this.rest.replace(/\r$/, '');
    this.rest = '';
    return last.trim() === '' ? [] : [last];
  }
}

/** What `ReadableStreamDefaultReader` offers, structurally (so this module needs no DOM types). */
export interface ByteReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
}

/** A line that is not JSON: the stream is broken (a proxy cut it, or it is not the service). */
export class StreamError extends Error {
  constructor(readonly line: string) {
    super(`the service's stream has a line that is not JSON: ${line.slice(0, 80)}`);
    this.name = 'StreamError';
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new StreamError(line);
  }
}

/** Each JSON object of the stream read from `reader`, as soon as its line is complete. */
export async function* ndjsonMessages(reader: ByteReader): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  const lines = new LineSplitter();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value !== undefined) for (const line of lines.push(decoder.decode(value, { stream: true }))) yield parseLine(line);
  }
  for (const line of lines.push(decoder.decode())) yield parseLine(line);
  for (const line of lines.end()) yield parseLine(line);
}
