/**
 * `optimize` (SPEC.md section 3): gradient-based optimisation of `params` on a program's
 * scalar loss, with PyTorch's optimizers, their defaults and their update rules (torch.optim's
 * single-tensor implementations, arithmetic in the same order). The loop runs where it is
 * called (on a worker in the service); the gradient comes from the program compiled once: into
 * straight-line code when it is a scalar function, into a plan of tensor operations (the
 * engine's tensor compiler) when it is a tensor program without data-dependent control flow,
 * else from the engine at every step.
 */
import {
  EngineError,
  NotCompilable,
  ReusableStorage,
  Tensor,
  compileGradient,
  compileGradientPlan,
  concrete,
  formatShape,
  grad as gradient,
  sizeOf,
  type CompiledGradient,
  type GradientPlan,
  type Value,
} from '../engine/index.js';
import { pow } from '../engine/fdlibm.js';
import { fillNoise } from '../engine/random.js';
import { ProgramError } from '../lang/errors.js';
import type { BodyEndpoint } from './endpoint.js';
import { countOperations, prepare, type ComputeOptions, type Evaluation } from './evaluation.js';
import { ProgramCache } from './cache.js';
import { optimizerPlan } from './fast-paths.js';
import { withDefaults } from './limits.js';
import type { EndpointFields } from './request.js';
import { endpointFields, type OptimizeRequest as OptimizeBody } from './schemas/index.js';
import { Problem } from './problem.js';
import { decodeValue, encodeValue } from './values.js';

export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'rmsprop' | 'adagrad';

/** Hyperparameters: PyTorch's names, defaults and ranges for each optimizer. */
interface Hyper {
  readonly default: number | boolean;
  readonly check?: (v: number) => boolean;
  readonly constraint?: string;
}

const nonNegative = { check: (v: number) => v >= 0, constraint: 'non-negative' };
const unitInterval = { check: (v: number) => v >= 0 && v < 1, constraint: 'in [0, 1)' };
const positive = { check: (v: number) => v > 0, constraint: 'positive' };

/**
 * torch.optim's defaults. "momentum" and "nesterov" are SGD with momentum 0.9 (and Nesterov's
 * correction), the course's names for them; every SGD option is available under any of the three.
 */
/** SGD's settings, with the momentum and Nesterov defaults of the name it is called by. */
const sgd = (momentum: number, nesterov: boolean): Readonly<Record<string, Hyper>> => ({
  lr: { default: 1e-3, ...nonNegative },
  momentum: { default: momentum, ...(nesterov ? positive : nonNegative) },
  dampening: { default: 0 },
  weight_decay: { default: 0, ...nonNegative },
  nesterov: { default: nesterov },
  maximize: { default: false },
});

const HYPERPARAMETERS: Readonly<Record<OptimizerName, Readonly<Record<string, Hyper>>>> = {
  sgd: sgd(0, false),
  momentum: sgd(0.9, false),
  nesterov: sgd(0.9, true),
  adam: {
    lr: { default: 1e-3, ...nonNegative },
    beta1: { default: 0.9, ...unitInterval },
    beta2: { default: 0.999, ...unitInterval },
    eps: { default: 1e-8, ...nonNegative },
    weight_decay: { default: 0, ...nonNegative },
    amsgrad: { default: false },
    maximize: { default: false },
  },
  rmsprop: {
    lr: { default: 1e-2, ...nonNegative },
    alpha: { default: 0.99, ...nonNegative },
    eps: { default: 1e-8, ...nonNegative },
    weight_decay: { default: 0, ...nonNegative },
    momentum: { default: 0, ...nonNegative },
    centered: { default: false },
    maximize: { default: false },
  },
  adagrad: {
    lr: { default: 1e-2, ...nonNegative },
    lr_decay: { default: 0, ...nonNegative },
    weight_decay: { default: 0, ...nonNegative },
    initial_accumulator_value: { default: 0, ...nonNegative },
    eps: { default: 1e-10, ...nonNegative },
    maximize: { default: false },
  },
};

export const OPTIMIZERS = Object.keys(HYPERPARAMETERS) as OptimizerName[];

type Settings = Record<string, number | boolean>;

/** The optimizer's settings: its defaults overridden by the request's, each checked. */
function settingsOf(json: OptimizeBody['optimizer']): { name: OptimizerName; settings: Settings } {
  // The schema leaves the settings open: which ones an optimizer takes, and their types, are its table's.
  const { name, betas, ...given } = json as { name: string; [setting: string]: unknown };
  if (!(OPTIMIZERS as string[]).includes(name)) {
    throw new Problem('INVALID_REQUEST', `"optimizer.name" must be one of ${OPTIMIZERS.join(', ')}`, { path: '/optimizer/name' });
  }
  const table = HYPERPARAMETERS[name as OptimizerName];
  // PyTorch's Adam takes betas as a pair; beta1 and beta2 are accepted too.
  if (betas !== undefined) {
    if (name !== 'adam' || !Array.isArray(betas) || betas.length !== 2) throw new Problem('INVALID_REQUEST', '"optimizer.betas" is adam\'s pair [beta1, beta2]', { path: '/optimizer/betas' });
    given.beta1 = betas[0];
    given.beta2 = betas[1];
  }
  const settings: Settings = {};
  for (const [key, spec] of Object.entries(table)) settings[key] = spec.default;
  for (const [key, value] of Object.entries(given)) {
    const spec = table[key];
    if (spec === undefined) throw new Problem('INVALID_REQUEST', `${name} has no setting "${key}"; its settings are ${Object.keys(table).join(', ')}`, { path: `/optimizer/${key}` });
    if (typeof spec.default === 'boolean') {
      if (typeof value !== 'boolean') throw new Problem('INVALID_REQUEST', `"optimizer.${key}" must be true or false`, { path: `/optimizer/${key}` });
    } else {
      if (typeof value !== 'number') throw new Problem('INVALID_REQUEST', `"optimizer.${key}" must be a number`, { path: `/optimizer/${key}` });
      if (spec.check !== undefined && !(Number.isFinite(value) && spec.check(value))) {
        throw new Problem('INVALID_ARGUMENT', `"optimizer.${key}" must be ${spec.constraint}, got ${value}`, { path: `/optimizer/${key}` });
      }
    }
    settings[key] = value as number | boolean;
  }
  if (settings.nesterov === true && (settings.momentum as number) <= 0) throw new Problem('INVALID_ARGUMENT', 'Nesterov momentum needs momentum > 0 (as in PyTorch)', { path: '/optimizer/momentum' });
  if (settings.nesterov === true && settings.dampening !== 0) throw new Problem('INVALID_ARGUMENT', 'Nesterov momentum needs zero dampening (as in PyTorch)', { path: '/optimizer/dampening' });
  return { name: name as OptimizerName, settings };
}

/** One optimizer's state for one parameter, and its step: torch.optim's single-tensor update, in place. */
type Update = (p: Float64Array, g: Float64Array, step: number) => void;

function updaterFor(name: OptimizerName, s: Settings, size: number): Update {
  const lr = s.lr as number;
  const weightDecay = s.weight_decay as number;
  const maximize = s.maximize as boolean;
  // grad (negated to maximise) plus weight decay, as every torch.optim rule begins.
  const effective = (p: Float64Array, g: Float64Array, i: number): number => (maximize ? -g[i] : g[i]) + (weightDecay !== 0 ? weightDecay * p[i] : 0);
  switch (name) {
    case 'sgd':
    case 'momentum':
    case 'nesterov': {
      const momentum = s.momentum as number;
      const dampening = s.dampening as number;
      const nesterov = s.nesterov as boolean;
      const buffer = new Float64Array(size);
      return (p, g, step) => {
        for (let i = 0; i < size; i++) {
          let d = effective(p, g, i);
          if (momentum !== 0) {
            buffer[i] = step === 1 ? d : momentum * buffer[i] + (1 - dampening) * d;
            d = nesterov ? d + momentum * buffer[i] : buffer[i];
          }
          p[i] -= lr * d;
        }
      };
    }
    case 'adam': {
      const [beta1, beta2, eps] = [s.beta1 as number, s.beta2 as number, s.eps as number];
      const amsgrad = s.amsgrad as boolean;
      const m = new Float64Array(size);
      const v = new Float64Array(size);
      const vMax = new Float64Array(size);
      return (p, g, step) => {
        // fdlibm's pow: `**` differs in the last bit between V8 versions (engine/fdlibm.ts).
        const correction1 = 1 - pow(beta1, step);
        const correction2Sqrt = Math.sqrt(1 - pow(beta2, step));
        const stepSize = lr / correction1;
        for (let i = 0; i < size; i++) {
          const d = effective(p, g, i);
          // exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
          m[i] += (d - m[i]) * (1 - beta1);
          v[i] = v[i] * beta2 + (1 - beta2) * d * d;
          let second = v[i];
          if (amsgrad) second = vMax[i] = Math.max(vMax[i], v[i]);
          const denominator = Math.sqrt(second) / correction2Sqrt + eps;
          p[i] += -stepSize * (m[i] / denominator);
        }
      };
    }
    case 'rmsprop': {
      const [alpha, eps, momentum] = [s.alpha as number, s.eps as number, s.momentum as number];
      const centered = s.centered as boolean;
      const square = new Float64Array(size);
      const average = new Float64Array(size);
      const buffer = new Float64Array(size);
      return (p, g) => {
        for (let i = 0; i < size; i++) {
          const d = effective(p, g, i);
          square[i] = square[i] * alpha + (1 - alpha) * d * d;
          let denominator: number;
          if (centered) {
            average[i] += (d - average[i]) * (1 - alpha);
            denominator = Math.sqrt(square[i] - average[i] * average[i]) + eps;
          } else denominator = Math.sqrt(square[i]) + eps;
          if (momentum > 0) {
            buffer[i] = buffer[i] * momentum + d / denominator;
            p[i] -= lr * buffer[i];
          } else p[i] -= lr * (d / denominator);
        }
      };
    }
    case 'adagrad': {
      const [lrDecay, eps] = [s.lr_decay as number, s.eps as number];
      const sum = new Float64Array(size).fill(s.initial_accumulator_value as number);
      return (p, g, step) => {
        const clr = lr / (1 + (step - 1) * lrDecay);
        for (let i = 0; i < size; i++) {
          const d = effective(p, g, i);
          sum[i] += d * d;
          p[i] -= clr * (d / (Math.sqrt(sum[i]) + eps));
        }
      };
    }
  }
}

export interface OptimizeRequest {
  readonly params: ReadonlyMap<string, Tensor>;
  readonly optimizer: { name: OptimizerName; settings: Settings };
  readonly steps: number;
  readonly every: number;
}

/** The body `prepare` sees: the parameters are inputs like the data, and the ones differentiated. */
export function optimizeBody(body: OptimizeBody, maxTensorElements: number): { body: Record<string, unknown>; request: OptimizeRequest } {
  const { params: paramsJson, optimizer, steps, every, ...rest } = body;
  if (Object.keys(paramsJson).length === 0) {
    throw new Problem('INVALID_REQUEST', '"params" must be an object of the initial values of the inputs being optimised, {"x": [1, 2]}', { path: '/params' });
  }
  const params = new Map<string, Tensor>();
  for (const [name, value] of Object.entries(paramsJson)) params.set(name, decodeValue(value, `/params/${name}`, { maxElements: maxTensorElements }));
  const at = rest.at ?? {};
  for (const name of params.keys()) if (Object.hasOwn(at, name)) throw new Problem('INVALID_REQUEST', `"${name}" is both a parameter and fixed data in "at"`, { path: `/at/${name}` });
  const request: OptimizeRequest = {
    params,
    optimizer: settingsOf(optimizer),
    steps,
    // By default about a hundred entries of history.
    every: every ?? Math.max(1, Math.ceil(steps / 100)),
  };
  const merged = { ...rest, at: { ...at, ...paramsJson }, wrt: [...params.keys()] };
  return { body: merged, request };
}

/** A progress message of a stream: the loss at a step of the history (non-finite numbers as strings, as everywhere). */
export type OptimizeProgress = (message: { type: 'progress'; step: number; loss: unknown }) => void;

/**
 * Runs the optimisation. The loss is the program's output, which must be a scalar; the loss
 * at step s is computed with step s's gradient, before its update. A loss that becomes NaN or
 * infinite stops the run there, with the reason in the result.
 */
export function optimize(ev: Evaluation, spec: OptimizeRequest, maxSteps: number, onProgress?: OptimizeProgress): Record<string, unknown> {
  if (spec.steps > maxSteps) throw new Problem('INVALID_ARGUMENT', `"steps" must be at most ${maxSteps}, got ${spec.steps}`, { path: '/steps' });
  const names = [...spec.params.keys()];
  const values = names.map((n) => Float64Array.from(spec.params.get(n)!.data));
  const shapes = names.map((n) => spec.params.get(n)!.shape);
  const updates = values.map((v) => updaterFor(spec.optimizer.name, spec.optimizer.settings, v.length));
  const evaluate = lossAndGradient(ev, names, shapes);
  const history: { step: number; loss: number }[] = [];
  const clock = ev.context();
  let stopped: { step: number; reason: string; loss: number } | null = null;
  for (let step = 0; step < spec.steps; step++) {
    if ((step & 15) === 0) clock.checkDeadline('optimize');
    const { loss, grads } = evaluate(values);
    if (step % spec.every === 0) {
      history.push({ step, loss });
      onProgress?.({ type: 'progress', step, loss: encodeValue(Tensor.scalar(loss), ev.request.layout) });
    }
    if (!Number.isFinite(loss)) {
      stopped = { step, loss, reason: `the loss is ${loss} at step ${step}: the optimisation diverged (try a smaller lr)` };
      break;
    }
    updates.forEach((update, k) => update(values[k], grads[k], step + 1));
  }
  const final = stopped === null ? evaluate(values).loss : stopped.loss;
  const layout = ev.request.layout;
  return {
    params: Object.fromEntries(names.map((n, k) => [n, encodeValue(new Tensor([...shapes[k]], values[k]), layout)])),
    loss: encodeValue(Tensor.scalar(final), layout),
    history: history.map((h) => ({ step: h.step, loss: encodeValue(Tensor.scalar(h.loss), layout) })),
    ...(stopped === null ? {} : { stopped: { step: stopped.step, reason: stopped.reason } }),
  };
}

/** A step: the loss and its gradient at the parameters' current values. */
type Step = (values: Float64Array[]) => { loss: number; grads: Float64Array[] };

/**
 * The loss and its gradient at the parameters' current values: compiled code for a scalar
 * program of scalar inputs, a plan of tensor operations for a tensor program, else the engine
 * with the data held fixed.
 */
function lossAndGradient(ev: Evaluation, names: readonly string[], shapes: readonly (readonly number[])[]): Step {
  const compiled = compiledLoss(ev, names);
  if (compiled !== null) return compiledStep(ev, names, compiled);
  // Nothing of a step outlives it (the gradients are read before the next step): its memory is reused.
  const storage = new ReusableStorage();
  const plan = planned(ev, names, shapes);
  return plan !== null ? plannedStep(ev, shapes, plan, storage) : generalStep(ev, shapes, storage);
}

function compiledStep(ev: Evaluation, names: readonly string[], compiled: CompiledGradient): Step {
  const inputs = [...ev.request.at.keys()];
  const slots = names.map((n) => inputs.indexOf(n));
  const points = inputs.map((n) => Float64Array.of(ev.request.at.get(n)!.data[0]));
  const noise = compiled.noise.map((kind, k) => {
    const out = new Float64Array(1);
    fillNoise(ev.seed, kind, k, 0, out);
    return out;
  });
  if (noise.length > 0) ev.noteDraws();
  const into = { value: new Float64Array(1), grads: inputs.map(() => new Float64Array(1)) };
  return (values) => {
    slots.forEach((slot, k) => (points[slot][0] = values[k][0]));
    const { value, grads } = compiled.run([...points, ...noise], 1, into);
    return { loss: value[0], grads: slots.map((slot) => grads[slot]) };
  };
}

/**
 * The program compiled into a plan of tensor operations for the parameters' shapes, its data
 * (`at`) inputs of the plan read at each step (`fixed`), so that new data reuse it; where the
 * program reads a value of its data (a loop's bound), a plan with the data baked in as
 * constants. Null where it cannot be (it draws, or branches on a value computed from the
 * parameters) or fails: the engine then runs each step, and reports.
 */
function planned(ev: Evaluation, names: readonly string[], shapes: readonly (readonly number[])[]): { plan: GradientPlan; fixed: Tensor[] } | null {
  const withData = optimizerPlan(ev);
  if (withData !== null) return withData;
  const { request } = ev;
  const data = new Map([...request.at].filter(([name]) => !names.includes(name)));
  const key = `${ev.cacheKey}\u0000optimize-plan\u0000${names.join(',')}\u0000${shapes.map(formatShape).join(' ')}\u0000${request.output ?? ''}`;
  // Kept between requests with the same data: compiling costs as much as several steps.
  const plan = ev.cache.planWithData(key, data, () => {
    const cx = ev.transientContext();
    try {
      return compileGradientPlan(ev.fn, ev.primals, cx);
    } catch (e) {
      if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem || e instanceof EngineError) return null;
      throw e;
    } finally {
      ev.countOperations(cx);
    }
  });
  return plan === null ? null : { plan, fixed: [] };
}

function plannedStep(ev: Evaluation, shapes: readonly (readonly number[])[], { plan, fixed }: { plan: GradientPlan; fixed: Tensor[] }, storage: ReusableStorage): Step {
  let general: Step | null = null;
  return (values) => {
    storage.reset();
    const cx = ev.transientContext(storage);
    try {
      const { value, grads } = plan.run([...values.map((v, k) => new Tensor([...shapes[k]], v)), ...fixed], cx);
      return { loss: value.data[0], grads: grads.map((g) => g.data) };
    } catch (e) {
      // The same step through the engine, which reports where in the program it failed.
      if (!(e instanceof EngineError) || e.code === 'LIMIT_EXCEEDED') throw e;
      general ??= generalStep(ev, shapes, storage);
      return general(values);
    } finally {
      ev.countOperations(cx);
    }
  };
}

/** A step through the general engine. */
function generalStep(ev: Evaluation, shapes: readonly (readonly number[])[], storage: ReusableStorage): Step {
  // One generator for every step: each run of the program restarts its draws (the same every step).
  const random = ev.context().random;
  return (values) => {
    storage.reset();
    const cx = ev.transientContext(storage);
    cx.random = random;
    try {
      const { value, grads } = gradient(
        cx,
        ev.fn,
        values.map((v, k) => new Tensor([...shapes[k]], v)),
      );
      const loss = concrete(value);
      if (sizeOf(loss.shape) !== 1) {
        throw new Problem('NOT_SCALAR', `optimize needs a scalar loss, but the program's result has shape ${formatShape(loss.shape)}; reduce it (sum, mean, norm)`, { path: '' });
      }
      return { loss: loss.data[0], grads: grads.map((g) => concrete(g as Value).data) };
    } catch (e) {
      if (e instanceof EngineError && e.code === 'NOT_SCALAR' && e.op === 'grad') {
        throw new Problem('NOT_SCALAR', `optimize needs a scalar loss; ${e.message.replace(/; pass a cotangent.*$/, '')}`, { path: '' });
      }
      throw e;
    } finally {
      ev.countOperations(cx);
    }
  };
}

function compiledLoss(ev: Evaluation, names: readonly string[]): CompiledGradient | null {
  const { request } = ev;
  const inputs = [...request.at.keys()];
  if (inputs.some((n) => request.at.get(n)!.shape.length !== 0)) return null;
  const key = `${ev.cacheKey}\u0000optimize\u0000${inputs.join(',')}\u0000${names.join(',')}\u0000${request.output ?? ''}`;
  return ev.cache.gradient(ProgramCache.key('gradient', key), () => {
    try {
      return compileGradient((cx, xs) => ev.output(cx, new Map(inputs.map((n, i) => [n, xs[i]]))), inputs.length, ev.context());
    } catch (e) {
      if (e instanceof NotCompilable || e instanceof ProgramError || e instanceof Problem || e instanceof EngineError) return null;
      throw e;
    }
  });
}

/** What `optimize` takes beyond the common fields (read from its schema); its options are the common ones. */
const OPTIMIZE_FIELDS: EndpointFields = endpointFields('optimize');

export const optimizeEndpoint: BodyEndpoint<OptimizeBody> = { name: 'optimize', fields: OPTIMIZE_FIELDS, run: optimizeAll };

/** `optimize`: the parameters become inputs, differentiated; the data in `at` stays fixed. */
function optimizeAll(body: OptimizeBody, options: ComputeOptions): unknown {
  const limits = withDefaults(options.limits);
  const { body: merged, request } = optimizeBody(body, limits.maxTensorElements);
  let ev: Evaluation | null = null;
  try {
    // The merged body is an eval body: the parameters are inputs like the data, and `wrt`.
    ev = prepare('eval', merged, options);
    const result = optimize(ev, request, limits.maxSteps, options.onProgress);
    return ev.randomUsed() ? { ...result, seed: ev.seed } : result;
  } finally {
    countOperations(options.stats, ev);
  }
}
