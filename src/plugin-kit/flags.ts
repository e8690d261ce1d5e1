import * as Flags from '@oclif/core/flags';
import { UsageError } from '../report/errors';

/**
 * Flag kinds a plugin's flags use (oclif `Flags.custom`). Not exported by the kit's index
 * or the package's main module: those load none of the CLI.
 */

/** Seconds to wait for one call: above 0, at most an hour (a timer cannot hold much longer than 24 days anyway). */
export const timeoutSeconds = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input);
    if (!Number.isFinite(value) || value <= 0 || value > 3600)
      throw new UsageError(`expected seconds above 0 and at most 3600, got '${input}'`);
    return value;
  },
});

/** A number above 0 (a rate). */
export const positiveNumber = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`expected a positive number, got '${input}'`);
    return value;
  },
});

/** The fewest requests a second a limit may allow: one every 100 s (a timer holds at most about 24 days). */
const LEAST_RATE = 0.01;

/** Requests per second, a decimal number from 0.01 (one every 100 s) up. */
export const requestRate = Flags.custom<number>({
  parse: async (input) => {
    const value = /^\s*(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i.test(input) ? Number(input) : NaN;
    if (!Number.isFinite(value) || value < LEAST_RATE)
      throw new UsageError(`expected requests per second, a decimal number of at least ${LEAST_RATE}, got '${input}'`);
    return value;
  },
});
