import type { Selection } from '../core/selection';
import { escapeControls } from './escape';

/** What `backup` did: its result, rendered as a line or a JSON document. */
export interface BackupReport {
  command: 'backup';
  path: string;
  store: string;
  selection: Selection;
  entries: number;
  /** Keys that could not be saved: not in the backup. */
  unsupported: string[];
  /** Domains given with --domain that no forward mapping in the store names. */
  unmapped: string[];
  durationMs: number;
}

export function renderBackup(report: BackupReport, json: boolean): string {
  if (json) return JSON.stringify(report, null, 2) + '\n';
  const lines = [
    `💾 Backed up ${report.entries} keys from ${report.store} to ${report.path} in ${(report.durationMs / 1000).toFixed(2)} seconds`,
  ];
  for (const key of report.unsupported) lines.push(`⚠️  ${key}: could not be saved; not in the backup`);
  for (const domain of report.unmapped)
    lines.push(
      `⚠️  ${domain}: no forward mapping (custom_domain:${domain}) in the store; names are matched as the plugin wrote them, case included`,
    );
  return lines.map(escapeControls).join('\n') + '\n';
}
