/**
 * What an endpoint of `compute()` is. Most evaluate a program at a point: they declare the
 * request fields and options they take beyond the common ones (request.ts), and work on an
 * `Evaluation` that `compute()` prepares for them. The others (`check`, `derivative`,
 * `optimize`, `batch`) take the body as it is. Each endpoint is a module of its own; compute.ts
 * lists them, and none imports it: `batch` is handed the function that computes its items.
 */
import type { ComputeOptions, Evaluation } from './evaluation.js';
import type { EndpointFields } from './request.js';

/** Computes one request of any endpoint, synchronously (`computeSync`). */
export type ComputeFn = (endpoint: string, body: unknown, options: ComputeOptions) => unknown;

/** An endpoint that evaluates a program at a point. */
export interface ProgramEndpoint extends EndpointFields {
  readonly name: string;
  readonly handle: (ev: Evaluation) => unknown;
}

/** An endpoint that takes the body as it is; `fields` when it takes the common fields and options too. */
export interface BodyEndpoint {
  readonly name: string;
  readonly fields: EndpointFields | null;
  readonly run: (body: unknown, options: ComputeOptions, compute: ComputeFn) => unknown;
}

export type Endpoint = ProgramEndpoint | BodyEndpoint;

export const takesBody = (endpoint: Endpoint): endpoint is BodyEndpoint => 'run' in endpoint;
