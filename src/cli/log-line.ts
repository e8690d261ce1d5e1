import { runResult, type RunStatus } from '../report/run-status';

/** json: one JSON object per line (log collectors); human: the report. */
export type LogFormat = 'human' | 'json';

export type LogLevel = 'info' | 'warn' | 'error';

/** One JSON log line on stdout, with its time first. */
export function logLine(fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
}

/**
 * The log fields of a finished run, the same for a single run and for the sidecar:
 * `info` for a success, `warn` with the reason for a partial or refused run (something
 * needs a look), `error` with the error for a run that could not finish.
 */
export function runLogFields(status: RunStatus, context: Record<string, unknown> = {}): Record<string, unknown> {
  const result = runResult(status);
  // SIGTERM/SIGINT mid-run (exit 130) is how a sidecar is stopped, not an error.
  const interrupted = result === 'interrupted';
  const level: LogLevel = result === 'success' ? 'info' : result === 'failed' ? 'error' : 'warn';
  const { startedAt, finishedAt, completed, error, reason, ...counts } = status;
  // A run that went through to its end but failed (its source stopped answering) is a
  // failed run to whoever alerts on `run failed`, and its reason is its error.
  const failedError = error ?? (result === 'failed' ? reason : undefined);
  return {
    level,
    msg: result === 'failed' ? 'run failed' : completed ? 'run finished' : interrupted ? 'run interrupted' : 'run failed',
    ...context,
    result,
    ...(reason ? { reason } : {}),
    ...(failedError ? { error: failedError } : {}),
    durationMs: finishedAt - startedAt,
    completed,
    ...counts,
  };
}
