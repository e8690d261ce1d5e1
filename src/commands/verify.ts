import { ReaperCommand } from '../cli/base-command';
import { graceFlag, reportFlags, sourceFlags, storeFlags } from '../cli/flags';
import { dnsFlags } from '../cli/dns-flags';

export default class Verify extends ReaperCommand {
  static summary = 'Check every mapping against Forgejo and say live, stale, unknown or invalid, and why. Changes nothing.';
  static examples = ['<%= config.bin %> verify --forgejo-host https://git.example.com --forgejo-token-file /run/secrets/forgejo'];
  static flags = { ...storeFlags, ...sourceFlags, ...reportFlags, ...graceFlag, ...dnsFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(Verify);
    await this.runStage(flags, 'verify', { command: 'verify', dryRun: false });
  }
}
