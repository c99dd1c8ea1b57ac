/**
 * adjoint as a library: `compute(endpoint, body)` returns exactly the JSON that
 * `POST /v1/<endpoint>` returns, or rejects with the same problem. Isomorphic.
 */
export { compute, computeSync, computeEndpoints, ProgramCache, DEFAULT_LIMITS, type ComputeLimits, type ComputeOptions } from './compute/compute.js';
export { Problem, type ProblemBody, type ProblemCode } from './compute/problem.js';
export { batchError, batchItems, deadlinePassed, type BatchItem } from './compute/batch.js';
export { catalogue, type FunctionEntry } from './lang/catalogue.js';
