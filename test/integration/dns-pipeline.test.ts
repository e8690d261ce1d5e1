/**
 * --verify-dns runs its lookups while the API requests go on (pipelined per domain),
 * not as a second phase once every API check is done. Ordering, not timing: when the
 * first lookup goes out, most of the API requests have not been sent yet.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { createRuntime } from '../../src/container';
import { NodeTxtResolver } from '../../src/engine/node-txt-resolver';
import { TXT_RESOLVER, type TxtResolver } from '../../src/ports/txt-resolver';
import { shouldRunDnsTests, startDnsmasq } from '../support/dns-server';
import { Harness } from '../support/harness';

const SITES = Array.from({ length: 40 }, (_, i) => ({ owner: `user${i}`, repo: 'site', domain: `site${i}.test` }));
const record = (ownerRepo: string) => `bovine-pages-verification=${createHash('sha256').update(ownerRepo).digest('hex')}`;

const run = shouldRunDnsTests();
(run ? describe : describe.skip)('--verify-dns pipelining', () => {
  const h = new Harness(undefined, { latencyMs: 20 });
  let dns: Awaited<ReturnType<typeof startDnsmasq>>;
  beforeAll(async () => {
    // dnsmasq first: when it is missing (CI), nothing else has been started.
    dns = await startDnsmasq({ zones: ['test'], txt: SITES.map((s) => [s.domain, record(`${s.owner}/${s.repo}`)]) });
    await h.start();
  });
  afterAll(async () => {
    await Promise.all([dns?.stop(), h.stop()]);
  });

  it('the first lookup goes out while most API requests are still to come; every domain ends proven', async () => {
    for (const site of SITES) await h.seedSite(site);
    const real = new NodeTxtResolver({ servers: [dns.server], timeoutMs: 2000 });
    const apiRequestsAtLookup: number[] = [];
    const recording: TxtResolver = {
      describe: () => real.describe(),
      lookupCount: () => real.lookupCount(),
      cancel: () => real.cancel(),
      lookup: (name) => {
        apiRequestsAtLookup.push(h.forgejo.stats().requests);
        return real.lookup(name);
      },
    };
    // The CLI's wiring (8 claims in flight for --concurrency 2), with one part swapped.
    const runtime = await createRuntime(h.settings({ concurrency: 2 }), {
      needsSource: true,
      configure: (container) => container.bind<TxtResolver>(TXT_RESOLVER).toConstantValue(recording),
    });
    try {
      const report = await runtime.engine.run('verify');
      expect([...report.forwardVerdicts.values()].every((v) => v.status === 'live')).toBe(true);
      expect([...report.dns!.values()].map((e) => e.outcome)).toEqual(SITES.map(() => 'proven'));
      expect(apiRequestsAtLookup).toHaveLength(SITES.length);
      expect(report.requests).toBe(SITES.length);
      expect(apiRequestsAtLookup[0]).toBeLessThan(SITES.length / 4);
    } finally {
      await runtime.close();
    }
  });
});
