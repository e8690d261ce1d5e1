import { GRACE_MARK_PREFIX, graceMarkKey } from '../../src/core/grace';
import { Harness, keysOf } from '../support/harness';
import { pagesFile } from '../support/plugin-writer';

const h = new Harness();
beforeAll(() => h.start());
afterAll(() => h.stop());
beforeEach(() => h.reset());

const site = { owner: 'bob', repo: 'blog', domain: 'bob.dev' };
const GRACE = { graceMs: 1500, graceMarkTtlMs: 60_000 };

describe('grace period (--grace)', () => {
  it('keeps a stale mapping until it has been stale for the grace period, across runs', async () => {
    const keys = await h.seedSite(site, false);
    const first = await h.run('apply', GRACE);
    expect(first.summary).toMatchObject({ pending: 1, staleDomainsCleaned: 0 });
    const mark = await h.redis.get(graceMarkKey(site.domain));
    // The time it was first seen stale, and the registration that was stale.
    const [since, staleFor] = mark!.split(' ');
    expect(staleFor).toBe('bob:blog');
    expect(Date.parse(since)).toBeGreaterThan(Date.now() - 5000);
    expect(await h.redis.pttl(graceMarkKey(site.domain))).toBeGreaterThan(50_000);

    const second = await h.run('apply', GRACE);
    expect(second.summary).toMatchObject({ pending: 1, staleDomainsCleaned: 0 });
    expect(await h.redis.get(graceMarkKey(site.domain))).toBe(mark);
    expect(second.report.grace!.staleSince.get(site.domain)).toBe(Date.parse(since));
    for (const key of keysOf(keys)) expect(await h.redis.exists(key)).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, 1600));
    const third = await h.run('apply', GRACE);
    expect(third.summary).toMatchObject({ pending: 0, staleDomainsCleaned: 1 });
    expect(keysOf(await h.dump())).toEqual([]);
  });

  it('a live verdict in between resets the clock', async () => {
    await h.seedSite(site, false);
    await h.run('apply', GRACE);
    expect(await h.redis.exists(graceMarkKey(site.domain))).toBe(1);

    h.forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
    await h.run('apply', GRACE);
    expect(await h.redis.exists(graceMarkKey(site.domain))).toBe(0);

    await new Promise((resolve) => setTimeout(resolve, 1600));
    h.forgejo.deleteRepo(site.owner, site.repo);
    const again = await h.run('apply', GRACE);
    expect(again.summary).toMatchObject({ pending: 1, staleDomainsCleaned: 0 });
    expect(await h.redis.exists('custom_domain:bob.dev')).toBe(1);
  });

  it("a reap without a grace period that deletes a marked domain deletes its mark: the next owner's grace starts when theirs does", async () => {
    const first = { owner: 'alice', repo: 'old', domain: 'handover.dev' };
    await h.seedSite(first, false);
    await h.run('apply', GRACE);
    expect(await h.redis.exists(graceMarkKey(first.domain))).toBe(1);

    // A one-off reap beside a --grace sidecar reaps it at once.
    const plain = await h.run('apply');
    expect(plain.summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 1 });
    expect(await h.redis.exists(graceMarkKey(first.domain))).toBe(0);

    // The domain's next owner registers it, and their repository goes away later.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await h.seedSite({ owner: 'carol', repo: 'new', domain: first.domain }, false);
    const next = await h.run('apply', GRACE);
    expect(next.summary).toMatchObject({ pending: 1, staleDomainsCleaned: 0 });
    expect(await h.redis.exists(`custom_domain:${first.domain}`)).toBe(1);
  });

  it('a domain another tool deleted and someone else registered gets a grace of its own, whether or not a run saw it unmapped', async () => {
    const first = { owner: 'alice', repo: 'old', domain: 'handover.dev' };
    const next = { owner: 'carol', repo: 'new', domain: first.domain };
    const deleteAll = async () => {
      const keys = (await h.redis.keys('*')).filter((key) => !key.startsWith(GRACE_MARK_PREFIX));
      if (keys.length > 0) await h.redis.del(...keys);
    };
    await h.seedSite(first, false);
    await h.run('apply', GRACE);
    const aliceMark = await h.redis.get(graceMarkKey(first.domain));
    expect(aliceMark).toMatch(/ alice:old$/);

    // Between two runs: the keys are deleted by hand (or by the old reaper.py), carol
    // registers the domain, and her repository goes away; the mark names alice's mapping.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await deleteAll();
    await h.seedSite(next, false);
    const afterHandover = await h.run('apply', GRACE);
    expect(afterHandover.summary).toMatchObject({ pending: 1, staleDomainsCleaned: 0 });
    expect(await h.redis.exists(`custom_domain:${first.domain}`)).toBe(1);
    expect(await h.redis.get(graceMarkKey(first.domain))).toMatch(/ carol:new$/);

    // A run that finds the domain unmapped clears its mark at once.
    await deleteAll();
    await h.run('apply', GRACE);
    expect(await h.redis.exists(graceMarkKey(first.domain))).toBe(0);
  });

  it('a mark written as a bare time (before marks named their mapping) still times whatever the domain maps to', async () => {
    await h.seedSite(site, false);
    await h.redis.set(graceMarkKey(site.domain), new Date(Date.now() - 60_000).toISOString(), 'PX', 60_000);
    const run = await h.run('apply', GRACE);
    expect(run.summary).toMatchObject({ pending: 0, staleDomainsCleaned: 1 });
    expect(await h.redis.exists(graceMarkKey(site.domain))).toBe(0);
  });

  it('verify and a dry run show the stale-since time and write no mark', async () => {
    await h.seedSite(site, false);
    const verified = await h.run('verify', GRACE);
    expect(verified.report.grace!.pending.has(site.domain)).toBe(true);
    const dry = await h.run('plan', GRACE);
    expect(dry.summary.pending).toBe(1);
    expect(await h.redis.keys(`${GRACE_MARK_PREFIX}*`)).toEqual([]);
  });

  it("marks are the reaper's own: never reaped, never backed up as plugin keys, and not counted as mappings", async () => {
    await h.seedSite(site, false);
    await h.run('apply', GRACE);
    const scan = await h.run('scan', GRACE);
    expect(scan.summary.domainsScanned).toBe(1);
    expect(scan.report.plan!.groups).toEqual([]);
  });
});
