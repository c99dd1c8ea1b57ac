/**
 * The elements' attributes read into values, each wrong one a readable message naming the
 * attribute (shown inside the element and sent with `adjoint-error`, never thrown out of it).
 * Pure: tested by tap without a browser.
 */

/** A malformed attribute: the element shows `message` and fires `adjoint-error`. */
export class AttributeError extends Error {
  constructor(
    readonly attribute: string,
    message: string,
  ) {
    super(message);
    this.name = 'AttributeError';
  }
}

/** A name as programs use it (a letter, then letters and digits: the service holds names to mathjs's rule). */
const NAME = /^[A-Za-z_$\u00C0-\u02AF\u0370-\u03FF][A-Za-z_$\u00C0-\u02AF\u0370-\u03FF0-9]*$/;

function parseJson(attribute: string, text: string, example: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new AttributeError(attribute, `${attribute}="${text.slice(0, 60)}" is not JSON (${why}); write it as ${example}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkName(attribute: string, name: string): void {
  if (!NAME.test(name)) throw new AttributeError(attribute, `${attribute}: "${name.slice(0, 40)}" is not an input name (a letter, then letters and digits)`);
}

/** A nested array of numbers (a tensor), or a number. */
function isTensor(v: unknown): boolean {
  return typeof v === 'number' ? Number.isFinite(v) : Array.isArray(v) && v.length > 0 && v.every(isTensor);
}

/** `inputs='{"x": 0.5, "y": 4.2}'`: input names and values (numbers, or nested arrays held fixed). */
export function parseInputs(text: string, attribute = 'inputs'): Record<string, number | unknown[]> {
  const example = `${attribute}='{"x": 0.5}'`;
  const json = parseJson(attribute, text, example);
  if (!isObject(json)) throw new AttributeError(attribute, `${attribute} must be a JSON object of input values, as ${example}`);
  const out: Record<string, number | unknown[]> = {};
  for (const [name, value] of Object.entries(json)) {
    checkName(attribute, name);
    if (!isTensor(value)) throw new AttributeError(attribute, `${attribute}: the value of "${name}" must be a finite number (or an array of numbers), got ${JSON.stringify(value)?.slice(0, 40)}`);
    out[name] = value as number | unknown[];
  }
  return out;
}

export type Ranges = Record<string, [number, number]>;

/** `ranges='{"x": [-3, 3]}'`: each input's slider range, lo < hi. */
export function parseRanges(text: string, attribute = 'ranges'): Ranges {
  const example = `${attribute}='{"x": [-3, 3]}'`;
  const json = parseJson(attribute, text, example);
  if (!isObject(json)) throw new AttributeError(attribute, `${attribute} must be a JSON object of [lo, hi] pairs, as ${example}`);
  const out: Ranges = {};
  for (const [name, range] of Object.entries(json)) {
    checkName(attribute, name);
    if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new AttributeError(attribute, `${attribute}: the range of "${name}" must be two finite numbers [lo, hi], got ${JSON.stringify(range)?.slice(0, 40)}`);
    }
    const [lo, hi] = range as [number, number];
    if (!(lo < hi)) throw new AttributeError(attribute, `${attribute}: the range of "${name}" is [${lo}, ${hi}], but lo must be less than hi`);
    out[name] = [lo, hi];
  }
  return out;
}

/** A range for every scalar input: the one given, else around its value (±3, widened to hold it). */
export function rangesFor(inputs: Record<string, number | unknown[]>, given: Ranges): Ranges {
  const out: Ranges = {};
  for (const [name, value] of Object.entries(inputs)) {
    if (typeof value !== 'number') continue;
    const range = given[name] ?? [Math.min(-3, value - 1), Math.max(3, value + 1)];
    out[name] = [range[0], range[1]];
  }
  return out;
}

/** An attribute with a fixed set of values (an element option): anything else is named with the choices. */
export function parseChoice<T extends string>(attribute: string, text: string | null, allowed: readonly T[], fallback: T): T {
  if (text === null || text === '') return fallback;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new AttributeError(attribute, `${attribute}="${text.slice(0, 40)}" is not an option; use one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
}

/** Where an element computes: `service` (the API at `api`), `local` (this browser), or `auto` (the service if it answers, else this browser). */
export const COMPUTE_MODES = ['auto', 'service', 'local'] as const;
export type ComputeMode = (typeof COMPUTE_MODES)[number];

/** `compute="auto" | "service" | "local"`, `auto` when absent or empty. */
export function parseComputeMode(text: string | null): ComputeMode {
  return parseChoice('compute', text, COMPUTE_MODES, 'auto');
}

/** A numeric attribute within [min, max] (integer if asked); empty or absent gives the fallback. */
export function parseNumber(attribute: string, text: string | null, fallback: number, limits: { min?: number; max?: number; integer?: boolean } = {}): number {
  if (text === null || text.trim() === '') return fallback;
  const v = Number(text);
  const { min = -Infinity, max = Infinity, integer = false } = limits;
  const what = `${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` from ${min}` : ''}${max < Infinity ? ` to ${max}` : ''}`;
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new AttributeError(attribute, `${attribute}="${text.slice(0, 40)}" must be ${what}`);
  }
  return v;
}

/** `wrt="x y"` or `wrt="x, y"`: input names, each among `inputs`. */
export function parseNames(attribute: string, text: string | null, inputs: readonly string[]): string[] | null {
  if (text === null || text.trim() === '') return null;
  const names = text.split(/[\s,]+/).filter((n) => n !== '');
  for (const name of names) {
    checkName(attribute, name);
    if (!inputs.includes(name)) throw new AttributeError(attribute, `${attribute}: "${name}" is not an input (the inputs are ${inputs.join(', ') || 'none'})`);
  }
  return names;
}

/** Attribute names to property names: `api-key` → `apiKey`. */
export function propertyName(attribute: string): string {
  return attribute.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
