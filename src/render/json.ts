import { countInventory } from '../core/inventory';
import type { RunReport } from '../engine/engine';
import { groupFate, type Summary } from '../engine/summary';
import { groupIndexByDomain } from '../core/planner';
import type { RenderContext } from './human';

function isoOrUndefined(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** One machine-readable document per run; key values are never included. */
export function renderJson(report: RunReport, summary: Summary, ctx: RenderContext): string {
  const groups = report.plan?.groups ?? [];
  const domainGroup = groupIndexByDomain(report.plan);
  const fateOf = (index: number | undefined) => (index === undefined ? undefined : groupFate(report, ctx.dryRun, summary.refusedByBrake, index));
  const domains = [...report.inventory.forwards.values()]
    .sort((a, b) => (a.domain < b.domain ? -1 : 1))
    .map((mapping) => {
      const verdict = report.forwardVerdicts.get(mapping.domain);
      const index = domainGroup.get(mapping.domain);
      return {
        domain: mapping.domain,
        key: mapping.key,
        owner: mapping.target?.owner,
        repo: mapping.target?.repo,
        branch: mapping.target?.branch,
        verdict: verdict?.status,
        reason: verdict?.reason,
        staleSince: isoOrUndefined(report.grace?.staleSince.get(mapping.domain)),
        graceDueAt: isoOrUndefined(report.grace?.pending.get(mapping.domain)?.dueAt),
        keys: index === undefined ? undefined : groups[index].keys.map((k) => k.key),
        outcome: fateOf(index),
        ...(report.dns ? { dns: report.dns.get(mapping.domain) } : {}),
      };
    });
  const orphans = groups
    .map((group, index) => ({ group, index }))
    .filter(({ group }) => group.kind !== 'domain')
    .map(({ group, index }) => ({
      kind: group.kind,
      subject: group.subject,
      reason: group.reason,
      keys: group.keys.map((k) => k.key),
      outcome: fateOf(index),
    }));
  const document = {
    command: ctx.command,
    dryRun: ctx.dryRun,
    store: ctx.store,
    source: ctx.source,
    ...(report.dns ? { dnsServers: report.dnsServers, dnsLookups: report.dnsLookups } : {}),
    rootKey: report.inventory.rootKey,
    startedAt: new Date(report.startedAt).toISOString(),
    durationMs: report.durationMs,
    requests: report.requests,
    storeRoundTrips: report.storeRoundTrips,
    backupPath: report.backupPath,
    summary,
    counts: countInventory(report.inventory),
    domains,
    orphans,
    uncheckedReverseKeys: [...report.reverseVerdicts].filter(([, v]) => v.status === 'unknown').map(([key, v]) => ({ key, reason: v.reason })),
    kept: report.plan?.kept ?? [],
    anomalies: report.inventory.anomalies,
    brake: report.plan?.brake,
    stoppedEarly: report.stoppedEarly,
  };
  return JSON.stringify(document, null, 2) + '\n';
}
