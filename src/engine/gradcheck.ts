/**
 * Checks a function's derivatives against central finite differences in float64, like
 * PyTorch's `gradcheck`: the whole Jacobian by reverse mode against (f(x+h) - f(x-h)) / 2h.
 */
import { concrete, type Context, type Value } from './core.js';
import { jacobian, type Fn } from './ad.js';
import { Tensor, sizeOf } from './tensor.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

export interface GradcheckFailure {
  /** Which input, which of its elements (flat, 0-based) and which output element. */
  input: number;
  element: number;
  output: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** The largest |analytic - numeric| over all Jacobian entries. */
  maxError: number;
  failures: GradcheckFailure[];
}

export function gradcheck(cx: Context, f: Fn, primals: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const { value, jacobians } = jacobian(cx, f, primals, 'reverse');
  const m = sizeOf(value.shape);
  const evaluate = (inputs: Value[]): Tensor => concrete(f(cx, inputs));
  const failures: GradcheckFailure[] = [];
  let maxError = 0;
  primals.forEach((p, i) => {
    const J = concrete(jacobians[i]).data;
    const n = p.size;
    for (let k = 0; k < n; k++) {
      const shifted = (delta: number): Tensor => {
        const data = Float64Array.from(p.data);
        data[k] += delta;
        return evaluate(primals.map((q, j) => (j === i ? new Tensor(p.shape, data) : q)));
      };
      const plus = shifted(eps).data;
      const minus = shifted(-eps).data;
      for (let o = 0; o < m; o++) {
        const numeric = (plus[o] - minus[o]) / (2 * eps);
        const analytic = J[o * n + k];
        const error = Math.abs(analytic - numeric);
        if (!(error <= maxError)) maxError = error;
        if (!(error <= atol + rtol * Math.abs(numeric))) failures.push({ input: i, element: k, output: o, analytic, numeric });
      }
    }
  });
  return { ok: failures.length === 0, maxError, failures };
}
