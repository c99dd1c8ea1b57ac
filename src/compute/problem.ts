/**
 * Problems: every error a request can get, as RFC 9457 problem details with SPEC.md section 6's
 * codes. `compute` rejects with a Problem; the service sends it as application/problem+json.
 */
import { EngineError } from '../engine/index.js';
import { ProgramError } from '../lang/errors.js';

export type ProblemCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'TOO_LARGE'
  | 'PARSE_ERROR'
  | 'UNKNOWN_NAME'
  | 'SHAPE_MISMATCH'
  | 'NOT_SCALAR'
  | 'NOT_DIFFERENTIABLE'
  | 'INVALID_ARGUMENT'
  | 'LIMIT_EXCEEDED'
  | 'RATE_LIMITED'
  | 'OVERLOADED'
  | 'SHUTTING_DOWN'
  | 'CANCELLED'
  | 'INTERNAL';

const STATUS: Record<ProblemCode, number> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TOO_LARGE: 413,
  PARSE_ERROR: 422,
  UNKNOWN_NAME: 422,
  SHAPE_MISMATCH: 422,
  NOT_SCALAR: 422,
  NOT_DIFFERENTIABLE: 422,
  INVALID_ARGUMENT: 422,
  LIMIT_EXCEEDED: 422,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  SHUTTING_DOWN: 503,
  // nginx's "client closed request": the client cancelled; nobody else sees this status.
  CANCELLED: 499,
  INTERNAL: 500,
};

const TITLE: Record<ProblemCode, string> = {
  INVALID_REQUEST: 'Invalid request',
  UNAUTHORIZED: 'Unauthorized',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  TOO_LARGE: 'Too large',
  PARSE_ERROR: 'The program does not parse',
  UNKNOWN_NAME: 'Unknown name',
  SHAPE_MISMATCH: 'Shape mismatch',
  NOT_SCALAR: 'Not a scalar',
  NOT_DIFFERENTIABLE: 'Not differentiable',
  INVALID_ARGUMENT: 'Invalid argument',
  LIMIT_EXCEEDED: 'Limit exceeded',
  RATE_LIMITED: 'Too many requests',
  OVERLOADED: 'Overloaded',
  SHUTTING_DOWN: 'Shutting down',
  CANCELLED: 'Cancelled',
  INTERNAL: 'Internal error',
};

/** The JSON body of a problem response. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  line?: number;
  column?: number;
  path?: string;
  limit?: string;
}

export class Problem extends Error {
  readonly body: ProblemBody;

  /** `cause`: for INTERNAL, the unexpected error itself, for the log; the body never shows it. */
  constructor(code: ProblemCode, detail: string, where: { line?: number; column?: number; path?: string; limit?: string } = {}, cause?: unknown) {
    super(detail, cause === undefined ? undefined : { cause });
    this.name = 'Problem';
    this.body = {
      // A relative reference: the service documents each problem type at /docs.
      type: `/problems/${code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLE[code],
      status: STATUS[code],
      detail,
      code,
      ...where,
    };
  }

  get status(): number {
    return this.body.status;
  }

  get code(): ProblemCode {
    return this.body.code;
  }

  toJSON(): ProblemBody {
    return this.body;
  }
}

/**
 * What the body of a 500 says: a bug's own message (say "Invalid typed array length") means
 * nothing to a client and tells an attacker about the internals. The service logs the error and
 * names the request id instead (server/plugins/errors.ts).
 */
export const INTERNAL_DETAIL = 'an unexpected error (a bug in adjoint)';

/**
 * The problem for any error thrown while computing; an unexpected error becomes INTERNAL (a
 * bug), with a generic detail and the error itself as the problem's `cause`.
 */
export function toProblem(e: unknown): Problem {
  if (e instanceof Problem) return e;
  if (e instanceof ProgramError) {
    const loc = e.loc;
    const where = loc === undefined ? {} : loc.path !== undefined ? { path: loc.path } : { line: loc.line, column: loc.column };
    return new Problem(e.code, e.detail, { ...where, ...(e.limit === undefined ? {} : { limit: e.limit }) });
  }
  if (e instanceof EngineError) return new Problem(e.code, e.message, e.limit === undefined ? {} : { limit: e.limit });
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new Problem('LIMIT_EXCEEDED', 'recursion depth limit exceeded: the program nests or recurses too deeply', { limit: 'recursion depth' });
  }
  return new Problem('INTERNAL', INTERNAL_DETAIL, {}, e);
}
