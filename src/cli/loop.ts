import type { RunStatus } from '../report/run-status';

/** First wait after a failed run; it doubles per failure, up to the interval. */
export const FAILURE_BACKOFF_MS = 1000;

export interface LoopOptions {
  intervalMs: number;
  /** Each wait is lengthened by a random share of this, so replicas spread out. */
  jitterMs: number;
  /** One run; reports failures as a status, never throws. */
  runOnce(signal: AbortSignal): Promise<RunStatus>;
  onStatus(status: RunStatus): void | Promise<void>;
  /** Aborted by SIGTERM/SIGINT: the run in hand finishes its batch, then the loop ends. */
  signal: AbortSignal;
  random?: () => number;
}

/**
 * Runs forever, one run at a time: after a finished run it waits the interval, after a
 * failed one (store or Forgejo unreachable) it retries sooner with backoff, never exits.
 */
export async function runLoop(options: LoopOptions): Promise<void> {
  const random = options.random ?? Math.random;
  let failures = 0;
  while (!options.signal.aborted) {
    const status = await options.runOnce(options.signal);
    await options.onStatus(status);
    if (options.signal.aborted) break;
    failures = status.completed ? 0 : failures + 1;
    const base = failures === 0 ? options.intervalMs : Math.min(options.intervalMs, FAILURE_BACKOFF_MS * 2 ** (failures - 1));
    await pause(base + random() * options.jitterMs, options.signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
