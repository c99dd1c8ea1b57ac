/**
 * deploy/docker-compose.yml and deploy/nginx.conf: the compose file valid against the Compose
 * Specification's JSON schema, replicas of the app built from the top-level Dockerfile behind
 * nginx, settings the server accepts and resources for them, health checks that work, and an
 * nginx that reaches the app's port, upgrades WebSockets and streams NDJSON unbuffered.
 *
 * compose-spec.json is the Compose Specification's schema (compose-spec/compose-spec,
 * schema/compose-spec.json, Apache-2.0) as the npm package dclint 3.1.0 ships it
 * (schemas/compose.schema.json, fetched unchanged from that repository).
 */
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { Ajv } from 'ajv';
import { startServer } from '../server/harness.js';
import {
  at,
  composeBytes,
  composeDurationMs,
  configFrom,
  deployDir,
  dockerfile,
  healthCheckDefaultPort,
  memoryNeededMiB,
  readText,
  readYaml,
  runHealthCheck,
  settingsRead,
  type Json,
} from './deploy-files.js';
import { effective, find, nginxBytes, nginxSeconds, parseNginx, type Directive } from './nginx-conf.js';
import { file } from '../../scripts/paths.js';

const composeFile = join(deployDir, 'docker-compose.yml');
const compose = readYaml(composeFile)[0] as Json;
const services = (compose.services ?? {}) as Record<string, Json>;
const app = services.app ?? {};
const nginx = services.nginx ?? {};
const environment = (app.environment ?? {}) as Record<string, string>;
const appPort = dockerfile()?.exposed[0] ?? 8080;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

t.test('the compose file is valid against the Compose Specification schema', async (t) => {
  const schema = JSON.parse(readText(file('test/deploy/compose-spec.json'))) as Json;
  // The schema names its draft-07 meta-schema by an https address Ajv does not know by that name.
  const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
  t.ok(validate(compose), `valid: ${JSON.stringify(validate.errors)}`);
  const typo = structuredClone(compose);
  (at(typo, 'services', 'app') as Json).healtcheck = app.healthcheck;
  t.notOk(validate(typo), 'and the schema refuses a misspelt healtcheck');
  t.notOk('version' in compose, 'no obsolete version key');
});

t.test('app: replicas of the image built from the top-level Dockerfile, none with a fixed name or port', async (t) => {
  t.equal(resolve(deployDir, String(app.build)), resolve(deployDir, '..'), 'built from the repository root');
  t.ok(existsSync(join(resolve(deployDir, String(app.build)), 'Dockerfile')), 'where the Dockerfile is');
  t.equal(app.image, 'adjoint:latest', 'tagged adjoint:latest, the image the Kubernetes manifests run');
  const replicas = Number(at(app, 'deploy', 'replicas') ?? app.scale ?? 1);
  t.ok(replicas >= 2, `${replicas} replicas`);
  t.equal(app.container_name, undefined, 'no container_name (it would allow only one)');
  t.equal(app.ports, undefined, 'no published port (nginx is the way in)');
});

t.test('app: settings the server accepts, resources for WORKERS, a stop grace period covering the drain', async (t) => {
  const known = settingsRead();
  t.strictSame(Object.keys(environment).filter((k) => !known.includes(k)), [], 'every variable is a setting the server reads');
  t.doesNotThrow(() => configFrom(environment), 'the server starts with them');
  t.ok('WORKERS' in environment, 'WORKERS set, not left to the default');
  const config = configFrom(environment);
  const limits = (at(app, 'deploy', 'resources', 'limits') ?? {}) as Json;
  t.equal(Number(limits.cpus), config.workers, `cpus ${String(limits.cpus)} = WORKERS ${config.workers}`);
  const needed = memoryNeededMiB(config);
  t.ok(composeBytes(limits.memory) >= needed * 2 ** 20, `memory ${String(limits.memory)} ≥ ${needed} MiB for ${config.workers} worker(s) of ${config.workerMemoryMb} MiB and the main thread`);
  const stop = composeDurationMs(app.stop_grace_period ?? '10s');
  t.ok(stop > config.shutdownGraceMs, `stop_grace_period ${String(app.stop_grace_period)} > SHUTDOWN_GRACE_MS ${config.shutdownGraceMs} ms`);
});

t.test('app: locked down as in Kubernetes: read-only root, /tmp in memory, no capabilities', async (t) => {
  t.equal(app.read_only, true, 'read_only');
  t.ok(((app.tmpfs ?? []) as string[]).includes('/tmp'), 'tmpfs /tmp');
  t.strictSame(app.cap_drop, ['ALL'], 'cap_drop ALL');
  t.ok(((app.security_opt ?? []) as string[]).some((o) => /^no-new-privileges(:true)?$/.test(o)), 'no-new-privileges');
  t.notOk(app.privileged, 'not privileged');
  t.ok(app.user === undefined || !/^(root|0)(:|$)/.test(String(app.user)), 'not run as root (the image’s USER)');
});

t.test('nginx: the official image in front, on a published port, started once the app is healthy', async (t) => {
  t.match(nginx.image, /^nginx:[\w.-]+$/, 'the official nginx image, by tag');
  const ports = (nginx.ports ?? []) as string[];
  t.equal(ports.length, 1, 'one published port');
  t.match(ports[0], /^(\d+:)?80$/, 'to nginx’s port 80');
  const volumes = (nginx.volumes ?? []) as string[];
  const conf = volumes.find((v) => v.split(':')[1] === '/etc/nginx/nginx.conf');
  t.ok(conf !== undefined, 'nginx.conf mounted');
  t.ok(existsSync(resolve(deployDir, String(conf?.split(':')[0]))), `${String(conf?.split(':')[0])} exists`);
  t.match(conf, /:ro$/, 'read-only');
  t.strictSame(nginx.depends_on, { app: { condition: 'service_healthy' } }, 'after the app is healthy');
});

t.test('health checks: node asks /healthz (the image has no curl) on the port PORT names, and the command works', async (t) => {
  const check = (app.healthcheck ?? {}) as Json;
  const command = check.test as string[];
  t.equal(command[0], 'CMD', 'exec form');
  t.equal(command[1], 'node', 'run by node');
  t.match(command.join(' '), /127\.0\.0\.1:.*\/healthz/, 'asks /healthz on the loopback address');
  t.equal(healthCheckDefaultPort(command.slice(1)), configFrom({}).port, "without PORT, the server's default port");
  for (const key of ['interval', 'timeout', 'start_period']) t.ok(composeDurationMs(check[key]) > 0, `${key} ${String(check[key])}`);
  t.ok(Number(check.retries) >= 1, 'retries');

  const { base, app: server } = await startServer(t, environment);
  const port = Number(new URL(base).port);
  // The container's environment is the service's: a PORT set there moves the check with the server.
  t.equal(await runHealthCheck(command.slice(1), { ...environment, PORT: String(port) }), 0, 'exits 0 against a server on the port PORT names');
  t.equal(await runHealthCheck(command.slice(1), { ...environment, PORT: String(await closedPort()) }), 1, 'exits 1 when nothing answers on that port');
  t.ok(server.hasRoute({ method: 'GET', url: '/v1/ws' }), 'the app serves GET /v1/ws, which nginx upgrades');

  const nginxCheck = at(nginx, 'healthcheck', 'test') as string[];
  t.equal(nginxCheck[0], 'CMD', 'nginx: a health check, exec form');
  t.match(nginxCheck.join(' '), /http:\/\/127\.0\.0\.1(:80)?\/healthz/, 'through nginx to the app’s /healthz');
});

t.test('nginx.conf: to the app’s port, WebSockets upgraded, NDJSON unbuffered, bodies as large as the app takes', async (t) => {
  const conf = parseNginx(readText(join(deployDir, 'nginx.conf')));
  const http = find(conf, 'http')[0]?.block;
  const servers = find(http, 'server');
  t.equal(servers.length, 1, 'one server');
  const server = servers[0]?.block ?? [];
  t.strictSame(find(server, 'listen').map((d) => d.args), [['80']], 'listens on 80');
  const locations = find(server, 'location');
  const root = locations.find((l) => l.args.join(' ') === '/');
  const ws = locations.find((l) => l.args.join(' ') === '= /v1/ws');
  t.ok(root !== undefined, 'location /');
  t.ok(ws !== undefined, 'location = /v1/ws');

  // `set $var value` in the server: what a proxy_pass with that variable means.
  const variables = new Map(find(server, 'set').map((d) => [d.args[0], d.args[1]]));
  const config = configFrom(environment);
  for (const location of [root, ws]) {
    if (location === undefined) continue;
    const name = location.args.join(' ');
    const levels: (Directive[] | undefined)[] = [http, server, location.block];
    const [target] = effective(levels, 'proxy_pass').map((args) => variables.get(args[0]) ?? args[0]);
    t.equal(target, `http://app:${appPort}`, `${name}: to the app service on port ${appPort} (the Dockerfile's EXPOSE)`);
    t.strictSame(effective(levels, 'proxy_http_version'), [['1.1']], `${name}: HTTP/1.1 to the app`);
    t.strictSame(effective(levels, 'proxy_buffering'), [['off']], `${name}: unbuffered, so NDJSON lines and messages pass as written`);
    t.ok(nginxSeconds(effective(levels, 'proxy_read_timeout')[0]?.[0] ?? '60s') * 1000 >= config.queueTimeoutMs + config.limits.timeoutMs, `${name}: waits for a queued request (up to QUEUE_TIMEOUT_MS) and its computation`);
    const headers = new Map(effective(levels, 'proxy_set_header').map(([k, v]) => [k.toLowerCase(), v]));
    if (location === ws) {
      t.equal(headers.get('upgrade'), '$http_upgrade', `${name}: passes Upgrade`);
      const connection = headers.get('connection') ?? '';
      const map = find(http, 'map').find((m) => m.args[1] === connection);
      const upgrades = connection.toLowerCase() === 'upgrade' || (map?.block ?? []).some((d) => d.name === 'default' && d.args[0] === 'upgrade');
      t.ok(upgrades, `${name}: Connection: upgrade (${connection})`);
      t.ok(nginxSeconds(effective(levels, 'proxy_read_timeout')[0]?.[0] ?? '60s') >= 600, `${name}: a quiet socket stays open`);
    }
    t.ok(headers.has('x-forwarded-for'), `${name}: X-Forwarded-For`);
  }
  // The replicas come and go: with a variable in proxy_pass nginx resolves `app` as it runs.
  if ([...variables.keys()].some((v) => effective([http, server, root?.block], 'proxy_pass')[0]?.[0] === v)) {
    t.ok(effective([http, server], 'resolver').length > 0, 'a resolver (Docker’s DNS) for the replicas’ addresses');
  }
  const bodyLimit = nginxBytes(effective([http, server], 'client_max_body_size')[0]?.[0] ?? '1m');
  t.ok(bodyLimit >= config.bodyLimit, `client_max_body_size ${bodyLimit} ≥ BODY_LIMIT_BYTES ${config.bodyLimit}`);
  const tooLarge = find(server, 'error_page').find((d) => d.args[0] === '413');
  const handler = locations.find((l) => l.args[0] === tooLarge?.args[1]);
  t.ok(handler !== undefined, 'nginx answers a body over its limit itself');
  t.strictSame(find(handler?.block, 'default_type').map((d) => d.args), [['application/problem+json']], 'as a problem (SPEC.md section 6)');
  const body = JSON.parse(find(handler?.block, 'return')[0]?.args[1] ?? 'null') as unknown;
  t.match(body, { status: 413, code: 'TOO_LARGE' }, 'TOO_LARGE, as the app says it');
});

t.test('the nginx.conf reader: blocks, quotes, comments, inheritance', async (t) => {
  const conf = parseNginx('http { a 1; # c\n server { a "x y"; location / { b \'z;\'; } } }');
  const server = find(find(conf, 'http')[0].block, 'server')[0].block;
  t.strictSame(find(server, 'a')[0].args, ['x y'], 'a quoted argument');
  const location = find(server, 'location')[0];
  t.strictSame(effective([find(conf, 'http')[0].block, server, location.block], 'a'), [['x y']], 'inherited from the server');
  t.strictSame(effective([server, location.block], 'b'), [['z;']], 'its own');
  t.throws(() => parseNginx('http { a 1; '), /not closed/, 'an unclosed block');
  t.throws(() => parseNginx('a 1'), /does not end with ;/, 'a missing ;');
  t.equal(nginxBytes('10m'), 10 * 2 ** 20, '10m');
  t.equal(nginxSeconds('1m30s'), 90, '1m30s');
});
