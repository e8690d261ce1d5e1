import type { Interfaces } from '@oclif/core';
import { Command } from '@oclif/core/command';
import { createRuntime, type ReaperSettings, type Runtime } from '../container';
import { scrubSecrets, secretsOf } from '../core/secrets';
import type { Stage } from '../engine/engine';
import { EXIT } from '../report/exit-codes';
import { InterruptedError, UsageError, type DeletesSoFar } from '../report/errors';
import { InterruptedDeletes } from '../engine/explained-error';
import { progressFor } from '../render/progress-bar';
import { oneLine, reportFailure, writeErrorDocument } from './errors';
import { keepHeapNearLive } from './heap-policy';
import { invocationName } from './invocation';
import { logLine, runLogFields } from './log-line';
import { Runner, type RunOutcome } from './runner';
import type { RunStatus } from '../report/run-status';
import { sayInterrupted, trapSignals, type Interrupt } from './signals';
import { backupLines, humanReport, undoCommand, type RenderContext } from '../render/human';
import { jsonReport } from '../render/json';
import { writeBatches, type ReportWriting } from '../render/sink';
import { checkMetricsFile, settingsFromFlags, settleFlagSources, storeArguments, type AnyFlags } from './flags';

/** What stderr says when SIGINT/SIGTERM came during a reap's deletes: as far as they got, and the undo, as a report says it. */
function interruptedDeletesText({ deletedGroups, plannedGroups, backupPath, undo }: DeletesSoFar): string {
  const backup = backupPath === undefined || undo === undefined ? '' : `${backupLines('planned', backupPath, undo).join('\n')}\n`;
  return (
    `\n⚠️  Interrupted after ${deletedGroups} of ${plannedGroups} planned groups were deleted (a delete in flight may have gone` +
    ` through too): nothing is left half-deleted; run again to finish.\n${backup}`
  );
}

/** How long an interrupted run may take to unwind before the process is ended anyway. */
const INTERRUPT_GRACE_MS = 3000;

/**
 * What a run that was done had done, for an interruption while its report went out: held
 * by a reader that stopped reading, or still being written when the grace ran out (a JSON
 * report of a million domains takes longer than that to write).
 */
function doneRunText(
  command: RenderContext['command'],
  status: RunStatus,
  bin: string,
  restore: { args: string; withheld: string[] } | undefined,
  heldByReader: boolean,
): string {
  const deleted =
    command !== 'reap'
      ? `a ${command}, it deleted nothing`
      : status.dryRun
        ? 'a dry run, it deleted nothing'
        : `it deleted ${status.keysDeleted} keys (${status.reaped} stale domains, ${status.orphansReaped} orphan groups)`;
  const backup =
    status.backupPath === undefined
      ? ''
      : `${backupLines('deleted', status.backupPath, undoCommand(bin, status.backupPath, restore)).join('\n')}\n`;
  const cut = heldByReader
    ? 'the reader did not take it'
    : `cut short: it was still being written ${INTERRUPT_GRACE_MS / 1000} s after the signal`;
  return `\n⚠️  Interrupted while its report was written (${cut}): the run itself was done, its result exit ${status.exitCode}; ${deleted}.\n${backup}`;
}

/** A signal that came once the run's work was done, while its report went out. */
const INTERRUPTED_AFTER_RUN_MESSAGE = '\n⚠️  Interrupted once the run was done: its report above is complete.\n';

export abstract class ReaperCommand extends Command {
  /** Secrets of this run's settings: never in a message. */
  private secrets: string[] = [];
  /** The store flags an undo line needs (`storeArguments`), set with the settings. */
  protected restoreArguments?: { args: string; withheld: string[] };

  /** SIGINT/SIGTERM of the run in hand, once `trapInterrupt` was called. */
  private interrupt?: Interrupt;

  /** Where a `--json` error document goes: stdout, unless the command's stdout carries data. */
  protected jsonErrors: NodeJS.WritableStream = process.stdout;

  /** Set once a run's report has begun to go out on stdout. */
  private reportStarted = false;
  private interruptedDocumentWritten = false;
  /**
   * Once the run itself is done: what the watchdog says if the report is still going out (a
   * reader that stopped reading, a report too large to write in the grace) when it ends the
   * process. "Run again to finish" was wrong there, and the deletes, their backup and its
   * undo were said nowhere.
   */
  private doneRunText?: () => string;
  /** Whether the report going out waits for its reader. */
  private readonly reportWriting: ReportWriting = { waitingForReader: false };
  /** With --log-format json (and no --json): the fields of the run's one log line. */
  private logLineFields?: { command: string; dryRun: boolean };
  /**
   * What an interruption leaves, for a command that deletes nothing (backup, restore): its
   * line on stderr. The `--json` document keeps the one shape every command's has.
   */
  protected interruptionLeaves?: { problem: string; hint: string };

  /** The heap policy is the process's, not the engine's: a program embedding the engine keeps its own. */
  override async init(): Promise<void> {
    await super.init();
    keepHeapNearLive();
  }

  /**
   * The one place a command's failure is handled: whatever a command throws (a
   * ReaperError, a plugin's error, oclif's flag errors, which oclif would end with exit 2)
   * is one line on stderr and its exit code — 130 when SIGINT/SIGTERM ended the run.
   */
  protected async catch(error: Interfaces.CommandError): Promise<unknown> {
    if ((error as { code?: string }).code === 'EEXIT') throw error; // a deliberate this.exit()
    if (this.interrupt?.signal.aborted) return this.interrupted(undefined, error);
    const json = this.argv.includes('--json') ? this.jsonErrors : undefined;
    return this.exit(reportFailure(this.namingEnvironment(error), { json, command: this.id, secrets: this.secrets }));
  }

  /**
   * oclif says `Parsing --flag …` of a bad value whether it came from the command line or
   * from the flag's environment variable: a crontab or a pod spec that sets only the
   * variable would be searched for the flag in vain, so the variable is named too.
   */
  private namingEnvironment(error: Error): Error {
    const flag = /^Parsing --([\w-]+) /.exec(error.message)?.[1];
    const env = flag === undefined ? undefined : (this.ctor.flags?.[flag] as { env?: string } | undefined)?.env;
    if (!flag || !env || process.env[env] === undefined || error.message.includes(env)) return error;
    if (this.givenOnCommandLine(flag)) return error;
    const named = new Error(error.message.replace(`Parsing --${flag} `, `Parsing --${flag} --${flag} (${env}): `));
    return Object.assign(named, { oclif: (error as { oclif?: unknown }).oclif });
  }

  /** Connects the store (and the source when needed); interrupted by `interrupt`. */
  protected openRuntime(settings: ReaperSettings, needsSource: boolean, interrupt?: Interrupt): Promise<Runtime> {
    return createRuntime(settings, { needsSource, signal: interrupt?.signal });
  }

  /**
   * Exit 130, saying that nothing is left half-deleted (or, with `message`, what else is
   * true); when the signal came during a reap's deletes (`cause`), also how far they got
   * and the backup that undoes them.
   */
  protected interrupted(message?: string, cause?: unknown): never {
    const deletes: DeletesSoFar | undefined =
      cause instanceof InterruptedDeletes
        ? {
            deletedGroups: cause.deletedGroups,
            plannedGroups: cause.plannedGroups,
            keysDeleted: cause.deleted.keys,
            backupPath: cause.backupPath,
            undo: cause.backupPath === undefined ? undefined : undoCommand(this.bin(), cause.backupPath, this.restoreArguments),
          }
        : undefined;
    if (message === undefined) this.writeInterruptedDocument(deletes);
    const leaves = this.interruptionLeaves;
    sayInterrupted(
      message ??
        (deletes ? interruptedDeletesText(deletes) : leaves ? `\n⚠️  Interrupted: ${leaves.problem}; ${leaves.hint}.\n` : undefined),
    );
    return this.exit(EXIT.interrupted);
  }

  /**
   * With `--json`, an interrupted run prints the document a failed one prints (kind
   * `interrupted`, exit code 130) instead of nothing — unless its report has begun to go
   * out, which the document would corrupt.
   */
  private writeInterruptedDocument(deletes?: DeletesSoFar): void {
    if (this.reportStarted || this.interruptedDocumentWritten) return;
    if (this.logLineFields) {
      // --log-format json: the run's one line says it was interrupted, as a finished run's says how it ended.
      this.interruptedDocumentWritten = true;
      const { problem, hint } = new InterruptedError(deletes);
      logLine({
        level: 'warn',
        msg: 'run interrupted',
        ...this.logLineFields,
        result: 'interrupted',
        exitCode: EXIT.interrupted,
        ...deletes,
        error: problem,
        hint,
      });
      return;
    }
    if (!this.argv.includes('--json')) return;
    this.interruptedDocumentWritten = true;
    writeErrorDocument(new InterruptedError(deletes), this.jsonErrors, { command: this.id });
  }

  /**
   * SIGINT/SIGTERM abort the returned signal: every store call, request and queued task
   * ends, and the command exits 130. Should anything still hold the process a few
   * seconds later, a watchdog ends it with 130 all the same (DESIGN §4.10): deletes are
   * atomic per group, so ending there leaves nothing half-deleted.
   */
  protected trapInterrupt(): Interrupt {
    return (this.interrupt = trapSignals({
      onSignal: () =>
        setTimeout(() => {
          this.writeInterruptedDocument();
          sayInterrupted(this.doneRunText?.());
          process.exit(EXIT.interrupted);
        }, INTERRUPT_GRACE_MS).unref(),
    }));
  }

  /** Runs one stage of the flow with its own runtime, renders it, exits with its code. */
  protected async runStage(flags: AnyFlags, stage: Stage, context: Omit<RenderContext, 'store' | 'source'>): Promise<void> {
    const settings = this.settings(flags);
    if (flags['log-format'] === 'json' && !flags.json) this.logLineFields = { command: context.command, dryRun: context.dryRun };
    const runner = new Runner({
      settings: { ...settings, progress: progressFor(Boolean(flags.json) || flags['log-format'] === 'json') },
      stage,
      context,
      // prom-client is loaded only when asked for: a single run's start-up stays short.
      metrics: settings.metricsFile
        ? new (require('../observe/metrics') as typeof import('../observe/metrics')).ReaperMetrics({ version: this.config.version })
        : undefined,
      metricsFile: settings.metricsFile,
      // For node_exporter's textfile collector (cron use): a failure to write is said, not fatal.
      onMetricsError: (error) => process.stderr.write(`pages-reaper: ${oneLine(error)}\n`),
      onWarning: (message) => process.stderr.write(`pages-reaper: ${message}\n`),
    });
    // The signals stay trapped until the report has reached its reader: one that comes
    // while it is written (a slow pipe) ends the process 130 once the report is out, or
    // by the watchdog if the reader stalls, never by the signal's default with the report cut.
    const interrupt = this.trapInterrupt();
    let exitCode: number;
    try {
      const outcome: RunOutcome = await runner.once(interrupt.signal);
      await runner.record(outcome.status);
      if (!outcome.run) {
        // --log-format json: a run that could not finish has its one line too, as one the breaker stopped does.
        if (this.logLineFields && !interrupt.signal.aborted) logLine(runLogFields(outcome.status, this.logLineFields));
        throw outcome.error;
      }
      const { report, summary, context: fullContext } = outcome.run;
      this.doneRunText = () =>
        doneRunText(context.command, outcome.status, this.bin(), this.restoreArguments, this.reportWriting.waitingForReader);
      if (flags['log-format'] === 'json' && !flags.json)
        logLine(runLogFields(outcome.status, { command: context.command, dryRun: context.dryRun }));
      else {
        this.reportStarted = true;
        const batches = flags.json
          ? jsonReport(report, summary, fullContext)
          : humanReport(report, summary, {
              ...fullContext,
              verbose: Boolean(flags.verbose),
              bin: this.bin(),
              restore: this.restoreArguments,
            });
        await writeBatches(batches, process.stdout, this.reportWriting);
      }
      // A run the breaker stopped could not use its source at all: fatal, in one line.
      if (report.stoppedEarly) process.stderr.write(`pages-reaper: ${scrubSecrets(oneLine(report.stoppedEarly), this.secrets)}\n`);
      exitCode = summary.exitCode;
    } finally {
      await interrupt.release();
    }
    // Here the run itself went through (an interrupted one throws): the signal came after.
    if (interrupt.signal.aborted) return this.interrupted(INTERRUPTED_AFTER_RUN_MESSAGE);
    if (exitCode !== EXIT.ok) return this.exit(exitCode);
  }

  /**
   * A finished `backup` or `restore` writes its report with the signals still trapped, then
   * lets them go, as a run does: one that came while the store closed or the report went
   * out ends the process 130 once the report is whole. Let go before, such a signal ended
   * the process at once, with no report and no `--json` document, or went unsaid (exit 0).
   */
  protected async reportThenRelease(interrupt: Interrupt, stream: NodeJS.WritableStream, text: string): Promise<void> {
    this.reportStarted = true;
    try {
      await writeBatches([[text]], stream);
    } finally {
      await interrupt.release();
    }
    if (interrupt.signal.aborted) this.interrupted(INTERRUPTED_AFTER_RUN_MESSAGE);
  }

  /** Whether a flag is on the command line (by its name or its letter), not only in the environment. */
  protected givenOnCommandLine(name: string): boolean {
    const char = (this.ctor.flags?.[name] as { char?: string } | undefined)?.char;
    return this.argv.some(
      (arg) =>
        arg === `--${name}` || arg.startsWith(`--${name}=`) || (char !== undefined && (arg === `-${char}` || arg.startsWith(`-${char}=`))),
    );
  }

  /**
   * A boolean flag's variable that is neither yes nor no (`REAPER_VERIFY_DNS=maybe`) is
   * refused: oclif reads anything but a yes as no, and the operator meant something.
   */
  private checkBooleanEnvironment(): void {
    for (const [name, definition] of Object.entries(this.ctor.flags ?? {})) {
      const { type, env } = definition as { type?: string; env?: string };
      const value = env === undefined ? undefined : process.env[env];
      if (type !== 'boolean' || value === undefined || /^(|true|false|1|0|yes|no|y|n)$/i.test(value.trim())) continue;
      throw new UsageError(`${env}='${value}' is neither true nor false (--${name}); set it to true or false, or unset it`);
    }
  }

  /** How to run this binary again, as printed in `Undo with: …`. */
  protected bin(): string {
    return invocationName(this.config.bin);
  }

  /** Settings from flags; their secrets are kept out of every message from here on. */
  protected settings(parsed: AnyFlags): ReaperSettings {
    const flags = settleFlagSources(parsed, (name) => this.givenOnCommandLine(name));
    this.checkBooleanEnvironment();
    if (typeof flags['metrics-file'] === 'string') checkMetricsFile(flags['metrics-file']);
    const settings = settingsFromFlags(flags);
    this.secrets = secretsOf(settings);
    this.restoreArguments = storeArguments(flags);
    return settings;
  }
}
