import { buildApp } from './src/server/app.js';
import { loadConfig } from './src/server/config.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { wsMessage } from './test/hostile/cases.js';
const app = await buildApp(loadConfig({ WORKERS: '1', PORT: '0', LOG_LEVEL: 'silent', TIMEOUT_MS: '1500' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as any).port;
for (let k = 0; k < 3; k++) {
const body = `{"program":"x","at":{"x":${'['.repeat(5_200_000)}${']'.repeat(5_200_000)}}}`;
const h0 = monitorEventLoopDelay({ resolution: 5 }); h0.enable();
let t0 = performance.now();
const r = await fetch(`http://127.0.0.1:${port}/v1/eval`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
await r.text(); h0.disable();
console.log('http', performance.now() - t0, h0.max / 1e6);
const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { maxPayload: 1 << 30 });
await new Promise((r) => ws.on('open', r));
const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
t0 = performance.now();
ws.send(wsMessage('case', 'eval', body));
const msg = await new Promise((r) => ws.on('message', (d) => r(String(d))));
h.disable();
console.log('ws', performance.now() - t0, 'ms; max loop delay', h.max / 1e6, String(msg).slice(0, 60));
ws.close();
}
await app.close();
