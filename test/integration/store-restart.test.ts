/**
 * A store restarted mid-run. Redis (ioredis connects again on its own): the restarted
 * server hashes its keys with another seed, so going on from the cursor it gave before
 * would miss keys without a word (at 10,000 domains, a restart during the scan left 1,000
 * to 3,800 of the 9,000 stale keys unseen, and the run exited 0); the scan starts that
 * server over instead. etcd: its scan goes by key, but etcd3's calls gave up within
 * milliseconds of a restart; they are tried again over a few seconds.
 */
import { Etcd3 } from 'etcd3';
import { connectEtcd } from '../../plugins/etcd';
import { connectRedis } from '../../plugins/redis';
import { Redis } from 'ioredis';
import { createRuntime } from '../../src/container';
import { DEFAULT_BRAKE } from '../../src/core/planner';
import { summarize } from '../../src/report/summary';
import { startForgejoStandin } from '../support/forgejo-standin';
import type { Standin } from '../support/redis-and-standin';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { startRestartableEtcd, startRestartableRedis } from '../support/servers';
import type { ReaperSettings } from '../../src/container';

type RestartableRedis = Awaited<ReturnType<typeof startRestartableRedis>>;
type RestartableEtcd = Awaited<ReturnType<typeof startRestartableEtcd>>;

const SITES = Array.from({ length: 3_000 }, (_, i) => ({ owner: `o${i % 97}`, repo: `r${i}`, domain: `s${i}.example${i % 7}.com` }));
/** A tenth of the sites are stale: their repositories are gone. */
const LIVE = SITES.filter((_, i) => i % 10 !== 0);
const LIVE_KEYS = LIVE.flatMap((site) => Object.keys(siteEntries(site))).sort();

/**
 * A reap whose store restarts once the scan has handed over `afterPages` pages; resolves
 * with what the run saw and did.
 */
async function reapAcrossRestart(settings: Partial<ReaperSettings>, standin: Standin, afterPages: number, restart: () => Promise<void>) {
  for (const site of LIVE) standin.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
  const runtime = await createRuntime(
    { store: 'redis', rootKey: 'traefik', forgejoHost: standin.url, brake: { ...DEFAULT_BRAKE, force: true }, ...settings },
    { needsSource: true },
  );
  let restarted = false;
  try {
    const scan = runtime.store.scan.bind(runtime.store);
    runtime.store.scan = (prefix) =>
      (async function* () {
        let pages = 0;
        for await (const page of scan(prefix)) {
          yield page;
          if (prefix === '' && ++pages === afterPages) {
            await restart();
            restarted = true;
          }
        }
      })();
    const report = await runtime.engine.run('apply');
    return { restarted, report, summary: summarize(report, false) };
  } finally {
    await runtime.close();
  }
}

describe('a Redis restarted mid-scan', () => {
  let server: RestartableRedis;
  let standin: Standin;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRestartableRedis();
    standin = await startForgejoStandin();
    redis = new Redis({ host: server.host, port: server.port });
  });
  afterAll(async () => {
    redis?.disconnect();
    await standin?.close();
    await server?.stop();
  });

  it('the scan starts that server over: every mapping is seen, every stale site reaped, every live one kept', async () => {
    // About 30,000 keys: some 30 SCAN pages; the server restarts after the third.
    const write = redis.pipeline();
    for (const site of SITES) write.mset(siteEntries(site));
    await write.exec();

    const { restarted, report, summary } = await reapAcrossRestart({ redisHost: server.host, redisPort: server.port }, standin, 3, () =>
      server.restart(),
    );

    expect(restarted).toBe(true);
    expect(report.inventory.forwards.size).toBe(SITES.length);
    expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: SITES.length - LIVE.length });
    expect((await redis.keys('*')).sort()).toEqual(LIVE_KEYS);
  });
});

describe('a Redis down for a few seconds while the run needs no store', () => {
  let server: RestartableRedis;
  beforeAll(async () => {
    server = await startRestartableRedis();
  });
  afterAll(() => server?.stop());

  it('is found back by the next store call (a reap checking Forgejo meanwhile needs it only for the backup)', async () => {
    const store = await connectRedis({ redisHost: server.host, redisPort: server.port, storeTimeout: 10_000 });
    try {
      await store.putMany([{ key: 'custom_domain:a.example.com', type: 'string', value: Buffer.from('o:a') }], 'overwrite');
      // Down for longer than a few quick reconnects (about 1.2 s) and well within --store-timeout.
      await server.restart(3_000);
      const [entry] = await store.getMany(['custom_domain:a.example.com']);
      expect(entry?.value?.toString()).toBe('o:a');
    } finally {
      await store.close();
    }
  });
});

describe('an etcd restarted mid-scan', () => {
  let server: RestartableEtcd;
  let standin: Standin;
  let etcd: Etcd3;
  beforeAll(async () => {
    server = await startRestartableEtcd();
    standin = await startForgejoStandin();
    etcd = new Etcd3({ hosts: server.endpoint });
  });
  afterAll(async () => {
    etcd?.close();
    await standin?.close();
    await server?.stop();
  });

  it('the calls ride through the member being down: every mapping is seen, every stale site reaped, every live one kept', async () => {
    for (let start = 0; start < SITES.length; start += 100) {
      await Promise.all(
        SITES.slice(start, start + 100).flatMap((site) =>
          Object.entries(siteEntries(site)).map(([key, value]) => etcd.put(key).value(value)),
        ),
      );
    }

    // The member is killed and the scan goes on at once: its next calls fail until the
    // member is back (etcd takes a second or so to start), and are tried again meanwhile.
    let back: Promise<void> | undefined;
    const { restarted, report, summary } = await reapAcrossRestart(
      { store: 'etcd', etcdEndpoints: server.endpoint },
      standin,
      1,
      async () => {
        back = server.restart();
      },
    );
    await back;

    expect(restarted).toBe(true);
    expect(report.inventory.forwards.size).toBe(SITES.length);
    expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: SITES.length - LIVE.length });
    expect((await etcd.getAll().keys()).sort()).toEqual(LIVE_KEYS);
  });

  it('a member that stops answering: closing the store cancels its calls in flight instead of leaving them to their deadline', async () => {
    // The deadline is far off. Before, a call in flight waited for it, and its connection
    // held the process until then: an interrupted CLI run was ended by its 3 s watchdog.
    const store = await connectEtcd({ etcdEndpoints: server.endpoint, storeTimeout: 120_000 });
    await server.pause();
    try {
      const pending = store.getMany(['s0.example0.com']).then(
        () => 'answered',
        (error: Error) => error.message,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await store.close();
      const stillWaiting = new Promise((resolve) => setTimeout(() => resolve('still waiting 10 s after close'), 10_000).unref());
      expect(await Promise.race([pending, stillWaiting])).toMatch(/CANCELLED: the store etcd:\/\/.* was closed/);
    } finally {
      server.resume();
    }
  });
});
