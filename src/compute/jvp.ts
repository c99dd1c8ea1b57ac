/** `jvp`: the value and its directional derivative along the given tangents (forward mode). */
import { jvp as engineJvp } from '../engine/index.js';
import type { ProgramEndpoint } from './endpoint.js';
import type { Evaluation } from './evaluation.js';
import { tensorsField } from './request.js';
import { encodeValue } from './values.js';
import { endpointFields } from './schemas/index.js';

export const jvpEndpoint: ProgramEndpoint = { name: 'jvp', ...endpointFields('jvp'), handle: jvp };

function jvp(ev: Evaluation): unknown {
  const { request } = ev;
  const given = tensorsField(request, 'tangents', ev.limits);
  const tangents = request.wrt.map((name) => given.get(name) ?? null);
  const { value, tangent } = engineJvp(ev.context(), ev.fn, ev.primals, tangents);
  return { value: encodeValue(value, request.layout), tangent: encodeValue(tangent, request.layout) };
}
