import { formatDuration } from '../core/duration';
import type { ReaperSettings } from '../container';
import type { Stage } from '../engine/engine';
import { startHealthServer } from '../observe/health-server';
import { ReaperMetrics } from '../observe/metrics';
import { runResult, type RunStatus } from '../report/run-status';
import { EXIT } from '../report/exit-codes';
import { StoreUnreachableError } from '../report/errors';
import { humanReport, type RenderContext } from '../render/human';
import { writeBatches } from '../render/sink';
import { logLine, runLogFields, type LogFormat } from './log-line';
import { retriedSooner } from './loop';
import { openRuntime, Runner } from './runner';
import { trapSignals } from './signals';
import { DEFAULT_BRAKE } from '../core/planner';
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
  await checkSetup(options);
  // A long-lived process: its CPU, memory and event loop are worth scraping too.
  const metrics = new ReaperMetrics({ processMetrics: true, version: options.version });
  const runner = new Runner({
    settings: options.settings,
    stage: options.stage,
    context: options.context,
    metrics,
    metricsFile: options.metricsFile,
    onMetricsError: (error) => logLine({ level: 'error', msg: error.message }),
    onWarning: (message) => logLine({ level: 'warn', msg: message }),
  });
  // The sweep and the triggered runs take turns: a triggered run never overlaps a sweep.
  const serial = new Serial();
  const index = new RepoIndex();
  // What triggers reaped since the last sweep the brake allowed. A refused sweep resets
  // nothing and holds every trigger back until a sweep is allowed: otherwise each sweep
  // interval would let triggers take up to the brake's share of what is left, and the
  // sweep's own total would shrink under the brake's minimum (a wrong token seeing 404s).
  const sweep = { reapedSince: 0, refused: false };
  const triggers = options.webhook ? webhookTriggers(options, runner, metrics, index, sweep) : undefined;
  const server = options.listen
    ? await startHealthServer({ listen: options.listen, metrics, intervalMs: options.intervalMs, webhook: triggers?.endpoint })
    : undefined;
  const stop = trapSignals({
    once: true,
    onSignal: (name) => {
      if (options.logFormat === 'json') logLine({ level: 'info', msg: `${name} received: finishing the batch in hand, then exiting` });
    },
  });
  // A report is written as it is produced, and the next run waits for it to drain.
  const log = async (status: RunStatus, report?: Iterable<string[]>) => {
    if (options.logFormat === 'human') {
      if (report) await writeBatches(report, process.stdout);
      // Stopped by SIGTERM/SIGINT (a rollout): said as what it is, not as a failure.
      else if (status.exitCode === EXIT.interrupted) process.stderr.write(`pages-reaper: run interrupted${deletedBeforeFailure(status)}\n`);
      else process.stderr.write(`pages-reaper: run failed: ${status.error}${deletedBeforeFailure(status)}\n`);
      if (!stop.signal.aborted) {
        process.stdout.write(
          retriedSooner(status) ? '⏰ Retrying with backoff\n' : `⏰ Next run in about ${formatDuration(options.intervalMs)}\n`,
        );
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
  // Ends the trigger worker too once the loop is over, however it ended.
  const done = new AbortController();
  const workerSignal = AbortSignal.any([stop.signal, done.signal]);
  const worker = triggers ? runTriggerWorker({ queue: triggers.queue, serial, signal: workerSignal, verify: triggers.verify }) : undefined;
  try {
    await runner.loop({
      intervalMs: options.intervalMs,
      jitterMs: options.jitterMs,
      signal: stop.signal,
      run: (signal) =>
        serial.run(async () => {
          const { run, status } = await runner.once(signal);
          if (run && triggers) {
            index.rebuild(run.report.inventory);
            sweep.refused = run.summary.refusedByBrake;
            if (!sweep.refused) sweep.reapedSince = 0;
          }
          await log(status, run && options.logFormat === 'human' ? humanReport(run.report, run.summary, run.context) : undefined);
          // The next run scans anew: this one's overflow file goes now, not when it is collected.
          run?.report.inventory.forwards.release();
          return status;
        }),
    });
  } finally {
    done.abort(new Error('stopped'));
    await worker;
    await stop.release();
    await server?.close();
  }
  if (options.logFormat === 'json') logLine({ level: 'info', msg: 'sidecar stopped' });
}

/**
 * The settings, read once before the loop as every run reads them: a slip (no
 * --forgejo-host, a token file that is not one line, a store plugin that does not load, a
 * database the server refuses) ends the sidecar with exit 1 and its one line, where the
 * loop would retry it forever. A store that cannot be reached (yet) is no slip: the loop
 * retries it, as it would mid-life.
 */
async function checkSetup(options: SidecarOptions): Promise<void> {
  try {
    const runtime = await openRuntime(options.settings, options.stage);
    await runtime.close();
  } catch (error) {
    if (!(error instanceof StoreUnreachableError)) throw error;
  }
}

/**
 * The webhook side of the sidecar: the endpoint that queues repositories, and the
 * verification of a batch of them through the same engine, scoped to their mappings.
 */
function webhookTriggers(
  options: SidecarOptions,
  runner: Runner,
  metrics: ReaperMetrics,
  index: RepoIndex,
  sweep: { reapedSince: number; refused: boolean },
) {
  const webhook = options.webhook!;
  const queue = new TriggerQueue({ capacity: webhook.capacity, windowMs: webhook.windowMs });
  const webhookMetrics = new WebhookMetrics(metrics.registry, () => queue.size);
  const log = (fields: Record<string, unknown>) => {
    if (options.logFormat === 'json') logLine(fields);
    else
      process.stderr.write(
        `pages-reaper: ${String(fields.msg)}: ${String(fields.reason ?? '')} (delivery ${String(fields.delivery ?? '-')})\n`,
      );
  };
  const handler = webhookEndpoint({
    secret: webhook.secret,
    queue,
    count: (event, outcome) => webhookMetrics.delivered(event, outcome),
    log,
  });

  const verify = async (batch: PendingTrigger[], signal: AbortSignal): Promise<void> => {
    const repositories = batch.map((item) => `${item.owner}/${item.repo}${item.branches ? `@${[...item.branches].join(',')}` : ''}`);
    const fields = {
      trigger: 'webhook',
      repositories,
      repositoryCount: batch.length,
      deliveries: batch.reduce((sum, item) => sum + item.deliveries, 0),
    };
    const scope = targetedScope({
      targets: batch.map((item) => ({ owner: item.owner, repo: item.repo, branches: item.branches, pagesWritten: item.pagesWritten })),
      index,
      brake: options.settings.brake ?? DEFAULT_BRAKE,
      reapedSinceSweep: sweep.reapedSince,
      sweepRefused: sweep.refused,
    });
    const { run, status } = await runner.once(signal, scope);
    if (run) {
      if (!status.dryRun) sweep.reapedSince += status.reaped;
      metrics.triggeredRunFinished(status);
      webhookMetrics.runFinished(runResult(status));
      if (options.logFormat === 'json') logLine({ ...runLogFields(status, fields), msg: 'triggered run finished' });
      else if (status.reaped + status.orphansReaped > 0 || status.exitCode !== EXIT.ok)
        await writeBatches(humanReport(run.report, run.summary, run.context), process.stdout);
    } else {
      webhookMetrics.runFinished('failed');
      if (options.logFormat === 'json') logLine({ ...runLogFields(status, fields), msg: 'triggered run failed' });
      else process.stderr.write(`pages-reaper: triggered run failed: ${status.error}\n`);
    }
    const finishedAt = Date.now();
    for (const item of batch) webhookMetrics.verified(item.receivedAt, finishedAt);
    await runner.saveMetrics();
  };
  return { queue, verify, endpoint: { path: webhook.path, handler } };
}

/** What a run that failed or was interrupted during its deletes had deleted, for its one human line. */
function deletedBeforeFailure(status: RunStatus): string {
  if (status.keysDeleted === 0) return '';
  const backup = status.backupPath === undefined ? '' : `; every planned key is in the backup ${status.backupPath}`;
  return ` (${status.keysDeleted} keys of ${status.reaped} stale domains and ${status.orphansReaped} orphan groups were deleted before it stopped${backup})`;
}
