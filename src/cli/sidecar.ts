import { formatDuration } from '../core/duration';
import type { ReaperSettings } from '../container';
import type { Stage } from '../engine/engine';
import { runLoop } from './loop';
import { startHealthServer } from '../observe/health-server';
import { ReaperMetrics } from '../observe/metrics';
import { statusOfFailure, statusOfRun, type RunStatus } from '../report/run-status';
import { renderHuman, type RenderContext } from '../render/human';
import { logLine, runLogFields, type LogFormat } from './log-line';
import { runOnce } from './run-once';
import { DEFAULT_BRAKE } from '../core/planner';
import { runResult } from '../report/run-status';
import { WebhookMetrics } from '../observe/webhook-metrics';
import { RepoIndex } from '../triggers/repo-index';
import { Serial } from '../triggers/serial';
import { targetedScope } from '../triggers/targeted-scope';
import { TriggerQueue, type PendingTrigger } from '../triggers/trigger-queue';
import { runTriggerWorker } from '../triggers/trigger-worker';
import { webhookEndpoint } from '../triggers/webhook-endpoint';

export interface WebhookOptions {
  /** The hook's secret: never logged, never in a metric. */
  secret: Buffer;
  path: string;
  /** One verification per repository per window. */
  windowMs: number;
  /** Repositories waiting at most. */
  capacity: number;
}

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
  /** With a webhook secret: deliveries trigger runs over the repositories they name. */
  webhook?: WebhookOptions;
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
  const stop = new AbortController();
  // The sweep and the triggered runs take turns: a triggered run never overlaps a sweep.
  const serial = new Serial();
  const index = new RepoIndex();
  let reapedSinceSweep = 0;
  const triggers = options.webhook ? webhookTriggers(options, settings, metrics, index, () => reapedSinceSweep, (n) => (reapedSinceSweep += n)) : undefined;
  const server = options.listen
    ? await startHealthServer({ listen: options.listen, metrics, intervalMs: options.intervalMs, webhook: triggers?.endpoint })
    : undefined;
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
    logLine({
      level: 'info',
      msg: 'sidecar started',
      version: options.version,
      interval: formatDuration(options.intervalMs),
      listen: server ? `${server.host}:${server.port}` : undefined,
      webhook: options.webhook?.path,
    });
  }
  const worker = triggers ? runTriggerWorker({ queue: triggers.queue, serial, signal: stop.signal, verify: triggers.verify }) : undefined;
  try {
    await runLoop({
      intervalMs: options.intervalMs,
      jitterMs: options.jitterMs,
      signal: stop.signal,
      runOnce: (signal) => serial.run(async () => {
        const startedAt = Date.now();
        try {
          const run = await runOnce(settings, options.stage, options.context, signal);
          const status = statusOfRun(run.report, run.summary, Date.now());
          if (triggers) {
            index.rebuild(run.report.inventory);
            reapedSinceSweep = 0;
          }
          log(status, options.logFormat === 'human' ? renderHuman(run.report, run.summary, run.context) : undefined);
          return status;
        } catch (error) {
          const status = statusOfFailure(startedAt, Date.now(), signal.aborted ? 'interrupted' : error);
          log(status);
          return status;
        }
      }),
      onStatus: async (status) => {
        metrics.runFinished(status);
        if (options.metricsFile) {
          await metrics.writeFile(options.metricsFile).catch((error: Error) => logLine({ level: 'error', msg: error.message }));
        }
      },
    });
  } finally {
    stop.abort(new Error('stopped'));
    await worker;
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    await server?.close();
  }
  if (options.logFormat === 'json') logLine({ level: 'info', msg: 'sidecar stopped' });
}

/**
 * The webhook side of the sidecar: the endpoint that queues repositories, and the
 * verification of a batch of them through the same engine, scoped to their mappings.
 */
function webhookTriggers(
  options: SidecarOptions,
  settings: ReaperSettings,
  metrics: ReaperMetrics,
  index: RepoIndex,
  reapedSinceSweep: () => number,
  addReaped: (count: number) => void,
) {
  const webhook = options.webhook!;
  const queue = new TriggerQueue({ capacity: webhook.capacity, windowMs: webhook.windowMs });
  const webhookMetrics = new WebhookMetrics(metrics.registry, () => queue.size);
  const log = (fields: Record<string, unknown>) => {
    if (options.logFormat === 'json') logLine(fields);
    else process.stderr.write(`pages-reaper: ${String(fields.msg)}: ${String(fields.reason ?? '')} (delivery ${String(fields.delivery ?? '-')})\n`);
  };
  const handler = webhookEndpoint({ secret: webhook.secret, queue, count: (event, outcome) => webhookMetrics.delivered(event, outcome), log });

  const verify = async (batch: PendingTrigger[], signal: AbortSignal): Promise<void> => {
    const startedAt = Date.now();
    const repositories = batch.map((item) => `${item.owner}/${item.repo}${item.branches ? `@${[...item.branches].join(',')}` : ''}`);
    const fields = {
      trigger: 'webhook',
      repositories,
      repositoryCount: batch.length,
      deliveries: batch.reduce((sum, item) => sum + item.deliveries, 0),
    };
    try {
      const scope = targetedScope({
        targets: batch.map((item) => ({ owner: item.owner, repo: item.repo, branches: item.branches })),
        index,
        brake: settings.brake ?? DEFAULT_BRAKE,
        reapedSinceSweep: reapedSinceSweep(),
      });
      const run = await runOnce(settings, options.stage, options.context, signal, scope);
      const status = statusOfRun(run.report, run.summary, Date.now());
      addReaped(status.reaped);
      metrics.triggeredRunFinished(status);
      webhookMetrics.runFinished(runResult(status));
      if (options.logFormat === 'json') logLine({ ...runLogFields(status, fields), msg: 'triggered run finished' });
      else if (status.reaped + status.orphansReaped > 0 || status.exitCode !== 0) process.stdout.write(renderHuman(run.report, run.summary, run.context));
    } catch (error) {
      const status = statusOfFailure(startedAt, Date.now(), signal.aborted ? 'interrupted' : error);
      webhookMetrics.runFinished('failed');
      if (options.logFormat === 'json') logLine({ ...runLogFields(status, fields), msg: 'triggered run failed' });
      else process.stderr.write(`pages-reaper: triggered run failed: ${status.error}\n`);
    } finally {
      const finishedAt = Date.now();
      for (const item of batch) webhookMetrics.verified(item.receivedAt, finishedAt);
    }
  };
  return { queue, verify, endpoint: { path: webhook.path, handler } };
}
