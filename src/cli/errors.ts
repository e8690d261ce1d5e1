import { escapeControls } from '../render/escape';
import { ordered, scrubSecrets, secretsOfCommandLine } from '../core/secrets';
import { isParseError, ReaperError } from '../report/errors';

/** One line on stderr, no stack: what went wrong and how to fix it. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // A key name in a message may hold a terminal's escape sequence (see `escapeControls`).
  return escapeControls(
    message
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ')
      // oclif frames a flag's parse error as "Parsing --flag <reason> See more help with --help";
      // a reason that names the flag itself is not prefixed with it again.
      .replace(/^Parsing (--[\w-]+) (?=\1[\s(:])/, '')
      .replace(/^Parsing (--[\w-]+) /, '$1: ')
      .replace(/ See more help with --help\.?$/, '; see --help'),
  );
}

export interface FailureOutput {
  /** With --json: the error as a JSON document too, on this stream (stdout unless it carries data). */
  json?: NodeJS.WritableStream;
  /** The command that failed, for the JSON document. */
  command?: string;
  /** Passwords and tokens of this run: never printed. */
  secrets?: string[];
}

/**
 * The one way a failure leaves the process: `pages-reaper: <problem>; <hint>` on stderr
 * (with --json, also `{ "command", "error": { kind, message, hint, exitCode } }`), and the
 * error's exit code, which is returned. Used by every command's `catch` and by
 * bin/run.js for what fails before a command runs.
 */
export function reportFailure(error: unknown, output: FailureOutput = {}): number {
  const failure = ReaperError.from(error);
  // A failure before the settings were read (a parse error) knows no secret yet: those of
  // the command line and the environment are kept out all the same.
  const secrets = ordered([...(output.secrets ?? []), ...secretsOfCommandLine(process.argv.slice(2), process.env, isParseError(error))]);
  const line = scrubSecrets(oneLine(failure), secrets);
  if (output.json) writeErrorDocument(failure, output.json, { ...output, secrets });
  process.stderr.write(`pages-reaper: ${line}\n`);
  return failure.exitCode;
}

/** `{ "command", "error": { kind, message, hint, exitCode } }`, what `--json` prints for a run that has no report. */
export function writeErrorDocument(failure: ReaperError, stream: NodeJS.WritableStream, output: FailureOutput = {}): void {
  const secrets = output.secrets ?? [];
  const hint = failure.hint === undefined ? undefined : scrubSecrets(failure.hint, secrets);
  const doc = {
    command: output.command,
    error: { kind: failure.kind, message: scrubSecrets(oneLine(failure), secrets), ...(hint ? { hint } : {}), exitCode: failure.exitCode },
  };
  stream.write(JSON.stringify(doc, null, 2) + '\n');
}
