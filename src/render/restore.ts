import type { BackupHeader } from '../backup/format';
import type { RestoreResult } from '../engine/transfer';
import { escapeControls } from './escape';

const RULE = '='.repeat(60);

/** What `restore` did (or, with --dry-run, would do), and the exit code it ends with. */
export interface RestoreReport {
  command: 'restore';
  file: string;
  /** The backup's own path, as the reader opened it. */
  path: string;
  header: BackupHeader;
  /** The store written to (the header names the one the backup was taken from). */
  store: string;
  /** Entries in the backup. */
  entries: number;
  dryRun: boolean;
  result: RestoreResult;
  durationMs: number;
  exitCode: number;
}

export function renderRestoreJson(report: RestoreReport): string {
  const { command, file, store, header, entries, dryRun, result, durationMs, exitCode } = report;
  return JSON.stringify({ command, file, store, header, entries, dryRun, ...result, durationMs, exitCode }, null, 2) + '\n';
}

export function renderRestoreHuman(report: RestoreReport): string {
  const { header, result, dryRun } = report;
  const c = result.counts;
  const out = [
    `♻️  Restoring ${report.path} into ${report.store}: ${report.entries} entries from ${header.store}, ${header.createdAt} (${header.reason})`,
  ];
  if (dryRun) out.push('🔍 DRY RUN MODE - No changes will be made');
  out.push('');
  const verb = dryRun ? 'Would write' : 'Wrote';
  if (result.written.length > 0) out.push(`${verb} ${c.written + c.replaced} keys:`, ...result.written.map((key) => `   - ${key}`));
  const more = (shown: number, total: number) => (total > shown ? [`   … and ${total - shown} more`] : []);
  out.push(...more(result.written.length, c.written + c.replaced));
  for (const key of result.conflicts) out.push(`⚠️  ${key}: exists with another value; left alone (use --overwrite to replace it)`);
  out.push(...more(result.conflicts.length, c.exists));
  for (const key of result.taken)
    out.push(
      `⚠️  ${key}: left alone with its registration, another key of which holds another value (the domain was registered again); use --overwrite to replace them`,
    );
  out.push(...more(result.taken.length, c.taken));
  for (const domain of result.unmapped)
    out.push(
      `⚠️  ${domain}: the backup holds no forward mapping of it (custom_domain:${domain}); names are matched as written, case included`,
    );
  for (const key of result.unsupported) out.push(`⚠️  ${key}: this store cannot hold it (its type, or a DUMP payload it refuses); skipped`);
  out.push('', RULE, '📊 RESTORE SUMMARY', RULE);
  out.push(`Entries in backup:      ${report.entries}`);
  out.push(`${dryRun ? 'Would write:           ' : 'Written:               '} ${c.written}`);
  out.push(`${dryRun ? 'Would replace:         ' : 'Replaced:              '} ${c.replaced}`);
  out.push(`Already identical:      ${c.same}`);
  out.push(`Skipped, other value:   ${c.exists}`);
  if (c.taken > 0) out.push(`Skipped, registered again: ${c.taken}`);
  out.push(`Skipped, expired:       ${c.expired}`);
  if (result.notSelected > 0) out.push(`Not selected (--domain): ${result.notSelected}`);
  out.push(`Duration:               ${(report.durationMs / 1000).toFixed(2)} seconds`);
  if (dryRun) out.push('', '🔍 DRY RUN - No actual changes were made');
  out.push(RULE, '');
  return out.map(escapeControls).join('\n');
}
