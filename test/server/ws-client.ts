/**
 * A WebSocket client for the limits' tests: an upgrade that may be refused (its HTTP status
 * and body kept), the messages received, and how the socket closed.
 */
import WebSocket from 'ws';
import type { Message } from './harness.js';

export interface Refused {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown> | null;
}

export interface Client {
  readonly socket: WebSocket;
  readonly received: Message[];
  /** Resolves with the close code and reason once the socket has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** The first message matching, waiting up to `timeoutMs` for it. */
  until(match: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
}

/** Opens /v1/ws with these headers: the client, or the refusal of the upgrade. */
export function openSocket(base: string, headers: Record<string, string> = {}): Promise<Client | Refused> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers });
  const received: Message[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Message));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return new Promise((resolve, reject) => {
    socket.once('open', () =>
      resolve({
        socket,
        received,
        closed,
        send: (m) => socket.send(typeof m === 'string' ? m : JSON.stringify(m)),
        until: async (match, timeoutMs = 30_000) => {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const found = received.find(match);
            if (found !== undefined) return found;
            if (Date.now() > deadline) throw new Error(`no such message; received ${JSON.stringify(received).slice(0, 500)}`);
            await new Promise((r) => setTimeout(r, 25));
          }
        },
      }),
    );
    socket.once('unexpected-response', (request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        let body: Record<string, unknown> | null = null;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = null;
        }
        request.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    socket.once('error', (e) => reject(e));
  });
}

export const isRefused = (c: Client | Refused): c is Refused => 'status' in c;
