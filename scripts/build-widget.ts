/**
 * `npm run build`'s second half: the course widgets bundled by esbuild into dist/widget/
 * (adjoint.js, the playground's page, script and style sheet, source maps), each with its
 * gzip and brotli forms beside it, which the server sends as they are. Prints each file's size.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { asset, bundleWidget } from '../src/server/widget-assets.js';

const source = fileURLToPath(new URL('../src/widget/', import.meta.url));
const out = fileURLToPath(new URL('../dist/widget/', import.meta.url));

const files = await bundleWidget(source);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const [name, bytes] of files) {
  const served = asset(name, bytes, {}, 11);
  writeFileSync(out + name, served.identity);
  writeFileSync(`${out}${name}.gz`, served.gzip);
  writeFileSync(`${out}${name}.br`, served.br);
  process.stdout.write(`dist/widget/${name}: ${served.identity.length} bytes, ${served.gzip.length} gzipped, ${served.br.length} brotli\n`);
}
