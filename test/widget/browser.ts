/**
 * The course widgets in a real browser (issue 15): Debian's headless Chromium driven by
 * playwright-core (which downloads no browser), one browser per test file, against the real
 * server (test/server/harness.ts). Without Chromium the tests skip, saying how to install it;
 * in CI (CI=true) a missing Chromium fails them instead. Every page's console errors and
 * uncaught errors fail the test that opened it, but for those the test says it expects.
 *
 * The project compiles its tests without the DOM library: code run in the page reaches the
 * document through an element (`locator.evaluate`'s argument is untyped there), and scripts set
 * up before the page's own are plain JavaScript strings.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { post, startServer, type Server } from '../server/harness.js';

export const INSTALL_HINT = 'apt-get install -y --no-install-recommends chromium-headless-shell (or set CHROMIUM_PATH)';

/** Where Chromium is: CHROMIUM_PATH, else Debian's headless shell, else Debian's full browser; null when none exists. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium-headless-shell', '/usr/bin/chromium'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path)) ?? null;
}

/** Chromium as a test launches it: headless; as root (CI, containers) only without its sandbox. */
export function launchChromium(executablePath: string): Promise<Browser> {
  const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--hide-scrollbars', '--mute-audio'];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath, headless: true, args });
}

/** What went wrong in a page: console errors and uncaught exceptions. */
export interface PageProblems {
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
}

export interface WidgetPage {
  readonly page: Page;
  readonly problems: PageProblems;
  /** Console errors matching `pattern` are expected in this test (a 422 the browser logs, a CORS refusal). */
  allow(pattern: RegExp): void;
}

export interface PageOptions {
  readonly html?: string;
  readonly init?: string;
  readonly context?: BrowserContextOptions;
}

export interface Session {
  readonly browser: Browser;
  /** The service, on an ephemeral port. */
  readonly server: Server;
  /** `<base>/widget/adjoint.js` */
  readonly script: string;
  /**
   * A subtest with a fresh page (in a context of its own) whose console errors and uncaught
   * exceptions fail it, but for those it allows. `html`, given, is served at
   * `<base>/test/page-<n>.html` by route interception (the page has the service's origin),
   * after `init` (JavaScript run before the page's own scripts).
   */
  test(name: string, options: PageOptions, fn: (t: Test, page: WidgetPage) => Promise<void>): Promise<unknown>;
  /** An HTML page that loads the widget from `api` (default: this service) and holds `body`. */
  html(body: string, options?: { api?: string; title?: string }): string;
}

/**
 * Starts Chromium and the service for a test file and runs `tests` with them; both are closed
 * when `t` ends. Without Chromium: the file is skipped with the install hint, or fails in CI.
 */
export async function withBrowser(t: Test, env: Record<string, string>, tests: (session: Session) => Promise<void> | void): Promise<void> {
  const executable = findChromium();
  if (executable === null) {
    if (process.env.CI === 'true') {
      t.fail(`no Chromium found (CHROMIUM_PATH, /usr/bin/chromium-headless-shell, /usr/bin/chromium): CI must run the browser tests; install it with ${INSTALL_HINT}`);
      return;
    }
    t.plan(0, `no Chromium: the widget's browser tests need it; install it with ${INSTALL_HINT}`);
    return;
  }
  const [browser, server] = await Promise.all([launchChromium(executable), startServer(t, { WORKERS: '1', ...env })]);
  t.teardown(() => browser.close());
  const script = `${server.base}/widget/adjoint.js`;
  let pages = 0;
  const session: Session = {
    browser,
    server,
    script,
    html: (body, options = {}) => pageHtml(body, `${options.api ?? server.base}/widget/adjoint.js`, options.title),
    test: (name, options, fn) =>
      t.test(name, async (t) => {
        const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, ...options.context });
        t.teardown(() => context.close());
        const opened = await watch(context);
        try {
          if (options.init !== undefined) await opened.page.addInitScript({ content: options.init });
          if (options.html !== undefined) {
            const url = `${server.base}/test/page-${++pages}.html`;
            const html = options.html;
            await opened.page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
            await opened.page.goto(url);
          }
          await fn(t, opened);
        } finally {
          const unexpected = opened.problems.consoleErrors.filter((text) => !opened.allowed.some((pattern) => pattern.test(text)));
          t.strictSame(unexpected, [], 'no console error in the page');
          t.strictSame(opened.problems.pageErrors, [], 'no uncaught error in the page');
        }
      }),
  };
  await tests(session);
}

/** A page of `context` that records its console errors and uncaught exceptions. */
async function watch(context: BrowserContext): Promise<WidgetPage & { allowed: RegExp[] }> {
  const page = await context.newPage();
  const problems: PageProblems = { consoleErrors: [], pageErrors: [] };
  const allowed: RegExp[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.pageErrors.push(`${error.name}: ${error.message}`));
  return { page, problems, allowed, allow: (pattern) => allowed.push(pattern) };
}

const escapeAttribute = (text: string): string => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** A minimal course page: the widget's module, then `body`. */
export function pageHtml(body: string, script: string, title = 'adjoint widget test'): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title>
<script type="module" src="${escapeAttribute(script)}"></script>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** An element's opening tag with these attributes (values escaped; `true` for a bare attribute). */
export function tag(name: string, attributes: Record<string, string | number | boolean | object> = {}, content = ''): string {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== false)
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${escapeAttribute(typeof v === 'object' ? JSON.stringify(v) : String(v))}"`))
    .join('');
  return `<${name}${attrs}>${content}</${name}>`;
}

/**
 * Resolves once the element matched by `host` is defined and its first result drawn (`ready`),
 * or rejects after `timeoutMs` with what the element shows (its status and error).
 */
export async function ready(host: Locator, timeoutMs = 30_000): Promise<void> {
  await host.waitFor({ state: 'attached', timeout: timeoutMs });
  const outcome = await host.evaluate(async (el, timeout) => {
    const win = el.ownerDocument.defaultView;
    await win.customElements.whenDefined(el.localName);
    let timer = 0;
    const late = new Promise((resolve) => (timer = win.setTimeout(() => resolve('late'), timeout)));
    const result = await Promise.race([el.ready.then(() => 'ready'), late]);
    win.clearTimeout(timer);
    if (result === 'ready') return null;
    const part = (name: string): string => el.shadowRoot?.querySelector(`[part~="${name}"]`)?.textContent ?? '(none)';
    return `status "${part('status')}", error "${part('error')}"`;
  }, timeoutMs);
  if (outcome !== null) throw new Error(`<${await host.evaluate((el) => el.localName)}> not ready after ${timeoutMs} ms: ${outcome}`);
}

/** Records `adjoint-result` and `adjoint-error` events on the document (set up before the page's scripts). */
export const RECORD_EVENTS = `
window.__adjointEvents = [];
for (const type of ['adjoint-result', 'adjoint-error']) {
  document.addEventListener(type, (e) => {
    window.__adjointEvents.push({ type, tag: e.target.localName, id: e.target.id, detail: JSON.parse(JSON.stringify(e.detail ?? null)), composed: e.composed, bubbles: e.bubbles });
  });
}
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber });
});
`;

export interface RecordedEvent {
  type: 'adjoint-result' | 'adjoint-error';
  tag: string;
  id: string;
  detail: Record<string, unknown> | null;
  composed: boolean;
  bubbles: boolean;
}

/** The events RECORD_EVENTS has recorded so far. */
export const recordedEvents = (page: Page): Promise<RecordedEvent[]> => page.locator('html').evaluate((root) => root.ownerDocument.defaultView.__adjointEvents as RecordedEvent[]);

/** The CSP violations RECORD_EVENTS has recorded so far. */
export const violations = (page: Page): Promise<Record<string, unknown>[]> => page.locator('html').evaluate((root) => root.ownerDocument.defaultView.__violations as Record<string, unknown>[]);

/** A part inside `host`'s shadow root, by one of its part names. */
export const part = (host: Locator, name: string): Locator => host.locator(`[part~="${name}"]`);

/** Polls `check` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A plain static server on another port (another origin): `pages` maps a path to its HTML and headers. */
export async function staticServer(t: Test): Promise<{ origin: string; pages: Map<string, { html: string; headers?: Record<string, string> }> }> {
  const pages = new Map<string, { html: string; headers?: Record<string, string> }>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const found = pages.get((request.url ?? '/').split('?')[0]);
    if (found === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...found.headers }).end(found.html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the static server has no port');
  return { origin: `http://127.0.0.1:${address.port}`, pages };
}

/** `POST <base>/v1/<endpoint>` answered as JSON: the oracle the widget's numbers are compared with. */
export async function api<T = Record<string, unknown>>(base: string, endpoint: string, body: unknown): Promise<{ status: number; body: T }> {
  const reply = await post(base, endpoint, body);
  return { status: reply.status, body: reply.json as T };
}
