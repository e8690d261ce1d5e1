import { homedir } from 'node:os';
import { join } from 'node:path';
import { Flags } from '@oclif/core';
import type { ReaperSettings } from '../container';
import { UsageError } from '../report/errors';
import { duration } from './duration';

/*
 * The flags more than one command shares, each with its environment variable (DESIGN §6),
 * and how flags become settings. A flag of one command is declared in that command's file.
 */

const ratio = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input);
    if (!Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`expected a ratio between 0 and 1, got '${input}'`);
    return value;
  },
});

const positiveNumber = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`expected a positive number, got '${input}'`);
    return value;
  },
});

/**
 * A Redis port. Kubernetes gives every pod of a namespace with a Service named `redis`
 * the variable `REDIS_PORT=tcp://10.96.0.12:6379` (a "service link"): say so, not
 * "Expected an integer".
 */
const redisPort = Flags.custom<number>({
  parse: async (input) => {
    if (/^tcp:\/\/\S+:\d+$/i.test(input.trim())) {
      throw new UsageError(
        `REDIS_PORT (or --redis-port) is '${input}', which looks like a Kubernetes service link (set for a Service named redis): ` +
          'set enableServiceLinks: false in the pod spec, or set REDIS_PORT to a port number',
      );
    }
    const value = Number(input);
    if (!/^\s*\d+\s*$/.test(input) || !Number.isInteger(value) || value < 1 || value > 65535) {
      throw new UsageError(`--redis-port (REDIS_PORT): expected a port number from 1 to 65535, got '${input}'`);
    }
    return value;
  },
});

/** Flags every command shares (DESIGN §6); each has its environment variable. */
export const storeFlags = {
  store: Flags.string({ description: 'store plugin: redis, etcd, or a path/package exporting storePlugin', env: 'REAPER_STORE', default: 'redis', helpGroup: 'STORE' }),
  'store-timeout': positiveNumber({ description: 'seconds to wait for the store to connect or answer any one request', env: 'REAPER_STORE_TIMEOUT', default: 10, helpGroup: 'STORE' }),
  'redis-host': Flags.string({ description: 'Redis host', env: 'REDIS_HOST', default: 'localhost', helpGroup: 'STORE' }),
  'redis-port': redisPort({ description: 'Redis port', env: 'REDIS_PORT', default: 6379, helpGroup: 'STORE' }),
  'redis-password': Flags.string({ description: 'Redis password', env: 'REDIS_PASSWORD', helpGroup: 'STORE' }),
  'redis-db': Flags.integer({ description: 'Redis database number', env: 'REDIS_DB', default: 0, min: 0, helpGroup: 'STORE' }),
  'redis-url': Flags.string({ description: 'redis:// or rediss:// URL; overrides host, port, password and db', env: 'REDIS_URL', helpGroup: 'STORE' }),
  'redis-cluster': Flags.string({ description: 'Redis Cluster seed nodes, host:port,host:port; overrides host, port and url', env: 'REDIS_CLUSTER', helpGroup: 'STORE' }),
  'redis-sentinels': Flags.string({ description: 'Redis Sentinels, host:port,host:port; overrides host, port and url', env: 'REDIS_SENTINELS', helpGroup: 'STORE' }),
  'redis-sentinel-name': Flags.string({ description: 'name of the master the sentinels watch', env: 'REDIS_SENTINEL_NAME', default: 'mymaster', helpGroup: 'STORE' }),
  'redis-tls-ca': Flags.string({ description: 'CA certificate file (PEM) for Redis over TLS', env: 'REDIS_TLS_CA', helpGroup: 'STORE' }),
  'redis-tls-cert': Flags.string({ description: 'client certificate file (PEM) for Redis', env: 'REDIS_TLS_CERT', helpGroup: 'STORE' }),
  'redis-tls-key': Flags.string({ description: 'client key file (PEM) for Redis', env: 'REDIS_TLS_KEY', helpGroup: 'STORE' }),
  'etcd-endpoints': Flags.string({ description: 'etcd endpoints, comma-separated [default: http://127.0.0.1:2379]', env: 'ETCD_ENDPOINTS', helpGroup: 'STORE' }),
  'etcd-username': Flags.string({ description: 'etcd user name', env: 'ETCD_USERNAME', helpGroup: 'STORE' }),
  'etcd-password': Flags.string({ description: 'etcd password', env: 'ETCD_PASSWORD', helpGroup: 'STORE' }),
  'etcd-ca': Flags.string({ description: 'CA certificate file (PEM) for etcd over TLS', env: 'ETCD_CA', helpGroup: 'STORE' }),
  'etcd-cert': Flags.string({ description: 'client certificate file (PEM) for etcd', env: 'ETCD_CERT', helpGroup: 'STORE' }),
  'etcd-key': Flags.string({ description: 'client key file (PEM) for etcd', env: 'ETCD_KEY', helpGroup: 'STORE' }),
  'root-key': Flags.string({ description: "Traefik's KV root key", env: 'TRAEFIK_ROOT_KEY', default: 'traefik', helpGroup: 'STORE' }),
  json: Flags.boolean({ description: 'print one JSON document instead of the human report', default: false }),
};

export const sourceFlags = {
  'forgejo-host': Flags.string({ description: 'Forgejo base URL, e.g. https://git.example.com', env: 'FORGEJO_HOST', helpGroup: 'FORGEJO' }),
  'forgejo-token': Flags.string({ description: 'Forgejo API token (read access to the repositories)', env: 'FORGEJO_TOKEN', helpGroup: 'FORGEJO' }),
  'forgejo-token-file': Flags.string({ description: 'file holding the Forgejo API token', env: 'FORGEJO_TOKEN_FILE', helpGroup: 'FORGEJO' }),
  concurrency: Flags.integer({ description: 'Forgejo requests in flight', env: 'REAPER_CONCURRENCY', default: 16, min: 1, max: 256, helpGroup: 'FORGEJO' }),
  'rate-limit': positiveNumber({ description: 'Forgejo requests per second at most (default: no limit)', env: 'REAPER_RATE_LIMIT', helpGroup: 'FORGEJO' }),
  timeout: positiveNumber({ description: 'seconds to wait for one Forgejo answer', env: 'REAPER_TIMEOUT', default: 10, helpGroup: 'FORGEJO' }),
  retries: Flags.integer({ description: 'retries for 429, 502, 503, 504 and network errors', env: 'REAPER_RETRIES', default: 3, min: 0, max: 10, helpGroup: 'FORGEJO' }),
  'retry-delay': Flags.integer({ description: 'first retry backoff in ms (doubles, with jitter)', env: 'REAPER_RETRY_DELAY', default: 250, min: 0, hidden: true, helpGroup: 'FORGEJO' }),
};

/** How a run reports: scan, verify and reap. */
export const reportFlags = {
  verbose: Flags.boolean({
    description: 'list every domain in the report, live ones too (default: only what changes, and what is unknown or invalid)',
    default: false,
  }),
  'log-format': Flags.string({
    description:
      'json: one JSON line per run (with --interval: per event); human: the report. ' +
      'Default: human for a single run; with --interval json unless stdout is a TTY. --json wins over it',
    env: 'REAPER_LOG_FORMAT',
    options: ['json', 'human'],
  }),
};

export const brakeFlags = {
  'max-stale-ratio': ratio({ description: 'refuse (exit 3) when more than this share of mapped domains is stale', env: 'REAPER_MAX_STALE_RATIO', default: 0.3, helpGroup: 'SAFETY' }),
  'brake-min-domains': Flags.integer({ description: 'the brake applies from this many mapped domains on', env: 'REAPER_BRAKE_MIN_DOMAINS', default: 10, min: 0, helpGroup: 'SAFETY' }),
  force: Flags.boolean({ description: 'reap even when the brake would refuse', default: false, helpGroup: 'SAFETY' }),
};

/** Where backups go unless told: the XDG state directory, kept across reboots. */
export function defaultBackupDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'pages-reaper', 'backups');
}

export const backupDirFlag = {
  'backup-dir': Flags.string({ description: `directory for backups [default: ${defaultBackupDir().replace(homedir(), '~')}]`, env: 'REAPER_BACKUP_DIR', helpGroup: 'BACKUP' }),
};

export const graceFlag = {
  grace: Flags.string({
    description: 'reap a mapping only once it has been seen stale this long, across runs (e.g. 24h); 0 reaps at the first stale verdict',
    env: 'REAPER_GRACE',
    default: '0',
    helpGroup: 'SAFETY',
  }),
};

export type AnyFlags = Record<string, unknown>;

/** Flag names → plugin settings (`redis-host` → `redisHost`), with derived units. */
export function settingsFromFlags(flags: AnyFlags): ReaperSettings {
  const settings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flags)) {
    settings[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  if (typeof flags.timeout === 'number') settings.timeout = flags.timeout * 1000;
  if (typeof flags['store-timeout'] === 'number') settings.storeTimeout = flags['store-timeout'] * 1000;
  const intervalMs = typeof flags.interval === 'string' ? duration(flags.interval, '--interval') : 0;
  if (typeof flags.grace === 'string') {
    settings.graceMs = duration(flags.grace, '--grace');
    // Marks outlive any pause between runs by far: an expired mark only restarts the clock.
    settings.graceMarkTtlMs = Math.max(7 * 86_400_000, 3 * (settings.graceMs as number)) + 2 * intervalMs;
  }
  settings.backupDir = flags.backup === false ? undefined : ((flags['backup-dir'] as string | undefined) ?? defaultBackupDir());
  if (flags['max-stale-ratio'] !== undefined) {
    settings.brake = { maxStaleRatio: flags['max-stale-ratio'], minDomains: flags['brake-min-domains'], force: flags.force };
  }
  return settings as ReaperSettings;
}
