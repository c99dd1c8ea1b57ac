/**
 * adjoint as a library: `compute(endpoint, body)` returns exactly the JSON that
 * `POST /v1/<endpoint>` returns, or rejects with the same problem. Isomorphic.
 */
import { provideSymbolic } from './compute/derivative.js';
import * as symbolic from './lang/symbolic.js';

export { compute, computeSync, computeEndpoints, sampleChunkSync, ProgramCache, DEFAULT_LIMITS, type ComputeLimits, type ComputeOptions } from './compute/compute.js';
export { BLOCK as SAMPLE_BLOCK, summarise as summariseSamples, type SampleChunk } from './compute/sample.js';
export { families as distributionFamilies, klPairs } from './distributions/index.js';
export { freshSeed, MAX_SEED } from './engine/random.js';
export { Problem, type ProblemBody, type ProblemCode } from './compute/problem.js';
export { loadSvgRenderer } from './compute/svg.js';
export { loadSymbolic } from './compute/derivative.js';
export { batchError, batchItems, deadlinePassed, type BatchItem } from './compute/batch.js';
export { catalogue, type FunctionEntry } from './lang/catalogue.js';

// mathjs's symbolic differentiation, which `compute` otherwise imports on first use (the browser's
// local engine does, to stay small), comes with the library: computeSync answers `derivative`.
provideSymbolic(symbolic);
