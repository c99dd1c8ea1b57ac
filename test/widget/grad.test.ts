/**
 * <adjoint-grad> in Chromium against the real service: the value and gradient it shows are
 * `/v1/grad`'s at the point its sliders show (full precision, in data-value and data-<input>),
 * whether moved by the keyboard or typed in the number box; fifty moves in a burst send a
 * couple of requests, never more than one at a time, and end on the last value; a program's
 * syntax error is shown at the line and column the service gives; malformed attributes are
 * shown inside the element with an `adjoint-error`, never as a page error; a service that is
 * down, over its rate (429) or busy (503) is shown as such, with a retry that asks again; one
 * with API_KEYS works with `api-key`, and without it says to set it (no retry: it would get
 * the same 401); an element below the fold shows a bad attribute at once, and asks the service
 * nothing until it is scrolled into view.
 */
import t, { type Test } from 'tap';
import type { Locator, Page } from 'playwright-core';
import { fetch } from 'undici';
import { metricValue, send, startServer, untilBusy, waitFor } from '../server/harness.js';
import { RECORD_EVENTS, api, pageHtml, part, ready, recordedEvents, tag, until, withBrowser, type Session } from './browser.js';

interface Grad {
  value: number;
  grad: Record<string, number>;
}

/** The numbers the element shows: data-value and each input's partial. */
async function shown(host: Locator, names: string[]): Promise<{ value: number; grad: Record<string, number> }> {
  const gradient = part(host, 'gradient');
  const grad: Record<string, number> = {};
  for (const name of names) grad[name] = Number(await gradient.getAttribute(`data-${name}`));
  return { value: Number(await part(host, 'value').getAttribute('data-value')), grad };
}

/**
 * Waits until the element shows `/v1/grad`'s answer for the point its number boxes hold, and
 * checks it number for number; returns that point.
 */
async function showsServiceAt(t: Test, session: Session, host: Locator, program: string, names: string[], label: string): Promise<Record<string, number>> {
  const at: Record<string, number> = {};
  for (const name of names) at[name] = Number(await part(host, `number-${name}`).inputValue());
  const oracle = await api<Grad>(session.server.base, 'grad', { program, at });
  t.equal(oracle.status, 200, `${label}: /v1/grad answers at ${JSON.stringify(at)}`);
  // The attribute selector waits for the exact string the widget writes: String of the same double.
  await host.locator(`[part~="value"][data-value="${String(oracle.body.value)}"]`).waitFor({ timeout: 20_000 });
  const numbers = await shown(host, names);
  t.strictSame(numbers, { value: oracle.body.value, grad: oracle.body.grad }, `${label}: value and gradient are /v1/grad's at ${JSON.stringify(at)}`);
  return at;
}

/** Requests the page sends to the API, counted with the most ever in flight at once. */
function countRequests(page: Page): { readonly sent: number; readonly maxInFlight: number; readonly inFlight: number; reset(): void } {
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const isApi = (url: string): boolean => /\/v1\//.test(url);
  page.on('request', (r) => {
    if (!isApi(r.url())) return;
    sent++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
  });
  const settled = (r: { url(): string }): void => {
    if (isApi(r.url())) inFlight--;
  };
  page.on('requestfinished', settled);
  page.on('requestfailed', settled);
  return {
    get sent() {
      return sent;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    reset() {
      sent = 0;
      maxInFlight = inFlight;
    },
  };
}

/** Clicks the element's retry button, which must be visible, and waits for the request it sends and the answer shown. */
async function retried(t: Test, host: Locator, requests: ReturnType<typeof countRequests>, label: string): Promise<void> {
  const retry = part(host, 'retry');
  t.equal(await retry.isVisible(), true, `${label}: a retry button`);
  await until('nothing in flight', async () => (requests.inFlight === 0 ? true : undefined));
  const sent = requests.sent;
  await retry.click();
  await until(`${label}: the retry's request`, async () => (requests.sent > sent ? true : undefined));
  await part(host, 'error').waitFor({ state: 'visible', timeout: 20_000 });
  await until(`${label}: the retry answered`, async () => (requests.inFlight === 0 ? true : undefined));
  t.pass(`${label}: retry asked again, and the element says so again`);
}

await withBrowser(t, {}, async (session) => {
  const LOOP = 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz';

  await session.test('the default element: the lab loop x⁴ + x² at 0.5, its curve and tangent', { html: session.html(tag('adjoint-grad', { id: 'g' })) }, async (t, { page }) => {
    const host = page.locator('#g');
    await ready(host);
    const at = await showsServiceAt(t, session, host, LOOP, ['x'], 'default');
    t.strictSame(at, { x: 0.5 }, 'starts at x = 0.5');
    // Closed forms: f = x⁴ + x², f' = 4x³ + 2x.
    t.equal(Number(await part(host, 'value').getAttribute('data-value')), 0.5 ** 4 + 0.5 ** 2, 'f(0.5) = 0.3125');
    t.equal(Number(await part(host, 'gradient').getAttribute('data-x')), 4 * 0.5 ** 3 + 2 * 0.5, "f'(0.5) = 1.5");
    t.equal(await part(host, 'plot').isVisible(), true, 'one scalar input: the plot is drawn');
    t.equal(await part(host, 'plot').locator('path.curve').count(), 1, 'with the curve');
    t.equal(await part(host, 'editor').inputValue(), LOOP, 'the editor holds the program');
    t.equal(await part(host, 'error').isHidden(), true, 'no error shown');
    t.match(await part(host, 'readout').textContent(), /1\.5/, 'the aria-live readout speaks the gradient');
    t.equal(await part(host, 'readout').getAttribute('aria-live'), 'polite', 'the readout is a live region');
  });

  const program = 'x * y + sin(x)';
  const attributes = { id: 'g', program, inputs: { x: 0.5, y: 4.2 }, ranges: { x: [-3, 3], y: [-5, 5] } };

  await session.test('two inputs: moved by the keyboard and by typing, the numbers follow /v1/grad', { html: session.html(tag('adjoint-grad', attributes)) }, async (t, { page }) => {
    const host = page.locator('#g');
    await ready(host);
    await showsServiceAt(t, session, host, program, ['x', 'y'], 'at first');
    t.equal(await part(host, 'plot').isVisible(), false, 'two inputs: no plot');

    const slider = part(host, 'slider-x');
    t.equal(await slider.getAttribute('type'), 'range', 'slider-x is a range input');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    const moved = Number(await slider.inputValue());
    t.ok(moved > 0.5, `ArrowRight moves x up (to ${moved})`);
    t.equal(Number(await part(host, 'number-x').inputValue()), moved, 'the number box follows the slider');
    await showsServiceAt(t, session, host, program, ['x', 'y'], 'after ArrowRight');

    await part(host, 'number-y').fill('-1.25');
    t.equal(Number(await part(host, 'slider-y').inputValue()), -1.25, 'the slider follows the number box');
    const at = await showsServiceAt(t, session, host, program, ['x', 'y'], 'after fill');
    t.equal(at.y, -1.25, 'at the typed y');
    t.strictSame(JSON.parse((await host.getAttribute('inputs')) ?? 'null'), at, 'the inputs attribute follows');
  });

  await session.test('fifty moves in a burst: a couple of requests, one at a time, ending on the last value', { html: session.html(tag('adjoint-grad', attributes)) }, async (t, { page }) => {
    const host = page.locator('#g');
    await ready(host);
    const requests = countRequests(page);
    // Fifty input events in one task, as a fast drag delivers them between two answers.
    const values = Array.from({ length: 50 }, (_, i) => Math.round((-2.5 + i * 0.1) * 1000) / 1000);
    await part(host, 'slider-x').evaluate((slider, vs) => {
      for (const v of vs) {
        slider.value = String(v);
        slider.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      }
    }, values);
    const at = await showsServiceAt(t, session, host, program, ['x', 'y'], 'after the burst');
    t.equal(at.x, values[values.length - 1], 'ends on the last value');
    await until('no request in flight', async () => (requests.inFlight === 0 ? true : undefined));
    t.ok(requests.sent <= 3, `the burst sent ${requests.sent} requests (the first move, then the latest): at most a handful`);
    t.equal(requests.maxInFlight, 1, 'never more than one in flight');

    // Fifty key presses, each its own task: as many requests as round trips fit, still one at a time.
    await part(host, 'number-y').fill('-4.5');
    await showsServiceAt(t, session, host, program, ['x', 'y'], 'y typed at the low end');
    await until('no request in flight', async () => (requests.inFlight === 0 ? true : undefined));
    requests.reset();
    await part(host, 'slider-y').focus();
    for (let i = 0; i < 50; i++) await page.keyboard.press(i % 2 === 0 ? 'ArrowRight' : 'ArrowUp');
    const last = await showsServiceAt(t, session, host, program, ['x', 'y'], 'after fifty key presses');
    t.ok(last.y > -4.5 && last.y < 5, `fifty presses moved y up to ${last.y}, within its range`);
    await until('no request in flight', async () => (requests.inFlight === 0 ? true : undefined));
    t.ok(requests.sent <= 50, `${requests.sent} requests for fifty presses: no queue`);
    t.equal(requests.maxInFlight, 1, 'never more than one in flight');
  });

  await session.test("a syntax error is shown at the service's line and column", { html: session.html(tag('adjoint-grad', { id: 'g', program: 'y = x^2\nz = y + * 3\nz', inputs: { x: 1 } })), init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/status of 422/);
    const host = page.locator('#g');
    const error = part(host, 'error');
    await error.waitFor({ state: 'visible', timeout: 20_000 });
    const problem = await api<{ line: number; column: number; detail: string; code: string }>(session.server.base, 'grad', { program: 'y = x^2\nz = y + * 3\nz', at: { x: 1 } });
    t.equal(problem.status, 422, 'the service refuses the program (422)');
    t.equal(problem.body.line, 2, 'on line 2');
    const text = (await error.textContent()) ?? '';
    t.match(text, `line ${problem.body.line}, column ${problem.body.column}`, `the element says line ${problem.body.line}, column ${problem.body.column}`);
    t.match(text, problem.body.detail, "with the service's message");
    t.equal(await part(host, 'editor').getAttribute('aria-invalid'), 'true', 'the editor is marked invalid');
    const events = await recordedEvents(page);
    const failed = events.find((e) => e.type === 'adjoint-error');
    t.match(failed, { tag: 'adjoint-grad', bubbles: true, composed: true, detail: { line: problem.body.line, column: problem.body.column, code: problem.body.code } }, 'adjoint-error carries the problem');

    // Corrected in the editor: the error goes and the numbers come.
    await part(host, 'editor').fill('y = x^2\nz = y + 3 * x\nz');
    await part(host, 'editor').press('Control+Enter');
    await error.waitFor({ state: 'hidden', timeout: 20_000 });
    const fixed = await api<Grad>(session.server.base, 'grad', { program: 'y = x^2\nz = y + 3 * x\nz', at: { x: 1 } });
    await host.locator(`[part~="value"][data-value="${fixed.body.value}"]`).waitFor({ timeout: 20_000 });
    t.equal(Number(await part(host, 'gradient').getAttribute('data-x')), fixed.body.grad.x, 'the corrected program: its gradient');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['inputs that is not JSON', { inputs: '{x: 0.5' }, /inputs.*not JSON/],
    ['a range with lo > hi', { inputs: { x: 0.5 }, ranges: { x: [3, -3] } }, /ranges.*lo must be less than hi/],
    ['an unknown theme', { theme: 'sepia' }, /theme="sepia" is not an option/],
  ];
  const badPage = bad.map(([, attrs], i) => tag('adjoint-grad', { id: `bad${i}`, ...attrs } as Record<string, string | object>)).join('\n') + tag('adjoint-grad', { id: 'good' });
  await session.test('bad attributes: a message in the element and adjoint-error, no page error', { html: session.html(badPage), init: RECORD_EVENTS }, async (t, { page }) => {
    await ready(page.locator('#good'));
    for (const [i, [label, , pattern]] of bad.entries()) {
      const host = page.locator(`#bad${i}`);
      const error = part(host, 'error');
      await error.waitFor({ state: 'visible', timeout: 10_000 });
      t.match(await error.textContent(), pattern, `${label}: the element says what is wrong`);
      t.equal(await part(host, 'retry').isHidden(), true, `${label}: no retry (asking again will not help)`);
    }
    const events = await until('an adjoint-error from each bad element', async () => {
      const all = await recordedEvents(page);
      return bad.every((_, i) => all.some((e) => e.type === 'adjoint-error' && e.id === `bad${i}`)) ? all : undefined;
    });
    for (const [i, [label]] of bad.entries()) {
      const event = events.find((e) => e.type === 'adjoint-error' && e.id === `bad${i}`);
      t.match(event, { bubbles: true, composed: true, detail: { code: 'INVALID_ATTRIBUTE' } }, `${label}: adjoint-error, bubbling and composed`);
    }
    t.ok(events.some((e) => e.type === 'adjoint-result' && e.id === 'good'), 'the good element on the same page still works');

    // Set right through the property, the element recovers.
    const host = page.locator('#bad1');
    await host.evaluate((el) => (el.ranges = { x: [-3, 3] }));
    await part(host, 'error').waitFor({ state: 'hidden', timeout: 20_000 });
    t.equal(await host.getAttribute('ranges'), '{"x":[-3,3]}', 'the ranges property is reflected to the attribute');
    await showsServiceAt(t, session, host, 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz', ['x'], 'fixed by its property');
  });
  await session.test('a service with API_KEYS: without api-key the element says to set it and asks no more; with it, it works', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/status of 40[13]|Failed to load resource/);
    const key = 'course-key-0123456789';
    const keyed = await startServer(t, { API_KEYS: key });
    const url = `${keyed.base}/test/keyed.html`;
    const html = pageHtml(tag('adjoint-grad', { id: 'keyed', 'api-key': key }) + tag('adjoint-grad', { id: 'nokey' }) + tag('adjoint-grad', { id: 'wrongkey', 'api-key': 'not-the-key-0123456789' }), `${keyed.base}/widget/adjoint.js`);
    await page.route(url, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
    const requests = countRequests(page);
    await page.goto(url);
    await ready(page.locator('#keyed'));
    await showsServiceAt(t, session, page.locator('#keyed'), LOOP, ['x'], 'api-key set: the service answers');

    for (const [id, pattern] of [
      ['nokey', /requires an API key \(401 UNAUTHORIZED\): set the element's api-key attribute/],
      ['wrongkey', /did not accept this element's api-key \(403 FORBIDDEN\).*Set the api-key attribute/],
    ] as const) {
      const host = page.locator(`#${id}`);
      await part(host, 'error').waitFor({ state: 'visible', timeout: 20_000 });
      t.match(await part(host, 'error').textContent(), pattern, `${id}: the element says to set api-key`);
      t.equal(await host.getAttribute('data-state'), 'error', `${id}: its state is error`);
      t.equal(await part(host, 'retry').isHidden(), true, `${id}: no retry (the same request would get the same 401)`);
    }
    await until('nothing in flight', async () => (requests.inFlight === 0 ? true : undefined));
    const sent = requests.sent;
    await page.waitForTimeout(1_500);
    t.equal(requests.sent, sent, 'after the 401s, no request is sent again by itself');
    const errors = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-error');
    t.ok(errors.some((e) => e.id === 'nokey' && (e.detail as { status?: number }).status === 401), 'adjoint-error carries the 401 problem');

    // The key set through the property: the element asks again, and works.
    const host = page.locator('#nokey');
    await host.evaluate((el, k) => (el.apiKey = k), key);
    t.equal(await host.getAttribute('api-key'), key, 'the apiKey property is reflected to the api-key attribute');
    await part(host, 'error').waitFor({ state: 'hidden', timeout: 20_000 });
    await showsServiceAt(t, session, host, LOOP, ['x'], 'apiKey set after the 401');
  });

  // compute="service": with the default, auto, the element would compute in the browser instead (test/widget/compute-modes.test.ts).
  await session.test('a service that is down: shown as such, with a retry that asks again', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/ERR_CONNECTION_REFUSED|Failed to load resource/);
    await page.route(`${session.server.base}/test/down.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: session.html(tag('adjoint-grad', { id: 'down', api: 'http://127.0.0.1:9', compute: 'service' })) }));
    const requests = countRequests(page);
    await page.goto(`${session.server.base}/test/down.html`);
    const host = page.locator('#down');
    await part(host, 'error').waitFor({ state: 'visible', timeout: 20_000 });
    t.match(await part(host, 'error').textContent(), /Cannot reach the service at http:\/\/127\.0\.0\.1:9/, 'the element says so');
    t.equal(await host.getAttribute('data-state'), 'error', 'its state is error');
    await retried(t, host, requests, 'down');
    t.ok((await recordedEvents(page)).some((e) => e.type === 'adjoint-error' && e.id === 'down'), 'an adjoint-error for the service that is down');
  });

  const TWO = { program: 'x * y', inputs: { x: 0.5, y: 2 } };
  await session.test('over the rate limit (429): shown as such with the wait, and a retry that asks again', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/status of 429|Failed to load resource/);
    const limited = await startServer(t, { RATE_LIMIT: '3' });
    const url = `${limited.base}/test/limited.html`;
    await page.route(url, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: pageHtml(tag('adjoint-grad', { id: 'limited', ...TWO }), `${limited.base}/widget/adjoint.js`) }));
    const requests = countRequests(page);
    await page.goto(url);
    const host = page.locator('#limited');
    await ready(host);
    // Each move is a request: the fourth in the minute is over RATE_LIMIT=3.
    for (let k = 1; k <= 4 && (await part(host, 'error').isHidden()); k++) {
      await until('nothing in flight', async () => (requests.inFlight === 0 ? true : undefined));
      await part(host, 'number-x').fill(String(0.5 + k / 10));
      await until('the move answered', async () => (requests.inFlight === 0 && (await host.getAttribute('data-state')) !== 'loading' ? true : undefined));
    }
    await part(host, 'error').waitFor({ state: 'visible', timeout: 20_000 });
    t.match(await part(host, 'error').textContent(), /Too many requests \(429\): .*Retry in \d+ s\./, 'the element says too many requests, and how long to wait');
    t.equal(await host.getAttribute('data-state'), 'error', 'its state is error');
    await retried(t, host, requests, '429');
    t.match(await part(host, 'error').textContent(), /\(429\)/, 'still over the limit within the minute: said again');
    const errors = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-error' && e.id === 'limited');
    t.ok(errors.some((e) => (e.detail as { status?: number; code?: string }).code === 'RATE_LIMITED'), 'adjoint-error carries the 429 RATE_LIMITED problem');
  });

  await session.test('a busy service (503 OVERLOADED): shown as such, and the retry works once a worker is free', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/status of 503|Failed to load resource/);
    // One worker, held by an endless run; a request waits 300 ms in the queue, then is refused.
    const busy = await startServer(t, { WORKERS: '1', QUEUE_TIMEOUT_MS: '300', TIMEOUT_MS: '60000', MAX_ITERATIONS: '1000000000000' });
    const holder = new AbortController();
    const held = fetch(`${busy.base}/v1/eval`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program: 'while 1\nend' }), signal: holder.signal }).catch(() => undefined);
    t.teardown(() => holder.abort());
    t.ok(await untilBusy(busy.base), 'the only worker is busy');
    const url = `${busy.base}/test/busy.html`;
    await page.route(url, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: pageHtml(tag('adjoint-grad', { id: 'busy', ...TWO }), `${busy.base}/widget/adjoint.js`) }));
    const requests = countRequests(page);
    await page.goto(url);
    const host = page.locator('#busy');
    await part(host, 'error').waitFor({ state: 'visible', timeout: 20_000 });
    t.match(await part(host, 'error').textContent(), /The service is busy \(503\): .*Retry in \d+ s\./, 'the element says the service is busy, and how long to wait');
    const errors = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-error' && e.id === 'busy');
    t.ok(errors.some((e) => (e.detail as { code?: string }).code === 'OVERLOADED'), 'adjoint-error carries the 503 OVERLOADED problem');
    t.equal(await part(host, 'retry').isVisible(), true, 'a retry button');

    holder.abort();
    await held;
    t.ok(await waitFor(async () => metricValue((await send(busy.base, '/metrics')).text, 'adjoint_workers_busy') === 0), 'the worker is free again');
    await until('nothing in flight', async () => (requests.inFlight === 0 ? true : undefined));
    await part(host, 'retry').click();
    await part(host, 'error').waitFor({ state: 'hidden', timeout: 20_000 });
    const oracle = await api<Grad>(session.server.base, 'grad', { program: TWO.program, at: TWO.inputs });
    await host.locator(`[part~="value"][data-value="${String(oracle.body.value)}"]`).waitFor({ timeout: 20_000 });
    t.pass('after retry, the element shows /v1/grad\'s answer');
  });

  const below = (body: string): string => session.html(`<div id="spacer">above the fold</div>\n${body}`).replace('</head>', '<style>#spacer { height: 3000px; }</style>\n</head>');
  await session.test('below the fold: a bad attribute is shown at once; requests wait until the element is scrolled into view', { html: below(tag('adjoint-grad', { id: 'lowbad', inputs: '{x: 0.5' }) + tag('adjoint-grad', { id: 'lowgood' })), init: RECORD_EVENTS }, async (t, { page }) => {
    const requests = countRequests(page);
    const bad = page.locator('#lowbad');
    await part(bad, 'error').waitFor({ state: 'visible', timeout: 10_000 });
    t.match(await part(bad, 'error').textContent(), /inputs.*not JSON/, 'the bad element says what is wrong, unscrolled');
    t.equal(await bad.evaluate((el) => el.getBoundingClientRect().top > el.ownerDocument.defaultView.innerHeight + 200), true, 'while it is below the fold (and its 200 px margin)');
    const events = await until('adjoint-error from the bad element', async () => {
      const all = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-error' && e.id === 'lowbad');
      return all.length > 0 ? all : undefined;
    });
    t.match(events[0].detail, { code: 'INVALID_ATTRIBUTE', attribute: 'inputs' }, 'adjoint-error, INVALID_ATTRIBUTE inputs');
    await page.waitForTimeout(1_000);
    t.equal(requests.sent, 0, 'no request while both elements are below the fold');
    t.equal(await part(page.locator('#lowgood'), 'value').textContent(), '', 'the good element has asked nothing yet');

    await page.locator('#lowgood').scrollIntoViewIfNeeded();
    await ready(page.locator('#lowgood'));
    t.ok(requests.sent >= 1, `scrolled into view, it asked (${requests.sent} requests)`);
    await showsServiceAt(t, session, page.locator('#lowgood'), LOOP, ['x'], 'scrolled into view');
    const after = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-error' && e.id === 'lowbad');
    t.equal(after.length, 1, 'the bad element, scrolled into view too, fired its error once');
  });
});
