/**
 * Where the package's files are, from a benchmark run as TypeScript (bench/, through tsx) or as
 * built JavaScript (dist/bench/, as `npm run bench` runs it): the nearest folder up with a package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: no package.json above the benchmarks');
    dir = up;
  }
  return dir;
}

export const root = packageRoot();

/** A file of the package, by its path from the package's root. */
export const file = (path: string): string => join(root, path);

/** True when this is the built JavaScript rather than the TypeScript sources. */
export const built = extname(fileURLToPath(import.meta.url)) === '.js';
