/**
 * What the hostile tests share: a server started for them (test/server/harness.ts's, warmed so
 * that a worker's first start is not counted as a request's time), the budget of the fuzzers
 * (HOSTILE_SECONDS, HOSTILE_SEED, HOSTILE_RUNS), and checks of the server's health after hostile
 * input: /healthz answers quickly and no worker was replaced.
 */
import type { Test } from 'tap';
import { startServer, type Server } from '../server/harness.js';
import { HttpClient } from './wire.js';

/**
 * The fuzzers' time in all, in seconds (HOSTILE_SECONDS, default 30: what CI spends), shared
 * out by `share` (a fraction) to each fuzzer.
 */
export function fuzzSeconds(share: number): number {
  const total = Number(process.env.HOSTILE_SECONDS ?? 30);
  if (!(total > 0)) throw new Error(`HOSTILE_SECONDS must be a positive number, got ${process.env.HOSTILE_SECONDS}`);
  return total * share;
}

/** The seed of every fuzzer: HOSTILE_SEED to replay a run, else a fresh one (printed by each test). */
export const fuzzSeed: number = process.env.HOSTILE_SEED !== undefined ? Number(process.env.HOSTILE_SEED) : Math.floor(Math.random() * 2 ** 31);

/** HOSTILE_RUNS: a fixed number of runs (a replay of a failing run needs the same count), else bounded by time alone. */
export const fuzzRuns: number | undefined = process.env.HOSTILE_RUNS !== undefined ? Number(process.env.HOSTILE_RUNS) : undefined;

/** Small limits: a random program meets one within a fraction of a second. */
export const FUZZ_ENV: Readonly<Record<string, string>> = {
  TIMEOUT_MS: '1500',
  MAX_OPERATIONS: '200000',
  MAX_ELEMENTS: '2000000',
  MAX_TENSOR_ELEMENTS: '100000',
  MAX_ITERATIONS: '20000',
  MAX_PROGRAM_LENGTH: '50000',
  BODY_LIMIT_BYTES: '262144',
  MAX_SAMPLES: '1000',
  MAX_STEPS: '1000',
  MAX_CHECK_POINTS: '20',
  MAX_BATCH: '8',
};

/** A small request of every endpoint, each answered once so that the worker has loaded what it needs. */
const WARM_UP: readonly [string, unknown][] = [
  ['eval', { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 } }],
  ['grad', { program: 'sum(W * x .^ 2)', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] } }],
  ['jacobian', { program: '[x * y, x + y]', at: { x: 0.5, y: 4.2 } }],
  ['hessian', { program: 'x^2 * y', at: { x: 1, y: 2 } }],
  ['trace', { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, options: { format: 'svg' } }],
  ['sample', { program: 'rsample(gamma(2, b))', at: { b: 1 }, n: 10, seed: 1 }],
  ['optimize', { program: 'sum(x .^ 2)', params: { x: [2, 1] }, optimizer: { name: 'adam', lr: 0.1 }, steps: 3 }],
  ['check', { program: 'x^2', at: { x: 3 }, answer: { grad: { x: '2*x' } } }],
  ['derivative', { program: 'x^2 * sin(x)', wrt: ['x'] }],
];

export interface HostileServer extends Server {
  readonly http: HttpClient;
  /** Sends a small request until it is answered: a worker that replaced another loads slowly through tsx. */
  warm(): Promise<void>;
  /** /healthz's answer time, in milliseconds, or Infinity when it does not answer 200. */
  healthz(): Promise<number>;
}

/**
 * A server with `env` (one worker unless said), closed when `t` ends; warmed with a request of
 * every endpoint ('all'), one request ('one': the worker has loaded) or none.
 */
export async function startHostileServer(t: Test, env: Record<string, string> = {}, warmUp: 'all' | 'one' | 'none' = 'all'): Promise<HostileServer> {
  const server = await startServer(t, { WORKERS: '1', ...env });
  const http = new HttpClient(server.base, 16, 120_000);
  t.teardown(() => http.close());
  const healthz = async (): Promise<number> => {
    const reply = await http.send({ path: '/healthz' });
    return reply.ok && reply.status === 200 ? reply.ms : Infinity;
  };
  const answer = async (endpoint: string, body: unknown): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const reply = await http.post(endpoint, body);
      if (reply.ok && reply.status === 200) return;
    }
  };
  const warm = (): Promise<void> => answer(...WARM_UP[0]);
  if (warmUp === 'all') for (const [endpoint, body] of WARM_UP) await answer(endpoint, body);
  else if (warmUp === 'one') await warm();
  return { ...server, http, warm, healthz };
}

/** Polls /healthz every 10 ms until stopped; resolves to the longest answer time (Infinity: one failed). */
export function pollHealthz(server: HostileServer): { stop: () => Promise<number> } {
  let stopped = false;
  let longest = 0;
  const polling = (async () => {
    while (!stopped) {
      longest = Math.max(longest, await server.healthz());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await polling;
      return longest;
    },
  };
}
