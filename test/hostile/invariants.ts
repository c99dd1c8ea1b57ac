/**
 * What every answer to hostile input must be (issue 14, "How to show it"): a 2xx, or a 4xx/503
 * application/problem+json whose code is one of SPEC.md section 6's (with the service's own
 * NOT_FOUND, CANCELLED and SHUTTING_DOWN) and whose status is that code's. Never a 500, a
 * non-JSON body or a reset. Plain functions, no tap: `npm run soak` checks the same.
 */

/** Each code a client may see, with the status it must come with. INTERNAL (500) is a bug. */
export const CODE_STATUS: Readonly<Record<string, number>> = {
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
  // Only a WebSocket client sees it: an HTTP client that cancels has gone away.
  CANCELLED: 499,
  OVERLOADED: 503,
  SHUTTING_DOWN: 503,
};

/** The one code documented with a second status: INVALID_REQUEST as 415 for an unsupported content-encoding (the spec has no code of its own for it). */
const OTHER_STATUS: Readonly<Record<string, number>> = { INVALID_REQUEST: 415 };

const statusFits = (code: string, status: unknown): boolean => status === CODE_STATUS[code] || status === OTHER_STATUS[code];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Why `problem` is not a problem of a known code (with `status`, when given, its status too), or null. */
export function problemViolation(problem: unknown, status?: number): string | null {
  if (!isObject(problem)) return `the problem is not a JSON object: ${JSON.stringify(problem)?.slice(0, 120)}`;
  const code = problem.code;
  if (typeof code !== 'string' || !(code in CODE_STATUS)) return `code ${JSON.stringify(code)} is not one of SPEC.md's (${String(problem.detail).slice(0, 160)})`;
  if (!statusFits(code, problem.status)) return `code ${code} with status ${String(problem.status)} in the body, not ${CODE_STATUS[code]}`;
  if (status !== undefined && status !== problem.status) return `code ${code} sent with HTTP status ${status}, its body saying ${String(problem.status)}`;
  if (typeof problem.type !== 'string' || typeof problem.title !== 'string' || typeof problem.detail !== 'string') return `problem ${code} lacks a type, a title or a detail`;
  return null;
}

export interface HttpAnswer {
  readonly status: number;
  /** The content-type header, as sent. */
  readonly contentType: string;
  readonly text: string;
}

const mediaType = (contentType: string): string => contentType.split(';')[0].trim().toLowerCase();

/** Why an HTTP answer breaks the invariant, or null. */
export function httpViolation(answer: HttpAnswer): string | null {
  const { status, text } = answer;
  const media = mediaType(answer.contentType);
  if (status >= 200 && status < 300) {
    if (status === 204) return null;
    if (media === 'application/x-ndjson') return ndjsonViolation(text);
    if (media !== 'application/json') return `${status} with content-type "${answer.contentType}", not JSON`;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `${status} whose body is not JSON: ${text.slice(0, 120)}`;
    }
    // A batch answers 200 with an error per failed item: each a problem of a known code too.
    const results = isObject(body) && Array.isArray(body.results) ? (body.results as unknown[]) : [];
    for (const item of results) {
      if (!isObject(item) || item.error === undefined) continue;
      const why = problemViolation(item.error);
      if (why !== null) return `a batch item: ${why}`;
    }
    return null;
  }
  if (!((status >= 400 && status < 500) || status === 503)) return `status ${status}: ${text.slice(0, 200)}`;
  if (media !== 'application/problem+json') return `${status} with content-type "${answer.contentType}", not application/problem+json: ${text.slice(0, 160)}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} whose problem is not JSON: ${text.slice(0, 120)}`;
  }
  return problemViolation(body, status);
}

/** A stream: JSON lines, ending with exactly one `result` or `error` (a problem of a known code). */
function ndjsonViolation(text: string): string | null {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length === 0) return 'an empty NDJSON stream';
  const messages: Record<string, unknown>[] = [];
  for (const line of lines) {
    try {
      messages.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return `an NDJSON line is not JSON: ${line.slice(0, 120)}`;
    }
  }
  const finals = messages.filter((m) => m.type === 'result' || m.type === 'error');
  if (finals.length !== 1 || messages[messages.length - 1] !== finals[0]) return `the stream has ${finals.length} final messages (result or error), or not last`;
  // Errors: the final one, and a batch's items that failed.
  for (const m of messages) {
    if (m.error === undefined) continue;
    const why = problemViolation(m.error);
    if (why !== null) return `a ${String(m.type)} line: ${why}`;
  }
  return null;
}
