/**
 * The streaming elements in Chromium against the real service: <adjoint-sample>'s histogram
 * fills as `/v1/sample`'s NDJSON lines arrive (its bins always summing to the count shown, n at
 * the end) and its estimates are the service's; <adjoint-optimize>'s final loss is
 * `/v1/optimize`'s, its curve grows while the run streams, and its stop button cancels the run
 * on the server, which `/metrics` shows (counted as `outcome="cancelled"`, its worker freed).
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { send } from '../server/harness.js';
import { api, part, ready, tag, until, withBrowser } from './browser.js';

/**
 * Records, at every change inside each `selector` element's shadow root, what `snapshot` (a
 * function of the host, as source text) returns, in `window.__snapshots[<id>]`.
 */
const recordSnapshots = (selector: string, snapshot: string): string => `
window.__snapshots = {};
customElements.whenDefined(${JSON.stringify(selector)}).then(() => {
  for (const el of document.querySelectorAll(${JSON.stringify(selector)})) {
    const list = (window.__snapshots[el.id] = []);
    const take = ${snapshot};
    new MutationObserver(() => list.push(take(el))).observe(el.shadowRoot, { subtree: true, childList: true, attributes: true, characterData: true });
  }
});
`;

const snapshots = <T>(page: Page, id: string): Promise<T[]> => page.locator('html').evaluate((root, key) => root.ownerDocument.defaultView.__snapshots[key] as T[], id);

/** A counter's value in Prometheus text with these labels (in any order), 0 when absent. */
function counter(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

/** `adjoint_evaluations_total` of `endpoint` by outcome, and the busy workers, from the service's /metrics. */
async function outcomesOf(base: string, endpoint: string): Promise<{ ok: number; error: number; cancelled: number; busy: number }> {
  const text = (await send(base, '/metrics')).text;
  const count = (outcome: string): number => counter(text, 'adjoint_evaluations_total', { endpoint, outcome });
  return { ok: count('ok'), error: count('error'), cancelled: count('cancelled'), busy: gauge(text, 'adjoint_workers_busy') };
}

const gauge = (text: string, name: string): number => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);

interface Estimate {
  n: number;
  mean: { value: number; grad: Record<string, number> };
  stderr: { value: number; grad: Record<string, number> };
}

// TIMEOUT_MS: long enough that a run the test stops is still running when it does (the
// cancelled count, not the time, tells a cancel from an error).
await withBrowser(t, { WORKERS: '2', TIMEOUT_MS: '60000' }, async (session) => {
  const { base } = session.server;
  const outcomes = (endpoint: string) => outcomesOf(base, endpoint);
  const metrics = async (): Promise<string> => (await send(base, '/metrics')).text;

  const n = 20_000;
  const sampleInit = recordSnapshots(
    'adjoint-sample',
    `(el) => ({ n: Number(el.shadowRoot.querySelector('[part~="count"]').dataset.n), total: [...el.shadowRoot.querySelectorAll('[part~="histogram"] rect[data-count]')].reduce((s, r) => s + Number(r.dataset.count), 0) })`,
  );
  await session.test('the sampler: the histogram fills from the stream, the estimates are /v1/sample\'s', { html: session.html(tag('adjoint-sample', { id: 's', n })), init: sampleInit }, async (t, { page }) => {
    const host = page.locator('#s');
    await ready(host);
    const seen = await snapshots<{ n: number; total: number }>(page, 's');
    const partial = seen.filter((s) => s.n > 0 && s.n < n);
    t.ok(partial.length >= 1, `the count went through ${[...new Set(partial.map((s) => s.n))].join(', ')} before ${n}: drawn as the lines arrived`);
    t.strictSame(
      seen.filter((s) => s.total !== s.n && s.total !== 0),
      [],
      'at every change the histogram holds exactly the draws counted',
    );
    t.equal(Number(await part(host, 'count').getAttribute('data-n')), n, `the count ends at n = ${n}`);
    const counts = await part(host, 'histogram').locator('rect[data-count]').evaluateAll((rects) => rects.map((r) => Number(r.dataset.count)));
    t.ok(counts.length >= 10, `${counts.length} bins`);
    t.equal(counts.reduce((a, b) => a + b, 0), n, 'the bins sum to n');

    const at = { mu: 0.5, sigma: 1.5 };
    const program = 'z = rsample(normal(mu, sigma))\nz^2';
    for (const [row, estimator] of [['pathwise', 'reparam'], ['score', 'score']] as const) {
      const oracle = await api<Estimate>(base, 'sample', { program, at, n, seed: 7, options: { estimator, samples: false } });
      t.equal(oracle.status, 200, `${row}: /v1/sample answers`);
      for (const name of ['mu', 'sigma']) {
        const cell = host.locator(`[part~="estimates"] tr[data-estimator="${row}"] td[data-param="${name}"]`);
        t.equal(Number(await cell.getAttribute('data-mean')), oracle.body.mean.grad[name], `${row} ∂E/∂${name}: the service's mean`);
        t.equal(Number(await cell.getAttribute('data-stderr')), oracle.body.stderr.grad[name], `${row} ∂E/∂${name}: the service's standard error`);
      }
    }
    // Closed form: E[z²] = μ² + σ², so ∇ = (2μ, 2σ) = (1, 3); the pathwise estimate within 4 standard errors.
    for (const [name, exact] of [['mu', 1], ['sigma', 3]] as const) {
      const cell = host.locator(`[part~="estimates"] tr[data-estimator="pathwise"] td[data-param="${name}"]`);
      const [mean, se] = [Number(await cell.getAttribute('data-mean')), Number(await cell.getAttribute('data-stderr'))];
      t.ok(Math.abs(mean - exact) <= 4 * se, `pathwise ∂E/∂${name} = ${mean} ± ${se}, the closed form ${exact}`);
    }

    // A parameter slider moved: a new stream, for the new point.
    await part(host, 'number-mu').fill('-1');
    await host.locator('[part~="estimates"] tr[data-estimator="score"] td[data-param="mu"][data-mean]').waitFor({ timeout: 20_000 });
    await until('the new stream to finish', async () => ((await host.getAttribute('data-state')) === 'idle' && (await part(host, 'count').getAttribute('data-n')) === String(n) ? true : undefined));
    const moved = await api<Estimate>(base, 'sample', { program, at: { mu: -1, sigma: 1.5 }, n, seed: 7, options: { estimator: 'reparam', samples: false } });
    const cell = host.locator('[part~="estimates"] tr[data-estimator="pathwise"] td[data-param="mu"]');
    await until('the pathwise estimate at mu = -1', async () => (Number(await cell.getAttribute('data-mean')) === moved.body.mean.grad.mu ? true : undefined));
    t.pass('after the mu slider moved to -1, the pathwise estimate is the service\'s there');
  });

  const curveInit = recordSnapshots('adjoint-optimize', `(el) => Number(el.shadowRoot.querySelector('[part~="curve"] path[data-points]')?.dataset.points ?? 0)`);
  await session.test('the optimiser: Rosenbrock with adam, the loss /v1/optimize gives, the curve and the path over the contours', { html: session.html(tag('adjoint-optimize', { id: 'o', optimizer: 'adam', lr: 0.05, steps: 500, every: 5 })), init: curveInit }, async (t, { page }) => {
    const host = page.locator('#o');
    await ready(host);
    const body = { program: '(1 - x)^2 + 100 * (y - x^2)^2', params: { x: -1.5, y: 2 }, optimizer: { name: 'adam', lr: 0.05 }, steps: 500, every: 5 };
    const oracle = await api<{ loss: number; params: Record<string, number>; history: { step: number; loss: number }[] }>(base, 'optimize', body);
    t.equal(oracle.status, 200, '/v1/optimize answers');
    t.equal(await part(host, 'optimizer').inputValue(), 'adam', 'the optimiser select shows adam');
    t.equal(Number(await part(host, 'loss').getAttribute('data-value')), oracle.body.loss, `the final loss is the service's (${oracle.body.loss})`);
    t.equal(Number(await part(host, 'step').getAttribute('data-step')), 500, 'after 500 steps');
    const points = Number(await part(host, 'curve').locator('path[data-points]').getAttribute('data-points'));
    t.ok(points >= oracle.body.history.length, `the curve has ${points} points, the service's ${oracle.body.history.length} history entries and the end`);
    const growth = await snapshots<number>(page, 'o');
    t.ok(growth.some((p) => p > 0 && p < points), `the curve was drawn before the result (${[...new Set(growth)].slice(0, 8).join(', ')}…)`);
    const contours = part(host, 'contours');
    t.equal(await contours.isVisible(), true, 'two parameters: the contours are drawn');
    await contours.locator('path.path[data-points]').waitFor({ timeout: 20_000 });
    t.ok((await contours.locator('path.contour').count()) >= 5, 'with contour lines');
    t.ok(Number(await contours.locator('path.path').getAttribute('data-points')) >= 2, 'and the path');
  });

  await session.test('stop: the curve grows while the run streams, and stop cancels it on the server', { html: session.html(tag('adjoint-optimize', { id: 'o', preset: 'iris', steps: 1_000_000, every: 20 })), init: curveInit }, async (t, { page }) => {
    const host = page.locator('#o');
    const before = await outcomes('optimize');
    const curve = part(host, 'curve').locator('path[data-points]');
    const pointsNow = async (): Promise<number> => Number((await curve.getAttribute('data-points')) ?? 0);
    const first = await until('the curve to start', async () => ((await pointsNow()) >= 3 ? pointsNow() : undefined), 30_000);
    const later = await until('the curve to grow', async () => ((await pointsNow()) > first ? pointsNow() : undefined), 30_000);
    t.ok(later > first, `the curve grew from ${first} to ${later} points while running`);
    t.equal(await part(host, 'stop').isEnabled(), true, 'stop is enabled while running');
    t.ok(gauge(await metrics(), 'adjoint_workers_busy') >= 1, 'a worker is computing the run');
    const steps = Number(await part(host, 'step').getAttribute('data-step'));
    t.ok(steps > 0 && steps < 1_000_000, `at step ${steps} of 10^6`);

    const aborted = page.waitForEvent('requestfailed', { predicate: (r) => r.url().endsWith('/v1/optimize'), timeout: 10_000 });
    const stoppedAt = Date.now();
    await part(host, 'stop').click();
    t.match((await aborted).failure()?.errorText, /ABORTED/, 'the browser aborts the request');
    const ended = await until('the server to count the run cancelled and free its worker', async () => {
      const now = await outcomes('optimize');
      return now.cancelled > before.cancelled && now.busy === 0 ? { ms: Date.now() - stoppedAt, now } : undefined;
    });
    t.equal(ended.now.cancelled, before.cancelled + 1, `the server counts the run as cancelled (outcome="cancelled"), ${ended.ms} ms after stop`);
    t.equal(ended.now.error, before.error, 'and not as an error');
    t.equal(await host.getAttribute('data-state'), 'stopped', 'the element says stopped');
    t.equal(await part(host, 'stop').isDisabled(), true, 'stop is disabled again');
    t.equal(await part(host, 'error').isHidden(), true, 'a stop is not an error');
    const shown = await pointsNow();
    await page.waitForTimeout(300);
    t.equal(await pointsNow(), shown, 'the curve no longer grows');
  });
});
