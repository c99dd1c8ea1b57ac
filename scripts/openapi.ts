/**
 * `npm run openapi`: writes openapi/openapi.json, the OpenAPI 3.1 document of the service, as the
 * app generates it from the route schemas and their examples (src/compute/schemas/).
 * test/server/openapi.test.ts fails when the file and the app disagree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';

// The environment is not read: the document is the same whoever generates it.
const app = await buildApp(loadConfig({ WORKERS: '1', LOG_LEVEL: 'silent' }));
try {
  await app.ready();
  const dir = new URL('../openapi/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  // Pretty JSON and a final newline, as the test expects.
  writeFileSync(new URL('openapi.json', dir), `${JSON.stringify(app.swagger(), null, 2)}\n`);
} finally {
  await app.close();
}
