/**
 * The API's schemas, one module per endpoint: `compute()` validates every body against them
 * (validate.ts), fastify's routes are declared with them, and openapi/openapi.json is generated
 * from them. The order is the routes' (and the OpenAPI document's).
 */
import { batchSchema } from './batch.js';
import { checkSchema, type CheckRequest } from './check.js';
import { derivativeSchema } from './derivative.js';
import { evalSchema, type EvalRequest } from './eval.js';
import { gradSchema, type GradRequest } from './grad.js';
import { hessianSchema } from './hessian.js';
import { jacobianSchema } from './jacobian.js';
import { jvpSchema } from './jvp.js';
import { optimizeSchema, type OptimizeRequest } from './optimize.js';
import { sampleSchema, type SampleRequest } from './sample.js';
import { COMMON_FIELDS, COMMON_OPTIONS, type EndpointFields, type EndpointSchema } from './shared.js';
import { traceSchema } from './trace.js';

export * from './shared.js';
export type { CheckRequest, EvalRequest, GradRequest, OptimizeRequest, SampleRequest };

/**
 * Request bodies as TypeScript has them, derived from their schemas: the endpoints whose code
 * reads fields of its own (each derived type costs tsc about 20,000 instantiations).
 */
export interface EndpointRequests {
  eval: EvalRequest;
  grad: GradRequest;
  sample: SampleRequest;
  check: CheckRequest;
  optimize: OptimizeRequest;
}

/** Every endpoint of `compute()`, by name: its request and response schemas and its examples. */
export const endpointSchemas: Readonly<Record<string, EndpointSchema>> = {
  eval: evalSchema,
  grad: gradSchema,
  jvp: jvpSchema,
  jacobian: jacobianSchema,
  hessian: hessianSchema,
  trace: traceSchema,
  sample: sampleSchema,
  check: checkSchema,
  optimize: optimizeSchema,
  derivative: derivativeSchema,
  batch: batchSchema,
};

interface ObjectSchema {
  readonly properties?: Readonly<Record<string, { readonly properties?: Readonly<Record<string, unknown>> }>>;
}

/**
 * What `endpoint` takes beyond the common fields and options, read from its request schema; null
 * when its body is not a compute request (it takes no options).
 */
export function endpointFields(endpoint: string): EndpointFields {
  const properties = (endpointSchemas[endpoint].body as ObjectSchema).properties ?? {};
  const options = properties.options?.properties;
  return {
    fields: Object.keys(properties).filter((k) => !COMMON_FIELDS.includes(k)),
    options: options === undefined ? [] : Object.keys(options).filter((k) => !COMMON_OPTIONS.includes(k)),
  };
}

/** The options `endpoint` takes, the common ones included, or null: it takes none. */
export function optionsOf(endpoint: string): readonly string[] | null {
  const options = ((endpointSchemas[endpoint]?.body as ObjectSchema | undefined)?.properties ?? {}).options?.properties;
  return options === undefined ? null : Object.keys(options);
}
