/**
 * `npm run bench:http`: adjoint over HTTP against a bare fastify server (bench/bare-server.ts, the
 * cost of HTTP and JSON alone) and against the peer (bench/peer/app.py, the FastAPI and
 * torch.autograd service a Python user would build instead), for issue 17's goals. Two requests
 * to `POST /v1/grad`: the lab's expression, and the iris-size MLP with fixed data and new weights
 * (bench/local-speed.ts's sixteen bodies, cycled). For each server and request: the throughput at
 * 10 and at 100 connections (autocannon in this process, a warm-up then the measure), then the
 * latency of requests sent one at a time on one keep-alive connection. The servers are child
 * processes run one after another, never two under load at once; `npm run bench:http` runs the
 * build (dist/), as the service is deployed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { nodeArgs, root } from '../scripts/paths.js';
import { localBodies } from './local-speed.js';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_S = 2;
const ONE_AT_A_TIME = { warmup: 100, measured: 400 };

const REQUESTS = {
  tiny: { label: 'tiny grad (x*y + sin(x))', bodies: [JSON.stringify({ program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } })] },
  mlp: { label: 'MLP grad, fixed data, new weights', bodies: localBodies('mlp').map((body) => JSON.stringify(body)) },
};
type RequestName = keyof typeof REQUESTS;

const PEER_INSTALL = 'apt-get install -y python3-fastapi python3-uvicorn python3-uvloop python3-httptools gunicorn python3-torch';

// Every server runs in a process group of its own (gunicorn's workers are processes), killed as a
// group when it stops, and on any exit of this process, an error's included.
const children = new Set<ChildProcess>();
const killGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is gone
  }
};
process.on('exit', () => children.forEach((child) => killGroup(child, 'SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** A keep-alive client of one connection (node:http: fetch adds 0.3-0.5 ms a request of its own). */
function client(port: number): { post: (body: string) => Promise<string>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const post = (body: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = request({ host: '127.0.0.1', port, path: '/v1/grad', method: 'POST', agent, headers }, (reply) => {
        const chunks: Buffer[] = [];
        reply.on('data', (chunk: Buffer) => chunks.push(chunk));
        reply.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (reply.statusCode === 200) resolve(text);
          else reject(new Error(`POST /v1/grad answered ${reply.statusCode}: ${text.slice(0, 300)}`));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

interface Server {
  url: string;
  post: (body: string) => Promise<string>;
  stop: () => Promise<void>;
}

interface Target {
  name: string;
  start: () => Promise<Server>;
}

/** Spawns `command` with `args(port)` and waits until it answers the tiny grad. */
async function start(name: string, command: string, args: (port: number) => string[], env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(command, args(port), { cwd: root, env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: 'ignore', detached: true });
  children.add(child);
  // A command that cannot be spawned never exits: it is reported as not starting, below.
  const exited = once(child, 'exit').catch(() => undefined);
  const { post, close } = client(port);
  const stop = async (): Promise<void> => {
    close();
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    // gunicorn's workers outlive a master that did not stop them in time.
    killGroup(child, 'SIGKILL');
    children.delete(child);
  };
  // The peer imports torch in each worker: seconds.
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      await post(REQUESTS.tiny.bodies[0]);
      return { url: `http://127.0.0.1:${port}`, post, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`${name} did not start (${command} ${args(port).join(' ')})`);
}

/** The Python that has the peer's modules (`PYTHON`, else python3, else Debian's), or why none. */
function findPeer(): Target | string {
  const tried: string[] = [];
  for (const python of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (python === undefined || python === '' || tried.includes(python)) continue;
    tried.push(python);
    const probe = spawnSync(python, ['-c', 'import fastapi, uvicorn, torch; print(fastapi.__version__, uvicorn.__version__, torch.__version__)'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [fastapi, uvicorn, torch] = probe.stdout.trim().split(' ');
    // Deployed as FastAPI's documentation says: gunicorn managing uvicorn workers, else uvicorn's own.
    const gunicorn = spawnSync(python, ['-c', 'import gunicorn'], { encoding: 'utf8' }).status === 0;
    const app = 'bench.peer.app:app';
    const args = gunicorn
      ? (port: number) => ['-m', 'gunicorn', '-k', 'uvicorn.workers.UvicornWorker', '-w', '2', '-b', `127.0.0.1:${port}`, '--log-level', 'warning', app]
      : (port: number) => ['-m', 'uvicorn', '--workers', '2', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning', '--no-access-log', app];
    console.log(`the peer: FastAPI ${fastapi}, PyTorch ${torch} (float64, one thread), ${gunicorn ? 'gunicorn with' : ''} uvicorn ${uvicorn}, 2 workers (${python})`);
    // No __pycache__ left in bench/peer/.
    return { name: 'the peer', start: () => start('the peer', python, args, { PYTHONDONTWRITEBYTECODE: '1' }) };
  }
  return `the peer is skipped: no Python here imports fastapi, uvicorn and torch (tried ${tried.join(', ')}); to measure it: ${PEER_INSTALL}`;
}

/** Each quantity of two answers agrees to 1e-12 of its largest magnitude (PyTorch sums in another order). */
function differences(ours: string, theirs: string): string[] {
  const a = JSON.parse(ours) as { value: number; grad: Record<string, unknown> };
  const b = JSON.parse(theirs) as { value: number; grad: Record<string, unknown> };
  const quantities: [string, unknown, unknown][] = [['value', a.value, b.value], ...Object.keys(a.grad).map((name): [string, unknown, unknown] => [`grad.${name}`, a.grad[name], b.grad[name]])];
  if (Object.keys(b.grad).length !== Object.keys(a.grad).length) quantities.push(['grad names', Object.keys(a.grad), Object.keys(b.grad)]);
  return quantities.flatMap(([name, x, y]) => {
    const xs = [x].flat(2);
    const ys = [y].flat(2);
    if (xs.length !== ys.length || xs.some((v) => typeof v !== 'number') || ys.some((v) => typeof v !== 'number')) return [`${name}: ${JSON.stringify(x)} against ${JSON.stringify(y)}`];
    const scale = Math.max(...(xs as number[]).map(Math.abs), ...(ys as number[]).map(Math.abs));
    const worst = Math.max(...(xs as number[]).map((v, i) => Math.abs(v - (ys as number[])[i])));
    return worst <= 1e-12 * scale ? [] : [`${name}: off by ${worst} (largest magnitude ${scale})`];
  });
}

/** The peer's numbers against adjoint's, one request of each kind, before anything is timed. */
async function checkPeer(adjoint: Target, peer: Target): Promise<void> {
  const servers: Server[] = [];
  try {
    servers.push(await adjoint.start(), await peer.start());
    for (const [name, { bodies }] of Object.entries(REQUESTS)) {
      const [ours, theirs] = [await servers[0].post(bodies[0]), await servers[1].post(bodies[0])];
      const wrong = differences(ours, theirs);
      if (wrong.length > 0) throw new Error(`the peer's ${name} answer differs from adjoint's:\n  ${wrong.join('\n  ')}`);
      console.log(`the peer's ${name} answer agrees with adjoint's to 1e-12 (${ours.length} bytes from adjoint, ${theirs.length} from the peer)`);
    }
  } finally {
    for (const server of servers) await server.stop();
  }
}

interface Load {
  rps: number;
  p99: number;
  errors: number;
}

async function load(url: string, bodies: string[], connections: number): Promise<Load> {
  // Each connection cycles through the bodies, built once (autocannon's `requests`).
  const requests = bodies.map((body) => ({ method: 'POST' as const, path: '/v1/grad', headers: { 'content-type': 'application/json' }, body }));
  const run = async (duration: number) => autocannon({ url, connections, duration, requests });
  await run(WARMUP_S);
  const r = await run(DURATION_S);
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

interface Latency {
  median: number;
  p90: number;
  max: number;
}

async function oneAtATime(post: (body: string) => Promise<string>, bodies: string[]): Promise<Latency> {
  for (let i = 0; i < ONE_AT_A_TIME.warmup; i++) await post(bodies[i % bodies.length]);
  const times: number[] = [];
  for (let i = 0; i < ONE_AT_A_TIME.measured; i++) {
    const t0 = performance.now();
    await post(bodies[i % bodies.length]);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const at = (q: number): number => times[Math.floor(q * (times.length - 1))];
  return { median: at(0.5), p90: at(0.9), max: at(1) };
}

interface Measures {
  c10: Load;
  c100: Load;
  single: Latency;
}

async function measure(target: Target): Promise<Record<RequestName, Measures>> {
  const server = await target.start();
  try {
    const out = {} as Record<RequestName, Measures>;
    for (const name of Object.keys(REQUESTS) as RequestName[]) {
      const { bodies } = REQUESTS[name];
      const c10 = await load(server.url, bodies, 10);
      const c100 = await load(server.url, bodies, 100);
      out[name] = { c10, c100, single: await oneAtATime(server.post, bodies) };
      console.log(`${target.name}, ${name}: ${Math.round(c10.rps)} and ${Math.round(c100.rps)} req/s, one at a time ${out[name].single.median.toFixed(2)} ms`);
    }
    return out;
  } finally {
    await server.stop();
  }
}

const bare: Target = { name: 'bare fastify', start: () => start('bare fastify', process.execPath, () => nodeArgs('bench/bare-server.ts'), {}) };
const adjoint: Target = { name: 'adjoint', start: () => start('adjoint', process.execPath, () => nodeArgs('src/server/server.ts'), { LOG_LEVEL: 'silent', WORKERS: '2' }) };
const peer = findPeer();
if (typeof peer === 'string') console.log(peer);
else await checkPeer(adjoint, peer);

const results = { bare: await measure(bare), adjoint: await measure(adjoint), peer: typeof peer === 'string' ? null : await measure(peer) };

/** One goal of a row: met, not met, or null when it needs the peer and the peer was skipped. */
type Check = [goal: string, met: boolean | null];

function verdict(checks: Check[]): string {
  const missed = checks.filter(([, met]) => met === false).map(([goal]) => goal);
  const unmeasured = checks.some(([, met]) => met === null) ? ' (the peer not measured)' : '';
  return `${checks.map(([goal]) => goal).join(', ')}: ${missed.length === 0 ? `met${unmeasured}` : `NOT MET (${missed.join('; ')})${unmeasured}`}`;
}

const loadCell = (r: Load): string => `${Math.round(r.rps)} req/s, p99 ${r.p99} ms${r.errors > 0 ? `, ${r.errors} errors` : ''}`;
const latencyCell = (r: Latency): string => `${r.median.toFixed(2)} ms (p90 ${r.p90.toFixed(2)}, max ${r.max.toFixed(1)})`;
const peerRatio = (ratio: number | null): string => (ratio === null ? '-' : `${ratio.toFixed(2)}x`);

// Issue 17's goals. Against bare fastify (issue 4's leftover) for the lab's expression; against
// the peer for both requests; one request at a time for both.
const GOALS: Record<RequestName, { bare10: number | null; bare100: number | null; peer10: number; peer100: number; latencyOverBare: number }> = {
  tiny: { bare10: 0.45, bare100: 0.6, peer10: 1.5, peer100: 1.5, latencyOverBare: 1.15 },
  mlp: { bare10: null, bare100: null, peer10: 3, peer100: 2, latencyOverBare: 1.25 },
};

const rows: string[] = [];
for (const name of Object.keys(REQUESTS) as RequestName[]) {
  const goals = GOALS[name];
  const [ours, base, theirs] = [results.adjoint[name], results.bare[name], results.peer?.[name] ?? null];
  for (const [connections, key, overBare, overPeer] of [
    [10, 'c10', goals.bare10, goals.peer10],
    [100, 'c100', goals.bare100, goals.peer100],
  ] as const) {
    const r = ours[key];
    const ofBare = r.rps / base[key].rps;
    const ofPeer = theirs === null ? null : r.rps / theirs[key].rps;
    const checks: Check[] = [];
    if (overBare !== null) checks.push([`>= ${100 * overBare}% of bare`, ofBare >= overBare], ['p99 <= 5 ms', r.p99 <= 5]);
    checks.push([`>= ${overPeer}x the peer`, ofPeer === null ? null : ofPeer >= overPeer], ['no errors', r.errors === 0]);
    rows.push(`| ${REQUESTS[name].label} | ${connections} connections | ${loadCell(r)} | ${loadCell(base[key])} | ${theirs === null ? 'skipped' : loadCell(theirs[key])} | ${(100 * ofBare).toFixed(0)}% | ${peerRatio(ofPeer)} | ${verdict(checks)} |`);
  }
  const overBare = ours.single.median / base.single.median;
  const overPeer = theirs === null ? null : ours.single.median / theirs.single.median;
  const checks: Check[] = [
    [`<= ${goals.latencyOverBare}x bare`, overBare <= goals.latencyOverBare],
    ['<= the peer', overPeer === null ? null : overPeer <= 1],
  ];
  rows.push(`| ${REQUESTS[name].label} | one at a time, median | ${latencyCell(ours.single)} | ${latencyCell(base.single)} | ${theirs === null ? 'skipped' : latencyCell(theirs.single)} | ${overBare.toFixed(2)}x | ${peerRatio(overPeer)} | ${verdict(checks)} |`);
}

console.log(`\nPOST /v1/grad, ${DURATION_S} s a load after ${WARMUP_S} s of warm-up; one at a time: ${ONE_AT_A_TIME.measured} requests after ${ONE_AT_A_TIME.warmup}\n`);
console.log('| request | measure | adjoint | bare fastify | the peer | adjoint / bare | adjoint / peer | goal |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
