import { Args, Flags } from '@oclif/core';
import { BackupReader } from '../backup/reader';
import { ReaperCommand, storeFlags } from '../cli/base-command';
import { EXIT } from '../report/exit-codes';
import { restoreEntries, type RestoreResult } from '../engine/transfer';
import { progressFor } from '../render/progress-bar';

const RULE = '='.repeat(60);

export default class Restore extends ReaperCommand {
  static summary = 'Put the keys of a backup back: absent keys only, unless --overwrite.';
  static description =
    'The whole file (header, every line, count and checksum) is verified before anything is written. ' +
    'Entries whose expiry has passed are skipped; the others get their remaining TTL back.';
  static examples = [
    '<%= config.bin %> restore ~/.local/state/pages-reaper/backups/reap-2026-11-25T20-13-00-000Z.jsonl',
    '<%= config.bin %> restore backup.jsonl.gz --domain www.example.com --dry-run',
  ];
  static args = { file: Args.string({ description: 'the backup file (plain or .gz)', required: true }) };
  static flags = {
    ...storeFlags,
    'dry-run': Flags.boolean({ description: 'list what would be written; write nothing', default: false }),
    overwrite: Flags.boolean({ description: 'replace keys that exist with another value', default: false }),
    domain: Flags.string({ description: "restore only this domain's keys (repeatable)", multiple: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Restore);
    const started = Date.now();
    // From here on, SIGINT/SIGTERM end the run with 130 (verifying a large file takes a while).
    const interrupt = this.trapInterrupt();
    let reader: BackupReader;
    try {
      reader = await BackupReader.verify(args.file);
    } catch (error) {
      interrupt.release();
      throw error;
    }
    const runtime = await this.openRuntime(this.settings(flags), false, interrupt);
    let result: RestoreResult;
    const progress = progressFor(flags.json);
    try {
      result = await restoreEntries(runtime.store, reader, { mode: flags.overwrite ? 'overwrite' : 'if-absent', dryRun: flags['dry-run'], domains: flags.domain, progress });
    } catch (error) {
      progress?.stop();
      await runtime.close();
      throw error;
    } finally {
      interrupt.release();
    }
    progress?.stop();
    await runtime.close();
    const incomplete = result.counts.exists + result.counts.unsupported;
    const exitCode = incomplete > 0 ? EXIT.partial : EXIT.ok;
    const durationMs = Date.now() - started;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ command: 'restore', file: args.file, header: reader.header, entries: reader.count, dryRun: flags['dry-run'], ...result, durationMs, exitCode }, null, 2) + '\n');
    } else {
      process.stdout.write(this.human(reader, result, flags['dry-run'], durationMs));
    }
    if (exitCode !== EXIT.ok) return this.exit(exitCode);
  }

  private human(reader: BackupReader, result: RestoreResult, dryRun: boolean, durationMs: number): string {
    const { header } = reader;
    const c = result.counts;
    const out = [`♻️  Restoring ${reader.path}: ${reader.count} entries from ${header.store}, ${header.createdAt} (${header.reason})`];
    if (dryRun) out.push('🔍 DRY RUN MODE - No changes will be made');
    out.push('');
    const verb = dryRun ? 'Would write' : 'Wrote';
    if (result.written.length > 0) out.push(`${verb} ${c.written + c.replaced} keys:`, ...result.written.map((key) => `   - ${key}`));
    const more = (shown: number, total: number) => (total > shown ? [`   … and ${total - shown} more`] : []);
    out.push(...more(result.written.length, c.written + c.replaced));
    for (const key of result.conflicts) out.push(`⚠️  ${key}: exists with another value; left alone (use --overwrite to replace it)`);
    out.push(...more(result.conflicts.length, c.exists));
    for (const key of result.unsupported) out.push(`⚠️  ${key}: this store cannot hold its type; skipped`);
    out.push('', RULE, '📊 RESTORE SUMMARY', RULE);
    out.push(`Entries in backup:      ${reader.count}`);
    out.push(`${dryRun ? 'Would write:           ' : 'Written:               '} ${c.written}`);
    out.push(`${dryRun ? 'Would replace:         ' : 'Replaced:              '} ${c.replaced}`);
    out.push(`Already identical:      ${c.same}`);
    out.push(`Skipped, other value:   ${c.exists}`);
    out.push(`Skipped, expired:       ${c.expired}`);
    if (result.notSelected > 0) out.push(`Not selected (--domain): ${result.notSelected}`);
    out.push(`Duration:               ${(durationMs / 1000).toFixed(2)} seconds`);
    if (dryRun) out.push('', '🔍 DRY RUN - No actual changes were made');
    out.push(RULE, '');
    return out.join('\n');
  }
}
