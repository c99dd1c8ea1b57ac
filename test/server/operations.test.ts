/**
 * Operating the service (SPEC.md section 7): health, readiness, Prometheus metrics, the
 * catalogue, the OpenAPI description and the docs page, request ids; the configuration refused
 * setting by setting; and the real entry point as a child process: SIGTERM drains (requests in
 * flight finish, no new work, exit 0), a bad setting stops it at start with one line naming it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import t from 'tap';
import { Agent, request } from 'undici';
import { availableParallelism } from 'node:os';
import { ConfigError, availableCpus, loadConfig } from '../../src/server/config.js';
import { endpointSchemas } from '../../src/compute/schemas/index.js';
import { TEST_WORKER_NICENESS, describe, mediaType, metricValue, post, send, startServer, untilBusy, waitFor } from './harness.js';
import { nodeArgs, root } from '../../scripts/paths.js';

const HUGE = String(Number.MAX_SAFE_INTEGER);
const repoRoot = root;

t.test('the service in process', async (t) => {
  const { base } = await startServer(t, { WORKERS: '1' });

  t.test('/healthz and /readyz', async (t) => {
    const health = await send(base, '/healthz');
    t.strictSame({ status: health.status, body: health.json }, { status: 200, body: { status: 'ok' } }, `/healthz: ${describe(health)}`);
    const ready = await send(base, '/readyz');
    t.strictSame({ status: ready.status, body: ready.json }, { status: 200, body: { status: 'ready', workers: 1 } }, `/readyz: ${describe(ready)}`);
  });

  t.test('/metrics: Prometheus text with requests by route and status, queue depth, evaluations', async (t) => {
    const reply = await post(base, 'grad', { program: 'x^2', at: { x: 3 } });
    t.equal(reply.status, 200, describe(reply));
    const metrics = await send(base, '/metrics');
    t.equal(metrics.status, 200);
    t.equal(mediaType(metrics), 'text/plain', 'content-type text/plain (Prometheus text format)');
    const requests = /^adjoint_http_requests_total\{route="\/v1\/grad",method="POST",status="200"\} (\d+)$/m.exec(metrics.text);
    t.ok(requests !== null && Number(requests[1]) >= 1, 'adjoint_http_requests_total counts POST /v1/grad 200');
    t.match(metrics.text, /^# TYPE adjoint_http_request_duration_seconds histogram$/m, 'a latency histogram');
    t.equal(metricValue(metrics.text, 'adjoint_worker_queue_depth'), 0, 'adjoint_worker_queue_depth is 0 at rest');
    t.equal(metricValue(metrics.text, 'adjoint_workers_busy'), 0, 'adjoint_workers_busy is 0 at rest');
    t.equal(metricValue(metrics.text, 'adjoint_workers_replaced_total'), 0, 'adjoint_workers_replaced_total is 0: no worker lost');
    const evaluations = /^adjoint_evaluations_total\{endpoint="grad",outcome="ok"\} (\d+)$/m.exec(metrics.text);
    t.ok(evaluations !== null && Number(evaluations[1]) >= 1, 'adjoint_evaluations_total counts the grad');
  });

  t.test('/v1/functions lists the catalogue: sigmoid with its arity, differentiable', async (t) => {
    const reply = await send(base, '/v1/functions');
    t.equal(reply.status, 200, describe(reply));
    t.equal(mediaType(reply), 'application/json');
    const functions = (reply.json as { functions: { name: string; minArgs: number; maxArgs: number | null; description: string; differentiable: boolean }[] }).functions;
    const sigmoid = functions.find((f) => f.name === 'sigmoid');
    t.match(sigmoid, { name: 'sigmoid', minArgs: 1, maxArgs: 1, differentiable: true, description: /\w/ }, 'sigmoid: one argument, differentiable, described');
    const required = 'sigmoid relu softplus tanh log1p expm1 logsumexp softmax log_softmax cross_entropy mse_loss binary_cross_entropy matmul where clamp stop_gradient det inv solve';
    for (const name of required.split(' ')) t.ok(functions.some((f) => f.name === name), `lists ${name} (SPEC.md section 2)`);
  });

  t.test('/v1/distributions lists every family of SPEC.md section 5 with its parameters and how rsample is differentiated', async (t) => {
    const reply = await send(base, '/v1/distributions');
    t.equal(reply.status, 200, describe(reply));
    type Family = { name: string; parameters: { name: string; constraint: string }[]; support: string; rsample: string; kl: string[] };
    const families = new Map((reply.json as { distributions: Family[] }).distributions.map((f) => [f.name, f]));
    const expected: Record<string, string> = {
      normal: 'pathwise', lognormal: 'pathwise', uniform: 'pathwise', exponential: 'pathwise', laplace: 'pathwise', gumbel: 'pathwise',
      cauchy: 'pathwise', halfnormal: 'pathwise', halfcauchy: 'pathwise', weibull: 'pathwise', pareto: 'pathwise', kumaraswamy: 'pathwise',
      mvnormal: 'pathwise', gamma: 'implicit', chi2: 'implicit', beta: 'implicit', dirichlet: 'implicit', studentt: 'implicit',
      relaxed_bernoulli: 'relaxed', relaxed_categorical: 'relaxed', bernoulli: 'none', categorical: 'none', poisson: 'none', binomial: 'none', geometric: 'none',
    };
    t.same([...families.keys()].sort(), Object.keys(expected).sort(), 'exactly the families of SPEC.md section 5');
    for (const [name, how] of Object.entries(expected)) t.equal(families.get(name)?.rsample, how, `${name}: rsample is ${how}`);
    t.same(families.get('gamma')?.parameters, [{ name: 'shape', constraint: 'positive' }, { name: 'rate', constraint: 'positive' }], 'gamma(shape, rate), both positive');
    t.same(families.get('studentt')?.parameters.map((p) => p.name), ['df', 'loc', 'scale'], 'studentt(df, loc, scale)');
    t.ok(families.get('normal')?.kl.includes('normal'), 'kl(normal, normal) has a closed form');
  });

  t.test('/openapi.json: OpenAPI 3.1.0 with every compute endpoint; /docs: an HTML page', async (t) => {
    const reply = await send(base, '/openapi.json');
    t.equal(reply.status, 200, describe(reply));
    const openapi = reply.json as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>> };
    t.equal(openapi.openapi, '3.1.0');
    for (const endpoint of Object.keys(endpointSchemas)) {
      const operation = openapi.paths[`/v1/${endpoint}`]?.post;
      t.ok(operation?.requestBody !== undefined && operation.responses?.['200'] !== undefined, `POST /v1/${endpoint}: a request body and a 200 response`);
    }
    for (const path of ['/v1/functions', '/v1/distributions', '/healthz', '/readyz']) t.ok(openapi.paths[path]?.get !== undefined, `GET ${path}`);
    const docs = await send(base, '/docs');
    t.equal(docs.status, 200, '/docs answers 200');
    t.equal(mediaType(docs), 'text/html', '/docs is HTML');
    t.match(docs.text, /<html/i);
  });

  t.test('x-request-id: echoed when the client sends one, generated otherwise, on errors too', async (t) => {
    const mine = 'client-chosen-id-42';
    for (const [label, path, body] of [
      ['a computation', '/v1/eval', { program: '1 + 1', at: {} }],
      ['a 422', '/v1/eval', { program: 'x +* 2', at: { x: 1 } }],
      ['a 404', '/nope', undefined],
    ] as const) {
      const echoed = await send(base, path, { body, headers: { 'x-request-id': mine } });
      t.equal(echoed.headers.get('x-request-id'), mine, `${label}: echoes the client's id`);
      const generated = await send(base, path, { body });
      t.match(generated.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, `${label}: a generated id`);
    }
  });
});

t.test('adjoint_worker_queue_depth and adjoint_workers_busy under load', async (t) => {
  const { base } = await startServer(t, { WORKERS: '1', MAX_QUEUE: '5', TIMEOUT_MS: '60000', MAX_ITERATIONS: HUGE });
  t.equal((await post(base, 'eval', { program: '1', at: {} })).status, 200, 'the worker is warm');
  const clients = [1, 2, 3].map(() => new AbortController());
  const runaways = clients.map((client) => post(base, 'eval', { program: 'while 1\nend', at: {} }, { signal: client.signal }).catch(() => null));
  const seen = await waitFor(async () => {
    const text = (await send(base, '/metrics')).text;
    return metricValue(text, 'adjoint_workers_busy') === 1 && metricValue(text, 'adjoint_worker_queue_depth') === 2;
  });
  t.ok(seen, 'one task busy on the only worker, two waiting');
  // The clients give up: the running task is stopped, the waiting ones leave the queue.
  for (const client of clients) client.abort();
  await Promise.all(runaways);
  const idle = await waitFor(async () => {
    const text = (await send(base, '/metrics')).text;
    return metricValue(text, 'adjoint_workers_busy') === 0 && metricValue(text, 'adjoint_worker_queue_depth') === 0;
  });
  t.ok(idle, 'back to idle once the clients are gone');
});

t.test('WORKERS defaults to the CPUs a container is given: its cgroup quota, capped by the cores', (t) => {
  const cores = availableParallelism();
  const files = (entries: Record<string, string>) => (path: string) => entries[path] ?? null;
  const cases: [string, Record<string, string>, number][] = [
    ['no cgroup files: the cores', {}, cores],
    ['cgroup v2 without a quota ("max")', { '/sys/fs/cgroup/cpu.max': 'max 100000\n' }, cores],
    ['cgroup v2, one CPU', { '/sys/fs/cgroup/cpu.max': '100000 100000\n' }, 1],
    ['cgroup v2, half a CPU: still one worker', { '/sys/fs/cgroup/cpu.max': '50000 100000\n' }, 1],
    ['cgroup v2, 64 CPUs: capped by the cores', { '/sys/fs/cgroup/cpu.max': '6400000 100000\n' }, cores],
    ['cgroup v1, one CPU', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }, 1],
    ['cgroup v1 without a quota (-1)', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }, cores],
  ];
  for (const [label, entries, expected] of cases) t.equal(availableCpus(files(entries)), expected, label);
  t.end();
});

t.test('loadConfig: safe defaults, and a bad value is a ConfigError naming its setting', (t) => {
  const defaults = loadConfig({});
  t.match(defaults, { port: 8080, host: '0.0.0.0', logLevel: 'info' }, 'PORT 8080, HOST 0.0.0.0');
  t.ok(defaults.workers >= 1 && defaults.maxQueue >= 1 && defaults.bodyLimit >= 1024, 'at least one worker, a queue and a body limit');
  const bad: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['HOST', '  '],
    ['WORKERS', '0'],
    ['WORKERS', 'zero'],
    ['WORKERS', '1.5'],
    ['LOG_LEVEL', 'loud'],
    ['MAX_QUEUE', '-1'],
    ['BODY_LIMIT_BYTES', '-1'],
    ['MAX_PROGRAM_LENGTH', '-100'],
    ['MAX_TENSOR_ELEMENTS', '-3'],
    ['MAX_OPERATIONS', '0'],
    ['MAX_ELEMENTS', '-5'],
    ['TIMEOUT_MS', '-5'],
    ['MAX_ITERATIONS', 'many'],
    ['MAX_RECURSION_DEPTH', '-1'],
    ['WORKER_MEMORY_MB', '1'],
    ['SHUTDOWN_GRACE_MS', '-1'],
  ];
  for (const [setting, value] of bad) {
    let error: unknown = null;
    try {
      loadConfig({ [setting]: value });
    } catch (e) {
      error = e;
    }
    if (!(error instanceof ConfigError)) {
      t.fail(`${setting}=${value}: expected a ConfigError, got ${error === null ? 'a configuration' : String(error)}`);
      continue;
    }
    t.equal(error.setting, setting, `${setting}=${JSON.stringify(value)}: names ${setting} (${error.message})`);
    t.match(error.message, new RegExp(`^${setting}\\b`), `${setting}=${JSON.stringify(value)}: the message starts with the setting`);
  }
  t.end();
});

/** A port free right now: listen on 0, read the number, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** `node --import tsx src/server/server.ts` from the repository root with only these settings. */
function startEntryPoint(env: Record<string, string>) {
  const child = spawn(process.execPath, nodeArgs('src/server/server.ts'), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...TEST_WORKER_NICENESS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

t.test('the entry point: SIGTERM lets the request in flight finish, takes no new work, and exits 0', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startEntryPoint({
    PORT: String(port),
    HOST: '127.0.0.1',
    WORKERS: '1',
    LOG_LEVEL: 'info',
    TIMEOUT_MS: '60000',
    MAX_ITERATIONS: HUGE,
    MAX_OPERATIONS: HUGE,
    SHUTDOWN_GRACE_MS: '30000',
  });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  const ready = await waitFor(async () => {
    try {
      return (await send(base, '/readyz')).status === 200;
    } catch {
      return false;
    }
  }, 30_000);
  t.ok(ready, `/readyz answers 200 (${JSON.stringify(server.output())})`);
  if (!ready) return;

  // A loop of 10^7 additions: a second or more of work, with a known answer n(n + 1)/2.
  const n = 10_000_000;
  let finished = false;
  const inFlight = post(base, 'eval', { program: `s = 0\nfor i = 1:${n}\n  s = s + i\nend\ns`, at: {} }).finally(() => {
    finished = true;
  });
  t.ok(await untilBusy(base), 'the slow request is on the worker');
  t.notOk(finished, 'it is still in flight when SIGTERM is sent');
  server.child.kill('SIGTERM');

  // A fresh connection each time: a new client must be refused, or told the server is not ready.
  const draining = await waitFor(async () => {
    const dispatcher = new Agent({ pipelining: 0 });
    try {
      const reply = await request(`${base}/readyz`, { dispatcher });
      await reply.body.dump();
      return reply.statusCode === 503;
    } catch {
      return true;
    } finally {
      await dispatcher.close();
    }
  }, 10_000);
  t.ok(draining, 'once SIGTERM is received, /readyz answers 503 or new connections are refused');

  const reply = await inFlight;
  t.strictSame({ status: reply.status, body: reply.json }, { status: 200, body: { value: (n * (n + 1)) / 2 } }, `the request in flight completes: ${describe(reply)}`);
  const exit = await server.exited;
  const { stdout } = server.output();
  t.strictSame(exit, { code: 0, signal: null }, 'the process exits 0');
  t.notMatch(stdout, /grace period over/, 'it exits once drained, not when the grace period runs out');

  // One JSON log line per request, carrying the id the response echoed.
  const id = reply.headers.get('x-request-id');
  const lines = stdout.split('\n').filter((line) => id !== null && line.includes(id));
  t.equal(lines.length, 1, `one log line for request ${id}`);
  const line = lines[0] ?? '{}';
  t.equal(line.split('"reqId"').length - 1, 1, `the line has one reqId: ${line}`);
  t.match(JSON.parse(line), { reqId: id, method: 'POST', route: '/v1/eval', status: 200, msg: 'request' }, 'the line names the request, its route and status');
});

t.test('the entry point: a bad setting (WORKERS=zero) stops it at start with one line naming WORKERS', async (t) => {
  const server = startEntryPoint({ PORT: String(await freePort()), WORKERS: 'zero' });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  const exit = await server.exited;
  const { stdout, stderr } = server.output();
  t.ok(exit.code !== null && exit.code !== 0, `exits non-zero (code ${exit.code}, signal ${exit.signal})`);
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(stderr)}`);
  t.match(lines[0], /WORKERS/, 'it names WORKERS');
  t.equal(stdout, '', 'nothing on stdout');
});

t.test('the entry point: a port in use stops it at start with one line naming PORT, exit non-zero', async (t) => {
  const occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => occupied.close(resolve)));
  const port = (occupied.address() as { port: number }).port;
  const server = startEntryPoint({ PORT: String(port), HOST: '127.0.0.1', WORKERS: '1' });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  const exit = await server.exited;
  t.ok(exit.code !== null && exit.code !== 0, `exits non-zero (code ${exit.code}, signal ${exit.signal})`);
  const { stdout, stderr } = server.output();
  const lines = `${stdout}${stderr}`.split('\n').filter((line) => line.trim() !== '');
  t.equal(lines.length, 1, `one line: ${JSON.stringify(lines)}`);
  t.match(JSON.parse(lines[0] ?? '{}'), { setting: 'PORT', port, msg: 'cannot listen' }, 'it names PORT');
});
