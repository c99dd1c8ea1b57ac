/** `eval`: the program's value at the point. */
import { Tensor } from '../engine/index.js';
import type { ProgramEndpoint } from './endpoint.js';
import type { Evaluation } from './evaluation.js';
import { compiledGradient } from './fast-paths.js';
import { encodeValue } from './values.js';
import { endpointFields } from './schemas/index.js';

export const evalEndpoint: ProgramEndpoint = { name: 'eval', ...endpointFields('eval'), handle: evaluate };

function evaluate(ev: Evaluation): unknown {
  const fast = compiledGradient(ev);
  const value = fast !== null ? Tensor.scalar(fast.value) : ev.output(ev.context(), ev.request.at);
  return { value: encodeValue(value, ev.request.layout) };
}
