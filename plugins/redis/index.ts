import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import type { PluginSettings, StorePlugin } from '../../src/ports/plugins';
import {
  formatHostPorts,
  parseHostPorts,
  readFlagFile,
  scrubSecrets,
  secretsOf,
  StoreUnreachableError,
  UsageError,
  withoutUserinfo,
} from '../../src/plugin-kit';
import { RedisClusterStore } from './cluster';
import { DATABASE_FLAG, RedisStore, refusedDatabase } from './store';

export { RedisStore } from './store';

export interface RedisSettings {
  redisUrl?: string;
  redisHost?: string;
  redisPort?: number;
  redisPassword?: string;
  redisDb?: number;
  /** Redis Cluster seed nodes, `host:port,host:port`. */
  redisCluster?: string;
  /** Sentinels, `host:port,host:port`, watching the master named `redisSentinelName`. */
  redisSentinels?: string;
  redisSentinelName?: string;
  /** PEM files for TLS, read at connect. */
  redisTlsCa?: string;
  redisTlsCert?: string;
  redisTlsKey?: string;
  /** Longest wait for a connect or any one command, ms (--store-timeout). */
  storeTimeout?: number;
  /** Aborts a connect in progress (an interrupt, or the caller gave up). */
  signal?: AbortSignal;
}

const URL_SHAPE = 'expected redis://[:password@]host:port/db or rediss://…';

/** `--redis-url` as a URL; a bad one is named without echoing it (it may hold a password). */
export function parseRedisUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--redis-url (REDIS_URL) is not a valid URL; ${URL_SHAPE}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`--redis-url (REDIS_URL) must start with redis:// or rediss://, not ${url.protocol}//; ${URL_SHAPE}`);
  }
  if (!url.hostname) throw new UsageError(`--redis-url (REDIS_URL) names no host; ${URL_SHAPE}`);
  if (!/^\/?(\d+)?$/.test(url.pathname)) throw new UsageError(`--redis-url (REDIS_URL): the path must be a database number; ${URL_SHAPE}`);
  // ioredis decodes the user, the password and the query itself, and a bad %-escape would
  // end the run with a bare "URI malformed".
  for (const part of [url.username, url.password, url.search]) {
    try {
      decodeURIComponent(part);
    } catch {
      throw new UsageError(
        '--redis-url (REDIS_URL) holds a malformed %-escape in its user, password or query; write a literal % as %25, or give the password with --redis-password (REDIS_PASSWORD)',
      );
    }
  }
  return url;
}

/** Where the store is, for logs: the URL without its password. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.redisCluster) return `redis-cluster://${formatHostPorts(parseHostPorts(settings.redisCluster, '--redis-cluster'))}`;
  if (settings.redisSentinels) {
    const sentinels = formatHostPorts(parseHostPorts(settings.redisSentinels, '--redis-sentinels'));
    return `redis-sentinel://${sentinels}/${settings.redisSentinelName || 'mymaster'}/${settings.redisDb ?? 0}`;
  }
  if (settings.redisUrl) {
    // ioredis also takes the password from `?password=`: drop the whole query. It takes the
    // database from `?db=` too when the path names none: that one is kept, as the path.
    const url = parseRedisUrl(settings.redisUrl);
    const db = url.searchParams.get('db');
    url.search = '';
    if (db !== null && (url.pathname === '' || url.pathname === '/')) url.pathname = `/${db}`;
    return withoutUserinfo(url.toString()).replace(/\/$/, '');
  }
  return `redis://${redisHost(settings)}:${settings.redisPort ?? 6379}/${settings.redisDb ?? 0}`;
}

/**
 * `--redis-host` as ioredis takes it. One holding `user:password@` would be looked up as a
 * host name, and the lookup's error would repeat the password: refused, without echoing it.
 * Any `@` counts, as in `parseHostPorts`: a password may hold a `:` or a `/`.
 */
function redisHost(settings: RedisSettings): string {
  const host = settings.redisHost ?? 'localhost';
  if (host.includes('@')) {
    throw new UsageError('--redis-host (REDIS_HOST): expected a host name, got one with user:password@ in it', {
      hint: 'give the host alone and the password with --redis-password (REDIS_PASSWORD); with a user name, give the whole address as --redis-url (REDIS_URL)',
    });
  }
  return host;
}

/** TLS options from the --redis-tls-* files; undefined when none is given. */
export function redisTlsOptions(settings: RedisSettings): { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  const files = [
    ['ca', settings.redisTlsCa, '--redis-tls-ca'],
    ['cert', settings.redisTlsCert, '--redis-tls-cert'],
    ['key', settings.redisTlsKey, '--redis-tls-key'],
  ] as const;
  if (files.every(([, path]) => !path)) return undefined;
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const [name, path, flag] of files) {
    if (path) tls[name] = readFlagFile(path, `${flag} file ${path}`);
  }
  return tls;
}

export function redisOptions(settings: RedisSettings, hasConnected: () => boolean = () => true): RedisOptions {
  const tls = redisTlsOptions(settings);
  const timeout = settings.storeTimeout ?? 10_000;
  // A reaper that cannot reach its store fails fast and says so. A connection dropped
  // mid-run is tried again for as long as one store call may take (--store-timeout): a
  // Redis restarted while the run needs no store (it is checking Forgejo) is back when
  // the backup needs it. A call waiting meanwhile still fails after maxRetriesPerRequest
  // tries, so a store that stays away fails the run as soon as it is needed.
  const reconnectWithinTimeout = () => {
    let droppedAt = 0;
    return (times: number) => {
      if (!hasConnected()) return null;
      if (times === 1) droppedAt = Date.now();
      return Date.now() - droppedAt >= timeout ? null : Math.min(times * 200, 1000);
    };
  };
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    // A dropped connection is ended, then destroyed after this long: a server that
    // never answers never closes its side either, and the run would wait 2 s for it.
    disconnectTimeout: 200,
    // Three tries (reconnects 200, 400 and 600 ms apart): a Redis back within about a
    // second (a restart) serves the call; with two, one back after 0.77 s failed the run.
    maxRetriesPerRequest: 3,
    retryStrategy: reconnectWithinTimeout(),
    ...(tls ? { tls } : {}),
  };
  if (settings.redisSentinels) {
    return {
      ...common,
      sentinels: parseHostPorts(settings.redisSentinels, '--redis-sentinels'),
      name: settings.redisSentinelName || 'mymaster',
      sentinelRetryStrategy: reconnectWithinTimeout(),
      // TLS files apply to the master and the sentinels alike.
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      password: settings.redisPassword || undefined,
      db: settings.redisDb ?? 0,
    };
  }
  // A URL without a password takes --redis-password (REDIS_PASSWORD): the address in a
  // ConfigMap, the password from a Secret. One in the URL wins, as ioredis reads it first.
  if (settings.redisUrl) return settings.redisPassword ? { ...common, password: settings.redisPassword } : common;
  return {
    ...common,
    host: redisHost(settings),
    port: settings.redisPort ?? 6379,
    password: settings.redisPassword || undefined,
    db: settings.redisDb ?? 0,
  };
}

function connectionFlags(settings: RedisSettings): string {
  const tls =
    settings.redisTlsCa || settings.redisTlsCert || settings.redisTlsKey ? ', --redis-tls-ca, --redis-tls-cert, --redis-tls-key' : '';
  if (settings.redisCluster) return `--redis-cluster or --redis-password${tls}`;
  if (settings.redisSentinels) return `--redis-sentinels, --redis-sentinel-name or --redis-password${tls}`;
  return `--redis-host, --redis-port, --redis-password or --redis-url${tls}`;
}

/**
 * The server's words for a password it wants or refuses (NOAUTH, WRONGPASS) as the
 * operator's: which setting to give or fix. Other errors are passed on as they are.
 */
function authRefusal(cause: string, settings: RedisSettings): { problem: string; hint: string } | undefined {
  const where = settings.redisUrl
    ? '--redis-password (REDIS_PASSWORD) or the password in --redis-url'
    : '--redis-password (REDIS_PASSWORD)';
  if (/^NOAUTH\b/.test(cause)) return { problem: 'it requires a password (NOAUTH) and none was given', hint: `set ${where}` };
  if (/^WRONGPASS\b/.test(cause))
    return { problem: 'it refused the password (WRONGPASS: not this password, or a disabled user)', hint: `check ${where}` };
  return undefined;
}

/** A client's error without the password or any URL userinfo. */
function scrub(message: string, settings: RedisSettings): string {
  return scrubSecrets(message, secretsOf({ ...settings }));
}

async function connectCluster(settings: RedisSettings, description: string): Promise<RedisClusterStore> {
  const seeds = parseHostPorts(settings.redisCluster!, '--redis-cluster');
  if (settings.redisDb) {
    throw new UsageError(
      `--redis-db ${settings.redisDb} (REDIS_DB) cannot be used with --redis-cluster: a Redis Cluster has database 0 only; drop --redis-db or set it to 0`,
    );
  }
  let connected = false;
  const { lazyConnect: _lazy, retryStrategy: _retry, ...nodeOptions } = redisOptions({ ...settings, redisUrl: undefined }, () => connected);
  delete nodeOptions.host;
  delete nodeOptions.port;
  delete nodeOptions.db; // a cluster has database 0 only
  const cluster = new Cluster(seeds, {
    lazyConnect: true,
    clusterRetryStrategy: (times) => (!connected || times > 3 ? null : times * 200),
    // A failed connect ends node streams that are already closed; ioredis then arms a
    // timer of `disconnectTimeout` that keeps the process alive: keep it short.
    redisOptions: { ...nodeOptions, disconnectTimeout: 100 },
  });
  await connectOrExplain(cluster, description, settings);
  connected = true;
  return new RedisClusterStore(cluster, description);
}

/**
 * Connects and pings; on failure, one line naming the store and the flags to check. The
 * last 'error' event says more than the rejection ("connection is closed"). A client
 * whose streams have already ended is not disconnected again: ioredis would arm a
 * `disconnectTimeout` timer that nothing clears, keeping a failed run's process alive.
 */
async function connectOrExplain(client: Redis | Cluster, description: string, settings: RedisSettings): Promise<void> {
  let lastError: Error | undefined;
  // An answer that is not RESP (an HTTP server on the port) is followed by the broken
  // connection's own errors: the first says what is there.
  let notRedis: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
    if (/Unknown RESP type|Protocol error/i.test(error.message)) notRedis ??= error;
  });
  const timeout = settings.storeTimeout ?? 10_000;
  let timedOut = false;
  // ioredis's connectTimeout covers the TCP connect only: a server that accepts and never
  // answers would hold the ready check forever. The whole connect gets one deadline.
  const drop = () => {
    if (client.status !== 'end') client.disconnect();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    drop();
  }, timeout);
  settings.signal?.addEventListener('abort', drop, { once: true });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    drop();
    if (timedOut) {
      throw new StoreUnreachableError(`cannot reach Redis at ${description}: no answer within ${timeout / 1000} s`, {
        hint: `check ${connectionFlags(settings)}, or raise --store-timeout (REAPER_STORE_TIMEOUT)`,
      });
    }
    const cause = scrub((notRedis ?? lastError ?? (error as Error)).message, settings);
    const refused = authRefusal(cause, settings);
    if (refused) throw new StoreUnreachableError(`cannot reach Redis at ${description}: ${refused.problem}`, { hint: refused.hint });
    // ioredis's words for an answer that is not RESP at all: another service on that port.
    if (/Unknown RESP type|Protocol error/i.test(cause)) {
      throw new StoreUnreachableError(
        `${description} does not answer as Redis does (${cause.replace(/\.? ?Please report this\.?/i, '')}): another service listens there`,
        {
          hint: `check ${connectionFlags(settings)}`,
        },
      );
    }
    throw new StoreUnreachableError(`cannot reach Redis at ${description}: ${cause}`, { hint: `check ${connectionFlags(settings)}` });
  } finally {
    clearTimeout(timer);
    settings.signal?.removeEventListener('abort', drop);
  }
}

/**
 * ioredis selects the database on connect but only emits an 'error' when the server
 * refuses it, and then runs on database 0. Select it again, and fail when refused.
 */
async function selectOrExplain(client: Redis, description: string, settings: RedisSettings): Promise<void> {
  const db = Number(client.options.db ?? 0);
  if (db === 0) return;
  try {
    await client.select(db);
  } catch (error) {
    client.disconnect();
    throw refusedDatabase(description, db, databaseFlag(settings), scrub((error as Error).message, settings));
  }
}

/** Where this run's database was set. */
function databaseFlag(settings: RedisSettings): string {
  return settings.redisUrl && !settings.redisSentinels ? 'the /N of --redis-url (REDIS_URL)' : DATABASE_FLAG;
}

export async function connectRedis(settings: RedisSettings): Promise<KeyValueStore> {
  const description = describeRedis(settings);
  if (settings.redisCluster) return connectCluster(settings, description);
  let connected = false;
  const options = redisOptions(settings, () => connected);
  const redis = settings.redisUrl && !settings.redisSentinels ? new Redis(settings.redisUrl, options) : new Redis(options);
  await connectOrExplain(redis, description, settings);
  await selectOrExplain(redis, description, settings);
  connected = true;
  return new RedisStore(redis, description, databaseFlag(settings));
}

export const storePlugin: StorePlugin = {
  name: 'redis',
  create: (settings: PluginSettings) => connectRedis(settings as RedisSettings),
};
