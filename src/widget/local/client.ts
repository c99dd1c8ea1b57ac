/**
 * Local mode's page side (`adjoint-local.js`): `localCompute(endpoint, body)` answers as
 * `POST /v1/<endpoint>` would, the same JSON or the same problem, computed in this browser by
 * the local engine (worker.ts, `adjoint-local-worker.js`, beside this file) with no service.
 *
 * Each request in flight has a worker of its own, started on first use and kept for the next
 * request once it answers (at most `MAX_IDLE` kept). Stopping a request (its `signal`) terminates
 * its worker, which ends the evaluation wherever it is; the next request starts a fresh one.
 * A worker still busy a second past the time limit (from its start on the request) is stopped
 * the same way, as the service stops its worker threads.
 */
import type { ProblemBody } from '../../compute/problem.js';
import type { LocalAnswer, LocalRequest, StreamMessage } from './protocol.js';

export type { StreamMessage };

export interface LocalOptions {
  /** Aborting it stops the evaluation: its worker is terminated, and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** A stream's messages (`sample`'s `samples`, `optimize`'s `progress`), as the service's NDJSON lines, before the result. */
  readonly onMessage?: (message: StreamMessage) => void;
}

/** A problem the local engine answered with: `body` is what the service would send, `status` its HTTP status. */
export class LocalProblem extends Error {
  constructor(readonly body: ProblemBody) {
    super(body.detail);
    this.name = 'LocalProblem';
  }

  get status(): number {
    return this.body.status;
  }
}

/** Idle workers kept for the next requests. */
const MAX_IDLE = 2;
/** How long past its time limit a worker may go on before it is stopped, as the service's grace. */
const GRACE_MS = 1000;

const idle: Worker[] = [];
let nextId = 1;

/** The worker module's URL: beside this one. */
const workerUrl = new URL('./adjoint-local-worker.js', import.meta.url);

/**
 * A worker of the local engine. A worker's script must come from the page's own origin, so a
 * page that loaded this module from another one starts it from a one-line module of its own that
 * imports the engine (served to any origin, with CORS).
 */
function startWorker(): Worker {
  if (workerUrl.origin === location.origin) return new Worker(workerUrl, { type: 'module', name: 'adjoint-local' });
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(workerUrl.href)};`], { type: 'text/javascript' }));
  try {
    return new Worker(shim, { type: 'module', name: 'adjoint-local' });
  } finally {
    // The worker has its URL once constructed; the blob may go once it has loaded.
    setTimeout(() => URL.revokeObjectURL(shim), 60_000);
  }
}

const problem = (code: ProblemBody['code'], status: number, title: string, detail: string, extra: Partial<ProblemBody> = {}): ProblemBody => ({
  type: `/problems/${code.toLowerCase().replace(/_/g, '-')}`,
  title,
  status,
  detail,
  code,
  ...extra,
});

/**
 * What `POST /v1/<endpoint>` would answer for `body`, computed locally: resolves with the
 * response's JSON, rejects with a `LocalProblem` (the service's problem), or with the signal's
 * reason once aborted.
 */
export function localCompute(endpoint: string, body: unknown, options: LocalOptions = {}): Promise<unknown> {
  const { signal, onMessage } = options;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const worker = idle.pop() ?? startWorker();
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const finish = (keep: boolean): void => {
      clearTimeout(watchdog);
      signal?.removeEventListener('abort', onAbort);
      worker.removeEventListener('message', onAnswer);
      worker.removeEventListener('error', onError);
      if (keep && idle.length < MAX_IDLE) idle.push(worker);
      else worker.terminate();
    };
    const onAbort = (): void => {
      finish(false);
      reject(signal!.reason);
    };
    const onAnswer = (event: MessageEvent<LocalAnswer>): void => {
      const answer = event.data;
      if (answer.id !== id) return;
      if (answer.type === 'start') {
        // Timed from its start, as the service's worker threads are, not from the worker's loading.
        watchdog = setTimeout(() => {
          finish(false);
          const detail = `time limit exceeded: the evaluation ran past ${answer.timeoutMs} ms and was stopped`;
          reject(new LocalProblem(problem('LIMIT_EXCEEDED', 422, 'Limit exceeded', detail, { limit: 'time' })));
        }, answer.timeoutMs + GRACE_MS);
        return;
      }
      if (answer.type === 'message') {
        onMessage?.(answer.message);
        return;
      }
      finish(true);
      if (answer.type === 'result') resolve(JSON.parse(answer.json));
      else reject(new LocalProblem(answer.error));
    };
    const onError = (event: ErrorEvent): void => {
      event.preventDefault();
      finish(false);
      // A script that could not be fetched (a 404, a Content-Security-Policy's refusal) comes as an error with no message.
      const why = typeof event.message !== 'string' || event.message === '' ? `the local engine could not be loaded from ${workerUrl.href}` : `the local engine failed: ${event.message}`;
      reject(new LocalProblem(problem('INTERNAL', 500, 'Internal error', why)));
    };
    signal?.addEventListener('abort', onAbort);
    worker.addEventListener('message', onAnswer);
    worker.addEventListener('error', onError);
    const request: LocalRequest = { id, endpoint, body, stream: onMessage !== undefined };
    worker.postMessage(request);
  });
}
