/**
 * <adjoint-check> in Chromium against the real service: a wrong derivative (the chain rule
 * forgotten) fails and a right one passes, each exactly as `/v1/check` grades it at the same
 * random points, with the points of a failure listed; an empty answer asks for one.
 */
import t from 'tap';
import { RECORD_EVENTS, api, part, ready, recordedEvents, tag, until, withBrowser } from './browser.js';

interface Grade {
  pass: boolean;
  score: number;
  points: number;
  passed: number;
  failures: { point: Record<string, number>; expected: number; got: number }[];
}

await withBrowser(t, {}, async (session) => {
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
      t.equal(oracle.pass, expected === 'pass', `/v1/check: ${answer} ${expected}s`);
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
