/**
 * What a program does with a distribution: draw from it (`rsample`, `sample`), score a value
 * (`log_prob`), and its `entropy`, `mean`, `variance` and `kl`. The draws come from the
 * context's generator (`cx.random`), never from module state.
 */
import * as E from '../engine/index.js';
import { EngineError, type Context, type Value } from '../engine/index.js';
import type { Draw, RandomSource } from '../engine/random.js';
import type { Shape } from '../engine/tensor.js';
import { cauchy, exponential, gumbel, halfcauchy, halfnormal, kumaraswamy, laplace, lognormal, normal, pareto, uniform, weibull } from './continuous.js';
import { Distribution, checkSupport, drawShape, type Family } from './distribution.js';
import { bernoulli, binomial, categorical, geometric, poisson } from './discrete.js';
import { beta, chi2, dirichlet, gamma, studentt } from './gamma.js';
import { mvnormal, relaxedBernoulli, relaxedCategorical } from './multivariate.js';

export { Distribution, makeDistribution, type Family, type Reparameterisation } from './distribution.js';
export { kl, klPairs } from './kl.js';

/** Every family, in the order `GET /v1/distributions` lists them. */
export const families: readonly Family[] = [
  normal,
  lognormal,
  uniform,
  exponential,
  laplace,
  gumbel,
  cauchy,
  halfnormal,
  halfcauchy,
  weibull,
  pareto,
  gamma,
  chi2,
  beta,
  dirichlet,
  studentt,
  kumaraswamy,
  mvnormal,
  relaxedBernoulli,
  relaxedCategorical,
  bernoulli,
  categorical,
  poisson,
  binomial,
  geometric,
];

const byName = new Map(families.map((f) => [f.name, f]));

export function familyNamed(name: string): Family | undefined {
  return byName.get(name);
}

function generator(cx: Context, op: string): RandomSource {
  if (cx.random === null) throw new EngineError('INVALID_ARGUMENT', `${op}: this evaluation has no random generator (give it a seed)`, { op });
  return cx.random;
}

/**
 * The score-function (REINFORCE) estimator's view of the generator: every draw is detached
 * from the parameters and its log-probability recorded, so that the caller can build the
 * surrogate f + stop(f) · (Σ log p - stop(Σ log p)), whose gradient is ∇f + f ∇Σ log p.
 */
export class ScoreFunctionSource implements RandomSource {
  readonly logProbs: Value[] = [];

  constructor(readonly inner: RandomSource) {}

  get draws(): number {
    return this.inner.draws;
  }

  uniform(cx: Context, shape: Shape): Value {
    return this.inner.uniform(cx, shape);
  }

  normal(cx: Context, shape: Shape): Value {
    return this.inner.normal(cx, shape);
  }

  draw(): Draw {
    return this.inner.draw();
  }

  restart(): void {
    this.inner.restart();
    this.logProbs.length = 0;
  }
}

function checkCount(op: string, n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw new EngineError('INVALID_ARGUMENT', `${op}: the number of draws must be a non-negative integer, got ${n}`, { op });
}

/** A draw (n draws, stacked first, when n is given) whose gradient reaches the parameters. */
export function rsample(cx: Context, d: Distribution, n?: number): Value {
  checkCount('rsample', n);
  const family = d.family;
  if (family.rsample === undefined) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `rsample: ${family.name} has no reparameterised draw (its draws are discrete); use sample(d), which carries no gradient, and the score-function estimator (options.estimator "score" of /v1/sample) for gradients of expectations`,
      { op: 'rsample' },
    );
  }
  const random = generator(cx, 'rsample');
  if (random instanceof ScoreFunctionSource) return scored(cx, d, random, n);
  return family.rsample(cx, d, random, drawShape(d, n));
}

/** A draw with no gradient. */
export function sample(cx: Context, d: Distribution, n?: number): Value {
  checkCount('sample', n);
  const random = generator(cx, 'sample');
  if (random instanceof ScoreFunctionSource) return scored(cx, d, random, n);
  return plainSample(cx, d, random, drawShape(d, n));
}

function plainSample(cx: Context, d: Distribution, random: RandomSource, shape: Shape): Value {
  const family = d.family;
  return family.sample !== undefined ? family.sample(cx, d, random, shape) : E.stopGradient(cx, family.rsample!(cx, d, random, shape));
}

function scored(cx: Context, d: Distribution, random: ScoreFunctionSource, n: number | undefined): Value {
  const z = plainSample(cx, d, random.inner, drawShape(d, n));
  random.logProbs.push(E.sum(cx, d.family.logProb(cx, d, z)));
  return z;
}

export function logProb(cx: Context, d: Distribution, x: Value): Value {
  return d.family.logProb(cx, d, checkSupport(cx, d, x));
}

function closedForm(d: Distribution, what: 'entropy' | 'mean' | 'variance'): (cx: Context, d: Distribution) => Value {
  const formula = d.family[what];
  if (formula === undefined) throw new EngineError('INVALID_ARGUMENT', `${what}: ${d.family.name} has no closed-form ${what} (estimate it from draws)`, { op: what });
  return formula;
}

export const entropy = (cx: Context, d: Distribution): Value => closedForm(d, 'entropy')(cx, d);
export const mean = (cx: Context, d: Distribution): Value => closedForm(d, 'mean')(cx, d);
export const variance = (cx: Context, d: Distribution): Value => closedForm(d, 'variance')(cx, d);

/**
 * The score-function surrogate of `out` given the log-probabilities of the draws it used:
 * equal to `out`, with gradient ∇out + out · ∇Σ log p (Williams 1992).
 */
export function scoreSurrogate(cx: Context, out: Value, logProbs: readonly Value[]): Value {
  if (logProbs.length === 0) return out;
  const total = logProbs.reduce((a, b) => E.add(cx, a, b));
  const zero = E.sub(cx, total, E.stopGradient(cx, total));
  return E.add(cx, out, E.mul(cx, E.stopGradient(cx, out), zero));
}
