import { Harness } from '../support/harness';
import { siteEntries } from '../support/plugin-writer';
import { BACKENDS } from '../support/store-backend';
import { Runner } from '../../src/cli/runner';

/**
 * A scan whose forward mappings outgrow their memory budget spills them to TMPDIR
 * (`DomainArena`); everything after the scan reads them back from there. Here the budget
 * is nothing, so that a few tens of thousands of domains spill, and a reap must delete
 * exactly the stale sites' keys, as it does in memory.
 */
const SITES = 18_000;

describe.each(BACKENDS.slice(0, 1))('on $name, with the forward mappings spilled', ({ create }) => {
  const h = new Harness(create());
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(() => h.reset());

  /** Seeds the sites (one in ten stale) and answers the keys of the live ones, sorted. */
  async function seed(): Promise<string[]> {
    const liveKeys: string[] = [];
    let batch: Record<string, string> = {};
    for (let i = 0; i < SITES; i++) {
      // Names long enough that the forward entries fill more than one 1 MiB chunk.
      const site = {
        owner: `owner-${i}`,
        repo: `repository-${i}`,
        domain: `site${i}.with.a.name.long.enough.for.the.test.example.com`,
        redirects: i % 10 === 3 ? 1 : 0,
      };
      const entries = siteEntries(site);
      Object.assign(batch, entries);
      if (i % 10 !== 7) {
        h.forgejo.setRepo(site.owner, site.repo, { pages: `custom_domain: "${site.domain}"\n`, branches: ['main'] });
        liveKeys.push(...Object.keys(entries));
      }
      if (i % 2_000 === 1_999) {
        await h.store.mset(batch);
        batch = {};
      }
    }
    return liveKeys.sort();
  }

  it('reaps exactly the stale sites, and keeps every key of the live ones', async () => {
    const liveKeys = await seed();
    const { report, summary } = await h.run('apply', { concurrency: 64, forwardsInMemoryBytes: 0 });
    expect(report.inventory.forwards.spilled).toBe(true);
    expect(summary).toMatchObject({
      exitCode: 0,
      domainsScanned: SITES,
      live: SITES * 0.9,
      stale: SITES / 10,
      staleDomainsCleaned: SITES / 10,
      orphansCleaned: 0,
    });
    expect(await h.store.keys('')).toEqual(liveKeys);
  }, 120_000);

  it('keeps the mappings in memory when its directory cannot be written, reaps the same, and says why in one line', async () => {
    const liveKeys = await seed();
    const warnings: string[] = [];
    const runner = new Runner({
      settings: h.settings({ concurrency: 64, forwardsInMemoryBytes: 0, overflowDirectory: '/nonexistent/pages-reaper-tmp' }),
      stage: 'apply',
      context: { command: 'reap', dryRun: false },
      onWarning: (message) => warnings.push(message),
    });
    const { run, status } = await runner.once(new AbortController().signal);
    expect(status).toMatchObject({ exitCode: 0, completed: true });
    expect(run!.report.inventory.forwards.spilled).toBe(false);
    expect(warnings).toEqual([
      "could not create the scan's overflow file in /nonexistent/pages-reaper-tmp (ENOENT: no such file or directory): the scan kept its forward mappings in memory instead; set TMPDIR to a writable directory on disk with room for it (a few tens of MB for a million domains)",
    ]);
    expect(await h.store.keys('')).toEqual(liveKeys);
  }, 120_000);
});
