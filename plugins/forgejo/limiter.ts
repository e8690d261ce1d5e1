/**
 * Caps requests in flight and, optionally, their start rate. Waiting callers leave the
 * queue as soon as their signal aborts, so a stopped run sends nothing more.
 */
export class RequestLimiter {
  private inFlight = 0;
  private readonly waiting: Array<{ start: () => void; fail: (error: unknown) => void }> = [];
  private nextStartAt = 0;
  private readonly intervalMs: number;

  constructor(
    private readonly concurrency: number,
    ratePerSecond?: number,
  ) {
    this.intervalMs = ratePerSecond && ratePerSecond > 0 ? 1000 / ratePerSecond : 0;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      await this.pace(signal);
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.inFlight++;
          resolve();
        },
        fail: reject,
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.start();
  }

  private async pace(signal?: AbortSignal): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = Date.now();
    const startAt = Math.max(now, this.nextStartAt);
    this.nextStartAt = startAt + this.intervalMs;
    if (startAt > now) await sleep(startAt - now, signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
