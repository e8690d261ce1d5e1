/**
 * The store an integration scenario runs on, behind one small interface: a real server
 * started for the test, the engine settings that select it, and a native client (not
 * the reaper's own store code) to seed and inspect it. Keys and values are strings.
 *
 * Adding a store to every reap scenario is one entry in `BACKENDS`.
 */
import { Etcd3 } from 'etcd3';
import { Cluster, Redis } from 'ioredis';
import type { ReaperSettings } from '../../src/container';
import * as servers from './servers';

export interface StoreCapabilities {
  /** The store has value types besides strings (Redis hashes, lists, ...). */
  types: boolean;
}

export interface StoreBackend {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The engine settings that select and reach this store. */
  settings(): Partial<ReaperSettings>;
  mset(record: Record<string, string>): Promise<void>;
  /** `ttlSeconds`: Redis EX, an etcd lease. */
  set(key: string, value: string, options?: { ttlSeconds?: number }): Promise<void>;
  get(key: string): Promise<string | undefined>;
  exists(key: string): Promise<boolean>;
  /** Deletes keys; answers how many existed. */
  del(...keys: string[]): Promise<number>;
  flush(): Promise<void>;
  /** Every key and value, sorted by key; a non-string value (Redis only) as `<type>`. */
  dump(): Promise<Record<string, string>>;
  /** Keys that start with `prefix` (literally), sorted. */
  keys(prefix: string): Promise<string[]>;
}

/** A pattern that matches `prefix` literally, then anything (Redis glob syntax). */
function literalPrefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\*?[\]]/g, '\\$&')}*`;
}

type RedisServer = Awaited<ReturnType<typeof servers.startRedis>>;

/** A single redis-server, through ioredis. */
export class RedisBackend implements StoreBackend {
  readonly name = 'redis';
  readonly capabilities = { types: true };
  client!: Redis;
  server!: RedisServer;

  async start(): Promise<void> {
    this.server = await servers.startRedis();
    this.client = new Redis({ host: this.server.host, port: this.server.port, lazyConnect: true });
    await this.client.connect();
  }

  async stop(): Promise<void> {
    await this.client?.quit();
    await this.server?.stop();
  }

  settings(): Partial<ReaperSettings> {
    return { store: 'redis', redisHost: this.server.host, redisPort: this.server.port, redisDb: 0 };
  }

  async mset(record: Record<string, string>): Promise<void> {
    if (Object.keys(record).length > 0) await this.client.mset(record);
  }

  async set(key: string, value: string, options: { ttlSeconds?: number } = {}): Promise<void> {
    if (options.ttlSeconds === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'EX', options.ttlSeconds);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(key)) ?? undefined;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.client.exists(key)) === 1;
  }

  async del(...keys: string[]): Promise<number> {
    return keys.length === 0 ? 0 : this.client.del(...keys);
  }

  async flush(): Promise<void> {
    await this.client.flushall();
  }

  async dump(): Promise<Record<string, string>> {
    return dumpRedisNode(this.client, await this.client.keys('*'));
  }

  async keys(prefix: string): Promise<string[]> {
    return (await this.client.keys(literalPrefixPattern(prefix))).sort();
  }
}

async function dumpRedisNode(client: Redis | Cluster, keys: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of keys.sort()) {
    const type = await client.type(key);
    out[key] = type === 'string' ? ((await client.get(key)) ?? '') : `<${type}>`;
  }
  return out;
}

/** Everything from the first possible key on. */
const ALL = { key: Buffer.from([0]), range_end: Buffer.from([0]) };

interface EtcdServers {
  endpoints: string[];
  stop(): Promise<void>;
  /** A cluster only: crashes one member, the others keep running. */
  stopMember?(i: number, signal?: NodeJS.Signals): Promise<void>;
}

/**
 * etcd through etcd3: bytes under byte keys, no types; a TTL is a lease (one per set).
 * `members: 3` starts a three-member cluster instead of a single etcd.
 */
export class EtcdBackend implements StoreBackend {
  readonly name: string;
  readonly capabilities = { types: false };
  client!: Etcd3;
  server!: EtcdServers;

  constructor(private readonly options: { members?: 1 | 3 } = {}) {
    this.name = options.members === 3 ? 'etcd (3 members)' : 'etcd';
  }

  async start(): Promise<void> {
    if (this.options.members === 3) {
      this.server = await servers.startEtcdCluster(3);
    } else {
      const single = await servers.startEtcd();
      this.server = { endpoints: [single.endpoint], stop: single.stop };
    }
    this.client = new Etcd3({ hosts: this.server.endpoints });
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.server?.stop();
  }

  settings(): Partial<ReaperSettings> {
    return { store: 'etcd', etcdEndpoints: this.server.endpoints.join(',') };
  }

  async mset(record: Record<string, string>): Promise<void> {
    const entries = Object.entries(record);
    // etcd's default --max-txn-ops is 128: one transaction per 128 keys, like MSET's atomicity per call.
    for (let i = 0; i < entries.length; i += 128) {
      await this.client.kv.txn({
        success: entries.slice(i, i + 128).map(([key, value]) => ({
          request_put: { key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8') },
        })),
      });
    }
  }

  async set(key: string, value: string, options: { ttlSeconds?: number } = {}): Promise<void> {
    const lease = options.ttlSeconds === undefined ? 0 : (await this.client.leaseClient.leaseGrant({ TTL: options.ttlSeconds })).ID;
    await this.client.kv.put({ key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8'), lease });
  }

  async get(key: string): Promise<string | undefined> {
    const reply = await this.client.kv.range({ key: Buffer.from(key, 'utf8') });
    return reply.kvs[0] ? Buffer.from(reply.kvs[0].value ?? Buffer.alloc(0)).toString('utf8') : undefined;
  }

  async exists(key: string): Promise<boolean> {
    const reply = await this.client.kv.range({ key: Buffer.from(key, 'utf8'), count_only: true });
    return Number(reply.count) > 0;
  }

  async del(...keys: string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) deleted += Number((await this.client.kv.deleteRange({ key: Buffer.from(key, 'utf8') })).deleted);
    return deleted;
  }

  async flush(): Promise<void> {
    await this.client.kv.deleteRange(ALL);
  }

  async dump(): Promise<Record<string, string>> {
    const reply = await this.client.kv.range(ALL);
    const entries = reply.kvs.map(
      (kv) => [Buffer.from(kv.key).toString('utf8'), Buffer.from(kv.value ?? Buffer.alloc(0)).toString('utf8')] as const,
    );
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async keys(prefix: string): Promise<string[]> {
    if (prefix === '') return Object.keys(await this.dump());
    return (await this.client.getAll().prefix(prefix).keys()).sort();
  }
}

type RedisClusterServers = Awaited<ReturnType<typeof servers.startRedisCluster>>;

/**
 * A Redis Cluster through ioredis' Cluster client. Keys of one call may sit in
 * different slots, so writes and deletes go key by key and reads of "every key" ask
 * every master.
 */
export class RedisClusterBackend implements StoreBackend {
  readonly name = 'redis cluster';
  readonly capabilities = { types: true };
  client!: Cluster;
  server!: RedisClusterServers;

  /** `persistent`: nodes keep an append-only file, so a restarted node keeps its keys. */
  constructor(private readonly options: { persistent?: boolean } = {}) {}

  async start(): Promise<void> {
    this.server = await servers.startRedisCluster(this.options);
    const nodes = this.server.seeds.split(',').map((seed) => {
      const [host, port] = seed.split(':');
      return { host, port: Number(port) };
    });
    this.client = new Cluster(nodes, { lazyConnect: true });
    await this.client.connect();
  }

  async stop(): Promise<void> {
    await this.client?.quit();
    await this.server?.stop();
  }

  /** `seeds`: `host:port,...` of the masters, as `--redis-cluster` takes them. */
  settings(): Partial<ReaperSettings> {
    return { store: 'redis', redisCluster: this.server.seeds };
  }

  async mset(record: Record<string, string>): Promise<void> {
    await Promise.all(Object.entries(record).map(([key, value]) => this.client.set(key, value)));
  }

  async set(key: string, value: string, options: { ttlSeconds?: number } = {}): Promise<void> {
    if (options.ttlSeconds === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'EX', options.ttlSeconds);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(key)) ?? undefined;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.client.exists(key)) === 1;
  }

  async del(...keys: string[]): Promise<number> {
    const counts = await Promise.all(keys.map((key) => this.client.del(key)));
    return counts.reduce((a, b) => a + b, 0);
  }

  async flush(): Promise<void> {
    await Promise.all(this.client.nodes('master').map((node) => node.flushall()));
  }

  async dump(): Promise<Record<string, string>> {
    return dumpRedisNode(this.client, await this.keysMatching('*'));
  }

  async keys(prefix: string): Promise<string[]> {
    return (await this.keysMatching(literalPrefixPattern(prefix))).sort();
  }

  /**
   * Asks every node of the cluster directly, on a fresh connection: right after a node
   * restart the cluster client may not have reconnected to it yet and would miss its keys.
   */
  private async keysMatching(pattern: string): Promise<string[]> {
    const perNode = await Promise.all(
      this.server.nodes.map(async ({ host, port }) => {
        const node = new Redis({ host, port, lazyConnect: true });
        try {
          await node.connect();
          return await node.keys(pattern);
        } finally {
          node.disconnect();
        }
      }),
    );
    return perNode.flat();
  }
}

export interface BackendEntry {
  name: string;
  create: () => StoreBackend;
}

export const redisBackend: BackendEntry = { name: 'redis', create: () => new RedisBackend() };
export const etcdBackend: BackendEntry = { name: 'etcd', create: () => new EtcdBackend() };
export const redisClusterBackend: BackendEntry = { name: 'redis cluster', create: () => new RedisClusterBackend() };

/** The stores every reap scenario runs on. */
export const BACKENDS: BackendEntry[] = [redisBackend, etcdBackend, redisClusterBackend];

/** The CLI flags that select a backend's store, spelled from its settings (`redisHost` → `--redis-host`). */
export function storeArgs(store: StoreBackend): string[] {
  return Object.entries(store.settings()).flatMap(([name, value]) => [
    `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(value),
  ]);
}
