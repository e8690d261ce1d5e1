import * as Flags from '@oclif/core/flags';
import { timestampedPath } from '../backup/writer';
import { ReaperCommand } from '../cli/base-command';
import { backupDirFlag, defaultBackupDir, domainName, storeFlags } from '../cli/flags';
import type { Selection } from '../core/selection';
import { EXIT } from '../report/exit-codes';
import { backupToFile, type BackupResult } from '../engine/transfer';
import { renderBackup, type BackupReport } from '../render/backup';
import { progressFor } from '../render/progress-bar';

export default class Backup extends ReaperCommand {
  static summary = "Write the plugin's keys (or a chosen set) to a checksummed JSON Lines file.";
  static description =
    'Without a selection: every key the reaper manages (forward and reverse mappings, branch variants, routers, ' +
    'redirect middlewares, redirects_meta). The file format is documented in docs/backup-format.md.';
  static examples = [
    '<%= config.bin %> backup',
    '<%= config.bin %> backup --domain www.example.com --output site.jsonl',
    '<%= config.bin %> backup --all --output everything.jsonl.gz',
  ];
  static flags = {
    ...storeFlags,
    ...backupDirFlag,
    output: Flags.string({
      char: 'o',
      description: "file to write ('-' for stdout; a name ending in .gz is gzipped) [default: a timestamped file in --backup-dir]",
    }),
    domain: domainName({ description: "a domain's whole key set (repeatable)", multiple: true, exclusive: ['prefix', 'all'] }),
    prefix: Flags.string({ description: 'raw keys under this literal prefix (repeatable)', multiple: true, exclusive: ['domain', 'all'] }),
    all: Flags.boolean({ description: 'every key in the store, of every type', default: false, exclusive: ['domain', 'prefix'] }),
    reason: Flags.string({ description: 'why the backup was taken, recorded in its header', default: 'manual backup' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Backup);
    const started = Date.now();
    const selection: Selection = flags.all
      ? { kind: 'all' }
      : flags.domain?.length
        ? { kind: 'domains', domains: flags.domain }
        : flags.prefix?.length
          ? { kind: 'prefixes', prefixes: flags.prefix }
          : { kind: 'plugin' };
    const settings = this.settings(flags);
    // With the backup on stdout, a --json error document goes to stderr.
    if (flags.output === '-') this.jsonErrors = process.stderr;
    this.interruptionLeaves = {
      problem: 'no backup was written (the unfinished file is removed), and nothing in the store was changed',
      hint: 'run it again',
    };
    const interrupt = this.trapInterrupt();
    let report: BackupReport;
    try {
      const runtime = await this.openRuntime(settings, false, interrupt);
      let result: BackupResult;
      try {
        const path = flags.output ?? (await timestampedPath(flags['backup-dir'] ?? defaultBackupDir(), 'backup'));
        // A bar on stdout's neighbour would corrupt `--output -`: stderr only, and only on a TTY.
        result = await backupToFile(runtime.store, settings.rootKey, selection, path, { reason: flags.reason }, progressFor(flags.json));
      } finally {
        await runtime.close();
      }
      const { path, written: entries, unsupported, unmapped } = result;
      report = {
        command: 'backup',
        path,
        store: runtime.store.describe(),
        selection,
        entries,
        unsupported,
        unmapped,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      await interrupt.release();
      throw error;
    }
    // With the backup on stdout, the report goes to stderr.
    await this.reportThenRelease(interrupt, report.path === '-' ? process.stderr : process.stdout, renderBackup(report, flags.json));
    if (report.unsupported.length > 0 || report.unmapped.length > 0) return this.exit(EXIT.partial);
  }
}
