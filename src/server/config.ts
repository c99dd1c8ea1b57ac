/**
 * The service's configuration: every setting from one environment variable, read and validated
 * here, at start, as the table in settings.ts describes it. A bad value stops the process with
 * one line naming the setting.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LIMIT_ENV_SETTINGS, PER_CPU, SERVER_SETTINGS, type FlagSetting, type IntegerSetting } from './settings.js';
import type { ComputeLimits } from '../compute/limits.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Worker threads evaluating requests. */
  readonly workers: number;
  /** Tasks waiting for a worker before requests are refused with 503. */
  readonly maxQueue: number;
  /** How long a request may wait for a worker, in milliseconds, before it is refused with 503. */
  readonly queueTimeoutMs: number;
  readonly logLevel: string;
  /** Largest request body, in bytes. */
  readonly bodyLimit: number;
  /** The deepest nesting of arrays and objects in a JSON body or message. */
  readonly maxJsonDepth: number;
  /** The limits of one request a server sets (compute/limits.ts; the rest keep the library's defaults). */
  readonly limits: Readonly<Required<Omit<ComputeLimits, 'maxNesting' | 'maxGraphNodes'>>>;

  /** Memory of one worker's JavaScript heap, in MiB. */
  readonly workerMemoryMb: number;
  /**
   * How much lower than the event loop's the workers' scheduling priority is (Linux niceness,
   * 0 to 19): on a saturated machine the event loop still answers /healthz, refusals and
   * streams at once.
   */
  readonly workerNiceness: number;
  readonly inlineBelowUs: number;
  /** How long SIGTERM waits for requests in flight, in milliseconds. */
  readonly shutdownGraceMs: number;
  /** Accepted API keys; a request that sends another gets 403. */
  readonly apiKeys: readonly string[];
  /** With keys configured: whether a request without one gets 401 (API_KEYS_REQUIRED, default true). */
  readonly requireApiKey: boolean;
  /** Requests a minute per key (or per client address without one); 0 turns limiting off. */
  readonly rateLimit: number;
  /** Wrong API keys a minute per client address before its tokens get 429 unchecked; 0 turns this off. */
  readonly authFailureLimit: number;
  /** Open WebSocket connections, in all and per client (a verified key, else an address). */
  readonly maxWsConnections: number;
  readonly maxWsConnectionsPerClient: number;
  /** Answers of one WebSocket waiting to be sent, in bytes, past which it is closed (1013). */
  readonly wsMaxBufferedBytes: number;
  /** Origins allowed to call from a browser; "*" allows any. */
  readonly corsOrigins: readonly string[];
  /**
   * Whom to believe about the client's address (X-Forwarded-For), for rate limits per client:
   * false (nobody, the default), true (any proxy), a number of proxy hops, or proxy addresses.
   */
  readonly trustProxy: boolean | number | readonly string[];
}

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, setting: IntegerSetting): number {
  const { env: name, min, max = Number.MAX_SAFE_INTEGER } = setting;
  const raw = env[name];
  if (raw === undefined || raw === '') return setting.default === PER_CPU ? availableCpus() : setting.default;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function flag(env: Env, setting: FlagSetting): boolean {
  const raw = env[setting.env];
  if (raw === undefined || raw === '') return setting.default;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(setting.env, `expected true or false, got "${raw}"`);
}

/** A comma-separated list; empty entries are dropped. */
function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** TRUST_PROXY: "false" (default), "true", a number of hops, or a comma list of proxy addresses or CIDRs. */
function trustProxy(env: Env): Config['trustProxy'] {
  const value = (env.TRUST_PROXY ?? 'false').trim();
  if (value === 'false' || value === '') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const addresses = list(env, 'TRUST_PROXY');
  for (const a of addresses) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a)) throw new ConfigError('TRUST_PROXY', `must be true, false, a number of hops or proxy addresses (CIDRs), got "${a}"`);
  }
  return addresses;
}

/**
 * The CPUs this process may use: the cores it may run on, capped by a container's CPU quota
 * (cgroup v2 `cpu.max`, or v1's `cfs_quota_us / cfs_period_us`), which Node.js does not see.
 * A container given 2 CPUs on a 64-core node gets 2 workers, not 64.
 */
export function availableCpus(read: (path: string) => string | null = readOrNull): number {
  const cores = availableParallelism();
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  const [quota, period] =
    v2 !== undefined ? [Number(v2[0]), Number(v2[1])] : [Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')), Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'))];
  if (!(quota > 0 && period > 0)) return cores;
  return Math.max(1, Math.min(cores, Math.ceil(quota / period)));
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const S = SERVER_SETTINGS;

/** Reads the configuration from the environment (settings.ts); throws ConfigError naming a bad setting. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? S.logLevel.default;
  if (!(S.logLevel.choices as readonly string[]).includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${S.logLevel.choices.join(', ')}, got "${logLevel}"`);
  const host = env.HOST ?? S.host.default;
  if (host.trim() === '') throw new ConfigError('HOST', 'must not be empty');
  const apiKeys = list(env, S.apiKeys.env);
  for (const key of apiKeys) if (key.length < 8 || /\s/.test(key)) throw new ConfigError('API_KEYS', 'each key must be at least 8 characters, without spaces');
  return {
    port: integer(env, S.port),
    host,
    workers: integer(env, S.workers),
    maxQueue: integer(env, S.maxQueue),
    queueTimeoutMs: integer(env, S.queueTimeoutMs),
    logLevel,
    bodyLimit: integer(env, S.bodyLimit),
    maxJsonDepth: integer(env, S.maxJsonDepth),
    limits: Object.fromEntries(LIMIT_ENV_SETTINGS.map((setting) => [setting.name, integer(env, setting)])) as Config['limits'],
    workerMemoryMb: integer(env, S.workerMemoryMb),
    workerNiceness: integer(env, S.workerNiceness),
    inlineBelowUs: integer(env, S.inlineBelowUs),
    shutdownGraceMs: integer(env, S.shutdownGraceMs),
    apiKeys,
    requireApiKey: apiKeys.length > 0 && flag(env, S.requireApiKey),
    rateLimit: integer(env, S.rateLimit),
    authFailureLimit: integer(env, S.authFailureLimit),
    maxWsConnections: integer(env, S.maxWsConnections),
    maxWsConnectionsPerClient: integer(env, S.maxWsConnectionsPerClient),
    wsMaxBufferedBytes: integer(env, S.wsMaxBufferedBytes),
    trustProxy: trustProxy(env),
    corsOrigins: list(env, 'CORS_ORIGINS').map((origin) => {
      if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
        throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin such as https://course.example.org (or *)`);
      }
      return origin;
    }),
  };
}
