/**
 * Clients for hostile input, on the wire: HTTP requests of any bytes and headers (a reset is an
 * answer too, and a wrong one), and WebSocket sessions that count, for every id sent, the final
 * messages (`result` or `error`) it gets: exactly one each, after its stream messages (`samples`,
 * `progress`, a batch's `item`s), every error a problem of a known code, and the socket left open. No tap here: `npm run soak` uses them too.
 */
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { httpViolation, problemViolation } from './invariants.js';
import { loadConfig } from '../../src/server/config.js';
import { jsonLimitsOf, parseJsonChecked } from '../../src/server/json-scan.js';

export interface WireRequest {
  readonly method?: string;
  /** From the root: /v1/grad, /healthz, ... */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as it is (a string as UTF-8). */
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** One request: POST /v1/<endpoint> with these bytes and headers. */
export interface FuzzRequest {
  readonly endpoint: string;
  /** JSON text, or any bytes. */
  readonly body: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Over WebSocket, the message as sent (null: this request has no WebSocket form). */
  readonly message: string | Uint8Array | null;
}

export type WireReply =
  | { readonly ok: true; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly contentType: string; readonly text: string; readonly ms: number }
  | { readonly ok: false; readonly error: string; readonly ms: number };

/** Why a reply breaks the invariant (a reset, a 500, a non-JSON body, an unknown code), or null. */
export function replyViolation(reply: WireReply): string | null {
  if (!reply.ok) return `no answer: ${reply.error}`;
  return httpViolation(reply);
}

/** The JSON body of a reply, or undefined. */
export function replyJson(reply: WireReply): unknown {
  if (!reply.ok) return undefined;
  try {
    return JSON.parse(reply.text);
  } catch {
    return undefined;
  }
}

export class HttpClient {
  private readonly agent: Agent;

  /** `timeoutMs`: how long an answer may take before the request counts as unanswered. */
  constructor(readonly base: string, connections = 64, readonly timeoutMs = 60_000) {
    this.agent = new Agent({ connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 2_000 });
  }

  async send(r: WireRequest): Promise<WireReply> {
    const start = performance.now();
    try {
      const response = await request(`${this.base}${r.path}`, {
        method: (r.method ?? (r.body === undefined ? 'GET' : 'POST')) as 'GET',
        headers: { ...r.headers },
        body: r.body,
        signal: r.signal,
        dispatcher: this.agent,
      });
      const text = await response.body.text();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      return { ok: true, status: response.statusCode, headers, contentType: headers['content-type'] ?? '', text, ms: performance.now() - start };
    } catch (e) {
      const error = e as Error & { code?: string };
      return { ok: false, error: `${error.code ?? error.name}: ${error.message}`, ms: performance.now() - start };
    }
  }

  /** POST /v1/<endpoint> with a JSON body (a string is sent as it is). */
  post(endpoint: string, body: unknown, headers: Record<string, string> = {}): Promise<WireReply> {
    return this.send({ path: `/v1/${endpoint}`, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * Bytes written on a fresh TCP connection as they are (requests undici would refuse to send:
 * a lying content-length, a broken chunked body), and the answer's status, head and body, or
 * why none came. The connection is not half-closed (Node.js's server drops a request whose
 * client does that); it is closed after `timeoutMs` if the server keeps it open.
 */
export function sendRaw(base: string, bytes: string | Uint8Array, timeoutMs = 5_000): Promise<{ status: number | null; head: string; text: string; error: string | null }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let error: string | null = null;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: Error & { code?: string }) => {
      error = `${e.code ?? e.name}: ${e.message}`;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.split('\r\n\r\n')[0];
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match === null ? null : Number(match[1]), head, text: text.slice(head.length + 4), error });
    });
  });
}

export type Message = Record<string, unknown>;

export interface WsOptions {
  readonly origin?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A refused upgrade: the HTTP status the server answered it with. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, readonly body: string) {
    super(`the WebSocket upgrade was refused with ${status}: ${body.slice(0, 200)}`);
  }
}

/** Characters past which a message's id is read from its start, not parsed. */
const LARGE_MESSAGE = 1 << 20;
/** The JSON limits of a server with the default MAX_JSON_DEPTH and MAX_INPUTS, as the hostile servers have. */
const SERVER_JSON_LIMITS = (() => {
  const config = loadConfig({});
  return jsonLimitsOf(config.maxJsonDepth, config.limits.maxInputs);
})();

/** The id the server answers a message with, or "none" when it answers nothing (a cancel). */
function answerKey(data: string | Uint8Array): string | null | 'none' {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  const leading = (): string | null => {
    const m = /^\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.){0,256}")/.exec(text.slice(0, 300));
    return m === null ? null : (JSON.parse(m[1]) as string);
  };
  // Not parsed here: JSON.parse takes seconds over a deep nesting, on the event loop an
  // in-process server shares. The server answers such a message under its leading id.
  if (text.length > LARGE_MESSAGE) return leading();
  let message: unknown;
  try {
    message = parseJsonChecked(text, SERVER_JSON_LIMITS);
  } catch {
    // A message that does not parse, or that the server's scan refuses (too deep, an object of
    // too many members), is answered under its leading id too, if it has one: a cancel included.
    return leading();
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return null;
  const { id, type } = message as Message;
  if (typeof id !== 'string') return null;
  return id !== '' && type === 'cancel' ? 'none' : id;
}

/**
 * A WebSocket session on /v1/ws that checks SPEC.md section 4's promise: every message gets
 * exactly one final message under its id (messages without a usable id: an error whose id is
 * null), nothing comes for an id after its final, and every error is a problem of a known code.
 */
export class WsSession {
  /** Every message received, in order. */
  readonly received: Message[] = [];
  /** Set when the socket closes. */
  closed: { code: number; reason: string } | null = null;
  private readonly expected = new Map<string | null, number>();
  private readonly finals = new Map<string | null, number>();
  /** When each id was sent and when its first final message came (performance.now()). */
  private readonly sentAt = new Map<string, number>();
  private readonly finalAt = new Map<string, number>();
  private readonly problems: string[] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.take(String(data)));
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(base: string, options: WsOptions = {}): Promise<WsSession> {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`, { origin: options.origin, headers: options.headers, maxPayload: 1 << 30 });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsSession(socket)));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
        res.on('error', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
      });
      socket.once('error', reject);
    });
  }

  private take(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      this.problems.push(`a message that is not JSON: ${text.slice(0, 120)}`);
      return;
    }
    this.received.push(message);
    const key = typeof message.id === 'string' ? message.id : message.id === null ? null : undefined;
    if (key === undefined) this.problems.push(`a message without an id: ${text.slice(0, 160)}`);
    else if (message.type === 'result' || message.type === 'error') {
      this.finals.set(key, (this.finals.get(key) ?? 0) + 1);
      if (key !== null && !this.finalAt.has(key)) this.finalAt.set(key, performance.now());
      if (message.type === 'error') {
        const why = problemViolation(message.error);
        if (why !== null) this.problems.push(`id ${JSON.stringify(key)}: ${why}`);
      }
    } else if (message.type === 'samples' || message.type === 'progress' || message.type === 'item') {
      if ((this.finals.get(key) ?? 0) > 0) this.problems.push(`id ${JSON.stringify(key)}: a ${message.type} message after its final message`);
      // A batch's item may be an error of its own.
      const why = message.error === undefined ? null : problemViolation(message.error);
      if (why !== null) this.problems.push(`id ${JSON.stringify(key)}, a batch item: ${why}`);
    } else this.problems.push(`a message of unknown type: ${text.slice(0, 160)}`);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Sends a message (an object as JSON; a string or bytes as they are, bytes in a binary frame).
   * `answeredAs`: the id its final message will carry, when not the one it holds (a message
   * too large to be read is answered under a leading id alone).
   */
  send(message: unknown, answeredAs?: string | null): void {
    const data = typeof message === 'string' || message instanceof Uint8Array ? message : JSON.stringify(message);
    const key = answeredAs !== undefined ? answeredAs : answerKey(data);
    if (key !== 'none') this.expected.set(key, (this.expected.get(key) ?? 0) + 1);
    if (key !== 'none' && key !== null && !this.sentAt.has(key)) this.sentAt.set(key, performance.now());
    this.socket.send(data, { binary: typeof data !== 'string' });
  }

  /** Milliseconds from sending each id to its final message, for those answered so far. */
  latencies(): { id: string | null; ms: number }[] {
    const ms: { id: string | null; ms: number }[] = [];
    for (const [id, at] of this.finalAt) {
      const sent = this.sentAt.get(id);
      if (sent !== undefined) ms.push({ id, ms: at - sent });
    }
    return ms;
  }

  /** The final message for `id` (the first, if more came), or undefined. */
  final(id: string): Message | undefined {
    return this.received.find((m) => m.id === id && (m.type === 'result' || m.type === 'error'));
  }

  private settled(): boolean {
    for (const [key, n] of this.expected) if ((this.finals.get(key) ?? 0) < n) return false;
    return true;
  }

  /**
   * Waits until every message sent has its final message (or `timeoutMs` passes, or the socket
   * closes), then `graceMs` more for any extra one; returns what broke the promise (empty: none).
   * `mayClose`: the socket closing is allowed (the test expects it), else it is a violation;
   * `owedOnClose`: even so, every id sent before must have had its final message (a drain).
   */
  async settle(timeoutMs: number, { graceMs = 50, mayClose = false, owedOnClose = false } = {}): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    while (!this.settled() && this.closed === null && Date.now() < end) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, graceMs));
    const violations = this.problems.splice(0);
    if (this.closed !== null && !mayClose) violations.push(`the socket closed (${this.closed.code} ${this.closed.reason})`);
    if (this.closed !== null && mayClose && !owedOnClose) return violations;
    for (const [key, n] of this.expected) {
      const got = this.finals.get(key) ?? 0;
      if (got !== n) violations.push(`id ${JSON.stringify(key)}: ${got} final messages for ${n} sent`);
    }
    for (const [key, got] of this.finals) if (!this.expected.has(key)) violations.push(`id ${JSON.stringify(key)}: ${got} final messages for an id never sent (or after its wait)`);
    // The next wait counts afresh: a final that comes later than this one waited is reported then.
    this.expected.clear();
    this.finals.clear();
    return violations;
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
  }
}
