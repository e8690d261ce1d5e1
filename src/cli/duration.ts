import { parseDuration } from '../core/duration';
import { UsageError } from '../report/errors';

/** A duration flag's value in ms (`90s`, `1h30m`); a bad one is a usage error, exit 1. */
export function duration(text: string, flag: string): number {
  try {
    return parseDuration(text, flag);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/**
 * The longest wait a timer is given: Node's timers hold at most 2^31 - 1 ms (about 24.8
 * days), and a longer one fires after 1 ms, which would turn the sidecar into a tight loop.
 */
export const LONGEST_WAIT_MS = 24 * 86_400_000;

/** A duration the sidecar waits on (--interval, --jitter, --webhook-window): at most 24 days. */
export function waitDuration(text: string, flag: string): number {
  const ms = duration(text, flag);
  if (ms > LONGEST_WAIT_MS) throw new UsageError(`${flag} ${text} is too long: use 24d or less`);
  return ms;
}
