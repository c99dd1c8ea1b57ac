/**
 * The fuzzers' loop: requests drawn by fast-check (seeded, bounded by time or by a number of
 * runs) sent one at a time over HTTP, or a few at once on a WebSocket, each answer checked
 * against the invariant, and the server's health after each: a worker may be replaced only by a
 * request answered "memory limit exceeded" (V8's heap limit killed it: the pool's one legitimate
 * reason, and the fuzz servers' element limits keep it rare). Every broken promise is collected
 * with the request that broke it, so that one run lists them all, each replayable by hand.
 */
import fc from 'fast-check';
import type { Test } from 'tap';
import { fuzzRuns, fuzzSeed, type HostileServer } from './harness.js';
import { WsSession, replyJson, replyViolation, type FuzzRequest } from './wire.js';


interface Violation {
  readonly what: string;
  readonly request: string;
}

/** A request as a line to replay it: the endpoint, headers and the body's start. */
function show(r: FuzzRequest, transport: 'HTTP' | 'WebSocket'): string {
  const body = transport === 'HTTP' ? r.body : (r.message ?? '');
  const text = typeof body === 'string' ? body : `bytes ${Buffer.from(body).toString('base64').slice(0, 300)}`;
  return `${transport} ${r.endpoint}${r.headers === undefined ? '' : ` ${JSON.stringify(r.headers)}`} ${text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text}`;
}

/** Whether a problem (or its WebSocket error) says the worker's memory ran out. */
const memoryProblem = (problem: unknown): boolean => {
  const p = problem as { code?: unknown; limit?: unknown } | undefined;
  return p?.code === 'LIMIT_EXCEEDED' && p.limit === 'memory';
};

export interface FuzzOptions {
  readonly name: string;
  readonly seconds: number;
  /** TIMEOUT_MS of the server: every answer must come within it and a second. */
  readonly timeoutMs: number;
  /** BODY_LIMIT_BYTES of the server: a WebSocket message over it is refused TOO_LARGE, over twice it closes the socket (1009). */
  readonly bodyLimit: number;
}

/** Runs `requests` against `server` over HTTP for `seconds`, then reports what broke. */
export async function fuzzHttp(t: Test, server: HostileServer, requests: fc.Arbitrary<FuzzRequest>, options: FuzzOptions): Promise<void> {
  const violations: Violation[] = [];
  let runs = 0;
  await runProperty(requests, options.seconds, async (r) => {
    runs++;
    const before = server.app.workers.replaced;
    const reply = await server.http.send({ path: `/v1/${r.endpoint}`, headers: { 'content-type': 'application/json', ...r.headers }, body: r.body });
    const why = replyViolation(reply);
    if (why !== null) violations.push({ what: why, request: show(r, 'HTTP') });
    if (reply.ms > options.timeoutMs + 1000) violations.push({ what: `answered after ${Math.round(reply.ms)} ms, over TIMEOUT_MS + 1 s`, request: show(r, 'HTTP') });
    await checkHealth(server, before, memoryProblem(replyJson(reply)), show(r, 'HTTP'), violations);
  });
  report(t, `${options.name} over HTTP`, runs, violations);
}

/**
 * Runs batches of `requests` on one WebSocket for `seconds`: each batch sent at once (with a
 * cancel for one of them now and then), every id then owed exactly one final message.
 */
export async function fuzzWebSocket(t: Test, server: HostileServer, requests: fc.Arbitrary<FuzzRequest>, options: FuzzOptions): Promise<void> {
  const violations: Violation[] = [];
  let runs = 0;
  let session = await WsSession.open(server.base);
  // Ids unique within a batch: a second message under an id in flight is refused under that
  // same id, so its refusal and the first one's answers could not be told apart.
  const batch = fc.uniqueArray(requests.filter((r) => r.message !== null), { minLength: 1, maxLength: 4, selector: (r) => leadingId(r.message!) ?? r.message! });
  const batches = fc.record({ batch, cancel: fc.boolean() });
  await runProperty(batches, options.seconds, async ({ batch, cancel }) => {
    runs += batch.length;
    const before = server.app.workers.replaced;
    // Over BODY_LIMIT_BYTES a message is not read: answered TOO_LARGE under the id that leads it,
    // if any; over twice that, ws closes the socket (1009).
    const size = (m: string | Uint8Array): number => (typeof m === 'string' ? Buffer.byteLength(m) : m.byteLength);
    for (const r of batch) session.send(r.message!, size(r.message!) > options.bodyLimit ? leadingId(r.message!) : undefined);
    // A cancel for the first message's id, as a client that gives up would send it.
    const id = cancel ? idOf(batch[0].message!) : null;
    if (id !== null) session.send({ id, type: 'cancel' });
    const start = performance.now();
    // The fuzz server has one worker: the batch's requests may run one after the other.
    const within = batch.length * options.timeoutMs + 1000;
    const oversized = batch.some((r) => size(r.message!) > 2 * options.bodyLimit);
    const broken = await session.settle(within + 5000, { mayClose: oversized });
    if (oversized && session.closed !== null && session.closed.code !== 1009) broken.push(`a message over twice the body limit closed the socket with ${session.closed.code}, not 1009`);
    const ms = performance.now() - start;
    const shown = batch.map((r) => show(r, 'WebSocket')).join('\n    ');
    for (const what of broken) violations.push({ what, request: shown });
    if (ms > within) violations.push({ what: `the batch of ${batch.length} was answered after ${Math.round(ms)} ms, over ${batch.length} x TIMEOUT_MS + 1 s`, request: shown });
    const memory = session.received.some((m) => m.type === 'error' && memoryProblem(m.error));
    session.received.length = 0;
    await checkHealth(server, before, memory, shown, violations);
    if (session.closed !== null) session = await WsSession.open(server.base);
  });
  session.close();
  report(t, `${options.name} over WebSocket`, runs, violations);
}

/** The id a message too large to read is answered under: a string id (of up to 256 characters) leading it, else none. */
function leadingId(message: string | Uint8Array): string | null {
  const start = (typeof message === 'string' ? Buffer.from(message.slice(0, 300)) : Buffer.from(message.subarray(0, 300))).subarray(0, 300).toString('utf8');
  const m = /^\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.){0,256}")/.exec(start);
  if (m === null) return null;
  try {
    return JSON.parse(m[1]) as string;
  } catch {
    return null;
  }
}

function idOf(message: string | Uint8Array): string | null {
  try {
    const { id } = JSON.parse(typeof message === 'string' ? message : Buffer.from(message).toString('utf8')) as { id?: unknown };
    return typeof id === 'string' && id !== '' ? id : null;
  } catch {
    return null;
  }
}

async function checkHealth(server: HostileServer, replacedBefore: number, memory: boolean, request: string, violations: Violation[]): Promise<void> {
  const replaced = server.app.workers.replaced - replacedBefore;
  if (replaced > 0) {
    if (!memory) violations.push({ what: `${replaced} worker(s) replaced, and no answer said "memory limit exceeded"`, request });
    // The new worker loads for seconds (through tsx): not the next request's time.
    await server.warm();
  }
  if (!Number.isFinite(await server.healthz())) violations.push({ what: '/healthz does not answer 200 afterwards', request });
}

/** The fewest values a fuzzer tries, whatever the time it is given. */
const MIN_RUNS = 5;

async function runProperty<T>(arbitrary: fc.Arbitrary<T>, seconds: number, check: (value: T) => Promise<void>): Promise<void> {
  const property = fc.asyncProperty(arbitrary, async (value) => {
    await check(value);
  });
  try {
    await fc.assert(property, {
      seed: fuzzSeed,
      numRuns: fuzzRuns ?? 1_000_000,
      ...(fuzzRuns === undefined ? { interruptAfterTimeLimit: seconds * 1000 } : {}),
      markInterruptAsFailure: false,
      endOnFailure: true,
    });
  } catch (e) {
    // fast-check fails a run its time limit stopped before the first value was done, and a loaded
    // machine can spend the whole limit on one request (a replaced worker loads for seconds; seen
    // on CI). Then the first MIN_RUNS values of the same seed, whatever the time they take.
    // Anything else (a generator that throws, say) says how to replay it.
    if (!(e instanceof Error && /interrupted after 0 tests/.test(e.message))) throw new Error(`${e instanceof Error ? e.message : String(e)} (seed ${fuzzSeed}: HOSTILE_SEED=${fuzzSeed} replays it)`, { cause: e });
    await fc.assert(property, { seed: fuzzSeed, numRuns: MIN_RUNS, endOnFailure: true });
  }
}

/** One failure per kind of broken promise (the first request that broke it), all in one run. */
function report(t: Test, name: string, runs: number, violations: Violation[]): void {
  t.comment(`${name}: ${runs} requests, seed ${fuzzSeed} (HOSTILE_SEED=${fuzzSeed} replays it${fuzzRuns === undefined ? '; with HOSTILE_RUNS the same count' : ''})`);
  const kinds = new Map<string, { first: Violation; count: number }>();
  for (const v of violations) {
    // Numbers vary between requests that break a promise the same way.
    const kind = v.what.replace(/\d+(\.\d+)?/g, 'N').slice(0, 160);
    const seen = kinds.get(kind);
    if (seen === undefined) kinds.set(kind, { first: v, count: 1 });
    else seen.count++;
  }
  for (const { first, count } of kinds.values()) t.fail(`${name}: ${first.what} (${count} time(s)); first by:\n    ${first.request}`);
  if (kinds.size === 0) t.pass(`${name}: every answer a 2xx or a problem of a known code, in time; the server healthy throughout`);
}
