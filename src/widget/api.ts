/**
 * The widgets' requests, through one seam (`request`): each goes to the service, as JSON or an
 * NDJSON stream over fetch, or is computed in this browser by local mode's engine
 * (`adjoint-local.js`, imported only then), as the element's `compute` attribute says. What went
 * wrong is told apart (a program's error, a refusal, an unreachable service, a page whose origin
 * the service does not allow) so the element can say so and offer a retry where one can help.
 */
import type { ComputeMode } from './attributes.js';
import type * as LocalClient from './local/client.js';
import { ndjsonMessages } from './ndjson.js';
import type { BatchResponse, ProblemBody } from './wire.js';

/**
 * Where an element's requests go: the service's base URL and the API key it sends (`api-key`),
 * if any; whether they may be computed in this browser instead (`compute`); and whom to tell
 * where each one went.
 */
export interface Service {
  readonly url: string;
  readonly key: string | null;
  readonly mode: ComputeMode;
  readonly onRoute?: (route: Route) => void;
}

/** Where a request is computed: by the service at `url`, or in this browser. */
export type Route = { readonly where: 'service'; readonly url: string } | { readonly where: 'local' };

export type FailureKind = 'program' | 'request' | 'auth' | 'rate' | 'unavailable' | 'network' | 'cors' | 'stream' | 'local';

/** A request that failed: `detail` is what `adjoint-error` carries (the problem as the service sent it, or one made here). */
export class ServiceError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly detail: ProblemBody | { code: string; detail: string; status?: number },
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }

  /**
   * Whether asking again as it is may help: the service was down, busy or over a rate for now,
   * or the local engine did not load. Not a refused key: the same request gets the same 401
   * until `api-key` changes, which asks again by itself.
   */
  get retryable(): boolean {
    return ['rate', 'unavailable', 'network', 'cors', 'stream', 'local'].includes(this.kind);
  }
}

const isAbort = (e: unknown): boolean => e instanceof DOMException && e.name === 'AbortError';

/**
 * A problem (application/problem+json) as a ServiceError with a sentence for a student (and, for
 * a 401, for the page's author). `keyed`: whether the request carried an `api-key`.
 */
export function problemError(problem: ProblemBody, retryAfter: string | null = null, keyed = false): ServiceError {
  const { status, detail } = problem;
  if (problem.line !== undefined && problem.column !== undefined) {
    return new ServiceError('program', problem, `Error at line ${problem.line}, column ${problem.column}: ${detail}`);
  }
  const wait = retryAfter === null ? '' : ` Retry in ${retryAfter} s.`;
  // A wrong key is a 403 (FORBIDDEN, "not valid"); a missing one a 401.
  if ((status === 401 || status === 403) && keyed) {
    return new ServiceError('auth', problem, `The service did not accept this element's api-key (${status} ${problem.code}): ${detail}. Set the api-key attribute to a key in the service's API_KEYS.`);
  }
  if (status === 401) return new ServiceError('auth', problem, `The service requires an API key (401 ${problem.code}): set the element's api-key attribute to a key in the service's API_KEYS.`);
  if (status === 403) return new ServiceError('auth', problem, `The service refused the request (403 ${problem.code}): ${detail}`);
  if (status === 429) return new ServiceError('rate', problem, `Too many requests (429): ${detail}.${wait}`);
  if (status === 503) return new ServiceError('unavailable', problem, `The service is ${problem.code === 'SHUTTING_DOWN' ? 'shutting down' : 'busy'} (503): ${detail}.${wait}`);
  if (status >= 500) return new ServiceError('unavailable', problem, `The service failed (${status}): ${detail}`);
  return new ServiceError(status === 422 ? 'program' : 'request', problem, detail);
}

function looksLikeProblem(v: unknown): v is ProblemBody {
  return v !== null && typeof v === 'object' && typeof (v as ProblemBody).status === 'number' && typeof (v as ProblemBody).detail === 'string';
}

/** Why fetch itself failed: on another origin, a page the service does not allow (CORS_ORIGINS), else an unreachable service. */
async function fetchFailure(api: string, signal: AbortSignal): Promise<ServiceError> {
  const origin = new URL(api).origin;
  const here = globalThis.location?.origin ?? origin;
  if (origin !== here) {
    // An opaque request is not subject to CORS: if it gets through, the service is up and refused this page's origin.
    // The widget's own file is the one any origin may load (Cross-Origin-Resource-Policy: cross-origin).
    const reachable = await fetch(`${api}/widget/adjoint.js`, { method: 'HEAD', mode: 'no-cors', signal }).then(
      () => true,
      () => false,
    );
    if (reachable) {
      return new ServiceError(
        'cors',
        { code: 'CORS', detail: `origin ${here} is not allowed by the service at ${origin}` },
        `The service at ${origin} does not allow requests from this page (${here}): add "${here}" to the service's CORS_ORIGINS setting.`,
      );
    }
  }
  return new ServiceError('network', { code: 'NETWORK', detail: `cannot reach ${api}` }, `Cannot reach the service at ${api}: is it running?`);
}

async function post(service: Service, endpoint: string, body: unknown, signal: AbortSignal, accept: string): Promise<Response> {
  const api = service.url;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept };
  if (service.key !== null) headers.authorization = `Bearer ${service.key}`;
  let response: Response;
  try {
    response = await fetch(`${api}/v1/${endpoint}`, { method: 'POST', headers, body: JSON.stringify(body), signal });
  } catch (e) {
    if (isAbort(e) || signal.aborted) throw e;
    throw await fetchFailure(api, signal);
  }
  if (response.ok) return response;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the service's problem: a proxy's page, say.
  }
  const keyed = service.key !== null;
  if (looksLikeProblem(json)) throw problemError(json, response.headers.get('retry-after'), keyed);
  throw problemError({ type: 'about:blank', title: response.statusText, status: response.status, detail: text.slice(0, 200) || response.statusText, code: 'INTERNAL' }, response.headers.get('retry-after'), keyed);
}

/** `POST /v1/<endpoint>` answered as JSON. */
async function postJson<T>(service: Service, endpoint: string, body: unknown, signal: AbortSignal): Promise<T> {
  const response = await post(service, endpoint, body, signal, 'application/json');
  return (await response.json()) as T;
}

/**
 * `POST /v1/<endpoint>` streamed as NDJSON (SPEC.md section 4): `onMessage` sees each line
 * before the result as it arrives; resolves with the result's body. Aborting `signal` closes the
 * connection, and the service cancels the work.
 */
async function postStream<T>(service: Service, endpoint: string, body: unknown, signal: AbortSignal, onMessage: (message: Record<string, unknown>) => void): Promise<T> {
  const response = await post(service, endpoint, body, signal, 'application/x-ndjson');
  if (response.body === null) throw new ServiceError('stream', { code: 'STREAM', detail: 'the response has no body' }, 'The service answered without a body.');
  const reader = response.body.getReader();
  let result: { value: T } | null = null;
  try {
    // Read to the end (the service closes the stream after its result): a stream left unread counts as aborted.
    for await (const message of ndjsonMessages(reader)) {
      const m = message as Record<string, unknown> & { type?: unknown };
      if (m.type === 'result') {
        const { type: _type, ...body } = m;
        result = { value: body as T };
      } else if (m.type === 'error') throw problemError(m.error as ProblemBody);
      else if (result === null) onMessage(m);
    }
  } catch (e) {
    if (e instanceof ServiceError || isAbort(e) || signal.aborted) throw e;
    throw new ServiceError('stream', { code: 'STREAM', detail: String(e) }, `The stream broke off: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    reader.releaseLock();
  }
  if (result !== null) return result.value;
  throw new ServiceError('stream', { code: 'STREAM', detail: 'the stream ended without a result' }, 'The stream ended before its result.');
}

/** How long `auto` waits for the service's `/healthz` before computing in this browser instead. */
const PROBE_TIMEOUT_MS = 3000;
/** Whether the service at each base URL answers, asked once per page. */
const probes = new Map<string, Promise<boolean>>();

/**
 * Whether the service at `api` answers: its `GET /healthz` (open to any key, and a simple CORS
 * request) within PROBE_TIMEOUT_MS. A network failure, a CORS refusal, anything but the service's
 * `{"status": "ok"}` (a static host's 404 page, say) or no answer in time is no.
 */
function serviceAnswers(api: string): Promise<boolean> {
  let answer = probes.get(api);
  if (answer === undefined) {
    // Whatever fails, however (a fetch that throws at once too), is a no.
    answer = Promise.resolve()
      .then(() => fetch(`${api}/healthz`, { cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }))
      .then(async (response) => response.ok && ((await response.json()) as { status?: unknown }).status === 'ok')
      .catch(() => false);
    probes.set(api, answer);
  }
  return answer;
}

/** Local mode's module, beside this one (`adjoint-local.js` next to `adjoint.js`): imported the first time an element computes locally. */
const LOCAL_MODULE = new URL('./adjoint-local.js', import.meta.url).href;
let localModule: Promise<typeof LocalClient> | null = null;

function localEngine(): Promise<typeof LocalClient> {
  if (localModule === null) {
    // A URL esbuild does not follow: the engine stays out of adjoint.js.
    const loading = import(LOCAL_MODULE) as Promise<typeof LocalClient>;
    localModule = loading;
    // A failure is not kept: the next request tries again.
    loading.catch(() => {
      if (localModule === loading) localModule = null;
    });
  }
  return localModule;
}

/** A problem the local engine answered with, shown as the service's would be; its own failure (a 500) said as such. */
function localProblemError(problem: ProblemBody): ServiceError {
  if (problem.status >= 500) return new ServiceError('local', problem, `Computing in this browser failed: ${problem.detail}`);
  return problemError(problem);
}

/** `request` in this browser: the local engine's answer, a stream's messages through `onMessage` as the service's NDJSON lines. */
async function computeLocally<T>(endpoint: string, body: unknown, signal: AbortSignal, onMessage: ((message: Record<string, unknown>) => void) | undefined): Promise<T> {
  let engine: typeof LocalClient;
  try {
    engine = await localEngine();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ServiceError('local', { code: 'LOCAL', detail: `cannot load ${LOCAL_MODULE}: ${why}` }, `Cannot load the local engine from ${LOCAL_MODULE}: ${why}`);
  }
  signal.throwIfAborted();
  let result: T;
  try {
    result = (await engine.localCompute(endpoint, body, { signal, onMessage })) as T;
  } catch (e) {
    throw e instanceof engine.LocalProblem ? localProblemError(e.body) : e;
  }
  // A streamed batch's items as the service sends them (there each as it is done, here all at the end).
  if (endpoint === 'batch' && onMessage !== undefined) {
    (result as BatchResponse<unknown>).results.forEach((item, index) => onMessage({ type: 'item', index, ...(item as object) }));
  }
  return result;
}

/**
 * The one way an element asks for a computation: `POST /v1/<endpoint>` to the service, or the same
 * request computed in this browser, as `service.mode` says (`auto`: the service if it answers,
 * else here; a service that stops answering is left for this browser too). Resolves with the
 * response's body; a problem is a ServiceError either way. With `onMessage`, a stream: each
 * message before the result (`samples`, `progress`, a batch's `item`s), as the service's NDJSON
 * lines. Aborting `signal` closes the connection (the service cancels the work) or terminates the
 * local engine's worker.
 */
export async function request<T>(service: Service, endpoint: string, body: unknown, signal: AbortSignal, onMessage?: (message: Record<string, unknown>) => void): Promise<T> {
  const local = service.mode === 'local' || (service.mode === 'auto' && !(await serviceAnswers(service.url)));
  signal.throwIfAborted();
  if (!local) {
    service.onRoute?.({ where: 'service', url: service.url });
    try {
      return onMessage === undefined ? await postJson<T>(service, endpoint, body, signal) : await postStream<T>(service, endpoint, body, signal, onMessage);
    } catch (e) {
      // auto: a service gone since it answered (no answer at all, or a CORS refusal); this browser from now on.
      if (service.mode !== 'auto' || !(e instanceof ServiceError) || (e.kind !== 'network' && e.kind !== 'cors')) throw e;
      probes.set(service.url, Promise.resolve(false));
    }
  }
  service.onRoute?.({ where: 'local' });
  return computeLocally<T>(endpoint, body, signal, onMessage);
}
