import * as Flags from '@oclif/core/flags';
import { UsageError } from '../report/errors';

/**
 * Flag kinds a plugin's flags use (oclif `Flags.custom`). Not exported by the kit's index
 * or the package's main module: those load none of the CLI.
 */

/**
 * A number flag's value, a plain decimal (`10`, `2.5`, `.5`; blanks around it are dropped)
 * from `least` to `most`. Number() alone takes hex (`0x10`), exponents (`1e-9`), a sign,
 * `Infinity`, and a blank for 0: each is refused here, with how to write the number.
 * `expected` says what is wanted (`seconds from 0.01 to 3600`), `example` a value or two.
 */
export function decimalNumber(input: string, expected: string, example: string, least: number, most = Number.MAX_VALUE): number {
  if (!/^\s*(?:\d+\.?\d*|\.\d+)\s*$/.test(input)) {
    throw new UsageError(`expected ${expected}, got '${input}'; write a plain decimal, such as ${example}`);
  }
  const value = Number(input);
  if (!(value >= least && value <= most)) throw new UsageError(`expected ${expected}, got '${input}'`);
  return value;
}

/**
 * The shortest wait for an answer: 10 ms. Below it none comes back in time, not even a
 * local server's, and every call would fail as if the store or Forgejo were gone.
 */
export const SHORTEST_TIMEOUT_S = 0.01;

/** Seconds to wait for one call, a plain decimal from 0.01 (10 ms) to `longest`. */
export function timeoutSecondsUpTo(longest: number) {
  return Flags.custom<number>({
    parse: async (input) => {
      const value = decimalNumber(input, `seconds from ${SHORTEST_TIMEOUT_S} to ${longest}`, '10 or 2.5', 0, longest);
      if (value < SHORTEST_TIMEOUT_S)
        throw new UsageError(`${input.trim()} s is too short for any answer to arrive; give at least ${SHORTEST_TIMEOUT_S} (10 ms)`);
      return value;
    },
  });
}

/** Seconds to wait for one call: at most an hour (a timer cannot hold much longer than 24 days anyway). */
export const timeoutSeconds = timeoutSecondsUpTo(3600);

/** A number above 0 (a rate), a plain decimal. */
export const positiveNumber = Flags.custom<number>({
  parse: async (input) => decimalNumber(input, 'a positive number', '5 or 0.5', Number.MIN_VALUE),
});

/** The fewest requests a second a limit may allow: one every 100 s (a timer holds at most about 24 days). */
const LEAST_RATE = 0.01;

/** Requests per second, a plain decimal from 0.01 (one every 100 s) up. */
export const requestRate = Flags.custom<number>({
  parse: async (input) => decimalNumber(input, `requests per second, a decimal number of at least ${LEAST_RATE}`, '5 or 0.5', LEAST_RATE),
});
