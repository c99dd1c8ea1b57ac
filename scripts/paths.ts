/**
 * Where the package's files are, from code run as TypeScript (through tsx) or as the JavaScript
 * tsc built from it (dist/ for `npm run bench`, build/ for `npm test`): the nearest folder up
 * with a package.json. Benchmarks, tests and scripts find the package's files through it, never
 * by a path relative to their own, which differs between the two.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const root = packageRoot();

/** A file of the package, by its path from the package's root. */
export const file = (path: string): string => join(root, path);

/** True when this is the built JavaScript rather than the TypeScript sources. */
export const built = extname(fileURLToPath(import.meta.url)) === '.js';

/** Where this code's tree starts: the package's root for the sources, dist/ or build/ for built code. */
const treeRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * One of the package's TypeScript modules (`src/server/server.ts`, say) as this code runs it:
 * its built JavaScript in the same tree, or the source itself. Absolute.
 */
export function moduleFile(source: string): string {
  return built ? join(treeRoot, source.replace(/\.ts$/, '.js')) : file(source);
}

/**
 * The arguments that make `node` run one of the package's TypeScript entry points as this code
 * runs: the built JavaScript in the same tree, or the source through tsx.
 */
export function nodeArgs(source: string): string[] {
  return built ? [moduleFile(source)] : ['--import', 'tsx', file(source)];
}
