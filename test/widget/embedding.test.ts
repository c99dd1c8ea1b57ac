/**
 * Embedding from a course page on another origin (a plain node:http server on another port), in
 * Chromium: with that origin in the service's CORS_ORIGINS the widget loads and shows the
 * service's numbers; a service without it makes an element with compute="service" say so, naming
 * CORS_ORIGINS, and one with the default (auto) compute the same numbers in the browser; and a
 * page under a strict Content-Security-Policy (its own origin, and the service's for scripts and
 * requests, nothing inline) runs every element without a single violation.
 */
import t from 'tap';
import { startServer } from '../server/harness.js';
import { RECORD_EVENTS, api, pageHtml, part, ready, recordedEvents, staticServer, tag, violations, withBrowser } from './browser.js';

const course = await staticServer(t);

await withBrowser(t, { CORS_ORIGINS: course.origin, WORKERS: '2' }, async (session) => {
  const allowed = session.server.base;
  const refusing = (await startServer(t, { WORKERS: '1' })).base;
  const grad = tag('adjoint-grad', { id: 'g', program: 'x * y + sin(x)', inputs: { x: 0.5, y: 4.2 } });
  course.pages.set('/allowed.html', { html: pageHtml(grad, `${allowed}/widget/adjoint.js`, 'a course page') });
  // compute="service": the element says what is wrong; with the default, auto, it computes in the browser instead.
  course.pages.set('/refused.html', { html: pageHtml(tag('adjoint-grad', { id: 'g', program: 'x * y + sin(x)', inputs: { x: 0.5, y: 4.2 }, compute: 'service' }), `${refusing}/widget/adjoint.js`, 'a course page') });
  course.pages.set('/refused-auto.html', { html: pageHtml(grad, `${refusing}/widget/adjoint.js`, 'a course page') });

  await session.test('a page on another origin listed in CORS_ORIGINS embeds the widget', { init: RECORD_EVENTS }, async (t, { page }) => {
    const scripts: Record<string, string> = {};
    page.on('response', (r) => {
      if (r.url().endsWith('/widget/adjoint.js')) Object.assign(scripts, r.headers());
    });
    await page.goto(`${course.origin}/allowed.html`);
    const host = page.locator('#g');
    await ready(host);
    t.equal(scripts['access-control-allow-origin'], '*', 'the module is served with Access-Control-Allow-Origin: *');
    t.equal(scripts['cross-origin-resource-policy'], 'cross-origin', 'and Cross-Origin-Resource-Policy: cross-origin');
    const oracle = await api<{ value: number; grad: Record<string, number> }>(allowed, 'grad', { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 } });
    t.equal(Number(await part(host, 'value').getAttribute('data-value')), oracle.body.value, "the value is the service's");
    t.equal(Number(await part(host, 'gradient').getAttribute('data-x')), oracle.body.grad.x, "∂f/∂x is the service's");
    t.equal(Number(await part(host, 'gradient').getAttribute('data-y')), oracle.body.grad.y, "∂f/∂y is the service's");
    t.equal(await host.evaluate((el) => el.api), allowed, "api defaults to the script's origin");
  });

  await session.test('a service without the page in CORS_ORIGINS: the element names the setting', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    // What the browser itself logs about the refused requests.
    allow(/CORS policy|ERR_FAILED|Failed to load resource/);
    await page.goto(`${course.origin}/refused.html`);
    const host = page.locator('#g');
    const error = part(host, 'error');
    await error.waitFor({ state: 'visible', timeout: 20_000 });
    const text = (await error.textContent()) ?? '';
    t.match(text, /CORS_ORIGINS/, `the element names CORS_ORIGINS: "${text}"`);
    t.match(text, course.origin, 'and the origin to add');
    t.equal(await part(host, 'retry').isVisible(), true, 'with a retry');
    const events = await recordedEvents(page);
    t.ok(
      events.some((e) => e.type === 'adjoint-error' && e.id === 'g'),
      'adjoint-error fired',
    );
  });

  await session.test('auto, refused by CORS: computed in the browser by the local engine loaded from the service, the same numbers', { init: RECORD_EVENTS }, async (t, { page, allow }) => {
    allow(/CORS policy|ERR_FAILED|Failed to load resource/);
    await page.goto(`${course.origin}/refused-auto.html`);
    const host = page.locator('#g');
    await ready(host);
    const badge = part(host, 'badge');
    t.equal(await badge.getAttribute('data-where'), 'local', 'the badge says where');
    t.equal(await badge.textContent(), 'computed in your browser');
    const oracle = await api<{ value: number; grad: Record<string, number> }>(refusing, 'grad', { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 } });
    t.equal(await part(host, 'value').getAttribute('data-value'), String(oracle.body.value), "the value is the service's");
    t.equal(await part(host, 'gradient').getAttribute('data-x'), String(oracle.body.grad.x), "∂f/∂x is the service's");
    t.equal(await part(host, 'gradient').getAttribute('data-y'), String(oracle.body.grad.y), "∂f/∂y is the service's");
    t.strictSame((await recordedEvents(page)).filter((e) => e.type === 'adjoint-error'), [], 'no adjoint-error');
  });

  const strict = `default-src 'self'; connect-src ${allowed}; script-src ${allowed}`;
  const everything = [
    tag('adjoint-grad', { id: 'grad', loading: 'eager' }),
    tag('adjoint-trace', { id: 'trace', loading: 'eager' }),
    tag('adjoint-sample', { id: 'sample', loading: 'eager', n: 2000 }),
    tag('adjoint-optimize', { id: 'optimize', loading: 'eager', steps: 100 }),
    tag('adjoint-check', { id: 'check', loading: 'eager' }),
  ].join('\n');
  course.pages.set('/strict.html', { html: pageHtml(everything, `${allowed}/widget/adjoint.js`, 'a strict page'), headers: { 'content-security-policy': strict } });

  await session.test(`a page under "${strict}" runs every element with no violation`, { init: RECORD_EVENTS }, async (t, { page }) => {
    const response = await page.goto(`${course.origin}/strict.html`);
    t.equal(response?.headers()['content-security-policy'], strict, 'the page is served with the strict policy');
    for (const id of ['grad', 'trace', 'sample', 'optimize', 'check']) await ready(page.locator(`#${id}`), 60_000);
    t.pass('every element drew its first result');
    const check = page.locator('#check');
    await part(check, 'answer').fill('2*x*cos(x^2)');
    await part(check, 'submit').click();
    await check.locator('[part~="verdict"][data-verdict="pass"]').waitFor({ timeout: 20_000 });
    t.pass('and adjoint-check graded an answer');
    t.strictSame(await violations(page), [], 'no securitypolicyviolation event');
    t.strictSame(
      (await recordedEvents(page)).filter((e) => e.type === 'adjoint-error'),
      [],
      'no adjoint-error',
    );
  });
});
