/**
 * At most one request in flight per element, the latest value winning (SPEC.md section 9): a
 * value submitted while a run is in flight replaces any value already waiting, and is run when
 * the current run settles. No queue ever builds up: a slider dragged through fifty positions
 * sends the first, then whichever is latest each time an answer comes back.
 */
export type Run<T> = (value: T, signal: AbortSignal) => Promise<void>;

export class LatestWins<T> {
  private running: { controller: AbortController; done: Promise<void> } | null = null;
  private pending: { value: T } | null = null;
  private readonly idleWaiters: (() => void)[] = [];
  /** Runs started, for tests and the bench. */
  started = 0;

  constructor(private readonly run: Run<T>) {}

  /** Whether a run is in flight. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Whether a value waits for the run in flight. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /**
   * Runs `value` now if nothing is in flight, else keeps it (dropping any value kept before) for
   * when the run in flight settles. With `interrupt`, the run in flight is aborted first (a
   * stream whose parameters changed: its remaining lines are of no use).
   */
  submit(value: T, options: { interrupt?: boolean } = {}): void {
    if (this.running === null) {
      this.start(value);
      return;
    }
    this.pending = { value };
    if (options.interrupt === true) this.running.controller.abort();
  }

  /** Aborts the run in flight and forgets the value waiting. */
  abort(): void {
    this.pending = null;
    this.running?.controller.abort();
  }

  /** Resolves once nothing is in flight and nothing waits. */
  idle(): Promise<void> {
    if (this.running === null && this.pending === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(value: T): void {
    const controller = new AbortController();
    this.started++;
    const running = { controller, done: Promise.resolve() };
    this.running = running;
    let run: Promise<void>;
    try {
      run = this.run(value, controller.signal);
    } catch (e) {
      run = Promise.reject(e);
    }
    // A run's failure is its own to report: the scheduler only sequences.
    running.done = run.catch(() => {}).then(() => this.settled());
  }

  private settled(): void {
    this.running = null;
    const next = this.pending;
    this.pending = null;
    if (next !== null) {
      this.start(next.value);
      return;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
