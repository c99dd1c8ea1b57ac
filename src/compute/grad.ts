/** `grad`: the value and its gradient with respect to the `wrt` inputs, by reverse or forward mode, or a vector-Jacobian product. */
import { EngineError, Tensor, formatShape, gradForward, grad as gradient, sameShape, type Fn } from '../engine/index.js';
import type { ProgramEndpoint } from './endpoint.js';
import type { Evaluation } from './evaluation.js';
import { compiledGradient, plannedGradient } from './fast-paths.js';
import { Problem } from './problem.js';
import { tensorField } from './request.js';
import { encodeMap, encodeValue } from './values.js';
import { endpointFields, type GradRequest } from './schemas/index.js';

export const gradEndpoint: ProgramEndpoint<GradRequest> = { name: 'grad', ...endpointFields('grad'), handle: grad };

function grad(ev: Evaluation<GradRequest>): unknown {
  const { request } = ev;
  const mode = request.options.mode ?? 'reverse';
  const cotangent = tensorField(request, 'cotangent', ev.limits);
  if (mode === 'reverse' && cotangent === null) {
    const fast = compiledGradient(ev);
    if (fast !== null) {
      return {
        value: encodeValue(Tensor.scalar(fast.value), request.layout),
        grad: encodeMap(request.wrt, fast.grads.map((g) => Tensor.scalar(g)), request.layout),
      };
    }
    const planned = plannedGradient(ev, (value, grads) => ({ value: encodeValue(value, request.layout), grad: encodeMap(request.wrt, grads, request.layout) }));
    if (planned !== null) return planned;
  }
  const cx = ev.context();
  // A cotangent shaped unlike the output is the request's mistake, in either mode, even where
  // the output does not depend on the inputs.
  const fn: Fn =
    cotangent === null
      ? ev.fn
      : (c, xs) => {
          const out = ev.fn(c, xs);
          if (!sameShape(out.shape, cotangent.shape)) {
            throw new Problem('SHAPE_MISMATCH', `"cotangent" has shape ${formatShape(cotangent.shape)}, but the output has shape ${formatShape(out.shape)}; send a cotangent shaped like the output`, {
              path: '/cotangent',
            });
          }
          return out;
        };
  let result;
  try {
    result = (mode === 'forward' ? gradForward : gradient)(cx, fn, ev.primals, cotangent ?? undefined);
  } catch (e) {
    throw outputNotScalar(e, 'grad', 'send "cotangent", a tensor shaped like the output, for a vector-Jacobian product', '/cotangent');
  }
  return { value: encodeValue(result.value, request.layout), grad: encodeMap(request.wrt, result.grads, request.layout) };
}

/**
 * The engine's refusal of a non-scalar result for `op`, with advice for this endpoint. Any
 * other error, a NOT_SCALAR inside the program (an `if` on a vector) included, is left alone.
 */
export function outputNotScalar(e: unknown, op: string, advice: string, path?: string): unknown {
  if (!(e instanceof EngineError) || e.code !== 'NOT_SCALAR' || e.op !== op || e.shape === undefined) return e;
  return new Problem('NOT_SCALAR', `${op} needs a scalar output, got shape ${formatShape(e.shape)}; ${advice}`, path === undefined ? {} : { path });
}
