/**
 * A reap against a three-member etcd cluster survives one member crashing mid-run:
 * `etcdEndpoints` lists all three, the member is SIGKILLed while the reaper is verifying
 * sites against a slow Forgejo, and the run still finishes with exit code 0, every
 * stale site gone and every live site intact; a rerun changes nothing.
 */
import { Etcd3 } from 'etcd3';
import { Harness, type Site } from '../support/harness';
import { EtcdBackend } from '../support/store-backend';

const SITES = 200;
const STALE_EVERY = 10; // 20 of 200: under the brake's 30%

const sites: Site[] = Array.from({ length: SITES }, (_, i) => ({
  owner: `user${i}`,
  repo: 'site',
  domain: `site${i}.example.com`,
  redirects: i % 3,
  branches: i % 7 === 0 ? ['stage'] : [],
}));
const isStale = (i: number) => i % STALE_EVERY === 0;

/** The index of the member that leads the cluster right now. */
async function leaderIndex(endpoints: string[]): Promise<number> {
  const ids: string[] = [];
  let leader = '';
  for (const endpoint of endpoints) {
    const client = new Etcd3({ hosts: endpoint });
    try {
      const status = await client.maintenance.status();
      ids.push(status.header.member_id);
      leader = status.leader;
    } finally {
      client.close();
    }
  }
  const index = ids.indexOf(leader);
  if (index < 0) throw new Error(`no member leads: ${JSON.stringify({ ids, leader })}`);
  return index;
}

const victims: Array<[string, (endpoints: string[]) => Promise<number>]> = [
  ['the first member', async () => 0],
  ['the leader', leaderIndex],
];

describe.each(victims)('when %s of three etcd members crashes mid-reap', (_, pickVictim) => {
  const backend = new EtcdBackend({ members: 3 });
  // 20 ms per Forgejo request, two at a time: verifying 200 sites takes about 2 s.
  const h = new Harness(backend, { latencyMs: 20 });
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('finishes with exit code 0, reaps all 20 stale sites, keeps all 180 live ones; a rerun changes nothing', async () => {
    const entries = await Promise.all(sites.map((site, i) => h.seedSite(site, !isStale(i))));
    const liveKeys = entries.filter((_e, i) => !isStale(i)).flatMap((e) => Object.entries(e));
    const staleKeys = entries.filter((_e, i) => isStale(i)).flatMap((e) => Object.keys(e));
    expect(Object.keys(await h.dump())).toHaveLength(liveKeys.length + staleKeys.length);

    const endpoints = backend.server.endpoints;
    expect(endpoints).toHaveLength(3);
    const victim = await pickVictim(endpoints);
    let stoppedAt: number | undefined;
    let finished = false;
    // Crash the member once a quarter of the sites has been checked: in the middle of the run.
    const crash = (async () => {
      while (!finished && h.forgejo.stats().requests < SITES / 4) await new Promise((r) => setTimeout(r, 5));
      if (finished) return;
      await backend.server.stopMember!(victim, 'SIGKILL');
      stoppedAt = h.forgejo.stats().requests;
    })();

    const first = await h.run('apply', { concurrency: 2 }).finally(() => {
      finished = true;
    });
    await crash;
    // The crash really happened while sites were still being checked.
    expect(stoppedAt).toBeDefined();
    expect(stoppedAt!).toBeLessThan(SITES);

    expect(first.summary).toMatchObject({
      exitCode: 0,
      domainsScanned: entries.reduce((n, e) => n + Object.keys(e).filter((k) => k.startsWith('custom_domain:')).length, 0),
      unknown: 0,
      errors: 0,
      changedSinceRead: 0,
      staleDomainsCleaned: sites.filter((s, i) => isStale(i)).reduce((n, s) => n + 1 + (s.branches?.length ?? 0), 0),
      keysDeleted: staleKeys.length,
    });

    // Read through the surviving members.
    const after = await h.dump();
    expect(after).toEqual(Object.fromEntries([...liveKeys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    for (const key of staleKeys) expect(after).not.toHaveProperty([key]);

    const rerun = await h.run('apply');
    expect(rerun.summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 0, orphansCleaned: 0, keysDeleted: 0 });
    expect(await h.dump()).toEqual(after);
  });
});
