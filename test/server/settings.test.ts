/**
 * The settings are one table (src/server/settings.ts, with the limits of src/compute/limits.ts):
 * the server reads exactly the variables it lists, at the defaults it lists, within the ranges
 * it lists; `compute()` takes its defaults from it; docs/configuration.md is made from it.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { DEFAULT_LIMITS, LIMIT_SETTINGS } from '../../src/compute/limits.js';
import { ConfigError, availableCpus, loadConfig } from '../../src/server/config.js';
import { PER_CPU, SETTINGS, SERVER_SETTINGS, configurationMarkdown } from '../../src/server/settings.js';
import { file } from '../../scripts/paths.js';

t.test('docs/configuration.md is the table (run `npm run docs` after changing it)', async (t) => {
  t.equal(readFileSync(file('docs/configuration.md'), 'utf8'), configurationMarkdown());
});

t.test('the server reads every variable of the table, and no other', async (t) => {
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, name) => {
      if (typeof name === 'string') read.add(name);
      return undefined;
    },
  });
  loadConfig(env);
  // API_KEYS_REQUIRED is read only when keys are set.
  loadConfig(new Proxy({ API_KEYS: 'a-long-key' } as Record<string, string | undefined>, { get: (target, name) => (typeof name === 'string' && read.add(name) && target[name]) || undefined }));
  t.strictSame([...read].sort(), SETTINGS.map((s) => s.env).sort());
  t.equal(new Set(SETTINGS.map((s) => s.env)).size, SETTINGS.length, 'each once');
});

t.test("each whole-number setting's default is what the server takes, and its range is what it accepts", async (t) => {
  const config = loadConfig({}) as unknown as Record<string, unknown> & { limits: Record<string, number> };
  for (const [key, s] of Object.entries(SERVER_SETTINGS)) {
    if (s.kind !== 'integer') continue;
    t.equal(config[key], s.default === PER_CPU ? availableCpus() : s.default, `${s.env}: its default`);
    t.throws(() => loadConfig({ [s.env]: String(s.min - 1) }), ConfigError, `${s.env}: ${s.min - 1} is refused`);
    t.doesNotThrow(() => loadConfig({ [s.env]: String(s.min) }), `${s.env}: ${s.min} is accepted`);
    if ('max' in s) t.throws(() => loadConfig({ [s.env]: String(s.max + 1) }), ConfigError, `${s.env}: ${s.max + 1} is refused`);
  }
  for (const s of LIMIT_SETTINGS) {
    t.equal(DEFAULT_LIMITS[s.name], s.default, `${s.name}: compute()'s default`);
    const variable = s.env;
    if (variable === null) continue;
    t.equal(config.limits[s.name], s.default, `${variable}: the server's default`);
    t.equal((loadConfig({ [variable]: String(s.min + 7) }).limits as Record<string, number>)[s.name], s.min + 7, `${variable} sets ${s.name}`);
    t.throws(() => loadConfig({ [variable]: String(s.min - 1) }), ConfigError, `${variable}: ${s.min - 1} is refused`);
  }
});
