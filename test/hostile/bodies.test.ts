/**
 * The typed-body fuzzer: every endpoint's documented requests mutated into structurally wrong
 * bodies, wrong content types and encodings (bodies.ts), sent over HTTP and then as WebSocket
 * messages for a bounded time (HOSTILE_SECONDS; the seed is printed, HOSTILE_SEED replays it).
 * Every answer a 2xx or a problem of a known code within TIMEOUT_MS + 1 s, every WebSocket id
 * one final message, the socket open, the server healthy, no worker replaced but by a request
 * answered "memory limit exceeded".
 */
import t from 'tap';
import { bodyRequests } from './bodies.js';
import { fuzzHttp, fuzzWebSocket } from './fuzz.js';
import { FUZZ_ENV, fuzzSeconds, startHostileServer } from './harness.js';

t.setTimeout(fuzzSeconds(0.4) * 1000 + 120_000);
const server = await startHostileServer(t, FUZZ_ENV);
const options = { name: 'mutated bodies', timeoutMs: Number(FUZZ_ENV.TIMEOUT_MS), bodyLimit: Number(FUZZ_ENV.BODY_LIMIT_BYTES) };
await t.test('mutated bodies over HTTP', (t) => fuzzHttp(t, server, bodyRequests, { ...options, seconds: fuzzSeconds(0.2) }));
await t.test('mutated bodies over WebSocket', (t) => fuzzWebSocket(t, server, bodyRequests, { ...options, seconds: fuzzSeconds(0.2) }));
