/**
 * The repository keeps its own copies of the project's shared reference files, so that a clone
 * alone runs its tests (test/vectors/README.md). Where the shared folder is beside the clone
 * (../shared, as in the project's CI), each copy must equal its original byte for byte: a change
 * to the shared vectors cannot leave the tests checking stale numbers unnoticed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import t from 'tap';
import { root } from '../../scripts/paths.js';

const ROOT = `${root}/`;
const SHARED = `${dirname(root)}/shared/`;

/** Each copy in the repository and the shared file it was copied from. */
const copies: readonly { copy: string; original: string }[] = [
  { copy: 'test/vectors/torch-oracle.json', original: 'vectors/torch-oracle.json' },
  { copy: 'examples/data/iris.csv', original: 'data/iris.csv' },
];

t.test('the copies are in the repository, and the reference vectors parse with their cases', async (t) => {
  for (const { copy } of copies) t.ok(existsSync(ROOT + copy), `${copy} is in the repository`);
  const vectors = JSON.parse(readFileSync(ROOT + 'test/vectors/torch-oracle.json', 'utf8')) as { source?: unknown; cases?: unknown };
  t.match(vectors.source, /PyTorch/, 'the vectors name their source');
  t.ok(Array.isArray(vectors.cases) && vectors.cases.length > 0, 'the vectors hold cases');
});

t.test('each copy equals the shared folder\'s file, byte for byte', { skip: existsSync(SHARED) ? false : `no shared folder at ${SHARED}: nothing to compare with` }, async (t) => {
  for (const { copy, original } of copies) {
    if (!existsSync(SHARED + original)) {
      t.fail(`${SHARED}${original} is missing: the shared folder no longer holds the original of ${copy}`);
      continue;
    }
    const same = readFileSync(ROOT + copy).equals(readFileSync(SHARED + original));
    t.ok(same, `${copy} equals ../shared/${original}${same ? '' : ` (copy it again: cp ../shared/${original} ${copy})`}`);
  }
});
