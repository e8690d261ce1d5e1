import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as Flags from '@oclif/core/flags';
import { etcdFlags } from '../../plugins/etcd/flags';
import { forgejoFlags } from '../../plugins/forgejo/flags';
import { redisFlags } from '../../plugins/redis/flags';
import { decimalNumber, timeoutSeconds } from '../plugin-kit/flags';
import { withoutUserinfo } from '../core/secrets';
import type { ReaperSettings } from '../container';
import { UsageError } from '../report/errors';
import { duration, waitDuration } from './duration';
import { shellQuote } from '../render/shell-quote';

/*
 * The flags more than one command shares, each with its environment variable (DESIGN §6),
 * and how flags become settings. A flag of one command is declared in that command's file.
 */

// A plain decimal: Number('') is 0, and a blank ratio would make the brake refuse every stale domain.
const ratio = Flags.custom<number>({ parse: async (input) => decimalNumber(input, 'a ratio between 0 and 1', '0.3', 0, 1) });

/**
 * A domain as `backup`/`restore --domain` take it. Names outside ASCII pass (the plugin
 * stores what the repository's `.pages` says); what no host name holds — nothing, blanks,
 * a scheme, a path, a port, a key name — is refused rather than matching no key in silence.
 */
export const domainName = Flags.custom<string>({
  parse: async (input) => {
    if (input === '' || /[\s/:@]/.test(input)) {
      throw new UsageError(`'${input}' is not a domain name; give the host name alone, such as www.example.com`);
    }
    return input;
  },
});

/**
 * Traefik's KV root key, such as `traefik` or `prod/traefik`: the routers are under
 * `{root}/http/routers/`. Empty, or with a slash at either end, the reaper would look for
 * them under a name Traefik never uses (`traefik//http/…`) and leave every stale domain's
 * router keys behind; blanks are no key name an operator means.
 */
const rootKey = Flags.custom<string>({
  parse: async (input) => {
    if (input === '' || /^\/|\/$|\/\/|\s/.test(input)) {
      throw new UsageError(
        `'${input}' is not a root key; give Traefik's --providers.redis.rootKey as it is, without slashes at either end, such as traefik`,
      );
    }
    return input;
  },
});

/**
 * Flags every command shares (DESIGN §6); each has its environment variable. Each built-in
 * store plugin declares its own (`plugins/{name}/flags.ts`).
 */
export const storeFlags = {
  store: Flags.string({
    description: 'store plugin: redis, etcd, or a path/package exporting storePlugin',
    env: 'REAPER_STORE',
    default: 'redis',
    helpGroup: 'STORE',
  }),
  'store-timeout': timeoutSeconds({
    description: 'seconds to wait for the store to connect or answer any one request',
    env: 'REAPER_STORE_TIMEOUT',
    default: 10,
    helpGroup: 'STORE',
  }),
  ...redisFlags,
  ...etcdFlags,
  'root-key': rootKey({ description: "Traefik's KV root key", env: 'TRAEFIK_ROOT_KEY', default: 'traefik', helpGroup: 'STORE' }),
  json: Flags.boolean({
    description: 'print one JSON document instead of the human report (with --interval: one JSON line per event)',
    default: false,
  }),
};

/** The source plugin's flags (Forgejo, the one built in). */
export const sourceFlags = forgejoFlags;

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
  'max-stale-ratio': ratio({
    description: 'refuse (exit 3) when more than this share of mapped domains is stale',
    env: 'REAPER_MAX_STALE_RATIO',
    default: 0.3,
    helpGroup: 'SAFETY',
  }),
  'brake-min-domains': Flags.integer({
    description: 'the brake applies from this many mapped domains on',
    env: 'REAPER_BRAKE_MIN_DOMAINS',
    default: 10,
    min: 0,
    helpGroup: 'SAFETY',
  }),
  force: Flags.boolean({ description: 'reap even when the brake would refuse', default: false, helpGroup: 'SAFETY' }),
};

/** Where backups go unless told: the XDG state directory, kept across reboots. */
export function defaultBackupDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'pages-reaper', 'backups');
}

export const backupDirFlag = {
  'backup-dir': Flags.string({
    description: `directory for backups [default: ${defaultBackupDir().replace(homedir(), '~')}]`,
    env: 'REAPER_BACKUP_DIR',
    helpGroup: 'BACKUP',
  }),
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

/** The longest --grace: ten years. */
export const LONGEST_GRACE_MS = 3650 * 86_400_000;

/** Flag names → plugin settings (`redis-host` → `redisHost`), with derived units. */
export function settingsFromFlags(flags: AnyFlags): ReaperSettings {
  const settings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flags)) {
    settings[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  // Whole ms, as timers count them: 0.07 s is 70 ms, not 70.00000000000001.
  if (typeof flags.timeout === 'number') settings.timeout = Math.round(flags.timeout * 1000);
  if (typeof flags['store-timeout'] === 'number') settings.storeTimeout = Math.round(flags['store-timeout'] * 1000);
  const intervalMs = typeof flags.interval === 'string' ? waitDuration(flags.interval, '--interval') : 0;
  if (typeof flags.grace === 'string') {
    settings.graceMs = duration(flags.grace, '--grace');
    // Its marks' TTL (three graces) and due times must stay dates and whole milliseconds.
    if ((settings.graceMs as number) > LONGEST_GRACE_MS)
      throw new UsageError(`invalid --grace '${flags.grace}': at most 3650d (ten years); give a shorter grace`);
    // Marks outlive any pause between runs by far: an expired mark only restarts the clock.
    settings.graceMarkTtlMs = Math.max(7 * 86_400_000, 3 * (settings.graceMs as number)) + 2 * intervalMs;
  }
  settings.backupDir = flags.backup === false ? undefined : ((flags['backup-dir'] as string | undefined) ?? defaultBackupDir());
  if (flags['max-stale-ratio'] !== undefined) {
    settings.brake = { maxStaleRatio: flags['max-stale-ratio'], minDomains: flags['brake-min-domains'], force: flags.force };
  }
  return settings as ReaperSettings;
}

/** Flags whose values are secrets: never printed, named instead. */
const SECRET_STORE_FLAGS = new Set(['redis-password', 'etcd-password']);
/** Flags that may carry a password as URL userinfo. */
const URL_STORE_FLAGS = new Set(['redis-url', 'etcd-endpoints']);

/** A URL (or a comma-separated list of them) without the passwords of its userinfo; whether it had one. */
function withoutPasswords(text: string): { text: string; hadPassword: boolean } {
  let hadPassword = false;
  const parts = text.split(',').map((part) => {
    try {
      const url = new URL(part.trim());
      // ioredis also takes the password as a query parameter (`?password=`).
      const queryPassword = [...url.searchParams.keys()].filter((name) => name.toLowerCase() === 'password');
      if (url.password === '' && queryPassword.length === 0) return part.trim();
      hadPassword = true;
      url.password = '';
      for (const name of queryPassword) url.searchParams.delete(name);
      return url.toString().replace(/\/$/, '');
    } catch {
      // Not a URL to the parser (a `/` in its password, say): what comes before its last `@` goes.
      if (!part.includes('@')) return part.trim();
      hadPassword = true;
      return withoutUserinfo(part.trim());
    }
  });
  return { text: parts.join(','), hadPassword };
}

/**
 * The store this run used, as `restore` takes it, for the printed undo: a bare `restore
 * PATH` goes to the default store (localhost:6379), not to the one just reaped. Flags left
 * at their defaults are omitted; passwords never appear, and `withheld` names them so the
 * operator gives them as for this run.
 */
export function storeArguments(flags: AnyFlags): { args: string; withheld: string[] } {
  const args: string[] = [];
  const withheld: string[] = [];
  for (const [name, definition] of Object.entries(storeFlags)) {
    if (name === 'json' || name === 'store-timeout') continue;
    const { default: fallback, env } = definition as { default?: unknown; env?: string };
    const value = flags[name];
    if (value === undefined || value === '' || value === fallback) continue;
    if (SECRET_STORE_FLAGS.has(name)) {
      withheld.push(`--${name} (${env})`);
      continue;
    }
    let text = String(value);
    if (URL_STORE_FLAGS.has(name)) {
      const scrubbed = withoutPasswords(text);
      if (scrubbed.hadPassword) withheld.push(`the password in --${name}`);
      text = scrubbed.text;
    }
    args.push(`--${name}`, shellQuote(text));
  }
  return { args: args.join(' '), withheld };
}

/** Flags that say where a Redis store is, as `--redis-url` does. */
const STORE_ADDRESS_FLAGS = ['redis-host', 'redis-port', 'redis-db', 'redis-cluster', 'redis-sentinels'];

/** Flags that say one thing two ways: given both on the command line, which one is meant is a guess. */
const CONFLICTS: Array<[string, string, string]> = [
  ['forgejo-token', 'forgejo-token-file', 'give the token one way'],
  ['no-backup', 'backup-dir', 'drop --backup-dir, or --no-backup to keep a backup'],
  ['redis-cluster', 'redis-url', 'give the cluster seeds with --redis-cluster alone'],
  ['redis-sentinels', 'redis-url', 'give the sentinels with --redis-sentinels alone'],
  ['redis-cluster', 'redis-sentinels', 'a store is a cluster or a sentinel-watched master, not both'],
  ['redis-url', 'redis-host', 'give the host in --redis-url, or drop --redis-url'],
  ['redis-url', 'redis-port', 'give the port in --redis-url, or drop --redis-url'],
  ['redis-url', 'redis-db', 'give the database as the /N of --redis-url, or drop --redis-url'],
  ['redis-cluster', 'redis-host', 'give the cluster seeds with --redis-cluster alone'],
  ['redis-cluster', 'redis-port', 'give the cluster seeds with --redis-cluster alone'],
  ['redis-sentinels', 'redis-host', 'the sentinels name the master: give --redis-sentinels and --redis-sentinel-name alone'],
  ['redis-sentinels', 'redis-port', 'the sentinels name the master: give --redis-sentinels and --redis-sentinel-name alone'],
  ['output', 'backup-dir', '--output names the file itself: give one of them'],
];

/** Whether a webhook secret is given: by file (flag or its variable), or by REAPER_WEBHOOK_SECRET. */
export const hasWebhookSecret = (flags: AnyFlags): boolean =>
  flags['webhook-secret-file'] !== undefined || (process.env.REAPER_WEBHOOK_SECRET ?? '') !== '';

const withInterval = (flags: AnyFlags): boolean => flags.interval !== undefined;
const ETCD_FLAGS = ['etcd-endpoints', 'etcd-username', 'etcd-password', 'etcd-ca', 'etcd-cert', 'etcd-key'];
const REDIS_FLAGS = [
  'redis-host',
  'redis-port',
  'redis-password',
  'redis-db',
  'redis-url',
  'redis-cluster',
  'redis-sentinels',
  'redis-sentinel-name',
  'redis-tls-ca',
  'redis-tls-cert',
  'redis-tls-key',
];
const withDns = (flags: AnyFlags): boolean => flags['verify-dns'] === true;

/**
 * Flags that mean something only beside another setting: given on the command line
 * without it, they would be ignored in silence (from the environment they may be a
 * shared configuration's, and are left alone). Each with what it belongs to, and the
 * flag that gives that.
 */
const NEEDS: Array<[flags: string[], present: (flags: AnyFlags) => boolean, belongsTo: string, add: string]> = [
  [['jitter'], withInterval, 'it spreads the waits of --interval (the sidecar mode)', '--interval'],
  [['webhook-path', 'webhook-window', 'webhook-queue'], hasWebhookSecret, 'it belongs to the webhook endpoint', '--webhook-secret-file'],
  [['dns-server', 'dns-timeout', 'dns-concurrency'], withDns, 'DNS is asked only with --verify-dns', '--verify-dns'],
  // A store plugin of one's own may read either kind; the built-in two read only their own.
  [ETCD_FLAGS, (flags) => flags.store !== 'redis', 'the redis store does not read it', '--store etcd'],
  [REDIS_FLAGS, (flags) => flags.store !== 'etcd', 'the etcd store does not read it', '--store redis'],
  [['redis-sentinel-name'], (flags) => Boolean(flags['redis-sentinels']), 'it names the master the sentinels watch', '--redis-sentinels'],
];

/** The Python reaper's flags whose empty value meant "none" there (see `settleFlagSources`). */
const EMPTY_MEANS_NONE = ['redis-password', 'forgejo-token'];

/**
 * Where two flags say one thing, the command line wins over the environment, and both on
 * the command line are refused: a token file given by flag is used even when FORGEJO_TOKEN
 * is set (before, the variable won and the run stopped on 401), and FORGEJO_TOKEN with
 * FORGEJO_TOKEN_FILE alone is refused rather than one picked in silence. `given` says
 * whether a flag is on the command line.
 */
export function settleFlagSources(parsed: AnyFlags, given: (flag: string) => boolean): AnyFlags {
  // reaper.py's secrets given empty mean none, as they did there: its wrapper and cron lines
  // pass `--redis-password "$REDIS_PASSWORD" --forgejo-token "$FORGEJO_TOKEN"` whatever the
  // variables hold (redis-py sends no AUTH for "", the script no token header), and such a
  // line must keep working with only the program's name changed (DESIGN §6).
  const flags = { ...parsed };
  for (const name of EMPTY_MEANS_NONE) if (flags[name] === '' && given(name)) flags[name] = undefined;
  // Any other empty value on the command line is a slip (an unset shell variable): it would
  // fall back to a default, or match everything (`backup --prefix ''`). From the environment
  // it means unset, as Kubernetes and compose files write it.
  for (const [name, value] of Object.entries(flags)) {
    const empty = value === '' || (Array.isArray(value) && value.includes(''));
    if (empty && given(name)) throw new UsageError(`--${name} is empty; give a value, or leave the flag out`);
  }
  for (const [one, other, fix] of CONFLICTS) {
    if (given(one) && given(other)) throw new UsageError(`--${one} and --${other} cannot be used together; ${fix}`);
  }
  // A store named on the command line wins over REDIS_URL from the environment (a shared
  // one, a sidecar's): before, the variable won, a cron line's reap went to the other store,
  // and the undo line it printed named both and was refused.
  if (flags['redis-url'] !== undefined && !given('redis-url') && STORE_ADDRESS_FLAGS.some(given)) flags['redis-url'] = undefined;
  for (const [names, present, belongsTo, add] of NEEDS) {
    const ignored = present(flags) ? undefined : names.find(given);
    if (ignored) throw new UsageError(`--${ignored} would be ignored here; ${belongsTo}: add ${add}, or drop --${ignored}`);
  }
  // The webhook's secret two ways: the file by flag wins, as the token file does; both from the environment is a guess.
  const secretInEnvironment = (process.env.REAPER_WEBHOOK_SECRET ?? '') !== '';
  if (flags['webhook-secret-file'] !== undefined && secretInEnvironment && !given('webhook-secret-file')) {
    throw new UsageError('REAPER_WEBHOOK_SECRET and REAPER_WEBHOOK_SECRET_FILE are both set; unset one, or give --webhook-secret-file');
  }
  if (flags['forgejo-token'] === undefined || flags['forgejo-token-file'] === undefined) return flags;
  if (given('forgejo-token-file')) return { ...flags, 'forgejo-token': undefined };
  if (given('forgejo-token')) return { ...flags, 'forgejo-token-file': undefined };
  throw new UsageError('FORGEJO_TOKEN and FORGEJO_TOKEN_FILE are both set; unset one, or give --forgejo-token or --forgejo-token-file');
}

/**
 * `--metrics-file` must be a file in a directory this process can write, checked before
 * the run: a file that cannot be written is said after every run and never fails one, so
 * a mistyped path would have cron and the textfile collector see nothing, run after run.
 */
export function checkMetricsFile(file: string): void {
  const fix = "give a file in a directory this process can write, such as node_exporter's textfile directory";
  if (file === '') throw new UsageError(`--metrics-file is empty; ${fix}`);
  let isDirectory = false;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch {
    // not there yet: the run writes it
  }
  if (isDirectory) throw new UsageError(`--metrics-file ${file} is a directory; ${fix}`);
  try {
    accessSync(dirname(file), fsConstants.W_OK);
  } catch (error) {
    throw new UsageError(`--metrics-file ${file}: its directory cannot be written (${(error as NodeJS.ErrnoException).code}); ${fix}`);
  }
}
