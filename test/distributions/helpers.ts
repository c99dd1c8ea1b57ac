/**
 * Shared by the distribution tests: requests through the library API (`computeSync`), which
 * family a case is about (every family must have its cases), gradients against central
 * differences of `eval`, and Monte Carlo estimates within standard errors of an exact value.
 */
import type { Test } from 'tap';
import { computeSync } from '../../src/index.js';
import { families, familyNamed } from '../../src/distributions/index.js';
import type { Tensor } from '../../src/engine/index.js';
import { assertClose, outcomeOf, tensorFromJson, type Tolerance } from '../helpers.js';

export type Json = number | number[] | number[][];
export type Inputs = Readonly<Record<string, Json>>;
export type Response = Record<string, unknown>;

/** The families a program makes, in order: 'kl(exponential(r), gamma(k, r))' gives exponential, gamma. */
export function familiesIn(program: string): string[] {
  return [...program.matchAll(/([A-Za-z_][A-Za-z_0-9]*)\s*\(/g)].map((m) => m[1]).filter((name) => familyNamed(name) !== undefined);
}

/** The first family of a program. */
export function familyOf(program: string): string {
  const [first] = familiesIn(program);
  if (first === undefined) throw new Error(`no distribution family in ${program}`);
  return first;
}

/** Fails unless every family has a row: a new family must bring its cases. */
export function assertEveryFamilyCovered(t: Test, table: string, covered: Iterable<string>): void {
  const have = new Set(covered);
  t.same(
    families.map((f) => f.name).filter((name) => !have.has(name)),
    [],
    `${table}: every family has a row`,
  );
}

/** A request that should succeed: its response, or null after failing the test with the problem's detail. */
export function request(t: Test, label: string, endpoint: string, body: Record<string, unknown>): Response | null {
  const outcome = outcomeOf(() => computeSync(endpoint, body));
  if ('returned' in outcome) return outcome.returned as Response;
  const e = outcome.threw as { body?: unknown };
  t.fail(`${label}: ${endpoint} refused the request: ${JSON.stringify(e.body ?? String(e))}`);
  return null;
}

/** The value of a program (eval), as a tensor, or null after failing the test. */
export function valueOf(t: Test, label: string, program: string, at: Inputs = {}, seed?: number): Tensor | null {
  const r = request(t, label, 'eval', { program, at, ...(seed === undefined ? {} : { seed }) });
  return r === null ? null : tensorFromJson(r.value);
}

/** A tensor as the nested arrays of a request (a number, a vector, a matrix). */
function nested(shape: readonly number[], data: readonly number[]): Json {
  if (shape.length === 0) return data[0];
  if (shape.length === 1) return [...data];
  const width = shape[1];
  return Array.from({ length: shape[0] }, (_, i) => data.slice(i * width, (i + 1) * width));
}

/** Input `name` with element k moved by delta. */
function shifted(at: Inputs, name: string, k: number, delta: number): Inputs {
  const value = tensorFromJson(at[name]);
  const data = Array.from(value.data);
  data[k] += delta;
  return { ...at, [name]: nested(value.shape, data) };
}

export interface GradientOptions extends Tolerance {
  /** The inputs to differentiate with respect to (default: all of `at`). */
  wrt?: readonly string[];
}

/**
 * The gradient of a scalar program by the grad endpoint, in reverse and in forward mode,
 * against central differences of the eval endpoint: (f(x + h) - f(x - h)) / 2h per element,
 * with h = 1e-5 max(1, |x|).
 */
export function assertGradient(t: Test, label: string, program: string, at: Inputs, options: GradientOptions = {}): void {
  const wrt = options.wrt ?? Object.keys(at);
  const tol = { rtol: options.rtol ?? 1e-6, atol: options.atol ?? 1e-8 };
  const grads = (['reverse', 'forward'] as const).map((mode) => request(t, `${label} (${mode} mode)`, 'grad', { program, at, wrt, options: { mode } }));
  const evaluate = (inputs: Inputs): number | null => {
    const r = request(t, label, 'eval', { program, at: inputs });
    return r === null ? null : tensorFromJson(r.value).data[0];
  };
  for (const name of wrt) {
    const x = tensorFromJson(at[name]);
    const numeric = Array.from(x.data, (v, k) => {
      const h = 1e-5 * Math.max(1, Math.abs(v));
      const plus = evaluate(shifted(at, name, k, h));
      const minus = evaluate(shifted(at, name, k, -h));
      return plus === null || minus === null ? NaN : (plus - minus) / (2 * h);
    });
    const expected = tensorFromJson(nested(x.shape, numeric));
    grads.forEach((g, i) => {
      if (g === null) return;
      const mode = i === 0 ? 'reverse' : 'forward';
      const got = tensorFromJson((g.grad as Record<string, unknown>)[name]);
      assertClose(t, got, expected, `${label}: d/d${name} by ${mode} mode against central differences at ${JSON.stringify(at)}`, tol);
    });
  }
}

/**
 * A Monte Carlo estimate within k standard errors of the exact value (plus rounding, for
 * estimates whose standard error is exactly 0, such as the derivative of E[z] in a location).
 */
export function assertWithinStderr(t: Test, label: string, estimate: number, exact: number, stderr: number, k: number): void {
  const gap = Math.abs(estimate - exact);
  const ok = Number.isFinite(estimate) && Number.isFinite(stderr) && gap <= k * stderr + 1e-12 * (1 + Math.abs(exact));
  t.ok(ok, `${label}: ${estimate} is within ${k} standard errors (${stderr}) of ${exact}${ok ? '' : ` (${(gap / stderr).toFixed(1)} standard errors off)`}`);
}

/** Mean, variance (unbiased) and fourth central moment of numbers. */
export function moments(xs: ArrayLike<number>): { mean: number; variance: number; fourth: number } {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i];
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i] - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  return { mean, variance: m2 / (n - 1), fourth: m4 / n };
}
