import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { BackupReader } from '../../src/backup/reader';
import { BackupWriter } from '../../src/backup/writer';
import { createRuntime, type ReaperSettings } from '../../src/container';
import { exportEntries, restoreEntries } from '../../src/engine/transfer';
import type { Selection } from '../../src/core/selection';
import { siteEntries } from '../support/plugin-writer';
import { startEtcd, startRedis } from '../support/servers';

describe('a backup taken from Redis restores into etcd and back', () => {
  let redisServer: Awaited<ReturnType<typeof startRedis>>;
  let etcdServer: Awaited<ReturnType<typeof startEtcd>>;
  let redis: Redis;
  let etcd: Etcd3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-cross-'));

  beforeAll(async () => {
    [redisServer, etcdServer] = await Promise.all([startRedis(), startEtcd()]);
    redis = new Redis({ host: redisServer.host, port: redisServer.port });
    etcd = new Etcd3({ hosts: etcdServer.endpoint });
  });
  afterAll(async () => {
    redis.disconnect();
    etcd.close();
    await Promise.all([redisServer.stop(), etcdServer.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const redisSettings = (): ReaperSettings => ({
    store: 'redis',
    rootKey: 'traefik',
    redisHost: redisServer.host,
    redisPort: redisServer.port,
  });
  const etcdSettings = (): ReaperSettings => ({ store: 'etcd', rootKey: 'traefik', etcdEndpoints: etcdServer.endpoint });

  async function backup(settings: ReaperSettings, file: string, selection: Selection = { kind: 'plugin' }): Promise<void> {
    const runtime = await createRuntime(settings);
    try {
      const writer = await BackupWriter.open(file, { store: runtime.store.describe(), rootKey: 'traefik', reason: 'test' });
      await exportEntries(runtime.store, 'traefik', selection, writer);
      await writer.finish();
    } finally {
      await runtime.close();
    }
  }

  async function restore(settings: ReaperSettings, file: string, dryRun = false) {
    const runtime = await createRuntime(settings);
    try {
      return await restoreEntries(runtime.store, await BackupReader.verify(file), { mode: 'if-absent', dryRun });
    } finally {
      await runtime.close();
    }
  }

  it("a Redis backup's hashes, lists and sets have no place in etcd: the dry run says so, as the real run does", async () => {
    await redis.flushall();
    await etcd.delete().all();
    await redis.mset(siteEntries({ owner: 'carol', repo: 'site', domain: 'carol.example.com' }));
    await redis.hset('h:profile', { name: 'Carol' });
    await redis.rpush('l:queue', 'one', 'two');
    const file = path.join(dir, 'typed.jsonl');
    await backup(redisSettings(), file, { kind: 'all' });

    const dry = await restore(etcdSettings(), file, true);
    const real = await restore(etcdSettings(), file);
    expect(real.counts.unsupported).toBe(2);
    expect(dry.counts).toEqual(real.counts);
    expect([...dry.unsupported].sort()).toEqual(['h:profile', 'l:queue']);
    await redis.flushall();
    await etcd.delete().all();
  });

  it('an entry etcd cannot take (a value over its request limit, an expiry beyond its longest lease) is skipped and named, not the run', async () => {
    await etcd.delete().all();
    const file = path.join(dir, 'outsized.jsonl');
    const writer = await BackupWriter.open(file, { store: 'redis://elsewhere', rootKey: 'traefik', reason: 'test' });
    await writer.add({ key: 'big', type: 'string', value: Buffer.alloc(2 * 1024 * 1024, 0x61) });
    await writer.add({ key: 'far', type: 'string', value: Buffer.from('v'), expiresAt: Date.now() + 300 * 365 * 86_400_000 });
    for (let i = 0; i < 5; i++) await writer.add({ key: `small${i}`, type: 'string', value: Buffer.from(`v${i}`) });
    await writer.finish();

    const result = await restore(etcdSettings(), file);
    expect(result.counts).toMatchObject({ written: 5, unsupported: 2 });
    expect([...result.unsupported].sort()).toEqual(['big', 'far']);
    expect(Object.keys(await etcd.getAll().strings()).sort()).toEqual(['small0', 'small1', 'small2', 'small3', 'small4']);
    await etcd.delete().all();
  });

  it('moves every plugin key, byte for byte', async () => {
    const entries = {
      ...siteEntries({ owner: 'alice', repo: 'blog', domain: 'blog.example.org', branches: ['stage'], redirects: 2 }),
      ...siteEntries({ owner: 'bob', repo: 'docs', domain: 'docs.example.net' }),
    };
    await redis.mset(entries);
    const fromRedis = path.join(dir, 'from-redis.jsonl.gz');
    await backup(redisSettings(), fromRedis);

    const intoEtcd = await restore(etcdSettings(), fromRedis);
    expect(intoEtcd.counts.written).toBe(Object.keys(entries).length);
    expect(await etcd.getAll().strings()).toEqual(entries);

    await redis.flushall();
    const fromEtcd = path.join(dir, 'from-etcd.jsonl');
    await backup(etcdSettings(), fromEtcd);
    const intoRedis = await restore(redisSettings(), fromEtcd);
    expect(intoRedis.counts.written).toBe(Object.keys(entries).length);
    const keys = (await redis.keys('*')).sort();
    expect(keys).toEqual(Object.keys(entries).sort());
    for (const key of keys) expect(await redis.get(key)).toBe(entries[key]);
  });
});
