import type { RunReport } from '../engine/engine';
import type { Summary } from '../engine/summary';

/**
 * The outcome of one run as the sidecar loop, the metrics and the health endpoints see it.
 * Built from a finished run's summary, or from the error that ended it.
 */
export interface RunStatus {
  startedAt: number;
  finishedAt: number;
  /** false when the run could not finish (store or source unreachable, crash). */
  completed: boolean;
  exitCode: number;
  domainsScanned: number;
  live: number;
  stale: number;
  /** Stale domains held back by the grace period. */
  pending: number;
  reaped: number;
  orphansReaped: number;
  keysDeleted: number;
  /** Error counts by kind: 'unknown', 'invalid', 'fatal'. */
  errors: Record<string, number>;
  /** The backup a reap wrote before deleting. */
  backupPath?: string;
  error?: string;
  /** With --verify-dns: DNS verdicts of the domains Forgejo proved live. */
  dns?: { proven: number; ownershipLost: number; unknown: number; lookups: number };
}


export function statusOfRun(report: RunReport, summary: Summary, finishedAt: number): RunStatus {
  return {
    startedAt: report.startedAt,
    finishedAt,
    completed: true,
    exitCode: summary.exitCode,
    domainsScanned: summary.domainsScanned,
    live: summary.live,
    stale: summary.stale,
    pending: summary.pending,
    reaped: summary.staleDomainsCleaned,
    orphansReaped: summary.orphansCleaned,
    keysDeleted: summary.keysDeleted,
    errors: { unknown: summary.unknown, invalid: summary.invalid },
    backupPath: report.backupPath,
    ...(summary.dns ? { dns: { proven: summary.dns.proven, ownershipLost: summary.dns.ownershipLost, unknown: summary.dns.unknown, lookups: summary.dns.lookups } } : {}),
  };
}

export function statusOfFailure(startedAt: number, finishedAt: number, error: unknown): RunStatus {
  return {
    startedAt,
    finishedAt,
    completed: false,
    exitCode: 1,
    domainsScanned: 0,
    live: 0,
    stale: 0,
    pending: 0,
    reaped: 0,
    orphansReaped: 0,
    keysDeleted: 0,
    errors: { fatal: 1 },
    error: error instanceof Error ? error.message : String(error),
  };
}
