import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Telemetry } from '../ports/telemetry';
import { describeFsError } from '../engine/explained-error';
import { runResult, type RunResult, type RunStatus } from '../report/run-status';

export const METRIC_PREFIX = 'pages_reaper_';

export { runResult, type RunResult } from '../report/run-status';

const RUN_RESULTS: readonly RunResult[] = ['success', 'partial', 'refused', 'failed', 'interrupted'];
const ERROR_KINDS = ['unknown', 'invalid', 'fatal'];

/** Buckets for one Forgejo HTTP request: 1 ms to 30 s. */
export const API_REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Buckets for a whole run: a second to an hour. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/**
 * A run that completed (exit 0, 2 or 3): the loop works, so it counts for /healthz and
 * /readyz and its verdicts feed the gauges. Only exit 0 is a success (`last_success`).
 */
export function runCompleted(status: RunStatus): boolean {
  const result = runResult(status);
  return result !== 'failed' && result !== 'interrupted';
}

export interface ReaperMetricsOptions {
  /**
   * Also export Node's process metrics (CPU, memory, open fds, event loop lag, heap, GC)
   * with prom-client's collectDefaultMetrics, under the same `pages_reaper_` prefix
   * (`pages_reaper_process_cpu_seconds_total`, …). Default false: a single run's
   * textfile would describe a process that has already exited.
   */
  processMetrics?: boolean;
  /** The package version for `pages_reaper_build_info`. */
  version?: string;
}

/**
 * The reaper's Prometheus metrics, on a registry of their own. The sidecar loop calls
 * `runFinished` once per run; the source calls `requestObserved` once per HTTP request.
 */
export class ReaperMetrics implements Telemetry {
  readonly registry = new Registry();

  private readonly domainsScanned: Gauge;
  private readonly domainsLive: Gauge;
  private readonly domainsStale: Gauge;
  private readonly domainsPending: Gauge;
  private readonly runsTotal: Counter<'result'>;
  private readonly domainsReaped: Counter;
  private readonly orphansReaped: Counter;
  private readonly keysDeleted: Counter;
  private readonly errorsTotal: Counter<'kind'>;
  private readonly lastRunTimestamp: Gauge;
  private readonly lastSuccessTimestamp: Gauge;
  private readonly lastRunDuration: Gauge;
  /** Created by the first completed run that says its steps' times (the engine's runs do). */
  private lastRunPhaseDuration: Gauge<'phase'> | undefined;
  private readonly runDuration: Histogram;
  private readonly apiRequestDuration: Histogram<'status'>;

  /** Created by the first run with --verify-dns: without it, the metrics stay as they were. */
  private dnsMetrics: { verdicts: Gauge<'verdict'>; lookups: Counter } | undefined;

  private last: RunStatus | undefined;
  private lastSuccess: number | undefined;
  private lastCompleted: number | undefined;

  constructor(options: ReaperMetricsOptions = {}) {
    const registers = [this.registry];
    const gauge = (name: string, help: string) => new Gauge({ name: METRIC_PREFIX + name, help, registers });
    const counter = (name: string, help: string) => new Counter({ name: METRIC_PREFIX + name, help, registers });

    this.domainsScanned = gauge('domains_scanned', 'Custom domains found in the store by the last completed run.');
    this.domainsLive = gauge('domains_live', 'Domains the last completed run found still served by Forgejo.');
    this.domainsStale = gauge('domains_stale', 'Domains the last completed run found stale.');
    this.domainsPending = gauge('domains_pending_grace', 'Stale domains the last completed run held back by the grace period.');
    this.runsTotal = new Counter({
      name: `${METRIC_PREFIX}runs_total`,
      help: 'Runs finished, by result: success (exit 0), partial (2), refused (3), failed, interrupted (SIGTERM/SIGINT, 130).',
      labelNames: ['result'],
      registers,
    });
    this.domainsReaped = counter('domains_reaped_total', 'Stale domains whose keys were deleted.');
    this.orphansReaped = counter('orphans_reaped_total', 'Orphaned keys groups deleted.');
    this.keysDeleted = counter('keys_deleted_total', 'Store keys deleted.');
    this.errorsTotal = new Counter({
      name: `${METRIC_PREFIX}errors_total`,
      help: 'Errors met by runs, by kind (unknown, invalid, fatal).',
      labelNames: ['kind'],
      registers,
    });
    this.lastRunTimestamp = gauge('last_run_timestamp_seconds', 'When the last run finished, in Unix seconds.');
    this.lastSuccessTimestamp = gauge(
      'last_success_timestamp_seconds',
      'When the last complete run (exit 0: nothing unknown, invalid or refused) finished, in Unix seconds; 0 before the first.',
    );
    this.lastRunDuration = gauge('last_run_duration_seconds', 'How long the last run took, in seconds.');
    this.runDuration = new Histogram({
      name: `${METRIC_PREFIX}run_duration_seconds`,
      help: 'How long runs take, in seconds.',
      buckets: RUN_DURATION_BUCKETS,
      registers,
    });
    this.apiRequestDuration = new Histogram({
      name: `${METRIC_PREFIX}api_request_duration_seconds`,
      help: 'Forgejo API request durations, in seconds, by HTTP status ("error" when no response came).',
      labelNames: ['status'],
      buckets: API_REQUEST_BUCKETS,
      registers,
    });

    // Export every result and the usual error kinds from the start, so rate() sees the first one.
    for (const result of RUN_RESULTS) this.runsTotal.labels(result).inc(0);
    for (const kind of ERROR_KINDS) this.errorsTotal.labels(kind).inc(0);

    const buildInfo = new Gauge({
      name: `${METRIC_PREFIX}build_info`,
      help: 'Always 1; the labels say which pages-reaper and which Node.js run.',
      labelNames: ['version', 'node_version'],
      registers,
    });
    buildInfo.labels(options.version ?? 'unknown', process.version).set(1);

    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** What a run deleted; a dry run's counts are what it would have. */
  private countDeletions(status: RunStatus): void {
    if (status.dryRun) return;
    if (status.reaped > 0) this.domainsReaped.inc(status.reaped);
    if (status.orphansReaped > 0) this.orphansReaped.inc(status.orphansReaped);
    if (status.keysDeleted > 0) this.keysDeleted.inc(status.keysDeleted);
  }

  /** Prometheus exposition content type, for the Content-Type header. */
  get contentType(): string {
    return this.registry.contentType;
  }

  requestObserved(status: number | 'error', seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.apiRequestDuration.labels(String(status)).observe(seconds);
  }

  runFinished(status: RunStatus): void {
    this.last = status;
    const completed = runCompleted(status);
    this.runsTotal.labels(runResult(status)).inc();

    // Deletions are real even when the run failed afterwards; a dry run made none.
    this.countDeletions(status);
    for (const [kind, count] of Object.entries(status.errors ?? {})) {
      if (count > 0) this.errorsTotal.labels(kind).inc(count);
    }

    const durationSeconds = Math.max(0, (status.finishedAt - status.startedAt) / 1000);
    this.lastRunTimestamp.set(status.finishedAt / 1000);
    this.lastRunDuration.set(durationSeconds);
    this.runDuration.observe(durationSeconds);

    // Like external-dns's last sync timestamp, last_success moves only when the run did
    // everything it set out to do: a partial (2) or refused (3) run must not quiet an alert.
    if (runResult(status) === 'success') {
      this.lastSuccess = status.finishedAt;
      this.lastSuccessTimestamp.set(status.finishedAt / 1000);
    }
    // A run that failed saw only part of the store: keep the last completed run's view.
    if (completed) {
      this.lastCompleted = status.finishedAt;
      this.domainsScanned.set(status.domainsScanned);
      this.domainsLive.set(status.live);
      this.domainsStale.set(status.stale);
      this.domainsPending.set(status.pending);
      if (status.dns) this.dnsFinished(status.dns);
      if (status.phasesMs) this.phasesFinished(status.phasesMs);
    }
  }

  private phasesFinished(phasesMs: NonNullable<RunStatus['phasesMs']>): void {
    this.lastRunPhaseDuration ??= new Gauge({
      name: `${METRIC_PREFIX}last_run_phase_duration_seconds`,
      help: 'How long each step of the last completed run took, in seconds: scan, verify (answers awaited once the scan was done), plan, backup, delete.',
      labelNames: ['phase'],
      registers: [this.registry],
    });
    // Only the steps this run reached: a dry run's is not the last reap's backup time.
    this.lastRunPhaseDuration.reset();
    for (const [phase, ms] of Object.entries(phasesMs)) this.lastRunPhaseDuration.labels(phase).set(ms / 1000);
  }

  /**
   * A run a webhook triggered: its deletions and errors count like a sweep's, but it saw
   * a few repositories, so it leaves the gauges, the run counters and /healthz alone.
   */
  triggeredRunFinished(status: RunStatus): void {
    this.countDeletions(status);
    for (const [kind, count] of Object.entries(status.errors ?? {})) {
      if (count > 0) this.errorsTotal.labels(kind).inc(count);
    }
  }

  private dnsFinished(dns: NonNullable<RunStatus['dns']>): void {
    this.dnsMetrics ??= {
      verdicts: new Gauge({
        name: `${METRIC_PREFIX}dns_ownership_domains`,
        help: 'With --verify-dns: live-by-Forgejo domains of the last completed run by DNS verdict (proven, ownership_lost, unknown).',
        labelNames: ['verdict'],
        registers: [this.registry],
      }),
      lookups: new Counter({
        name: `${METRIC_PREFIX}dns_lookups_total`,
        help: 'TXT lookups sent (--verify-dns).',
        registers: [this.registry],
      }),
    };
    this.dnsMetrics.verdicts.labels('proven').set(dns.proven);
    this.dnsMetrics.verdicts.labels('ownership_lost').set(dns.ownershipLost);
    this.dnsMetrics.verdicts.labels('unknown').set(dns.unknown);
    if (dns.lookups > 0) this.dnsMetrics.lookups.inc(dns.lookups);
  }

  /** When the last complete run (exit 0) finished, in ms since the epoch. */
  lastSuccessAt(): number | undefined {
    return this.lastSuccess;
  }

  /** When the last completed run (exit 0, 2 or 3) finished, in ms since the epoch: for /healthz and /readyz. */
  lastCompletedAt(): number | undefined {
    return this.lastCompleted;
  }

  /** The last run's status, whatever its result. */
  lastRun(): RunStatus | undefined {
    return this.last;
  }

  /** The metrics in Prometheus exposition format. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Writes the metrics for node_exporter's textfile collector: a temp file in the same
   * directory (not ending in .prom, so the collector skips it), then a rename over `file`.
   */
  async writeFile(file: string): Promise<void> {
    const text = await this.text();
    const dir = path.dirname(file);
    const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.writeFile(temp, text, { mode: 0o644, flag: 'wx' });
      await fs.chmod(temp, 0o644); // the umask may have taken bits away
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => {});
      throw new Error(`cannot write metrics file ${file}: ${describeFsError(error)}`);
    }
  }
}
