/**
 * A request's cancellation: a client that goes away, a WebSocket cancel, a batch's deadline.
 * What an AbortController does here, without an EventTarget, events and AbortSignal.any for
 * every request on the hot path.
 */
export class Cancellation {
  cancelled = false;
  private listeners: (() => void)[] = [];

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const listener of this.listeners.splice(0)) listener();
  }

  /** Calls `listener` once, on cancel (at once if cancelled already); returns what stops listening. */
  onCancel(listener: () => void): () => void {
    if (this.cancelled) {
      listener();
      return () => {};
    }
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** A cancellation that follows this one, and may also be cancelled on its own. */
  child(): Cancellation {
    const child = new Cancellation();
    const stop = this.onCancel(() => child.cancel());
    child.onCancel(stop);
    return child;
  }
}
