/**
 * Validation of a request body against its endpoint's schema, the same code on every path:
 * `compute()` runs it on the body of every request (HTTP, WebSocket, a `/v1/batch` item, a
 * library call), and the server's routes hand fastify the same compiled functions. Each
 * endpoint's schema is compiled once, when first asked for. `problemOf` is the one wording of
 * a schema's refusal: the server's error handler words fastify's validation errors with it too.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Problem } from '../problem.js';
import { endpointSchemas, type EndpointRequests } from './index.js';
import { sharedSchemas, type CommonRequest } from './shared.js';

let ajv: Ajv | null = null;
const validators = new Map<string, ValidateFunction>();

function compiler(): Ajv {
  if (ajv !== null) return ajv;
  ajv = new Ajv({
    // The first error is the answer; the body is never changed.
    allErrors: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    // A number JSON.parse made infinite (1e400) passes here, to be refused saying it overflows (values.ts).
    strictNumbers: false,
    strictTypes: false,
    // parentSchema in errors: an unknown option is worded with the options the endpoint takes.
    verbose: true,
  });
  // A schema's own wording of its refusals (problemOf): an annotation, not a check.
  ajv.addKeyword({ keyword: 'x-error', schemaType: 'object' });
  for (const schema of sharedSchemas) ajv.addSchema(schema);
  return ajv;
}

/** The compiled validator of `endpoint`'s request body (compiled on first use), or null for an endpoint with no schema. */
export function validatorOf(endpoint: string): ValidateFunction | null {
  const known = validators.get(endpoint);
  if (known !== undefined) return known;
  if (!Object.hasOwn(endpointSchemas, endpoint)) return null;
  const validate = compiler().compile(endpointSchemas[endpoint].body);
  validators.set(endpoint, validate);
  return validate;
}

/** Throws the Problem for `body` if `endpoint`'s schema refuses it. */
export function validateBody(endpoint: string, body: unknown): void {
  const validate = validatorOf(endpoint);
  if (validate === null || validate(body)) return;
  throw problemOf(validate.errors!);
}

declare const accepted: unique symbol;

/**
 * A body its endpoint's schema accepted, as TypeScript has it. Only `validBody` makes one, so
 * whatever takes a `ValidBody` (request.ts's `parseRequest`, `Evaluation.prepare`) cannot be
 * handed a body the schema has not seen.
 */
export type ValidBody<Body = CommonRequest> = Body & { readonly [accepted]: true };

/** `body`, once `endpoint`'s schema accepts it (else throws the Problem); an endpoint named at run time gets the common fields' type. */
export function validBody<E extends keyof EndpointRequests>(endpoint: E, body: unknown): ValidBody<EndpointRequests[E]>;
export function validBody(endpoint: string, body: unknown): ValidBody;
export function validBody(endpoint: string, body: unknown): ValidBody {
  validateBody(endpoint, body);
  return body as ValidBody;
}

/** A JSON pointer's reference token (RFC 6901: `~` and `/` escaped). */
const token = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

const ARTICLE: Readonly<Record<string, string>> = { object: 'an object', array: 'an array', integer: 'an integer', string: 'a string', number: 'a number', boolean: 'a boolean' };

/**
 * The error a refusal is told by. ajv stops at the first failure, so its list has one error,
 * or, when no branch of an `anyOf` fits, each branch's first error and then the anyOf's own,
 * last: that one is about the value as a whole (a tensor that is none of its forms).
 */
function decisive(errors: readonly ErrorObject[]): ErrorObject {
  const last = errors[errors.length - 1];
  return last.keyword === 'anyOf' ? last : errors[0];
}

/** A schema's `x-error` wording for this refusal, by keyword (or `*` for any), `{missing}` filled in. */
function ownWording(error: ErrorObject): string | null {
  const wordings = (error.parentSchema as { 'x-error'?: Record<string, string> } | undefined)?.['x-error'];
  const wording = wordings?.[error.keyword] ?? wordings?.['*'];
  if (wording === undefined) return null;
  return wording.replace('{missing}', String((error.params as { missingProperty?: string }).missingProperty));
}

/**
 * The problem for a schema's refusal (ajv's errors): INVALID_REQUEST, its detail in the schema's
 * own words (`x-error`) or naming the field, and a JSON pointer to the offending field itself
 * (an unknown one, or the one missing).
 */
export function problemOf(errors: readonly ErrorObject[]): Problem {
  const error = decisive(errors);
  const path = error.instancePath;
  const own = ownWording(error);
  if (own !== null) {
    const at = error.keyword === 'required' ? `${path}/${token(String((error.params as { missingProperty?: string }).missingProperty))}` : path;
    return new Problem('INVALID_REQUEST', own, { path: at });
  }
  // A schema's title names what it is ("a point"), else the field is named by its path.
  const title = (error.parentSchema as { title?: string } | undefined)?.title;
  const field = title ?? (path === '' ? 'the body' : `"${path.slice(1).replace(/\//g, '.')}"`);
  const params = error.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[]; type?: string; limit?: number };
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const where = `${path}/${token(key)}`;
      if (path === '/options') {
        const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        return new Problem('INVALID_REQUEST', `unknown option "${key}"; this endpoint's options are ${known.join(', ')}`, { path: where });
      }
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return new Problem('INVALID_REQUEST', `${field} has an unknown field "${key}"; ${path === '' ? 'this endpoint takes' : 'it takes'} ${known.join(', ')}`, { path: where });
    }
    case 'required':
      return new Problem('INVALID_REQUEST', `${field} ${error.message ?? 'is invalid'}`, { path: `${path}/${token(String(params.missingProperty))}` });
    case 'type':
      return new Problem('INVALID_REQUEST', `${field} must be ${ARTICLE[String(params.type)] ?? params.type}`, { path });
    case 'enum': {
      const allowed = params.allowedValues ?? [];
      const detail =
        allowed.length === 1
          ? `${field} must be ${JSON.stringify(allowed[0])}, the one allowed value`
          : `${field} must be equal to one of the allowed values: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      return new Problem('INVALID_REQUEST', detail, { path });
    }
    case 'minimum':
      return new Problem('INVALID_REQUEST', `${field} must be ${params.limit === 0 ? 'non-negative' : `>= ${params.limit}`}`, { path });
    case 'minProperties':
      return new Problem('INVALID_REQUEST', params.limit === 1 ? `${field} is empty: it must have at least one member` : `${field} ${error.message ?? 'is invalid'}`, { path });
    default:
      return new Problem('INVALID_REQUEST', `${field} ${error.message ?? 'is invalid'}`, { path });
  }
}
