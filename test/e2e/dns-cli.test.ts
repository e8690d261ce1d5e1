/**
 * `--verify-dns` through the CLI as a process, against a real DNS server (dnsmasq), a
 * real store (redis-server and etcd) and the Forgejo stand-in. The plugin's record is
 * computed here from its definition (pages.go: SHA-256 of "owner/repo", hex), not with
 * the reaper's own code. Assumes dist/ and oclif.manifest.json are fresh.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliRunner, expectFatal, type CliResult } from '../support/cli-process';
import { freeUdpPort, shouldRunDnsTests, startDnsmasq } from '../support/dns-server';
import { startForgejoStandin } from '../support/forgejo-standin';
import type { Site } from '../support/harness';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { EtcdBackend, RedisBackend, storeArgs } from '../support/store-backend';

const record = (ownerRepo: string) => `bovine-pages-verification=${createHash('sha256').update(ownerRepo).digest('hex')}`;

/** Each site's DNS situation is in its comment; the zone below serves exactly that. */
const PROVEN: Site = { owner: 'alice', repo: 'site', domain: 'ok.test', branches: ['dev'] }; // right record; dev.ok.test has none of its own
const AMONG: Site = { owner: 'bob', repo: 'site', domain: 'many.test' }; // right record among SPF and another repository's
const SPLIT: Site = { owner: 'carol', repo: 'site', domain: 'split.test' }; // right record in two character-strings
const WRONG: Site = { owner: 'dave', repo: 'site', domain: 'wrong.test' }; // the record of dave/other
const NO_TXT: Site = { owner: 'erin', repo: 'site', domain: 'notxt.test' }; // an A record, no TXT
const NXDOMAIN: Site = { owner: 'frank', repo: 'site', domain: 'gone.test' }; // no such name
const TIMEOUT: Site = { owner: 'grace', repo: 'site', domain: 'slow.silent.test' }; // delegated to a dead server
const REFUSED: Site = { owner: 'heidi', repo: 'site', domain: 'site.elsewhere.example' }; // outside the server's zones
const FORGEJO_STALE: Site = { owner: 'judy', repo: 'gone', domain: 'old.test' }; // repository deleted: no lookup at all
const LIVE_SITES = [PROVEN, AMONG, SPLIT, WRONG, NO_TXT, NXDOMAIN, TIMEOUT, REFUSED];

const ZONE = {
  zones: ['test', 'silent.test'],
  silent: ['silent.test'],
  txt: [
    ['ok.test', record('alice/site')],
    ['many.test', 'v=spf1 -all'],
    ['many.test', record('mallory/site')],
    ['many.test', record('bob/site')],
    ['split.test', record('carol/site').slice(0, 30), record('carol/site').slice(30)],
    ['wrong.test', record('dave/other')],
    ['wrong.test', 'google-site-verification=abc'],
    // the breaker test's sites, each with its right record
    ...Array.from({ length: 12 }, (_, i) => [`p${i}.test`, record(`owner${i}/site`)]),
  ],
  hosts: [['notxt.test', '192.0.2.1']],
};

const run = shouldRunDnsTests();
const describeDns = run ? describe : describe.skip;
const cli = cliRunner('dns');
afterAll(() => cli.cleanup());

let dnsServer: Awaited<ReturnType<typeof startDnsmasq>> | undefined;
let standin: Awaited<ReturnType<typeof startForgejoStandin>> | undefined;
if (run) {
  beforeAll(async () => {
    // dnsmasq first: when it is missing (CI), nothing else has been started.
    dnsServer = await startDnsmasq(ZONE);
    standin = await startForgejoStandin();
  });
  afterAll(async () => {
    await Promise.all([dnsServer?.stop(), standin?.close()]);
  });
}

function parseJson(result: CliResult): any {
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`stdout is not one JSON document (${(error as Error).message}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

const byDomain = (doc: any) => Object.fromEntries(doc.domains.map((d: any) => [d.domain, d]));

for (const makeStore of [() => new RedisBackend(), () => new EtcdBackend()]) {
  const store = makeStore();
  describeDns(`--verify-dns on ${store.name}`, () => {
    beforeAll(() => store.start());
    afterAll(() => store.stop());

    const common = () => [...storeArgs(store), '--forgejo-host', standin!.url, '--retry-delay', '5'];
    const dnsArgs = () => ['--verify-dns', '--dns-server', dnsServer!.server, '--dns-timeout', '0.3'];

    async function seed(sites: Site[], staleSites: Site[] = []): Promise<void> {
      await store.flush();
      standin!.resetStats();
      for (const site of sites) {
        standin!.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', ...(site.branches ?? [])] });
        await store.mset(siteEntries(site));
      }
      for (const site of staleSites) {
        standin!.deleteRepo(site.owner, site.repo);
        await store.mset(siteEntries(site));
      }
    }

    it('verify --json: each TXT situation gets its verdict and its evidence', async () => {
      await seed(LIVE_SITES, [FORGEJO_STALE]);
      const result = await cli.run(['verify', ...common(), ...dnsArgs(), '--json']);
      const doc = parseJson(result);
      expect(result.code).toBe(2); // two lookups failed: unknown, never stale
      expect(doc.summary.exitCode).toBe(2);
      const d = byDomain(doc);
      const outcome = (domain: string) => [d[domain].verdict, d[domain].dns?.outcome, d[domain].dns?.answer, d[domain].dns?.name];
      expect(outcome('ok.test')).toEqual(['live', 'proven', 'records', 'ok.test']);
      // The plugin checks a branch subdomain's record at its custom_domain, once, for the repository.
      expect(outcome('dev.ok.test')).toEqual(['live', 'proven', 'records', 'ok.test']);
      expect(outcome('many.test')).toEqual(['live', 'proven', 'records', 'many.test']);
      expect(d['many.test'].dns.records).toHaveLength(3);
      expect(outcome('split.test')).toEqual(['live', 'proven', 'records', 'split.test']);
      expect(d['split.test'].dns.records).toEqual([record('carol/site')]);
      expect(outcome('wrong.test')).toEqual(['stale', 'ownership-lost', 'records', 'wrong.test']);
      expect(d['wrong.test'].reason).toMatch(
        /^ownership lost: wrong\.test has a bovine-pages-verification record for another repository \(expected /,
      );
      expect(d['wrong.test'].reason).toContain(record('dave/site'));
      expect(d['wrong.test'].dns.records.sort()).toEqual([record('dave/other'), 'google-site-verification=abc'].sort());
      expect(d['wrong.test'].dns.expected).toBe(record('dave/site'));
      expect(outcome('notxt.test')).toEqual(['stale', 'ownership-lost', 'nodata', 'notxt.test']);
      expect(d['notxt.test'].reason).toMatch(/ownership lost: notxt\.test has no TXT record/);
      expect(outcome('gone.test')).toEqual(['stale', 'ownership-lost', 'nxdomain', 'gone.test']);
      expect(d['gone.test'].reason).toMatch(/ownership lost: gone\.test does not exist \(NXDOMAIN\)/);
      expect(outcome('slow.silent.test')).toEqual(['unknown', 'unknown', 'ETIMEOUT', 'slow.silent.test']);
      expect(outcome('site.elsewhere.example')).toEqual(['unknown', 'unknown', 'EREFUSED', 'site.elsewhere.example']);
      // Stale by Forgejo: never looked up.
      expect(d['old.test'].verdict).toBe('stale');
      expect(d['old.test'].dns).toBeUndefined();
      expect(doc.summary.dns).toEqual({ checked: 9, proven: 4, ownershipLost: 3, unknown: 2, lookups: 8 });
      expect(doc.dnsServers).toBe(dnsServer!.server);
    });

    it('without --verify-dns nothing changes: no lookups, no DNS evidence', async () => {
      await seed(LIVE_SITES, [FORGEJO_STALE]);
      const result = await cli.run(['verify', ...common(), '--json']);
      const doc = parseJson(result);
      expect(result.code).toBe(0);
      expect(Object.keys(doc)).not.toContain('dnsServers');
      expect(Object.keys(doc.summary)).not.toContain('dns');
      for (const domain of doc.domains) {
        expect(Object.keys(domain)).not.toContain('dns');
        expect(domain.verdict).toBe(domain.domain === 'old.test' ? 'stale' : 'live');
      }
    });

    it('reap removes exactly the domains whose ownership is lost (and the Forgejo-stale one), keeps unknown and proven', async () => {
      await seed(LIVE_SITES, [FORGEJO_STALE]);
      const before = await store.dump();
      const metricsFile = path.join(cli.home, `metrics-${store.name}.prom`);
      const result = await cli.run(['reap', ...common(), ...dnsArgs(), '--max-stale-ratio', '0.5', '--metrics-file', metricsFile]);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: '' });
      expect(result.stdout).toMatch(/❌ Stale: ownership lost: gone\.test does not exist \(NXDOMAIN\)/);
      expect(result.stdout).toMatch(/^DNS ownership:\s+4 proven \/ 3 lost \/ 2 unknown$/m);
      const reaped = [WRONG, NO_TXT, NXDOMAIN, FORGEJO_STALE].flatMap((site) => Object.keys(siteEntries(site)));
      const expected = { ...before };
      for (const key of reaped) delete expected[key];
      expect(await store.dump()).toEqual(expected);
      const metrics = fs.readFileSync(metricsFile, 'utf8');
      expect(metrics).toMatch(/^pages_reaper_dns_ownership_domains\{verdict="ownership_lost"\} 3$/m);
      expect(metrics).toMatch(/^pages_reaper_dns_ownership_domains\{verdict="proven"\} 4$/m);
      expect(metrics).toMatch(/^pages_reaper_dns_ownership_domains\{verdict="unknown"\} 2$/m);
      expect(metrics).toMatch(/^pages_reaper_dns_lookups_total 8$/m);
    });

    it('with --grace, ownership lost is reaped only on the run after the grace period expired', async () => {
      await seed([PROVEN, WRONG]);
      const before = await store.dump();
      const args = ['reap', ...common(), ...dnsArgs(), '--grace', '1h', '--json'];
      const first = parseJson(await cli.run(args));
      expect(first.summary).toMatchObject({ exitCode: 0, stale: 1, pending: 1, staleDomainsCleaned: 0 });
      const markKey = 'pages-reaper:stale-since:wrong.test';
      const mark = await store.get(markKey);
      // The time it was first seen stale, and the mapping that was.
      const [since, staleFor] = mark!.split(' ');
      expect(Date.parse(since)).not.toBeNaN();
      expect(staleFor).toMatch(/^\S+:\S+$/);
      const second = parseJson(await cli.run(args));
      expect(second.summary).toMatchObject({ pending: 1, staleDomainsCleaned: 0 });
      expect(await store.get(markKey)).toBe(mark);
      for (const key of Object.keys(before)) expect(await store.exists(key)).toBe(true);

      // An hour passes (the mark says so; no clock in a test waits for it).
      await store.set(markKey, `${new Date(Date.parse(since) - 3_600_000).toISOString()} ${staleFor}`, { ttlSeconds: 86_400 });
      const third = parseJson(await cli.run(args));
      expect(third.summary).toMatchObject({ exitCode: 0, pending: 0, staleDomainsCleaned: 1 });
      const expected = { ...before };
      for (const key of Object.keys(siteEntries(WRONG))) delete expected[key];
      expect(await store.dump()).toEqual(expected);
    });

    it('the first 10 lookups failing alike stop the run: one line naming the cause, nothing deleted, exit 1 as for Forgejo', async () => {
      const proven = Array.from({ length: 12 }, (_, i): Site => ({ owner: `owner${i}`, repo: 'site', domain: `p${i}.test` }));
      await seed(proven, [FORGEJO_STALE]);
      const before = await store.dump();
      const nobody = await freeUdpPort(); // nothing listens: every lookup is refused
      const result = await cli.run(['reap', ...common(), '--verify-dns', '--dns-server', `127.0.0.1:${nobody}`]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        `pages-reaper: stopped early: the first 10 DNS lookups all failed the same way (connection refused by 127.0.0.1:${nobody}); check --dns-server and the resolver`,
      ]);
      const stops = result.stdout.split('\n').filter((line) => line.includes('Stopped early'));
      expect(stops).toEqual([
        `🛑 Stopped early: the first 10 DNS lookups all failed the same way (connection refused by 127.0.0.1:${nobody}); check --dns-server and the resolver. Nothing was deleted.`,
      ]);
      expect(await store.dump()).toEqual(before);
    });

    it('the same line when more than 100 Forgejo checks are still to come as the lookups stop the run (they are not failures of Forgejo)', async () => {
      const many = Array.from({ length: 150 }, (_, i): Site => ({ owner: `many${i}`, repo: 'site', domain: `m${i}.test` }));
      await seed(many);
      const before = await store.dump();
      const nobody = await freeUdpPort();
      const result = await cli.run(['reap', ...common(), '--verify-dns', '--dns-server', `127.0.0.1:${nobody}`, '--json']);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        `pages-reaper: stopped early: the first 10 DNS lookups all failed the same way (connection refused by 127.0.0.1:${nobody}); check --dns-server and the resolver`,
      ]);
      expect(parseJson(result).stoppedEarly).toBe(
        `stopped early: the first 10 DNS lookups all failed the same way (connection refused by 127.0.0.1:${nobody}); check --dns-server and the resolver`,
      );
      expect(await store.dump()).toEqual(before);
    });

    it('REAPER_VERIFY_DNS and REAPER_DNS_SERVER (comma-separated; a dead first server falls through to the next)', async () => {
      await seed([PROVEN, NXDOMAIN]);
      const nobody = await freeUdpPort();
      const result = await cli.run(['verify', ...common(), '--json'], {
        REAPER_VERIFY_DNS: 'true',
        REAPER_DNS_SERVER: `127.0.0.1:${nobody},${dnsServer!.server}`,
      });
      const d = byDomain(parseJson(result));
      expect([d['ok.test'].dns.outcome, d['dev.ok.test'].dns.outcome, d['gone.test'].dns.outcome]).toEqual([
        'proven',
        'proven',
        'ownership-lost',
      ]);
    });

    it('a --dns-server that is not an IP address is one line and exit 1', async () => {
      expectFatal(
        await cli.run(['verify', ...common(), '--verify-dns', '--dns-server', 'dns.example.com']),
        /--dns-server 'dns\.example\.com' is not an IP address.*127\.0\.0\.1:53/,
      );
      expectFatal(
        await cli.run(['reap', ...common(), '--verify-dns', '--dns-server', '127.0.0.1:99999']),
        /--dns-server '127\.0\.0\.1:99999'/,
      );
    });
  });
}
