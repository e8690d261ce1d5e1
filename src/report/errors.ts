import { ExplainedError } from '../engine/explained-error';
import { EXIT, type ExitCode } from './exit-codes';

/** What went wrong, for `--json` error documents and for code that decides on it. */
export type ErrorKind = 'usage' | 'store-unreachable' | 'fatal' | 'interrupted';

export interface ReaperErrorOptions {
  exitCode?: ExitCode;
  /** How to fix it, when the reaper knows; printed after the problem, `; ` between. */
  hint?: string;
  cause?: unknown;
}

/**
 * An error the reaper expects and explains: one line for the operator (the message, the
 * hint after it), and the exit code it ends the process with. Anything else that reaches
 * the command's `catch` is taken in by `ReaperError.from` as a fatal error (exit 1), so
 * every failure leaves the same way: one line on stderr (and a JSON document with
 * `--json`), and its exit code.
 */
export class ReaperError extends Error {
  readonly kind: ErrorKind = 'fatal';
  readonly exitCode: ExitCode;
  readonly hint?: string;
  /** The message without the hint. */
  readonly problem: string;

  constructor(problem: string, options: ReaperErrorOptions = {}) {
    super(options.hint ? `${problem}; ${options.hint}` : problem, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.problem = problem;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.fatal;
  }

  /**
   * Any thrown value as a ReaperError: itself when it is one; an oclif parse error
   * (a flag's value, a missing argument: oclif would exit 2, which means "partial" here)
   * as a usage error, exit 1; the engine's explained failures with their problem and hint
   * apart; anything else as a fatal error with its message.
   */
  static from(error: unknown): ReaperError {
    if (error instanceof ReaperError) return error;
    if (error instanceof ExplainedError) return new ReaperError(error.problem, { hint: error.hint, cause: error });
    const message = error instanceof Error ? error.message : String(error);
    if (isParseError(error)) return new UsageError(withoutFlagValues(error, message), { cause: error });
    return new ReaperError(message, { cause: error });
  }
}

/** oclif's own errors: the command line did not parse (a flag, a stray argument). */
export function isParseError(error: unknown): error is Error {
  return error instanceof Error && 'oclif' in error;
}

/**
 * oclif names a mistyped flag as it was given, `--redis-pasword=<the password>` included:
 * only its name is repeated, since the value of a flag nobody knows may be a secret.
 */
function withoutFlagValues(error: Error, message: string): string {
  const flags = (error as Error & { flags?: unknown }).flags;
  if (!Array.isArray(flags) || !/^Nonexistent flags?:/.test(message)) return message;
  const lead = `Nonexistent flag${flags.length === 1 ? '' : 's'}: `;
  const given = lead + flags.join(', ');
  // `--name=value` keeps its name; `-xvalue`, a short flag with its value attached, its letter.
  const names =
    lead +
    flags
      .map((flag) =>
        String(flag)
          .replace(/=[\s\S]*$/, '')
          .replace(/^(-[^-])[\s\S]+$/, '$1'),
      )
      .join(', ');
  return message.startsWith(given) ? names + message.slice(given.length) : names;
}

/** A flag, argument or setting that cannot work: the operator fixes the command line. */
export class UsageError extends ReaperError {
  override readonly kind: ErrorKind = 'usage';
}

/**
 * The store could not be reached (or refused the credentials) before the run started.
 * Store plugins throw it from `create`, so the reaper tells it from a failure mid-run.
 */
export class StoreUnreachableError extends ReaperError {
  override readonly kind: ErrorKind = 'store-unreachable';
}

/** How far a reap's deletes got when SIGINT/SIGTERM came, and how to undo them. */
export interface DeletesSoFar {
  deletedGroups: number;
  plannedGroups: number;
  /** The keys those groups held. */
  keysDeleted?: number;
  backupPath?: string;
  /** The command that restores the backup, as the operator can run it. */
  undo?: string;
}

/** SIGINT/SIGTERM ended the run (exit 130): for `--json`, the document a report would have been. */
export class InterruptedError extends ReaperError {
  override readonly kind: ErrorKind = 'interrupted';

  constructor(deletes?: DeletesSoFar) {
    if (!deletes) {
      super('interrupted by SIGINT/SIGTERM: nothing is left half-deleted', { hint: 'run again to finish', exitCode: EXIT.interrupted });
      return;
    }
    const { deletedGroups, plannedGroups, backupPath, undo } = deletes;
    super(
      `interrupted by SIGINT/SIGTERM after ${deletedGroups} of ${plannedGroups} planned groups were deleted (a delete in flight may` +
        ` have gone through too): nothing is left half-deleted` +
        (backupPath === undefined ? '' : `, and every planned key is in the backup ${backupPath}`),
      {
        hint: undo === undefined ? 'run again to finish' : `run again to finish, or undo with: ${undo}`,
        exitCode: EXIT.interrupted,
      },
    );
  }
}
