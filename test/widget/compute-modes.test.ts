/**
 * Where the elements compute (the `compute` attribute, issue 18), in Chromium. On a plain static
 * host with no service (a node:http server holding the files of dist/widget/, as bundleWidget
 * makes them, and the page), every element with compute="local" draws its results computed in the
 * browser, says so in its badge, and asks no service anything. With the default, auto, the same
 * elements on a page of the running service are computed by it (the badge names its host; local
 * mode's module is never loaded) with the same bytes in every `adjoint-result`; with no service
 * (a static host's 404, nothing listening at `api`) they fall back to the browser, again with the
 * same bytes. From a course page on another origin under a Content-Security-Policy, local mode
 * works with 'unsafe-eval' and `worker-src blob: <origin>`, and says what failed without either. A
 * runaway program is stopped by its budget while the page keeps running, and Stop terminates the
 * local engine's worker.
 */
import { createServer } from 'node:http';
import type { Page, Worker } from 'playwright-core';
import t, { type Test } from 'tap';
import { compute } from '../../src/index.js';
import { bundleWidget } from '../../src/server/widget-assets.js';
import { file } from '../../scripts/paths.js';
import { RECORD_EVENTS, pageHtml, part, ready, recordedEvents, tag, until, violations, withBrowser, type RecordedEvent } from './browser.js';

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', map: 'application/json', html: 'text/html; charset=utf-8', css: 'text/css' };

/**
 * A plain static host: `files` by path (add pages to it later), any origin allowed to load them,
 * `headers` sent with the paths they name; every other path a 404 (`/healthz` and `/v1/*` too).
 */
async function staticHost(files: Map<string, Buffer | string>, headers = new Map<string, Record<string, string>>()): Promise<string> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const found = files.get(path);
    if (found === undefined || request.method !== 'GET') response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    else {
      const type = TYPES[path.replace(/^.*\./, '')] ?? 'application/octet-stream';
      response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'access-control-allow-origin': '*', ...headers.get(path) }).end(found);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the static host has no port');
  return `http://127.0.0.1:${address.port}`;
}

/** Every element, each started at once; `attributes` added to each. */
const everyElement = (attributes: Record<string, string> = {}): string =>
  [
    tag('adjoint-grad', { id: 'grad', loading: 'eager', ...attributes }),
    tag('adjoint-trace', { id: 'trace', loading: 'eager', ...attributes }),
    tag('adjoint-sample', { id: 'sample', loading: 'eager', n: 2000, ...attributes }),
    // Momentum: no power in its step (adam's bias corrections take one, and Math.pow may differ between V8 versions).
    tag('adjoint-optimize', { id: 'optimize', loading: 'eager', optimizer: 'momentum', lr: 0.001, steps: 200, every: 10, ...attributes }),
    tag('adjoint-check', { id: 'check', loading: 'eager', ...attributes }),
  ].join('\n');
const IDS = ['grad', 'trace', 'sample', 'optimize', 'check'] as const;

/** Waits for every element's first result, grades a right answer in adjoint-check, and returns each element's last `adjoint-result` as JSON text. */
async function results(t: Test, page: Page): Promise<Record<string, string>> {
  for (const id of IDS) await ready(page.locator(`#${id}`), 60_000);
  const check = page.locator('#check');
  await part(check, 'answer').fill('2*x*cos(x^2)');
  await part(check, 'submit').click();
  await check.locator('[part~="verdict"][data-verdict="pass"]').waitFor({ timeout: 20_000 });
  // The contours and the path come after the optimiser's result: wait for them, so nothing is in flight.
  await part(page.locator('#optimize'), 'contours').locator('path.path[data-points]').waitFor({ timeout: 30_000 });
  const events = await recordedEvents(page);
  t.strictSame(events.filter((e) => e.type === 'adjoint-error'), [], 'no adjoint-error');
  const last = (id: string): RecordedEvent | undefined => events.filter((e) => e.type === 'adjoint-result' && e.id === id).at(-1);
  return Object.fromEntries(IDS.map((id) => [id, JSON.stringify(last(id)?.detail ?? null)]));
}

/** Every element's badge: where it says the element computed, and its text. */
const badges = (page: Page): Promise<{ where: string | null; text: string | null }[]> =>
  Promise.all(IDS.map(async (id) => {
    const badge = part(page.locator(`#${id}`), 'badge');
    return { where: await badge.getAttribute('data-where'), text: await badge.textContent() };
  }));

/** The URLs the page asks for, as they are asked. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}

const RUNAWAY = 'z = 0\nwhile true\n  z = z + x * y\nend\nz';
/** Counts a 10 ms timer's ticks from the page's start: a page whose main thread is blocked does not tick. */
const TICKS = 'window.__ticks = 0; setInterval(() => window.__ticks++, 10);';

await withBrowser(t, { WORKERS: '2' }, async (session) => {
  const files = new Map<string, Buffer | string>();
  for (const [name, bytes] of await bundleWidget(file('src/widget'))) files.set(`/widget/${name}`, bytes);
  const host = await staticHost(files);
  const script = `${host}/widget/adjoint.js`;
  files.set('/local.html', pageHtml(everyElement({ compute: 'local' }), script, 'compute="local" on a static host'));
  files.set('/auto.html', pageHtml([tag('adjoint-grad', { id: 'static', loading: 'eager' }), tag('adjoint-grad', { id: 'down', loading: 'eager', api: 'http://127.0.0.1:9' })].join('\n'), script, 'auto with no service'));
  files.set('/runaway.html', pageHtml(tag('adjoint-grad', { id: 'runaway', loading: 'eager', compute: 'local', program: RUNAWAY, inputs: { x: 1, y: 2 } }), script, 'a runaway'));
  // A course page on another origin, under a policy with and without 'unsafe-eval': local mode's worker starts from a blob: URL there, under the page's policy.
  const coursePages = new Map<string, Buffer | string>();
  const policies = new Map<string, Record<string, string>>();
  const course = await staticHost(coursePages, policies);
  const localGrad = tag('adjoint-grad', { id: 'g', loading: 'eager', compute: 'local' });
  // The worker's own imports are governed by worker-src (a module worker fetches its whole graph as a worker).
  for (const [path, scripts, workers] of [['/eval.html', `${host} 'unsafe-eval'`, `blob: ${host}`], ['/no-eval.html', host, `blob: ${host}`], ['/blob-only.html', `${host} 'unsafe-eval'`, 'blob:']] as const) {
    coursePages.set(path, pageHtml(localGrad, script, 'a course page under a CSP'));
    policies.set(path, { 'content-security-policy': `default-src 'self'; script-src 'self' ${scripts}; worker-src ${workers}; style-src 'self'` });
  }
  files.set('/stop.html', pageHtml(tag('adjoint-optimize', { id: 'o', loading: 'eager', compute: 'local', preset: 'iris', steps: 1_000_000, every: 20 }), script, 'stop'));

  let local: Record<string, string> = {};

  await session.test('compute="local" on a static host with no service: every element computes in the browser and asks no service', { init: RECORD_EVENTS }, async (t, { page }) => {
    const asked = recordRequests(page);
    await page.goto(`${host}/local.html`);
    local = await results(t, page);
    t.strictSame(await badges(page), IDS.map(() => ({ where: 'local', text: 'computed in your browser' })), 'each badge says "computed in your browser"');
    t.strictSame(asked.filter((url) => /\/v1\/|\/healthz/.test(url)), [], 'no request to a service, not even /healthz');
    t.ok(asked.includes(`${host}/widget/adjoint-local.js`), 'local mode\'s module was loaded');
    const program = await page.locator('#grad').evaluate((el) => el.program as string);
    t.equal(local.grad, JSON.stringify(await compute('grad', { program, at: { x: 0.5 } })), "<adjoint-grad>'s result is compute's in Node.js, byte for byte");
  });

  await session.test('auto, the service up: computed by it, the badge names its host, nothing of local mode loaded, the same bytes as in the browser', { init: RECORD_EVENTS, html: session.html(everyElement()) }, async (t, { page }) => {
    const served = await results(t, page);
    // Everything the page loaded or fetched, from its start (the test's handlers come after the page was opened).
    const asked = (await page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")) as string[];
    const { host: serviceHost } = new URL(session.server.base);
    t.strictSame(await badges(page), IDS.map(() => ({ where: 'service', text: `computed by ${serviceHost}` })), `each badge says "computed by ${serviceHost}"`);
    t.strictSame(asked.filter((url) => url.includes('adjoint-local')), [], 'no file of local mode asked for');
    t.ok(asked.filter((url) => url.endsWith('/healthz')).length <= 1, '/healthz asked at most once for the page');
    for (const id of IDS) t.equal(served[id], local[id], `<adjoint-${id}>: the service's result is the browser's, byte for byte`);
  });

  await session.test('auto with no service (a static host\'s 404 at /healthz; nothing listening at api): computed in the browser, the same bytes', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/Failed to load resource|ERR_CONNECTION_REFUSED/);
    await page.goto(`${host}/auto.html`);
    for (const id of ['static', 'down']) {
      const element = page.locator(`#${id}`);
      await ready(element);
      t.equal(await part(element, 'badge').getAttribute('data-where'), 'local', `#${id}: computed in the browser`);
      t.equal(await part(element, 'badge').textContent(), 'computed in your browser', `#${id}: and says so`);
    }
    const events = await recordedEvents(page);
    t.strictSame(events.filter((e) => e.type === 'adjoint-error'), [], 'no adjoint-error');
    for (const id of ['static', 'down']) t.equal(JSON.stringify(events.find((e) => e.type === 'adjoint-result' && e.id === id)?.detail), local.grad, `#${id}: the same bytes`);
  });

  await session.test("from another origin under a Content-Security-Policy: local mode works with 'unsafe-eval' and worker-src blob: <origin>, and says what failed without either", { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    await page.goto(`${course}/eval.html`);
    await ready(page.locator('#g'));
    t.equal(JSON.stringify((await recordedEvents(page)).find((e) => e.type === 'adjoint-result')?.detail), local.grad, "with 'unsafe-eval': the same bytes");
    t.strictSame(await violations(page), [], 'no violation');
    allow(/unsafe-eval|Refused to evaluate|EvalError/);
    await page.goto(`${course}/no-eval.html`);
    const element = page.locator('#g');
    await part(element, 'error').waitFor({ state: 'visible', timeout: 20_000 });
    const text = (await part(element, 'error').textContent()) ?? '';
    t.match(text, /^Computing in this browser failed: .*unsafe-eval/, `the element says so: "${text}"`);
    t.equal(await part(element, 'retry').isVisible(), true, 'with a retry');
    await page.goto(`${course}/blob-only.html`);
    await part(element, 'error').waitFor({ state: 'visible', timeout: 20_000 });
    const refused = (await part(element, 'error').textContent()) ?? '';
    t.match(refused, /^Computing in this browser failed: the local engine could not be loaded from .*adjoint-local-worker\.js$/, `worker-src without the origin: "${refused}"`);
  });

  await session.test('a runaway program computed locally is stopped by its budget while the page keeps running', { init: RECORD_EVENTS + TICKS }, async (t, { page }) => {
    await page.goto(`${host}/runaway.html`);
    const element = page.locator('#runaway');
    const started = await page.evaluate('performance.now()') as number;
    await part(element, 'error').waitFor({ state: 'visible', timeout: 30_000 });
    const [now, ticks] = await page.evaluate('[performance.now(), window.__ticks]') as [number, number];
    const error = await recordedEvents(page).then((events) => events.find((e) => e.type === 'adjoint-error' && e.id === 'runaway'));
    t.match(error?.detail, { code: 'LIMIT_EXCEEDED', status: 422 }, `a limit: ${String(error?.detail?.detail)}`);
    t.match(await part(element, 'error').textContent(), /limit/i, 'the element says so');
    t.equal(await element.getAttribute('data-state'), 'error');
    t.ok(ticks >= now / 10 / 4, `the page's timer ticked ${ticks} times in ${Math.round(now)} ms (${Math.round(now - started)} ms of them computing)`);
  });

  await session.test('Stop terminates the local evaluation: its worker is ended and the curve stops', {}, async (t, { page }) => {
    const closed: string[] = [];
    const watch = (worker: Worker): unknown => worker.on('close', () => closed.push(worker.url()));
    page.on('worker', watch);
    await page.goto(`${host}/stop.html`);
    const element = page.locator('#o');
    const curve = part(element, 'curve').locator('path[data-points]');
    const pointsNow = async (): Promise<number> => Number((await curve.getAttribute('data-points')) ?? 0);
    const first = await until('the curve to start', async () => ((await pointsNow()) >= 3 ? pointsNow() : undefined), 30_000);
    const later = await until('the curve to grow', async () => ((await pointsNow()) > first ? pointsNow() : undefined), 30_000);
    t.ok(later > first, `the curve grew from ${first} to ${later} points, streamed from the worker`);
    t.equal(await part(element, 'badge').getAttribute('data-where'), 'local');
    t.strictSame(closed, [], 'no worker ended yet');
    await part(element, 'stop').click();
    await until('the worker to end', async () => (closed.length > 0 ? true : undefined), 5000);
    t.pass(`the worker was terminated (${closed.join(', ')})`);
    t.equal(await element.getAttribute('data-state'), 'stopped', 'the element says stopped');
    t.equal(await part(element, 'error').isHidden(), true, 'a stop is not an error');
    const shown = await pointsNow();
    await page.waitForTimeout(500);
    t.equal(await pointsNow(), shown, 'the curve grows no more');
  });
});
