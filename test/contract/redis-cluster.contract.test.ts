/**
 * The KeyValueStore contract for the Redis plugin on a real three-master Redis Cluster
 * (`--redis-cluster`) whose nodes require a password (`--redis-password`), plus what only
 * a cluster needs: keys grouped per hash slot, a group deleted key by key with the guard
 * last (DESIGN §4.1), a master restart. The engine's scenarios and fault tests use an
 * open cluster, so both are covered.
 */
import { Cluster } from 'ioredis';
import { connectRedis } from '../../plugins/redis';
import keySlot from 'cluster-key-slot'; // what the cluster store groups keys by
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { freePort, startRedisCluster } from '../support/servers';
import { describeKeyValueStoreContract, type KeyValueStoreHarness } from './key-value-store.contract';
import { nativeClusterOperations } from './redis-native';

type RedisCluster = Awaited<ReturnType<typeof startRedisCluster>>;

const PASSWORD = 'Clu5ter-s3cret/pa:ss';

jest.setTimeout(60_000);

/** The cluster and a native ioredis Cluster client, shared by the contract and the tests below. */
function clusterHarness(): KeyValueStoreHarness & { cluster: () => RedisCluster; native: () => Cluster } {
  let cluster: RedisCluster | undefined;
  let native: Cluster | undefined;
  const client = () => {
    if (!native) throw new Error('harness not started');
    return native;
  };
  return {
    secrets: [PASSWORD],
    cluster: () => cluster!,
    native: client,
    async start() {
      cluster = await startRedisCluster({ password: PASSWORD });
      native = new Cluster(cluster.nodes, { lazyConnect: true, redisOptions: { password: PASSWORD } });
      await native.connect();
    },
    async stop() {
      await native?.quit().catch(() => native?.disconnect());
      native = undefined;
      await cluster?.stop();
      cluster = undefined;
    },
    connect: () => connectRedis({ redisCluster: cluster!.seeds, redisPassword: PASSWORD }),
    ...nativeClusterOperations(client),
  };
}

const harness = clusterHarness();

describeKeyValueStoreContract('redis cluster (--redis-cluster, three masters)', harness);

describe('Redis Cluster specifics', () => {
  const opened: KeyValueStore[] = [];
  const open = async () => {
    const store = await harness.connect();
    opened.push(store);
    return store;
  };

  beforeAll(() => harness.start());
  afterAll(() => harness.stop());
  beforeEach(() => harness.flush());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  it('computes the same hash slot as the server, hash tags included', async () => {
    const node = harness.native().nodes('master')[0];
    const keys = [
      'foo',
      'custom_domain:a.example.com',
      'owner:repo',
      '{user1000}.following',
      'a{}b',
      '{}x',
      'x{a}{b}',
      'x{',
      '}{a}',
      'bücher.de',
      'traefik/http/routers/custom-a-b/rule',
    ];
    for (let i = 0; i < 50; i++) keys.push(`k:${i}:${Math.random().toString(36)}`);
    for (const key of keys) expect({ key, slot: keySlot(key) }).toEqual({ key, slot: await node.cluster('KEYSLOT', key) });
  });

  it('describes the store by its seed nodes', async () => {
    const store = await open();
    expect(store.describe()).toBe(`redis-cluster://${harness.cluster().seeds}`);
  });

  it('spreads a domain over several slots and masters (so the tests above cross slots)', async () => {
    const keys = ['traefik/http/routers/custom-a-example-com/rule', 'owner:repo', 'custom_domain:a.example.com'];
    expect(new Set(keys.map(keySlot)).size).toBe(3);
    await harness.seed(Array.from({ length: 300 }, (_, i) => ({ key: `spread:${i}`, value: 'v' })));
    const sizes = await Promise.all(
      harness
        .native()
        .nodes('master')
        .map((n) => n.dbsize()),
    );
    expect(sizes).toHaveLength(3);
    for (const size of sizes) expect(size).toBeGreaterThan(0);
  });

  it('putMany writes strings and dumps across slots, and knows what is already there', async () => {
    await harness.native().hset('settings:o/r', 'a', '1', 'b', '2');
    const store = await open();
    const [hash] = await store.getMany(['settings:o/r'], { withDump: true });
    expect(hash?.dump).toBeDefined();
    await harness.native().del('settings:o/r');
    await harness.native().hset('settings:o/r', 'b', '2', 'a', '1');
    const expiresAt = Date.now() + 60_000;
    const entries = [
      { key: 'custom_domain:a.example.com', type: 'string', value: Buffer.from('o:r') },
      { key: 'o:r', type: 'string', value: Buffer.from('a.example.com'), expiresAt },
      { key: 'settings:o/r', type: 'hash', dump: hash!.dump },
      { key: 'settings:copy', type: 'hash', dump: hash!.dump },
      { key: 'no-payload', type: 'list' },
    ];

    expect(await store.putMany(entries, 'if-absent')).toEqual(['written', 'written', 'same', 'written', 'unsupported']);
    expect(await store.putMany(entries, 'if-absent')).toEqual(['same', 'same', 'same', 'same', 'unsupported']);
    expect(await harness.native().hgetall('settings:copy')).toEqual({ a: '1', b: '2' });
    expect(await harness.native().pttl('o:r')).toBeGreaterThan(50_000);
    await harness.native().set('custom_domain:a.example.com', 'x:y');
    expect(await store.putMany(entries.slice(0, 1), 'if-absent')).toEqual(['exists']);
    expect(await store.putMany(entries.slice(0, 1), 'overwrite')).toEqual(['replaced']);
    expect((await harness.read('custom_domain:a.example.com'))?.toString()).toBe('o:r');
  });

  /** Runs `before` ahead of the store's n-th compare-and-delete (1-based), counting every call. */
  const beforeDelete = (store: KeyValueStore, n: number, before: () => Promise<void>) => {
    const scripted = (store as unknown as { cluster: { reaperDeleteIfEqual: (...args: unknown[]) => Promise<number> } }).cluster;
    const original = scripted.reaperDeleteIfEqual.bind(scripted);
    const calls = { count: 0 };
    scripted.reaperDeleteIfEqual = async (...args: unknown[]) => {
      if (++calls.count === n) await before();
      return original(...args);
    };
    return calls;
  };
  const expectedKeys = (group: Array<{ key: string; value: string }>) =>
    group.map(({ key, value }) => ({ key, expected: Buffer.from(value) }));

  it('stops a group when a key changes midway, and writes back what it had deleted: the group stays whole', async () => {
    const group = [
      { key: 'traefik/http/routers/custom-a-example-com/rule', value: 'Host(`a.example.com`)' },
      { key: 'owner:repo', value: 'a.example.com' },
      { key: 'custom_domain:a.example.com', value: 'owner:repo' },
    ];
    await harness.seed(group);
    const store = await open();
    // The plugin re-registers the domain right after the first delete.
    const calls = beforeDelete(store, 2, () => harness.seed([{ key: 'owner:repo', value: 'b.example.com' }]));

    const outcome = await store.deleteGroupsIfUnchanged([{ keys: expectedKeys(group) }]);

    expect(outcome).toEqual(['changed']);
    expect(calls.count).toBe(2);
    expect((await harness.read(group[0].key))?.toString()).toBe('Host(`a.example.com`)');
    expect((await harness.read('owner:repo'))?.toString()).toBe('b.example.com');
    expect((await harness.read('custom_domain:a.example.com'))?.toString()).toBe('owner:repo');
  });

  it('keeps the router keys a re-registration rewrote with the same bytes before they were deleted', async () => {
    const router = 'traefik/http/routers/custom-shop-example-com/';
    const group = [
      { key: `${router}entryPoints/0`, value: 'websecure' },
      { key: `${router}service`, value: 'noop@internal' },
      { key: 'old:site', value: 'shop.example.com' },
      { key: 'custom_domain:shop.example.com', value: 'old:site' },
    ];
    await harness.seed(group);
    const store = await open();
    // Another repository takes the domain over after the check, in the plugin's order:
    // the forward key first, then its reverse key and the router, whose values are the same.
    const calls = beforeDelete(store, 1, () =>
      harness.seed([
        { key: 'custom_domain:shop.example.com', value: 'new:site' },
        { key: 'new:site', value: 'shop.example.com' },
        { key: `${router}entryPoints/0`, value: 'websecure' },
        { key: `${router}service`, value: 'noop@internal' },
      ]),
    );

    expect(await store.deleteGroupsIfUnchanged([{ keys: expectedKeys(group) }])).toEqual(['changed']);
    expect(calls.count).toBe(4); // the routers and the old reverse key went, the forward key's check failed
    expect((await harness.read(`${router}entryPoints/0`))?.toString()).toBe('websecure');
    expect((await harness.read(`${router}service`))?.toString()).toBe('noop@internal');
    expect((await harness.read('custom_domain:shop.example.com'))?.toString()).toBe('new:site');
    expect((await harness.read('old:site'))?.toString()).toBe('shop.example.com');
  });

  it('reads the guards again after the deletes: a domain registered on the same router name meanwhile keeps its keys', async () => {
    // a.b.example.com is stale; a-b.example.com registers during the deletes, on the same
    // Traefik name, writing its forward key (the group's guard) and then a router key with
    // the bytes the stale one held: every compare-and-delete passes.
    const router = 'traefik/http/routers/custom-a-b-example-com/';
    const group = [
      { key: `${router}entryPoints/0`, value: 'websecure' },
      { key: 'old:ab', value: 'a.b.example.com' },
      { key: 'custom_domain:a.b.example.com', value: 'old:ab' },
    ];
    await harness.seed(group);
    const store = await open();
    beforeDelete(store, 1, () =>
      harness.seed([
        { key: 'custom_domain:a-b.example.com', value: 'new:ab' },
        { key: `${router}entryPoints/0`, value: 'websecure' },
      ]),
    );

    const outcome = await store.deleteGroupsIfUnchanged([
      { keys: expectedKeys(group), guards: [{ key: 'custom_domain:a-b.example.com', expected: null }] },
    ]);

    expect(outcome).toEqual(['changed']);
    expect((await harness.read(`${router}entryPoints/0`))?.toString()).toBe('websecure');
    // Put back whole, as one atomic step would have kept it: the next run decides again.
    expect((await harness.read('custom_domain:a.b.example.com'))?.toString()).toBe('old:ab');
    expect((await harness.read('old:ab'))?.toString()).toBe('a.b.example.com');
  });

  it('writes back nothing the plugin wrote anew: a key rewritten with other bytes stays as written', async () => {
    const router = 'traefik/http/routers/custom-c-example-com/';
    const group = [
      { key: `${router}rule`, value: 'Host(`c.example.com`)' },
      { key: `${router}priority`, value: '10' },
      { key: 'custom_domain:c.example.com', value: 'o:c' },
    ];
    await harness.seed(group);
    const store = await open();
    // After the rule went: the plugin writes the forward key, then a new priority and the rule.
    beforeDelete(store, 2, () =>
      harness.seed([
        { key: 'custom_domain:c.example.com', value: 'p:c' },
        { key: `${router}priority`, value: '20' },
      ]),
    );

    expect(await store.deleteGroupsIfUnchanged([{ keys: expectedKeys(group) }])).toEqual(['changed']);
    expect((await harness.read(`${router}priority`))?.toString()).toBe('20');
    expect((await harness.read(`${router}rule`))?.toString()).toBe('Host(`c.example.com`)');
    expect((await harness.read('custom_domain:c.example.com'))?.toString()).toBe('p:c');
  });

  it('deletes the guard last', async () => {
    const group = [
      { key: 'traefik/http/routers/custom-b-example-com/rule', value: 'Host(`b.example.com`)' },
      { key: 'owner:b', value: 'b.example.com' },
      { key: 'custom_domain:b.example.com', value: 'owner:b' },
    ];
    await harness.seed(group);
    const store = await open();
    const scripted = (store as unknown as { cluster: { reaperDeleteIfEqual: (...args: unknown[]) => Promise<number> } }).cluster;
    const original = scripted.reaperDeleteIfEqual.bind(scripted);
    const order: unknown[] = [];
    scripted.reaperDeleteIfEqual = (...args: unknown[]) => {
      order.push(args[1]);
      return original(...args);
    };
    expect(await store.deleteGroupsIfUnchanged([{ keys: group.map(({ key, value }) => ({ key, expected: Buffer.from(value) })) }])).toEqual(
      ['deleted'],
    );
    expect(order).toEqual(group.map((e) => e.key));
  });

  it('keeps working after a master restarts', async () => {
    const store = await open();
    await harness.cluster().restartNode(1);
    await harness.seed(Array.from({ length: 50 }, (_, i) => ({ key: `after:${i}`, value: `v${i}` })));
    const got = await store.getMany(Array.from({ length: 50 }, (_, i) => `after:${i}`));
    expect(got.map((e) => e?.value?.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    const keys = new Set<string>();
    for await (const batch of store.scan('after:')) for (const key of batch) keys.add(key);
    expect(keys.size).toBe(50);
  });

  it('says which flag to check when no seed node answers', async () => {
    const closed = await freePort();
    const error = (await connectRedis({ redisCluster: `127.0.0.1:${closed}` }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('cannot reach Redis');
    expect(error.message).toContain(`redis-cluster://127.0.0.1:${closed}`);
    expect(error.message).toContain('--redis-cluster');
    expect(error.message).not.toContain('\n');
  });

  it('refuses a missing or wrong password in one line that names the flag and never the password', async () => {
    for (const redisPassword of [undefined, 'Wr0ng-guess-Pa55']) {
      const error = (await connectRedis({ redisCluster: harness.cluster().seeds, redisPassword }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain('cannot reach Redis');
      expect(error.message).toContain('--redis-password');
      expect(error.message).not.toContain('\n');
      expect(error.message).not.toContain(PASSWORD);
      if (redisPassword) expect(error.message).not.toContain(redisPassword);
    }
  });

  it('rejects a malformed seed list naming the flag', async () => {
    await expect(connectRedis({ redisCluster: '127.0.0.1' })).rejects.toThrow('--redis-cluster');
  });
});
