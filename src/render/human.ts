import type { RunReport } from '../engine/engine';
import { groupFate, type GroupFate, type Summary } from '../report/summary';
import { overTheLimit, refusedForOrphanReverse } from '../report/run-status';
import { groupIndexByDomain, type DeletionGroup } from '../core/planner';
import { countInventory, type ForwardMapping } from '../core/inventory';
import { formatTarget } from '../core/mapping';
import type { Verdict } from '../core/verdict';
import { verdictOfView, verdictsToPlan } from '../core/compact';
import { escapeControls } from './escape';
import { shellQuote } from './shell-quote';
import { LINES_PER_BATCH } from './sink';

export interface RenderContext {
  command: 'scan' | 'verify' | 'reap';
  dryRun: boolean;
  store: string;
  source?: string;
  /** List every domain, live ones too; by default only what changes or needs a look. */
  verbose?: boolean;
  /** How to run this binary again, for the undo line (default `pages-reaper`). */
  bin?: string;
  /** The store flags the undo line needs, and the secrets it leaves out (`storeArguments`). */
  restore?: { args: string; withheld: string[] };
}

const RULE = '='.repeat(60);

function groupOutcomeLines(group: DeletionGroup, fate: GroupFate): string[] {
  const keys = group.keys.map((k) => k.key);
  switch (fate) {
    case 'refused':
    case 'would-delete': {
      const verb = fate === 'refused' ? '🛑 [REFUSED] Would delete' : '🔍 [DRY RUN] Would delete';
      return [`  ${verb} ${count(keys.length, 'key')}:`, ...keys.map((k) => `     - ${k}`)];
    }
    case 'deleted':
      return [...keys.map((k) => `     ✓ Deleted: ${k}`), `  ✓ Deleted ${keys.length}/${count(keys.length, 'key')}`];
    case 'changed':
      return ['  ⚠️  Changed since it was read (re-registered?): nothing of it was deleted'];
    case 'changed-still-stale':
      return [
        '  ⚠️  Kept: another domain registered its Traefik name meanwhile, or a key of it was rewritten (on etcd a re-registration with the same values is one); its mapping still holds what was verified stale, nothing of it was deleted, and the next run verifies it again',
      ];
    default:
      return [];
  }
}

function mappingLine(mapping: Pick<ForwardMapping, 'domain' | 'target'>): string {
  return mapping.target ? `📋 ${mapping.domain} -> ${formatTarget(mapping.target)}` : `📋 ${mapping.domain}`;
}

/** A domain the report lists: its mapping's target and its verdict, if it has one. */
interface Listed extends Pick<ForwardMapping, 'domain' | 'target'> {
  verdict: Verdict | undefined;
}

/** Domains whose verdict is other than live: what a report lists without --verbose. */
function* notLiveDomains(verdicts: ReadonlyMap<string, Verdict>): IterableIterator<string> {
  for (const [domain, verdict] of verdictsToPlan(verdicts)) if (verdict.status !== 'live') yield domain;
}

/**
 * What the report lists, in domain order: with --verbose every mapping, read where the
 * table's sorted walk finds it (looked up again by name, each of a million domains cost a
 * `scan --verbose` about as much as its JSON report's three times as many bytes);
 * without it the few that are not live, looked up by name (their key and target only,
 * not the whole mapping with a copy of its value).
 */
function* listedDomains(report: RunReport, verbose: boolean | undefined): IterableIterator<Listed> {
  const forwards = report.inventory.forwards;
  const verdicts = report.forwardVerdicts;
  if (verbose) {
    for (const view of forwards.sortedViews())
      yield { domain: view.domain, target: view.target, verdict: verdictOfView(verdicts, forwards, view) };
    return;
  }
  for (const domain of forwards.sortedAmong(notLiveDomains(verdicts))) {
    yield { domain, target: forwards.keyAndTarget(domain)?.target, verdict: verdicts.get(domain) };
  }
}

/**
 * The report operators know from the old script, with the reasons it never gave, as
 * batches of lines produced as they are written (see `writeBatches`; `joinBatches` gives
 * the whole text); no line holds a control character (`escapeControls`).
 */
export function* humanReport(report: RunReport, summary: Summary, ctx: RenderContext): Generator<string[]> {
  for (const batch of reportLines(report, summary, ctx)) {
    for (let i = 0; i < batch.length; i++) batch[i] = escapeControls(batch[i]);
    yield batch;
  }
}

function* reportLines(report: RunReport, summary: Summary, ctx: RenderContext): Generator<string[]> {
  const out: string[] = [];
  out.push(`🔍 Scanning ${ctx.store}`);
  if (ctx.source) out.push(`🌐 Forgejo API: ${ctx.source}`);
  if (report.dns) out.push(`🔐 DNS ownership (TXT): ${report.dnsServers}`);
  if (ctx.dryRun) out.push('🔍 DRY RUN MODE - No changes will be made');
  out.push('');

  const groupIndex = groupIndexByDomain(report.plan);
  const refused = summary.refusedByBrake;
  const fateOf = (index: number) => groupFate(report, ctx.dryRun, refused, index);
  // A sidecar run prints this every hour: live domains (the thousands that need nothing)
  // are counted, and listed only with --verbose. Without it, the domains listed are found
  // among the verdicts that are not live, not by sorting every domain. A stopped run's
  // verdicts are the one cause repeated (or never asked): it is said once, below.
  const forwards = report.inventory.forwards;
  let listed = 0;
  for (const mapping of report.stoppedEarly ? [] : listedDomains(report, ctx.verbose)) {
    if (out.length >= LINES_PER_BATCH) yield out.splice(0);
    listed++;
    const { domain, verdict } = mapping;
    if (verdict?.status === 'invalid') {
      out.push(`⚠️  ${domain}: ${verdict.reason} (skipping)`);
      continue;
    }
    out.push(mappingLine(mapping));
    if (!verdict) continue;
    if (verdict.status === 'live') out.push(`  ✓ Live: ${verdict.reason}`);
    else if (verdict.status === 'unknown') out.push(`  ⚠️  Error checking ${formatTarget(mapping.target!)}: ${verdict.reason}`);
    else {
      const since = report.grace?.staleSince.get(mapping.domain);
      out.push(`  ❌ Stale: ${verdict.reason}${since === undefined ? '' : ` (stale since ${new Date(since).toISOString()})`}`);
      const pending = report.grace?.pending.get(mapping.domain);
      if (pending) out.push(`  ⏳ Within the grace period: reaped from ${new Date(pending.dueAt).toISOString()} if still stale`);
      const index = groupIndex.get(mapping.domain);
      if (index !== undefined) out.push(...groupOutcomeLines(report.plan!.groups[index], fateOf(index)));
    }
  }

  const notListed = report.stoppedEarly || ctx.verbose ? 0 : forwards.size - listed;
  if (notListed > 0) {
    const what = ctx.command === 'scan' ? count(notListed, 'mapping') : count(notListed, 'live domain');
    out.push(`ℹ️  ${what} not listed (--verbose lists every domain)`);
  }

  if (ctx.command === 'scan') {
    const c = countInventory(report.inventory);
    out.push(
      '',
      `🔑 Keys scanned: ${c.keysScanned}`,
      `   forward mappings: ${c.forward} (+${c.branchForward} branch, ${c.invalidForward} invalid)`,
      `   reverse mappings: ${c.reverse} (+${c.branchReverse} branch)`,
      `   routers: ${c.routers} (${c.routerKeys} keys), redirect middlewares: ${c.middlewares}, redirects_meta: ${c.redirectsMeta}`,
    );
  }

  const orphans = report.plan?.groups.map((group, index) => ({ group, index })).filter(({ group }) => group.kind !== 'domain') ?? [];
  const uncheckedReverse = report.stoppedEarly ? [] : [...report.reverseVerdicts].filter(([, v]) => v.status === 'unknown');
  if (orphans.length > 0 || uncheckedReverse.length > 0) {
    out.push('', '🧹 Orphaned keys');
    for (const { group, index } of orphans) {
      out.push(`  ❌ ${group.kind.replace('orphan-', '')} ${group.subject}: ${group.reason}`);
      out.push(...groupOutcomeLines(group, fateOf(index)));
    }
    for (const [key, verdict] of uncheckedReverse) out.push(`  ⚠️  Error checking reverse key ${key}: ${verdict.reason}`);
  }

  for (const kept of report.plan?.kept ?? []) out.push(`ℹ️  ${kept.subject}: ${kept.reason}`);
  if (report.inventory.anomalies.length > 0) {
    out.push('', '🔎 Anomalies (reported, never touched)');
    for (const anomaly of report.inventory.anomalies) out.push(`  ⚠️  ${anomaly.kind} ${anomaly.key}: ${anomaly.detail}`);
  }
  if (report.backupPath) {
    out.push('', ...backupLines('deleted', report.backupPath, undoCommand(ctx.bin ?? 'pages-reaper', report.backupPath, ctx.restore)));
  }
  if (report.stoppedEarly) out.push('', `🛑 ${capitalize(report.stoppedEarly)}. Nothing was deleted.`);
  if (refused) {
    const b = report.plan!.brake;
    if (b.sweepRefused)
      out.push(
        '',
        '🛑 Refused: the last sweep was refused by the brake, and until a sweep is allowed a triggered run deletes nothing. ' +
          'Check --forgejo-host and --forgejo-token, or pass --force if this is intended.',
      );
    else if (refusedForOrphanReverse(b))
      out.push(
        '',
        `🛑 Refused: ${overTheLimit(b)}. Keys of that shape ({owner}:{repo} -> a host name) may be another application's. ` +
          "Nothing was deleted. Check that this is the plugin's store and --forgejo-host, or pass --force if this is intended.",
      );
    else
      out.push(
        '',
        `🛑 Refused: ${overTheLimit(b)}. ` +
          'Nothing was deleted. Check --forgejo-host and --forgejo-token, or pass --force (or raise --max-stale-ratio) if this is intended.',
      );
  }

  // Scripts grep these labels: keep them, and their column, for real runs. A dry run
  // cleans nothing, and says so.
  const rows: Array<[string, string]> = [['Total domains scanned', String(summary.domainsScanned)]];
  if (ctx.command === 'reap') {
    const cleaned = ctx.dryRun ? 'that would be cleaned' : 'cleaned';
    rows.push([`Stale domains ${cleaned}`, String(summary.staleDomainsCleaned)]);
    rows.push([`Orphaned keys ${cleaned}`, count(summary.orphansCleaned, 'group')]);
  } else if (ctx.command === 'verify') {
    rows.push(['Live / stale', `${summary.live} / ${summary.stale}`]);
  }
  if (report.grace) rows.push(['Within grace period', String(summary.pending)]);
  if (summary.dns)
    rows.push(['DNS ownership', `${summary.dns.proven} proven / ${summary.dns.ownershipLost} lost / ${summary.dns.unknown} unknown`]);
  rows.push(['Errors encountered', String(summary.errors)]);
  rows.push(['Duration', `${(report.durationMs / 1000).toFixed(2)} seconds`]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 3;
  out.push('', RULE, '📊 REAPER SUMMARY', RULE);
  for (const [label, value] of rows) out.push(`${`${label}:`.padEnd(width)}${value}`);
  if (ctx.dryRun) out.push('', '🔍 DRY RUN - No actual changes were made');
  out.push(RULE, '');
  yield out;
}

/** `1 group`, `2 groups`. */
function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * `BIN restore PATH STORE-FLAGS`, as the operator can run it; secrets left out are named
 * in a shell comment, so the line still runs when pasted whole.
 */
/** Where the backup is and the command that undoes the run: the two lines every report and message says them in. */
export function backupLines(keys: 'deleted' | 'planned', backupPath: string, undo: string): [string, string] {
  return [`💾 Backup of every ${keys} key: ${backupPath}`, `   Undo with: ${undo}`];
}

export function undoCommand(bin: string, backupPath: string, restore?: { args: string; withheld: string[] }): string {
  const command = [bin, 'restore', shellQuote(backupPath), restore?.args].filter(Boolean).join(' ');
  return restore && restore.withheld.length > 0 ? `${command}  # give ${restore.withheld.join(' and ')} as for this run` : command;
}
