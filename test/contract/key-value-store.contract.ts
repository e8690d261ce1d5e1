/**
 * The contract every KeyValueStore must keep (DESIGN §4, §5, §8): one suite, run
 * against every store implementation by a small `*.contract.test.ts` file that supplies
 * a harness for it. The harness reads and writes through the store's own native client
 * (ioredis for Redis, etcd3 for etcd), never through the code under test, so the suite
 * checks the store against the real server rather than against itself.
 */
import type { ExpectedKey, KeyGuard, KeyValueStore, StoredEntry } from '../../src/ports/key-value-store';

export interface SeedEntry {
  key: string;
  value: Buffer | string;
  ttlSeconds?: number;
}

export interface KeyValueStoreHarness {
  /** Starts the server(s) and the native client; called once, in beforeAll. */
  start(): Promise<void>;
  /** Stops everything `start` started; called once, in afterAll. */
  stop(): Promise<void>;
  /** A new store under test, connected to the harness's server. */
  connect(): Promise<KeyValueStore>;
  /** Writes plain string entries through the native client (overwriting). */
  seed(entries: SeedEntry[]): Promise<void>;
  /** Writes a key of a non-string type (e.g. a Redis hash); omitted by stores that have none. */
  seedOtherType?(key: string): Promise<void>;
  /** The bytes under a key, read through the native client; undefined when absent. */
  read(key: string): Promise<Buffer | undefined>;
  /** Removes every key; called before each test. */
  flush(): Promise<void>;
  /**
   * Credentials the store was configured with (passwords, tokens). `describe()` must
   * never contain any of them. Optional: a harness without credentials leaves it out.
   */
  secrets?: string[];
}

/** Bytes that are not valid UTF-8: a store that decodes values as text mangles them. */
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xa0, 0xa1, 0xf0, 0x28, 0x8c, 0x28, 0x0a, 0x0d]);

async function collectScan(store: KeyValueStore, prefix: string): Promise<{ batches: unknown[]; keys: Set<string> }> {
  const batches: unknown[] = [];
  const keys = new Set<string>();
  for await (const batch of store.scan(prefix)) {
    batches.push(batch);
    for (const key of batch) keys.add(key);
  }
  return { batches, keys };
}

const bytes = (value: Buffer | string): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));

/** A group's keys as they are now, with the values a reap would expect. */
function expectedOf(entries: Array<{ key: string; value: Buffer | string }>): ExpectedKey[] {
  return entries.map(({ key, value }) => ({ key, expected: bytes(value) }));
}

/** Seven keys shaped like one domain's registration, guard (forward key) last. */
function domainGroup(domain: string, owner = 'owner', repo = 'repo'): SeedEntry[] {
  const router = `traefik/http/routers/custom-${domain.replaceAll('.', '-')}/`;
  return [
    { key: `${router}rule`, value: `Host(\`${domain}\`)` },
    { key: `${router}entryPoints/0`, value: 'web' },
    { key: `${router}entryPoints/1`, value: 'websecure' },
    { key: `${router}middlewares/0`, value: 'pages-server@file' },
    { key: `${router}service`, value: 'noop@internal' },
    { key: `${owner}:${repo}`, value: domain },
    { key: `custom_domain:${domain}`, value: `${owner}:${repo}` },
  ];
}

export function describeKeyValueStoreContract(name: string, harness: KeyValueStoreHarness): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    const opened: KeyValueStore[] = [];

    /** A store for one test; closed after the test unless the test closed it. */
    async function open(): Promise<KeyValueStore> {
      const store = await harness.connect();
      opened.push(store);
      return store;
    }

    async function expectAllPresent(entries: SeedEntry[]): Promise<void> {
      for (const { key, value } of entries) {
        expect({ key, value: await harness.read(key) }).toEqual({ key, value: bytes(value) });
      }
    }

    async function expectAllAbsent(keys: string[]): Promise<void> {
      for (const key of keys) expect({ key, value: await harness.read(key) }).toEqual({ key, value: undefined });
    }

    beforeAll(async () => {
      await harness.start();
    });

    afterAll(async () => {
      await harness.stop();
    });

    beforeEach(async () => {
      await harness.flush();
    });

    afterEach(async () => {
      const stores = opened.splice(0);
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    });

    describe('scan', () => {
      it("scan('') yields every key, in batches of string keys", async () => {
        const entries: SeedEntry[] = Array.from({ length: 2500 }, (_, i) => ({
          key: i % 2 === 0 ? `custom_domain:site-${i}.example.com` : `traefik/http/routers/custom-site-${i}/rule`,
          value: `v${i}`,
        }));
        await harness.seed(entries);
        const store = await open();

        const { batches, keys } = await collectScan(store, '');

        expect(batches.length).toBeGreaterThan(0);
        for (const batch of batches) {
          expect(Array.isArray(batch)).toBe(true);
          for (const key of batch as unknown[]) expect(typeof key).toBe('string');
        }
        expect(keys.size).toBe(2500);
        const missing = entries.filter((e) => !keys.has(e.key)).map((e) => e.key);
        expect(missing).toEqual([]);
      });

      it('scan(prefix) yields only keys under the prefix, and nothing for an unused prefix', async () => {
        await harness.seed([
          { key: 'custom_domain:a.example.com', value: 'o:r' },
          { key: 'custom_domain:b.example.com', value: 'o:r' },
          { key: 'custom_domainX', value: 'x' },
          { key: 'o:r', value: 'a.example.com' },
          { key: 'traefik/http/routers/custom-a-example-com/rule', value: 'Host(`a.example.com`)' },
        ]);
        const store = await open();

        expect([...(await collectScan(store, 'custom_domain:')).keys].sort()).toEqual([
          'custom_domain:a.example.com',
          'custom_domain:b.example.com',
        ]);
        expect([...(await collectScan(store, 'traefik/http/routers/')).keys]).toEqual(['traefik/http/routers/custom-a-example-com/rule']);
        expect((await collectScan(store, 'nothing-here:')).keys.size).toBe(0);
      });

      it('scan(prefix) treats glob characters (* [ ] ? \\) in the prefix literally', async () => {
        await harness.seed([
          { key: 'custom_domain:*.x.com', value: 'o:wild' },
          { key: 'custom_domain:a.x.com', value: 'o:a' },
          { key: 'custom_domain:[a]', value: 'o:brackets' },
          { key: 'custom_domain:a', value: 'o:plain-a' },
          { key: 'custom_domain:b', value: 'o:b' },
          { key: 'traefik/http/routers/custom-a?b/rule', value: 'q' },
          { key: 'traefik/http/routers/custom-axb/rule', value: 'x' },
          { key: 'back\\slash:1', value: 'b' },
          { key: 'backslash:1', value: 'nb' },
          { key: 'custom_domain:bücher.de', value: 'o:idn' },
          { key: 'custom_domain:bucher.de', value: 'o:ascii' },
        ]);
        const store = await open();
        const scanned = async (prefix: string) => [...(await collectScan(store, prefix)).keys].sort();

        expect(await scanned('custom_domain:*')).toEqual(['custom_domain:*.x.com']);
        expect(await scanned('custom_domain:[a]')).toEqual(['custom_domain:[a]']);
        expect(await scanned('custom_domain:[')).toEqual(['custom_domain:[a]']);
        expect(await scanned('traefik/http/routers/custom-a?b/')).toEqual(['traefik/http/routers/custom-a?b/rule']);
        expect(await scanned('traefik/http/routers/custom-a?')).toEqual(['traefik/http/routers/custom-a?b/rule']);
        expect(await scanned('back\\slash')).toEqual(['back\\slash:1']);
        expect(await scanned('back\\')).toEqual(['back\\slash:1']);
        expect(await scanned('custom_domain:bü')).toEqual(['custom_domain:bücher.de']);
      });
    });

    describe('getMany', () => {
      it('returns one entry per key, in order, with exact bytes, types and expiry', async () => {
        await harness.seed([
          { key: 'custom_domain:a.example.com', value: 'owner:repo' },
          { key: 'bin', value: BINARY },
          { key: 'empty', value: '' },
          { key: 'unicode', value: 'bücher.de ✓' },
        ]);
        const before = Date.now();
        await harness.seed([{ key: 'owner:repo:main:index.html', value: '<html>', ttlSeconds: 100 }]);
        const after = Date.now();
        const store = await open();

        const entries = await store.getMany([
          'unicode',
          'missing-1',
          'bin',
          'owner:repo:main:index.html',
          'custom_domain:a.example.com',
          'empty',
          'missing-2',
        ]);

        expect(entries).toHaveLength(7);
        const [unicode, missing1, bin, cached, forward, empty, missing2] = entries as Array<StoredEntry | undefined>;
        expect(missing1).toBeUndefined();
        expect(missing2).toBeUndefined();

        expect(unicode).toMatchObject({ key: 'unicode', type: 'string' });
        expect(unicode!.value!.equals(Buffer.from('bücher.de ✓', 'utf8'))).toBe(true);

        expect(bin).toMatchObject({ key: 'bin', type: 'string' });
        expect(Buffer.isBuffer(bin!.value)).toBe(true);
        expect(bin!.value!.toString('hex')).toBe(BINARY.toString('hex'));
        expect(bin!.expiresAt).toBeUndefined();

        expect(forward).toMatchObject({ key: 'custom_domain:a.example.com', type: 'string' });
        expect(forward!.value!.toString('utf8')).toBe('owner:repo');
        expect(forward!.expiresAt).toBeUndefined();

        expect(empty).toMatchObject({ key: 'empty', type: 'string' });
        expect(Buffer.isBuffer(empty!.value)).toBe(true);
        expect(empty!.value!.length).toBe(0);

        expect(cached).toMatchObject({ key: 'owner:repo:main:index.html', type: 'string' });
        expect(cached!.value!.toString('utf8')).toBe('<html>');
        expect(typeof cached!.expiresAt).toBe('number');
        // Absolute expiry in ms: now + ttl, give or take the round trips (and etcd's lease granularity).
        expect(cached!.expiresAt!).toBeGreaterThanOrEqual(before + 100_000 - 2_000);
        expect(cached!.expiresAt!).toBeLessThanOrEqual(after + 100_000 + 2_000);
      });

      it('returns [] for an empty list of keys', async () => {
        const store = await open();
        expect(await store.getMany([])).toEqual([]);
      });

      it('answers a repeated key once per request, and a long list in order', async () => {
        const entries: SeedEntry[] = Array.from({ length: 1500 }, (_, i) => ({ key: `k:${i}`, value: `value-${i}` }));
        await harness.seed(entries);
        const store = await open();

        const keys = [...entries.map((e) => e.key).reverse(), 'k:7', 'absent', 'k:7'];
        const got = await store.getMany(keys);

        expect(got).toHaveLength(keys.length);
        got.forEach((entry, i) => {
          if (keys[i] === 'absent') expect(entry).toBeUndefined();
          else expect({ key: entry?.key, value: entry?.value?.toString() }).toEqual({ key: keys[i], value: `value-${keys[i].slice(2)}` });
        });
      });

      (harness.seedOtherType ? it : it.skip)('reports a key of another type with its type and no value', async () => {
        await harness.seed([
          { key: 'before', value: 'b' },
          { key: 'after', value: 'a' },
        ]);
        await harness.seedOtherType!('settings:owner/repo');
        const store = await open();

        const [before, other, missing, after] = await store.getMany(['before', 'settings:owner/repo', 'missing', 'after']);

        expect(before).toMatchObject({ key: 'before', type: 'string' });
        expect(before!.value!.toString()).toBe('b');
        expect(other).toBeDefined();
        expect(other!.key).toBe('settings:owner/repo');
        expect(other!.type).not.toBe('string');
        expect(other!.type).not.toBe('unknown');
        expect(other!.value).toBeUndefined();
        expect(missing).toBeUndefined();
        expect(after).toMatchObject({ key: 'after', type: 'string' });
        expect(after!.value!.toString()).toBe('a');
      });
    });

    describe('deleteGroupsIfUnchanged', () => {
      it('returns [] for no groups and touches nothing', async () => {
        const group = domainGroup('a.example.com');
        await harness.seed(group);
        const store = await open();
        expect(await store.deleteGroupsIfUnchanged([])).toEqual([]);
        await expectAllPresent(group);
      });

      it('deletes a group whose keys all still hold their expected values', async () => {
        const group = domainGroup('a.example.com');
        const bystander: SeedEntry = { key: 'custom_domain:b.example.com', value: 'other:repo' };
        await harness.seed([...group, bystander]);
        const store = await open();

        expect(await store.deleteGroupsIfUnchanged([{ keys: expectedOf(group) }])).toEqual(['deleted']);

        await expectAllAbsent(group.map((e) => e.key));
        await expectAllPresent([bystander]);
      });

      it('deletes nothing of a group where one key changed', async () => {
        const group = domainGroup('a.example.com');
        await harness.seed(group);
        const changedKey = group[2].key; // a router key in the middle of the group
        await harness.seed([{ key: changedKey, value: 'changed' }]);
        const store = await open();

        expect(await store.deleteGroupsIfUnchanged([{ keys: expectedOf(group) }])).toEqual(['changed']);

        await expectAllPresent([...group.filter((e) => e.key !== changedKey), { key: changedKey, value: 'changed' }]);
      });

      it('after markReads, where the store has it: a key rewritten with the same bytes is a change; one left alone is not', async () => {
        const store = await open();
        if (!store.markReads) return; // Redis: no revisions; identical bytes are the same state
        const revived = domainGroup('revived.example.com', 'alice', 'blog');
        const untouched = domainGroup('untouched.example.com', 'bob', 'site');
        await harness.seed([...revived, ...untouched]);
        await store.markReads();
        await harness.seed(revived);

        expect(await store.deleteGroupsIfUnchanged([{ keys: expectedOf(revived) }, { keys: expectedOf(untouched) }])).toEqual([
          'changed',
          'deleted',
        ]);

        await expectAllPresent(revived);
        await expectAllAbsent(untouched.map((e) => e.key));
      });

      it('deletes nothing of a group where a key is missing', async () => {
        const group = domainGroup('a.example.com');
        const present = group.filter((_, i) => i !== 3);
        await harness.seed(present);
        const store = await open();

        expect(await store.deleteGroupsIfUnchanged([{ keys: expectedOf(group) }])).toEqual(['changed']);

        await expectAllPresent(present);
      });

      it('counts a group none of whose keys is left as deleted: an earlier try went through and its answer was lost', async () => {
        const gone = domainGroup('gone.example.com');
        const half = domainGroup('half.example.com', 'half', 'site');
        const present = half.filter((_, i) => i % 2 === 0);
        await harness.seed(present);
        const store = await open();

        const outcome = await store.deleteGroupsIfUnchanged([{ keys: expectedOf(gone) }, { keys: expectedOf(half) }]);

        expect(outcome).toEqual(['deleted', 'changed']);
        await expectAllPresent(present);
      });

      (harness.seedOtherType ? it : it.skip)('treats a key of another type as changed', async () => {
        const group = domainGroup('a.example.com');
        const other = group[4];
        const rest = group.filter((e) => e !== other);
        await harness.seed(rest);
        await harness.seedOtherType!(other.key);
        const store = await open();

        expect(await store.deleteGroupsIfUnchanged([{ keys: expectedOf(group) }])).toEqual(['changed']);

        await expectAllPresent(rest);
        const [entry] = await store.getMany([other.key]);
        expect(entry).toBeDefined();
        expect(entry!.type).not.toBe('string');
      });

      it('matches values byte for byte (a prefix or a different case is a change)', async () => {
        await harness.seed([
          { key: 'g1:k', value: 'owner:repo' },
          { key: 'g2:k', value: 'owner:repo' },
          { key: 'g3:k', value: 'owner:repo' },
          { key: 'g4:k', value: '' },
        ]);
        const store = await open();

        const outcome = await store.deleteGroupsIfUnchanged([
          { keys: [{ key: 'g1:k', expected: Buffer.from('owner:rep') }] },
          { keys: [{ key: 'g2:k', expected: Buffer.from('Owner:repo') }] },
          { keys: [{ key: 'g3:k', expected: Buffer.from('owner:repo\0') }] },
          { keys: [{ key: 'g4:k', expected: Buffer.alloc(0) }] },
        ]);

        expect(outcome).toEqual(['changed', 'changed', 'changed', 'deleted']);
        await expectAllPresent([
          { key: 'g1:k', value: 'owner:repo' },
          { key: 'g2:k', value: 'owner:repo' },
          { key: 'g3:k', value: 'owner:repo' },
        ]);
        await expectAllAbsent(['g4:k']);
      });

      it('works with binary (non-UTF-8) expected values', async () => {
        const other = Buffer.from(BINARY);
        other[other.length - 1] ^= 0x01;
        await harness.seed([
          { key: 'bin:1', value: BINARY },
          { key: 'bin:guard', value: 'o:r' },
          { key: 'bin:2', value: BINARY },
          { key: 'bin:guard2', value: 'o:r2' },
        ]);
        const store = await open();

        const outcome = await store.deleteGroupsIfUnchanged([
          {
            keys: [
              { key: 'bin:1', expected: BINARY },
              { key: 'bin:guard', expected: Buffer.from('o:r') },
            ],
          },
          {
            keys: [
              { key: 'bin:2', expected: other },
              { key: 'bin:guard2', expected: Buffer.from('o:r2') },
            ],
          },
        ]);

        expect(outcome).toEqual(['deleted', 'changed']);
        await expectAllAbsent(['bin:1', 'bin:guard']);
        expect((await harness.read('bin:2'))?.toString('hex')).toBe(BINARY.toString('hex'));
        await expectAllPresent([{ key: 'bin:guard2', value: 'o:r2' }]);
      });

      it('compares UTF-8 values byte for byte: the same text in other bytes is a change', async () => {
        const composed = Buffer.from('caf\u00e9:r\u00e9po \u{1F600}', 'utf8');
        const decomposed = Buffer.from('cafe\u0301:re\u0301po \u{1F600}', 'utf8');
        const withBom = Buffer.from('\uFEFFowner:repo', 'utf8');
        await harness.seed([
          { key: 'utf:1', value: composed },
          { key: 'utf:2', value: composed },
          { key: 'utf:3', value: withBom },
          { key: 'utf:4', value: 'owner:repo' },
        ]);
        const store = await open();

        const outcome = await store.deleteGroupsIfUnchanged([
          { keys: [{ key: 'utf:1', expected: composed }] },
          { keys: [{ key: 'utf:2', expected: decomposed }] },
          { keys: [{ key: 'utf:3', expected: withBom }] },
          { keys: [{ key: 'utf:4', expected: withBom }] },
        ]);

        expect(outcome).toEqual(['deleted', 'changed', 'deleted', 'changed']);
        await expectAllAbsent(['utf:1', 'utf:3']);
        expect((await harness.read('utf:2'))?.toString('hex')).toBe(composed.toString('hex'));
        await expectAllPresent([{ key: 'utf:4', value: 'owner:repo' }]);
      });

      it('returns one outcome per group, in order, for a mixed batch of 100 groups', async () => {
        const groups = Array.from({ length: 100 }, (_, i) => domainGroup(`site-${i}.example.com`, `owner${i}`, `repo${i}`));
        await harness.seed(groups.flat());
        // Every seventh group changes (a value, a missing key or a re-registration).
        const changed = new Set<number>();
        for (let i = 3; i < 100; i += 7) {
          changed.add(i);
          const g = groups[i];
          if (i % 3 === 0) await harness.seed([{ key: g[1].key, value: 'websecure' }]);
          else if (i % 3 === 1) await harness.seed([{ key: g[g.length - 1].key, value: `someone:else${i}` }]);
          else await harness.seed([{ key: g[0].key, value: `Host(\`other-${i}.example.com\`)` }]);
        }
        const store = await open();

        const outcome = await store.deleteGroupsIfUnchanged(groups.map((g) => ({ keys: expectedOf(g) })));

        expect(outcome).toEqual(groups.map((_, i) => (changed.has(i) ? 'changed' : 'deleted')));
        for (let i = 0; i < 100; i++) {
          const keys = groups[i].map((e) => e.key);
          const values = await Promise.all(keys.map((k) => harness.read(k)));
          if (changed.has(i)) expect(values.filter((v) => v === undefined)).toEqual([]);
          else expect(values.filter((v) => v !== undefined)).toEqual([]);
        }
      });

      it('deletes nothing when the guard changes between the read and the delete (plugin re-registers)', async () => {
        const group = domainGroup('a.example.com', 'old', 'site');
        await harness.seed(group);
        const store = await open();

        // The reaper reads the group and decides it is stale…
        const read = await store.getMany(group.map((e) => e.key));
        const expected: ExpectedKey[] = read.map((entry, i) => {
          expect(entry?.type).toBe('string');
          return { key: group[i].key, expected: entry!.value! };
        });
        // …then the plugin re-registers the domain for another repository: same
        // router values, new forward value (the guard, last in the group).
        const guard = group[group.length - 1];
        await harness.seed([{ key: guard.key, value: 'new:site' }]);

        expect(await store.deleteGroupsIfUnchanged([{ keys: expected }])).toEqual(['changed']);

        await expectAllPresent([...group.slice(0, -1), { key: guard.key, value: 'new:site' }]);
      });

      it('a re-registration with the same value between read and delete does not block the reap', async () => {
        const group = domainGroup('a.example.com');
        await harness.seed(group);
        const store = await open();
        const read = await store.getMany(group.map((e) => e.key));
        await harness.seed(group); // the plugin writes the same values again
        const outcome = await store.deleteGroupsIfUnchanged([
          { keys: read.map((entry) => ({ key: entry!.key, expected: entry!.value! })) },
        ]);
        expect(outcome).toEqual(['deleted']);
        await expectAllAbsent(group.map((e) => e.key));
      });

      describe('guards: the registration that would make a group live again', () => {
        const orphanRouter = (domain: string): SeedEntry[] => domainGroup(domain).filter((e) => e.key.startsWith('traefik/'));
        const absent = (key: string): KeyGuard => ({ key, expected: null });

        it('deletes a group while its guards are as the scan saw them, and never deletes a guard', async () => {
          const router = orphanRouter('a.example.com');
          const unrelated: SeedEntry = { key: 'custom_domain:b.example.com', value: 'o:b' };
          await harness.seed([...router, unrelated]);
          const store = await open();

          const outcome = await store.deleteGroupsIfUnchanged([
            {
              keys: expectedOf(router),
              guards: [absent('custom_domain:a.example.com'), { key: unrelated.key, expected: Buffer.from('o:b') }],
            },
          ]);

          expect(outcome).toEqual(['deleted']);
          await expectAllAbsent(router.map((e) => e.key));
          await expectAllPresent([unrelated]);
        });

        it('deletes nothing when a guard that was absent now exists (the plugin registered the domain)', async () => {
          const router = orphanRouter('a.example.com');
          await harness.seed([...router, { key: 'custom_domain:a.example.com', value: 'o:a' }]);
          const store = await open();

          expect(
            await store.deleteGroupsIfUnchanged([{ keys: expectedOf(router), guards: [absent('custom_domain:a.example.com')] }]),
          ).toEqual(['changed']);

          await expectAllPresent([...router, { key: 'custom_domain:a.example.com', value: 'o:a' }]);
        });

        it('deletes nothing when a guard holding a value changed or is gone', async () => {
          await harness.seed([
            { key: 'o:r', value: 'a.example.com' },
            { key: 'custom_domain:a.example.com', value: 'other:repo' },
            { key: 'o:s', value: 'b.example.com' },
          ]);
          const store = await open();

          const outcome = await store.deleteGroupsIfUnchanged([
            {
              keys: [{ key: 'o:r', expected: Buffer.from('a.example.com') }],
              guards: [{ key: 'custom_domain:a.example.com', expected: Buffer.from('o:r') }],
            },
            {
              keys: [{ key: 'o:s', expected: Buffer.from('b.example.com') }],
              guards: [{ key: 'custom_domain:b.example.com', expected: Buffer.from('x:y') }],
            },
          ]);

          expect(outcome).toEqual(['changed', 'changed']);
          await expectAllPresent([
            { key: 'o:r', value: 'a.example.com' },
            { key: 'o:s', value: 'b.example.com' },
          ]);
        });

        it('applies groups that share a key in the order given: a guard on a key a later group deletes still sees it', async () => {
          // Two stale domains sharing a router name: the first group takes the router while
          // the other's forward key is as the scan saw it; the second group then deletes
          // that forward key. Side by side, whichever went first would decide.
          const pairs = Array.from({ length: 40 }, (_, i) => ({
            router: orphanRouter(`a.b${i}.example.com`),
            forward: { key: `custom_domain:a-b${i}.example.com`, value: `o:ab${i}` },
          }));
          await harness.seed(pairs.flatMap(({ router, forward }) => [...router, forward]));
          const store = await open();

          const outcome = await store.deleteGroupsIfUnchanged(
            pairs.flatMap(({ router, forward }) => [
              { keys: expectedOf(router), guards: [{ key: forward.key, expected: Buffer.from(forward.value) }] },
              { keys: [{ key: forward.key, expected: Buffer.from(forward.value) }] },
            ]),
          );

          expect(outcome).toEqual(pairs.flatMap(() => ['deleted', 'deleted']));
          await expectAllAbsent(pairs.flatMap(({ router, forward }) => [...router.map((e) => e.key), forward.key]));
        });

        it('checks as many guards as the store allows in one group (hundreds where unbounded)', async () => {
          const first = orphanRouter('a-b-c.example.com');
          const second = orphanRouter('d-e-f.example.com');
          const store = await open();
          const count = Math.min(300, (store.maxGroupSize?.() ?? Infinity) - first.length);
          const guards = (domain: string) => Array.from({ length: count }, (_, i) => absent(`custom_domain:${i}.${domain}`));
          await harness.seed([...first, ...second, { key: `custom_domain:${count - 1}.d-e-f.example.com`, value: 'o:r' }]);

          const outcome = await store.deleteGroupsIfUnchanged([
            { keys: expectedOf(first), guards: guards('a-b-c.example.com') },
            { keys: expectedOf(second), guards: guards('d-e-f.example.com') },
          ]);

          expect(outcome).toEqual(['deleted', 'changed']);
          await expectAllAbsent(first.map((e) => e.key));
          await expectAllPresent(second);
        });
      });
    });

    describe('describe and close', () => {
      it('describe() says where the store is without revealing a credential', async () => {
        const store = await open();
        const description = store.describe();
        expect(typeof description).toBe('string');
        expect(description.length).toBeGreaterThan(0);
        for (const secret of harness.secrets ?? []) {
          expect(description).not.toContain(secret);
          expect(description).not.toContain(encodeURIComponent(secret));
        }
      });

      it('roundTrips() counts requests: it never goes down and grows with each operation', async () => {
        await harness.seed([{ key: 'k', value: 'v' }]);
        const store = await open();
        const counter = (store as Partial<Pick<KeyValueStore, 'roundTrips'>>).roundTrips;
        if (typeof counter !== 'function') return; // a store from before the port had roundTrips()
        const trips = () => counter.call(store);
        const start = trips();
        expect(Number.isInteger(start)).toBe(true);
        expect(start).toBeGreaterThanOrEqual(0);
        await store.getMany(['k']);
        const afterGet = trips();
        expect(afterGet).toBeGreaterThan(start);
        await collectScan(store, '');
        const afterScan = trips();
        expect(afterScan).toBeGreaterThan(afterGet);
        await store.deleteGroupsIfUnchanged([{ keys: [{ key: 'k', expected: Buffer.from('v') }] }]);
        expect(trips()).toBeGreaterThan(afterScan);
      });

      it('close() resolves, and every operation afterwards rejects', async () => {
        await harness.seed([{ key: 'custom_domain:a.example.com', value: 'o:r' }]);
        const store = await harness.connect();
        // Proves the store worked before closing.
        expect((await store.getMany(['custom_domain:a.example.com']))[0]?.value?.toString()).toBe('o:r');

        await expect(store.close()).resolves.toBeUndefined();

        await expect(store.getMany(['custom_domain:a.example.com'])).rejects.toBeInstanceOf(Error);
        await expect(
          store.deleteGroupsIfUnchanged([{ keys: [{ key: 'custom_domain:a.example.com', expected: Buffer.from('o:r') }] }]),
        ).rejects.toBeInstanceOf(Error);
        await expect(collectScan(store, '')).rejects.toBeInstanceOf(Error);
        // Nothing was deleted by the rejected call.
        await expectAllPresent([{ key: 'custom_domain:a.example.com', value: 'o:r' }]);
      });
    });
  });
}
