/** `jacobian`: the value and its Jacobian with respect to each `wrt` input, by reverse or forward mode. */
import { jacobian as engineJacobian } from '../engine/index.js';
import type { ProgramEndpoint } from './endpoint.js';
import type { Evaluation } from './evaluation.js';
import { optionOf } from './request.js';
import { encodeMap, encodeValue } from './values.js';
import { endpointFields } from './schemas/index.js';

export const jacobianEndpoint: ProgramEndpoint = { name: 'jacobian', ...endpointFields('jacobian'), handle: jacobian };

function jacobian(ev: Evaluation): unknown {
  const { request } = ev;
  const mode = optionOf<'reverse' | 'forward'>(request, 'mode', 'reverse');
  const { value, jacobians } = engineJacobian(ev.context(), ev.fn, ev.primals, mode);
  return { value: encodeValue(value, request.layout), jacobian: encodeMap(request.wrt, jacobians, request.layout) };
}
