/**
 * PyTorch's reference vectors (test/vectors/torch-oracle.json, a copy of the shared folder's) and the one list of cases
 * not run yet, shared by the in-process tests (test/lang) and the HTTP tests (test/server).
 */
import { readFileSync } from 'node:fs';
import type { ProblemCode } from '../src/index.js';
import type { Tolerance } from './helpers.js';
import { file } from '../scripts/paths.js';

export interface OracleCase {
  name: string;
  endpoint: string;
  request: Record<string, unknown>;
  expect: Record<string, unknown>;
  tol: Required<Tolerance>;
}

export const oracle = JSON.parse(readFileSync(file('test/vectors/torch-oracle.json'), 'utf8')) as { cases: OracleCase[] };

export interface Pending {
  /** Why the case cannot run yet: the later issue that delivers its feature. */
  reason: string;
  /** How it fails until then: an endpoint that does not exist, or a function not in the catalogue. */
  failsWith: Extract<ProblemCode, 'NOT_FOUND' | 'UNKNOWN_NAME'>;
}

/** The one list of oracle cases not run yet (none, now: keep it for the next feature's cases). */
export const pending: Readonly<Record<string, Pending>> = {};

/** The cases that run now. */
export const runnable = oracle.cases.filter((c) => !(c.name in pending));
