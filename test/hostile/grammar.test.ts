/**
 * The grammar fuzzer: random programs (grammar.ts) to random endpoints with random inputs, over
 * HTTP and then over one WebSocket, for a bounded time (HOSTILE_SECONDS; the seed is printed,
 * HOSTILE_SEED replays it). Every answer a 2xx or a problem of a known code within TIMEOUT_MS
 * + 1 s, every WebSocket id one final message, the socket open, the server healthy, no worker
 * replaced but by a request answered "memory limit exceeded". The server's limits are small so
 * that no random program eats the time budget.
 */
import t from 'tap';
import { fuzzHttp, fuzzWebSocket } from './fuzz.js';
import { programRequests, type CatalogueFunction } from './grammar.js';
import { FUZZ_ENV, fuzzSeconds, startHostileServer } from './harness.js';

t.setTimeout(fuzzSeconds(0.6) * 1000 + 120_000);
const server = await startHostileServer(t, FUZZ_ENV);
const listed = await server.http.send({ path: '/v1/functions' });
const catalogue = (JSON.parse(listed.ok ? listed.text : '{}') as { functions?: CatalogueFunction[] }).functions ?? [];
t.ok(catalogue.length > 50, `GET /v1/functions lists the catalogue (${catalogue.length} functions)`);

const requests = programRequests(catalogue);
const options = { name: 'random programs', timeoutMs: Number(FUZZ_ENV.TIMEOUT_MS), bodyLimit: Number(FUZZ_ENV.BODY_LIMIT_BYTES) };
await t.test('random programs over HTTP', (t) => fuzzHttp(t, server, requests, { ...options, seconds: fuzzSeconds(0.35) }));
await t.test('random programs over WebSocket', (t) => fuzzWebSocket(t, server, requests, { ...options, seconds: fuzzSeconds(0.25) }));
