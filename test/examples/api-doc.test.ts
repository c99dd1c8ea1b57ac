/**
 * docs/api.md is the repository's statement of the contract: every endpoint the service has is
 * in its table of endpoints, every problem code is in its table of errors with the status the
 * service sends, and the README sends readers there, not to a file outside the repository.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { computeEndpoints } from '../../src/index.js';
import { Problem, type ProblemCode } from '../../src/compute/problem.js';
import { problemSchema } from '../../src/compute/schemas/index.js';
import { file } from '../../scripts/paths.js';

const read = (path: string): string => readFileSync(file(path), 'utf8');
const API = read('docs/api.md');

/** The text of a `## N. ...` section of docs/api.md, up to the next section. */
function section(n: number): string {
  const start = API.indexOf(`\n## ${n}. `);
  if (start < 0) throw new Error(`docs/api.md has no section ${n}`);
  const end = API.indexOf('\n## ', start + 1);
  return API.slice(start, end < 0 ? undefined : end);
}

/** The rows of the markdown tables of a text, each as its cells. */
const rows = (text: string): string[][] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim()));

t.test('every compute endpoint has a row in section 3', async (t) => {
  const documented = rows(section(3)).map((r) => r[0]);
  for (const endpoint of computeEndpoints) t.ok(documented.includes(`\`${endpoint}\``), `${endpoint} is documented`);
});

t.test('every problem code is in section 6 with the status the service sends', async (t) => {
  const table = rows(section(6));
  for (const code of problemSchema.properties.code.enum as readonly ProblemCode[]) {
    const status = new Problem(code, 'x').status;
    const row = table.find((r) => r.length >= 2 && new RegExp('`' + code + '`').test(r[1]));
    if (row === undefined) {
      t.fail(`${code} has no row in section 6`);
      continue;
    }
    const listed = row[0].split('/').map((s) => Number(s.trim()));
    const position = row[1].split(/[,/]/).findIndex((c) => c.includes(`\`${code}\``));
    t.equal(listed.length > 1 ? listed[position] : listed[0], status, `${code}: status ${status}`);
  }
});

t.test('the README sends readers to docs/api.md, and nothing to ../shared', async (t) => {
  const readme = read('README.md');
  t.match(readme.slice(0, readme.indexOf('\n## ')), /\]\(docs\/api\.md\)/, "the README's first paragraph links the contract");
  t.notMatch(readme, /\.\.\/shared\/SPEC/, 'no link to ../shared/SPEC.md');
  t.notMatch(API, /\.\.\/shared|SPEC\.md/, 'docs/api.md stands alone');
});
