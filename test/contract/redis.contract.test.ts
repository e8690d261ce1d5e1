/**
 * The KeyValueStore contract for the Redis plugin against a real redis-server, plus the
 * Redis-specific promises of `connectRedis` (describe without the password, a clear
 * message when the server cannot be reached).
 */
import { createHook } from 'node:async_hooks';
import { Redis } from 'ioredis';
import { connectRedis, describeRedis, type RedisSettings } from '../../plugins/redis';
import { freePort, startRedis } from '../support/servers';
import { describeKeyValueStoreContract, type KeyValueStoreHarness } from './key-value-store.contract';
import { nativeRedisOperations } from './redis-native';

type RedisServer = Awaited<ReturnType<typeof startRedis>>;

const PASSWORD = 'Sup3r-s3cret/pa:ss@word';

/**
 * A harness on a private redis-server; `settings` says how the store under test is
 * configured (host/port flags or a URL), the native ioredis client does the rest.
 */
function redisHarness(options: { password?: string; settings: (server: RedisServer) => RedisSettings }): KeyValueStoreHarness {
  let server: RedisServer | undefined;
  let native: Redis | undefined;
  const client = () => {
    if (!native) throw new Error('harness not started');
    return native;
  };
  return {
    secrets: options.password === undefined ? undefined : [options.password],
    async start() {
      server = await startRedis({ password: options.password });
      native = new Redis({ host: server.host, port: server.port, password: server.password, lazyConnect: true });
      await native.connect();
    },
    async stop() {
      await native?.quit().catch(() => native?.disconnect());
      native = undefined;
      await server?.stop();
      server = undefined;
    },
    connect: () => connectRedis(options.settings(server!)),
    ...nativeRedisOperations(client),
  };
}

describeKeyValueStoreContract('redis (host and port flags)', redisHarness({ settings: (s) => ({ redisHost: s.host, redisPort: s.port }) }));

describeKeyValueStoreContract(
  'redis (password, by --redis-host/--redis-password)',
  redisHarness({ password: PASSWORD, settings: (s) => ({ redisHost: s.host, redisPort: s.port, redisPassword: s.password }) }),
);

describeKeyValueStoreContract(
  'redis (password, by --redis-url)',
  redisHarness({ password: PASSWORD, settings: (s) => ({ redisUrl: s.url }) }),
);

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('connectRedis', () => {
  let server: RedisServer;
  let timersBefore: number;

  beforeAll(async () => {
    timersBefore = activeTimers();
    server = await startRedis({ password: PASSWORD });
  });

  afterAll(async () => {
    // A failed connectRedis leaves a 2 s ioredis timer behind (see the leaked-timer test
    // below); wait, at most 3 s, for those to fire so that jest can exit cleanly.
    const deadline = Date.now() + 3000;
    while (activeTimers() > timersBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await server.stop();
  });

  it('describes the store by host, port and db, never by password', async () => {
    const store = await connectRedis({ redisHost: server.host, redisPort: server.port, redisPassword: PASSWORD });
    try {
      expect(store.describe()).toBe(`redis://${server.host}:${server.port}/0`);
    } finally {
      await store.close();
    }
  });

  it('describes a URL-configured store without the password', async () => {
    const url = `redis://default:${encodeURIComponent(PASSWORD)}@${server.host}:${server.port}/0`;
    const store = await connectRedis({ redisUrl: url });
    try {
      const description = store.describe();
      expect(description).toContain(`${server.host}:${server.port}`);
      expect(description).not.toContain(PASSWORD);
      expect(description).not.toContain(encodeURIComponent(PASSWORD));
      expect(description).not.toContain('Sup3r');
    } finally {
      await store.close();
    }
  });

  it('works on the database --redis-db (or the URL path) names, and says so', async () => {
    const native = new Redis({ host: server.host, port: server.port, password: PASSWORD, db: 3, lazyConnect: true });
    await native.connect();
    const byFlags = await connectRedis({ redisHost: server.host, redisPort: server.port, redisPassword: PASSWORD, redisDb: 3 });
    const byUrl = await connectRedis({ redisUrl: `redis://:${encodeURIComponent(PASSWORD)}@${server.host}:${server.port}/3` });
    const onZero = await connectRedis({ redisHost: server.host, redisPort: server.port, redisPassword: PASSWORD });
    try {
      await native.set('custom_domain:db3.example.com', 'o:r');
      expect(byFlags.describe()).toBe(`redis://${server.host}:${server.port}/3`);
      expect(byUrl.describe()).toContain('/3');
      for (const store of [byFlags, byUrl]) {
        expect((await store.getMany(['custom_domain:db3.example.com']))[0]?.value?.toString()).toBe('o:r');
      }
      expect(await onZero.getMany(['custom_domain:db3.example.com'])).toEqual([undefined]);
    } finally {
      await Promise.all([byFlags.close(), byUrl.close(), onZero.close()]);
      await native.flushdb();
      await native.quit();
    }
  });

  // ioredis takes the password from a `?password=` query parameter as well as from the
  // URL's userinfo (utils.parseURL merges every query item into the options), so
  // blanking `url.password` alone would leave it in describe(), which every report
  // renders as `store`, and in connection errors.
  it('describes a URL that carries the password as ?password= without the password', async () => {
    const secret = 'Query-Str1ng-secret';
    const guarded = await startRedis({ password: secret });
    try {
      const store = await connectRedis({ redisUrl: `redis://${guarded.host}:${guarded.port}/0?password=${secret}` });
      try {
        // The password did reach the server: the store works.
        expect(await store.getMany(['nothing'])).toEqual([undefined]);
        expect(store.describe()).not.toContain(secret);
      } finally {
        await store.close();
      }
    } finally {
      await guarded.stop();
    }
  });

  describe('when the server cannot be reached', () => {
    let closedPort: number;

    beforeAll(async () => {
      closedPort = await freePort();
    });

    const expectClearFailure = async (settings: RedisSettings) => {
      const attempt = connectRedis(settings);
      await expect(attempt).rejects.toBeInstanceOf(Error);
      const message = ((await attempt.catch((e: unknown) => e)) as Error).message;
      expect(message).toContain('cannot reach Redis');
      expect(message).toContain(String(closedPort));
      for (const flag of ['--redis-host', '--redis-port', '--redis-password', '--redis-url']) expect(message).toContain(flag);
      expect(message).not.toContain(PASSWORD);
      expect(message).not.toContain(encodeURIComponent(PASSWORD));
      expect(message).not.toContain('Sup3r');
      return message;
    };

    it('rejects with a message naming the flags to check, configured by host and port', async () => {
      await expectClearFailure({ redisHost: '127.0.0.1', redisPort: closedPort, redisPassword: PASSWORD });
    });

    it('rejects with a message naming the flags to check, configured by URL, without the password', async () => {
      await expectClearFailure({ redisUrl: `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${closedPort}` });
      await expectClearFailure({ redisUrl: `redis://default:${encodeURIComponent(PASSWORD)}@127.0.0.1:${closedPort}/2` });
    });

    // See the ?password= test above: the error message names the store by describeRedis.
    it('never puts a ?password= query parameter into the error message', async () => {
      await expectClearFailure({ redisUrl: `redis://127.0.0.1:${closedPort}/0?password=${encodeURIComponent(PASSWORD)}` });
    });

    // ioredis's disconnect() on a stream that has already closed arms a 2 s
    // `disconnectTimeout` timer that nothing clears, which would keep a failed run's
    // process alive. Only the timers created by this attempt are counted: a process-wide
    // count also moves when unrelated timers (earlier tests, jest) fire in the window.
    it('leaves no timer behind when it fails, so the process can exit at once', async () => {
      const pending = new Set<number>();
      let recording = true;
      const hook = createHook({
        init(asyncId, type) {
          if (recording && type === 'Timeout') pending.add(asyncId);
        },
        destroy(asyncId) {
          pending.delete(asyncId);
        },
      }).enable();
      try {
        await expect(connectRedis({ redisHost: '127.0.0.1', redisPort: closedPort })).rejects.toThrow('cannot reach Redis');
        recording = false;
        // Past the first reconnect delay (200 ms), well before ioredis's 2 s disconnect timeout.
        await new Promise((r) => setTimeout(r, 400));
        // destroy hooks run asynchronously after a timer fires or is cleared.
        await new Promise((r) => setImmediate(r));
        expect(pending.size).toBe(0);
      } finally {
        hook.disable();
      }
    });
  });

  it('refuses a database the server does not have instead of running on database 0', async () => {
    for (const settings of [
      { redisHost: server.host, redisPort: server.port, redisPassword: PASSWORD, redisDb: 99 },
      { redisUrl: `redis://:${encodeURIComponent(PASSWORD)}@${server.host}:${server.port}/99` },
    ]) {
      const error = (await connectRedis(settings).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(/refuses database 99 .*(--redis-db|--redis-url)/);
      expect(error.message).not.toContain(PASSWORD);
      expect(error.message).not.toContain(encodeURIComponent(PASSWORD));
    }
  });

  it('refuses a URL that is not redis:// or rediss://, and never echoes its password', async () => {
    for (const redisUrl of [
      `http://:${PASSWORD}@${server.host}:${server.port}`,
      `redis//:${PASSWORD}@${server.host}:${server.port}`,
      `unix://:${PASSWORD}@/tmp/redis.sock`,
    ]) {
      const error = (await connectRedis({ redisUrl }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(/--redis-url/);
      for (const form of [PASSWORD, encodeURIComponent(PASSWORD), 'Sup3r']) expect(error.message).not.toContain(form);
    }
  });

  it('names the database of ?db= (which ioredis reads when the path names none), and nothing else of the query', () => {
    expect(describeRedis({ redisUrl: `redis://${server.host}:${server.port}?db=3&password=s3cr3t` })).toBe(
      `redis://${server.host}:${server.port}/3`,
    );
    expect(describeRedis({ redisUrl: `redis://${server.host}:${server.port}/2?db=3` })).toBe(`redis://${server.host}:${server.port}/2`);
  });

  it('never shows a password written in the user name place (redis://PASSWORD@host)', async () => {
    const secret = 'Us3rname-s3cr3t';
    expect(describeRedis({ redisUrl: `redis://${secret}@${server.host}:${server.port}/0` })).toBe(
      `redis://${server.host}:${server.port}/0`,
    );
    const error = (await connectRedis({ redisUrl: `redis://${secret}@${server.host}:${server.port}/0` }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).not.toContain(secret);
  });

  it("says which setting a refused connection needs: the server's NOAUTH and WRONGPASS in the operator's words", async () => {
    const missing = (await connectRedis({ redisHost: server.host, redisPort: server.port }).catch((e: unknown) => e)) as Error;
    expect(missing.message).toMatch(
      /^cannot reach Redis at \S+: it requires a password \(NOAUTH\) and none was given; set --redis-password/,
    );
    const wrong = (await connectRedis({ redisHost: server.host, redisPort: server.port, redisPassword: 'n0pe-n0pe' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(wrong.message).toMatch(/^cannot reach Redis at \S+: it refused the password \(WRONGPASS[^)]*\); check --redis-password/);
  });

  it('rejects a wrong password with the same clear message, without either password', async () => {
    const wrong = 'Wr0ng-guess-Pa55';
    const attempt = connectRedis({ redisHost: server.host, redisPort: server.port, redisPassword: wrong });
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('cannot reach Redis');
    expect(error.message).toContain('--redis-password');
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain(PASSWORD);
  });
});

describe('RedisStore.scan and key names that are not text', () => {
  let server: RedisServer;
  let native: Redis;

  beforeAll(async () => {
    server = await startRedis();
    native = new Redis({ host: server.host, port: server.port });
  });

  afterAll(async () => {
    await native.quit();
    await server.stop();
  });

  it('hands over names as text, records a name that is not UTF-8 as skipped, and keeps a real U+FFFD', async () => {
    const names = Array.from({ length: 3000 }, (_, i) => `custom_domain:site${i}.example.com`);
    await native.mset(...names.flatMap((name) => [name, 'o:r']));
    await native.set(Buffer.from([0x6b, 0x65, 0x79, 0xff, 0xfe]), 'binary-named');
    await native.set('custom_domain:\uFFFDreplacement.example.com', 'o:r');
    const store = await connectRedis({ redisHost: server.host, redisPort: server.port });
    try {
      const scanned: string[] = [];
      for await (const batch of store.scan('')) scanned.push(...batch);
      expect(scanned.sort()).toEqual([...names, 'custom_domain:\uFFFDreplacement.example.com'].sort());
      expect(store.skippedKeys?.()).toEqual(['key\\xff\\xfe']);
    } finally {
      await store.close();
    }
  });
});
