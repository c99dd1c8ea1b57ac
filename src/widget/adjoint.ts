/**
 * adjoint's course widgets (SPEC.md section 9): one module, no dependencies, that defines
 * <adjoint-grad>, <adjoint-trace>, <adjoint-sample>, <adjoint-optimize> and <adjoint-check>.
 * A page embeds it with `<script type="module" src="https://SERVICE/widget/adjoint.js">`.
 */
import { AdjointCheck } from './check.js';
import { AdjointGrad } from './grad.js';
import { AdjointOptimize } from './optimize.js';
import { AdjointSample } from './sample.js';
import { AdjointTrace } from './trace.js';

export { AdjointCheck, AdjointGrad, AdjointOptimize, AdjointSample, AdjointTrace };

const ELEMENTS: readonly [string, CustomElementConstructor][] = [
  ['adjoint-grad', AdjointGrad],
  ['adjoint-trace', AdjointTrace],
  ['adjoint-sample', AdjointSample],
  ['adjoint-optimize', AdjointOptimize],
  ['adjoint-check', AdjointCheck],
];

// Loaded twice (two copies of the script, say), the first definition stays.
for (const [name, element] of ELEMENTS) if (customElements.get(name) === undefined) customElements.define(name, element);

declare global {
  interface HTMLElementTagNameMap {
    'adjoint-grad': AdjointGrad;
    'adjoint-trace': AdjointTrace;
    'adjoint-sample': AdjointSample;
    'adjoint-optimize': AdjointOptimize;
    'adjoint-check': AdjointCheck;
  }
}
