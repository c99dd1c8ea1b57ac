/**
 * Every setting of the server in one table: its environment variable, its default, the values
 * it accepts and what it does. config.ts reads the environment through it; the limits of one
 * request come from compute's own table (compute/limits.ts), which `compute()` takes its
 * defaults from; docs/configuration.md is generated from both (`npm run docs`; a test fails
 * when it is stale).
 */
import { LIMIT_SETTINGS } from '../compute/limits.js';

interface Described {
  readonly env: string;
  /** What it does, and what a request past it gets: a row of docs/configuration.md. */
  readonly description: string;
}

export interface IntegerSetting extends Described {
  readonly kind: 'integer';
  /** A number, or one per CPU this process may use (config.ts's `availableCpus`). */
  readonly default: number | typeof PER_CPU;
  readonly min: number;
  readonly max?: number;
}

export interface FlagSetting extends Described {
  readonly kind: 'flag';
  readonly default: boolean;
}

/** A string (one of `choices` if given), a comma list, or a value config.ts parses itself. */
export interface TextSetting extends Described {
  readonly kind: 'text' | 'list' | 'special';
  readonly default: string;
  readonly choices?: readonly string[];
}

export type Setting = IntegerSetting | FlagSetting | TextSetting;

/** A default that depends on the machine (WORKERS), as the documentation states it. */
export const PER_CPU = "one per CPU (a container's CPU quota counts)";

/** The server's own settings (the limits of one request follow them in `SETTINGS`). */
export const SERVER_SETTINGS = {
  port: { env: 'PORT', kind: 'integer', default: 8080, min: 0, max: 65535, description: 'port to listen on' },
  host: { env: 'HOST', kind: 'text', default: '0.0.0.0', description: 'address to listen on' },
  workers: { env: 'WORKERS', kind: 'integer', default: PER_CPU, min: 1, max: 256, description: 'worker threads evaluating requests' },
  maxQueue: { env: 'MAX_QUEUE', kind: 'integer', default: 256, min: 0, description: 'requests waiting for a worker before 503 `OVERLOADED`' },
  queueTimeoutMs: {
    env: 'QUEUE_TIMEOUT_MS',
    kind: 'integer',
    default: 10_000,
    min: 1,
    description:
      "how long a request may wait while the workers run others, before 503 `OVERLOADED` with `Retry-After`; a `sample`'s chunks wait that long in all, and those after a lane's first go ahead of requests not yet started, so every request is answered within `QUEUE_TIMEOUT_MS` + `TIMEOUT_MS`",
  },
  apiKeys: { env: 'API_KEYS', kind: 'list', default: '', description: 'comma list of accepted keys (`Authorization: Bearer <key>`), each at least 8 characters' },
  requireApiKey: {
    env: 'API_KEYS_REQUIRED',
    kind: 'flag',
    default: true,
    description: 'with keys set: requests without one get 401 (false: anonymous requests are allowed, wrong keys still get 403)',
  },
  rateLimit: {
    env: 'RATE_LIMIT',
    kind: 'integer',
    default: 0,
    min: 0,
    description:
      "requests a minute per verified key, or per client address (an IPv6 /64) without one; WebSocket messages count as requests; 0 turns limiting off; 429 with `Retry-After` (seconds until the minute's window ends)",
  },
  authFailureLimit: {
    env: 'AUTH_FAILURE_LIMIT',
    kind: 'integer',
    default: 10,
    min: 0,
    description: "wrong API keys a minute per client address; past it, that address's keys get 429 unchecked until the minute ends; 0 turns this off",
  },
  trustProxy: {
    env: 'TRUST_PROXY',
    kind: 'special',
    default: 'false',
    description:
      "whom to believe in `X-Forwarded-For` for the client's address (rate limits, logs): `true` (any proxy), a number of proxy hops, or a comma list of proxy addresses/CIDRs",
  },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    kind: 'list',
    default: '',
    description:
      'comma list of origins allowed to call from a browser, such as `https://course.example.org`, or `*`; a WebSocket upgrade from another origin gets 403 (one without `Origin` is allowed)',
  },
  maxWsConnections: { env: 'MAX_WS_CONNECTIONS', kind: 'integer', default: 1000, min: 1, description: 'open WebSocket connections in all (503 at the upgrade beyond)' },
  maxWsConnectionsPerClient: { env: 'MAX_WS_CONNECTIONS_PER_CLIENT', kind: 'integer', default: 32, min: 1, description: 'open WebSocket connections per verified key, or per client address' },
  wsMaxBufferedBytes: {
    env: 'WS_MAX_BUFFERED_BYTES',
    kind: 'integer',
    default: 64 * 1024 * 1024,
    min: 64 * 1024,
    description: 'answers of one WebSocket not yet sent: new requests get 503 `OVERLOADED` past a quarter of it (at most 4 MiB), and the socket is closed (1013) past it',
  },
  bodyLimit: { env: 'BODY_LIMIT_BYTES', kind: 'integer', default: 10 * 1024 * 1024, min: 1024, description: 'largest request body (413 beyond)' },
  maxJsonDepth: {
    env: 'MAX_JSON_DEPTH',
    kind: 'integer',
    default: 100,
    min: 8,
    max: 10_000,
    description: 'deepest nesting of arrays and objects in a body or WebSocket message, checked by a linear scan before it is parsed (413 with the `path`)',
  },
  workerMemoryMb: { env: 'WORKER_MEMORY_MB', kind: 'integer', default: 512, min: 16, description: 'heap of one worker, in MiB; a worker over it is replaced and the request gets 422' },
  workerNiceness: {
    env: 'WORKER_NICENESS',
    kind: 'integer',
    default: 10,
    min: 0,
    max: 19,
    description: "how much lower the worker threads' CPU priority is than the event loop's (Linux), so a saturated machine still answers `/healthz` and refusals at once",
  },
  inlineBelowUs: {
    env: 'INLINE_BELOW_US',
    kind: 'integer',
    default: 1000,
    min: 0,
    max: 10_000,
    description:
      'work (an endpoint and program, with a body of about the same size) that lately took less than this many microseconds is computed on the event loop rather than sent to a worker, whose round trip costs more than such a request; under tighter budgets (5 ms, 200,000 operations, 250,000 elements: past one, a worker computes it) and at most half the event loop\'s time; 0 turns this off',
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    kind: 'integer',
    default: 10_000,
    min: 0,
    description: "how long SIGTERM waits for requests in flight; then what still runs is stopped and answered 503 `SHUTTING_DOWN` (a stream's last line, a WebSocket `error`)",
  },
  logLevel: {
    env: 'LOG_LEVEL',
    kind: 'text',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'pino level; one JSON line per request with its id, route, status and duration',
  },
} as const satisfies Record<string, Setting>;

/** The limits of one request a server reads from its environment. */
export const LIMIT_ENV_SETTINGS: readonly (IntegerSetting & { readonly name: string })[] = LIMIT_SETTINGS.flatMap((s) =>
  s.env === null ? [] : [{ name: s.name, env: s.env, kind: 'integer' as const, default: s.default, min: s.min, ...(s.max === undefined ? {} : { max: s.max }), description: s.description }],
);

/** Every setting, in the order docs/configuration.md lists them. */
export const SETTINGS: readonly Setting[] = [...Object.values(SERVER_SETTINGS), ...LIMIT_ENV_SETTINGS];

const cell = (text: string): string => text.replaceAll('|', '\\|');

function shownDefault(s: Setting): string {
  if (s.kind === 'list' && s.default === '') return '(none)';
  return String(s.default);
}

function accepted(s: Setting): string {
  switch (s.kind) {
    case 'integer':
      return s.max === undefined ? `${s.min} or more` : `${s.min} to ${s.max}`;
    case 'flag':
      return '`true` or `false`';
    case 'text':
      return s.choices === undefined ? 'text' : s.choices.map((c) => `\`${c}\``).join(', ');
    case 'list':
      return 'comma list';
    case 'special':
      return 'see meaning';
  }
}

const table = (settings: readonly Setting[], option = false): string[] => [
  `| variable | default | accepted |${option ? ' `compute()` limit |' : ''} meaning |`,
  `| --- | --- | --- |${option ? ' --- |' : ''} --- |`,
  ...settings.map((s) => `| \`${s.env}\` | ${cell(shownDefault(s))} | ${cell(accepted(s))} |${option ? ` \`${(s as { name?: string }).name}\` |` : ''} ${cell(s.description)} |`),
];

/** docs/configuration.md. */
export function configurationMarkdown(): string {
  const libraryOnly = LIMIT_SETTINGS.filter((s) => s.env === null);
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/server/settings.ts and src/compute/limits.ts by `npm run docs`: edit those, not this file. -->',
    '',
    'Every setting is an environment variable, read and validated at start (`src/server/config.ts`);',
    'a bad value stops the process with one line naming it and a non-zero exit code. The Kubernetes',
    'ConfigMap (`deploy/k8s/configmap.yaml`) lists them all; [`deploy/README.md`](../deploy/README.md)',
    'says which to set for a course.',
    '',
    '## The server',
    '',
    ...table(Object.values(SERVER_SETTINGS)),
    '',
    '## The limits of one request',
    '',
    'A request past a limit is refused with the status given, and a problem that names the limit.',
    "The library's `compute(endpoint, body, { limits })` takes the same limits by the names in the",
    'fourth column, with these defaults.',
    '',
    ...table(LIMIT_ENV_SETTINGS, true),
    '',
    `The library also has ${libraryOnly.map((s) => `\`${s.name}\` (${s.description}, default ${s.default})`).join(' and ')}, which the server leaves at their defaults.`,
    '',
  ].join('\n');
}
