/**
 * The messages between the page (client.ts) and the local engine's worker (worker.ts), after
 * the WebSocket's (SPEC.md section 4): a request carries an id, and every answer the same id:
 * `start`, a stream's `samples` or `progress` messages, then exactly one `result` or `error`.
 */
import type { ProblemBody } from '../../compute/problem.js';

export interface LocalRequest {
  readonly id: number;
  readonly endpoint: string;
  readonly body: unknown;
  /** Whether to send a stream's messages (`sample`'s chunks, `optimize`'s progress) as the work goes on. */
  readonly stream: boolean;
}

/** A stream's message as the service's NDJSON line has it: `{"type": "samples", ...}` or `{"type": "progress", ...}`. */
export interface StreamMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

export type LocalAnswer =
  /** The worker has the request, and starts on it, to be answered within `timeoutMs` (the service's default limit). */
  | { readonly id: number; readonly type: 'start'; readonly timeoutMs: number }
  | { readonly id: number; readonly type: 'message'; readonly message: StreamMessage }
  /** The result as the JSON text the service sends. */
  | { readonly id: number; readonly type: 'result'; readonly json: string }
  | { readonly id: number; readonly type: 'error'; readonly error: ProblemBody };
