/**
 * The service's configuration: every setting from one environment variable, read and validated
 * here, at start. A bad value stops the process with one line naming the setting.
 */
import { availableParallelism } from 'node:os';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Worker threads evaluating requests. */
  readonly workers: number;
  /** Tasks waiting for a worker before requests are refused with 503. */
  readonly maxQueue: number;
  readonly logLevel: string;
  /** Largest request body, in bytes. */
  readonly bodyLimit: number;
  readonly limits: {
    readonly maxProgramLength: number;
    readonly maxTensorElements: number;
    readonly maxOperations: number;
    readonly maxElements: number;
    readonly timeoutMs: number;
    readonly maxIterations: number;
    readonly maxDepth: number;
  };
  /** Memory of one worker's JavaScript heap, in MiB. */
  readonly workerMemoryMb: number;
  /** How long SIGTERM waits for requests in flight, in milliseconds. */
  readonly shutdownGraceMs: number;
}

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the configuration from the environment; throws ConfigError naming a bad setting. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const host = env.HOST ?? '0.0.0.0';
  if (host.trim() === '') throw new ConfigError('HOST', 'must not be empty');
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host,
    workers: integer(env, 'WORKERS', availableParallelism(), 1, 256),
    maxQueue: integer(env, 'MAX_QUEUE', 256, 0),
    logLevel,
    bodyLimit: integer(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024),
    limits: {
      maxProgramLength: integer(env, 'MAX_PROGRAM_LENGTH', 100_000, 1),
      maxTensorElements: integer(env, 'MAX_TENSOR_ELEMENTS', 1_000_000, 1),
      maxOperations: integer(env, 'MAX_OPERATIONS', 10_000_000, 1),
      maxElements: integer(env, 'MAX_ELEMENTS', 50_000_000, 1),
      timeoutMs: integer(env, 'TIMEOUT_MS', 10_000, 1),
      maxIterations: integer(env, 'MAX_ITERATIONS', 1_000_000, 1),
      maxDepth: integer(env, 'MAX_RECURSION_DEPTH', 256, 1, 10_000),
    },
    workerMemoryMb: integer(env, 'WORKER_MEMORY_MB', 512, 16),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0),
  };
}
