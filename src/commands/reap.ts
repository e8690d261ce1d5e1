import { Flags } from '@oclif/core';
import { backupDirFlag, brakeFlags, ReaperCommand, sourceFlags, storeFlags } from '../cli/base-command';

export default class Reap extends ReaperCommand {
  static summary = 'Verify every mapping, then delete exactly the stale keys, compare-and-delete.';
  static description =
    'Exit codes: 0 success, 1 fatal (store unreachable, bad arguments), 2 partial (some entries unknown or invalid), ' +
    '3 refused by the brake, 130 interrupted. A --dry-run exits with the code the real run would have.';
  static examples = [
    '<%= config.bin %> reap --dry-run --forgejo-host https://git.example.com',
    'REDIS_HOST=redis FORGEJO_HOST=https://git.example.com FORGEJO_TOKEN=… <%= config.bin %> reap',
  ];
  static flags = {
    ...storeFlags,
    ...sourceFlags,
    ...brakeFlags,
    ...backupDirFlag,
    backup: Flags.boolean({
      description: 'write a backup of every key before deleting it (--no-backup: the explicit opt-out)',
      default: true,
      allowNo: true,
      helpGroup: 'BACKUP',
    }),
    'dry-run': Flags.boolean({ description: 'print the exact keys that would be deleted and why; change nothing', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Reap);
    await this.runStage(flags, flags['dry-run'] ? 'plan' : 'apply', { command: 'reap', dryRun: flags['dry-run'] });
  }
}
