/** `hessian`: the value, the gradient and the Hessian of a scalar program, every pair of `wrt` inputs. */
import { hessian as engineHessian } from '../engine/index.js';
import type { ProgramEndpoint } from './endpoint.js';
import type { Evaluation } from './evaluation.js';
import { outputNotScalar } from './grad.js';
import { encodeMap, encodeValue } from './values.js';
import { endpointFields } from './schemas/index.js';

export const hessianEndpoint: ProgramEndpoint = { name: 'hessian', ...endpointFields('hessian'), handle: hessian };

function hessian(ev: Evaluation): unknown {
  const { request } = ev;
  let result;
  try {
    result = engineHessian(ev.context(), ev.fn, ev.primals);
  } catch (e) {
    // Not the engine's advice (a cotangent): a Hessian has no cotangent to send.
    throw outputNotScalar(e, 'hessian', 'make the result a scalar (a sum, a norm, one element), or ask jacobian for a vector output');
  }
  const { value, grads, hessian } = result;
  return {
    value: encodeValue(value, request.layout),
    grad: encodeMap(request.wrt, grads, request.layout),
    hessian: Object.fromEntries(request.wrt.map((name, i) => [name, encodeMap(request.wrt, hessian[i], request.layout)])),
  };
}
