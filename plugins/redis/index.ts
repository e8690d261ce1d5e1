import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { escapeGlob, textKeyNames } from '../../src/core/keys';
import { scrubSecrets, secretsOf } from '../../src/core/secrets';
import type { GroupDeleteOutcome, GuardedGroup, KeyValueStore, PutMode, PutOutcome, StoredEntry, ReadOptions } from '../../src/ports/key-value-store';
import type { PluginSettings, StorePlugin } from '../../src/ports/plugins';
import { RedisClusterStore } from './cluster';
import { quitOrDrop } from './quit';
import { decodeReadEntries, DELETE_GROUPS_LUA, deleteGroupsArgs, PUT_ENTRIES_LUA, putEntryArgs, READ_ENTRIES_LUA, SCAN_COUNT } from './scripts';

type ScriptedRedis = Redis & {
  reaperReadEntriesBuffer(numberOfKeys: number, ...keysThenFlags: string[]): Promise<Array<Buffer | number | null>>;
  reaperPutEntries(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<string[]>;
  reaperDeleteGroups(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<number[]>;
};

export class RedisStore implements KeyValueStore {
  private readonly redis: ScriptedRedis;
  private trips = 0;
  private readonly unnamed: string[] = [];

  constructor(redis: Redis, private readonly description: string) {
    redis.defineCommand('reaperDeleteGroups', { lua: DELETE_GROUPS_LUA });
    redis.defineCommand('reaperReadEntries', { lua: READ_ENTRIES_LUA });
    redis.defineCommand('reaperPutEntries', { lua: PUT_ENTRIES_LUA });
    this.redis = redis as ScriptedRedis;
  }

  describe(): string {
    return this.description;
  }

  roundTrips(): number {
    return this.trips;
  }

  async *scan(prefix: string): AsyncIterable<string[]> {
    const match = prefix === '' ? [] : ['MATCH', escapeGlob(prefix) + '*'];
    let cursor = '0';
    do {
      this.trips++;
      const [next, names] = (await this.redis.callBuffer('SCAN', cursor, ...match, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
      cursor = next.toString();
      const keys = textKeyNames(names, this.unnamed);
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  skippedKeys(): string[] {
    return [...this.unnamed];
  }

  async getMany(keys: string[], options: ReadOptions = {}): Promise<Array<StoredEntry | undefined>> {
    if (keys.length === 0) return [];
    this.trips++;
    const reply = await this.redis.reaperReadEntriesBuffer(keys.length, ...keys, options.withDump ? '1' : '0', options.withTtl === false ? '0' : '1');
    return decodeReadEntries(keys, reply, Date.now());
  }

  async putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
    if (entries.length === 0) return [];
    const now = Date.now();
    const args: Array<string | Buffer | number> = [];
    const writable: number[] = [];
    const outcomes: PutOutcome[] = entries.map((entry, i) => {
      const entryArgs = putEntryArgs(entry, now);
      if (entryArgs) {
        writable.push(i);
        args.push(...entryArgs);
      }
      return 'unsupported';
    });
    if (writable.length === 0) return outcomes;
    this.trips++;
    const reply = await this.redis.reaperPutEntries(writable.length, ...writable.map((i) => entries[i].key), mode, ...args);
    writable.forEach((index, j) => (outcomes[index] = reply[j] as PutOutcome));
    return outcomes;
  }

  async deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]> {
    if (groups.length === 0) return [];
    const { keys, args } = deleteGroupsArgs(groups);
    this.trips++;
    const outcome = await this.redis.reaperDeleteGroups(keys.length, ...keys, ...args);
    return outcome.map((deleted) => (deleted === 1 ? 'deleted' : 'changed'));
  }

  async close(): Promise<void> {
    await quitOrDrop(this.redis);
  }
}

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
    throw new Error(`--redis-url (REDIS_URL) is not a valid URL; ${URL_SHAPE}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`--redis-url (REDIS_URL) must start with redis:// or rediss://, not ${url.protocol}//; ${URL_SHAPE}`);
  }
  if (!url.hostname) throw new Error(`--redis-url (REDIS_URL) names no host; ${URL_SHAPE}`);
  if (!/^\/?(\d+)?$/.test(url.pathname)) throw new Error(`--redis-url (REDIS_URL): the path must be a database number; ${URL_SHAPE}`);
  return url;
}

interface HostPort {
  host: string;
  port: number;
}

/** `host:port,host:port` (IPv6 as `[::1]:port`) → addresses; a bad entry names its flag. */
export function parseHostPorts(list: string, flag: string): HostPort[] {
  const addresses = list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(item);
      const port = match ? Number(match[3]) : 0;
      if (!match || port < 1 || port > 65535) throw new Error(`${flag}: expected host:port, got '${item}'`);
      return { host: match[1] ?? match[2], port };
    });
  if (addresses.length === 0) throw new Error(`${flag}: expected at least one host:port`);
  return addresses;
}

const formatHostPorts = (addresses: HostPort[]) => addresses.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');

/** Where the store is, for logs: the URL without its password. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.redisCluster) return `redis-cluster://${formatHostPorts(parseHostPorts(settings.redisCluster, '--redis-cluster'))}`;
  if (settings.redisSentinels) {
    const sentinels = formatHostPorts(parseHostPorts(settings.redisSentinels, '--redis-sentinels'));
    return `redis-sentinel://${sentinels}/${settings.redisSentinelName || 'mymaster'}/${settings.redisDb ?? 0}`;
  }
  if (settings.redisUrl) {
    // ioredis also takes the password from `?password=`: drop the whole query.
    const url = parseRedisUrl(settings.redisUrl);
    // A user name is dropped too: `redis://s3cr3t@host` is a password written in its place.
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  }
  return `redis://${settings.redisHost ?? 'localhost'}:${settings.redisPort ?? 6379}/${settings.redisDb ?? 0}`;
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
    if (!path) continue;
    try {
      tls[name] = readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read ${flag} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return tls;
}

export function redisOptions(settings: RedisSettings, hasConnected: () => boolean = () => true): RedisOptions {
  // A reaper that cannot reach its store should fail fast and say so, not retry
  // forever; a dropped connection mid-run gets a few quick retries.
  const retry = (times: number) => (!hasConnected() || times > 3 ? null : times * 200);
  const tls = redisTlsOptions(settings);
  const timeout = settings.storeTimeout ?? 10_000;
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    // A dropped connection is ended, then destroyed after this long: a server that
    // never answers never closes its side either, and the run would wait 2 s for it.
    disconnectTimeout: 200,
    maxRetriesPerRequest: 2,
    retryStrategy: retry,
    ...(tls ? { tls } : {}),
  };
  if (settings.redisSentinels) {
    return {
      ...common,
      sentinels: parseHostPorts(settings.redisSentinels, '--redis-sentinels'),
      name: settings.redisSentinelName || 'mymaster',
      sentinelRetryStrategy: retry,
      // TLS files apply to the master and the sentinels alike.
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      password: settings.redisPassword || undefined,
      db: settings.redisDb ?? 0,
    };
  }
  if (settings.redisUrl) return common;
  return {
    ...common,
    host: settings.redisHost ?? 'localhost',
    port: settings.redisPort ?? 6379,
    password: settings.redisPassword || undefined,
    db: settings.redisDb ?? 0,
  };
}

function connectionFlags(settings: RedisSettings): string {
  const tls = settings.redisTlsCa || settings.redisTlsCert || settings.redisTlsKey ? ', --redis-tls-ca, --redis-tls-cert, --redis-tls-key' : '';
  if (settings.redisCluster) return `--redis-cluster or --redis-password${tls}`;
  if (settings.redisSentinels) return `--redis-sentinels, --redis-sentinel-name or --redis-password${tls}`;
  return `--redis-host, --redis-port, --redis-password or --redis-url${tls}`;
}

/** A client's error without the password or any URL userinfo. */
function scrub(message: string, settings: RedisSettings): string {
  return scrubSecrets(message, secretsOf({ ...settings }));
}

async function connectCluster(settings: RedisSettings, description: string): Promise<RedisClusterStore> {
  const seeds = parseHostPorts(settings.redisCluster!, '--redis-cluster');
  if (settings.redisDb) {
    throw new Error(`--redis-db ${settings.redisDb} (REDIS_DB) cannot be used with --redis-cluster: a Redis Cluster has database 0 only; drop --redis-db or set it to 0`);
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
  client.on('error', (error: Error) => {
    lastError = error;
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
      throw new Error(`cannot reach Redis at ${description}: no answer within ${timeout / 1000} s; check ${connectionFlags(settings)}, or raise --store-timeout (REAPER_STORE_TIMEOUT)`);
    }
    const cause = scrub((lastError ?? (error as Error)).message, settings);
    throw new Error(`cannot reach Redis at ${description}: ${cause}; check ${connectionFlags(settings)}`);
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
    const flag = settings.redisUrl && !settings.redisSentinels ? 'the /N of --redis-url (REDIS_URL)' : '--redis-db (REDIS_DB)';
    throw new Error(`Redis at ${description} refuses database ${db} (${scrub((error as Error).message, settings)}); choose a database the server has with ${flag}`);
  }
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
  return new RedisStore(redis, description);
}

export const storePlugin: StorePlugin = {
  name: 'redis',
  create: (settings: PluginSettings) => connectRedis(settings as RedisSettings),
};
