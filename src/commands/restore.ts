import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BackupReader, NotWholeBackupError } from '../backup/reader';
import { ReaperCommand } from '../cli/base-command';
import { domainName, storeFlags } from '../cli/flags';
import { EXIT } from '../report/exit-codes';
import { ReaperError, UsageError } from '../report/errors';
import { restoreEntries, type RestoreResult } from '../engine/transfer';
import { progressFor } from '../render/progress-bar';
import { renderRestoreHuman, renderRestoreJson, type RestoreReport } from '../render/restore';

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
    domain: domainName({ description: "restore only this domain's keys (repeatable)", multiple: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Restore);
    const started = Date.now();
    // From here on, SIGINT/SIGTERM end the run with 130 (verifying a large file takes a while).
    this.interruptionLeaves = {
      problem: 'the entries written so far are in the store, the others are not',
      hint: 'run the same restore again to finish (what it wrote then counts as already identical)',
    };
    const interrupt = this.trapInterrupt();
    let reader: BackupReader;
    try {
      reader = await BackupReader.verify(args.file);
    } catch (error) {
      await interrupt.release();
      if (error instanceof NotWholeBackupError) {
        throw new ReaperError(`${error.message}; nothing was restored`, {
          hint: 'give a whole backup file as pages-reaper backup or reap wrote it (docs/backup-format.md)',
        });
      }
      throw error;
    }
    // The keys are named in the file; its header says under which root (the --domain selection and the registrations follow it).
    if (this.givenOnCommandLine('root-key') && flags['root-key'] !== reader.header.rootKey) {
      await interrupt.release();
      throw new UsageError(
        `--root-key ${flags['root-key']} would be ignored: the backup's keys are named under its root key ${reader.header.rootKey}; drop --root-key`,
      );
    }
    const runtime = await this.openRuntime(this.settings(flags), false, interrupt);
    let result: RestoreResult;
    const progress = progressFor(flags.json);
    try {
      result = await restoreEntries(runtime.store, reader, {
        mode: flags.overwrite ? 'overwrite' : 'if-absent',
        dryRun: flags['dry-run'],
        domains: flags.domain,
        progress,
      });
    } catch (error) {
      progress?.stop();
      await runtime.close();
      await interrupt.release();
      throw error;
    }
    progress?.stop();
    const store = runtime.store.describe();
    await runtime.close();
    const incomplete = result.counts.exists + result.counts.unsupported + result.counts.taken + result.unmapped.length;
    const report: RestoreReport = {
      command: 'restore',
      file: args.file,
      path: reader.path,
      header: reader.header,
      store,
      entries: reader.count,
      dryRun: flags['dry-run'],
      result,
      durationMs: Date.now() - started,
      exitCode: incomplete > 0 ? EXIT.partial : EXIT.ok,
    };
    await this.reportThenRelease(interrupt, process.stdout, flags.json ? renderRestoreJson(report) : renderRestoreHuman(report));
    if (report.exitCode !== EXIT.ok) return this.exit(report.exitCode);
  }
}
