import { formatDuration } from '../core/duration';
import type { ReaperSettings } from '../container';
import type { Stage } from '../engine/engine';
import { runLoop } from '../engine/loop';
import { startHealthServer } from '../observe/health-server';
import { ReaperMetrics } from '../observe/metrics';
import { statusOfFailure, statusOfRun, type RunStatus } from '../observe/run-status';
import { renderHuman, type RenderContext } from '../render/human';
import { logLine, runLogFields, type LogFormat } from './log-line';
import { runOnce } from './run-once';

export interface SidecarOptions {
  settings: ReaperSettings;
  stage: Stage;
  context: Omit<RenderContext, 'store' | 'source'>;
  intervalMs: number;
  jitterMs: number;
  listen?: string;
  metricsFile?: string;
  /** json: one object per line (log collectors); human: the report of every run (a TTY). */
  logFormat: LogFormat;
  /** The package version, for `pages_reaper_build_info`. */
  version: string;
}

/**
 * `reap --interval`: runs until SIGTERM/SIGINT, one run at a time, serving health and
 * metrics. A signal lets the run in hand finish its current batch (no half-written
 * backup: an interrupted backup is removed), then the process exits 0.
 */
export async function runSidecar(options: SidecarOptions): Promise<void> {
  // A long-lived process: its CPU, memory and event loop are worth scraping too.
  const metrics = new ReaperMetrics({ processMetrics: true, version: options.version });
  const settings: ReaperSettings = { ...options.settings, telemetry: metrics };
  const server = options.listen ? await startHealthServer({ listen: options.listen, metrics, intervalMs: options.intervalMs }) : undefined;
  const stop = new AbortController();
  const onSignal = (name: string) => () => {
    if (options.logFormat === 'json') logLine({ level: 'info', msg: `${name} received: finishing the batch in hand, then exiting` });
    stop.abort(new Error('interrupted'));
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  const log = (status: RunStatus, report?: string) => {
    if (options.logFormat === 'human') {
      if (report) process.stdout.write(report);
      else process.stderr.write(`pages-reaper: run failed: ${status.error}\n`);
      if (!stop.signal.aborted) {
        process.stdout.write(status.completed ? `⏰ Next run in about ${formatDuration(options.intervalMs)}\n` : '⏰ Retrying with backoff\n');
      }
      return;
    }
    logLine(runLogFields(status));
  };

  if (options.logFormat === 'json') {
    logLine({ level: 'info', msg: 'sidecar started', version: options.version, interval: formatDuration(options.intervalMs), listen: server ? `${server.host}:${server.port}` : undefined });
  }
  try {
    await runLoop({
      intervalMs: options.intervalMs,
      jitterMs: options.jitterMs,
      signal: stop.signal,
      runOnce: async (signal) => {
        const startedAt = Date.now();
        try {
          const run = await runOnce(settings, options.stage, options.context, signal);
          const status = statusOfRun(run.report, run.summary, Date.now());
          log(status, options.logFormat === 'human' ? renderHuman(run.report, run.summary, run.context) : undefined);
          return status;
        } catch (error) {
          const status = statusOfFailure(startedAt, Date.now(), signal.aborted ? 'interrupted' : error);
          log(status);
          return status;
        }
      },
      onStatus: async (status) => {
        metrics.runFinished(status);
        if (options.metricsFile) {
          await metrics.writeFile(options.metricsFile).catch((error: Error) => logLine({ level: 'error', msg: error.message }));
        }
      },
    });
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    await server?.close();
  }
  if (options.logFormat === 'json') logLine({ level: 'info', msg: 'sidecar stopped' });
}
