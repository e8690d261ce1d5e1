import type { GroupOutcome } from '../engine/applier';
import type { RunReport } from '../engine/engine';
import { EXIT } from './exit-codes';
import { liveVerdictFlags, verdictsToPlan } from '../core/compact';
import { keyCountOf } from '../core/planner';

export interface Summary {
  domainsScanned: number;
  live: number;
  stale: number;
  /** Stale domains still within their grace period: kept this run. */
  pending: number;
  unknown: number;
  invalid: number;
  /** Stale domains whose keys were removed (or, in a dry run, would be). */
  staleDomainsCleaned: number;
  orphansCleaned: number;
  keysDeleted: number;
  /** Groups skipped because a key changed after it was read. */
  changedSinceRead: number;
  errors: number;
  refusedByBrake: boolean;
  exitCode: number;
  /** With --verify-dns: what the TXT lookups of live mappings proved. */
  dns?: DnsSummary;
}

export interface DnsSummary {
  /** Domains looked up (Forgejo proved them live first). */
  checked: number;
  proven: number;
  ownershipLost: number;
  unknown: number;
  lookups: number;
}

function summarizeDns(report: RunReport): DnsSummary | undefined {
  if (!report.dns) return undefined;
  const outcomes = [...report.dns.values()].map((evidence) => evidence.outcome);
  const count = (outcome: string) => outcomes.filter((o) => o === outcome).length;
  return {
    checked: outcomes.length,
    proven: count('proven'),
    ownershipLost: count('ownership-lost'),
    unknown: count('unknown'),
    lookups: report.dnsLookups ?? 0,
  };
}

/** What became of a plan group: refused by the brake, planned in a dry run, or its outcome. */
/** `changed-still-stale`: kept, its own mapping still naming what was verified stale (`RunReport.stillStale`). */
export type GroupFate = 'refused' | 'would-delete' | GroupOutcome | 'changed-still-stale' | undefined;

export function groupFate(report: RunReport, dryRun: boolean, refusedByBrake: boolean, index: number): GroupFate {
  if (refusedByBrake) return 'refused';
  if (dryRun) return 'would-delete';
  return report.stillStale?.has(index) ? 'changed-still-stale' : report.outcomes?.[index];
}

/** The counts every renderer shows, and the exit code of DESIGN §6 (the same for a dry run). */
/** What a run left undecided besides its unknown and invalid mappings, by why. */
export interface Undecided {
  /** Orphan reverse keys whose repository could not be asked. */
  reverseUnknown: number;
  /**
   * Groups a rerun reaps: a stale domain left because another domain took its Traefik name
   * mid-run (`stillStale`), a reverse key whose domain was registered during the run, or
   * routers too large for one step beside their mapping (`Plan['kept']`, `rerun`).
   */
  rerun: number;
  /** Keys of the plugin's whose names are not UTF-8: neither verified nor deleted. */
  unreadable: number;
}

export function undecidedOf(report: RunReport): Undecided {
  const planned = report.stage === 'plan' || report.stage === 'apply';
  return {
    reverseUnknown: [...report.reverseVerdicts.values()].filter((v) => v.status === 'unknown').length,
    rerun: (report.stillStale?.size ?? 0) + (planned ? (report.plan?.kept.filter((kept) => kept.rerun).length ?? 0) : 0),
    unreadable: report.inventory.anomalies.filter((anomaly) => anomaly.kind === 'unreadable-name').length,
  };
}

export function summarize(report: RunReport, dryRun: boolean): Summary {
  // Counted in one pass: a million verdicts are never copied into an array, and the common
  // live ones kept as flags are counted, not built.
  const statuses = new Map<string, number>();
  for (const [, verdict] of verdictsToPlan(report.forwardVerdicts)) statuses.set(verdict.status, (statuses.get(verdict.status) ?? 0) + 1);
  statuses.set('live', (statuses.get('live') ?? 0) + liveVerdictFlags(report.forwardVerdicts));
  const count = (status: string) => statuses.get(status) ?? 0;
  const { reverseUnknown, rerun, unreadable } = undecidedOf(report);
  const groups = report.plan?.groups ?? [];
  const refusedByBrake = report.stage === 'apply' || report.stage === 'plan' ? (report.plan?.brake.tripped ?? false) : false;
  const done = (index: number) => {
    const fate = groupFate(report, dryRun, refusedByBrake, index);
    return fate === 'would-delete' || fate === 'deleted';
  };
  let staleDomainsCleaned = 0;
  let orphansCleaned = 0;
  let keysDeleted = 0;
  groups.forEach((group, index) => {
    if (!done(index)) return;
    if (group.kind === 'domain') staleDomainsCleaned++;
    else orphansCleaned++;
    keysDeleted += keyCountOf(group);
  });
  const unknown = count('unknown');
  const invalid = count('invalid');
  const errors = unknown + invalid + reverseUnknown + rerun + unreadable;
  // A run the breaker stopped could not use its source at all (wrong host, revoked token):
  // fatal, like an unreachable store (DESIGN §6), not "some entries unknown".
  const exitCode = report.stoppedEarly ? EXIT.fatal : refusedByBrake ? EXIT.refused : errors > 0 ? EXIT.partial : EXIT.ok;
  return {
    domainsScanned: report.inventory.forwards.size,
    live: count('live'),
    stale: count('stale'),
    pending: report.grace?.pending.size ?? 0,
    unknown,
    invalid,
    staleDomainsCleaned,
    orphansCleaned,
    keysDeleted,
    changedSinceRead: report.outcomes?.filter((o) => o === 'changed').length ?? 0,
    errors,
    refusedByBrake,
    exitCode,
    ...(report.dns ? { dns: summarizeDns(report) } : {}),
  };
}
