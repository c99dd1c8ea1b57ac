/**
 * <adjoint-sample>: the reparameterisation trick. Sliders for the distribution's parameters;
 * draws streamed from `/v1/sample` (NDJSON) into a histogram of the program's value; the
 * pathwise (reparameterised) and score-function estimates of the gradient of its expectation,
 * with their standard errors, side by side as n grows. The two estimates are two streams over
 * the same draws (the same seed), one after the other: one request in flight at a time.
 */
import { AttributeError, parseInputs, parseNumber, parseRanges, rangesFor, type Ranges } from './attributes.js';
import { request } from './api.js';
import { AdjointElement, reflect } from './base.js';
import { axes, frame } from './chart.js';
import { fill, h, s } from './dom.js';
import { formatNumber, scalarOf, tailedHistogram } from './plot.js';
import { LatestWins } from './schedule.js';
import type { SampleResponse, SamplesMessage, Value } from './wire.js';

const WIDTH = 560;
/** The share of draws on each side beyond the histogram's bins, in an end bin of its own. */
const TAIL_QUANTILE = 0.005;
const HEIGHT = 200;
const ESTIMATORS = [
  { key: 'pathwise', estimator: 'reparam', label: 'pathwise (reparameterised)' },
  { key: 'score', estimator: 'score', label: 'score function (REINFORCE)' },
] as const;

interface Job {
  readonly program: string;
  readonly at: Record<string, number | unknown[]>;
  readonly n: number;
  readonly seed: number;
  readonly bins: number;
}

export class AdjointSample extends AdjointElement {
  protected readonly defaultProgram = 'z = rsample(normal(mu, sigma))\nz^2';
  protected readonly defaultLabel = 'The reparameterisation trick';
  private controls!: HTMLDivElement;
  private histogramSvg!: SVGSVGElement;
  private estimates!: HTMLTableElement;
  private countBox!: HTMLSpanElement;
  private runButton!: HTMLButtonElement;
  private stopButton!: HTMLButtonElement;
  private signature = '';
  private values: Record<string, number | unknown[]> = {};
  private lastInputsAttribute: string | null = null;
  private draws: number[] = [];
  private readonly scheduler = new LatestWins<Job>((job, signal) => this.send(job, signal));

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'inputs', 'ranges', 'n', 'seed', 'bins'];
  }

  protected build(): void {
    this.controls = h('div', { class: 'controls', part: 'controls' });
    this.runButton = h('button', { type: 'button', part: 'run', class: 'primary' }, 'Draw samples');
    this.stopButton = h('button', { type: 'button', part: 'stop', disabled: true }, 'Stop');
    this.countBox = h('span', { part: 'count', class: 'legend', 'data-n': 0 }, '0 samples');
    this.runButton.addEventListener('click', () => this.guard(() => this.submit()));
    this.stopButton.addEventListener('click', () => {
      this.scheduler.abort();
      this.stopButton.disabled = true;
      this.setStatus('stopped');
    });
    this.histogramSvg = s('svg', { part: 'histogram', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': 'histogram of the draws' });
    this.estimates = h('table', { part: 'estimates' });
    this.body.append(
      this.controls,
      h('div', { class: 'row' }, this.runButton, this.stopButton, this.countBox),
      this.histogramSvg,
      h('div', { class: 'scroll' }, this.estimates),
    );
  }

  /** The attributes read, each wrong one thrown as an AttributeError. */
  private read(): { inputsText: string; inputs: Record<string, number | unknown[]>; ranges: Ranges } {
    this.checkCommon();
    const inputsText = this.getAttribute('inputs') ?? (this.hasAttribute('program') ? '{}' : '{"mu": 0.5, "sigma": 1.5}');
    const inputs = parseInputs(inputsText);
    const names = Object.keys(inputs);
    const given = parseRanges(this.getAttribute('ranges') ?? (this.hasAttribute('program') ? '{}' : '{"mu": [-2, 2], "sigma": [0.1, 3]}'));
    for (const name of Object.keys(given)) if (!names.includes(name)) throw new AttributeError('ranges', `ranges: "${name}" is not an input (the inputs are ${names.join(', ') || 'none'})`);
    parseNumber('n', this.getAttribute('n'), 5000, { min: 1, max: 100_000, integer: true });
    parseNumber('seed', this.getAttribute('seed'), 7, { min: 0, integer: true });
    parseNumber('bins', this.getAttribute('bins'), 40, { min: 1, max: 200, integer: true });
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
    this.buildControls(ranges);
    this.clearError();
    this.submit();
  }

  private buildControls(ranges: Ranges): void {
    const signature = JSON.stringify(ranges);
    if (signature === this.signature) return;
    this.signature = signature;
    fill(
      this.controls,
      ...Object.entries(ranges).map(([name, [lo, hi]]) => {
        const id = `${this.uid}-slider-${name}`;
        const value = this.values[name] as number;
        const slider = h('input', { type: 'range', id, part: `slider slider-${name}`, min: lo, max: hi, step: 'any', value });
        const number = h('input', { type: 'number', part: `number number-${name}`, min: lo, max: hi, step: 'any', value, 'aria-label': `${name}, exact value` });
        const moved = (v: number, other: HTMLInputElement): void => {
          this.values[name] = v;
          other.value = String(v);
          this.quietly(() => this.setAttribute('inputs', JSON.stringify(this.values)));
          this.lastInputsAttribute = this.getAttribute('inputs');
          this.guard(() => this.submit());
        };
        slider.addEventListener('input', () => moved(Number(slider.value), number));
        number.addEventListener('input', () => {
          if (number.value.trim() !== '' && Number.isFinite(Number(number.value))) moved(Number(number.value), slider);
        });
        return h('div', { class: 'row' }, h('label', { for: id, class: 'name' }, name), slider, number);
      }),
    );
  }

  private submit(): void {
    const job: Job = {
      program: this.program,
      at: { ...this.values },
      n: parseNumber('n', this.getAttribute('n'), 5000, { min: 1, max: 100_000, integer: true }),
      seed: parseNumber('seed', this.getAttribute('seed'), 7, { min: 0, integer: true }),
      bins: parseNumber('bins', this.getAttribute('bins'), 40, { min: 1, max: 200, integer: true }),
    };
    this.setStatus('loading');
    this.stopButton.disabled = false;
    // A stream for old parameters is of no use: stopped, and the new one started once it has.
    this.scheduler.submit(job, { interrupt: true });
  }

  private async send(job: Job, signal: AbortSignal): Promise<void> {
    const names = Object.keys(job.at).filter((k) => typeof job.at[k] === 'number');
    this.draws = [];
    this.drawEstimates(names, {});
    this.setCount(0);
    const rows: Partial<Record<'pathwise' | 'score', { n: number; mean: Record<string, Value>; stderr: Record<string, Value> }>> = {};
    const results: Partial<Record<'pathwise' | 'score', SampleResponse>> = {};
    try {
      for (const { key, estimator } of ESTIMATORS) {
        const pathwise = key === 'pathwise';
        const body = { program: job.program, at: job.at as Record<string, Value>, n: job.n, seed: job.seed, options: { estimator, samples: pathwise } };
        const result = await request<SampleResponse>(this.service, 'sample', body, signal, (message) => {
          const m = message as unknown as SamplesMessage;
          if (m.type !== 'samples') return;
          if (pathwise) {
            for (const sample of m.samples ?? []) this.draws.push(scalarOf(sample.value) ?? NaN);
            this.setCount(m.done);
            this.drawHistogram(job.bins);
          }
          rows[key] = { n: m.done, mean: m.mean.grad, stderr: m.stderr.grad };
          this.drawEstimates(names, rows);
        });
        if (signal.aborted) return;
        results[key] = result;
        rows[key] = { n: result.n, mean: result.mean.grad, stderr: result.stderr.grad };
        this.drawEstimates(names, rows);
        if (pathwise) {
          this.setCount(result.n);
          this.drawHistogram(job.bins);
        }
      }
      this.stopButton.disabled = true;
      this.clearError();
      const spoken = names.map((n) => `d/d${n}: pathwise ${this.estimateText(rows.pathwise, n)}, score ${this.estimateText(rows.score, n)}`);
      this.announce(`${job.n} samples. ${spoken.join('; ')}`);
      this.drawn({ pathwise: results.pathwise, score: results.score });
    } catch (e) {
      if (!signal.aborted) {
        this.stopButton.disabled = true;
        this.fail(e, () => this.scheduler.submit(job));
      }
    }
  }

  private estimateText(row: { mean: Record<string, Value>; stderr: Record<string, Value> } | undefined, name: string): string {
    if (row === undefined) return '…';
    const mean = scalarOf(row.mean[name]);
    const se = scalarOf(row.stderr[name]);
    return mean === null ? JSON.stringify(row.mean[name]) : `${formatNumber(mean, 4)} ± ${se === null ? '?' : formatNumber(se, 3)}`;
  }

  private setCount(n: number): void {
    this.countBox.dataset.n = String(n);
    this.countBox.textContent = `${n.toLocaleString('en')} sample${n === 1 ? '' : 's'}`;
  }

  private drawEstimates(names: string[], rows: Partial<Record<'pathwise' | 'score', { n: number; mean: Record<string, Value>; stderr: Record<string, Value> }>>): void {
    fill(
      this.estimates,
      h('caption', { class: 'sr-only' }, 'Monte Carlo estimates of the gradient of the expectation, with standard errors'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'estimator'), h('th', { scope: 'col' }, 'n'), ...names.map((n) => h('th', { scope: 'col' }, `∂E/∂${n} ± s.e.`)))),
      h(
        'tbody',
        {},
        ...ESTIMATORS.map(({ key, label }) => {
          const row = rows[key];
          return h(
            'tr',
            { 'data-estimator': key, ...(row === undefined ? {} : { 'data-n': row.n }) },
            h('th', { scope: 'row' }, label),
            h('td', {}, row === undefined ? '…' : row.n.toLocaleString('en')),
            ...names.map((n) => {
              const mean = row === undefined ? null : scalarOf(row.mean[n]);
              const se = row === undefined ? null : scalarOf(row.stderr[n]);
              return h('td', { 'data-param': n, ...(mean === null ? {} : { 'data-mean': String(mean) }), ...(se === null ? {} : { 'data-stderr': String(se) }) }, this.estimateText(row, n));
            }),
          );
        }),
      ),
    );
  }

  /**
   * The bins span the draws' central 99% (TAIL_QUANTILE each side): the few draws beyond are an
   * end bin on each side, apart from the axis and labelled, so every draw counted is in a bar.
   */
  private drawHistogram(bins: number): void {
    const hist = tailedHistogram(this.draws, bins, TAIL_QUANTILE);
    if (hist === null) {
      fill(this.histogramSvg);
      return;
    }
    const step = (hist.hi - hist.lo) / bins;
    const maxCount = Math.max(1, ...hist.counts, hist.below, hist.above);
    const f = frame(WIDTH, HEIGHT, [hist.below > 0 ? hist.lo - 2 * step : hist.lo, hist.above > 0 ? hist.hi + 2 * step : hist.hi], [0, maxCount * 1.08]);
    const bar = (lo: number, hi: number, x0: number, x1: number, count: number, tail?: 'below' | 'above'): SVGElement => {
      const y = f.y(count);
      const attributes = { x: x0 + 0.5, width: Math.max(0, x1 - x0 - 1), y, height: f.y(0) - y, 'data-count': count, 'data-lo': lo, 'data-hi': hi };
      return tail === undefined ? s('rect', { class: 'bar-rect', ...attributes }) : s('rect', { class: 'bar-rect tail', 'data-tail': tail, ...attributes }, s('title', {}, `${count} draws from ${formatNumber(lo)} to ${formatNumber(hi)}, beyond the axis`));
    };
    const tails: SVGElement[] = [];
    const notes: string[] = [];
    if (hist.below > 0) {
      tails.push(bar(hist.min, hist.lo, f.x(hist.lo - 1.75 * step), f.x(hist.lo - 0.5 * step), hist.below, 'below'));
      notes.push(`${hist.below} below ${formatNumber(hist.lo, 3)} (min ${formatNumber(hist.min, 3)})`);
    }
    if (hist.above > 0) {
      tails.push(bar(hist.hi, hist.max, f.x(hist.hi + 0.5 * step), f.x(hist.hi + 1.75 * step), hist.above, 'above'));
      notes.push(`${hist.above} above ${formatNumber(hist.hi, 3)} (max ${formatNumber(hist.max, 3)})`);
    }
    fill(
      this.histogramSvg,
      s('title', {}, `Histogram of ${this.draws.length} draws of the program's value, from ${formatNumber(hist.lo)} to ${formatNumber(hist.hi)}${notes.length === 0 ? '' : `; ${notes.join(', ')}`}`),
      axes(f, { x: 'value', y: 'count', xTicks: [hist.lo, hist.hi] }),
      ...hist.counts.map((count, k) => bar(hist.edges[k], hist.edges[k + 1], f.x(hist.edges[k]), f.x(hist.edges[k + 1]), count)),
      ...tails,
      ...(notes.length === 0 ? [] : [s('text', { class: 'note', 'data-part': 'tails', x: f.x.range[1], y: f.y.range[1] - 9, 'text-anchor': 'end' }, `end bins: ${notes.join('; ')}`)]),
    );
  }

  protected stop(): void {
    this.scheduler.abort();
  }
}

reflect(AdjointSample, [{ name: 'inputs' }, { name: 'ranges' }, { name: 'n' }, { name: 'seed' }, { name: 'bins' }, { name: 'theme' }, { name: 'readonly', boolean: true }, { name: 'loading' }, { name: 'label' }]);
