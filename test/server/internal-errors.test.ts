/**
 * A 500 is a bug (SPEC.md section 6): on every path it comes to a client as a generic problem
 * naming the request id, never the error's own message, and it is logged at error level under
 * that id with the message and the stack (a worker's stack, where the error came from a worker).
 * No client input is known to cause one, so the seams are the pool itself (a chunk of samples
 * that is not whole blocks, which only the service could ask for) and a pool whose methods are
 * stubbed to fail as a worker's bug would.
 */
import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { fetch } from 'undici';
import { Problem, compute } from '../../src/index.js';
import { toProblem } from '../../src/compute/problem.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { createWorkerPool } from '../../src/workers/pool.js';
import { type Reply, assertProblemReply, connectSocket, post } from './harness.js';

/** What a bug's error says: nothing a client should see. */
const SECRET = 'Invalid typed array length: 10000000000';

interface LogLine {
  level: number;
  reqId?: string;
  msg?: string;
  item?: number;
  messageId?: string;
  err?: { message?: string; stack?: string };
}

/** The app logging at error level into `lines`, listening on an ephemeral port. */
async function startLogged(t: Test): Promise<{ app: FastifyInstance; base: string; lines: LogLine[] }> {
  const app = await buildApp(loadConfig({ WORKERS: '1', PORT: '0', LOG_LEVEL: 'error' }));
  const lines: LogLine[] = [];
  // The app's pino logger writes to this stream instead of stdout; each request's logger is its child.
  (app.log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${String(address)}`);
  return { app, base: `http://127.0.0.1:${address.port}`, lines };
}

/** A bug on the worker, as the pool reports it: an Error carrying the worker's stack. */
function workerBug(): Error {
  const error = new RangeError(SECRET);
  error.stack = `RangeError: ${SECRET}\n    at diag (src/engine/ops/shape.ts:1:1)`;
  return error;
}

t.test('the pool reports a bug on a worker as an Error with the worker\'s message and stack, not as a problem', async (t) => {
  const pool = createWorkerPool(loadConfig({ WORKERS: '1', PORT: '0', LOG_LEVEL: 'silent' }));
  t.teardown(() => pool.close());
  // A chunk must start on a whole block: the library throws a RangeError for anything else.
  const error = await pool.sampleChunk({ program: 'rsample(normal(0, 1))', at: {}, n: 5000 }, 1, 10).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(error instanceof Error && !(error instanceof Problem), `an Error, not a Problem (got ${String(error)})`);
  t.match((error as Error).message, /a chunk of samples must be whole blocks within n: from 1, count 10/, 'the worker\'s message');
  t.match((error as Error).stack, /sampleChunkSync/, 'the worker\'s stack');
});

t.test('the library: an unexpected error is INTERNAL with a generic detail, the error itself its cause', async (t) => {
  const bug = new RangeError(SECRET);
  const problem = toProblem(bug);
  t.strictSame({ code: problem.code, status: problem.status }, { code: 'INTERNAL', status: 500 }, 'INTERNAL, 500');
  t.notMatch(problem.body.detail, /typed array/, 'the detail does not carry the message');
  t.equal(problem.cause, bug, 'the error is the cause');
  t.notMatch(JSON.stringify(problem), /typed array/, 'nor does the JSON');
  // compute's known problems are untouched.
  await t.rejects(compute('grad', { program: 'x +', at: { x: 1 } }), { code: 'PARSE_ERROR' }, 'a parse error is still itself');
});

/** What a request that met a bug got: its id, its status, and the problem it ends with (its body, a stream's last line, a batch item). */
interface Answer {
  readonly requestId: string;
  readonly status: number;
  readonly problem: unknown;
  /** The reply, when the problem is its body. */
  readonly reply?: Reply;
}

/** A path to a 500. */
interface InternalCase {
  readonly label: string;
  readonly send: (base: string) => Promise<Answer>;
  readonly status: number;
  /** What the error's log line carries beside the request id. */
  readonly context?: Record<string, unknown>;
}

const BODY = { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } };

const answerOf = (reply: Reply): Answer => ({ requestId: reply.headers.get('x-request-id') ?? '', status: reply.status, problem: reply.json, reply });

const CASES: InternalCase[] = [
  {
    label: 'a plain response',
    status: 500,
    send: async (base) => answerOf(await post(base, 'grad', BODY)),
  },
  {
    label: 'a sample, whose chunks fail',
    status: 500,
    send: async (base) => answerOf(await post(base, 'sample', { program: 'rsample(normal(mu, 1))', at: { mu: 0 }, n: 5000 })),
  },
  {
    label: 'an NDJSON stream\'s last line',
    status: 200,
    send: async (base) => {
      const response = await fetch(`${base}/v1/grad`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(BODY) });
      const lines = (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; error?: unknown });
      return { requestId: response.headers.get('x-request-id') ?? '', status: response.status, problem: lines.at(-1)?.type === 'error' ? lines.at(-1)!.error : lines.at(-1) };
    },
  },
  {
    label: 'a batch item',
    status: 200,
    context: { item: 1 },
    send: async (base) => {
      const reply = await post(base, 'batch', { requests: [{ endpoint: 'eval', program: 'x +', at: { x: 1 } }, { endpoint: 'grad', ...BODY }] });
      const results = (reply.json as { results?: { error?: unknown }[] } | undefined)?.results;
      return { requestId: reply.headers.get('x-request-id') ?? '', status: reply.status, problem: results?.[1]?.error ?? reply.json };
    },
  },
];

t.test('every path: a generic 500 naming the request id, and one error line in the log with the id, the message and the stack', async (t) => {
  const { app, base, lines } = await startLogged(t);
  app.workers.compute = async (endpoint) => {
    if (endpoint === 'eval') throw new Problem('PARSE_ERROR', 'a known problem is passed on as it is');
    throw workerBug();
  };
  app.workers.sampleChunk = async () => {
    throw workerBug();
  };
  for (const c of CASES) {
    const before = lines.length;
    const { requestId, status, problem, reply } = await c.send(base);
    t.equal(status, c.status, `${c.label}: status ${c.status}`);
    t.match(requestId, /^[0-9a-f-]{36}$/, `${c.label}: the response names its request id`);
    if (reply !== undefined) assertProblemReply(t, c.label, reply, { status: 500, code: 'INTERNAL', detail: [/unexpected error/] });
    t.match(problem, { status: 500, code: 'INTERNAL', detail: `an unexpected error; it has been logged with request id ${requestId}` }, `${c.label}: the problem names the request id`);
    t.notMatch(JSON.stringify(problem), /typed array|10000000000|RangeError|shape\.ts/, `${c.label}: nothing of the error reaches the client`);
    const errors = lines.slice(before).filter((l) => l.level >= 50);
    t.equal(errors.length, 1, `${c.label}: one error-level log line (got ${JSON.stringify(errors).slice(0, 300)})`);
    t.match(errors[0], { level: 50, reqId: requestId, msg: 'unexpected error', err: { message: SECRET, stack: /at diag/ }, ...c.context }, `${c.label}: logged with the request id, the message and the worker's stack`);
  }
  // The known problem in the batch is not logged as a bug.
  t.equal(lines.filter((l) => l.level >= 50).length, CASES.length, 'no other error lines');
});

t.test('WebSocket: a bug ends its message with a generic error naming the upgrade\'s request id, logged', async (t) => {
  const { app, base, lines } = await startLogged(t);
  app.workers.compute = async () => {
    throw workerBug();
  };
  const ws = await connectSocket(base);
  t.teardown(() => ws.socket.close());
  ws.send({ id: 'b', endpoint: 'grad', ...BODY });
  const answer = (await ws.until((m) => m.id === 'b')) as { type?: string; error?: { status?: number; code?: string; detail?: string } };
  const errors = lines.filter((l) => l.level >= 50);
  t.equal(errors.length, 1, 'one error-level log line');
  const requestId = errors[0]?.reqId ?? '(none)';
  t.match(answer, { type: 'error', error: { status: 500, code: 'INTERNAL', detail: `an unexpected error; it has been logged with request id ${requestId}` } }, 'generic, with the request id');
  t.notMatch(JSON.stringify(answer), /typed array/, 'nothing of the error reaches the client');
  t.match(errors[0], { messageId: 'b', err: { message: SECRET, stack: /at diag/ } }, 'logged with the message id, the message and the stack');
});
