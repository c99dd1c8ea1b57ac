/**
 * The service's entry point: reads the configuration, listens, and on SIGTERM or SIGINT drains
 * (readiness goes false, no new connections, requests in flight finish) and exits 0 within the
 * grace period. A bad configuration stops the process at start with one line naming it.
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

let config: Config;
try {
  config = loadConfig();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`${JSON.stringify({ level: 'fatal', setting: e.setting, msg: `invalid configuration: ${e.message}` })}\n`);
  process.exit(2);
}

const app = await buildApp(config);
try {
  await app.listen({ port: config.port, host: config.host });
} catch (e) {
  app.log.fatal({ err: e, setting: 'PORT', port: config.port }, 'cannot listen');
  process.exit(2);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.accepting = false;
  app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'draining');
  const force = setTimeout(() => {
    app.log.warn({ graceMs: config.shutdownGraceMs }, 'grace period over; exiting with requests unfinished');
    process.exit(0);
  }, config.shutdownGraceMs);
  force.unref();
  // A client's keep-alive connection would hold the server open until it times out: close each
  // one as soon as it has no request in flight.
  const idle = setInterval(() => app.server.closeIdleConnections(), 50);
  idle.unref();
  await app.close();
  app.log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
