/**
 * The top-level Dockerfile, parsed (dockerfile-ast) and linted (dockerfile-utils): plain syntax
 * the classic builder builds, stages on node:24-bookworm-slim (Node.js 24, the active LTS) by tag, production dependencies
 * only in the image, a non-root user, an exec-form CMD running the compiled server, EXPOSE of
 * the server's port, and a HEALTHCHECK on /healthz that works. And .dockerignore: the build
 * context has what the Dockerfile copies and not node_modules.
 */
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Copy, DockerfileParser, Run, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { startServer } from '../server/harness.js';
import { configFrom, dockerfilePath, healthCheckDefaultPort, readText, root, runHealthCheck, uidOf } from './deploy-files.js';

const BASE = 'node:24-bookworm-slim';

if (!existsSync(dockerfilePath)) {
  t.fail(`no Dockerfile at ${dockerfilePath}`);
} else {
  const text = readText(dockerfilePath);
  const parsed = DockerfileParser.parse(text);
  const instructions = parsed.getInstructions();
  const froms = parsed.getFROMs();
  const finalLine = froms.length === 0 ? 0 : froms[froms.length - 1].getRange().start.line;
  const inFinal = <T extends Instruction>(list: T[]): T[] => list.filter((i) => i.getRange().start.line >= finalLine);
  const final = inFinal(instructions);
  const keyword = (k: string): Instruction[] => final.filter((i) => i.getKeyword() === k);

  /** Arguments of an exec-form (JSON array) instruction, or null for the shell form. */
  const execForm = (content: string): string[] | null => {
    if (!content.trim().startsWith('[')) return null;
    try {
      const value = JSON.parse(content) as unknown;
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
    } catch {
      return null;
    }
  };

  t.test('dockerfile-utils finds nothing wrong with it', async (t) => {
    const problems = validate(text).filter((d) => d.severity === 1 || d.severity === 2);
    t.strictSame(
      problems.map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
      [],
      'no errors or warnings',
    );
  });

  t.test('the classic builder builds it: no parser directive, heredoc or BuildKit-only flag', async (t) => {
    t.strictSame(parsed.getDirectives().map((d) => d.getName()), [], 'no parser directive (# syntax=...)');
    const heredocs = instructions.flatMap((i) => (i instanceof Run || i instanceof Copy ? i.getHeredocs() : []));
    t.equal(heredocs.length, 0, 'no heredoc');
    const allowed: Record<string, string[]> = {
      FROM: ['platform'],
      COPY: ['from', 'chown'],
      ADD: ['chown'],
      HEALTHCHECK: ['interval', 'timeout', 'start-period', 'retries'],
    };
    for (const i of instructions) {
      const flags = 'getFlags' in i && typeof i.getFlags === 'function' ? (i.getFlags() as { getName(): string }[]).map((f) => f.getName()) : [];
      const extra = flags.filter((f) => !(allowed[i.getKeyword()] ?? []).includes(f));
      if (extra.length > 0) t.fail(`line ${i.getRange().start.line + 1}: ${i.getKeyword()} --${extra.join(' --')} needs BuildKit`);
    }
    t.pass('flags the classic builder knows');
  });

  t.test(`every stage starts from ${BASE} by tag, in two stages or more`, async (t) => {
    t.ok(froms.length >= 2, `${froms.length} stages: build with dev dependencies, run without`);
    const stages: string[] = [];
    for (const from of froms) {
      const image = from.getImage() ?? '';
      if (stages.includes(image)) t.pass(`FROM ${image}: an earlier stage`);
      else {
        t.equal(image, BASE, `FROM ${image}`);
        t.equal(from.getImageDigest(), null, `FROM ${image}: by tag, no digest`);
      }
      const stage = from.getBuildStage();
      if (stage !== null) stages.push(stage);
    }
    t.equal(froms[froms.length - 1]?.getImage(), BASE, `the image that runs is ${BASE}`);
  });

  t.test('the image has the production dependencies and the compiled JavaScript only', async (t) => {
    const installs = keyword('RUN').filter((i) => /\bnpm\s+(ci|install|i)\b/.test(i.getArgumentsContent() ?? ''));
    t.ok(installs.length > 0, 'the final stage installs dependencies');
    for (const run of installs) t.match(run.getArgumentsContent(), /--omit[= ]dev|--production\b/, `RUN ${run.getArgumentsContent()}: without dev dependencies`);
    const fromBuild = keyword('COPY').filter((c) => /--from=/.test(c.getTextContent()));
    t.ok(fromBuild.length > 0, 'copies the build stage’s output');
  });

  t.test('it runs as a non-root user: the image’s node user, uid 1000', async (t) => {
    const users = keyword('USER');
    t.ok(users.length > 0, 'a USER in the final stage');
    const user = users[users.length - 1]?.getArgumentsContent() ?? 'root';
    const uid = uidOf(user);
    t.not(uid, 0, `USER ${user} is not root`);
    t.equal(uid, 1000, `USER ${user}: uid 1000, the uid the Kubernetes manifests run as`);
    const lastRun = keyword('RUN').at(-1)?.getRange().start.line ?? -1;
    t.ok(users[users.length - 1].getRange().start.line > lastRun, 'after the last RUN: nothing after it runs as root');
  });

  t.test('an exec-form CMD runs the compiled server, which handles SIGTERM itself', async (t) => {
    const cmds = keyword('CMD');
    t.equal(cmds.length, 1, 'one CMD');
    const cmd = execForm(cmds[0]?.getArgumentsContent() ?? '');
    t.ok(cmd !== null, 'exec form (JSON), so node is PID 1 and gets SIGTERM');
    t.equal(cmd?.[0], 'node', 'node');
    const script = cmd?.[1] ?? '';
    t.match(script, /^dist\/(.+)\.js$/, `runs compiled JavaScript (${script})`);
    const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    t.equal(source, 'src/server/server.ts', 'the server’s entry point');
    t.ok(existsSync(join(root, source)), `${source} exists`);
    for (const entrypoint of keyword('ENTRYPOINT')) t.ok(execForm(entrypoint.getArgumentsContent() ?? '') !== null, 'ENTRYPOINT in exec form');
    for (const signal of keyword('STOPSIGNAL')) t.equal(signal.getArgumentsContent(), 'SIGTERM', 'STOPSIGNAL SIGTERM');
  });

  t.test('EXPOSE 8080: the port the server listens on', async (t) => {
    const exposed = keyword('EXPOSE').flatMap((i) => i.getArguments().map((a) => a.getValue()));
    t.strictSame(exposed, ['8080'], 'EXPOSE 8080');
    const env = new Map(inFinal(parsed.getENVs()).flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])));
    t.equal(configFrom(env.has('PORT') ? { PORT: env.get('PORT')! } : {}).port, 8080, 'the server’s port in the image');
  });

  t.test('HEALTHCHECK: node asks /healthz on the port PORT names, and the command works', async (t) => {
    const checks = inFinal(parsed.getHEALTHCHECKs());
    t.equal(checks.length, 1, 'one HEALTHCHECK');
    const check = checks[0];
    const content = (check?.getArgumentsContent() ?? '').replace(/^(--\S+\s+)*/, '');
    t.match(content, /^CMD\s/, 'HEALTHCHECK CMD');
    const command = execForm(content.replace(/^CMD\s+/, ''));
    t.ok(command !== null, 'exec form (the image needs no shell for it)');
    t.equal(command?.[0], 'node', 'run by node (the image has no curl)');
    t.match(command?.join(' '), /127\.0\.0\.1:.*\/healthz/, 'asks /healthz on the loopback address');
    t.equal(command === null ? null : healthCheckDefaultPort(command), configFrom({}).port, "without PORT, the server's default port");
    const flags = new Map(check.getFlags().map((f) => [f.getName(), f.getValue()]));
    for (const flag of ['interval', 'timeout']) t.ok(flags.has(flag), `--${flag}=${String(flags.get(flag))}`);
    if (command === null) return;

    // The server listens on PORT, whatever it is (docker run -e PORT=9000): so does the check.
    const { base } = await startServer(t);
    t.equal(await runHealthCheck(command, { PORT: new URL(base).port }), 0, 'exits 0 against a server on the port PORT names');
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const address = closed.address();
    await new Promise((done) => closed.close(done));
    if (address !== null && typeof address === 'object') t.equal(await runHealthCheck(command, { PORT: String(address.port) }), 1, 'exits 1 when nothing answers on that port');
  });

  t.test('.dockerignore: the build context has what the Dockerfile copies, and not node_modules', async (t) => {
    const ignoreFile = join(root, '.dockerignore');
    if (!existsSync(ignoreFile)) {
      t.fail('no .dockerignore');
      return;
    }
    const patterns = readText(ignoreFile)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const sent = (path: string) => contextIncludes(patterns, path);
    for (const path of ['node_modules', 'node_modules/ws/package.json', '.git', 'dist', '.scratch']) t.notOk(sent(path), `${path}: left out`);
    const copied = new Set(instructions
      .filter((i) => (i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD') && !/--from=/.test(i.getTextContent()))
      .flatMap((i) => {
        const args = i.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith('--'));
        return args.slice(0, -1);
      }));
    t.ok(copied.size > 0, 'the Dockerfile copies from the context');
    for (const source of copied) {
      const path = source.replace(/^\.\//, '').replace(/\/$/, '');
      t.ok(existsSync(join(root, path)), `${path} exists`);
      t.ok(sent(path), `${path}: in the build context`);
    }
  });
}

/**
 * Whether Docker sends a path in the build context: the last .dockerignore pattern matching it
 * (or a folder above it) decides; `!` patterns put paths back.
 */
function contextIncludes(patterns: readonly string[], path: string): boolean {
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = raw.replace(/^!/, '').replace(/^\/+/, '').replace(/\/+$/, '');
    const regex = new RegExp(
      `^${pattern
        .split(/(\*\*|\*|\?)/)
        .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    );
    if (parents.some((p) => regex.test(p))) included = negated;
  }
  return included;
}
