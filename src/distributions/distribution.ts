/**
 * Distributions as values: a family (normal, gamma, ...) and its parameters, with PyTorch's
 * parameterisations and broadcasting. Parameters are engine values, so everything a family
 * computes (`log_prob`, `entropy`, `mean`, a reparameterised draw) is a composition of engine
 * operations and differentiable in the parameters with no derivative code here.
 *
 * Shapes follow torch.distributions: a distribution has a batch shape (its parameters'
 * broadcast shape) and an event shape (one draw: [] for scalar families, [K] for dirichlet,
 * mvnormal, relaxed_categorical); `rsample(d, n)` has shape [n, ...batch, ...event].
 */
import * as E from '../engine/index.js';
import { EngineError, Tensor, broadcastShapes, concrete, formatShape, type Context, type Shape, type Value } from '../engine/index.js';
import type { RandomSource } from '../engine/random.js';

/** How a family's `rsample` carries gradients to its parameters. */
export type Reparameterisation = 'pathwise' | 'implicit' | 'relaxed' | 'none';

/** A condition on a parameter's elements, checked on its values when the distribution is made. */
export interface Constraint {
  /** As the error message and `GET /v1/distributions` say it: "positive", "in (0, 1)". */
  readonly name: string;
  readonly holds: (x: number) => boolean;
}

export const constraints = {
  real: { name: 'real', holds: (x: number) => !Number.isNaN(x) },
  finite: { name: 'finite', holds: (x: number) => Number.isFinite(x) },
  positive: { name: 'positive', holds: (x: number) => x > 0 },
  probability: { name: 'in [0, 1]', holds: (x: number) => x >= 0 && x <= 1 },
  openProbability: { name: 'in (0, 1)', holds: (x: number) => x > 0 && x < 1 },
  geometricProbability: { name: 'in (0, 1]', holds: (x: number) => x > 0 && x <= 1 },
  count: { name: 'a non-negative integer', holds: (x: number) => Number.isInteger(x) && x >= 0 },
  nonNegative: { name: 'non-negative', holds: (x: number) => x >= 0 },
} satisfies Record<string, Constraint>;

export interface ParamSpec {
  readonly name: string;
  readonly constraint: Constraint;
  /** The trailing dimensions that belong to one distribution: 1 for a vector parameter (probs, alpha, mean), 2 for a matrix. */
  readonly eventRank?: number;
  /** The value when the argument is left out (PyTorch's default). */
  readonly default?: number;
  /** Extra checks across elements (a simplex, a triangular matrix): a message, or null. */
  readonly check?: (t: Tensor) => string | null;
}

/** One family: its parameters, what its draws are, and its formulas on engine values. */
export interface Family {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  /** The set a draw lies in, as the docs and errors say it. */
  readonly support: string;
  readonly reparameterisation: Reparameterisation;
  /** Where a relation between parameters must hold (uniform's lo < hi): a message, or null. */
  readonly checkParams?: (params: readonly Tensor[]) => string | null;
  /** The shape of one draw given the (broadcast) parameters; [] unless stated. */
  readonly eventShape?: (params: readonly Value[]) => Shape;
  /**
   * The support as a condition on each element (the real line, (0, ∞), {0, 1}), checked as an
   * operation like a parameter's constraint, so compiled code and plans check every point they
   * run at. Families whose support is not one (integers up to a parameter) say `inSupport`.
   */
  readonly elementInSupport?: (v: number) => boolean;
  /** Whether a value's elements lie in the support: the first offender's message, or null. */
  readonly inSupport?: (x: Tensor, d: Distribution) => string | null;
  /** A draw of `shape` (= sample ++ batch ++ event) whose gradient reaches the parameters. */
  readonly rsample?: (cx: Context, d: Distribution, random: RandomSource, shape: Shape) => Value;
  /** A draw with no gradient; by default the reparameterised draw, detached. */
  readonly sample?: (cx: Context, d: Distribution, random: RandomSource, shape: Shape) => Value;
  readonly logProb: (cx: Context, d: Distribution, x: Value) => Value;
  readonly entropy?: (cx: Context, d: Distribution) => Value;
  readonly mean?: (cx: Context, d: Distribution) => Value;
  readonly variance?: (cx: Context, d: Distribution) => Value;
}

export class Distribution {
  constructor(
    readonly family: Family,
    /** The parameters in the family's order, each broadcast to batch shape ++ its own event shape. */
    readonly params: readonly Value[],
    readonly batchShape: Shape,
    readonly eventShape: Shape,
  ) {}

  /** Parameter i. */
  p(i: number): Value {
    return this.params[i];
  }

  toString(): string {
    return `${this.family.name}${formatShape(this.batchShape)}`;
  }
}

function invalid(message: string, op: string): EngineError {
  return new EngineError('INVALID_ARGUMENT', message, { op });
}

const checks = new Map<string, E.Check>();

/** The check of a family's parameter, defined on first use (one per family and parameter). */
function checkOf(family: Family, spec: ParamSpec): E.Check {
  const key = `${family.name}.${spec.name}`;
  let check = checks.get(key);
  if (check === undefined) {
    check = E.defineCheck(family.name, spec.constraint.holds, (x, i, size) => `${family.name}: ${spec.name} must be ${spec.constraint.name}, got ${x}${size === 1 ? '' : ` (element ${i + 1})`}`);
    checks.set(key, check);
  }
  return check;
}

/** The distribution of `family` with the given parameters, validated and broadcast. */
export function makeDistribution(cx: Context, family: Family, args: readonly Value[]): Distribution {
  const specs = family.params;
  const required = specs.filter((p) => p.default === undefined).length;
  if (args.length < required || args.length > specs.length) {
    const names = specs.map((p) => (p.default === undefined ? p.name : `${p.name} = ${p.default}`)).join(', ');
    throw invalid(`${family.name}(${names}) takes ${required === specs.length ? required : `${required} to ${specs.length}`} parameters, got ${args.length}`, family.name);
  }
  // Checked as operations, so that compiled code checks every point it runs at.
  const values = specs.map((spec, i) => E.checked(cx, args[i] ?? Tensor.scalar(spec.default!), checkOf(family, spec)));
  specs.forEach((spec, i) => {
    const rank = spec.eventRank ?? 0;
    if (values[i].shape.length < rank) {
      throw invalid(`${family.name}: ${spec.name} must have at least ${rank} dimension(s), got shape ${formatShape(values[i].shape)}`, family.name);
    }
    const message = spec.check?.(concrete(values[i]));
    if (message !== undefined && message !== null) throw invalid(`${family.name}: ${spec.name} ${message}`, family.name);
  });
  const relation = family.checkParams?.(values.map(concrete));
  if (relation !== undefined && relation !== null) throw invalid(`${family.name}: ${relation}`, family.name);
  let batch: Shape = [];
  const split = values.map((v, i) => {
    const rank = specs[i].eventRank ?? 0;
    return { batch: v.shape.slice(0, v.shape.length - rank), event: v.shape.slice(v.shape.length - rank) };
  });
  try {
    for (const s of split) batch = broadcastShapes(family.name, batch, s.batch);
  } catch {
    throw new EngineError('SHAPE_MISMATCH', `${family.name}: the parameters' shapes ${values.map((v) => formatShape(v.shape)).join(', ')} do not broadcast`, { op: family.name });
  }
  const params = values.map((v, i) => {
    const shape = [...batch, ...split[i].event];
    return E.sameShape(v.shape, shape) ? v : E.expand(cx, v, shape);
  });
  return new Distribution(family, params, batch, family.eventShape?.(params) ?? []);
}

/** The shape of `n` draws (or one when n is undefined). */
export function drawShape(d: Distribution, n: number | undefined): Shape {
  return [...(n === undefined ? [] : [n]), ...d.batchShape, ...d.eventShape];
}

const outsideSupport = (family: Family, offender: string): string => `log_prob: ${offender} is outside the support of ${family.name}, ${family.support}`;

/** The check of a family's support, defined on first use (one per family). */
function supportCheckOf(family: Family, holds: (v: number) => boolean): E.Check {
  const key = `${family.name} support`;
  let check = checks.get(key);
  if (check === undefined) {
    check = E.defineCheck('log_prob', holds, (x, i, size) => outsideSupport(family, size === 1 ? `${x}` : `${x} (element ${i + 1})`));
    checks.set(key, check);
  }
  return check;
}

/** x, once its elements lie in the support for `log_prob`, as PyTorch validates by default. */
export function checkSupport(cx: Context, d: Distribution, x: Value): Value {
  const { family } = d;
  if (family.elementInSupport !== undefined) return E.checked(cx, x, supportCheckOf(family, family.elementInSupport));
  const message = family.inSupport?.(concrete(x), d);
  if (message !== undefined && message !== null) throw invalid(outsideSupport(family, message), 'log_prob');
  return x;
}

/** The first element of x failing `holds`, as a message, or null. */
export function outside(x: Tensor, holds: (v: number, i: number) => boolean): string | null {
  for (let i = 0; i < x.size; i++) if (!holds(x.data[i], i)) return x.size === 1 ? `${x.data[i]}` : `${x.data[i]} (element ${i + 1})`;
  return null;
}
