/**
 * One validation on every path (issue 16): a bad body gets the same problem, byte for byte,
 * from `compute()`, over HTTP, as a WebSocket message and as a `/v1/batch` item (there with its
 * path inside the batch). The schema's refusals and those of what a schema cannot say alike.
 */
import t from 'tap';
import { Problem, compute, type ProblemBody } from '../../src/index.js';
import { connectSocket, post, startServer } from './harness.js';

const { base } = await startServer(t, { WORKERS: '1' });
const ws = await connectSocket(base);
t.teardown(() => ws.socket.close());

interface Case {
  readonly name: string;
  readonly endpoint: string;
  readonly body: Record<string, unknown>;
  readonly status: number;
  readonly path: string;
}

const at = { x: 0.5 };
const cases: Case[] = [
  { name: 'an unknown field', endpoint: 'grad', body: { program: 'x', at, bogus: 1 }, status: 400, path: '/bogus' },
  { name: 'a layout that does not exist', endpoint: 'eval', body: { program: 'x', at, options: { layout: 'diagonal' } }, status: 400, path: '/options/layout' },
  { name: 'an option of another endpoint', endpoint: 'grad', body: { program: 'x', at, options: { format: 'dot' } }, status: 400, path: '/options/format' },
  { name: 'tangents that are a number', endpoint: 'jvp', body: { program: 'x', at, tangents: 3 }, status: 400, path: '/tangents' },
  { name: 'a program that is a number', endpoint: 'hessian', body: { program: 5, at }, status: 400, path: '/program' },
  { name: 'a negative seed', endpoint: 'eval', body: { program: 'x', at, seed: -1 }, status: 400, path: '/seed' },
  { name: 'a trace format that does not exist', endpoint: 'trace', body: { program: 'x', at, options: { format: 'png' } }, status: 400, path: '/options/format' },
  { name: 'n as a string', endpoint: 'sample', body: { program: 'x', at, n: '5' }, status: 400, path: '/n' },
  { name: 'gradcheck false', endpoint: 'check', body: { program: 'x^2', at, gradcheck: false }, status: 400, path: '/gradcheck' },
  { name: 'a check point that is a number', endpoint: 'check', body: { program: 'x^2', answer: { value: 'x^2' }, points: [3] }, status: 400, path: '/points/0' },
  { name: 'an empty answer', endpoint: 'check', body: { program: 'x^2', at, answer: {} }, status: 400, path: '/answer' },
  { name: 'optimize without steps', endpoint: 'optimize', body: { program: 'x^2', params: at, optimizer: { name: 'sgd' } }, status: 400, path: '/steps' },
  { name: 'an optimizer that does not exist', endpoint: 'optimize', body: { program: 'x^2', params: at, optimizer: { name: 'adamw' }, steps: 1 }, status: 400, path: '/optimizer/name' },
  { name: 'derivative with respect to two names', endpoint: 'derivative', body: { program: 'x * y', wrt: ['x', 'y'] }, status: 400, path: '/wrt' },
  { name: 'a graph node without "op"', endpoint: 'jacobian', body: { graph: { nodes: [{ id: 'z', args: ['x'] }], output: 'z' }, at }, status: 400, path: '/graph/nodes/0/op' },
  { name: 'neither program nor graph', endpoint: 'eval', body: { at }, status: 400, path: '' },
  { name: 'an input name with a space', endpoint: 'eval', body: { program: '1', at: { 'a b': 1 } }, status: 400, path: '/at/a b' },
  { name: '"wrt" naming no input', endpoint: 'grad', body: { program: 'x', at, wrt: ['y'] }, status: 422, path: '/wrt/0' },
];

let id = 0;
async function overWebSocket(endpoint: string, body: Record<string, unknown>): Promise<unknown> {
  const mine = `m${++id}`;
  ws.send({ id: mine, endpoint, ...body });
  const answer = await ws.until((m) => m.id === mine && (m.type === 'error' || m.type === 'result'));
  return answer.type === 'error' ? answer.error : answer;
}

async function fromLibrary(endpoint: string, body: unknown): Promise<unknown> {
  try {
    return await compute(endpoint, body);
  } catch (e) {
    return e instanceof Problem ? e.body : e;
  }
}

for (const c of cases) {
  t.test(`${c.endpoint}: ${c.name}`, async (t) => {
    const library = (await fromLibrary(c.endpoint, c.body)) as ProblemBody;
    t.match(library, { status: c.status, path: c.path }, `compute(): ${library.code} ${library.detail}`);
    const http = await post(base, c.endpoint, c.body);
    t.strictSame({ status: http.status, body: http.json }, { status: c.status, body: library }, 'HTTP: the same problem');
    t.strictSame(await overWebSocket(c.endpoint, c.body), library, 'WebSocket: the same problem');
    const inBatch = { ...library, path: `/requests/0${library.path}` };
    const batch = { requests: [{ endpoint: c.endpoint, ...c.body }] };
    t.strictSame(((await post(base, 'batch', batch)).json as { results: unknown[] }).results, [{ error: inBatch }], 'a /v1/batch item: the same problem, its path in the batch');
    t.strictSame(((await compute('batch', batch)) as { results: unknown[] }).results, [{ error: inBatch }], 'a batch item in compute(): the same');
  });
}
