/**
 * <adjoint-trace> and <adjoint-check> in Chromium against the real service (one file: one
 * browser and one server for both). The trace: one row per step of `/v1/trace`, and the stepper
 * (keys ←, →, Home, End on the focused figure, and its buttons) moves the highlighted row and
 * graph node together, forwards through values and tangents and, in the reverse sweep,
 * backwards through adjoints, each as `/v1/trace` gives them. The check: a wrong derivative
 * (the chain rule forgotten) fails and a right one passes, each exactly as `/v1/check` grades it
 * at the same random points, with the points of a failure listed; an empty answer asks for one.
 */
import t, { type Test } from 'tap';
import type { Locator } from 'playwright-core';
import { RECORD_EVENTS, api, part, ready, recordedEvents, tag, until, withBrowser } from './browser.js';

interface Step {
  id: string;
  op: string;
  value: number;
  tangent: number;
  adjoint: number;
}

interface Grade {
  pass: boolean;
  score: number;
  points: number;
  passed: number;
  failures: { point: Record<string, number>; expected: number; got: number }[];
}

interface Trace {
  value: number;
  steps: Step[];
}

/** The number a cell shows (formatNumber's text: '−' for minus, 5 significant digits). */
const cellNumber = (text: string | null): number => Number((text ?? '').replace('−', '-'));

/** Checks that step `i` is the current one in the property, the table and the graph, with `/v1/trace`'s numbers. */
async function current(t: Test, host: Locator, trace: Trace, i: number, sweep: 'forwards' | 'reverse', label: string): Promise<void> {
  const step = trace.steps[i];
  const rows = host.locator('[part~="table"] tr[aria-current="step"]');
  await host.locator(`[part~="table"] tr[data-step="${i}"][aria-current="step"]`).waitFor({ timeout: 10_000 });
  t.equal(await rows.count(), 1, `${label}: one current row`);
  t.equal(await host.evaluate((el) => el.step), i, `${label}: the step property is ${i}`);
  const row = rows.first();
  t.equal(await row.getAttribute('data-id'), step.id, `${label}: the current row is ${step.id} (${step.op})`);
  const nodes = host.locator('[part~="graph"] g.current');
  t.equal(await nodes.count(), 1, `${label}: one current node`);
  t.equal(await nodes.first().getAttribute('data-id'), step.id, `${label}: the current node is ${step.id}`);
  const close = (shown: number, exact: number, what: string): void => {
    t.ok(Math.abs(shown - exact) <= 1e-4 * Math.max(1, Math.abs(exact)), `${label}: ${what} ${shown} is /v1/trace's ${exact} to the digits shown`);
  };
  close(cellNumber(await row.locator('td.value').textContent()), step.value, 'value');
  if (sweep === 'forwards') close(cellNumber(await row.locator('td.tangent').textContent()), step.tangent, 'tangent');
  else close(cellNumber(await row.locator('td.adjoint').textContent()), step.adjoint, 'adjoint');
}

await withBrowser(t, {}, async (session) => {
  const program = 'x*y + sin(x)';
  const at = { x: 0.5, y: 4.2 };

  await session.test('the lab trace x*y + sin(x) at (0.5, 4.2): rows, and the stepper by keys and buttons', { html: session.html(tag('adjoint-trace', { id: 'tr' })) }, async (t, { page }) => {
    const host = page.locator('#tr');
    await ready(host);
    const oracle = await api<Trace>(session.server.base, 'trace', { program, at, tangents: { x: 1, y: 0 } });
    t.equal(oracle.status, 200, '/v1/trace answers');
    const trace = oracle.body;
    const n = trace.steps.length;
    t.ok(n >= 3, `${n} steps`);
    const ids = await host.locator('[part~="table"] tr[data-step]').evaluateAll((rows) => rows.map((r) => r.dataset.id as string));
    t.strictSame(ids, trace.steps.map((s) => s.id), "one row per step, in /v1/trace's order");
    const nodeIds = await host.locator('[part~="graph"] g.node[data-step]').evaluateAll((gs) => gs.map((g) => g.dataset.id as string));
    t.strictSame(nodeIds, trace.steps.map((s) => s.id), 'one graph node per step');
    await current(t, host, trace, 0, 'forwards', 'at first');

    await host.focus();
    await page.keyboard.press('ArrowRight');
    await current(t, host, trace, 1, 'forwards', '→');
    await page.keyboard.press('End');
    await current(t, host, trace, n - 1, 'forwards', 'End');
    t.equal(await part(host, 'forward').isDisabled(), true, 'at the end, forward is disabled');
    await page.keyboard.press('ArrowRight');
    await current(t, host, trace, n - 1, 'forwards', '→ at the end stays');
    await page.keyboard.press('ArrowLeft');
    await current(t, host, trace, n - 2, 'forwards', '←');
    await page.keyboard.press('Home');
    await current(t, host, trace, 0, 'forwards', 'Home');
    t.equal(await part(host, 'back').isDisabled(), true, 'at the start, back is disabled');

    await part(host, 'forward').click();
    await current(t, host, trace, 1, 'forwards', 'the forward button');
    await part(host, 'last').click();
    await current(t, host, trace, n - 1, 'forwards', 'the last button');
    await part(host, 'back').click();
    await current(t, host, trace, n - 2, 'forwards', 'the back button');
    await part(host, 'first').click();
    await current(t, host, trace, 0, 'forwards', 'the first button');
    t.match(await part(host, 'readout').textContent(), new RegExp(`Step ${trace.steps[0].id}`), 'the readout names the current step');
  });

  // A chain whose steps' adjoints all differ (1, x, x cos(xy)).
  const chain = 'sin(x*y) * x';
  await session.test('the reverse sweep: from the output back, adjoints as /v1/trace gives them', { html: session.html(tag('adjoint-trace', { id: 'tr', program: chain, inputs: at, mode: 'reverse', seed: 'y' })) }, async (t, { page }) => {
    const host = page.locator('#tr');
    await ready(host);
    const trace = (await api<Trace>(session.server.base, 'trace', { program: chain, at, tangents: { x: 0, y: 1 } })).body;
    t.equal(new Set(trace.steps.map((s) => s.adjoint)).size, trace.steps.length, `the adjoints differ: ${trace.steps.map((s) => s.adjoint).join(', ')}`);
    const n = trace.steps.length;
    await current(t, host, trace, n - 1, 'reverse', 'reverse starts at the output');
    t.equal(trace.steps[n - 1].adjoint, 1, 'whose adjoint is 1');
    await host.focus();
    await page.keyboard.press('ArrowRight');
    await current(t, host, trace, n - 2, 'reverse', '→ goes back a step');
    await page.keyboard.press('End');
    await current(t, host, trace, 0, 'reverse', 'End: the first step');
    await page.keyboard.press('Home');
    await current(t, host, trace, n - 1, 'reverse', 'Home: the output again');
    // The property moves the highlight too.
    await host.evaluate((el) => (el.step = 1));
    await current(t, host, trace, 1, 'reverse', 'step = 1 set as a property');
    t.equal(await host.getAttribute('step'), '1', 'and reflected');
  });

  await session.test('a wrong and a right answer to d/dx sin(x^2), graded as /v1/check grades them', { html: session.html(tag('adjoint-check', { id: 'c' })), init: RECORD_EVENTS }, async (t, { page }) => {
    const host = page.locator('#c');
    await ready(host);
    const verdict = part(host, 'verdict');
    t.equal(await verdict.isHidden(), true, 'no verdict before an answer');

    await part(host, 'submit').click();
    t.match(await part(host, 'error').textContent(), /Type your derivative/, 'an empty answer: the element asks for one');

    const grade = async (answer: string): Promise<Grade> =>
      (await api<Grade>(session.server.base, 'check', { program: 'sin(x^2)', answer: { grad: { x: answer } }, wrt: ['x'], random: { n: 20, ranges: { x: [-2, 2] } }, seed: 1 })).body;

    for (const [answer, expected] of [
      ['cos(x^2)', 'fail'],
      ['2*x*cos(x^2)', 'pass'],
    ] as const) {
      const oracle = await grade(answer);
      t.equal(oracle.pass, expected === 'pass', `/v1/check grades ${answer}: ${expected}`);
      const before = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-result').length;
      await part(host, 'answer').fill(answer);
      await part(host, 'answer').press('Enter');
      await host.locator(`[part~="verdict"][data-verdict="${expected}"]`).waitFor({ timeout: 20_000 });
      t.equal(Number(await verdict.getAttribute('data-score')), oracle.score, `${answer}: the score is the service's (${oracle.score})`);
      t.equal(await part(host, 'error').isHidden(), true, `${answer}: no error`);
      if (expected === 'fail') {
        const listed = await verdict.locator('li[data-point]').evaluateAll((items) => items.map((li) => ({ point: JSON.parse(li.dataset.point), expected: Number(li.dataset.expected), got: Number(li.dataset.got) })));
        t.strictSame(
          listed,
          oracle.failures.map((f) => ({ point: f.point, expected: f.expected, got: f.got })),
          `${answer}: the points where it differs, with the expected and the given values, are the service's`,
        );
        t.match(await verdict.textContent(), new RegExp(`differs at ${oracle.points - oracle.passed} of ${oracle.points} points`), `${answer}: says at how many points`);
      } else {
        t.match(await verdict.textContent(), /Correct/, `${answer}: says correct`);
        t.equal(await verdict.locator('li').count(), 0, `${answer}: no failures listed`);
      }
      const result = await until('adjoint-result', async () => {
        const results = (await recordedEvents(page)).filter((e) => e.type === 'adjoint-result');
        return results.length > before ? results[results.length - 1] : undefined;
      });
      t.match(result.detail, { pass: oracle.pass, score: oracle.score, points: oracle.points }, `${answer}: adjoint-result carries the grade`);
    }
    t.match(await part(host, 'readout').textContent(), /Correct/, 'the readout speaks the verdict');
  });

  await session.test('an answer that does not parse: the reason the service gives', { html: session.html(tag('adjoint-check', { id: 'c', program: 'x^3', ranges: { x: [-1, 1] } })) }, async (t, { page }) => {
    const host = page.locator('#c');
    await ready(host);
    await part(host, 'answer').fill('3*x^');
    await part(host, 'submit').click();
    await host.locator('[part~="verdict"][data-verdict="fail"]').waitFor({ timeout: 20_000 });
    t.match(await part(host, 'verdict').textContent(), /Not accepted: .*parse/, 'graded wrong, with why');
  });
});
