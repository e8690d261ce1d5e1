/**
 * The KeyValueStore contract for the Redis plugin reached through Redis Sentinel
 * (`--redis-sentinels`, `--redis-sentinel-name`): a real redis-server and one real
 * sentinel watching it. The harness's native client talks to the master directly.
 */
import { Redis } from 'ioredis';
import { connectRedis } from '../../plugins/redis';
import { freePort, startRedis, startSentinel } from '../support/servers';
import { describeKeyValueStoreContract, type KeyValueStoreHarness } from './key-value-store.contract';
import { nativeRedisOperations } from './redis-native';

type RedisServer = Awaited<ReturnType<typeof startRedis>>;
type Sentinel = Awaited<ReturnType<typeof startSentinel>>;

const PASSWORD = 'S3ntinel-guarded/pa:ss';

function sentinelHarness(): KeyValueStoreHarness & { sentinel: () => Sentinel; server: () => RedisServer } {
  let server: RedisServer | undefined;
  let sentinel: Sentinel | undefined;
  let native: Redis | undefined;
  const client = () => {
    if (!native) throw new Error('harness not started');
    return native;
  };
  return {
    secrets: [PASSWORD],
    sentinel: () => sentinel!,
    server: () => server!,
    async start() {
      server = await startRedis({ password: PASSWORD });
      sentinel = await startSentinel(server.port);
      native = new Redis({ host: server.host, port: server.port, password: PASSWORD, lazyConnect: true });
      await native.connect();
    },
    async stop() {
      await native?.quit().catch(() => native?.disconnect());
      native = undefined;
      await sentinel?.stop();
      await server?.stop();
      sentinel = undefined;
      server = undefined;
    },
    connect: () => connectRedis({ redisSentinels: sentinel!.sentinels, redisSentinelName: sentinel!.name, redisPassword: PASSWORD }),
    ...nativeRedisOperations(client),
  };
}

const harness = sentinelHarness();

describeKeyValueStoreContract('redis via sentinel (--redis-sentinels, --redis-sentinel-name)', harness);

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('Redis Sentinel specifics', () => {
  let timersBefore: number;
  beforeAll(async () => {
    timersBefore = activeTimers();
    await harness.start();
  });
  afterAll(async () => {
    // ioredis's sentinel client (SentinelConnector.resolve) disconnects a stream that is
    // already closed when no sentinel answers, arming a 2 s timer that cannot be
    // configured; wait for it (at most 3 s) so that jest can exit cleanly.
    const deadline = Date.now() + 3000;
    while (activeTimers() > timersBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await harness.stop();
  });

  it('describes the store by its sentinels and master name, never by password', async () => {
    const store = await harness.connect();
    try {
      expect(store.describe()).toBe(`redis-sentinel://${harness.sentinel().sentinels}/mymaster/0`);
      expect(store.describe()).not.toContain(PASSWORD);
    } finally {
      await store.close();
    }
  });

  it('uses the master the sentinel names, on the database --redis-db names', async () => {
    const native = new Redis({ host: harness.server().host, port: harness.server().port, password: PASSWORD, db: 2, lazyConnect: true });
    await native.connect();
    const store = await connectRedis({ redisSentinels: harness.sentinel().sentinels, redisPassword: PASSWORD, redisDb: 2 });
    try {
      await native.set('custom_domain:db2.example.com', 'o:r');
      expect((await store.getMany(['custom_domain:db2.example.com']))[0]?.value?.toString()).toBe('o:r');
    } finally {
      await store.close();
      await native.flushdb();
      await native.quit();
    }
  });

  it('fails with one clear line naming the sentinel flags for an unknown master name', async () => {
    const error = (await connectRedis({
      redisSentinels: harness.sentinel().sentinels,
      redisSentinelName: 'nosuchmaster',
      redisPassword: PASSWORD,
    }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('cannot reach Redis');
    expect(error.message).toContain('--redis-sentinel-name');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('\n');
  });

  it('fails with one clear line when no sentinel answers', async () => {
    const closed = await freePort();
    const error = (await connectRedis({ redisSentinels: `127.0.0.1:${closed}` }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('cannot reach Redis');
    expect(error.message).toContain(`127.0.0.1:${closed}`);
    expect(error.message).toContain('--redis-sentinels');
  });
});
