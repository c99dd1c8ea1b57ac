/**
 * <adjoint-trace>: the Wengert list of a program at a point, stepped through: forwards through
 * values and tangents (a dual number's two parts, along the seed direction chosen), or backwards
 * through adjoints. The current step is highlighted in the table and in the graph drawn beside
 * it; buttons and the keys ←, →, Home and End move it. Endpoint: `trace` (format "table").
 */
import { AttributeError, parseChoice, parseInputs } from './attributes.js';
import { request } from './api.js';
import { AdjointElement, reflect } from './base.js';
import { fill, h, s } from './dom.js';
import { formatNumber, scalarOf } from './plot.js';
import { LatestWins } from './schedule.js';
import type { TraceRef, TraceResponse, Value } from './wire.js';

const MODES = ['forwards', 'reverse'] as const;
type Mode = (typeof MODES)[number];
const GRAPH_SCALE = 1.5;
/** The most steps drawn as a graph (the table shows them all). */
const MAX_GRAPH_STEPS = 150;
const NODE_W = 118;
const NODE_H = 38;
const GAP_X = 46;
const GAP_Y = 14;

const OP_SYMBOLS: Readonly<Record<string, string>> = { add: '+', subtract: '−', multiply: '×', divide: '÷', pow: '^', unaryMinus: '−' };

interface Job {
  readonly program: string;
  readonly at: Record<string, number | unknown[]>;
  readonly tangents: Record<string, number | unknown[]>;
  readonly output: string | null;
}

function display(v: unknown): string {
  const n = scalarOf(v);
  if (n !== null) return formatNumber(n, 5);
  const text = JSON.stringify(v) ?? '';
  return text.length > 24 ? `${text.slice(0, 22)}…` : text;
}

function refText(a: TraceRef): string {
  return typeof a === 'string' ? a : display(a.const);
}

export class AdjointTrace extends AdjointElement {
  protected readonly defaultProgram = 'x*y + sin(x)';
  protected readonly defaultLabel = 'Evaluation trace (Wengert list)';
  private table!: HTMLTableElement;
  private tbody!: HTMLTableSectionElement;
  private graph!: SVGSVGElement;
  private inputsLine!: HTMLParagraphElement;
  private modeSelect!: HTMLSelectElement;
  private seedSelect!: HTMLSelectElement;
  private position!: HTMLSpanElement;
  private buttons!: Record<'first' | 'back' | 'forward' | 'last', HTMLButtonElement>;
  private trace: TraceResponse | null = null;
  private current = 0;
  /** A step asked for before the trace arrived. */
  private wanted: number | null = null;
  private traceKey = '';
  private lastMode: Mode = 'forwards';
  private readonly scheduler = new LatestWins<Job>((job, signal) => this.send(job, signal));

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'inputs', 'mode', 'seed', 'output', 'step'];
  }

  /** The index (in `/v1/trace`'s `steps`) of the highlighted step. */
  get step(): number {
    return this.current;
  }

  set step(value: number) {
    this.setAttribute('step', String(value));
    this.goTo(Number(value), false);
  }

  get mode(): Mode {
    return (MODES as readonly string[]).includes(this.getAttribute('mode') ?? '') ? (this.getAttribute('mode') as Mode) : 'forwards';
  }

  set mode(value: Mode) {
    this.setAttribute('mode', value);
  }

  override connectedCallback(): void {
    if (!this.hasAttribute('tabindex')) this.tabIndex = 0;
    super.connectedCallback();
  }

  protected build(): void {
    this.inputsLine = h('p', { class: 'legend', part: 'inputs' });
    this.modeSelect = h('select', { part: 'mode', id: `${this.uid}-mode` }, h('option', { value: 'forwards' }, 'forwards: values and tangents'), h('option', { value: 'reverse' }, 'reverse: adjoints'));
    this.seedSelect = h('select', { part: 'seed', id: `${this.uid}-seed` });
    this.modeSelect.addEventListener('change', () => this.setAttribute('mode', this.modeSelect.value));
    this.seedSelect.addEventListener('change', () => this.setAttribute('seed', this.seedSelect.value));
    const button = (part: 'first' | 'back' | 'forward' | 'last', text: string): HTMLButtonElement => {
      const b = h('button', { type: 'button', part }, text);
      b.addEventListener('click', () => this.move(part));
      return b;
    };
    this.buttons = {
      first: button('first', '« First'),
      back: button('back', '‹ Back'),
      forward: button('forward', 'Forward ›'),
      last: button('last', 'Last »'),
    };
    this.position = h('span', { part: 'position', class: 'legend' });
    this.tbody = h('tbody');
    this.table = h(
      'table',
      { part: 'table' },
      h('caption', { class: 'sr-only' }, 'The evaluation trace: one row per primitive step'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'step'), h('th', { scope: 'col', class: 'op' }, 'operation'), h('th', { scope: 'col' }, 'value'), h('th', { scope: 'col' }, 'tangent v̇'), h('th', { scope: 'col' }, 'adjoint v̄'))),
      this.tbody,
    );
    this.graph = s('svg', { part: 'graph', role: 'img', 'aria-label': 'the computational graph', viewBox: '0 0 10 10' });
    this.body.append(
      h('div', { class: 'row' }, h('label', { for: this.modeSelect.id }, 'sweep'), this.modeSelect, h('label', { for: this.seedSelect.id }, 'tangent seed'), this.seedSelect),
      this.inputsLine,
      h('div', { class: 'row', role: 'toolbar', 'aria-label': 'step through the trace' }, this.buttons.first, this.buttons.back, this.buttons.forward, this.buttons.last, this.position),
      h('div', { class: 'scroll' }, this.table),
      h('div', { class: 'scroll' }, this.graph),
      h('p', { class: 'legend' }, 'Keys: ← → step, Home and End jump (with the figure focused).'),
    );
    this.addEventListener('keydown', (e) => this.key(e));
  }

  private key(e: KeyboardEvent): void {
    const target = e.composedPath()[0];
    if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement || target instanceof HTMLSelectElement) return;
    const moves: Record<string, 'first' | 'back' | 'forward' | 'last'> = { ArrowRight: 'forward', ArrowLeft: 'back', Home: 'first', End: 'last' };
    const move = moves[e.key];
    if (move === undefined || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    this.move(move);
  }

  /** Moves along the sweep: forwards from the first step, reverse from the output back. */
  private move(move: 'first' | 'back' | 'forward' | 'last'): void {
    if (this.trace === null) return;
    const last = this.trace.steps.length - 1;
    const dir = this.mode === 'forwards' ? 1 : -1;
    const start = dir === 1 ? 0 : last;
    const end = dir === 1 ? last : 0;
    const next = { first: start, last: end, forward: this.current + dir, back: this.current - dir }[move];
    this.goTo(next, true);
  }

  private goTo(step: number, reflectIt: boolean): void {
    if (this.trace === null) return;
    const clamped = Math.max(0, Math.min(this.trace.steps.length - 1, Math.round(step)));
    this.current = clamped;
    if (reflectIt) this.quietly(() => this.setAttribute('step', String(clamped)));
    this.highlight();
  }

  /** The attributes read, each wrong one thrown as an AttributeError. */
  private read(): { mode: (typeof MODES)[number]; inputs: Record<string, number | unknown[]>; names: string[]; tangents: Record<string, number | unknown[]>; asked: number | null } {
    this.checkCommon();
    const mode = parseChoice('mode', this.getAttribute('mode'), MODES, 'forwards');
    const inputs = parseInputs(this.getAttribute('inputs') ?? (this.hasAttribute('program') ? '{}' : '{"x": 0.5, "y": 4.2}'));
    const names = Object.keys(inputs);
    const tangents = this.tangents(inputs, names);
    const stepAttr = this.getAttribute('step');
    const asked = stepAttr === null || stepAttr === '' ? null : Number(stepAttr);
    if (asked !== null && !Number.isFinite(asked)) throw new AttributeError('step', `step="${stepAttr}" must be a step's index, from 0`);
    return { mode, inputs, names, tangents, asked };
  }

  protected validate(): void {
    this.read();
  }

  protected update(): void {
    const { mode, inputs, names, tangents, asked } = this.read();
    this.modeSelect.value = mode;
    fill(this.seedSelect, ...names.map((n) => h('option', { value: n }, `∂/∂${n}`)));
    const seedName = this.getAttribute('seed');
    if (seedName !== null && names.includes(seedName)) this.seedSelect.value = seedName;
    const job: Job = { program: this.program, at: inputs, tangents, output: this.getAttribute('output') };
    const key = JSON.stringify(job);
    this.clearError();
    const modeChanged = mode !== this.lastMode;
    this.lastMode = mode;
    if (key === this.traceKey && this.trace !== null) {
      // Only the step or the mode changed: no request. A new sweep starts at its beginning.
      if (modeChanged) this.goTo(mode === 'forwards' ? 0 : this.trace.steps.length - 1, true);
      else if (asked !== null) this.goTo(asked, false);
      else this.highlight();
      return;
    }
    this.wanted = asked;
    this.traceKey = key;
    this.setStatus('loading');
    this.scheduler.submit(job);
  }

  /** The tangent direction: `seed="y"` (one input, one-hot), or a JSON object of tangents; default the first input. */
  private tangents(inputs: Record<string, number | unknown[]>, names: string[]): Record<string, number | unknown[]> {
    const seed = this.getAttribute('seed');
    if (seed !== null && seed.trim().startsWith('{')) return parseInputs(seed, 'seed');
    const name = seed === null || seed === '' ? names[0] : seed;
    if (name === undefined) return {};
    if (!names.includes(name)) throw new AttributeError('seed', `seed="${name.slice(0, 40)}" is not an input; use one of ${names.join(', ')} or a JSON object of tangents`);
    const zeros = (v: unknown): unknown => (Array.isArray(v) ? v.map(zeros) : 0);
    const ones = (v: unknown): unknown => (Array.isArray(v) ? v.map(ones) : 1);
    return Object.fromEntries(names.map((n) => [n, (n === name ? ones(inputs[n]) : zeros(inputs[n])) as number | unknown[]]));
  }

  private async send(job: Job, signal: AbortSignal): Promise<void> {
    try {
      const body = { program: job.program, at: job.at as Record<string, Value>, tangents: job.tangents as Record<string, Value>, ...(job.output === null ? {} : { output: job.output }) };
      const trace = await request<TraceResponse>(this.service, 'trace', body, signal);
      if (signal.aborted) return;
      this.trace = trace;
      this.clearError();
      this.renderTrace(trace);
      const first = this.mode === 'forwards' ? 0 : trace.steps.length - 1;
      this.goTo(this.wanted ?? first, this.wanted === null);
      this.wanted = null;
      this.drawn(trace);
    } catch (e) {
      if (!signal.aborted) this.fail(e, () => this.scheduler.submit(job));
    }
  }

  private renderTrace(trace: TraceResponse): void {
    this.inputsLine.textContent = `inputs: ${trace.inputs.map((i) => `${i.name} = ${display(i.value)} (${i.name}̇ = ${display(i.tangent)}, ${i.name}̄ = ${display(i.adjoint)})`).join('; ')}`;
    fill(
      this.tbody,
      ...trace.steps.map((step, i) => {
        const symbol = OP_SYMBOLS[step.op];
        const args = step.args.map(refText);
        const op = symbol !== undefined && args.length === 2 ? `${args[0]} ${symbol} ${args[1]}` : `${step.op}(${args.join(', ')})`;
        return h(
          'tr',
          { 'data-step': i, 'data-id': step.id },
          h('th', { scope: 'row' }, step.id),
          h('td', { class: 'op' }, op),
          h('td', { class: 'value' }, display(step.value)),
          h('td', { class: 'tangent' }, display(step.tangent)),
          h('td', { class: 'adjoint' }, display(step.adjoint)),
        );
      }),
    );
    this.drawGraph(trace);
  }

  private drawGraph(trace: TraceResponse): void {
    if (trace.steps.length > MAX_GRAPH_STEPS) {
      fill(this.graph, s('text', { x: 0, y: 14 }, `${trace.steps.length} steps: too many to draw (the table has them all)`));
      this.graph.setAttribute('viewBox', '0 0 400 20');
      return;
    }
    // Layers: inputs first, each step one past its deepest argument (as a lecture draws it, left to right).
    const layer = new Map<string, number>();
    for (const input of trace.inputs) layer.set(input.name, 0);
    for (const step of trace.steps) layer.set(step.id, 1 + Math.max(0, ...step.args.map((a) => (typeof a === 'string' ? (layer.get(a) ?? 0) : 0))));
    const rows = new Map<number, number>();
    const place = new Map<string, [number, number]>();
    for (const [id, l] of layer) {
      const row = rows.get(l) ?? 0;
      rows.set(l, row + 1);
      place.set(id, [l * (NODE_W + GAP_X), row * (NODE_H + GAP_Y)]);
    }
    const width = Math.max(...[...layer.values()].map((l) => (l + 1) * (NODE_W + GAP_X))) - GAP_X + 4;
    const height = Math.max(...rows.values()) * (NODE_H + GAP_Y) - GAP_Y + 4;
    const edges: SVGElement[] = [];
    for (const step of trace.steps) {
      const [tx, ty] = place.get(step.id)!;
      for (const a of step.args) {
        if (typeof a !== 'string' || !place.has(a)) continue;
        const [fx, fy] = place.get(a)!;
        const [x1, y1, x2, y2] = [fx + NODE_W + 2, fy + NODE_H / 2 + 2, tx + 2, ty + NODE_H / 2 + 2];
        const mid = (x1 + x2) / 2;
        edges.push(s('path', { class: 'edge', 'data-to': step.id, 'data-from': a, d: `M${x1},${y1}C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
      }
    }
    const node = (id: string, label: string, valueText: string, kind: string, index: number | null): SVGGElement => {
      const [x, y] = place.get(id)!;
      return s(
        'g',
        { class: `node ${kind}`, 'data-id': id, ...(index === null ? {} : { 'data-step': index }), transform: `translate(${x + 2},${y + 2})` },
        s('rect', { width: NODE_W, height: NODE_H, rx: 5 }),
        s('text', { x: 7, y: 15 }, label),
        s('text', { x: 7, y: 30 }, valueText),
      );
    };
    fill(
      this.graph,
      s('title', {}, 'The computational graph of the trace'),
      ...edges,
      ...trace.inputs.map((i) => node(i.name, `${i.name} (input)`, `= ${display(i.value)}`, 'input', null)),
      ...trace.steps.map((step, i) => node(step.id, `${step.id} ${OP_SYMBOLS[step.op] ?? step.op}`, `= ${display(step.value)}`, 'step', i)),
    );
    this.graph.setAttribute('viewBox', `0 0 ${width} ${height}`);
    // Drawn half as large again as its units (11 px text reads as 16 px), and no wider than the element.
    this.graph.setAttribute('width', String(Math.round(Math.min(width * GRAPH_SCALE, 1200))));
  }

  /** The current row and node, and what each sweep has computed so far. */
  private highlight(): void {
    const trace = this.trace;
    if (trace === null) return;
    const i = this.current;
    const forwards = this.mode === 'forwards';
    for (const tr of this.tbody.querySelectorAll('tr')) {
      const k = Number(tr.dataset.step);
      const isCurrent = k === i;
      tr.classList.toggle('current', isCurrent);
      tr.setAttribute('part', isCurrent ? 'row current' : 'row');
      if (isCurrent) tr.setAttribute('aria-current', 'step');
      else tr.removeAttribute('aria-current');
      // Forwards, tangents appear as the sweep reaches them; in reverse, adjoints from the output back.
      const tangent = tr.querySelector('td.tangent')!;
      const adjoint = tr.querySelector('td.adjoint')!;
      const step = trace.steps[k];
      const tangentShown = !forwards || k <= i;
      const adjointShown = !forwards && k >= i;
      tangent.textContent = tangentShown ? display(step.tangent) : '·';
      tangent.classList.toggle('pending', !tangentShown);
      adjoint.textContent = adjointShown ? display(step.adjoint) : '·';
      adjoint.classList.toggle('pending', !adjointShown);
    }
    const currentId = trace.steps[i]?.id;
    for (const g of this.graph.querySelectorAll<SVGGElement>('g.node')) {
      const k = g.dataset.step === undefined ? null : Number(g.dataset.step);
      g.classList.toggle('current', g.dataset.id === currentId);
      g.classList.toggle('done', k !== null && (forwards ? k < i : k > i));
      const valueText = g.querySelectorAll('text')[1];
      if (k !== null && valueText !== undefined) {
        const step = trace.steps[k];
        valueText.textContent = forwards ? (k <= i ? `v̇ = ${display(step.tangent)}` : `= ${display(step.value)}`) : k >= i ? `v̄ = ${display(step.adjoint)}` : `= ${display(step.value)}`;
      }
    }
    for (const edge of this.graph.querySelectorAll<SVGPathElement>('path.edge')) edge.classList.toggle('current', edge.dataset.to === currentId);
    this.graph.setAttribute('aria-label', `the computational graph; current step ${currentId ?? 'none'}`);
    const n = trace.steps.length;
    const order = forwards ? i + 1 : n - i;
    this.position.textContent = `step ${order} of ${n} (${forwards ? 'forward' : 'reverse'} sweep)`;
    this.buttons.first.disabled = this.buttons.back.disabled = order <= 1;
    this.buttons.last.disabled = this.buttons.forward.disabled = order >= n;
    const step = trace.steps[i];
    if (step !== undefined) {
      const op = this.tbody.querySelector(`tr[data-step="${i}"] td.op`)?.textContent ?? step.op;
      this.announce(
        forwards
          ? `Step ${step.id} = ${op}: value ${display(step.value)}, tangent ${display(step.tangent)}`
          : `Step ${step.id} = ${op}: adjoint ${display(step.adjoint)}`,
      );
    }
  }

  protected stop(): void {
    this.scheduler.abort();
  }
}

reflect(AdjointTrace, [{ name: 'inputs' }, { name: 'seed' }, { name: 'output' }, { name: 'theme' }, { name: 'readonly', boolean: true }, { name: 'loading' }, { name: 'label' }]);
