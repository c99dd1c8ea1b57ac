/**
 * The playground (`GET /`) in Chromium: every element starts (scrolled into view, as a reader
 * does) under the page's own strict CSP without a violation; an automated accessibility audit
 * (axe-core injected into the page) finds no serious or critical violation in the light or the
 * dark theme; `theme="auto"` follows prefers-color-scheme and `theme="dark"` overrides it;
 * screenshots of both themes (the page, and each element) are written to
 * test/widget/screenshots/ (git-ignored) for a person to look at; and the state in the URL sets
 * the widgets' attributes.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { RECORD_EVENTS, api, part, ready, violations, withBrowser } from './browser.js';
import { file } from '../../scripts/paths.js';

const ELEMENTS = ['grad', 'trace', 'sample', 'optimize', 'check'];
const SCREENSHOTS = file('test/widget/screenshots');
const AXE = join(dirname(createRequire(import.meta.url).resolve('axe-core')), 'axe.min.js');

/** Scrolls each element into view (they start lazily) and waits for its first result. */
async function allReady(page: Page): Promise<void> {
  for (const key of ELEMENTS) {
    const host = page.locator(`#w-${key}`);
    await host.scrollIntoViewIfNeeded();
    await ready(host, 60_000);
  }
  await page.evaluate(() => 0);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe-core on the page; fails `t` on any serious or critical violation, printing them all. */
async function audit(t: Test, page: Page, label: string): Promise<void> {
  // What a reader sees once the theme's transitions have run (a row's background fades for 0.15 s).
  await page.locator('html').evaluate((root) =>
    Promise.all(
      root.ownerDocument
        .getAnimations()
        .filter((a: { effect: { getTiming(): { iterations: number } } | null }) => a.effect !== null && Number.isFinite(a.effect.getTiming().iterations))
        .map((a: { finished: Promise<unknown> }) => a.finished),
    ),
  );
  if (!(await page.locator('html').evaluate((root) => root.ownerDocument.defaultView.axe !== undefined))) {
    // Served from the page's own origin (by route interception), as the playground's CSP allows scripts.
    const url = new URL('/test/axe.min.js', page.url()).href;
    await page.route(url, (route) => route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: readFileSync(AXE) }));
    await page.addScriptTag({ url });
  }
  const outcome = await page.locator('html').evaluate(async (root) => {
    const results = await root.ownerDocument.defaultView.axe.run(root.ownerDocument, { resultTypes: ['violations'] });
    return {
      passes: results.passes.length as number,
      violations: results.violations.map((v: AxeViolation) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })) as AxeViolation[],
    };
  });
  t.ok(outcome.passes >= 10, `${label}: axe ran its rules (${outcome.passes} passed)`);
  const found = outcome.violations;
  for (const v of found) t.comment(`axe (${label}): ${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`.replace(/\n/g, ' ')).join('\n')}`);
  const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  t.strictSame(
    serious.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`),
    [],
    `${label}: no serious or critical accessibility violation (${found.length - serious.length} of lesser impact)`,
  );
}

await withBrowser(t, { WORKERS: '2' }, async (session) => {
  const { base } = session.server;

  /** What the screenshots showed wrong once, measured: each drawing at a size to read, no label over a curve. */
  const drawnToSize = async (t: Test, page: Page): Promise<void> => {
    const box = (key: string, selector: string) =>
      page.locator(`#w-${key}`).evaluate((el, sel) => {
        const r = el.shadowRoot.querySelector(sel).getBoundingClientRect();
        return { width: r.width as number, frame: el.shadowRoot.querySelector('[part~="frame"]').getBoundingClientRect().width as number };
      }, selector);
    const answer = await box('check', '[part~="answer"]');
    t.ok(answer.width >= 0.6 * answer.frame, `adjoint-check's answer box is ${Math.round(answer.width)} px of ${Math.round(answer.frame)}: room for its placeholder`);
    const placeholder = await page.locator('#w-check').evaluate((el) => {
      const input = el.shadowRoot.querySelector('[part~="answer"]');
      const probe = el.ownerDocument.createElement('canvas').getContext('2d');
      probe.font = el.ownerDocument.defaultView.getComputedStyle(input).font;
      return { text: probe.measureText(input.placeholder).width as number, box: input.clientWidth as number };
    });
    t.ok(placeholder.text < placeholder.box, `the placeholder (${Math.round(placeholder.text)} px) fits the box (${Math.round(placeholder.box)} px)`);
    const contours = await box('optimize', '[part~="contours"]');
    const curve = await box('optimize', '[part~="curve"]');
    t.ok(contours.width >= 0.95 * curve.width, `the contour plot is as wide as the loss curve (${Math.round(contours.width)} and ${Math.round(curve.width)} px)`);
    const graph = await page.locator('#w-trace').evaluate((el) => {
      const svg = el.shadowRoot.querySelector('[part~="graph"]');
      return { width: svg.getBoundingClientRect().width as number, units: svg.viewBox.baseVal.width as number };
    });
    t.ok(graph.width >= 1.4 * graph.units, `the trace's graph is drawn at ${(graph.width / graph.units).toFixed(2)} px per unit (11-unit text at 15 px or more)`);
    const overlaps = await page.locator('#w-optimize').evaluate((el) => {
      const svg = el.shadowRoot.querySelector('[part~="curve"]');
      const line = svg.querySelector('path.curve').getBBox();
      return [...svg.querySelectorAll('g.axes text')].filter((label) => {
        if (label.textContent !== 'step' && label.textContent !== 'loss') return false;
        const b = label.getBBox();
        return b.x < line.x + line.width && line.x < b.x + b.width && b.y < line.y + line.height && line.y < b.y + b.height;
      }).map((label) => label.textContent as string);
    });
    t.strictSame(overlaps, [], 'no axis name of the loss curve lies over the curve');
  };

  await session.test('the playground: every element starts under its own CSP; screenshots and an accessibility audit (axe-core) in light and dark', { init: RECORD_EVENTS, context: { viewport: { width: 1100, height: 900 } } }, async (t, { page }) => {
    await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
    const response = await page.goto(`${base}/`);
    t.match(response?.headers()['content-security-policy'], /script-src 'self'/, 'the playground is served under a strict CSP');
    await allReady(page);
    t.pass('all five elements drew their first result');
    t.strictSame(await violations(page), [], 'no CSP violation');
    await drawnToSize(t, page);
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
      const file = join(SCREENSHOTS, `playground-${scheme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const bytes = readFileSync(file);
      t.ok(statSync(file).size > 10_000, `${file}: ${bytes.length} bytes`);
      t.equal(bytes.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${scheme}: a PNG`);
      // Each element at full size as well: the whole page is too tall to read at a glance.
      for (const key of ELEMENTS) {
        const shot = join(SCREENSHOTS, `${key}-${scheme}.png`);
        await page.locator(`#w-${key}`).screenshot({ path: shot });
        t.equal(readFileSync(shot).subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${shot}: a PNG`);
      }
    }
    // The themes differ: the page's background follows prefers-color-scheme.
    const background = async (scheme: 'light' | 'dark'): Promise<string> => {
      await page.emulateMedia({ colorScheme: scheme });
      return page.locator('#w-grad').evaluate((el) => el.ownerDocument.defaultView.getComputedStyle(el.shadowRoot.querySelector('[part~="frame"]')).backgroundColor as string);
    };
    const [light, dark] = [await background('light'), await background('dark')];
    t.not(light, dark, `theme="auto" follows prefers-color-scheme (${light} light, ${dark} dark)`);
    // The playground's theme menu sets every element's theme attribute: dark on a light system.
    await page.locator('#theme').selectOption('dark');
    t.equal(await page.locator('#w-grad').getAttribute('theme'), 'dark', 'the menu sets theme="dark"');
    t.equal(await background('light'), dark, 'theme="dark" is dark on a light system');
    await page.locator('#theme').selectOption('auto');
    t.equal(await background('light'), light, 'and theme="auto" light again');

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'no-preference' });
      await audit(t, page, `axe-core, ${scheme}`);
    }
    t.strictSame(await violations(page), [], 'still no CSP violation (axe-core loaded as the CSP allows)');
  });

  await session.test('the state in the URL sets the widgets', {}, async (t, { page }) => {
    const query = new URLSearchParams({ 'grad.inputs': '{"x":1.25}', 'trace.step': '2', 'check.ranges': '{"x":[0,1]}' });
    await page.goto(`${base}/?${query}`);
    const grad = page.locator('#w-grad');
    await ready(grad);
    t.equal(await part(grad, 'number-x').inputValue(), '1.25', 'grad.inputs: x = 1.25');
    const program = await part(grad, 'editor').inputValue();
    const oracle = await api<{ value: number }>(base, 'grad', { program, at: { x: 1.25 } });
    t.equal(Number(await part(grad, 'value').getAttribute('data-value')), oracle.body.value, "and the service's value there");
    const trace = page.locator('#w-trace');
    await trace.scrollIntoViewIfNeeded();
    await ready(trace);
    t.equal(await trace.evaluate((el) => el.step), 2, 'trace.step: step 2');
    t.equal(await page.locator('#w-check').getAttribute('ranges'), '{"x":[0,1]}', 'check.ranges');
  });
});
