import { ReaperCommand } from '../cli/base-command';
import { reportFlags, sourceFlags, storeFlags } from '../cli/flags';

export default class Scan extends ReaperCommand {
  static summary = 'List the plugin keys in the store: mappings, routers, orphans and anomalies (no API calls).';
  static examples = ['<%= config.bin %> scan --redis-host redis.internal', '<%= config.bin %> scan --json'];
  static description = 'Accepts the Forgejo flags too, so one command line serves every command; scan never uses them.';
  static flags = { ...storeFlags, ...sourceFlags, ...reportFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(Scan);
    await this.runStage(flags, 'scan', { command: 'scan', dryRun: false });
  }
}
