import { setTimeout as wait } from 'node:timers/promises';
import type { RunStatus } from '../report/run-status';
import { LONGEST_WAIT_MS } from './duration';
import { EXIT } from '../report/exit-codes';

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
 * Whether the next run comes after a backoff rather than the interval: a run that failed,
 * and one the breaker stopped (Forgejo unreachable, every check failing alike), which
 * completed but fatally, as one that could not reach the store.
 */
export function retriedSooner(status: RunStatus): boolean {
  return !status.completed || status.exitCode === EXIT.fatal;
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
    failures = retriedSooner(status) ? failures + 1 : 0;
    const base = failures === 0 ? options.intervalMs : Math.min(options.intervalMs, FAILURE_BACKOFF_MS * 2 ** (failures - 1));
    await pause(base + random() * options.jitterMs, options.signal);
  }
}

/**
 * Waits `ms`, in steps a timer can hold (an interval plus its jitter may be longer); an
 * abort ends the wait early, and quietly: the loop checks the signal.
 */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  for (let left = ms; left > 0 && !signal.aborted; left -= LONGEST_WAIT_MS) {
    await wait(Math.min(left, LONGEST_WAIT_MS), undefined, { signal }).catch(() => undefined);
  }
}
