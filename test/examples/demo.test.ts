/**
 * `npm run demo` (src/demo.ts) says what is true: each request it prints is answered over HTTP
 * exactly as the demo shows it computed in-process, and its last line tells the reader how to
 * start the service, with a script package.json has and the server's default address.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { loadConfig } from '../../src/server/config.js';
import { post, startServer } from '../server/harness.js';
import { firstDifference } from './document.js';
import { nodeArgs, root } from '../../scripts/paths.js';

const ROOT = `${root}/`;

const output = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
  execFile(process.execPath, nodeArgs('src/demo.ts'), { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
    if (error !== null && typeof error.code !== 'number') reject(error);
    else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
  });
});
const lines = output.stdout.trimEnd().split('\n');

t.test('the demo runs', async (t) => {
  t.equal(output.code, 0, `exits 0${output.stderr === '' ? '' : ` (stderr: ${output.stderr.slice(0, 300)})`}`);
});

t.test('each request the demo prints is answered over HTTP as the demo shows', async (t) => {
  const shown = lines.flatMap((line, k) => {
    const m = /^POST \/v1\/(\w+) (.*)$/.exec(line);
    const answer = /^ {2}-> (.*)$/.exec(lines[k + 1] ?? '');
    return m === null || answer === null ? [] : [{ endpoint: m[1], body: m[2], answer: answer[1] }];
  });
  t.ok(shown.length >= 5, `the demo shows its requests with their answers (${shown.length})`);
  const { base } = await startServer(t, { WORKERS: '1' });
  for (const { endpoint, body, answer } of shown) {
    const reply = await post(base, endpoint, JSON.parse(body));
    const difference = firstDifference(reply.json, JSON.parse(answer));
    t.equal(difference, null, `POST /v1/${endpoint} ${body.slice(0, 80)}: the demo's answer${difference === null ? '' : ` (${difference})`}`);
  }
});

t.test('the last line says how to start the service, truly', async (t) => {
  const last = lines.at(-1) ?? '';
  const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
  const named = /`npm (?:run )?(start|[\w:-]+)`/.exec(last)?.[1];
  t.ok(named !== undefined, `names an npm script: ${last}`);
  t.match(scripts[named ?? ''] ?? '', /server\/server\.(js|ts)/, `npm ${String(named)} starts the server`);
  const port = /localhost:(\d+)/.exec(last)?.[1];
  t.equal(Number(port), loadConfig({}).port, "at the server's default port");
  t.notMatch(last, /arriv|will|until/i, 'nothing still to come');
});
