/**
 * The KeyValueStore contract for the etcd plugin against a real etcd, plus the
 * etcd-specific promises of `connectEtcd` (describe without credentials, a clear
 * message when the cluster cannot be reached, putMany with leases).
 *
 * etcd holds only bytes under byte keys: there is no other type, so the harness has no
 * `seedOtherType` and the contract skips the tests about other types.
 */
import { Etcd3 } from 'etcd3';
import { connectEtcd, EtcdStore, prefixEnd, storePlugin, type EtcdSettings } from '../../plugins/etcd';
import { loadStorePlugin } from '../../src/plugin-registry';
import { freePort, startEtcd } from '../support/servers';
import { siteEntries } from '../support/plugin-writer';
import { describeKeyValueStoreContract, type KeyValueStoreHarness, type SeedEntry } from './key-value-store.contract';

type EtcdServer = Awaited<ReturnType<typeof startEtcd>>;

const PASSWORD = 'Sup3r-s3cret/pa:ss@word';

/** Everything from the first possible key on. */
const ALL = { key: Buffer.from([0]), range_end: Buffer.from([0]) };

function etcdHarness(options: { auth?: boolean } = {}): KeyValueStoreHarness & { server(): EtcdServer; native(): Etcd3 } {
  let server: EtcdServer | undefined;
  let native: Etcd3 | undefined;
  const client = () => {
    if (!native) throw new Error('harness not started');
    return native;
  };
  const settings = (): EtcdSettings => ({
    etcdEndpoints: server!.endpoint,
    ...(options.auth ? { etcdUsername: 'root', etcdPassword: PASSWORD } : {}),
  });
  return {
    secrets: options.auth ? [PASSWORD] : undefined,
    server: () => server!,
    native: client,
    async start() {
      server = await startEtcd();
      native = new Etcd3({ hosts: server.endpoint });
      if (options.auth) {
        await native.user('root').create(PASSWORD);
        await native.user('root').addRole('root');
        await native.auth.authEnable({});
        native.close();
        native = new Etcd3({ hosts: server.endpoint, auth: { username: 'root', password: PASSWORD } });
      }
    },
    async stop() {
      native?.close();
      native = undefined;
      await server?.stop();
      server = undefined;
    },
    connect: () => connectEtcd(settings()),
    async seed(entries: SeedEntry[]) {
      // One lease per distinct TTL, as the plugin's own users (Traefik, the pages server) do.
      const leases = new Map<number, string>();
      for (const { ttlSeconds } of entries) {
        if (ttlSeconds !== undefined && !leases.has(ttlSeconds)) {
          leases.set(ttlSeconds, (await client().leaseClient.leaseGrant({ TTL: ttlSeconds })).ID);
        }
      }
      for (let i = 0; i < entries.length; i += 200) {
        await Promise.all(
          entries.slice(i, i + 200).map(({ key, value, ttlSeconds }) =>
            client().kv.put({
              key: Buffer.from(key, 'utf8'),
              value: Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'),
              lease: ttlSeconds === undefined ? 0 : leases.get(ttlSeconds),
            }),
          ),
        );
      }
    },
    async read(key: string) {
      const reply = await client().kv.range({ key: Buffer.from(key, 'utf8') });
      return reply.kvs[0] ? Buffer.from(reply.kvs[0].value ?? Buffer.alloc(0)) : undefined;
    },
    async flush() {
      await client().kv.deleteRange(ALL);
    },
  };
}

describeKeyValueStoreContract('etcd', etcdHarness());

describeKeyValueStoreContract('etcd (user and password)', etcdHarness({ auth: true }));

describe('etcd plugin', () => {
  const harness = etcdHarness();

  beforeAll(() => harness.start());
  afterAll(() => harness.stop());
  beforeEach(() => harness.flush());

  it('computes prefix ends byte-wise', () => {
    expect(prefixEnd(Buffer.from('a'))).toEqual(Buffer.from('b'));
    expect(prefixEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from('b'));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toEqual(Buffer.from([0]));
    expect(prefixEnd(Buffer.alloc(0))).toEqual(Buffer.from([0]));
  });

  it('is the built-in store named etcd, and describes endpoints without credentials', async () => {
    expect(loadStorePlugin('etcd').name).toBe('etcd');
    const endpoint = harness.server().endpoint;
    const store = await storePlugin.create({ etcdEndpoints: `${endpoint}, http://user:${encodeURIComponent(PASSWORD)}@127.0.0.1:1` });
    try {
      expect(store.describe()).toBe(`etcd://${endpoint.replace('http://', '')},127.0.0.1:1`);
      expect(store.describe()).not.toContain('user');
    } finally {
      await store.close();
    }
  });

  it('writes if absent, reports same or exists, and overwrites with leases', async () => {
    await harness.seed([
      { key: 'p:same', value: 'v' },
      { key: 'p:other', value: 'old' },
    ]);
    const store = await connectEtcd({ etcdEndpoints: harness.server().endpoint });
    try {
      const expiresAt = Date.now() + 50_500;
      const entries = [
        { key: 'p:same', type: 'string', value: Buffer.from('v') },
        { key: 'p:other', type: 'string', value: Buffer.from('new') },
        { key: 'p:new', type: 'string', value: Buffer.from('n'), expiresAt },
        { key: 'p:hash', type: 'hash', dump: Buffer.from('x') },
      ];
      expect(await store.putMany(entries, 'if-absent')).toEqual(['same', 'exists', 'written', 'unsupported']);
      expect((await harness.read('p:other'))?.toString()).toBe('old');
      const [fresh] = await store.getMany(['p:new']);
      expect(fresh!.expiresAt!).toBeGreaterThan(expiresAt - 3000);
      expect(fresh!.expiresAt!).toBeLessThan(expiresAt + 3000);

      expect(await store.putMany(entries, 'overwrite')).toEqual(['same', 'replaced', 'replaced', 'unsupported']);
      expect((await harness.read('p:other'))?.toString()).toBe('new');
      expect(await store.putMany([{ key: 'p:gone', type: 'string', value: Buffer.from('g') }], 'overwrite')).toEqual(['written']);
      // A lease dropped on overwrite without TTL.
      expect(await store.putMany([{ key: 'p:new', type: 'string', value: Buffer.from('n') }], 'overwrite')).toEqual(['replaced']);
      expect((await store.getMany(['p:new']))[0]!.expiresAt).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('looks a lease up once however many keys share it, and scans in pages', async () => {
    await harness.seed(Array.from({ length: 300 }, (_, i) => ({ key: `t:${i}`, value: 'x', ttlSeconds: 60 })));
    const store = await connectEtcd({ etcdEndpoints: harness.server().endpoint });
    try {
      const before = store.roundTrips();
      const got = await store.getMany(Array.from({ length: 300 }, (_, i) => `t:${i}`));
      expect(got.every((e) => typeof e?.expiresAt === 'number')).toBe(true);
      // 300 keys: 3 transactions of at most 128 gets, plus one lease lookup.
      expect(store.roundTrips() - before).toBe(4);
      const batches: string[][] = [];
      for await (const batch of store.scan('t:')) batches.push(batch);
      expect(batches.flat()).toHaveLength(300);
    } finally {
      await store.close();
    }
  });

  /** A store whose range requests are recorded with the number of keys etcd counted for each. */
  function recordingStore(): {
    store: EtcdStore;
    client: Etcd3;
    requests: Array<{ key: Buffer; rangeEnd: Buffer; limit: number; count: number; returned: number }>;
  } {
    const client = new Etcd3({ hosts: harness.server().endpoint });
    const requests: Array<{ key: Buffer; rangeEnd: Buffer; limit: number; count: number; returned: number }> = [];
    const range = client.kv.range.bind(client.kv);
    client.kv.range = async (request, options) => {
      const reply = await range(request, options);
      requests.push({
        key: request.key!,
        rangeEnd: request.range_end!,
        limit: Number(request.limit),
        count: Number(reply.count),
        returned: reply.kvs.length,
      });
      return reply;
    };
    return { store: new EtcdStore(client, 'recording'), client, requests };
  }

  it('scans in bounded windows: every key exactly once and in order, and etcd counts each key a few times, not once per page', async () => {
    // etcd counts every key between a range request's start and end, whatever its limit:
    // pages of 1000 over the rest of the prefix would count 31,500 keys 16 times each.
    const sites = Array.from({ length: 3000 }, (_, i) => ({
      owner: `user${i % 97}`,
      repo: `site${i}`,
      domain: `site${i}.example${i % 50}.com`,
      redirects: i % 10 === 5 ? 1 : 0,
    }));
    const entries = sites.flatMap((site) => Object.entries(siteEntries(site)).map(([key, value]) => ({ key, value })));
    entries.push({ key: '\u00ff\u00ff', value: 'after everything else' });
    // Transactions of 128 puts: one raft entry each, not one per key.
    for (let i = 0; i < entries.length; i += 128 * 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) => entries.slice(i + j * 128, i + (j + 1) * 128))
          .filter((batch) => batch.length > 0)
          .map((batch) =>
            harness
              .native()
              .kv.txn({ success: batch.map(({ key, value }) => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } })) }),
          ),
      );
    }
    const { store, requests } = recordingStore();
    try {
      const batches: string[][] = [];
      for await (const batch of store.scan('')) batches.push(batch);
      const keys = batches.flat();
      const expected = entries.map((e) => e.key).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(keys).toEqual(expected);
      // Answers stay within a page; etcd counted each key a few times (about 4 here).
      expect(requests.every((r) => r.returned <= 4000)).toBe(true);
      const counted = requests.reduce((sum, r) => sum + r.count, 0);
      expect(counted / keys.length).toBeLessThan(8);
      expect(store.roundTrips()).toBe(requests.length);

      // Under a prefix: only its keys, each once, though the windows cross others' keys.
      requests.length = 0;
      const routers = [];
      for await (const batch of store.scan('traefik/http/routers/custom-site1')) routers.push(...batch);
      expect(routers).toEqual(expected.filter((k) => k.startsWith('traefik/http/routers/custom-site1')));
      expect(requests.every((r) => Buffer.compare(r.key, Buffer.from('traefik/http/routers/custom-site1')) >= 0)).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('scans keys too long for a page of 4000 in one answer, in smaller pages', async () => {
    // 1200 names of 5 KB: 6 MB in one answer, over grpc's 4 MiB per message.
    const long = 'x'.repeat(5000);
    await harness.seed(Array.from({ length: 1200 }, (_, i) => ({ key: `long:${String(i).padStart(4, '0')}:${long}`, value: 'v' })));
    await harness.seed([
      { key: 'long', value: 'not under long:' },
      { key: 'long;', value: 'after the prefix' },
    ]);
    const { store, requests } = recordingStore();
    try {
      const keys: string[] = [];
      for await (const batch of store.scan('long:')) keys.push(...batch);
      expect(keys).toHaveLength(1200);
      expect(new Set(keys).size).toBe(1200);
      expect(keys.every((key, i) => key === `long:${String(i).padStart(4, '0')}:${long}`)).toBe(true);
      expect(requests.every((r) => r.returned * 5000 <= 1 << 21)).toBe(true);
    } finally {
      await store.close();
    }
  });

  describe('when the cluster cannot be reached', () => {
    it('rejects with one clear message naming the flags, without the password', async () => {
      const port = await freePort();
      const error = (await storePlugin
        .create({ etcdEndpoints: `http://127.0.0.1:${port}`, etcdUsername: 'root', etcdPassword: PASSWORD })
        .catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(`cannot reach etcd at etcd://127.0.0.1:${port}`);
      expect(error.message).toContain('--etcd-endpoints');
      // What failed, in the operating system's words, not grpc's frame around them.
      expect(error.message).not.toMatch(/UNAVAILABLE|Last error/);
      expect(error.message).not.toContain(PASSWORD);
      expect(error.message).not.toContain('\n');
    });

    it('rejects a missing TLS file with the same message', async () => {
      const error = (await storePlugin
        .create({ etcdEndpoints: harness.server().endpoint, etcdCa: '/nonexistent/ca.pem' })
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toContain('cannot reach etcd');
      expect(error.message).toContain('--etcd-ca');
    });
  });
});
