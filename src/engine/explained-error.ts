import type { DeletedSoFar } from './applier';

/**
 * A failure the engine explains: the problem, and how to fix it when it knows, kept apart
 * so that the CLI prints them as one line and a `--json` document as its `message` and
 * `hint` (`ReaperError.from` keeps both). The engine sits below the CLI's error family.
 */
export class ExplainedError extends Error {
  constructor(
    readonly problem: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(hint ? `${problem}; ${hint}` : problem, options);
    this.name = new.target.name;
  }

  /** Any thrown value's problem and hint: its message alone when it does not explain itself. */
  static partsOf(error: unknown): { problem: string; hint?: string } {
    // Itself, or the CLI's ReaperError (which the engine cannot import): both carry the two apart.
    if (error !== null && typeof error === 'object' && 'problem' in error && typeof error.problem === 'string') {
      const hint = 'hint' in error && typeof error.hint === 'string' ? error.hint : undefined;
      return { problem: error.problem, hint };
    }
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * A reap whose store failed once its deletes may have begun: the problem, and what the
 * calls that answered had deleted, which the run's status (log line, metrics) counts.
 */
export class FailedDeletes extends ExplainedError {
  constructor(
    problem: string,
    hint: string | undefined,
    readonly deleted: DeletedSoFar,
    readonly backupPath: string | undefined,
    options?: ErrorOptions,
  ) {
    super(problem, hint, options);
  }
}

/**
 * SIGINT/SIGTERM during a reap's deletes: how far they got, and where the backup of every
 * planned key is, so the operator knows what the store holds and how to undo it. Thrown
 * in place of the abort's reason once the deletes may have begun.
 */
export class InterruptedDeletes extends Error {
  constructor(
    /** What the delete calls that answered before the signal deleted. */
    readonly deleted: DeletedSoFar,
    readonly plannedGroups: number,
    /** The backup of every planned key; undefined with --no-backup. */
    readonly backupPath: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`interrupted after ${deleted.groups} of ${plannedGroups} planned groups were deleted`, options);
    this.name = new.target.name;
  }

  /** Groups whose delete calls answered before the signal. */
  get deletedGroups(): number {
    return this.deleted.groups;
  }
}

/** What a failed or interrupted run had deleted, when it failed during its deletes. */
export function deletionsOf(error: unknown): { deleted: DeletedSoFar; backupPath?: string } | undefined {
  if (error instanceof InterruptedDeletes || error instanceof FailedDeletes)
    return { deleted: error.deleted, backupPath: error.backupPath };
  return undefined;
}

/** A file system call's failure in the system's words ("ENOENT: no such file or directory"), without the path Node appends. */
export function describeFsError(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  const message = String(err?.message ?? error).replace(/\s+/g, ' ');
  return err?.code && message.startsWith(`${err.code}:`) ? message.split(',')[0] : message;
}
