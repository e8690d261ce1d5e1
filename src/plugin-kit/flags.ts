import * as Flags from '@oclif/core/flags';
import { UsageError } from '../report/errors';

/**
 * Flag kinds a plugin's flags use (oclif `Flags.custom`). Not exported by the kit's index
 * or the package's main module: those load none of the CLI.
 */

/** A number above 0 (seconds, a rate). */
export const positiveNumber = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`expected a positive number, got '${input}'`);
    return value;
  },
});
