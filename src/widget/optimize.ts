/**
 * <adjoint-optimize>: an optimiser chosen and run (by the service, or in the browser: api.ts's
 * `request`), the loss curve drawn as the stream of `/v1/optimize` brings its progress; stop
 * closes the stream, and the service cancels the work (locally, the worker is terminated). With two scalar parameters, the path over the loss's contours: the grid of
 * losses by `/v1/batch` of `eval`s (once per program and range), and the path by one batch of
 * the same run stopped at evenly spaced steps (each item's `params`: the exact trajectory, for
 * every optimiser, since each run starts from the same point). One request in flight at a time.
 */
import { AttributeError, parseChoice, parseInputs, parseNumber, parseRanges, type Ranges } from './attributes.js';
import { request } from './api.js';
import { AdjointElement, reflect } from './base.js';
import { axes, frame } from './chart.js';
import { fill, h, s } from './dom.js';
import { irisRows, normals, standardised } from './iris.js';
import { contourLevels, contourSegments, extent, formatNumber, linePath, linspace, padded, scalarOf, segmentsPath, toNumber } from './plot.js';
import { LatestWins } from './schedule.js';
import type { BatchResponse, EvalResponse, OptimizeResponse, OptimizerName, ProgressMessage, Value } from './wire.js';

const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop', 'adagrad'];
const PRESETS = ['rosenbrock', 'iris'] as const;
type Preset = (typeof PRESETS)[number];
const WIDTH = 560;
const CURVE_HEIGHT = 200;
/** The contour plot: the curve's width, so the plane is not squeezed into half the element. */
const CONTOUR_HEIGHT = 360;
const GRID = 40;
const MAX_BATCH = 100;
const PATH_POINTS = 50;

const ROSENBROCK = '(1 - x)^2 + 100 * (y - x^2)^2';
const IRIS_LOSS = 'H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)';
const HIDDEN = 12;

interface PresetSpec {
  readonly program: string;
  readonly params: () => Record<string, Value>;
  readonly data: () => Record<string, Value>;
  readonly ranges: Ranges;
  readonly steps: number;
  readonly lr: Readonly<Record<OptimizerName, number>>;
  readonly optimizer: OptimizerName;
}

const matrix = (rows: number, cols: number, seed: number, scale: number): number[][] => {
  const z = normals(rows * cols, seed);
  return Array.from({ length: rows }, (_, i) => z.slice(i * cols, (i + 1) * cols).map((v) => v * scale));
};

const PRESET_SPECS: Readonly<Record<Preset, PresetSpec>> = {
  rosenbrock: {
    program: ROSENBROCK,
    params: () => ({ x: -1.5, y: 2 }),
    data: () => ({}),
    ranges: { x: [-2, 2], y: [-1, 3] },
    steps: 1000,
    lr: { sgd: 0.001, momentum: 0.001, nesterov: 0.001, adam: 0.1, rmsprop: 0.002, adagrad: 1 },
    optimizer: 'adam',
  },
  iris: {
    program: IRIS_LOSS,
    params: () => ({ W1: matrix(4, HIDDEN, 3, 0.5), b1: new Array<number>(HIDDEN).fill(0), W2: matrix(HIDDEN, 3, 4, 0.5), b2: [0, 0, 0] }),
    data: () => {
      const { features, labels } = irisRows();
      return { X: standardised(features), y: labels };
    },
    ranges: {},
    steps: 300,
    lr: { sgd: 0.1, momentum: 0.05, nesterov: 0.05, adam: 0.01, rmsprop: 0.005, adagrad: 0.1 },
    optimizer: 'adam',
  },
};

interface Job {
  readonly program: string;
  readonly params: Record<string, Value>;
  readonly data: Record<string, Value>;
  readonly optimizer: { name: OptimizerName; lr: number };
  readonly steps: number;
  readonly every: number;
  /** The two scalar parameters drawn over the contours, with their ranges, or null. */
  readonly plane: { names: [string, string]; ranges: [[number, number], [number, number]]; key: string } | null;
}

export class AdjointOptimize extends AdjointElement {
  protected defaultProgram = ROSENBROCK;
  protected readonly defaultLabel = 'Optimisation';
  private optimizerSelect!: HTMLSelectElement;
  private lrInput!: HTMLInputElement;
  private runButton!: HTMLButtonElement;
  private stopButton!: HTMLButtonElement;
  private curveSvg!: SVGSVGElement;
  private contourSvg!: SVGSVGElement;
  private lossBox!: HTMLSpanElement;
  private stepBox!: HTMLSpanElement;
  private history: [number, number][] = [];
  private grid: { key: string; xs: number[]; ys: number[]; z: number[][] } | null = null;
  private path: [number, number][] = [];
  private readonly scheduler = new LatestWins<Job>((job, signal) => this.send(job, signal));

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'preset', 'params', 'data', 'ranges', 'optimizer', 'lr', 'steps', 'every'];
  }

  private preset(): PresetSpec {
    return PRESET_SPECS[parseChoice('preset', this.getAttribute('preset'), PRESETS, 'rosenbrock')];
  }

  override get program(): string {
    const preset = PRESET_SPECS[(PRESETS as readonly string[]).includes(this.getAttribute('preset') ?? '') ? (this.getAttribute('preset') as Preset) : 'rosenbrock'];
    return this.getAttribute('program') ?? preset.program;
  }

  override set program(value: string) {
    this.setAttribute('program', String(value));
  }

  protected build(): void {
    const selectId = `${this.uid}-optimizer`;
    const lrId = `${this.uid}-lr`;
    this.optimizerSelect = h('select', { id: selectId, part: 'optimizer' }, ...OPTIMIZERS.map((o) => h('option', { value: o }, o)));
    this.lrInput = h('input', { type: 'number', id: lrId, part: 'lr', min: 0, step: 'any' });
    this.runButton = h('button', { type: 'button', part: 'run', class: 'primary' }, 'Run');
    this.stopButton = h('button', { type: 'button', part: 'stop', disabled: true }, 'Stop');
    this.optimizerSelect.addEventListener('change', () => {
      // A new optimiser starts from its own default learning rate.
      this.quietly(() => this.removeAttribute('lr'));
      this.setAttribute('optimizer', this.optimizerSelect.value);
    });
    this.lrInput.addEventListener('change', () => {
      if (Number(this.lrInput.value) > 0) this.setAttribute('lr', this.lrInput.value);
    });
    this.runButton.addEventListener('click', () => this.guard(() => this.submit()));
    this.stopButton.addEventListener('click', () => {
      this.scheduler.abort();
      this.stopButton.disabled = true;
      this.setStatus('stopped');
    });
    this.lossBox = h('span', { part: 'loss' }, 'loss —');
    this.stepBox = h('span', { part: 'step', 'data-step': 0 }, 'step 0');
    this.curveSvg = s('svg', { part: 'curve', viewBox: `0 0 ${WIDTH} ${CURVE_HEIGHT}`, role: 'img', 'aria-label': 'the loss by step' });
    this.contourSvg = s('svg', { part: 'contours', viewBox: `0 0 ${WIDTH} ${CONTOUR_HEIGHT}`, role: 'img', 'aria-label': "the optimiser's path over the loss's contours", hidden: true });
    this.body.append(
      h('div', { class: 'row' }, h('label', { for: selectId }, 'optimiser'), this.optimizerSelect, h('label', { for: lrId }, 'learning rate'), this.lrInput, this.runButton, this.stopButton),
      h('div', { class: 'row readings' }, this.stepBox, this.lossBox),
      this.curveSvg,
      this.contourSvg,
    );
  }

  private job(): Job {
    const preset = this.preset();
    const paramsAttr = this.getAttribute('params');
    const params = paramsAttr === null ? preset.params() : (parseInputs(paramsAttr, 'params') as Record<string, Value>);
    const dataAttr = this.getAttribute('data');
    const data = dataAttr === null ? (this.hasAttribute('program') ? {} : preset.data()) : (parseInputs(dataAttr, 'data') as Record<string, Value>);
    const name = parseChoice('optimizer', this.getAttribute('optimizer'), OPTIMIZERS, preset.optimizer);
    const lr = parseNumber('lr', this.getAttribute('lr'), preset.lr[name], { min: Number.MIN_VALUE });
    const steps = parseNumber('steps', this.getAttribute('steps'), preset.steps, { min: 1, max: 1_000_000, integer: true });
    const every = parseNumber('every', this.getAttribute('every'), Math.max(1, Math.ceil(steps / 200)), { min: 1, integer: true });
    const rangesAttr = this.getAttribute('ranges');
    const ranges = rangesAttr === null ? (this.hasAttribute('program') || paramsAttr !== null ? {} : preset.ranges) : parseRanges(rangesAttr);
    const scalars = Object.entries(params).filter(([, v]) => typeof v === 'number') as [string, number][];
    for (const n of Object.keys(ranges)) if (!(n in params)) throw new AttributeError('ranges', `ranges: "${n}" is not a parameter (the parameters are ${Object.keys(params).join(', ')})`);
    let plane: Job['plane'] = null;
    if (scalars.length === 2 && Object.keys(params).length === 2) {
      const [[a, va], [b, vb]] = scalars;
      const around = (v: number): [number, number] => [v - 2, v + 2];
      const planeRanges: [[number, number], [number, number]] = [ranges[a] ?? around(va), ranges[b] ?? around(vb)];
      plane = { names: [a, b], ranges: planeRanges, key: JSON.stringify([this.program, data, planeRanges]) };
    }
    return { program: this.program, params, data, optimizer: { name, lr }, steps, every, plane };
  }

  protected validate(): void {
    this.checkCommon();
    this.job();
  }

  protected update(): void {
    this.checkCommon();
    const job = this.job();
    this.optimizerSelect.value = job.optimizer.name;
    this.lrInput.value = String(job.optimizer.lr);
    this.clearError();
    this.submit(job);
  }

  private submit(job: Job = this.job()): void {
    this.setStatus('loading');
    this.stopButton.disabled = false;
    this.scheduler.submit(job, { interrupt: true });
  }

  private async send(job: Job, signal: AbortSignal): Promise<void> {
    this.history = [];
    this.path = [];
    this.drawCurve(job);
    if (job.plane === null) this.contourSvg.setAttribute('hidden', '');
    else this.drawContours(job);
    try {
      const body = {
        program: job.program,
        ...(Object.keys(job.data).length === 0 ? {} : { at: job.data }),
        params: job.params,
        optimizer: job.optimizer,
        steps: job.steps,
        every: job.every,
      };
      const result = await request<OptimizeResponse>(this.service, 'optimize', body, signal, (message) => {
        const m = message as unknown as ProgressMessage;
        if (m.type !== 'progress') return;
        this.history.push([m.step, toNumber(m.loss)]);
        this.showLoss(m.step, toNumber(m.loss));
        this.drawCurve(job);
      });
      if (signal.aborted) return;
      // The final loss, after the last update, ends the curve.
      this.history = result.history.map((e) => [e.step, toNumber(e.loss)]);
      const end = result.stopped?.step ?? job.steps;
      if (this.history.length === 0 || this.history[this.history.length - 1][0] !== end) this.history.push([end, toNumber(result.loss)]);
      this.showLoss(end, toNumber(result.loss));
      this.drawCurve(job);
      if (job.plane !== null) {
        await this.computeGrid(job, signal);
        await this.computePath(job, signal);
        if (signal.aborted) return;
      }
      this.stopButton.disabled = true;
      this.clearError();
      if (result.stopped !== undefined) this.fail(new AttributeError('lr', `The run stopped: ${result.stopped.reason}`));
      this.announce(`${job.optimizer.name}, learning rate ${job.optimizer.lr}: loss ${formatNumber(toNumber(result.loss))} after ${end} steps`);
      this.drawn(result);
    } catch (e) {
      if (!signal.aborted) {
        this.stopButton.disabled = true;
        this.fail(e, () => this.scheduler.submit(job));
      }
    }
  }

  private showLoss(step: number, loss: number): void {
    this.stepBox.dataset.step = String(step);
    this.stepBox.textContent = `step ${step}`;
    this.lossBox.dataset.value = String(loss);
    this.lossBox.textContent = `loss ${formatNumber(loss)}`;
  }

  private drawCurve(job: Job): void {
    const finite = this.history.filter(([, l]) => Number.isFinite(l));
    const yExtent = extent(finite.map(([, l]) => l)) ?? [0, 1];
    const f = frame(WIDTH, CURVE_HEIGHT, [0, Math.max(1, job.steps)], padded([Math.min(0, yExtent[0]), yExtent[1]], 0.04));
    fill(
      this.curveSvg,
      s('title', {}, `The loss over ${job.steps} steps of ${job.optimizer.name}`),
      axes(f, { x: 'step', y: 'loss' }),
      s('path', { class: 'curve', d: linePath(this.history.map(([st, l]) => [f.x(st), f.y(l)])), 'data-points': this.history.length }),
    );
  }

  /** The loss over a GRID × GRID grid of the plane, by batches of evals (MAX_BATCH each, one after another). */
  private async computeGrid(job: Job, signal: AbortSignal): Promise<void> {
    const plane = job.plane!;
    if (this.grid?.key === plane.key) return;
    const xs = linspace(...plane.ranges[0], GRID);
    const ys = linspace(...plane.ranges[1], GRID);
    const points = ys.flatMap((y) => xs.map((x) => ({ [plane.names[0]]: x, [plane.names[1]]: y })));
    const values: number[] = [];
    for (let from = 0; from < points.length; from += MAX_BATCH) {
      const requests = points.slice(from, from + MAX_BATCH).map((at) => ({ endpoint: 'eval', program: job.program, at: { ...job.data, ...at } }));
      const { results } = await request<BatchResponse<EvalResponse>>(this.service, 'batch', { requests }, signal);
      for (const r of results) values.push('error' in r ? NaN : (scalarOf(r.value) ?? NaN));
    }
    this.grid = { key: plane.key, xs, ys, z: ys.map((_, j) => values.slice(j * GRID, (j + 1) * GRID)) };
    this.drawContours(job);
  }

  /** The path: the run stopped at PATH_POINTS evenly spaced steps, in one batch, drawn as its items arrive. */
  private async computePath(job: Job, signal: AbortSignal): Promise<void> {
    const plane = job.plane!;
    const count = Math.min(PATH_POINTS, job.steps);
    const stops = [...new Set(Array.from({ length: count + 1 }, (_, k) => Math.round((k * job.steps) / count)))];
    const requests = stops.map((steps) => ({
      endpoint: 'optimize',
      program: job.program,
      ...(Object.keys(job.data).length === 0 ? {} : { at: job.data }),
      params: job.params,
      optimizer: job.optimizer,
      steps,
      every: Math.max(1, steps),
    }));
    const points: ([number, number] | undefined)[] = new Array(stops.length);
    await request<BatchResponse<OptimizeResponse>>(this.service, 'batch', { requests }, signal, (message) => {
      const m = message as { type: string; index?: number; params?: Record<string, Value> };
      if (m.type !== 'item' || m.index === undefined || m.params === undefined) return;
      points[m.index] = [toNumber(m.params[plane.names[0]]), toNumber(m.params[plane.names[1]])];
      // The path as far as its points have come in order.
      const ready: [number, number][] = [];
      for (const p of points) {
        if (p === undefined) break;
        ready.push(p);
      }
      this.path = ready;
      this.drawContours(job);
    });
  }

  private drawContours(job: Job): void {
    const plane = job.plane!;
    this.contourSvg.removeAttribute('hidden');
    const [a, b] = plane.names;
    const f = frame(WIDTH, CONTOUR_HEIGHT, plane.ranges[0], plane.ranges[1]);
    const children: SVGElement[] = [s('title', {}, `The loss over ${a} and ${b}, with the path of ${job.optimizer.name}`), axes(f, { x: a, y: b })];
    if (this.grid?.key === plane.key) {
      const { xs, ys, z } = this.grid;
      const levels = contourLevels(z.flat(), 14);
      for (const level of levels) children.push(s('path', { class: 'contour', 'data-level': level, d: segmentsPath(contourSegments(z, xs, ys, level), f.x, f.y) }));
    }
    if (this.path.length > 0) {
      const pts = this.path.map(([x, y]): [number, number] => [f.x(x), f.y(y)]);
      children.push(s('path', { class: 'path', d: linePath(pts), 'data-points': pts.length }));
      const [sx, sy] = pts[0];
      const [ex, ey] = pts[pts.length - 1];
      children.push(s('circle', { class: 'start', cx: sx, cy: sy, r: 4 }), s('circle', { class: 'end', cx: ex, cy: ey, r: 4.5 }));
    }
    fill(this.contourSvg, ...children);
  }

  protected stop(): void {
    this.scheduler.abort();
  }
}

reflect(AdjointOptimize, [
  { name: 'preset' },
  { name: 'params' },
  { name: 'data' },
  { name: 'ranges' },
  { name: 'optimizer' },
  { name: 'lr' },
  { name: 'steps' },
  { name: 'every' },
  { name: 'theme' },
  { name: 'readonly', boolean: true },
  { name: 'loading' },
  { name: 'label' },
]);
