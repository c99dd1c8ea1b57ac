/**
 * The lab document cannot go stale: every curl command of examples/lab2/README.md is replayed
 * against the real server and its answer compared, as JSON, with the output the document shows
 * below it; every `$ node examples/lab2/...` script is run against the same server and its
 * output compared, line for line, with the document's. The lab's cases of PyTorch's reference
 * vectors (test/vectors, names "lab/...") must each be a command of the document, whose
 * output shown agrees with PyTorch's numbers.
 *
 * After a deliberate change of the service's answers, `ADJOINT_UPDATE_EXAMPLES=1 npx tap
 * test/examples/lab2.test.ts` writes the real outputs into the document (then read the diff).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { oracle } from '../oracle-cases.js';
import { send, startServer } from '../server/harness.js';
import { firstDifference, parseDocument, withOutputs } from './document.js';
import { file, root } from '../../scripts/paths.js';

const ROOT = root;
const DOCUMENT = file('examples/lab2/README.md');
const UPDATE = process.env.ADJOINT_UPDATE_EXAMPLES === '1';

/** Each line of an answer (one for JSON, one per message for NDJSON), as curl prints it. */
const linesOf = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

function parseLines(lines: readonly string[], what: string): unknown[] {
  return lines.map((l, k) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`${what}, line ${k + 1} is not JSON: ${l.slice(0, 120)}`);
    }
  });
}

/** Runs `node args` from the repository's root with the service's URL; resolves with its exit code and output. */
function runScript(args: readonly string[], base: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: ROOT, env: { ...process.env, ADJOINT_URL: base }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('examples/lab2/README.md: every curl command answers what the document shows', async (t) => {
  const document = parseDocument(readFileSync(DOCUMENT, 'utf8'));
  t.ok(document.commands.length >= 20, `the document has the lab's commands (${document.commands.length} found)`);
  t.ok(document.scripts.length >= 2, `the document runs the exercise's scripts (${document.scripts.length} found)`);
  const { base } = await startServer(t, { WORKERS: '2' });

  const answers = await Promise.all(
    document.commands.map((c) => send(base, c.path, { method: c.method, headers: c.headers, ...(c.body === undefined ? {} : { body: c.body }) })),
  );
  const scriptRuns = await Promise.all(document.scripts.map((s) => runScript(s.args, base)));

  if (UPDATE) {
    const items = [...document.commands, ...document.scripts];
    const outputs = [...answers.map((a) => linesOf(a.text)), ...scriptRuns.map((r) => r.stdout.replace(/\n$/, '').split('\n'))];
    writeFileSync(DOCUMENT, withOutputs(document, items, outputs));
    t.pass(`wrote the outputs of ${items.length} commands and scripts into ${DOCUMENT}`);
    return;
  }

  document.commands.forEach((command, k) => {
    const label = `line ${command.line}: ${command.text.slice(0, 110)}${command.text.length > 110 ? '...' : ''}`;
    const answer = answers[k];
    if (command.body !== undefined) {
      try {
        JSON.parse(command.body);
      } catch {
        t.fail(`${label}: the -d body is not JSON`);
        return;
      }
    }
    if (command.shown.length === 0) {
      t.fail(`${label}: the document shows no output (run with ADJOINT_UPDATE_EXAMPLES=1 to fill it in)`);
      return;
    }
    t.ok(answer.status < 500, `${label}: no server error (${answer.status})`);
    const got = parseLines(linesOf(answer.text), 'the answer');
    const shown = parseLines(command.shown, `the document at line ${command.output[0] + 1}`);
    const difference = firstDifference(got, shown);
    t.equal(difference, null, `${label}: the answer is the output shown${difference === null ? '' : ` (${difference})`}`);
  });

  document.scripts.forEach((script, k) => {
    const label = `line ${script.line}: ${script.text}`;
    const run = scriptRuns[k];
    t.equal(run.code, 0, `${label}: exits with 0${run.stderr === '' ? '' : ` (stderr: ${run.stderr.slice(0, 400)})`}`);
    t.strictSame(run.stdout.replace(/\n$/, '').split('\n'), script.shown, `${label}: prints the output shown`);
  });
});

/** Where `got` is not within atol + rtol |expected| of `expected` (every key of expected, recursively), or null. */
function notClose(got: unknown, expected: unknown, tol: { rtol: number; atol: number }, path = ''): string | null {
  if (typeof expected === 'number') {
    const ok = typeof got === 'number' && Math.abs(got - expected) <= tol.atol + tol.rtol * Math.abs(expected);
    return ok ? null : `${path || '/'}: the document shows ${JSON.stringify(got)}, PyTorch ${expected}`;
  }
  if (expected !== null && typeof expected === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got) !== Array.isArray(expected)) return `${path || '/'}: the document shows ${JSON.stringify(got)}`;
    if (Array.isArray(expected) && (got as unknown[]).length !== expected.length) return `${path || '/'}: ${(got as unknown[]).length} elements, PyTorch ${expected.length}`;
    for (const [key, value] of Object.entries(expected)) {
      const d = notClose((got as Record<string, unknown>)[key], value, tol, `${path}/${key}`);
      if (d !== null) return d;
    }
    return null;
  }
  return Object.is(got, expected) ? null : `${path || '/'}: the document shows ${JSON.stringify(got)}, PyTorch ${JSON.stringify(expected)}`;
}

t.test("the document's lab computations are PyTorch's reference cases, with PyTorch's numbers", async (t) => {
  const document = parseDocument(readFileSync(DOCUMENT, 'utf8'));
  const labCases = oracle.cases.filter((c) => c.name.startsWith('lab/'));
  t.ok(labCases.length >= 5, `the reference vectors hold the lab's cases (${labCases.length})`);
  // An empty "at" is the default: the document may leave it out.
  const normalised = (body: Record<string, unknown>): Record<string, unknown> => {
    const { at, ...rest } = body;
    return at !== undefined && Object.keys(at as object).length > 0 ? { ...rest, at } : rest;
  };
  for (const c of labCases) {
    const command = document.commands.find(
      (d) => d.path === `/v1/${c.endpoint}` && d.body !== undefined && d.shown.length === 1 && firstDifference(normalised(JSON.parse(d.body) as Record<string, unknown>), normalised(c.request)) === null,
    );
    if (command === undefined) {
      t.fail(`${c.name}: the document has no ${c.endpoint} command with the request ${JSON.stringify(c.request)}`);
      continue;
    }
    const difference = notClose(JSON.parse(command.shown[0]), c.expect, c.tol);
    t.equal(difference, null, `${c.name} (line ${command.line}): the output shown is PyTorch's within rtol ${c.tol.rtol}, atol ${c.tol.atol}${difference === null ? '' : ` (${difference})`}`);
  }
});
