import { createRuntime, type ReaperSettings } from '../container';
import type { RunReport, RunScope, Stage } from '../engine/engine';
import type { ReaperMetrics } from '../observe/metrics';
import type { RenderContext } from '../render/human';
import { deletionsOf, ExplainedError } from '../engine/explained-error';
import { EXIT } from '../report/exit-codes';
import { statusOfFailure, statusOfRun, type RunStatus } from '../report/run-status';
import { summarize, type Summary } from '../report/summary';
import { scrubSecrets, secretsOf } from '../core/secrets';
import { oneLine } from './errors';
import { runLoop } from './loop';

export interface CompletedRun {
  report: RunReport;
  summary: Summary;
  context: RenderContext;
}

/** How a run ended: always a status; the run itself when it finished, else the error. */
export interface RunOutcome {
  status: RunStatus;
  run?: CompletedRun;
  error?: unknown;
}

export interface RunnerOptions {
  settings: ReaperSettings;
  stage: Stage;
  context: Omit<RenderContext, 'store' | 'source'>;
  /** Fed every run's status (`record`), and the source's request timings. */
  metrics?: ReaperMetrics;
  /** node_exporter's textfile: written after every recorded run. */
  metricsFile?: string;
  /** A metrics file that cannot be written is said, never fatal. */
  onMetricsError?(error: Error): void;
  /** Something the run worked around and the operator should fix (a TMPDIR it could not use). */
  onWarning?(message: string): void;
}

/**
 * Why a run's scan kept all its forward mappings in memory: its overflow file could not be
 * used. The run itself is whole; a sidecar with a memory limit may not be.
 */
export function overflowWarning(stoppedBy: unknown): string {
  const { problem, hint } = ExplainedError.partsOf(stoppedBy);
  return `${problem}: the scan kept its forward mappings in memory instead${hint ? `; ${hint}` : ''}`;
}

/**
 * The one runner of a stage of the flow: `reap` (and scan, verify) runs it once,
 * `reap --interval` loops it. A run gets its own runtime (a fresh connection each time,
 * so a sidecar recovers from a store that went away) and ends as a `RunStatus`, which
 * `record` hands to the metrics and their file.
 */
export class Runner {
  constructor(private readonly options: RunnerOptions) {}

  /** One run; never throws: a run that could not finish is a failed status with its error. */
  async once(signal: AbortSignal, scope?: RunScope): Promise<RunOutcome> {
    const startedAt = Date.now();
    try {
      const run = await runOnce(
        { ...this.options.settings, telemetry: this.options.metrics },
        this.options.stage,
        this.options.context,
        signal,
        scope,
      );
      const stoppedBy = run.report.inventory.forwards.spillStoppedBy;
      if (stoppedBy !== undefined) this.options.onWarning?.(overflowWarning(stoppedBy));
      return { run, status: statusOfRun(run.report, run.summary, Date.now(), run.context.dryRun) };
    } catch (error) {
      // Every failed run passes here, single or in the sidecar: its status (logged, in the
      // metrics' last error) carries one line with the settings' secrets scrubbed.
      const said = signal.aborted ? 'interrupted' : scrubSecrets(oneLine(error), secretsOf(this.options.settings));
      const status = statusOfFailure(startedAt, Date.now(), said, deletionsOf(error));
      // Stopped by SIGTERM/SIGINT (a rollout): no fatal error to alert on.
      return { error, status: signal.aborted ? { ...status, exitCode: EXIT.interrupted, errors: {} } : status };
    }
  }

  /** A run's status into the metrics, and the metrics into their file when one is asked for. */
  async record(status: RunStatus): Promise<void> {
    const { metrics } = this.options;
    if (!metrics) return;
    metrics.runFinished(status);
    await this.saveMetrics();
  }

  /** The metrics into their file, when one is asked for: after every run, sweep or triggered. */
  async saveMetrics(): Promise<void> {
    const { metrics, metricsFile } = this.options;
    if (metrics && metricsFile) await metrics.writeFile(metricsFile).catch((error: Error) => this.options.onMetricsError?.(error));
  }

  /**
   * Runs until `signal` aborts: `run` (usually `once`, wrapped by the caller), `record`,
   * then the interval's wait, or a shorter backoff after a failure.
   */
  loop(options: {
    intervalMs: number;
    jitterMs: number;
    signal: AbortSignal;
    run(signal: AbortSignal): Promise<RunStatus>;
  }): Promise<void> {
    return runLoop({ ...options, runOnce: options.run, onStatus: (status) => this.record(status) });
  }
}

/** A run's parts: the store, and the Forgejo source unless the stage only scans. */
export function openRuntime(settings: ReaperSettings, stage: Stage, signal?: AbortSignal) {
  return createRuntime(settings, { needsSource: stage !== 'scan', signal });
}

/** One run with its own runtime; throws when the run cannot finish. */
export async function runOnce(
  settings: ReaperSettings,
  stage: Stage,
  context: Omit<RenderContext, 'store' | 'source'>,
  signal: AbortSignal,
  scope?: RunScope,
): Promise<CompletedRun> {
  const runtime = await openRuntime(settings, stage, signal);
  try {
    const report = await runtime.engine.run(stage, signal, scope);
    return {
      report,
      summary: summarize(report, context.dryRun),
      context: { ...context, store: runtime.store.describe(), source: runtime.source?.describe() },
    };
  } finally {
    await runtime.close();
  }
}
