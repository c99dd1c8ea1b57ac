/**
 * Gamma(α, 1) draws that are differentiable in α by implicit reparameterisation (Figurnov,
 * Mohamed and Mnih, "Implicit Reparameterization Gradients", 2018): a draw z is held at its
 * quantile u = P(α, z) as α moves, so dz/dα = -(∂P/∂α)(α, z) / p(z; α), whatever algorithm drew
 * it. The draws come from Marsaglia and Tsang's rejection method, which no pathwise derivative
 * could follow through its accept/reject branches.
 */
import { concrete, type Context, type Value } from '../core.js';
import { EngineError } from '../errors.js';
import type { Draw } from '../random.js';
import { defineBinary } from './elementwise.js';

/**
 * dz/dα of a draw z: the implicit gradient, to float64 accuracy (special.ts). Its own derivative
 * (d²z/dα², for Hessians through a draw) is not implemented: asking for it is an error rather
 * than a silent zero.
 */
const { op: gammaSampleGrad } = defineBinary({
  name: 'gamma_sample_grad',
  source: (alpha, z) => `lib.gammaSampleGrad(${alpha}, ${z})`,
  partials: () => {
    throw new EngineError(
      'NOT_DIFFERENTIABLE',
      'the implicit gradient of a gamma draw is not differentiable again: second derivatives through rsample of gamma, chi2, beta, dirichlet or studentt are not supported',
      { op: 'rsample' },
    );
  },
});

/**
 * The draws z, as a function of α whose derivative is the implicit gradient. z is always a
 * concrete draw (nobody differentiates with respect to the noise), so it has no partial.
 */
const { op: gammaSample } = defineBinary({
  name: 'gamma_sample',
  source: (_alpha, z) => z,
  partials: (cx, alpha, z, _out, which) => [which[0] ? gammaSampleGrad(cx, alpha, z) : null, null],
});

/** Block 0 of an element is the boost's uniform; attempt k of the rejection loop reads blocks 2k+1 and 2k+2. */
const BOOST_BLOCK = 0;

/** Rejection attempts between two looks at the clock; an attempt is accepted with probability 0.95 or more. */
const ATTEMPTS_PER_DEADLINE_CHECK = 16;

/**
 * A Gamma(alpha, 1) number from element j of a draw, a pure function of (alpha, draw, j).
 * Marsaglia and Tsang (2000) for alpha ≥ 1; below, their boost z' u^(1/alpha) with
 * z' ~ Gamma(alpha + 1), taken in logs so that u^(1/alpha) does not underflow for tiny alpha
 * while the product is representable. NaN for alpha ≤ 0 or NaN.
 */
export function standardGammaNumbers(alpha: number, draw: Draw, j: number, cx?: Context): number {
  if (!(alpha > 0)) return NaN;
  if (alpha === Infinity) return Infinity;
  if (alpha >= 1) return marsagliaTsang(alpha, draw, j, cx);
  const boosted = marsagliaTsang(alpha + 1, draw, j, cx);
  return Math.exp(Math.log(boosted) + Math.log(draw.uniform(j, BOOST_BLOCK)) / alpha);
}

/**
 * Marsaglia and Tsang, "A simple method for generating gamma variables" (2000): with
 * d = a - 1/3, c = 1/sqrt(9d) and x standard normal, d (1 + cx)³ has nearly the Gamma(a)
 * density; accept it when log u < x²/2 + d - dv + d log v (v = (1 + cx)³), after the cheap
 * squeeze u < 1 - 0.0331 x⁴. a ≥ 1.
 */
function marsagliaTsang(a: number, draw: Draw, j: number, cx: Context | undefined): number {
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (let attempt = 0; ; attempt++) {
    if (cx !== undefined && attempt > 0 && attempt % ATTEMPTS_PER_DEADLINE_CHECK === 0) cx.checkDeadline('standard_gamma');
    const x = draw.normal(j, 2 * attempt + 1);
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = draw.uniform(j, 2 * attempt + 2);
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Elements sampled between two looks at the clock. */
const ELEMENTS_PER_DEADLINE_CHECK = 1024;

/**
 * z ~ Gamma(alpha, 1) for every element of alpha (element j from element j of `draw`), shaped
 * like alpha; its derivative in alpha is the implicit reparameterisation gradient.
 */
export function standardGamma(cx: Context, alpha: Value, draw: Draw): Value {
  const a = concrete(alpha);
  cx.countOperation('standard_gamma');
  const z = cx.alloc('standard_gamma', a.shape);
  for (let j = 0; j < a.size; j++) {
    if (j > 0 && j % ELEMENTS_PER_DEADLINE_CHECK === 0) cx.checkDeadline('standard_gamma');
    z.data[j] = standardGammaNumbers(a.data[j], draw, j, cx);
  }
  return gammaSample(cx, alpha, z);
}
