import { verdictOfView, type ForwardView } from '../core/compact';
import { countInventory } from '../core/inventory';
import type { RunReport } from '../engine/engine';
import { groupFate, type Summary } from '../report/summary';
import { groupIndexByDomain } from '../core/planner';
import type { RenderContext } from './human';
import { LINES_PER_BATCH } from './sink';

function isoOrUndefined(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

const ENTRY_INDENT = '    ';
const MEMBER_INDENT = ENTRY_INDENT + '  ';
const ITEM_INDENT = MEMBER_INDENT + '  ';

/**
 * A member's value as `JSON.stringify(…, null, 2)` writes it at a member's depth within an
 * entry of the domains array: strings and arrays of strings (nearly every value) directly,
 * anything else (`dns` evidence) through `JSON.stringify`, re-indented.
 */
function memberValueText(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    if (value.length === 0) return '[]';
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '\n' : ',\n') + ITEM_INDENT + JSON.stringify(value[i]);
    return text + '\n' + MEMBER_INDENT + ']';
  }
  return JSON.stringify(value, null, 2).replaceAll('\n', '\n' + MEMBER_INDENT);
}

/** Each member name's line start, first in its entry and after a comma: a dozen names, in every entry. */
const memberPrefixes = new Map<string, [first: string, next: string]>();
const MEMBER_NAMES_KEPT = 64;

function memberPrefix(name: string, first: boolean): string {
  let prefixes = memberPrefixes.get(name);
  if (prefixes === undefined) {
    const start = MEMBER_INDENT + JSON.stringify(name) + ': ';
    prefixes = ['\n' + start, ',\n' + start];
    if (memberPrefixes.size < MEMBER_NAMES_KEPT) memberPrefixes.set(name, prefixes);
  }
  return prefixes[first ? 0 : 1];
}

/**
 * `'    ' + JSON.stringify(entry, null, 2)` re-indented by four spaces, the text of one
 * entry of the domains array, written member by member: through the generic indenting
 * writer and a `replaceAll` each, the report phase of a 100,000-domain `scan --json` took
 * 0.8 s, now 0.5 s, and the re-indent alone made 1.2 KB of garbage a domain
 * (test/unit/json-report.test.ts pins the text).
 */
export function entryText(entry: object): string {
  let text = ENTRY_INDENT + '{';
  let first = true;
  for (const name of Object.keys(entry)) {
    const value = (entry as Record<string, unknown>)[name];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    text += memberPrefix(name, first) + memberValueText(value);
    first = false;
  }
  return first ? text + '}' : text + '\n' + ENTRY_INDENT + '}';
}

/**
 * One machine-readable document per run (key values are never included) as batches of
 * lines, produced one domain at a time as they are written (see `writeBatches`): the text
 * `JSON.stringify(document, null, 2)` gives, never whole in memory.
 */
export function* jsonReport(report: RunReport, summary: Summary, ctx: RenderContext): Generator<string[]> {
  const groups = report.plan?.groups ?? [];
  const domainGroup = groupIndexByDomain(report.plan);
  const fateOf = (index: number | undefined) =>
    index === undefined ? undefined : groupFate(report, ctx.dryRun, summary.refusedByBrake, index);
  const forwards = report.inventory.forwards;
  const domainEntry = (view: ForwardView) => {
    const domain = view.domain;
    const verdict = verdictOfView(report.forwardVerdicts, forwards, view);
    const index = domainGroup.get(domain);
    return {
      domain,
      key: view.key,
      owner: view.target?.owner,
      repo: view.target?.repo,
      branch: view.target?.branch,
      verdict: verdict?.status,
      reason: verdict?.reason,
      staleSince: isoOrUndefined(report.grace?.staleSince.get(domain)),
      graceDueAt: isoOrUndefined(report.grace?.pending.get(domain)?.dueAt),
      keys: index === undefined ? undefined : groups[index].keys.map((k) => k.key),
      outcome: fateOf(index),
      ...(report.dns ? { dns: report.dns.get(domain) } : {}),
    };
  };
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
  const head = {
    command: ctx.command,
    dryRun: ctx.dryRun,
    store: ctx.store,
    source: ctx.source,
    ...(report.dns ? { dnsServers: report.dnsServers, dnsLookups: report.dnsLookups } : {}),
    rootKey: report.inventory.rootKey,
    startedAt: new Date(report.startedAt).toISOString(),
    durationMs: report.durationMs,
    phasesMs: report.phasesMs,
    requests: report.requests,
    storeRoundTrips: report.storeRoundTrips,
    backupPath: report.backupPath,
    summary,
    counts: countInventory(report.inventory),
  };
  const tail = {
    orphans,
    uncheckedReverseKeys: [...report.reverseVerdicts]
      .filter(([, v]) => v.status === 'unknown')
      .map(([key, v]) => ({ key, reason: v.reason })),
    kept: report.plan?.kept ?? [],
    anomalies: report.inventory.anomalies,
    brake: report.plan?.brake,
    stoppedEarly: report.stoppedEarly,
  };
  const out: string[] = [];
  const members = (object: object) => {
    const text = JSON.stringify(object, null, 2);
    return text === '{}' ? '' : text.slice(2, -2);
  };
  out.push('{');
  out.push(members(head) + ',');
  if (forwards.size === 0) out.push('  "domains": [],');
  else {
    out.push('  "domains": [');
    // Each entry is written once the next is known, so the last one has no comma.
    let previous: string | undefined;
    for (const view of forwards.sortedViews()) {
      if (out.length >= LINES_PER_BATCH) yield out.splice(0);
      if (previous !== undefined) out.push(previous + ',');
      previous = entryText(domainEntry(view));
    }
    out.push(previous!, '  ],');
  }
  out.push(members(tail), '}', '');
  yield out;
}
