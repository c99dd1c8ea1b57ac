/**
 * Rate limits: a fixed window per client, counted in one Map for every path a request can take
 * (an HTTP request, a WebSocket message), so that no path has a quota of its own. The Map is
 * bounded: past `maxClients`, windows that have ended go first, then the oldest.
 */
import { isIPv6 } from 'node:net';

/** What counting one request against a client's window gave. */
export interface Verdict {
  readonly allowed: boolean;
  readonly limit: number;
  /** Requests left in the window after this one. */
  readonly remaining: number;
  /** Whole seconds until the window ends and the client has its full quota again (at least 1). */
  readonly resetSeconds: number;
}

interface Window {
  count: number;
  readonly endsAt: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    private readonly maxClients = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `client`; refused once the window's `limit` is spent. */
  take(client: string): Verdict {
    const window = this.current(client, true);
    if (window.count < this.limit) window.count++;
    else return this.verdict(window, false);
    return this.verdict(window, true);
  }

  /** Whether `client` has spent its window, without counting a request. */
  exhausted(client: string): Verdict | null {
    const window = this.current(client, false);
    return window !== null && window.count >= this.limit ? this.verdict(window, false) : null;
  }

  /** Clients with a window open (for tests: the Map stays bounded). */
  get size(): number {
    return this.windows.size;
  }

  private current(client: string, open: true): Window;
  private current(client: string, open: false): Window | null;
  private current(client: string, open: boolean): Window | null {
    const now = this.now();
    const window = this.windows.get(client);
    if (window !== undefined && window.endsAt > now) return window;
    if (window !== undefined) this.windows.delete(client);
    if (!open) return null;
    this.evict(now);
    // Inserted last, so the Map stays in the order windows end: the oldest first.
    const fresh = { count: 0, endsAt: now + this.windowMs };
    this.windows.set(client, fresh);
    return fresh;
  }

  private evict(now: number): void {
    if (this.windows.size < this.maxClients) return;
    for (const [client, window] of this.windows) {
      if (window.endsAt > now && this.windows.size < this.maxClients) break;
      this.windows.delete(client);
    }
  }

  private verdict(window: Window, allowed: boolean): Verdict {
    const resetSeconds = Math.max(1, Math.ceil((window.endsAt - this.now()) / 1000));
    return { allowed, limit: this.limit, remaining: Math.max(0, this.limit - window.count), resetSeconds };
  }
}

/**
 * The client a request's address stands for: an IPv4 address, or an IPv6 address's /64 network
 * (one subscriber's share: an attacker with a /64 must not get 2^64 quotas).
 */
export function addressClient(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return `ip:${mapped[1]}`;
  if (!isIPv6(address)) return `ip:${address}`;
  const [head, tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `ip:${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
