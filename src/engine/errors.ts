/**
 * The engine's typed errors. Their codes are those of SPEC.md section 6; the service maps them
 * to 422 responses. Messages name the operation, the argument and the shapes involved.
 */
export type EngineErrorCode =
  | 'SHAPE_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'NOT_SCALAR'
  | 'NOT_DIFFERENTIABLE'
  | 'LIMIT_EXCEEDED';

export interface EngineErrorDetails {
  /** The operation that failed. */
  op?: string;
  /** For LIMIT_EXCEEDED: which limit. */
  limit?: string;
  /** For NOT_SCALAR: the shape that is not a scalar's, for a caller to word its own advice. */
  shape?: readonly number[];
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly op: string | undefined;
  readonly limit: string | undefined;
  readonly shape: readonly number[] | undefined;

  constructor(code: EngineErrorCode, message: string, details: EngineErrorDetails = {}) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.op = details.op;
    this.limit = details.limit;
    this.shape = details.shape;
  }
}
