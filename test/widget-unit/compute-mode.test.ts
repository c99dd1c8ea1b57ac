/**
 * Where an element computes (src/widget/attributes.ts): the `compute` attribute read as `auto`,
 * `service` or `local`, a wrong value an AttributeError naming the attribute and its options.
 * Where each request then goes (api.ts's `request`, which needs the DOM) is tested in Chromium:
 * test/widget/compute-modes.test.ts.
 */
import t from 'tap';
import { AttributeError, COMPUTE_MODES, parseComputeMode } from '../../src/widget/attributes.js';

t.test('compute: auto, service or local; absent or empty is auto', async (t) => {
  const cases: [string | null, string][] = [
    [null, 'auto'],
    ['', 'auto'],
    ['auto', 'auto'],
    ['service', 'service'],
    ['local', 'local'],
  ];
  for (const [text, mode] of cases) t.equal(parseComputeMode(text), mode, `compute=${JSON.stringify(text)}`);
  t.strictSame(COMPUTE_MODES, ['auto', 'service', 'local']);
});

t.test('a wrong compute: an AttributeError naming the attribute and its options', async (t) => {
  for (const text of ['Local', 'browser', 'forwards', ' local']) {
    try {
      parseComputeMode(text);
      t.fail(`compute="${text}": no error`);
    } catch (e) {
      t.ok(e instanceof AttributeError, `compute="${text}": an AttributeError`);
      t.equal((e as AttributeError).attribute, 'compute');
      t.match((e as Error).message, /^compute=".*" is not an option; use one of "auto", "service", "local"$/, (e as Error).message);
    }
  }
});
