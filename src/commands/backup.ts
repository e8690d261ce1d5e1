import { Flags } from '@oclif/core';
import { BackupWriter, timestampedPath } from '../backup/writer';
import { backupDirFlag, defaultBackupDir, ReaperCommand, storeFlags } from '../cli/base-command';
import type { Selection } from '../core/selection';
import { EXIT } from '../report/exit-codes';
import { exportEntries } from '../engine/transfer';
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
    output: Flags.string({ char: 'o', description: "file to write ('-' for stdout; a name ending in .gz is gzipped) [default: a timestamped file in --backup-dir]" }),
    domain: Flags.string({ description: "a domain's whole key set (repeatable)", multiple: true, exclusive: ['prefix', 'all'] }),
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
    const interrupt = this.trapInterrupt();
    const runtime = await this.openRuntime(settings, false, interrupt);
    let writer: BackupWriter | undefined;
    try {
      const path = flags.output ?? (await timestampedPath(flags['backup-dir'] ?? defaultBackupDir(), 'backup'));
      writer = await BackupWriter.open(path, { store: runtime.store.describe(), rootKey: settings.rootKey, reason: flags.reason });
      // A bar on stdout's neighbour would corrupt `--output -`: stderr only, and only on a TTY.
      const progress = progressFor(flags.json);
      const result = await exportEntries(runtime.store, settings.rootKey, selection, writer, progress).finally(() => progress?.stop());
      const written = await writer.finish();
      await runtime.close();
      const report = {
        command: 'backup',
        path: written,
        store: runtime.store.describe(),
        selection,
        entries: result.written,
        unsupported: result.unsupported,
        durationMs: Date.now() - started,
      };
      // With the backup on stdout, the report goes to stderr.
      const out = written === '-' ? process.stderr : process.stdout;
      if (flags.json) out.write(JSON.stringify(report, null, 2) + '\n');
      else {
        out.write(`💾 Backed up ${result.written} keys from ${report.store} to ${written} in ${(report.durationMs / 1000).toFixed(2)} seconds\n`);
        for (const key of result.unsupported) out.write(`⚠️  ${key}: could not be saved; not in the backup\n`);
      }
      if (result.unsupported.length === 0) return;
    } catch (error) {
      await writer?.abandon();
      await runtime.close();
      throw error;
    } finally {
      interrupt.release();
    }
    return this.exit(EXIT.partial);
  }
}
