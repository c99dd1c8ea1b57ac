/**
 * Errors in a program: typed with SPEC.md's codes and located by line and column (1-based)
 * where the program text says where. The service maps them to 422 responses.
 */
import { EngineError, type EngineErrorCode } from '../engine/index.js';

export type ProgramErrorCode = EngineErrorCode | 'PARSE_ERROR' | 'UNKNOWN_NAME';

/**
 * Where something is: a position in a program's text (1-based line and column), or for an
 * expression graph a JSON pointer into the request (line and column 0).
 */
export interface Loc {
  readonly line: number;
  readonly column: number;
  readonly path?: string;
}

export class ProgramError extends Error {
  readonly code: ProgramErrorCode;
  /** The message without a location. */
  readonly detail: string;
  readonly loc: Loc | undefined;
  /** For LIMIT_EXCEEDED: which limit. */
  readonly limit: string | undefined;

  constructor(code: ProgramErrorCode, detail: string, loc?: Loc, limit?: string) {
    super(loc === undefined ? detail : loc.path !== undefined ? `${detail} (at ${loc.path})` : `${detail} (line ${loc.line}, column ${loc.column})`);
    this.name = 'ProgramError';
    this.code = code;
    this.detail = detail;
    this.loc = loc;
    this.limit = limit;
  }
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/**
 * The error a failure inside an evaluation becomes: an engine error gains the location of the
 * statement, a stack overflow (a program nested or recursing too deeply for the parser or the
 * interpreter) becomes LIMIT_EXCEEDED, and anything else is left alone.
 */
export function locate(e: unknown, loc: Loc | undefined): unknown {
  if (e instanceof ProgramError) return e.loc === undefined && loc !== undefined ? new ProgramError(e.code, e.detail, loc, e.limit) : e;
  if (e instanceof EngineError) return new ProgramError(e.code, e.message, loc, e.limit);
  if (isStackOverflow(e)) return new ProgramError('LIMIT_EXCEEDED', 'recursion depth limit exceeded: the program nests or recurses too deeply', loc, 'recursion depth');
  return e;
}
