/**
 * A reap against a three-master Redis Cluster while one master restarts mid-run: the run
 * ends cleanly or fails safely (exit 0, 1 or 2), no live mapping is ever deleted, and a
 * rerun finishes the job. The nodes keep an append-only file, as production nodes do, so
 * the restart loses no keys.
 */
import { Harness, type Site } from '../support/harness';
import { RedisClusterBackend } from '../support/store-backend';

const SITES = 120;
const isStale = (i: number) => i % 10 === 0; // 12 of 120: under the brake's 30%
const sites: Site[] = Array.from({ length: SITES }, (_, i) => ({
  owner: `user${i}`,
  repo: 'site',
  domain: `site${i}.example.com`,
  redirects: i % 2,
}));

describe('when a Redis Cluster master restarts mid-reap', () => {
  const backend = new RedisClusterBackend({ persistent: true });
  // 20 ms per Forgejo request, two at a time: verifying takes over a second.
  const h = new Harness(backend, { latencyMs: 20 });
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('deletes no live mapping, and a rerun reaps exactly the stale sites', async () => {
    const entries = await Promise.all(sites.map((site, i) => h.seedSite(site, !isStale(i))));
    const live = Object.fromEntries(entries.filter((_e, i) => !isStale(i)).flatMap((e) => Object.entries(e)));
    const staleKeys = entries.filter((_e, i) => isStale(i)).flatMap((e) => Object.keys(e));

    let restarted = false;
    let finished = false;
    const restart = (async () => {
      while (!finished && h.forgejo.stats().requests < SITES / 4) await new Promise((r) => setTimeout(r, 5));
      if (finished) return;
      await backend.server.restartNode(1);
      restarted = true;
    })();
    const first = await h.run('apply', { concurrency: 2 }).then(
      (result) => result.summary.exitCode,
      () => 1, // the store went away under the run: fatal, exit 1
    );
    finished = true;
    await restart;
    expect(restarted).toBe(true);
    expect([0, 1, 2]).toContain(first);

    const afterFirst = await h.dump();
    for (const [key, value] of Object.entries(live)) expect(afterFirst[key]).toBe(value);

    const rerun = await h.run('apply');
    expect(rerun.summary.exitCode).toBe(0);
    const after = await h.dump();
    expect(after).toEqual(Object.fromEntries(Object.entries(live).sort(([a], [b]) => (a < b ? -1 : 1))));
    for (const key of staleKeys) expect(after).not.toHaveProperty([key]);
  });
});
