/**
 * What the deployment tests read: the files under deploy/ and the top-level Dockerfile, parsed;
 * the settings the server reads, learnt from the configuration module itself; Kubernetes
 * quantities; and a health-check command run against a real server.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type Config } from '../../src/server/config.js';
import { root } from '../../scripts/paths.js';

export { root };
export const deployDir = join(root, 'deploy');
export const k8sDir = join(deployDir, 'k8s');
export const dockerfilePath = join(root, 'Dockerfile');

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Every document of a YAML file as plain data; a syntax error or a duplicate key throws. */
export function readYaml(path: string): unknown[] {
  return parseAllDocuments(readText(path), { uniqueKeys: true }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${path}, document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

export type Json = Record<string, unknown>;

/** A child of a parsed document, for reading nested manifests without a cast at every step. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/**
 * The environment variables the server reads, learnt by watching loadConfig read them (with a key
 * set, so that API_KEYS_REQUIRED, read only then, is seen too).
 */
export function settingsRead(): string[] {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') read.add(name);
        return name === 'API_KEYS' ? 'a-key-of-some-length' : undefined;
      },
    },
  );
  loadConfig(env);
  return [...read].sort();
}

/** The configuration an environment gives, with WORKERS fixed so that it does not depend on this machine. */
export function configFrom(env: Record<string, string>): Config {
  return loadConfig({ WORKERS: '1', ...env });
}

/** The memory one pod or container needs at least, in MiB, for its WORKERS and WORKER_MEMORY_MB. */
export function memoryNeededMiB(config: Config): number {
  // Each worker: its old generation (WORKER_MEMORY_MB) and young generation (as workers.ts sets
  // it); the main thread, with HTTP, JSON and streams: about 256 MiB.
  const young = Math.min(64, config.workerMemoryMb / 4);
  return config.workers * (config.workerMemoryMb + young) + 256;
}

const kubernetesUnits: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const composeUnits: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kb: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, g: 2 ** 30, gb: 2 ** 30 };

/** A Kubernetes memory quantity ("2Gi", "1536Mi", "2G", "1073741824"), in bytes. */
export function kubernetesBytes(quantity: unknown): number {
  const m = /^(\d+(?:\.\d+)?)([kMGT]i?|Ki)?$/.exec(String(quantity));
  if (m === null || !((m[2] ?? '') in kubernetesUnits)) throw new Error(`not a Kubernetes memory quantity: ${String(quantity)}`);
  return Number(m[1]) * kubernetesUnits[m[2] ?? ''];
}

/** A Compose memory size ("1G", "512m", "1gb": binary units, any case), in bytes. */
export function composeBytes(size: unknown): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(String(size));
  if (m === null || !(m[2].toLowerCase() in composeUnits)) throw new Error(`not a Compose memory size: ${String(size)}`);
  return Number(m[1]) * composeUnits[m[2].toLowerCase()];
}

/** A CPU quantity ("2", "1.5", "500m") in cores. */
export function cores(quantity: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(String(quantity));
  if (m === null) throw new Error(`not a cpu quantity: ${String(quantity)}`);
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}

/** A duration as Docker Compose writes one ("20s", "1m30s", "500ms"), in milliseconds. */
export function composeDurationMs(duration: unknown): number {
  const text = String(duration);
  const units: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)/.exec(rest);
    if (m === null) throw new Error(`not a duration: ${text}`);
    total += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** The top-level Dockerfile, parsed, and the facts the other files must agree with. */
export interface DockerfileFacts {
  readonly text: string;
  /** The instructions of the last stage, the image that runs. */
  readonly finalStage: Instruction[];
  /** Ports the final stage EXPOSEs. */
  readonly exposed: number[];
  /** The final stage's last USER, or null. */
  readonly user: string | null;
}

export function dockerfile(): DockerfileFacts | null {
  if (!existsSync(dockerfilePath)) return null;
  const text = readText(dockerfilePath);
  const instructions = DockerfileParser.parse(text).getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  const finalStage = instructions.slice(lastFrom);
  const exposed = finalStage
    .filter((i) => i.getKeyword() === 'EXPOSE')
    .flatMap((i) => i.getArguments().map((a) => Number(a.getValue().replace(/\/tcp$/i, ''))));
  const users = finalStage.filter((i) => i.getKeyword() === 'USER');
  const user = users.length === 0 ? null : users[users.length - 1].getArgumentsContent();
  return { text, finalStage, exposed, user };
}

/** The uid a Dockerfile USER names: numeric, or the official Node images' `node` user (uid 1000). */
export function uidOf(user: string): number | null {
  const name = user.split(':')[0];
  if (/^\d+$/.test(name)) return Number(name);
  return name === 'node' ? 1000 : name === 'root' ? 0 : null;
}

/**
 * Runs a container's health-check command (exec form: a program and its arguments) on this
 * machine with the container's environment `env` (PORT as the container would have it, or
 * unset), and resolves with its exit code.
 */
export function runHealthCheck(command: readonly string[], env: Readonly<Record<string, string>>): Promise<number> {
  const [program, ...args] = command;
  if (program !== 'node') throw new Error(`the health check runs ${program}, not node`);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'PORT'));
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 10_000, env: { ...inherited, ...env } }, (error) => {
      resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : -1);
    });
  });
}

/**
 * The port a health-check command asks when the container has no PORT: the number after
 * `process.env.PORT ... ||` in its script, or null when it reads no PORT.
 */
export function healthCheckDefaultPort(command: readonly string[]): number | null {
  const m = /process\.env\.PORT(?:\?\.trim\(\))?\s*\|\|\s*(\d+)/.exec(command.join(' '));
  return m === null ? null : Number(m[1]);
}
