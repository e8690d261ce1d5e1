import { Flags } from '@oclif/core';
import { backupDirFlag, brakeFlags, graceFlag, ReaperCommand, reportFlags, sourceFlags, storeFlags } from '../cli/base-command';
import { parseDuration } from '../core/duration';
import { dnsFlags } from '../cli/dns-flags';

export default class Reap extends ReaperCommand {
  static summary = 'Verify every mapping, then delete exactly the stale keys, compare-and-delete.';
  static description =
    'Exit codes: 0 success, 1 fatal (store unreachable, bad arguments), 2 partial (some entries unknown or invalid), ' +
    '3 refused by the brake, 130 interrupted. A --dry-run exits with the code the real run would have. ' +
    'With --interval it runs as a sidecar until SIGTERM (then exit 0).';
  static examples = [
    '<%= config.bin %> reap --dry-run --forgejo-host https://git.example.com',
    'REDIS_HOST=redis FORGEJO_HOST=https://git.example.com FORGEJO_TOKEN=… <%= config.bin %> reap',
    '<%= config.bin %> reap --interval 1h --jitter 5m --grace 24h --listen 0.0.0.0:9464',
  ];
  static flags = {
    ...storeFlags,
    ...sourceFlags,
    ...brakeFlags,
    ...backupDirFlag,
    ...graceFlag,
    ...reportFlags,
    ...dnsFlags,
    backup: Flags.boolean({
      description: 'write a backup of every key before deleting it (--no-backup: the explicit opt-out)',
      default: true,
      allowNo: true,
      helpGroup: 'BACKUP',
    }),
    'dry-run': Flags.boolean({ description: 'print the exact keys that would be deleted and why; change nothing', default: false }),
    interval: Flags.string({ description: 'run forever, one run every DURATION (e.g. 1h): the sidecar mode', env: 'REAPER_INTERVAL', helpGroup: 'SIDECAR' }),
    jitter: Flags.string({ description: 'add up to DURATION at random to each wait, to spread replicas', env: 'REAPER_JITTER', default: '0s', helpGroup: 'SIDECAR' }),
    listen: Flags.string({ description: 'serve /healthz, /readyz and /metrics on HOST:PORT (with --interval)', env: 'REAPER_LISTEN', dependsOn: ['interval'], helpGroup: 'SIDECAR' }),
    'metrics-file': Flags.string({ description: "write Prometheus metrics to PATH after each run (node_exporter's textfile collector)", env: 'REAPER_METRICS_FILE', helpGroup: 'SIDECAR' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Reap);
    const stage = flags['dry-run'] ? 'plan' : 'apply';
    const context = { command: 'reap' as const, dryRun: flags['dry-run'], verbose: flags.verbose, bin: this.bin() };
    if (!flags.interval) return this.runStage(flags, stage, context);
    const settings = this.settings(flags);
    let intervalMs: number;
    let jitterMs: number;
    try {
      intervalMs = parseDuration(flags.interval, '--interval');
      jitterMs = parseDuration(flags.jitter, '--jitter');
      if (intervalMs < 1000) throw new Error(`--interval ${flags.interval} is too short: use 1s or more`);
    } catch (error) {
      return this.fail(error);
    }
    try {
      // The sidecar (HTTP server, prom-client) is loaded only in --interval mode.
      const { runSidecar } = require('../cli/sidecar') as typeof import('../cli/sidecar');
      await runSidecar({
        settings,
        stage,
        context,
        intervalMs,
        jitterMs,
        listen: flags.listen,
        metricsFile: flags['metrics-file'],
        logFormat: (flags['log-format'] as 'json' | 'human' | undefined) ?? (process.stdout.isTTY ? 'human' : 'json'),
        version: this.config.version,
      });
    } catch (error) {
      return this.fail(error);
    }
  }
}
