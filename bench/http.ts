/**
 * `npm run bench:http`: requests per second and latency of `POST /v1/grad` on the lab's
 * expression, against a bare fastify server answering a static body, measured in the same run
 * with autocannon (this process) against the servers (child processes). `npm run bench:http`
 * runs the build, both servers too (dist/), as the service is deployed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { built, file, root } from '../scripts/paths.js';

const body = JSON.stringify({ program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } });
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** `script`: the TypeScript source's path (src/…, bench/…); its build (dist/…) when this is built. */
async function start(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const args = built ? [file(`dist/${script.replace(/\.ts$/, '.js')}`)] : ['--import', 'tsx', script];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/v1/grad`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (r.ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`${script} did not start`);
}

interface Result {
  rps: number;
  p99: number;
  errors: number;
}

async function load(url: string, connections: number): Promise<Result> {
  const run = async (duration: number) =>
    autocannon({ url: `${url}/v1/grad`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration });
  await run(2); // warm-up
  const r = await run(DURATION_S);
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

const bare = await start('bench/bare-server.ts', {});
const bare10 = await load(bare.url, 10);
const bare100 = await load(bare.url, 100);
bare.child.kill();
const adjoint = await start('src/server/server.ts', { LOG_LEVEL: 'silent' });
const adjoint10 = await load(adjoint.url, 10);
const adjoint100 = await load(adjoint.url, 100);
adjoint.child.kill();

const row = (name: string, r: Result, base: Result, p99Goal: number): string => {
  const ratio = r.rps / base.rps;
  const met = ratio >= 0.6 && r.p99 <= p99Goal && r.errors === 0;
  return `| ${name} | ${Math.round(r.rps)} req/s | ${Math.round(base.rps)} req/s | ${(100 * ratio).toFixed(0)}% | ${r.p99} ms | ${r.errors} | >= 60%, p99 <= ${p99Goal} ms, no errors: ${met ? 'met' : 'NOT MET'} |`;
};
console.log('| POST /v1/grad, lab expression | adjoint | bare fastify (same run) | ratio | p99 | errors | goal |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
console.log(row('10 connections', adjoint10, bare10, 5));
console.log(row('100 connections', adjoint100, bare100, 30));
