/**
 * A Redis restarted mid-scan (ioredis connects again on its own): the restarted server
 * hashes its keys with another seed, so going on from the cursor it gave before would
 * miss keys without a word (at 10,000 domains, a restart during the scan left 1,000 to
 * 3,800 of the 9,000 stale keys unseen, and the run exited 0). The scan starts that
 * server over instead.
 */
import { Redis } from 'ioredis';
import { createRuntime } from '../../src/container';
import { DEFAULT_BRAKE } from '../../src/core/planner';
import { summarize } from '../../src/report/summary';
import { startForgejoStandin } from '../support/forgejo-standin';
import type { Standin } from '../support/redis-and-standin';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { startRestartableRedis } from '../support/servers';

type RestartableRedis = Awaited<ReturnType<typeof startRestartableRedis>>;

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
    // 3,000 sites (about 30,000 keys: some 30 SCAN pages), a tenth of them stale.
    const sites = Array.from({ length: 3_000 }, (_, i) => ({ owner: `o${i % 97}`, repo: `r${i}`, domain: `s${i}.example${i % 7}.com` }));
    const live = sites.filter((_, i) => i % 10 !== 0);
    const write = redis.pipeline();
    for (const site of sites) write.mset(siteEntries(site));
    await write.exec();
    for (const site of live) standin.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
    const liveKeys = live.flatMap((site) => Object.keys(siteEntries(site))).sort();

    const runtime = await createRuntime(
      {
        store: 'redis',
        redisHost: server.host,
        redisPort: server.port,
        rootKey: 'traefik',
        forgejoHost: standin.url,
        brake: { ...DEFAULT_BRAKE, force: true },
      },
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
            if (prefix === '' && ++pages === 3) {
              await server.restart();
              restarted = true;
            }
          }
        })();
      const report = await runtime.engine.run('apply');
      const summary = summarize(report, false);

      expect(restarted).toBe(true);
      expect(report.inventory.forwards.size).toBe(sites.length);
      expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: sites.length - live.length });
    } finally {
      await runtime.close();
    }
    expect((await redis.keys('*')).sort()).toEqual(liveKeys);
  });
});
