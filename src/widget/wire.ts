/**
 * What the widgets send and read, written against the service's own types (type-only imports:
 * nothing of the server or the engine is bundled). Responses are typed by the fields the widgets
 * read; docs/api.md section 3 has the rest.
 */
import type { OptimizerName } from '../compute/optimize.js';
import type { TraceRef, TraceTable } from '../compute/picture.js';
import type { ProblemBody, ProblemCode } from '../compute/problem.js';

export type { OptimizerName, ProblemBody, ProblemCode, TraceRef, TraceTable };

/** A value as the API writes it: a number, a non-finite number as a string, or a nested array. */
export type Value = number | string | Value[];

/** The fields every compute request may carry (SPEC.md section 3). */
export interface ComputeBody {
  program: string;
  at?: Record<string, Value>;
  wrt?: string[];
  output?: string;
  seed?: number;
  options?: Record<string, unknown>;
}

export interface EvalResponse {
  value: Value;
}

export interface GradResponse {
  value: Value;
  grad: Record<string, Value>;
}

export interface TraceBody extends ComputeBody {
  tangents?: Record<string, Value>;
}

/** `/v1/trace` with format "table": the Wengert list. */
export type TraceResponse = TraceTable;

export interface SampleStats {
  value: Value;
  grad: Record<string, Value>;
}

export interface SampleBody extends ComputeBody {
  n: number;
}

/** One `{"type": "samples"}` line of a streamed `/v1/sample`. */
export interface SamplesMessage {
  type: 'samples';
  from: number;
  count: number;
  done: number;
  n: number;
  estimator: 'reparam' | 'score';
  samples?: SampleStats[];
  mean: SampleStats;
  stderr: SampleStats;
  seed: number;
}

export interface SampleResponse {
  n: number;
  estimator: 'reparam' | 'score';
  samples?: SampleStats[];
  mean: SampleStats;
  stderr: SampleStats;
  seed: number;
}

export interface OptimizeBody extends Omit<ComputeBody, 'wrt'> {
  params: Record<string, Value>;
  optimizer: { name: OptimizerName; lr?: number; [setting: string]: unknown };
  steps: number;
  every?: number;
}

/** One `{"type": "progress"}` line of a streamed `/v1/optimize`. */
export interface ProgressMessage {
  type: 'progress';
  step: number;
  loss: number | string;
}

export interface OptimizeResponse {
  params: Record<string, Value>;
  loss: number | string;
  history: { step: number; loss: number | string }[];
  stopped?: { step: number; reason: string };
}

export interface CheckBody extends ComputeBody {
  answer: { value?: Value | string; grad?: Record<string, Value | string> };
  random?: { n: number; ranges: Record<string, [number, number]> };
  points?: Record<string, Value>[];
}

export interface CheckFailure {
  point: Record<string, Value>;
  quantity: string;
  expected: Value | null;
  got: Value | null;
  error: Value | null;
  reason?: string;
  code?: ProblemCode;
}

export interface CheckResponse {
  pass: boolean;
  score: number;
  points: number;
  passed: number;
  failures: CheckFailure[];
  tolerance: { rtol: number; atol: number };
}

/** An item of `/v1/batch`'s results: the endpoint's response, or its problem. */
export type BatchResult<T> = T | { error: ProblemBody };

export interface BatchResponse<T> {
  results: BatchResult<T>[];
}

/** The last line of a stream (SPEC.md section 4). */
export type StreamEnd<T> = ({ type: 'result' } & T) | { type: 'error'; error: ProblemBody };
