import { Harness, keysOf } from '../support/harness';
import { siteEntries } from '../support/plugin-writer';
import { BACKENDS } from '../support/store-backend';
import type { KeyValueStore } from '../../src/ports/key-value-store';

/**
 * The scan keeps routers by a hash of their name; the names of orphan routers come back
 * from a second scan of the `custom-` router prefix, on every store (Redis SCAN MATCH,
 * etcd a prefix range, Redis Cluster every master).
 */
describe.each(BACKENDS)('orphan router names on $name', ({ create }) => {
  const h = new Harness(create());
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(() => h.reset());

  /** Runs `stage`, noting the prefix of every scan the store is asked for. */
  async function run(stage: 'scan' | 'apply') {
    const prefixes: string[] = [];
    const result = await h.run(stage, {}, (store: KeyValueStore) => {
      const scan = store.scan.bind(store);
      store.scan = (prefix: string) => {
        prefixes.push(prefix);
        return scan(prefix);
      };
    });
    return { ...result, prefixes };
  }

  const ghost = (domain: string): Record<string, string> => {
    const entries = siteEntries({ owner: 'gone', repo: domain, domain });
    return Object.fromEntries(Object.entries(entries).filter(([key]) => key.startsWith('traefik/http/routers/')));
  };

  it('scans once when every router is produced by a forward mapping, and counts every router key', async () => {
    await h.seedSite({ owner: 'alice', repo: 'site', domain: 'www.alice.com', branches: ['stage'] });
    await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'a-b.example.com' });
    const { report, prefixes } = await run('scan');
    expect(prefixes).toEqual(['']);
    expect(report.plan!.groups).toEqual([]);
    const routerKeys = (await h.store.keys('traefik/http/routers/custom-')).length;
    expect(report.inventory.routers.size).toBe(3);
    expect(report.inventory.routers.keyCount).toBe(routerKeys);
    expect([...report.inventory.routers.knownNames()]).toEqual([]);
  });

  it('names orphan routers from a second scan of the router prefix, and reaps them as before', async () => {
    const alice = await h.seedSite({ owner: 'alice', repo: 'site', domain: 'www.alice.com' });
    const orphans: Record<string, string> = {
      ...ghost('ghost.example.com'),
      'traefik/http/routers/custom-ghost-example-com/tls/domains/0/main': 'ghost.example.com',
      ...ghost('a.b.gone.org'),
      ...ghost('star.x.com'),
    };
    // A glob character in a name widens nothing: the prefix is literal.
    orphans['traefik/http/routers/custom-[x]-io/rule'] = 'Host(`[x].io`)';
    const foreign = {
      'traefik/http/routers/pages-domain-base/rule': 'Host(`pages.example.com`)',
      'traefik/http/routers/customer/rule': 'x',
      'traefik/http/routers/custom-no-subkey': 'x',
    };
    await h.store.mset({ ...orphans, ...foreign });

    const scanned = await run('scan');
    expect(scanned.prefixes).toEqual(['', 'traefik/http/routers/custom-']);
    const planned = scanned.report.plan!.groups.map((g) => `${g.kind} ${g.subject} ${g.keys.length}`);
    expect(planned).toEqual([
      'orphan-router custom-[x]-io 1',
      'orphan-router custom-a-b-gone-org 7',
      'orphan-router custom-ghost-example-com 8',
      'orphan-router custom-star-x-com 7',
    ]);
    expect(scanned.report.inventory.routers.size).toBe(5);

    const { summary } = await run('apply');
    expect(summary).toMatchObject({ exitCode: 0, orphansCleaned: 4 });
    expect(keysOf(await h.dump())).toEqual([...keysOf(alice), ...Object.keys(foreign)].sort());
    // Once reaped, nothing is left to name: one scan.
    expect((await run('scan')).prefixes).toEqual(['']);
  });
});
