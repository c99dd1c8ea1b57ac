/**
 * The Python client's own unittest suite (clients/python/test_adjoint.py) against the real
 * server, so that `npm test` covers the client an autograder uses. Skipped only when the
 * machine has no python3.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { startServer } from '../server/harness.js';
import { file } from '../../scripts/paths.js';

const CLIENT = `${file('clients/python')}/`;

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly missing: boolean;
}

/** Runs python3 with `args` in the client's folder; `missing` when there is no python3 to run. */
function python(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    // No __pycache__ left in the repository by the run.
    const child = spawn('python3', [...args], { cwd: CLIENT, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, output: String(e.message), missing: e.code === 'ENOENT' });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, missing: false });
    });
  });
}

const version = await python(['--version']);

t.test('clients/python: the unittest suite passes against the real server', { skip: version.missing ? 'python3 is not installed: the Python client is not tested' : false }, async (t) => {
  t.equal(version.code, 0, `python3 runs (${version.output.trim()})`);
  const { base } = await startServer(t, { WORKERS: '2' });
  const run = await python(['-m', 'unittest', '-v', 'test_adjoint'], { ADJOINT_URL: base });
  const ran = Number(/^Ran (\d+) tests?/m.exec(run.output)?.[1] ?? 0);
  t.equal(run.code, 0, `python3 -m unittest exits with 0${run.code === 0 ? '' : `:\n${run.output}`}`);
  t.ok(ran >= 20, `the suite ran its tests (${ran})`);
  t.notMatch(run.output, /skipped/, 'no test was skipped');
});
