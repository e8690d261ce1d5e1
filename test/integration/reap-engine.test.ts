import { Harness, keysOf, type Site } from '../support/harness';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { BACKENDS } from '../support/store-backend';
import { getEventListeners } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRuntime } from '../../src/container';
import { deletionsOf, InterruptedDeletes } from '../../src/engine/explained-error';
import { BREAKER_THRESHOLD } from '../../src/engine/verifier';

/**
 * Every scenario runs, unchanged, on every store in BACKENDS (single Redis, etcd, ...).
 */
describe.each(BACKENDS)('on $name', ({ create }) => {
  const h = new Harness(create());
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(() => h.reset());

  const alice: Site = { owner: 'alice', repo: 'site', domain: 'www.alice.com', branches: ['stage', 'feature/New_UI'], redirects: 2 };

  function verdictOf(report: { forwardVerdicts: Map<string, { status: string; reason: string }> }, domain: string) {
    return report.forwardVerdicts.get(domain);
  }

  describe('liveness against Forgejo (DESIGN §3)', () => {
    it('keeps a live site with its branches and redirects, and exits 0', async () => {
      await h.seedSite(alice);
      await h.store.set('alice:site:main:index.html', '<html>', { ttlSeconds: 300 });
      const before = await h.dump();
      const { report, summary } = await h.run('apply');
      expect(summary.exitCode).toBe(0);
      expect(verdictOf(report, 'www.alice.com')?.status).toBe('live');
      expect(verdictOf(report, 'stage.www.alice.com')?.status).toBe('live');
      expect(verdictOf(report, 'feature-new-ui.www.alice.com')?.status).toBe('live');
      expect(await h.dump()).toEqual(before);
    });

    it.each([
      ['the repository is deleted', (f: Harness['forgejo']) => f.deleteRepo('bob', 'blog'), /gone \(404\)/],
      ['the .pages file is removed', (f: Harness['forgejo']) => f.setPages('bob', 'blog', undefined), /gone \(404\)/],
      [
        'custom_domain changes',
        (f: Harness['forgejo']) => f.setPages('bob', 'blog', 'custom_domain: new.bob.dev\n'),
        /changed to new\.bob\.dev/,
      ],
      [
        'the repository becomes private (unreadable)',
        (f: Harness['forgejo']) => f.setRepo('bob', 'blog', { pages: 'custom_domain: bob.dev\n', private: true }),
        /gone/,
      ],
    ])('reaps every key of a site when %s', async (_, change, reason) => {
      const bob = await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'bob.dev', redirects: 1 });
      const aliceKeys = await h.seedSite(alice);
      change(h.forgejo);
      const { report, summary } = await h.run('apply');
      expect(verdictOf(report, 'bob.dev')).toEqual({ status: 'stale', reason: expect.stringMatching(reason) });
      expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 1, keysDeleted: keysOf(bob).length });
      const after = await h.dump();
      expect(keysOf(after)).toEqual(keysOf(aliceKeys));
    });

    it('keeps every key of a site whose .pages says enabled: false: the plugin serves and registers it whatever that says', async () => {
      await h.seedSite({ owner: 'gina', repo: 'off', domain: 'gina.dev', redirects: 1 });
      await h.seedSite(alice);
      h.forgejo.setPages('gina', 'off', 'custom_domain: gina.dev\nenabled: false\n');
      const before = await h.dump();
      const { report, summary } = await h.run('apply');
      expect(verdictOf(report, 'gina.dev')).toEqual({ status: 'live', reason: '.pages names gina.dev' });
      expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 0, keysDeleted: 0 });
      expect(await h.dump()).toEqual(before);
    });

    it('reaps a branch subdomain whose branch left enable_branches, or was deleted, and nothing else', async () => {
      await h.seedSite(alice);
      h.forgejo.setPages('alice', 'site', pagesFile({ domain: alice.domain, branches: ['feature/New_UI'] }));
      h.forgejo.setBranches('alice', 'site', ['main', 'stage']);
      const { report } = await h.run('apply');
      expect(verdictOf(report, 'stage.www.alice.com')).toEqual({
        status: 'stale',
        reason: expect.stringContaining('no longer in enable_branches'),
      });
      expect(verdictOf(report, 'feature-new-ui.www.alice.com')).toEqual({ status: 'stale', reason: expect.stringContaining('is gone') });
      const after = await h.dump();
      const main = siteEntries({ ...alice, branches: [] });
      expect(keysOf(after)).toEqual(keysOf(main));
    });

    it('follows the redirect of a renamed repository and keeps its site', async () => {
      await h.seedSite({ owner: 'carol', repo: 'old-name', domain: 'carol.io' });
      h.forgejo.renameRepo('carol', 'old-name', 'carol', 'new-name');
      const { report } = await h.run('apply');
      expect(verdictOf(report, 'carol.io')?.status).toBe('live');
      expect(await h.store.get('custom_domain:carol.io')).toBe('carol:old-name');
    });

    it('sends the token and sees private repositories with it', async () => {
      await h.seedSite({ owner: 'dan', repo: 'private', domain: 'dan.dev' });
      h.forgejo.setRepo('dan', 'private', { pages: 'custom_domain: dan.dev\n', private: true });
      const { report } = await h.run('apply', { forgejoToken: 'secret-token' });
      expect(verdictOf(report, 'dan.dev')?.status).toBe('live');
      expect(h.forgejo.stats().authHeaders).toBeGreaterThan(0);
    });

    it('fetches .pages once per repository however many domains it serves', async () => {
      await h.seedSite(alice);
      await h.run('verify');
      expect(h.forgejo.stats().byPath['/api/v1/repos/alice/site/contents/.pages']).toBe(1);
    });
  });

  describe('unknown is never deleted', () => {
    it.each([
      ['401', { status: 401 }],
      ['403', { status: 403 }],
      ['500', { status: 500 }],
      ['502 on every retry', { status: 502 }],
      ['429 on every retry', { status: 429, retryAfter: 0 }],
      ['a malformed body', { malformed: true }],
    ])('keeps a site when Forgejo answers %s, and exits 2', async (_, rule) => {
      const bob = await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'bob.dev' }, false);
      h.forgejo.addFailure({ match: '/repos/bob/blog/', ...rule });
      const { report, summary } = await h.run('apply');
      expect(verdictOf(report, 'bob.dev')?.status).toBe('unknown');
      expect(summary.exitCode).toBe(2);
      expect(keysOf(await h.dump())).toEqual(keysOf(bob));
    });

    it('keeps a site when Forgejo hangs past the timeout', async () => {
      const bob = await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'bob.dev' }, false);
      h.forgejo.addFailure({ match: '/repos/bob/blog/', hang: true });
      const { report } = await h.run('apply', { timeout: 200, retries: 0 });
      expect(verdictOf(report, 'bob.dev')).toEqual({ status: 'unknown', reason: expect.stringContaining('did not answer') });
      expect(keysOf(await h.dump())).toEqual(keysOf(bob));
    });

    it('retries a 503 with Retry-After and then trusts the answer', async () => {
      await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'bob.dev' }, false);
      h.forgejo.addFailure({ match: '/repos/bob/blog/', status: 503, retryAfter: 1, times: 1 });
      const started = Date.now();
      const { report } = await h.run('apply');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(verdictOf(report, 'bob.dev')?.status).toBe('stale');
      expect(h.forgejo.stats().byPath['/api/v1/repos/bob/blog/contents/.pages']).toBe(2);
    });

    it('goes on with other claims while one waits out a retry (one request in flight)', async () => {
      const owners = ['ann', 'ben', 'cat', 'dan'];
      for (const owner of owners) {
        await h.seedSite({ owner, repo: 'site', domain: `${owner}.dev` });
        h.forgejo.addFailure({ match: `/repos/${owner}/site/`, status: 503, retryAfter: 1, times: 1 });
      }
      const { report } = await h.run('verify', { concurrency: 1 });
      expect(owners.map((owner) => verdictOf(report, `${owner}.dev`)?.status)).toEqual(['live', 'live', 'live', 'live']);
      // Each first answer says to come back in a second: the three other repositories are
      // asked meanwhile, not one repository's two requests after the other.
      const asked = h.forgejo.requestLog.map((entry) => entry.path.split('/')[4]);
      expect(new Set(asked.slice(0, 4)).size).toBe(4);
      expect(asked).toHaveLength(8);
    });

    it('never sends invalid values to the API and never deletes them', async () => {
      await h.store.mset({
        'custom_domain:x.com': 'not-a-mapping',
        'custom_domain:y.com': '../etc:passwd',
        'custom_domain:z.com': 'a:b:c:d',
      });
      const before = await h.dump();
      const { report, summary } = await h.run('apply');
      expect([...report.forwardVerdicts.values()].map((v) => v.status)).toEqual(['invalid', 'invalid', 'invalid']);
      expect(summary.exitCode).toBe(2);
      expect(h.forgejo.stats().requests).toBe(0);
      expect(await h.dump()).toEqual(before);
    });

    it('stops early when every check fails the same way, and deletes nothing', async () => {
      for (let i = 0; i < 40; i++) await h.seedSite({ owner: `u${i}`, repo: 'r', domain: `d${i}.example.com` }, false);
      h.forgejo.addFailure({ status: 401 });
      const before = await h.dump();
      const { report, summary } = await h.run('apply', { retries: 0 });
      expect(report.stoppedEarly).toMatch(/stopped early.*401/);
      expect(summary.exitCode).toBe(1); // a source that cannot be used at all is fatal (DESIGN §6)
      // No more checks go out than the breaker needs, whatever the concurrency.
      expect(h.forgejo.stats().requests).toBeLessThanOrEqual(BREAKER_THRESHOLD);
      expect(await h.dump()).toEqual(before);
    });

    it('stops as well when a store too small to trip the breaker cannot reach Forgejo at all', async () => {
      for (let i = 0; i < 3; i++) await h.seedSite({ owner: `u${i}`, repo: 'r', domain: `d${i}.example.com` });
      const before = await h.dump();
      const { report, summary } = await h.run('apply', { retries: 0, forgejoHost: 'http://127.0.0.1:1' });
      expect(report.stoppedEarly).toMatch(/^stopped: all 3 Forgejo checks failed the same way \(.*ECONNREFUSED\); check --forgejo-host/);
      expect(summary.exitCode).toBe(1);
      expect(await h.dump()).toEqual(before);
    });

    it('keeps a small store whose checks all fail with a 503 partial: that may be the repositories, not the setup', async () => {
      for (let i = 0; i < 3; i++) await h.seedSite({ owner: `u${i}`, repo: 'r', domain: `d${i}.example.com` }, false);
      h.forgejo.addFailure({ status: 503 });
      const before = await h.dump();
      const { report, summary } = await h.run('apply', { retries: 0 });
      expect(report.stoppedEarly).toBeUndefined();
      expect(summary).toMatchObject({ unknown: 3, exitCode: 2 });
      expect(await h.dump()).toEqual(before);
    });
  });

  describe('safety rules (DESIGN §4)', () => {
    it('keeps every key of a domain the plugin re-registers between verification and deletion', async () => {
      const bob = await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'bob.dev' }, false);
      const { summary } = await h.run('apply', {}, (store) => {
        const original = store.deleteGroupsIfUnchanged.bind(store);
        store.deleteGroupsIfUnchanged = async (groups) => {
          await h.store.mset({ 'custom_domain:bob.dev': 'eve:newsite', 'eve:newsite': 'bob.dev' });
          return original(groups);
        };
      });
      expect(summary).toMatchObject({ staleDomainsCleaned: 0, changedSinceRead: 1 });
      const after = await h.dump();
      for (const key of keysOf(bob)) expect(after).toHaveProperty([key]);
      expect(after['custom_domain:bob.dev']).toBe('eve:newsite');
    });

    it('a stale domain registered for another repository mid-run: every key kept, its old reverse key left for a rerun (exit 2), which reaps it', async () => {
      const gone = { owner: 'rex', repo: 'gone', domain: 'moved.rex.dev' };
      await h.seedSite(gone, false);
      h.forgejo.setRepo('carol', 'moved', { pages: pagesFile({ domain: gone.domain }) });
      const first = await h.run('apply', {}, (store) => {
        const original = store.deleteGroupsIfUnchanged.bind(store);
        store.deleteGroupsIfUnchanged = async (groups) => {
          await h.store.mset({ 'custom_domain:moved.rex.dev': 'carol:moved', 'carol:moved': 'moved.rex.dev' });
          return original(groups);
        };
      });
      expect(first.summary).toMatchObject({ staleDomainsCleaned: 0, changedSinceRead: 1, exitCode: 2 });
      expect(first.report.plan!.kept).toContainEqual({
        subject: 'rex:gone',
        reason: expect.stringMatching(
          /^moved\.rex\.dev was registered for carol:moved during this run, .* rex\/gone, verified stale; the next run reaps it$/,
        ),
        rerun: true,
      });
      expect(await h.store.get('rex:gone')).toBe('moved.rex.dev');

      const second = await h.run('apply');
      expect(second.summary).toMatchObject({ staleDomainsCleaned: 0, orphansCleaned: 1, keysDeleted: 1, exitCode: 0 });
      expect(await h.store.exists('rex:gone')).toBe(false);
      expect(await h.store.get('custom_domain:moved.rex.dev')).toBe('carol:moved');
      expect(await h.store.get('carol:moved')).toBe('moved.rex.dev');
      const third = await h.run('apply');
      expect(third.summary).toMatchObject({ keysDeleted: 0, exitCode: 0 });
    });

    it('changes nothing the second time, and a dry run never changes anything', async () => {
      await h.seedSite(alice);
      await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'bob.dev', redirects: 3 }, false);
      const beforeDry = await h.dump();
      const dry = await h.run('plan');
      expect(await h.dump()).toEqual(beforeDry);
      const first = await h.run('apply');
      expect(first.summary.keysDeleted).toBe(dry.report.plan!.groups.reduce((n, g) => n + g.keys.length, 0));
      const afterFirst = await h.dump();
      const second = await h.run('apply');
      expect(second.summary).toMatchObject({ staleDomainsCleaned: 0, orphansCleaned: 0, keysDeleted: 0, exitCode: 0 });
      expect(await h.dump()).toEqual(afterFirst);
    });

    it('removes a reverse key only while it names the reaped domain', async () => {
      await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'old.bob.dev' }, false);
      await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'new.bob.dev' });
      // The plugin re-registered the repo under its new domain: the reverse key moved on.
      expect(await h.store.get('bob:blog')).toBe('new.bob.dev');
      await h.run('apply');
      expect(await h.store.get('bob:blog')).toBe('new.bob.dev');
      expect(await h.store.exists('custom_domain:old.bob.dev')).toBe(false);
      expect(await h.store.exists('custom_domain:new.bob.dev')).toBe(true);
    });

    it('keeps a router shared with a live domain (a.b.example.com / a-b.example.com)', async () => {
      await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'a.b.example.com' }, false);
      await h.seedSite({ owner: 'carol', repo: 'site', domain: 'a-b.example.com' });
      const { report } = await h.run('apply');
      expect(report.plan!.kept.map((k) => k.subject)).toContain('custom-a-b-example-com');
      expect(await h.store.get('traefik/http/routers/custom-a-b-example-com/rule')).toBe('Host(`a-b.example.com`)');
      expect(await h.store.exists('custom_domain:a.b.example.com')).toBe(false);
    });

    it('an interruption during the deletes says how far they got and where the backup of every planned key is', async () => {
      for (let i = 0; i < 120; i++) await h.seedSite({ owner: 'bob', repo: `gone${i}`, domain: `gone${i}.example.com` }, false);
      const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reap-interrupted-'));
      const runtime = await createRuntime(h.settings({ backupDir, brake: { maxStaleRatio: 1, minDomains: 10, force: true } }), {
        needsSource: true,
      });
      const interrupt = new AbortController();
      const answered: number[] = [];
      const original = runtime.store.deleteGroupsIfUnchanged.bind(runtime.store);
      // The signal comes once the first delete call has answered.
      runtime.store.deleteGroupsIfUnchanged = async (groups) => {
        const outcomes = await original(groups);
        answered.push(outcomes.filter((outcome) => outcome === 'deleted').length);
        interrupt.abort(new Error('SIGTERM'));
        return outcomes;
      };
      try {
        const failure = await runtime.engine.run('apply', interrupt.signal).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(InterruptedDeletes);
        const { deletedGroups, plannedGroups, backupPath } = failure as InterruptedDeletes;
        expect(plannedGroups).toBe(120);
        expect(deletedGroups).toBe(answered[0]);
        expect(deletedGroups).toBeGreaterThan(0);
        expect(deletedGroups).toBeLessThan(120);
        expect(fs.readdirSync(backupDir).map((name) => path.join(backupDir, name))).toEqual([backupPath]);
        expect(120 * 9 - Object.keys(await h.dump()).length).toBe(deletedGroups * 9);
        // What the run's status counts (log line, metrics): the keys the store lost, not zero.
        expect(deletionsOf(failure)).toEqual({
          deleted: { groups: deletedGroups, domains: deletedGroups, orphans: 0, keys: deletedGroups * 9 },
          backupPath,
        });
      } finally {
        await runtime.close();
        fs.rmSync(backupDir, { recursive: true, force: true });
      }
    });

    it('a stale site re-registered as it was after its verdict (its owner revived it) is kept where the store keeps revisions', async () => {
      const site = { owner: 'alice', repo: 'blog', domain: 'blog.alice.test' };
      const entries = await h.seedSite(site, false);
      const { summary } = await h.run('apply', {}, (store) => {
        const original = store.deleteGroupsIfUnchanged.bind(store);
        // The owner puts .pages back and the plugin writes the same keys again, after the verdict.
        store.deleteGroupsIfUnchanged = async (groups) => {
          await h.store.mset(entries);
          return original(groups);
        };
      });
      if (h.store.name !== 'etcd') {
        // Redis keeps no revision: the same bytes are the same state, and the value compare is all there is.
        expect(summary.staleDomainsCleaned + summary.changedSinceRead).toBe(1);
        return;
      }
      expect(summary).toMatchObject({ staleDomainsCleaned: 0, changedSinceRead: 1 });
      expect(await h.dump()).toEqual(Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : 1))));
    });

    it("leaves no listener on the caller's signal once a run is over (a sidecar hands every run the same one)", async () => {
      await h.seedSite({ owner: 'bob', repo: 'blog', domain: 'blog.bob.dev' });
      await h.seedSite({ owner: 'bob', repo: 'gone', domain: 'gone.bob.dev' }, false);
      const stop = new AbortController();
      for (const stage of ['verify', 'apply', 'apply'] as const) {
        const runtime = await createRuntime(h.settings({ brake: { maxStaleRatio: 1, minDomains: 1, force: true } }), { needsSource: true });
        try {
          await runtime.engine.run(stage, stop.signal);
        } finally {
          await runtime.close();
        }
        expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
      }
      expect(await h.store.exists('custom_domain:gone.bob.dev')).toBe(false);
      expect(await h.store.exists('custom_domain:blog.bob.dev')).toBe(true);
    });

    it('reaps every stale domain of a shared router name, and the router, in one run', async () => {
      // Each pair's first group takes the router while the other's forward key is as the
      // scan saw it, and the other group deletes that forward key: order decides.
      const pairs = ['a.b', 'c.d', 'e.f', 'g.h', 'i.j'].flatMap((name, i) => [
        { owner: 'bob', repo: `dotted${i}`, domain: `${name}.example.com`, redirects: 1 },
        { owner: 'carol', repo: `dashed${i}`, domain: `${name.replace('.', '-')}.example.com` },
      ]);
      for (const site of pairs) await h.seedSite(site, false);
      const live = await h.seedSite({ owner: 'dan', repo: 'site', domain: 'k.example.com' });
      const { summary } = await h.run('apply', { brake: { maxStaleRatio: 1, minDomains: 10, force: true } });
      expect(summary).toMatchObject({ staleDomainsCleaned: pairs.length, changedSinceRead: 0, exitCode: 0 });
      expect(keysOf(await h.dump())).toEqual(keysOf(live));
    });

    it('reaps the reverse key of a stale domain that is no host name (?, [a], non-ASCII) while it names the domain', async () => {
      const stale = [
        await h.seedSite({ owner: 'bob', repo: 'q', domain: '?.x.com' }, false),
        await h.seedSite({ owner: 'bob', repo: 'br', domain: '[a].x.com' }, false),
        await h.seedSite({ owner: 'bob', repo: 'buch', domain: 'bücher.example' }, false),
      ];
      const moved = await h.seedSite({ owner: 'dan', repo: 'old', domain: 'ä.example' }, false);
      // The repository's reverse key names another domain now: not this domain's to delete.
      await h.store.mset({ 'dan:old': 'ö.example', 'carol:notes': '?.x.com' });
      const live = await h.seedSite({ owner: 'carol', repo: 'site', domain: 'a.x.com' });
      const dry = await h.run('plan', { brake: { maxStaleRatio: 1, minDomains: 10, force: true } });
      const { summary } = await h.run('apply', { brake: { maxStaleRatio: 1, minDomains: 10, force: true } });
      expect(summary.keysDeleted).toBe(dry.summary.keysDeleted);
      const left = await h.dump();
      for (const key of stale.flatMap(keysOf)) expect(left).not.toHaveProperty([key]);
      expect(left).toMatchObject({ 'dan:old': 'ö.example', 'carol:notes': '?.x.com' });
      expect(keysOf(left)).toEqual([...keysOf(live), 'carol:notes', 'dan:old'].sort());
      expect(keysOf(moved).filter((key) => key in left)).toEqual(['dan:old']);
    });

    it('treats glob characters in domains literally', async () => {
      const star = await h.seedSite({ owner: 'bob', repo: 'star', domain: '*.x.com' }, false);
      const other = await h.seedSite({ owner: 'carol', repo: 'site', domain: 'a.x.com' });
      const bracket = await h.seedSite({ owner: 'dan', repo: 'site', domain: '[a].x.com' });
      await h.run('apply');
      const after = await h.dump();
      for (const key of keysOf(star)) expect(after).not.toHaveProperty([key]);
      expect(keysOf(after)).toEqual([...keysOf(other), ...keysOf(bracket)].sort());
    });

    it('reaps orphaned routers, middlewares, redirects_meta and reverse keys, but not look-alikes', async () => {
      await h.seedSite(alice);
      const ghost = siteEntries({ owner: 'gone', repo: 'site', domain: 'ghost.example.com', redirects: 1 });
      delete ghost['custom_domain:ghost.example.com'];
      await h.store.mset(ghost);
      const lookAlikes = {
        'password:alice:site': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'settings:alice/site': '{}',
        'traefik/http/routers/pages-domain-base/rule': 'Host(`pages.example.com`)',
        'traefik/http/middlewares/pages-auth/basicAuth/users': 'x',
        'redirects-not-a-key': 'x',
        'someone:else': 'not a domain',
        // An address, a version, a number: no repository claims them, and they are not ours.
        'backend:addr': '10.0.0.1',
        'app:version': '1.2.3',
        'cache:ttl': '3.5',
      };
      await h.store.mset(lookAlikes);
      // A reverse key whose repository still claims its domain is the plugin's business.
      await h.store.set('frank:site', 'frank.dev');
      h.forgejo.setRepo('frank', 'site', { pages: 'custom_domain: frank.dev\n' });
      const { report, summary } = await h.run('apply');
      expect(summary.exitCode).toBe(0);
      expect(report.plan!.groups.map((g) => `${g.kind} ${g.subject}`).sort()).toEqual([
        'orphan-middleware redirects-ghost-example-com-0',
        'orphan-redirects-meta redirects_meta:ghost.example.com',
        'orphan-reverse gone:site',
        'orphan-router custom-ghost-example-com',
      ]);
      const after = await h.dump();
      for (const key of Object.keys(ghost)) expect(after).not.toHaveProperty([key]);
      for (const [key, value] of Object.entries(lookAlikes)) expect(after[key]).toBe(value);
      expect(after['frank:site']).toBe('frank.dev');
    });

    it('reaps in one run an orphan reverse key naming a stale domain the same run reaps; a second run changes nothing', async () => {
      // Written before the plugin refused a domain registered to another repository: alice/a
      // once claimed x.com, now names y.com, and bob/b (which holds x.com) is deleted.
      const bob = await h.seedSite({ owner: 'bob', repo: 'b', domain: 'x.com', branches: ['dev'] }, false);
      await h.store.mset({ 'alice:a': 'x.com', 'alice:a:branch:dev': 'dev.x.com' });
      h.forgejo.setRepo('alice', 'a', { pages: 'custom_domain: y.com\nenable_branches: [dev]\n', branches: ['main', 'dev'] });
      await h.seedSite(alice);
      const { summary } = await h.run('apply');
      expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 2, orphansCleaned: 2, changedSinceRead: 0 });
      const after = await h.dump();
      for (const key of [...keysOf(bob), 'alice:a', 'alice:a:branch:dev']) expect(after).not.toHaveProperty([key]);
      const again = await h.run('apply');
      expect(again.summary).toMatchObject({ exitCode: 0, keysDeleted: 0, changedSinceRead: 0 });
      expect(await h.dump()).toEqual(after);
    });

    it("keeps a mapping whose domain holds a '/' (invalid, exit 2) and every Traefik key under the name its keys fall under", async () => {
      // The plugin writes `custom_domain: a.com/blog` as is: its router keys are custom-a-com/blog/…,
      // which read as keys of the router custom-a-com, a.com's.
      const path = await h.seedSite({ owner: 'o', repo: 'blog', domain: 'a.com/blog' });
      const trailing = await h.seedSite({ owner: 'o', repo: 'slash', domain: 'b.com/' });
      const stale = await h.seedSite({ owner: 'gone', repo: 'site', domain: 'a.com' }, false);
      await h.seedSite(alice);
      const { report, summary } = await h.run('apply');
      for (const domain of ['a.com/blog', 'b.com/'])
        expect(verdictOf(report, domain)).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/holds a '\/'/) });
      expect(summary).toMatchObject({ exitCode: 2, invalid: 2, staleDomainsCleaned: 1, orphansCleaned: 0 });
      const after = await h.dump();
      for (const key of [...keysOf(path), ...keysOf(trailing)]) expect(after).toHaveProperty([key]);
      // a.com's own mapping goes; the router name a.com/blog writes under stays whole.
      expect(after).not.toHaveProperty(['custom_domain:a.com']);
      for (const key of keysOf(stale).filter((k) => k.startsWith('traefik/'))) expect(after).toHaveProperty([key]);
    });

    it('refuses with the brake when too many domains look stale, and reaps them with force', async () => {
      for (let i = 0; i < 10; i++) await h.seedSite({ owner: `u${i}`, repo: 'r', domain: `d${i}.example.com` }, i < 6);
      const before = await h.dump();
      const refused = await h.run('apply');
      expect(refused.summary).toMatchObject({ exitCode: 3, refusedByBrake: true, keysDeleted: 0 });
      expect(await h.dump()).toEqual(before);
      const forced = await h.run('apply', { brake: { maxStaleRatio: 0.3, minDomains: 10, force: true } });
      expect(forced.summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 4 });
    });

    it('reads a custom Traefik root key', async () => {
      const site = siteEntries({ owner: 'bob', repo: 'blog', domain: 'bob.dev', rootKey: 'edge' } as never);
      await h.store.mset(site);
      await h.store.set('traefik/http/routers/custom-bob-dev/rule', 'Host(`bob.dev`) in another root');
      await h.run('apply', { rootKey: 'edge' });
      expect(keysOf(await h.dump())).toEqual(['traefik/http/routers/custom-bob-dev/rule']);
    });
  });
});
