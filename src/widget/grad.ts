/**
 * <adjoint-grad>: the program, a slider and a number box per scalar input, the value and the
 * gradient live as the sliders move; with one scalar input, f over its range with the tangent
 * line at x. Endpoints: `grad`, and `batch` of `eval`s for the curve (once per program and range).
 */
import { AttributeError, parseInputs, parseNames, parseRanges, rangesFor, type Ranges } from './attributes.js';
import { problemError, request } from './api.js';
import { AdjointElement, reflect } from './base.js';
import { axes, frame } from './chart.js';
import { fill, h, s } from './dom.js';
import { extent, formatNumber, linePath, linspace, padded, scalarOf, toNumber } from './plot.js';
import { LatestWins } from './schedule.js';
import type { BatchResponse, EvalResponse, GradResponse, Value } from './wire.js';

const LOOP = 'z = 1\nfor i = 0:1\n  z = (z + i) * x * x\nend\nz';
const CURVE_POINTS = 99;
const WIDTH = 560;
const HEIGHT = 240;

interface Job {
  readonly program: string;
  readonly output: string | null;
  readonly at: Record<string, number | unknown[]>;
  readonly wrt: string[] | null;
  /** The input plotted and its range, when there is exactly one scalar input. */
  readonly curve: { name: string; range: [number, number]; key: string } | null;
}

/** Set through `this.display` after each answer. */
interface Drawn {
  value: Value;
  grad: Record<string, Value>;
}

export class AdjointGrad extends AdjointElement {
  protected readonly defaultProgram = LOOP;
  protected readonly defaultLabel = 'Value and gradient';
  private controls!: HTMLDivElement;
  private valueBox!: HTMLDivElement;
  private gradientBox!: HTMLDivElement;
  private plot!: SVGSVGElement;
  private signature = '';
  /** The inputs' current values, moved by the sliders. */
  private values: Record<string, number | unknown[]> = {};
  private lastInputsAttribute: string | null = null;
  private curve: { key: string; points: [number, number][] } | null = null;
  private readonly scheduler = new LatestWins<Job>((job, signal) => this.send(job, signal));

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'inputs', 'ranges', 'wrt', 'output'];
  }

  protected build(): void {
    this.controls = h('div', { class: 'controls', part: 'controls' });
    this.valueBox = h('div', { part: 'value', class: 'value' });
    this.gradientBox = h('div', { part: 'gradient', class: 'gradient' });
    this.plot = s('svg', { part: 'plot', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': 'f over the range of its input, with the tangent line', hidden: true });
    this.body.append(this.controls, h('div', { class: 'readings' }, this.valueBox, this.gradientBox), this.plot);
  }

  /** The attributes read, each wrong one thrown as an AttributeError. */
  private read(): { inputsText: string; inputs: Record<string, number | unknown[]>; ranges: Ranges } {
    this.checkCommon();
    const inputsText = this.getAttribute('inputs') ?? '{"x": 0.5}';
    const inputs = parseInputs(inputsText);
    const names = Object.keys(inputs);
    const given = parseRanges(this.getAttribute('ranges') ?? (this.hasAttribute('program') ? '{}' : '{"x": [-1.5, 1.5]}'));
    for (const name of Object.keys(given)) if (!names.includes(name)) throw new AttributeError('ranges', `ranges: "${name}" is not an input (the inputs are ${names.join(', ') || 'none'})`);
    parseNames('wrt', this.getAttribute('wrt'), names);
    return { inputsText, inputs, ranges: rangesFor(inputs, given) };
  }

  protected validate(): void {
    this.read();
  }

  protected update(): void {
    const { inputsText, inputs, ranges } = this.read();
    if (inputsText !== this.lastInputsAttribute) {
      this.lastInputsAttribute = inputsText;
      this.values = { ...inputs };
    }
    for (const [name, [lo, hi]] of Object.entries(ranges)) {
      const v = this.values[name];
      if (typeof v === 'number' && (v < lo || v > hi)) this.values[name] = Math.min(hi, Math.max(lo, v));
    }
    this.buildControls(ranges);
    this.clearError();
    this.submit();
  }

  private buildControls(ranges: Ranges): void {
    const signature = JSON.stringify(ranges);
    if (signature === this.signature) {
      for (const [name, value] of Object.entries(this.values)) if (typeof value === 'number') this.showInput(name, value, null);
      return;
    }
    this.signature = signature;
    const rows = Object.entries(ranges).map(([name, [lo, hi]]) => {
      const id = `${this.uid}-slider-${name}`;
      const value = this.values[name] as number;
      const slider = h('input', { type: 'range', id, part: `slider slider-${name}`, min: lo, max: hi, step: 'any', value, 'data-name': name });
      const number = h('input', { type: 'number', part: `number number-${name}`, min: lo, max: hi, step: 'any', value, 'aria-label': `${name}, exact value`, 'data-name': name });
      slider.addEventListener('input', () => this.moved(name, Number(slider.value), slider));
      number.addEventListener('input', () => {
        if (number.value.trim() !== '' && Number.isFinite(Number(number.value))) this.moved(name, Number(number.value), number);
      });
      return h('div', { class: 'row' }, h('label', { for: id, class: 'name' }, name), slider, number);
    });
    fill(this.controls, ...rows);
  }

  /** Shows `value` in the input's slider and number box, but for the one the student is moving. */
  private showInput(name: string, value: number, source: HTMLInputElement | null): void {
    for (const el of this.controls.querySelectorAll<HTMLInputElement>(`input[data-name="${CSS.escape(name)}"]`)) {
      if (el !== source && Number(el.value) !== value) el.value = String(value);
    }
  }

  private moved(name: string, value: number, source: HTMLInputElement): void {
    this.values[name] = value;
    this.showInput(name, value, source);
    // The attribute follows the sliders (a page or the playground reads the state back), without an update of its own.
    this.quietly(() => this.setAttribute('inputs', JSON.stringify(this.values)));
    this.lastInputsAttribute = this.getAttribute('inputs');
    this.guard(() => this.submit());
  }

  private submit(): void {
    const scalars = Object.entries(this.values).filter(([, v]) => typeof v === 'number');
    const names = Object.keys(this.values);
    let curve: Job['curve'] = null;
    if (names.length === 1 && scalars.length === 1) {
      const name = names[0];
      const range = (JSON.parse(this.signature) as Ranges)[name];
      curve = { name, range, key: JSON.stringify([this.program, this.getAttribute('output'), range]) };
    }
    const job: Job = {
      program: this.program,
      output: this.getAttribute('output'),
      at: { ...this.values },
      wrt: parseNames('wrt', this.getAttribute('wrt'), names),
      curve,
    };
    this.setStatus('loading');
    this.scheduler.submit(job);
  }

  private async send(job: Job, signal: AbortSignal): Promise<void> {
    const body = {
      program: job.program,
      at: job.at as Record<string, Value>,
      ...(job.wrt === null ? {} : { wrt: job.wrt }),
      ...(job.output === null ? {} : { output: job.output }),
    };
    try {
      let result: GradResponse;
      if (job.curve !== null && this.curve?.key !== job.curve.key) {
        const { name, range } = job.curve;
        const xs = linspace(range[0], range[1], CURVE_POINTS);
        const evals = xs.map((x) => ({ endpoint: 'eval', ...body, at: { [name]: x } }));
        const { results } = await request<BatchResponse<GradResponse | EvalResponse>>(this.service, 'batch', { requests: [{ endpoint: 'grad', ...body }, ...evals] }, signal);
        const first = results[0];
        if ('error' in first) throw problemError(first.error);
        result = first as GradResponse;
        const points = xs.map((x, k): [number, number] => {
          const r = results[k + 1];
          return [x, 'error' in r ? NaN : (scalarOf(r.value) ?? NaN)];
        });
        this.curve = { key: job.curve.key, points };
      } else {
        result = await request<GradResponse>(this.service, 'grad', body, signal);
      }
      if (signal.aborted) return;
      this.clearError();
      this.draw(job, result);
      this.drawn(result);
    } catch (e) {
      if (!signal.aborted) this.fail(e, () => this.guard(() => this.submit()));
    }
  }

  private draw(job: Job, result: Drawn): void {
    const value = scalarOf(result.value);
    const valueText = value === null ? JSON.stringify(result.value) : formatNumber(value);
    this.valueBox.textContent = `f = ${valueText}`;
    this.valueBox.dataset.value = value === null ? JSON.stringify(result.value) : String(value);
    const lines: HTMLElement[] = [];
    for (const key of Object.keys(this.gradientBox.dataset)) delete this.gradientBox.dataset[key];
    const spoken: string[] = [];
    for (const [name, g] of Object.entries(result.grad)) {
      const n = scalarOf(g);
      const text = n === null ? JSON.stringify(g) : formatNumber(n);
      lines.push(h('div', { 'data-name': name }, `∂f/∂${name} = ${text}`));
      this.gradientBox.setAttribute(`data-${name}`, n === null ? JSON.stringify(g) : String(n));
      spoken.push(`derivative with respect to ${name} ${text}`);
    }
    fill(this.gradientBox, ...lines);
    this.announce(`f = ${valueText}; ${spoken.join('; ')}`);
    this.drawPlot(job, value, result.grad);
  }

  private drawPlot(job: Job, value: number | null, grad: Record<string, Value>): void {
    const curve = job.curve !== null && this.curve?.key === job.curve.key ? this.curve : null;
    if (job.curve === null || curve === null || value === null) {
      this.plot.setAttribute('hidden', '');
      return;
    }
    this.plot.removeAttribute('hidden');
    const { name, range } = job.curve;
    const x0 = job.at[name] as number;
    const slope = toNumber(scalarOf(grad[name]) ?? NaN);
    const yExtent = extent([...curve.points.map((p) => p[1]), value]) ?? [0, 1];
    const f = frame(WIDTH, HEIGHT, range, padded(yExtent, 0.08));
    const [ylo, yhi] = f.y.domain;
    // The tangent y = f(x0) + slope (x - x0), cut where it leaves the plot's y range.
    let [ta, tb] = range;
    if (slope !== 0 && Number.isFinite(slope)) {
      const xAt = (y: number): number => x0 + (y - value) / slope;
      const [ca, cb] = [xAt(ylo), xAt(yhi)].sort((a, b) => a - b);
      ta = Math.max(ta, ca);
      tb = Math.min(tb, cb);
    }
    const tangent = Number.isFinite(slope) && ta < tb ? linePath([ta, tb].map((x): [number, number] => [f.x(x), f.y(value + slope * (x - x0))])) : '';
    fill(
      this.plot,
      s('title', {}, `f(${name}) over [${range[0]}, ${range[1]}], tangent at ${name} = ${formatNumber(x0)} with slope ${formatNumber(slope)}`),
      axes(f, { x: name, y: 'f' }),
      s('path', { class: 'curve', d: linePath(curve.points.map(([x, y]) => [f.x(x), f.y(y)])) }),
      s('path', { class: 'tangent', d: tangent }),
      s('circle', { class: 'point', cx: f.x(x0), cy: f.y(value), r: 4.5 }),
    );
  }

  protected stop(): void {
    this.scheduler.abort();
  }
}

reflect(AdjointGrad, [{ name: 'inputs' }, { name: 'ranges' }, { name: 'wrt' }, { name: 'output' }, { name: 'theme' }, { name: 'readonly', boolean: true }, { name: 'loading' }, { name: 'label' }]);
