/**
 * The service's entry point: reads the configuration, listens, and on SIGTERM or SIGINT drains
 * (drain.ts: readiness goes false, no new connections, what is in flight finishes or, at the end
 * of the grace period, is answered SHUTTING_DOWN) and exits 0. A bad configuration stops the
 * process at start with one line naming it.
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { drain } from './drain.js';

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
  app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'draining');
  const inTime = await drain(app, config.shutdownGraceMs);
  app.log.info({ inTime }, 'stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
