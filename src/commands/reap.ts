import { readFileSync } from 'node:fs';
import * as Flags from '@oclif/core/flags';
import { ReaperCommand } from '../cli/base-command';
import { backupDirFlag, brakeFlags, graceFlag, hasWebhookSecret, reportFlags, sourceFlags, storeFlags } from '../cli/flags';
import { waitDuration } from '../cli/duration';
import { dnsFlags } from '../cli/dns-flags';
import type { WebhookOptions } from '../cli/sidecar';
import { ReaperError, UsageError } from '../report/errors';
import { backupDirectoryProblem } from '../backup/writer';
import type { ReaperSettings } from '../container';
import type { AnyFlags } from '../cli/flags';

const RESERVED_PATHS = ['/healthz', '/readyz', '/metrics'];

/** The webhook settings, checked: the secret is read here once and never printed. */
function webhookOptions(flags: Record<string, unknown>, secretFile: string | undefined, secretEnv: string | undefined): WebhookOptions {
  let secret: string;
  if (secretFile !== undefined) {
    try {
      secret = readFileSync(secretFile, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`cannot read --webhook-secret-file ${secretFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, {
        hint: 'give a readable file holding the secret',
      });
    }
    if (secret === '') throw new UsageError(`--webhook-secret-file ${secretFile} is empty`, { hint: "put the webhook's secret in it" });
  } else {
    secret = secretEnv!.trim();
  }
  const { path, windowMs } = webhookRoute(flags);
  return { secret: Buffer.from(secret, 'utf8'), path, windowMs, capacity: flags['webhook-queue'] as number };
}

/** The webhook's path and window, checked whether or not a webhook is asked for: a bad value is a slip either way. */
function webhookRoute(flags: Record<string, unknown>): { path: string; windowMs: number } {
  const path = flags['webhook-path'] as string;
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(path) || RESERVED_PATHS.includes(path)) {
    throw new UsageError(`invalid --webhook-path '${path}': use a path such as /hooks/forgejo, not ${RESERVED_PATHS.join(', ')}`);
  }
  return { path, windowMs: waitDuration(flags['webhook-window'] as string, '--webhook-window') };
}

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
    interval: Flags.string({
      description: 'run forever, one run every DURATION (e.g. 1h): the sidecar mode',
      env: 'REAPER_INTERVAL',
      helpGroup: 'SIDECAR',
    }),
    jitter: Flags.string({
      description: 'add up to DURATION at random to each wait, to spread replicas',
      env: 'REAPER_JITTER',
      default: '0s',
      helpGroup: 'SIDECAR',
    }),
    listen: Flags.string({
      description: 'serve /healthz, /readyz and /metrics on HOST:PORT (with --interval)',
      env: 'REAPER_LISTEN',
      dependsOn: ['interval'],
      helpGroup: 'SIDECAR',
    }),
    'webhook-secret-file': Flags.string({
      description:
        'serve Forgejo/Gitea webhook deliveries signed with the secret in PATH (needs --interval and --listen; env REAPER_WEBHOOK_SECRET also works)',
      env: 'REAPER_WEBHOOK_SECRET_FILE',
      helpGroup: 'WEBHOOKS',
    }),
    'webhook-path': Flags.string({
      description: 'where deliveries are POSTed',
      env: 'REAPER_WEBHOOK_PATH',
      default: '/hooks/forgejo',
      helpGroup: 'WEBHOOKS',
    }),
    'webhook-window': Flags.string({
      description: 'verify a repository at most once per DURATION; deliveries in between are merged',
      env: 'REAPER_WEBHOOK_WINDOW',
      default: '2s',
      helpGroup: 'WEBHOOKS',
    }),
    'webhook-queue': Flags.integer({
      description: 'repositories waiting at most; a delivery beyond is refused with 429 (the sweep catches it)',
      env: 'REAPER_WEBHOOK_QUEUE',
      default: 1000,
      min: 1,
      helpGroup: 'WEBHOOKS',
    }),
    'metrics-file': Flags.string({
      description: "write Prometheus metrics to PATH after each run (node_exporter's textfile collector)",
      env: 'REAPER_METRICS_FILE',
      helpGroup: 'SIDECAR',
    }),
  };

  /** No backup, no reap: a backup directory that cannot be written fails the run (and its dry run) before anything is read. */
  protected override settings(parsed: AnyFlags): ReaperSettings {
    const settings = super.settings(parsed);
    const problem = settings.backupDir === undefined ? undefined : backupDirectoryProblem(settings.backupDir);
    if (problem !== undefined) {
      throw new ReaperError(`no backup, no reap: ${problem}; nothing was deleted`, {
        hint: 'choose a writable --backup-dir (REAPER_BACKUP_DIR)',
      });
    }
    return settings;
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Reap);
    const stage = flags['dry-run'] ? 'plan' : 'apply';
    const context = { command: 'reap' as const, dryRun: flags['dry-run'], verbose: flags.verbose, bin: this.bin() };
    const secretFile = flags['webhook-secret-file'];
    const secretEnv = process.env.REAPER_WEBHOOK_SECRET;
    const wantsWebhook = hasWebhookSecret(flags);
    if (wantsWebhook && (!flags.interval || !flags.listen)) {
      throw new UsageError(
        'a webhook secret (--webhook-secret-file or REAPER_WEBHOOK_SECRET) needs the sidecar mode: add --interval and --listen',
      );
    }
    // The sidecar's settings are checked for a single run too: a bad value is a slip either way.
    const jitterMs = waitDuration(flags.jitter, '--jitter');
    webhookRoute(flags);
    if (!flags.interval) return this.runStage(flags, stage, context);
    const settings = this.settings(flags);
    const intervalMs = waitDuration(flags.interval, '--interval');
    if (intervalMs < 1000) throw new UsageError(`--interval ${flags.interval} is too short: use 1s or more`);
    const webhook = wantsWebhook ? webhookOptions(flags, secretFile, secretEnv) : undefined;
    // The sidecar (HTTP server, prom-client) is loaded only in --interval mode.
    const { runSidecar } = require('../cli/sidecar') as typeof import('../cli/sidecar');
    await runSidecar({
      settings,
      stage,
      context: { ...context, restore: this.restoreArguments },
      intervalMs,
      jitterMs,
      listen: flags.listen,
      metricsFile: flags['metrics-file'],
      logFormat: (flags['log-format'] as 'json' | 'human' | undefined) ?? (process.stdout.isTTY ? 'human' : 'json'),
      version: this.config.version,
      webhook,
    });
  }
}
