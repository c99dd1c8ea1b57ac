/**
 * README.md and docs/api.md cannot go stale: every curl command either shows is replayed against
 * a real server and the answer compared, as JSON, with the output printed below it (a command
 * piped into `jq -r .field` must answer 200 with that field); and every `$ node <file>` run is
 * that document's own snippet of that name (the fenced block that starts `// <file>`), run as a
 * reader runs it, in a folder of its own outside the repository: once with the `ws` package
 * installed there (as `npm install ws` does), once with Node.js's built-in WebSocket and nothing
 * installed (as on Node.js 22+ or in a browser), each printing exactly the lines the document
 * shows. One of the two runs a WebSocket snippet (docs/api.md section 4 has it).
 *
 * After a deliberate change of the service's answers, `ADJOINT_UPDATE_EXAMPLES=1 npx tap
 * test/examples/readme.test.ts` writes the real outputs into both documents (then read the diff).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { send, startServer, type Reply } from '../server/harness.js';
import { firstDifference, parseDocument, withOutputs, type ScriptRun } from './document.js';
import { root } from '../../scripts/paths.js';

const ROOT = root;
const UPDATE = process.env.ADJOINT_UPDATE_EXAMPLES === '1';

/** The documents replayed, each with the fewest curl commands it should have (fewer: the parser lost some). */
const DOCUMENTS = [
  { name: 'README.md', fewest: 2 },
  { name: 'docs/api.md', fewest: 20 },
].map(({ name, fewest }) => {
  const path = join(ROOT, name);
  const text = readFileSync(path, 'utf8');
  return { name, fewest, path, text, document: parseDocument(text) };
});
const { base } = await startServer(t, { WORKERS: '2' });

/** Each line of an answer (one for JSON, one per message for NDJSON), as curl prints it. */
const linesOf = (answer: string): string[] => answer.split('\n').filter((l) => l.trim() !== '');

/** A document's fenced block that starts with `// <name>`, as the file a reader saves. */
function snippet(text: string, name: string): string | undefined {
  const blocks = text.split(/^```\w*\n/m).filter((_, k) => k % 2 === 1).map((b) => b.replace(/```\s*$/, ''));
  return blocks.find((b) => b.startsWith(`// ${name}\n`));
}

/** How a reader's runtime gets a WebSocket: the `ws` package, or Node's own (a flag before Node 22). */
type Runtime = { label: string; nodeArgs: string[]; installWs: boolean };
const builtIn: Runtime | null =
  typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function'
    ? { label: "Node's built-in WebSocket", nodeArgs: [], installWs: false }
    : process.allowedNodeEnvironmentFlags.has('--experimental-websocket')
      ? { label: "Node's built-in WebSocket (--experimental-websocket, as Node 22+ has it)", nodeArgs: ['--experimental-websocket'], installWs: false }
      : null;
const runtimes: Runtime[] = [{ label: 'the ws package (npm install ws)', nodeArgs: [], installWs: true }, ...(builtIn === null ? [] : [builtIn])];

/** Runs a document's snippet from a folder of its own, against the test server; resolves with its exit code and output. */
async function runSnippet(run: ScriptRun, code: string, runtime: Runtime): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const folder = mkdtempSync(join(tmpdir(), 'adjoint-doc-'));
  try {
    if (runtime.installWs) {
      mkdirSync(join(folder, 'node_modules'));
      symlinkSync(join(ROOT, 'node_modules', 'ws'), join(folder, 'node_modules', 'ws'), 'dir');
    }
    const file = run.args[0];
    writeFileSync(join(folder, file), code.replaceAll('ws://localhost:8080', base.replace(/^http/, 'ws')));
    return await new Promise((resolve, reject) => {
      execFile(process.execPath, [...runtime.nodeArgs, file, ...run.args.slice(1)], { cwd: folder, timeout: 60_000 }, (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      });
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

t.test('the documents run a WebSocket snippet', async (t) => {
  const runs = DOCUMENTS.flatMap(({ name, text, document }) => document.scripts.filter((s) => /WebSocket/.test(snippet(text, s.args[0] ?? '') ?? '')).map((s) => `${name} line ${s.line}`));
  t.ok(runs.length > 0, `README.md or docs/api.md runs its WebSocket snippet (${runs.join(', ') || 'none found'})`);
});

for (const { name, fewest, path, text, document } of DOCUMENTS) {
  t.test(`${name}: every curl command answers what the document shows`, async (t) => {
    t.ok(document.commands.length >= fewest, `${name} has its commands (${document.commands.length} found, at least ${fewest} expected)`);
    // One at a time, as a reader runs them: sent together, the million-draw samples would hold the
    // workers while the batch's shared deadline ran out.
    const answers: Reply[] = [];
    for (const c of document.commands) answers.push(await send(base, c.path, { method: c.method, headers: c.headers, ...(c.body === undefined ? {} : { body: c.body }) }));
    if (UPDATE) {
      const shown = document.commands.filter((c) => c.pipeline.length === 0);
      writeFileSync(path, withOutputs(document, shown, shown.map((c) => linesOf(answers[document.commands.indexOf(c)].text))));
      t.pass(`wrote the outputs of ${shown.length} commands into ${path}`);
      return;
    }
    document.commands.forEach((command, k) => {
      const label = `${name} line ${command.line}: ${command.text.slice(0, 110)}${command.text.length > 110 ? '...' : ''}`;
      const answer = answers[k];
      if (command.body !== undefined) {
        try {
          JSON.parse(command.body);
        } catch {
          t.fail(`${label}: the -d body is not JSON`);
          return;
        }
      }
      if (command.pipeline.length > 0) {
        // Piped into jq: the field it takes is there, as a string.
        const [program, ...args] = command.pipeline[0];
        const field = program === 'jq' ? /^\.(\w+)$/.exec(args.at(-1) ?? '')?.[1] : undefined;
        if (field === undefined) {
          t.fail(`${label}: piped into ${command.pipeline[0].join(' ')}, which the test cannot judge (only jq -r .field)`);
          return;
        }
        t.equal(answer.status, 200, `${label}: 200`);
        const value = (answer.json as Record<string, unknown> | undefined)?.[field];
        t.ok(typeof value === 'string' && value.length > 0, `${label}: the answer has .${field} for jq`);
        return;
      }
      if (command.shown.length === 0) {
        t.fail(`${label}: the document shows no output (run with ADJOINT_UPDATE_EXAMPLES=1 to fill it in)`);
        return;
      }
      t.ok(answer.status < 500, `${label}: no server error (${answer.status})`);
      let got: unknown[];
      let shown: unknown[];
      try {
        got = linesOf(answer.text).map((l) => JSON.parse(l) as unknown);
        shown = command.shown.map((l) => JSON.parse(l) as unknown);
      } catch (e) {
        t.fail(`${label}: not JSON (${(e as Error).message}): ${answer.text.slice(0, 200)}`);
        return;
      }
      const difference = firstDifference(got, shown);
      t.equal(difference, null, `${label}: the answer is the output shown${difference === null ? '' : ` (${difference})`}`);
    });
  });

  t.test(`${name}: each snippet run prints what the document shows, outside the repository`, async (t) => {
    if (document.scripts.length === 0) t.pass(`${name} runs no snippets`);
    for (const run of document.scripts) {
      const code = snippet(text, run.args[0] ?? '');
      if (code === undefined) {
        t.fail(`${name} line ${run.line}: ${run.text}: the document has no block starting // ${String(run.args[0])}`);
        continue;
      }
      for (const runtime of runtimes) {
        const label = `${name} line ${run.line}: ${run.text}, with ${runtime.label}`;
        const result = await runSnippet(run, code, runtime);
        if (UPDATE) {
          // Read again: the commands' outputs, written above, may have moved this run's lines.
          const current = parseDocument(readFileSync(path, 'utf8'));
          writeFileSync(path, withOutputs(current, [current.scripts[document.scripts.indexOf(run)]], [result.stdout.replace(/\n$/, '').split('\n')]));
          t.pass(`wrote the output of ${run.text} into ${path}`);
          break;
        }
        t.equal(result.code, 0, `${label}: exits with 0${result.stderr === '' ? '' : ` (stderr: ${result.stderr.slice(0, 400)})`}`);
        t.strictSame(result.stdout.replace(/\n$/, '').split('\n'), run.shown, `${label}: prints the output shown`);
      }
    }
  });
}
