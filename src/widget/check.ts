/**
 * <adjoint-check>: a box for the student's derivative of the program, graded by `/v1/check` at
 * random points of the given ranges (the seed fixes them): pass, or the points where it differs.
 */
import { AttributeError, parseNames, parseNumber, parseRanges } from './attributes.js';
import { request } from './api.js';
import { AdjointElement, reflect } from './base.js';
import { fill, h } from './dom.js';
import { formatNumber, scalarOf } from './plot.js';
import { LatestWins } from './schedule.js';
import type { CheckResponse, Value } from './wire.js';

interface Job {
  readonly program: string;
  readonly wrt: string;
  readonly answer: string;
  readonly ranges: Record<string, [number, number]>;
  readonly n: number;
  readonly seed: number;
}

function pointText(point: Record<string, Value>): string {
  return Object.entries(point)
    .map(([k, v]) => `${k} = ${scalarOf(v) === null ? JSON.stringify(v) : formatNumber(scalarOf(v)!, 4)}`)
    .join(', ');
}

export class AdjointCheck extends AdjointElement {
  protected readonly defaultProgram = 'sin(x^2)';
  protected readonly defaultLabel = 'Check your derivative';
  private question!: HTMLLabelElement;
  private answerInput!: HTMLInputElement;
  private submitButton!: HTMLButtonElement;
  private verdict!: HTMLDivElement;
  private readonly scheduler = new LatestWins<Job>((job, signal) => this.send(job, signal));

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'wrt', 'ranges', 'n', 'seed', 'answer'];
  }

  protected build(): void {
    const id = `${this.uid}-answer`;
    this.question = h('label', { for: id, part: 'question' });
    this.answerInput = h('input', { type: 'text', id, part: 'answer', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', placeholder: 'your derivative, e.g. 2*x*cos(x^2)' });
    this.submitButton = h('button', { type: 'button', part: 'submit', class: 'primary' }, 'Check');
    this.verdict = h('div', { part: 'verdict', class: 'verdict', role: 'status', hidden: true });
    this.submitButton.addEventListener('click', () => this.guard(() => this.submit()));
    this.answerInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.guard(() => this.submit());
      }
    });
    this.body.append(this.question, h('div', { class: 'row' }, this.answerInput, this.submitButton), this.verdict);
    this.answerInput.classList.add('grow');
  }

  private job(): Job {
    const ranges = parseRanges(this.getAttribute('ranges') ?? (this.hasAttribute('program') ? '{"x": [-2, 2]}' : '{"x": [-2, 2]}'));
    const names = Object.keys(ranges);
    if (names.length === 0) throw new AttributeError('ranges', 'ranges must give at least one input\'s range, as ranges=\'{"x": [-2, 2]}\'');
    const wrt = parseNames('wrt', this.getAttribute('wrt'), names)?.[0] ?? names[0];
    return {
      program: this.program,
      wrt,
      answer: this.answerInput.value.trim(),
      ranges,
      n: parseNumber('n', this.getAttribute('n'), 20, { min: 1, max: 1000, integer: true }),
      seed: parseNumber('seed', this.getAttribute('seed'), 1, { min: 0, integer: true }),
    };
  }

  protected validate(): void {
    this.checkCommon();
    this.job();
  }

  protected update(): void {
    this.checkCommon();
    const job = this.job();
    const given = this.getAttribute('answer');
    if (given !== null && this.root.activeElement !== this.answerInput) this.answerInput.value = given;
    this.question.textContent = `∂/∂${job.wrt} of ${job.program.replace(/\s*\n\s*/g, '; ')} =`;
    this.clearError();
    this.setStatus('idle');
    this.markReady();
  }

  private submit(): void {
    const job = this.job();
    if (job.answer === '') {
      this.verdict.hidden = true;
      this.answerInput.focus();
      this.announce('Type your derivative first.');
      this.errorBox.textContent = 'Type your derivative first.';
      this.errorBox.hidden = false;
      return;
    }
    this.setStatus('loading');
    this.scheduler.submit(job);
  }

  private async send(job: Job, signal: AbortSignal): Promise<void> {
    try {
      const body = { program: job.program, answer: { grad: { [job.wrt]: job.answer } }, wrt: [job.wrt], random: { n: job.n, ranges: job.ranges }, seed: job.seed };
      const result = await request<CheckResponse>(this.service, 'check', body, signal);
      if (signal.aborted) return;
      this.clearError();
      this.showVerdict(job, result);
      this.drawn(result);
    } catch (e) {
      if (!signal.aborted) this.fail(e, () => this.scheduler.submit(job));
    }
  }

  private showVerdict(job: Job, result: CheckResponse): void {
    this.verdict.hidden = false;
    this.verdict.dataset.verdict = result.pass ? 'pass' : 'fail';
    this.verdict.dataset.score = String(result.score);
    if (result.pass) {
      const text = `Correct: ${job.answer} agrees with ∂/∂${job.wrt} at all ${result.points} points.`;
      fill(this.verdict, text);
      this.announce(text);
      return;
    }
    const reason = result.failures.find((f) => f.reason !== undefined)?.reason;
    const head = reason !== undefined ? `Not accepted: ${reason}` : `Not quite: your answer differs at ${result.points - result.passed} of ${result.points} points.`;
    const items = reason !== undefined
      ? []
      : result.failures.map((f) => {
          const expected = scalarOf(f.expected);
          const got = scalarOf(f.got);
          return h(
            'li',
            { 'data-point': JSON.stringify(f.point), 'data-expected': String(expected), 'data-got': String(got) },
            `at ${pointText(f.point)}: expected ${expected === null ? '?' : formatNumber(expected, 5)}, yours ${got === null ? '?' : formatNumber(got, 5)}`,
          );
        });
    fill(this.verdict, head, items.length === 0 ? null : h('ul', { part: 'failures' }, ...items));
    this.announce(head);
  }

  protected stop(): void {
    this.scheduler.abort();
  }
}

reflect(AdjointCheck, [{ name: 'wrt' }, { name: 'ranges' }, { name: 'n' }, { name: 'seed' }, { name: 'answer' }, { name: 'theme' }, { name: 'readonly', boolean: true }, { name: 'loading' }, { name: 'label' }]);
