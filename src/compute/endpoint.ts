/**
 * What an endpoint of `compute()` is. Most evaluate a program at a point: they declare the
 * request fields and options they take beyond the common ones (request.ts), and work on an
 * `Evaluation` that `compute()` prepares for them. The others (`check`, `derivative`,
 * `optimize`, `batch`) take the body as it is. Each endpoint is a module of its own; compute.ts
 * lists them, and none imports it: `batch` is handed the function that computes its items.
 */
import type { ComputeOptions, Evaluation } from './evaluation.js';
import type { EndpointFields } from './request.js';
import type { CommonRequest } from './schemas/index.js';

/** Computes one request of any endpoint, synchronously (`computeSync`). */
export type ComputeFn = (endpoint: string, body: unknown, options: ComputeOptions) => unknown;

/** An endpoint that evaluates a program at a point; `Body` is its request's type, derived from its schema. */
export interface ProgramEndpoint<Body extends CommonRequest = CommonRequest> extends EndpointFields {
  readonly name: string;
  // A method, so that an endpoint of a narrower body is a ProgramEndpoint too: compute() hands each its own.
  handle(ev: Evaluation<Body>): unknown;
}

/** An endpoint that takes the body as it is (`Body`, as its schema accepted it); `fields` when it takes the common fields and options too. */
export interface BodyEndpoint<Body = unknown> {
  readonly name: string;
  readonly fields: EndpointFields | null;
  run(body: Body, options: ComputeOptions, compute: ComputeFn): unknown;
}

export type Endpoint = ProgramEndpoint | BodyEndpoint;

export const takesBody = (endpoint: Endpoint): endpoint is BodyEndpoint => 'run' in endpoint;
