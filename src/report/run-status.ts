import type { DeletedSoFar } from '../engine/applier';
import type { RunPhase, RunReport } from '../engine/engine';
import { overDomainLimit, type BrakeResult } from '../core/planner';
import { EXIT } from './exit-codes';
import { undecidedOf, type Summary } from './summary';

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
  /** What the run deleted, or for a dry run (`dryRun`) what the real run would delete. */
  reaped: number;
  orphansReaped: number;
  keysDeleted: number;
  /** A dry run: it deleted nothing, so the deletion counters and the trigger brake leave its counts out. */
  dryRun?: true;
  /** Error counts by kind: 'unknown', 'invalid', 'fatal'. */
  errors: Record<string, number>;
  /** The backup a reap wrote before deleting. */
  backupPath?: string;
  /** Why a completed run was not a success (partial or refused), for logs and alerts. */
  reason?: string;
  error?: string;
  /** With --verify-dns: DNS verdicts of the domains Forgejo proved live. */
  dns?: { proven: number; ownershipLost: number; unknown: number; lookups: number };
  /** How long each step the run reached took, in milliseconds (`RunPhase`). */
  phasesMs?: Partial<Record<RunPhase, number>>;
}

export type RunResult = 'success' | 'partial' | 'refused' | 'failed' | 'interrupted';

/**
 * How a run ended, for `pages_reaper_runs_total{result}` and logs: exit 0 success,
 * 2 partial, 3 refused; a run stopped by SIGTERM/SIGINT (130) interrupted; a run that did
 * not complete otherwise, or any other exit code, failed.
 */
export function runResult(status: RunStatus): RunResult {
  if (!status.completed) return status.exitCode === EXIT.interrupted ? 'interrupted' : 'failed';
  switch (status.exitCode) {
    case EXIT.ok:
      return 'success';
    case EXIT.partial:
      return 'partial';
    case EXIT.refused:
      return 'refused';
    default:
      return 'failed';
  }
}

/** Why a run that completed was refused or partial, in one line; undefined for a success. */
export function reasonOfRun(report: RunReport, summary: Summary): string | undefined {
  if (summary.refusedByBrake && report.plan) {
    const b = report.plan.brake;
    if (b.sweepRefused)
      return (
        'refused by the brake: the last sweep was refused, and until a sweep is allowed a triggered run deletes nothing ' +
        '(check --forgejo-host and --forgejo-token, or pass --force)'
      );
    if (refusedForOrphanReverse(b))
      return (
        `refused by the brake: ${overTheLimit(b)}; keys of that shape ({owner}:{repo} -> a host name) ` +
        `may be another application's; nothing was deleted (check that this is the plugin's store, and --forgejo-host, or pass --force)`
      );
    return `refused by the brake: ${overTheLimit(b)}; nothing was deleted (check --forgejo-host and --forgejo-token, or pass --force)`;
  }
  const parts: string[] = [];
  if (report.stoppedEarly) parts.push(report.stoppedEarly);
  // Entries neither unknown nor invalid: said by why they were left.
  const others = summary.errors - summary.unknown - summary.invalid;
  const { reverseUnknown, rerun, unreadable } = others > 0 ? undecidedOf(report) : { reverseUnknown: 0, rerun: 0, unreadable: 0 };
  if (summary.errors > 0) {
    const kinds = [
      summary.unknown > 0 ? `${summary.unknown} unknown` : '',
      summary.invalid > 0 ? `${summary.invalid} invalid` : '',
      reverseUnknown > 0 ? `${reverseUnknown} reverse ${reverseUnknown === 1 ? 'key' : 'keys'} unchecked` : '',
      rerun > 0 ? `${rerun} changed during the run, left for the next` : '',
      unreadable > 0 ? `${unreadable} ${unreadable === 1 ? 'name' : 'names'} not UTF-8` : '',
    ].filter(Boolean);
    parts.push(`${summary.errors} ${summary.errors === 1 ? 'entry' : 'entries'} kept, not decided (${kinds.join(', ')})`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** Whether a brake that tripped was over its limit on orphan reverse keys alone (not on stale domains). */
export function refusedForOrphanReverse(b: BrakeResult): boolean {
  return b.orphanReverse !== undefined && !overDomainLimit(b);
}

/** What a tripped brake was over, in the words of the report and of the log line alike. */
export function overTheLimit(b: BrakeResult): string {
  const limit = `above the ${percent(b.maxStaleRatio)} limit`;
  if (refusedForOrphanReverse(b))
    return `${b.orphanReverse!.reaped} reverse keys with no mapping back would be reaped, ${percent(b.orphanReverse!.ratio)} of them and the ${b.mappedDomains} mapped domains, ${limit}`;
  return `${b.staleDomains} of ${b.mappedDomains} mapped domains (${percent(b.ratio)}) would be reaped, ${limit}`;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

/**
 * A finished run's status. A dry run deleted nothing: its counts are what the real run
 * would delete (as its report and log line say them), and `dryRun` keeps them out of the
 * metrics' `…_reaped_total` and `keys_deleted_total` and the webhook trigger's brake.
 */
export function statusOfRun(report: RunReport, summary: Summary, finishedAt: number, dryRun = false): RunStatus {
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
    ...(dryRun ? { dryRun: true as const } : {}),
    // A run stopped early (Forgejo failing every check, the resolver gone) ended fatally
    // though it completed: errors_total{kind="fatal"} is what an alert on failures watches.
    errors: { unknown: summary.unknown, invalid: summary.invalid, ...(summary.exitCode === EXIT.fatal ? { fatal: 1 } : {}) },
    backupPath: report.backupPath,
    reason: reasonOfRun(report, summary),
    ...(summary.dns
      ? {
          dns: {
            proven: summary.dns.proven,
            ownershipLost: summary.dns.ownershipLost,
            unknown: summary.dns.unknown,
            lookups: summary.dns.lookups,
          },
        }
      : {}),
    ...(report.phasesMs ? { phasesMs: report.phasesMs } : {}),
  };
}

/**
 * A run that could not finish. One that failed or was interrupted during its deletes
 * (`deletions`) counts what the calls that answered deleted, and names its backup: the
 * metrics' deletion counters and the log line say what the store lost, not zero.
 */
export function statusOfFailure(
  startedAt: number,
  finishedAt: number,
  error: unknown,
  deletions?: { deleted: DeletedSoFar; backupPath?: string },
): RunStatus {
  return {
    startedAt,
    finishedAt,
    completed: false,
    exitCode: EXIT.fatal,
    domainsScanned: 0,
    live: 0,
    stale: 0,
    pending: 0,
    reaped: deletions?.deleted.domains ?? 0,
    orphansReaped: deletions?.deleted.orphans ?? 0,
    keysDeleted: deletions?.deleted.keys ?? 0,
    errors: { fatal: 1 },
    ...(deletions?.backupPath === undefined ? {} : { backupPath: deletions.backupPath }),
    error: error instanceof Error ? error.message : String(error),
  };
}
