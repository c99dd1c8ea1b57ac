/**
 * Local mode in Chromium (issue 18): `adjoint-local.js` and its worker, bundled by the server's
 * own `bundleWidget` and served as plain static files with no API at all, compute in the page
 * what the service would answer, byte for byte the JSON `compute` gives here (the widgets'
 * requests, the lab's, PyTorch's vectors, an SVG trace through the lazily loaded Graphviz chunk,
 * problems); stream `sample` and `optimize`; stop a runaway program by its budget while the page
 * keeps running; stop an evaluation when its signal aborts, by terminating its worker. The module
 * also loads from another origin (a worker started through a module of the page's own).
 */
import { createServer } from 'node:http';
import type { Page, Worker } from 'playwright-core';
import t from 'tap';
import { compute } from '../../src/index.js';
import { bundleWidget } from '../../src/server/widget-assets.js';
import { file } from '../../scripts/paths.js';
import { runnable } from '../oracle-cases.js';
import { INSTALL_HINT, findChromium, launchChromium } from './browser.js';

/** A plain static file server (no API routes): `files` by path; with `cors`, any origin may load them. */
async function staticFiles(files: Map<string, { type: string; bytes: Buffer | string }>, cors: boolean): Promise<string> {
  const server = createServer((request, response) => {
    const found = files.get((request.url ?? '/').split('?')[0]);
    if (found === undefined) response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    else response.writeHead(200, { 'content-type': found.type, ...(cors ? { 'access-control-allow-origin': '*' } : {}) }).end(found.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the static server has no port');
  return `http://127.0.0.1:${address.port}`;
}

/** The page's side, run in it: `local(endpoint, body, stream)` is `localCompute`'s answer as JSON text, or the problem's, with a stream's messages. */
const pageScript = (module: string): string => `
const { localCompute, LocalProblem } = await import(${JSON.stringify(module)});
window.local = async ([endpoint, body, stream]) => {
  const messages = [];
  try {
    const result = await localCompute(endpoint, body, stream ? { onMessage: (m) => messages.push(m) } : {});
    return { json: JSON.stringify(result), messages };
  } catch (e) {
    if (!(e instanceof LocalProblem)) throw e;
    return { json: JSON.stringify(e.body), status: e.status, messages };
  }
};
/** A request run while a timer ticks every 10 ms: the ticks counted show whether the page kept running. */
window.ticking = async ([endpoint, body]) => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = performance.now();
  const answer = await window.local([endpoint, body, false]);
  clearInterval(timer);
  return { ...answer, ticks, ms: performance.now() - started };
};
/** A request aborted after waitMs: how long the rejection took, and its error's name. */
window.aborted = async ([endpoint, body, waitMs]) => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), waitMs);
  const started = performance.now();
  try {
    await localCompute(endpoint, body, { signal: controller.signal });
    return { name: 'resolved' };
  } catch (e) {
    return { name: e.name, ms: performance.now() - started - waitMs };
  }
};
window.ready = true;
`;

/** What the service answers for a request, as JSON text: the result or the problem. */
async function expected(endpoint: string, body: unknown): Promise<string> {
  try {
    return JSON.stringify(await compute(endpoint, body));
  } catch (e) {
    return JSON.stringify((e as { body: unknown }).body);
  }
}

interface Answer {
  json: string;
  status?: number;
  messages: Record<string, unknown>[];
}

const ROSENBROCK = '(1 - x)^2 + 100 * (y - x^2)^2';
/** Seconds of matrix products, within every budget but time's. */
const LONG = 'A = ones(500, 500) / 500\nfor i = 1:150\n  A = A * A\nend\nsum(A)';
const LAB_LOOP = 'z = 1; for i = 0:1 z = (z + i) * x * x end; z';

/** The widgets' first requests, the lab's, and problems: each compared byte for byte. */
const requests: { name: string; endpoint: string; body: unknown; todo?: string }[] = [
  { name: "<adjoint-grad>'s default", endpoint: 'grad', body: { program: LAB_LOOP, at: { x: 0.5 } } },
  { name: "<adjoint-grad>'s plot", endpoint: 'batch', body: { requests: [-1.5, -0.5, 0.5, 1.5].map((x) => ({ endpoint: 'eval', body: { program: LAB_LOOP, at: { x } } })) } },
  { name: "<adjoint-trace>'s table", endpoint: 'trace', body: { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 }, tangents: { x: 1, y: 0 }, options: { format: 'table' } } },
  { name: 'a trace drawn as SVG (Graphviz, loaded on first use)', endpoint: 'trace', body: { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 }, options: { format: 'svg' } } },
  { name: "<adjoint-sample>'s pathwise run", endpoint: 'sample', body: { program: 'z = rsample(normal(mu, sigma))\nz^2', at: { mu: 0.5, sigma: 1.5 }, n: 5000, seed: 7, options: { estimator: 'reparam' } } },
  { name: "<adjoint-optimize>'s Rosenbrock", endpoint: 'optimize', body: { program: ROSENBROCK, params: { x: -1.5, y: 2 }, optimizer: { name: 'adam', lr: 0.1 }, steps: 1000, every: 5 } },
  { name: "<adjoint-check>'s question", endpoint: 'check', body: { program: 'sin(x^2)', answer: { grad: { x: '2*x*cos(x^2)' } }, wrt: ['x'], random: { n: 20, ranges: { x: [-2, 2] } }, seed: 1 } },
  { name: 'a symbolic derivative', endpoint: 'derivative', body: { program: 'x^2 * sin(x)', wrt: ['x'] } },
  { name: 'a symbolic derivative with powers that are not integers', endpoint: 'derivative', body: { program: 'x^2.5 * sin(x) + x^(1/3) / x^0.7', wrt: ['x'] } },
  { name: 'a Hessian', endpoint: 'hessian', body: { program: 'x^2 * y + exp(x * y)', at: { x: 0.3, y: -0.7 } } },
  { name: 'a parse error, at its line and column', endpoint: 'grad', body: { program: 'y = 1\nz = x +* 2', at: { x: 1 } } },
  { name: "a body its schema refuses", endpoint: 'grad', body: { program: 'x', at: { x: 1 }, colour: 'red' } },
  { name: 'while true, stopped by the iteration budget', endpoint: 'eval', body: { program: 'z = 0\nwhile true\n  z = z + 1\nend\nz' } },
  { name: 'no such endpoint', endpoint: 'integrate', body: { program: 'x' } },
];

async function run(executable: string): Promise<void> {
  const bundled = await bundleWidget(file('src/widget'));
  const widget = new Map<string, { type: string; bytes: Buffer | string }>();
  for (const [name, bytes] of bundled) if (name.startsWith('adjoint-local')) widget.set(`/widget/${name}`, { type: name.endsWith('.js') ? 'text/javascript' : 'application/json', bytes });
  const html = (module: string): string => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>local mode</title><script type="module">${pageScript(module)}</script></head><body></body></html>`;
  const home = await staticFiles(new Map([...widget, ['/page.html', { type: 'text/html', bytes: html('./widget/adjoint-local.js') }]]), false);
  const elsewhere = await staticFiles(widget, true);
  const course = await staticFiles(new Map([['/page.html', { type: 'text/html', bytes: html(`${elsewhere}/widget/adjoint-local.js`) }]]), false);

  const browser = await launchChromium(executable);
  t.teardown(() => browser.close());
  const pageErrors: string[] = [];
  const open = async (url: string): Promise<Page> => {
    const context = await browser.newContext();
    t.teardown(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction('window.ready === true');
    return page;
  };
  const call = <T>(page: Page, name: string, args: unknown[]): Promise<T> => page.evaluate(`window.${name}(${JSON.stringify(args)})`) as Promise<T>;

  const page = await open(`${home}/page.html`);

  t.test('the local module answers byte for byte as compute does, from plain static files', async (t) => {
    for (const { name, endpoint, body, todo } of requests) {
      const answer = await call<Answer>(page, 'local', [endpoint, body, false]);
      t.equal(answer.json, await expected(endpoint, body), name, todo === undefined ? {} : { todo });
    }
  });

  t.test("PyTorch's vectors' requests, byte for byte", async (t) => {
    t.ok(runnable.length >= 40, `${runnable.length} cases`);
    for (const c of runnable) t.equal((await call<Answer>(page, 'local', [c.endpoint, c.request, false])).json, await expected(c.endpoint, c.request), c.name);
  });

  t.test("streams: sample's chunks and optimize's progress, then compute's result", async (t) => {
    const sample = requests.find((r) => r.endpoint === 'sample')!;
    const sampled = await call<Answer>(page, 'local', [sample.endpoint, sample.body, true]);
    t.equal(sampled.json, await expected(sample.endpoint, sample.body), 'the streamed sample ends with the result');
    t.ok(sampled.messages.length > 1 && sampled.messages.every((m) => m.type === 'samples'), `${sampled.messages.length} samples messages`);
    t.equal(sampled.messages.at(-1)!.done, 5000, 'the last says all 5000 are done');
    const optimize = requests.find((r) => r.endpoint === 'optimize')!;
    const optimized = await call<Answer>(page, 'local', [optimize.endpoint, optimize.body, true]);
    t.equal(optimized.json, (await call<Answer>(page, 'local', [optimize.endpoint, optimize.body, false])).json, "the streamed optimize ends with the unstreamed one's result");
    t.equal(optimized.json, await expected(optimize.endpoint, optimize.body), "and with compute's", { todo: optimize.todo });
    t.equal(optimized.messages.filter((m) => m.type === 'progress').length, 200, 'a progress message every 5 of 1000 steps');
  });

  t.test('a runaway program is stopped by the time budget while the page keeps running', async (t) => {
    const body = { program: LONG, options: { timeoutMs: 400 } };
    const answer = await call<Answer & { ticks: number; ms: number }>(page, 'ticking', ['eval', body]);
    const problem = JSON.parse(answer.json) as Record<string, unknown>;
    t.equal(answer.status, 422, 'a 4xx problem');
    t.match(problem, { code: 'LIMIT_EXCEEDED', limit: 'time' }, `the time limit: ${String(problem.detail)}`);
    t.ok(answer.ticks >= answer.ms / 10 / 4, `the page's timer ticked ${answer.ticks} times in ${Math.round(answer.ms)} ms`);
  });

  t.test('aborting stops the evaluation: its worker is terminated, and the next request gets a fresh one', async (t) => {
    const closed: string[] = [];
    const watch = (worker: Worker): unknown => worker.on('close', () => closed.push(worker.url()));
    page.workers().forEach(watch);
    page.on('worker', watch);
    const long = { program: LONG };
    const outcome = await call<{ name: string; ms: number }>(page, 'aborted', ['eval', long, 300]);
    t.equal(outcome.name, 'AbortError', 'the promise rejects with the signal\'s reason');
    t.ok(outcome.ms < 500, `${Math.round(outcome.ms)} ms after the abort`);
    for (let waited = 0; closed.length === 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    t.ok(closed.length >= 1, `a worker was terminated (${closed.length} closed; ${page.workers().length} open)`);
    const next = requests[0];
    t.equal((await call<Answer>(page, 'local', [next.endpoint, next.body, false])).json, await expected(next.endpoint, next.body), 'the next request is answered');
  });

  t.test('the module loads from another origin: its worker starts from a module of the page', async (t) => {
    const other = await open(`${course}/page.html`);
    for (const { name, endpoint, body } of requests.slice(0, 3)) t.equal((await call<Answer>(other, 'local', [endpoint, body, false])).json, await expected(endpoint, body), name);
  });

  t.test('no uncaught error in the pages', async (t) => {
    t.strictSame(pageErrors, []);
  });
}

const executable = findChromium();
if (executable === null) {
  if (process.env.CI === 'true') t.fail(`no Chromium found: CI must run the browser tests; install it with ${INSTALL_HINT}`);
  else t.plan(0, `no Chromium: local mode's browser tests need it; install it with ${INSTALL_HINT}`);
} else {
  await run(executable);
}
