/**
 * The course widget's figures (issue 15), against the built service at `base`: `adjoint.js`
 * with everything it imports, gzipped as served; in Chromium, the time from the script loaded
 * (its Performance API resource entry) to the first element drawn with the service's answer;
 * and a slider dragged for two seconds, how far the numbers shown lag it, in round trips; local
 * mode's size, and its engine's speed in Chromium against Node.js. Without Chromium the browser
 * figures are skipped with a message.
 *
 * The benchmarks compile without the DOM library: code run in the page reaches the document
 * through an element (`locator.evaluate`'s argument is untyped here), and scripts set up before
 * the page's own are JavaScript strings.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import type { Browser } from 'playwright-core';
import { file } from '../scripts/paths.js';
import { computeSync } from '../src/index.js';
import { BUNDLE_OPTIONS } from '../src/server/widget-assets.js';
import { LOCAL_REQUESTS, timeLocal, type LocalRequest } from './local-speed.js';

export type Report = (name: string, value: string, baseline: string, ratio: string, goal: string, met: boolean | null) => void;

const GZIP_GOAL = 30_000;
/** Local mode's modules (issue 18): the page's side and the worker with all of compute(). */
const LOCAL_GZIP_GOAL = 250_000;
const FIRST_DRAW_GOAL_MS = 150;
/** Local mode in Chromium against the same code in Node.js (issue 18). */
const LOCAL_SPEED_GOAL = 2;
const LAG_GOAL = 1;

/** Chromium as the browser tests find it: CHROMIUM_PATH, else Debian's headless shell or browser. */
function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium-headless-shell', '/usr/bin/chromium'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path)) ?? null;
}

/** GET `url` with this Accept-Encoding: the bytes as they came over the wire. */
function get(url: string, encoding: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': encoding } }, (reply) => {
      const chunks: Buffer[] = [];
      reply.on('data', (c: Buffer) => chunks.push(c));
      reply.on('end', () => (reply.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${url}: ${reply.statusCode}`))));
    })
      .on('error', reject)
      .end();
  });
}

/** The modules and every module they import, statically or (unless `staticOnly`) dynamically, by URL. */
async function moduleGraph(entries: string | string[], staticOnly = false): Promise<Map<string, Buffer>> {
  const seen = new Map<string, Buffer>();
  const pending = [entries].flat();
  const imports = staticOnly ? /(?:\bfrom\s*|\bimport\s*)["']([^"']+\.js)["']/g : /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+\.js)["']/g;
  while (pending.length > 0) {
    const url = pending.pop()!;
    if (seen.has(url)) continue;
    const text = await get(url, 'identity');
    seen.set(url, text);
    for (const m of text.toString().matchAll(imports)) pending.push(new URL(m[1], url).href);
  }
  return seen;
}

/** A module graph's bytes as served: minified, gzipped and brotli. */
async function served(graph: Map<string, Buffer>): Promise<{ identity: number; gzip: number; br: number }> {
  let identity = 0;
  let gzip = 0;
  let br = 0;
  for (const [url, bytes] of graph) {
    identity += bytes.length;
    gzip += (await get(url, 'gzip')).length;
    br += (await get(url, 'br')).length;
  }
  return { identity, gzip, br };
}

async function size(base: string, report: Report): Promise<void> {
  const graph = await moduleGraph(`${base}/widget/adjoint.js`);
  const { identity, gzip, br } = await served(graph);
  report(
    `widget: \`adjoint.js\` with everything it imports (${graph.size} file${graph.size === 1 ? '' : 's'}), gzipped as served`,
    `${(gzip / 1000).toFixed(1)} kB`,
    `${(identity / 1000).toFixed(1)} kB minified, ${(br / 1000).toFixed(1)} kB brotli`,
    `${((100 * gzip) / identity).toFixed(0)}% of minified`,
    `<= ${GZIP_GOAL / 1000} kB`,
    gzip <= GZIP_GOAL,
  );
  // Local mode, loaded only when a page computes locally: the worker's static imports, not its
  // dynamic ones, mathjs's symbolic differentiation (only a derivative loads it) and Graphviz
  // (only an SVG trace).
  const local = await served(await moduleGraph([`${base}/widget/adjoint-local.js`, `${base}/widget/adjoint-local-worker.js`], true));
  const whole = await served(await moduleGraph([`${base}/widget/adjoint-local.js`, `${base}/widget/adjoint-local-worker.js`]));
  report(
    'widget: local mode, `adjoint-local.js` and its worker (all of compute()) with their static imports, gzipped as served',
    `${(local.gzip / 1000).toFixed(1)} kB`,
    `${(local.identity / 1000).toFixed(1)} kB minified, ${(local.br / 1000).toFixed(1)} kB brotli; its dynamic imports (symbolic differentiation, Graphviz) ${((whole.gzip - local.gzip) / 1000).toFixed(1)} kB more`,
    `${((100 * local.gzip) / local.identity).toFixed(0)}% of minified`,
    `<= ${LOCAL_GZIP_GOAL / 1000} kB`,
    local.gzip <= LOCAL_GZIP_GOAL,
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Records the first `adjoint-result`: when it fired (the answer in the DOM) and the end of the task after the next frame (painted). */
const FIRST_DRAWN = `
document.addEventListener('adjoint-result', () => {
  const event = performance.now();
  requestAnimationFrame(() => setTimeout(() => (window.__drawn = { event, painted: performance.now() })));
}, { once: true });
`;

/** The time from adjoint.js loaded to the first element drawn, over fresh pages (a new context each: nothing cached). */
async function firstDraw(browser: Browser, base: string, report: Report): Promise<void> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>first draw</title>
<script type="module" src="/widget/adjoint.js"></script></head>
<body><adjoint-grad></adjoint-grad></body></html>`;
  const runs: { event: number; painted: number }[] = [];
  for (let i = 0; i < 12; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript({ content: FIRST_DRAWN });
    await page.route(`${base}/bench/first.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
    await page.goto(`${base}/bench/first.html`);
    await page.waitForFunction('window.__drawn !== undefined', undefined, { timeout: 30_000 });
    const times = await page.locator('html').evaluate((root) => {
      const win = root.ownerDocument.defaultView;
      const script = win.performance.getEntriesByType('resource').find((e: { name: string }) => e.name.endsWith('/widget/adjoint.js'));
      return { loaded: script.responseEnd as number, event: win.__drawn.event as number, painted: win.__drawn.painted as number };
    });
    await context.close();
    // The first two warm the service's workers and the browser.
    if (i >= 2) runs.push({ event: times.event - times.loaded, painted: times.painted - times.loaded });
  }
  const painted = median(runs.map((r) => r.painted));
  report(
    'widget: from adjoint.js loaded to the first `<adjoint-grad>` drawn with the service\'s answer (its curve: a batch of 100 evals), Chromium, Performance API, median of 10 fresh pages',
    `${painted.toFixed(0)} ms`,
    `${median(runs.map((r) => r.event)).toFixed(0)} ms to adjoint-result (the answer in the DOM), ${Math.max(...runs.map((r) => r.painted)).toFixed(0)} ms the slowest`,
    `${(painted / FIRST_DRAW_GOAL_MS).toFixed(2)}x the goal`,
    `<= ${FIRST_DRAW_GOAL_MS} ms`,
    painted <= FIRST_DRAW_GOAL_MS,
  );
}

/**
 * Records the page's API requests (the x each asks for, when sent and answered) and each
 * `adjoint-result`; `window.__drag(ms)` then drags the slider for `ms`, one input event a frame,
 * back and forth over its range, recording each position and when the slider reached it.
 */
const DRAG = `
window.__requests = [];
window.__results = [];
window.__moves = [];
const original = window.fetch;
window.fetch = function (input, init) {
  // Only the API's requests: not compute="auto"'s GET /healthz, which has no body.
  if (init === undefined || typeof init.body !== 'string') return original.apply(this, arguments);
  const body = JSON.parse(init.body);
  const record = { url: String(input), x: body.at === undefined ? null : body.at.x, sent: performance.now(), answered: NaN };
  window.__requests.push(record);
  const reply = original.apply(this, arguments);
  reply.then(() => (record.answered = performance.now()), () => {});
  return reply;
};
document.addEventListener('adjoint-result', () => window.__results.push(performance.now()));
window.__drag = (ms) => new Promise((resolve) => {
  const host = document.querySelector('adjoint-grad');
  const slider = host.shadowRoot.querySelector('[part~="slider-x"]');
  const [lo, hi] = [Number(slider.min), Number(slider.max)];
  const start = performance.now();
  const frame = () => {
    const t = performance.now() - start;
    if (t > ms) return resolve();
    const x = Math.round((lo + (hi - lo) * (0.5 - 0.45 * Math.cos((2 * Math.PI * t) / 1000))) * 1e6) / 1e6;
    slider.value = String(x);
    window.__moves.push({ at: performance.now(), x: Number(slider.value) });
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
});
`;

interface DragRecord {
  requests: { url: string; x: number; sent: number; answered: number }[];
  results: number[];
  moves: { at: number; x: number }[];
}

/** A two-second drag of <adjoint-grad>'s slider: how long after the slider reached a position its numbers were shown. */
async function drag(browser: Browser, base: string, report: Report): Promise<void> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>drag</title>
<script type="module" src="/widget/adjoint.js"></script></head>
<body><adjoint-grad loading="eager"></adjoint-grad></body></html>`;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript({ content: DRAG });
  await page.route(`${base}/bench/drag.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  await page.goto(`${base}/bench/drag.html`);
  await page.locator('adjoint-grad').evaluate((el) => el.ready);
  // A short drag first: the workers' JIT warm for these requests.
  await page.evaluate('window.__drag(500)');
  await page.waitForTimeout(200);
  const before = await page.locator('html').evaluate((root) => ({ requests: root.ownerDocument.defaultView.__requests.length as number, results: root.ownerDocument.defaultView.__results.length as number, moves: root.ownerDocument.defaultView.__moves.length as number }));
  await page.evaluate('window.__drag(2000)');
  await page.waitForFunction('window.__requests.every((r) => !Number.isNaN(r.answered))', undefined, { timeout: 30_000 });
  await page.waitForTimeout(100);
  const all = await page.locator('html').evaluate((root) => {
    const win = root.ownerDocument.defaultView;
    return { requests: win.__requests, results: win.__results, moves: win.__moves } as DragRecord;
  });
  await context.close();
  const requests = all.requests.slice(before.requests);
  const results = all.results.slice(before.results);
  const moves = all.moves.slice(before.moves);
  if (results.length !== requests.length) throw new Error(`widget drag: ${requests.length} requests but ${results.length} results drawn`);
  const trips = requests.map((r, k) => results[k] - r.sent);
  const trip = median(trips);
  // For each number shown: when the slider reached the position it was computed for (the last move to it before its request).
  const lags = requests.map((r, k) => {
    const reached = moves.filter((m) => m.at <= r.sent && m.x === r.x).pop();
    if (reached === undefined) throw new Error(`widget drag: no move to x = ${r.x} before its request`);
    return { total: results[k] - reached.at, beyond: (results[k] - reached.at) / trip - 1 };
  });
  const p95 = quantile(lags.map((l) => l.beyond), 0.95);
  const settle = results[results.length - 1] - moves[moves.length - 1].at;
  report(
    `widget: \`<adjoint-grad>\`'s slider dragged for 2 s (${moves.length} moves, one a frame): how long the numbers shown lag the slider beyond their own round trip, 95th percentile`,
    `${p95.toFixed(2)} round trips`,
    `round trip ${trip.toFixed(1)} ms (median, request sent to drawn); ${requests.length} requests for ${moves.length} moves; lag ${median(lags.map((l) => l.total)).toFixed(1)} ms median, ${Math.max(...lags.map((l) => l.total)).toFixed(1)} ms max; the last position shown ${settle.toFixed(1)} ms after the drag ended`,
    `max ${Math.max(...lags.map((l) => l.beyond)).toFixed(2)} round trips`,
    `<= ${LAG_GOAL} round trip`,
    p95 <= LAG_GOAL,
  );
}

/** The widget's figures; the browser's skipped, with a message, where no Chromium is installed. */
/**
 * Local mode's engine in Chromium against the same code in Node.js: bench/local-speed.ts's
 * requests, timed by its `timeLocal` in a Web Worker of a page, as local mode runs (bundled here
 * with compute() as the widget's build bundles local mode's worker), and in this process on the
 * built library, alternately, twice each; the faster of each pair is reported.
 */
async function localSpeed(browser: Browser, base: string, report: Report): Promise<void> {
  const esbuild = await import('esbuild');
  // A dedicated worker, as local mode runs compute(): it answers each request's name with its time.
  const bundle = await esbuild.build({
    stdin: {
      contents: `import { computeSync } from './src/compute/compute.ts';\nimport { timeLocal } from './bench/local-speed.ts';\nonmessage = (event) => postMessage(timeLocal(computeSync, event.data));\n`,
      resolveDir: file('.'),
      loader: 'ts',
    },
    ...BUNDLE_OPTIONS,
    write: false,
    logLevel: 'silent',
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    // Both files at the service's origin (a worker needs one), answered here.
    await page.route(`${base}/bench/local-speed.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>local speed</title>' }));
    await page.route(`${base}/bench/local-speed-worker.js`, (route) => route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: bundle.outputFiles[0].text }));
    await page.goto(`${base}/bench/local-speed.html`);
    await page.evaluate(`window.timeLocal = (() => {
      const worker = new Worker('/bench/local-speed-worker.js', { type: 'module' });
      return (request) => new Promise((resolve, reject) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage(request);
      });
    })()`);
    for (const request of Object.keys(LOCAL_REQUESTS) as LocalRequest[]) {
      let node = Infinity;
      let chromium = Infinity;
      for (let round = 0; round < 2; round++) {
        node = Math.min(node, timeLocal(computeSync, request));
        chromium = Math.min(chromium, (await page.evaluate(`timeLocal(${JSON.stringify(request)})`)) as number);
      }
      report(
        `widget: local mode in Chromium, ${LOCAL_REQUESTS[request]}`,
        `${(chromium * 1e6).toFixed(1)} µs`,
        `Node.js ${process.version} ${(node * 1e6).toFixed(1)} µs (this run)`,
        `${(chromium / node).toFixed(2)}x Node.js`,
        `<= ${LOCAL_SPEED_GOAL}x`,
        chromium <= LOCAL_SPEED_GOAL * node,
      );
    }
  } finally {
    await context.close();
  }
}

export async function widgetBench(base: string, report: Report): Promise<void> {
  await size(base, report);
  const executable = findChromium();
  if (executable === null) {
    console.log('widget: no Chromium (CHROMIUM_PATH, /usr/bin/chromium-headless-shell, /usr/bin/chromium): the first draw and the drag are skipped; install it with apt-get install -y --no-install-recommends chromium-headless-shell');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: executable, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  try {
    await firstDraw(browser, base, report);
    await drag(browser, base, report);
    await localSpeed(browser, base, report);
  } finally {
    await browser.close();
  }
}
