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
