/**
 * `npm run bench:latency`: where one request's time goes (issue 17), measured, not changed. The
 * built app runs in this process (WORKERS=2, silent), beside a bare fastify server, and a
 * keep-alive node:http client sends them requests one at a time: the tiny grad and the MLP grad
 * with fixed data (bench/local-speed.ts's sixteen bodies, cycled), as bench/http.ts sends them.
 *
 * Each request is stamped on one clock (`process.hrtime`, the same in every thread) at the
 * client's send; the server's `request` event; the last of each fastify hook (`onRequest`,
 * `preValidation`, `preHandler`, `onSend`, `onResponse`; the app's one `preParsing` hook only
 * looks at a header, and the body is read after it); the call into the pool
 * (`app.workers.compute`, wrapped) and its promise settling; the batch handed to piscina
 * (`PiscinaTransport.run`, wrapped) and its outcomes arriving back; in the worker (this module is
 * also the pool's worker module, around compute-worker's `runWith`), the batch received, compute()
 * begun and ended, the outcomes returned; and the client's last byte. Nothing in src/ changes.
 *
 * adjoint runs twice: as configured by default, where requests known to be quick are computed on
 * the event loop (src/workers/inline.ts: no worker stamps), and with INLINE_BELOW_US=0, every
 * request through the pool (the worker's stamps say where its round trip goes). The same hooks
 * stamp two baselines: a static answer from a route of the same app (`POST /bench/static`:
 * adjoint's hooks and body parser, no computation) and from a bare fastify (bench/bare-server.ts's
 * route and bodies). The four servers take turns, ROUND requests each, so that a shared
 * machine's load falls on all alike. Then four apps at once, taking turns with the bare fastify:
 * the default, and through the pool with WORKERS=2, WORKERS=1 and WORKERS=2 with the workers at
 * the event loop's priority (WORKER_NICENESS=0), each back to back and with requests spaced by
 * SPACING_MS (the worker and the event loop asleep before each), with how often a request went to
 * another worker than the one before. Last, the tiny grad's compute on this thread, hot and after
 * SPACING_MS idle.
 * Each stamp costs about 0.1 µs; the wrapped pool promise, one more microtask.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import type { ComputeBatch, ComputeOutcome } from '../src/workers/compute-worker.js';

/** Milliseconds on the monotonic clock that every thread of the process reads alike. */
const clock = (): number => Number(process.hrtime.bigint()) / 1e6;

/** What the worker stamps, sent back with each outcome. */
interface WorkerMarks {
  /** The worker's thread id. */
  thread: number;
  workerReceived: number;
  computeStart: number;
  computeEnd: number;
  workerReplied: number;
}

/** In a pool's worker: compute-worker's batch runner, stamped; unused on the main thread. */
let runBatch: ((batch: ComputeBatch) => Promise<(ComputeOutcome | null)[]>) | undefined;
if (!isMainThread) {
  const { compute } = await import('../src/index.js');
  const { runWith } = await import('../src/workers/compute-worker.js');
  let computed: [number, number][] = [];
  const run = runWith(async (endpoint, body, options) => {
    const start = clock();
    const result = await compute(endpoint, body, options);
    computed.push([start, clock()]);
    return result;
  });
  runBatch = async (batch) => {
    const workerReceived = clock();
    computed = [];
    const outcomes = await run(batch);
    const workerReplied = clock();
    let k = 0;
    return outcomes.map((outcome) => {
      if (outcome === null) return null;
      const [computeStart, computeEnd] = computed[k++] ?? [NaN, NaN];
      const marks: WorkerMarks = { thread: threadId, workerReceived, computeStart, computeEnd, workerReplied };
      return { ...outcome, marks };
    });
  };
}
export default runBatch;

/** The stamps, in the order a request passes them. */
type Mark =
  | 'send'
  | 'request'
  | 'onRequest'
  | 'preValidation'
  | 'preHandler'
  | 'poolCall'
  | 'batchSent'
  | 'workerReceived'
  | 'computeStart'
  | 'computeEnd'
  | 'workerReplied'
  | 'outcomes'
  | 'resolved'
  | 'onSend'
  | 'onResponse'
  | 'received';
type Marks = Partial<Record<Mark, number>> & { thread?: number };

/** The segments printed, each from one stamp to another; a request without either has none. */
const SEGMENTS: { label: string; from: Mark; to: Mark }[] = [
  { label: 'client send → server `request` event', from: 'send', to: 'request' },
  { label: '`request` → `onRequest` (routing, onRequest hooks)', from: 'request', to: 'onRequest' },
  { label: '`onRequest` → `preValidation` (preParsing, body read, JSON parsed)', from: 'onRequest', to: 'preValidation' },
  { label: '`preValidation` → `preHandler` (schema)', from: 'preValidation', to: 'preHandler' },
  { label: '`preHandler` → pool call', from: 'preHandler', to: 'poolCall' },
  { label: 'pool call → batch to piscina (setImmediate)', from: 'poolCall', to: 'batchSent' },
  { label: 'batch sent → worker has it', from: 'batchSent', to: 'workerReceived' },
  { label: 'worker: received → compute() (JSON.parse)', from: 'workerReceived', to: 'computeStart' },
  { label: 'worker: compute()', from: 'computeStart', to: 'computeEnd' },
  { label: 'worker: compute() → reply (stringify)', from: 'computeEnd', to: 'workerReplied' },
  { label: 'worker reply → outcomes on main', from: 'workerReplied', to: 'outcomes' },
  { label: 'outcomes → pool promise settled', from: 'outcomes', to: 'resolved' },
  { label: 'pool promise → `onSend`', from: 'resolved', to: 'onSend' },
  { label: '`preHandler` → `onSend` (the handler, all of it)', from: 'preHandler', to: 'onSend' },
  { label: '`onSend` → `onResponse` (write, onResponse hooks)', from: 'onSend', to: 'onResponse' },
  { label: '`onResponse` → client has the last byte', from: 'onResponse', to: 'received' },
  { label: '**total** (client send → last byte)', from: 'send', to: 'received' },
];

const MEASURED = Number(process.env.LATENCY_REQUESTS ?? 2000);
const WARMUP = 300;
/** Requests each server answers before the next takes its turn. */
const ROUND = 250;
const SPACING_MS = 5;
/** Requests of each row of the second table: back to back, and spaced. */
const BACK_TO_BACK = Math.min(MEASURED, 1000);
const SPACED = 200;

if (isMainThread) await main();

async function main(): Promise<void> {
  const { Agent, request } = await import('node:http');
  const { default: Fastify } = await import('fastify');
  const { buildApp } = await import('../src/server/app.js');
  const { loadConfig } = await import('../src/server/config.js');
  const { PiscinaTransport } = await import('../src/workers/transport.js');
  const { localBodies } = await import('./local-speed.js');
  type App = Awaited<ReturnType<typeof buildApp>>;

  // The request being timed (one at a time): every stamp goes to it.
  let current: Marks = {};
  const stamp = (mark: Mark): void => {
    current[mark] = clock();
  };

  const run = PiscinaTransport.prototype.run;
  PiscinaTransport.prototype.run = function (this: InstanceType<typeof PiscinaTransport>, items, onProgress) {
    const marks = current;
    marks.batchSent = clock();
    const running = run.call(this, items, onProgress);
    running.outcomes.then(
      (outcomes) => {
        marks.outcomes = clock();
        const worker = (outcomes[0] as { marks?: WorkerMarks } | null)?.marks;
        if (worker !== undefined) Object.assign(marks, worker);
      },
      () => {},
    );
    return running;
  };

  const MLP = 'H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)';
  const tinyAnswer = { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } };
  const g = 0.1234567890123457;
  const matrix = (m: number, n: number): number[][] => Array.from({ length: m }, () => new Array<number>(n).fill(g));
  const mlpAnswer = { value: g, grad: { W1: matrix(4, 12), b1: new Array<number>(12).fill(g), W2: matrix(12, 3), b2: [g, g, g] } };
  const staticAnswer = async (req: { body: unknown }): Promise<unknown> => ((req.body as { program?: unknown }).program === MLP ? mlpAnswer : tinyAnswer);

  /** The stamping hooks, each after the app's own of its kind, and the `request` event before fastify hears it. */
  const instrument = (app: App): void => {
    app.server.prependListener('request', () => stamp('request'));
    app.addHook('onRequest', (_request, _reply, done) => {
      stamp('onRequest');
      done();
    });
    app.addHook('preValidation', (_request, _reply, done) => {
      stamp('preValidation');
      done();
    });
    app.addHook('preHandler', (_request, _reply, done) => {
      stamp('preHandler');
      done();
    });
    app.addHook('onSend', (_request, _reply, payload, done) => {
      stamp('onSend');
      done(null, payload);
    });
    app.addHook('onResponse', (_request, _reply, done) => {
      stamp('onResponse');
      done();
    });
  };

  const listen = async (app: App): Promise<number> => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  };

  const startAdjoint = async (env: Record<string, string>): Promise<{ app: App; port: number }> => {
    const app = await buildApp(loadConfig({ WORKERS: '2', ...env, PORT: '0', LOG_LEVEL: 'silent' }), { workerFile: import.meta.url });
    instrument(app);
    app.post('/bench/static', staticAnswer);
    const pool = app.workers;
    const compute = pool.compute.bind(pool);
    pool.compute = (endpoint, body, options) => {
      const marks = current;
      marks.poolCall = clock();
      return compute(endpoint, body, options).finally(() => {
        marks.resolved = clock();
      });
    };
    return { app, port: await listen(app) };
  };

  const bare = Fastify({ logger: false });
  instrument(bare as unknown as App);
  bare.post('/v1/grad', staticAnswer);

  /** A keep-alive client of one connection, as bench/http.ts's; each request's stamps. */
  const client = (port: number, path: string): { post: (body: string) => Promise<Marks>; close: () => void } => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string): Promise<Marks> =>
      new Promise((resolve, reject) => {
        const marks: Marks = {};
        current = marks;
        marks.send = clock();
        const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (reply) => {
          const chunks: Buffer[] = [];
          reply.on('data', (chunk: Buffer) => chunks.push(chunk));
          reply.on('end', () => {
            marks.received = clock();
            const text = Buffer.concat(chunks).toString();
            if (reply.statusCode === 200) resolve(marks);
            else reject(new Error(`POST ${path} answered ${reply.statusCode}: ${text.slice(0, 300)}`));
          });
        });
        req.on('error', reject);
        req.end(body);
      });
    return { post, close: () => agent.destroy() };
  };

  const REQUESTS = {
    tiny: { label: 'tiny grad', bodies: [JSON.stringify({ program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } })] },
    mlp: { label: 'MLP grad, fixed data', bodies: localBodies('mlp').map((body) => JSON.stringify(body)) },
  };
  type RequestName = keyof typeof REQUESTS;

  interface Target {
    name: string;
    post: (body: string) => Promise<Marks>;
    close: () => void;
  }

  /** `count` requests to `target` one after another (`gapMs` apart, once each is answered), their stamps. */
  const send = async (target: Target, name: RequestName, count: number, gapMs = 0, from = 0): Promise<Marks[]> => {
    const { bodies } = REQUESTS[name];
    const all: Marks[] = [];
    for (let i = 0; i < count; i++) {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      all.push(await target.post(bodies[(from + i) % bodies.length]));
    }
    return all;
  };

  /**
   * Each target's stamps for `name`, after `warmup` requests each: `count` requests each, the
   * targets taking turns `round` at a time, `gapMs` apart.
   */
  const inTurns = async (targets: Target[], name: RequestName, count: number, { warmup = WARMUP, round = ROUND, gapMs = 0 } = {}): Promise<Marks[][]> => {
    for (const target of targets) await send(target, name, warmup, gapMs);
    const results = targets.map((): Marks[] => []);
    for (let done = 0; done < count; done += round) {
      for (const [i, target] of targets.entries()) results[i].push(...(await send(target, name, Math.min(round, count - done), gapMs, done)));
    }
    return results;
  };

  const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const durations = (all: Marks[], from: Mark, to: Mark): number[] =>
    all
      .map((m) => (m[from] === undefined || m[to] === undefined ? NaN : m[to] - m[from]))
      .filter((d) => !Number.isNaN(d))
      .sort((a, b) => a - b);
  const cell = (all: Marks[], from: Mark, to: Mark): string => {
    const d = durations(all, from, to);
    return d.length === 0 ? '—' : `${(quantile(d, 0.5) * 1000).toFixed(0)} / ${(quantile(d, 0.9) * 1000).toFixed(0)}`;
  };
  const median = (all: Marks[], from: Mark, to: Mark): number => {
    const d = durations(all, from, to);
    return d.length === 0 ? NaN : quantile(d, 0.5);
  };

  // Stamps on different threads must be in order: a negative one means the clocks disagree.
  const checkOrder = (all: Marks[]): void => {
    for (const [from, to] of [['batchSent', 'workerReceived'], ['workerReplied', 'outcomes']] as const) {
      const d = durations(all, from, to);
      if (d.length > 0 && d[0] < 0) console.warn(`warning: ${from} → ${to} is negative in ${d.filter((x) => x < 0).length} requests (min ${(d[0] * 1000).toFixed(1)} µs)`);
    }
  };

  const started = performance.now();
  const adjoint = await startAdjoint({});
  const pooled = await startAdjoint({ INLINE_BELOW_US: '0' });
  const bareTarget: Target = { name: 'bare fastify', ...client(await listen(bare as unknown as App), '/v1/grad') };
  const grad: Target = { name: 'adjoint `/v1/grad`', ...client(adjoint.port, '/v1/grad') };
  const viaPool: Target = { name: 'adjoint, INLINE_BELOW_US=0', ...client(pooled.port, '/v1/grad') };
  const same: Target = { name: 'same app, static route', ...client(adjoint.port, '/bench/static') };
  const targets = [grad, viaPool, same, bareTarget];

  console.log(`where one request's time goes: ${MEASURED} requests each after ${WARMUP} of warm-up, one at a time on one keep-alive connection; node ${process.version}; µs, median / p90`);
  console.log(
    'adjoint with WORKERS=2 and LOG_LEVEL=silent (its quick requests computed on the event loop, src/workers/inline.ts), the same with every request sent to a worker (INLINE_BELOW_US=0), ' +
      'its static route and a bare fastify in this process (their turns alternate); worker stamps aligned by process.hrtime',
  );
  const columns: { title: string; marks: Marks[] }[] = [];
  const inlineShare: string[] = [];
  for (const name of ['tiny', 'mlp'] as const) {
    const { inlined, handedOver } = adjoint.app.workers;
    const results = await inTurns(targets, name, MEASURED);
    inlineShare.push(`${REQUESTS[name].label} ${adjoint.app.workers.inlined - inlined} of ${MEASURED + WARMUP} (${adjoint.app.workers.handedOver - handedOver} handed over)`);
    checkOrder(results[1]);
    targets.forEach((target, i) => columns.push({ title: `${REQUESTS[name].label}: ${target.name}`, marks: results[i] }));
  }
  console.log(`\n| segment | ${columns.map((c) => c.title).join(' | ')} |`);
  console.log(`| --- | ${columns.map(() => '---').join(' | ')} |`);
  for (const { label, from, to } of SEGMENTS) console.log(`| ${label} | ${columns.map((c) => cell(c.marks, from, to)).join(' | ')} |`);

  // The medians' differences: what the app's hooks add (its static route against bare fastify),
  // what computing adds on the event loop and through the pool (each against the static route),
  // and the pool's part in its handler.
  const us = (ms: number): string => `${ms >= 0 ? '+' : ''}${(ms * 1000).toFixed(0)} µs`;
  console.log(`\nanswered on the event loop: ${inlineShare.join('; ')}`);
  console.log('\nthe differences of the medians:');
  for (let k = 0; k < columns.length; k += targets.length) {
    const [ours, pool, same, base] = columns.slice(k, k + targets.length).map((c) => c.marks);
    const over = (a: Marks[], b: Marks[], from: Mark, to: Mark): number => median(a, from, to) - median(b, from, to);
    const part = (from: Mark, to: Mark): number => median(pool, from, to);
    // The segments the static route has too, but its handler and the total.
    const others = SEGMENTS.filter(({ from, to }) => durations(same, from, to).length > 0 && from !== 'preHandler' && !(from === 'send' && to === 'received'));
    console.log(
      `- ${columns[k].title.split(':')[0]}: adjoint over bare fastify ${us(over(ours, base, 'send', 'received'))}; ` +
        `the app's hooks and parser (its static route over bare) ${us(over(same, base, 'send', 'received'))}; ` +
        `the grad over the static route ${us(over(ours, same, 'send', 'received'))}, its handler ${us(over(ours, same, 'preHandler', 'onSend'))}; ` +
        `through the pool ${us(over(pool, same, 'send', 'received'))}, its handler ${us(over(pool, same, 'preHandler', 'onSend'))} ` +
        `(messages to and from the worker ${us(part('batchSent', 'workerReceived') + part('workerReplied', 'outcomes'))}, the worker ${us(part('workerReceived', 'workerReplied'))}, ` +
        `setImmediate ${us(part('poolCall', 'batchSent'))}), the other segments ${others.map(({ label, from, to }) => `${label.split(' (')[0]} ${us(over(pool, same, from, to))}`).join(', ')}`,
    );
  }
  grad.close();
  viaPool.close();
  same.close();
  await adjoint.app.close();
  await pooled.app.close();

  // Back to back against spaced, two workers against one, workers at the event loop's priority:
  // three apps at once, taking turns with the bare fastify as above.
  const variants: { name: string; env: Record<string, string> }[] = [
    { name: 'WORKERS=2', env: {} },
    { name: 'WORKERS=2, INLINE_BELOW_US=0', env: { INLINE_BELOW_US: '0' } },
    { name: 'WORKERS=1, INLINE_BELOW_US=0', env: { WORKERS: '1', INLINE_BELOW_US: '0' } },
    { name: 'WORKERS=2, INLINE_BELOW_US=0, WORKER_NICENESS=0', env: { INLINE_BELOW_US: '0', WORKER_NICENESS: '0' } },
  ];
  const apps = await Promise.all(variants.map(({ env }) => startAdjoint(env)));
  const variantTargets: Target[] = [...variants.map(({ name }, i) => ({ name, ...client(apps[i].port, '/v1/grad') })), bareTarget];
  console.log(`\nback to back (${BACK_TO_BACK} after ${WARMUP}) against spaced by ${SPACING_MS} ms (${SPACED} after ${SPACED / 4}), the servers taking turns, µs, median / p90:`);
  const waking: [string, Mark, Mark][] = [
    ['total', 'send', 'received'],
    ['client → `request`', 'send', 'request'],
    ['batch sent → worker has it', 'batchSent', 'workerReceived'],
    ['worker reply → main has it', 'workerReplied', 'outcomes'],
    ['worker: compute()', 'computeStart', 'computeEnd'],
  ];
  console.log(`\n| server | request | spacing | ${waking.map(([label]) => label).join(' | ')} | on the event loop | on another worker than the last |`);
  console.log(`| --- | --- | --- | ${waking.map(() => '---').join(' | ')} | --- | --- |`);
  for (const name of ['tiny', 'mlp'] as const) {
    const backToBack = await inTurns(variantTargets, name, BACK_TO_BACK);
    const spaced = await inTurns(variantTargets, name, SPACED, { warmup: SPACED / 4, round: SPACED / 4, gapMs: SPACING_MS });
    for (const [spacing, results] of [['none', backToBack], [`${SPACING_MS} ms`, spaced]] as const) {
      variantTargets.forEach((target, i) => {
        const all = results[i];
        checkOrder(all);
        const pooled = all.filter((m) => m.thread !== undefined);
        const switched = pooled.length < 2 ? '—' : `${Math.round((100 * pooled.filter((m, k) => k > 0 && m.thread !== pooled[k - 1].thread).length) / (pooled.length - 1))}%`;
        const computed = all.filter((m) => m.poolCall !== undefined);
        const onLoop = computed.length === 0 ? '—' : `${Math.round((100 * computed.filter((m) => m.batchSent === undefined).length) / computed.length)}%`;
        console.log(`| ${target.name} | ${REQUESTS[name].label} | ${spacing} | ${waking.map(([, from, to]) => cell(all, from, to)).join(' | ')} | ${onLoop} | ${switched} |`);
      });
    }
  }
  for (const target of variantTargets.slice(0, -1)) target.close();
  await Promise.all(apps.map(({ app }) => app.close()));
  bareTarget.close();
  await bare.close();

  // compute() alone, on this thread: hot, and after SPACING_MS idle (what a woken thread's caches cost).
  const { computeSync } = await import('../src/index.js');
  const tinyBody = REQUESTS.tiny.bodies[0];
  const timeCompute = async (count: number, gapMs: number): Promise<string> => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      const start = clock();
      computeSync('grad', JSON.parse(tinyBody));
      times.push(clock() - start);
    }
    times.sort((a, b) => a - b);
    return `${(quantile(times, 0.5) * 1000).toFixed(1)} / ${(quantile(times, 0.9) * 1000).toFixed(1)} µs`;
  };
  await timeCompute(20000, 0);
  console.log(`\nthe tiny grad's JSON.parse + computeSync on the main thread, median / p90: back to back ${await timeCompute(2000, 0)}; spaced by ${SPACING_MS} ms ${await timeCompute(SPACED, SPACING_MS)}`);
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
