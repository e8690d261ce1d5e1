/**
 * A live site never loses a key (issue 9), through the CLI as a process, on every store:
 * the plugin registering a domain while a reap runs, an API that redirects to another
 * origin, and `.pages` answers whose base64 does not decode strictly.
 */
import { startForgejoStandin } from '../support/forgejo-standin';
import { cliRunner, type CliResult } from '../support/cli-process';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import type { Site } from '../support/harness';
import { BACKENDS, storeArgs } from '../support/store-backend';

type Standin = Awaited<ReturnType<typeof startForgejoStandin>>;

const without = (entries: Record<string, string>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(entries).filter(([key]) => !keys.includes(key)));

function expectHolds(after: Record<string, string>, entries: Record<string, string>): void {
  for (const [key, value] of Object.entries(entries)) expect({ key, value: after[key] }).toEqual({ key, value });
}

const context = (result: CliResult) => `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

describe.each(BACKENDS)('on $name', ({ create }) => {
  const store = create();
  const cli = cliRunner('live-site-safety');
  let forgejo: Standin;
  const reap = (...args: string[]) =>
    cli.run(['reap', ...storeArgs(store), '--forgejo-host', forgejo.url, '--retries', '1', '--retry-delay', '5', ...args]);

  beforeAll(async () => {
    await store.start();
    forgejo = await startForgejoStandin();
  }, 120_000);
  afterAll(async () => {
    cli.cleanup();
    await forgejo?.close();
    await store.stop();
  });
  beforeEach(async () => {
    await store.flush();
    forgejo.clearFailures();
  });

  const alice = { owner: 'alice', repo: 'site', domain: 'alice.example.com' };
  const bob = { owner: 'bob', repo: 'blog', domain: 'blog.bob.dev', redirects: 2 };

  describe('the plugin registers a domain between the scan and the deletes', () => {
    it('keeps every key of a domain registered over its leftover router, middlewares and redirects_meta', async () => {
      await store.mset(siteEntries(alice));
      forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice) });
      const registration = siteEntries(bob);
      // What an interrupted deletion leaves: everything but the mappings.
      await store.mset(without(registration, 'custom_domain:blog.bob.dev', 'bob:blog'));
      // An orphan reverse key is verified after the scan has finished: its request is the
      // moment the plugin registers bob's domain (bob visits the pages URL).
      await store.mset({ 'carol:old': 'old.carol.dev' });
      forgejo.addFailure({ match: '/repos/carol/old/', before: () => store.mset(registration) });

      const result = await reap();

      expect({ code: result.code, context: context(result) }).toEqual({ code: 0, context: context(result) });
      expectHolds(await store.dump(), { ...registration, ...siteEntries(alice) });
      expect(await store.exists('carol:old')).toBe(false);
    });

    it('keeps the reverse key of a domain registered after its repository answered 404', async () => {
      await store.mset(siteEntries(alice));
      forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice) });
      // bob:blog names a domain with no forward mapping, and Forgejo has no bob/blog: a
      // true 404. Then the repository comes back and the plugin registers the domain.
      await store.mset({ 'bob:blog': bob.domain });
      const registration = siteEntries(bob);
      forgejo.addFailure({ match: '/repos/bob/blog/', before: () => store.mset(registration) });

      const result = await reap();

      expect({ code: result.code, context: context(result) }).toEqual({ code: 0, context: context(result) });
      expectHolds(await store.dump(), registration);
    });

    it('reaps a leftover router many domains could own only where one step can guard them all', async () => {
      await store.mset(siteEntries(alice));
      forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice) });
      // Seven dashes and dots: 128 domains would name this router custom-a-b-c-d-e-f-g-com.
      const leftovers = without(
        siteEntries({ owner: 'dan', repo: 'x', domain: 'a-b.c-d.e-f.g.com' }),
        'custom_domain:a-b.c-d.e-f.g.com',
        'dan:x',
      );
      await store.mset(leftovers);

      const result = await reap('--json');

      expect({ code: result.code, context: context(result) }).toEqual({ code: 0, context: context(result) });
      const after = await store.dump();
      if (store.name === 'etcd') {
        // 128 guards and the router's keys do not fit one etcd transaction: left alone, and said so.
        expectHolds(after, leftovers);
        expect(result.stdout).toContain('too many domains could register this name');
      } else {
        for (const key of Object.keys(leftovers)) expect(after).not.toHaveProperty([key]);
      }
    });

    it('still reaps the same leftovers when nobody registers them', async () => {
      await store.mset(siteEntries(alice));
      forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice) });
      const leftovers = without(siteEntries(bob), 'custom_domain:blog.bob.dev', 'bob:blog');
      await store.mset({ ...leftovers, 'carol:old': 'old.carol.dev' });

      const result = await reap();

      expect({ code: result.code, context: context(result) }).toEqual({ code: 0, context: context(result) });
      const after = await store.dump();
      for (const key of [...Object.keys(leftovers), 'carol:old']) expect(after).not.toHaveProperty([key]);
      expectHolds(after, siteEntries(alice));
    });
  });

  describe('an API origin that redirects to another origin', () => {
    let front: Standin;
    beforeAll(async () => {
      front = await startForgejoStandin();
    });
    afterAll(async () => front?.close());

    it('deletes nothing, says once which origin to configure, and stops asking', async () => {
      const sites = Array.from({ length: 6 }, (_, i) => ({ owner: `user${i}`, repo: 'pages', domain: `site${i}.example.com` }));
      for (const [i, site] of sites.entries()) {
        await store.mset(siteEntries(site));
        forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site), private: i % 2 === 0 });
      }
      // The configured host answers every request with a redirect to the real one, as
      // http:// answering 301 to https://, or an old host name, does.
      front.addFailure({ redirectTo: forgejo.url });
      const before = await store.dump();
      forgejo.resetStats();

      const result = await cli.run([
        'reap',
        ...storeArgs(store),
        '--forgejo-host',
        front.url,
        '--forgejo-token',
        's3cr3t-token',
        '--retries',
        '0',
      ]);

      expect({ code: result.code, context: context(result) }).toEqual({ code: 1, context: context(result) });
      expect(await store.dump()).toEqual(before);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`redirects to another origin, ${forgejo.url}`);
      expect(result.stderr).toContain(`set --forgejo-host ${forgejo.url}`);
      const said = result.stdout + result.stderr;
      expect(said).not.toContain('s3cr3t-token');
      // The real origin was never asked: the token never left for it.
      expect(forgejo.stats().requests).toBe(0);
      expect(front.stats().requests).toBeLessThanOrEqual(10);
    });
  });

  it('a login page in front of the API (a same-origin redirect that then answers 404) is unknown, never stale', async () => {
    const behindLogin: Site = { owner: 'dave', repo: 'docs', domain: 'docs.dave.dev', branches: ['dev'] };
    for (const site of [alice, behindLogin] as Site[]) {
      await store.mset(siteEntries(site));
      forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', ...(site.branches ?? [])] });
    }
    // Only dave's requests are sent to the login page, as an SSO proxy would for one repository.
    forgejo.addFailure({ match: '/repos/dave/docs/', redirectTo: `${forgejo.url}/user/login?redirect_to=`, status: 302, times: 10 });
    const before = await store.dump();

    const result = await reap();

    expect({ code: result.code, context: context(result) }).toEqual({ code: 2, context: context(result) });
    expect(result.stdout).toMatch(/docs\.dave\.dev[\s\S]*redirect to \/user\/login/);
    expect(await store.dump()).toEqual(before);
  });

  it("a proxy's 404 page for a live site (Traefik's, while Forgejo restarts) is unknown, never stale; a wrong path in --forgejo-host stops the run", async () => {
    const restarting: Site = { owner: 'erin', repo: 'www', domain: 'www.erin.net' };
    for (const site of [alice, restarting] as Site[]) {
      await store.mset(siteEntries(site));
      forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
    }
    forgejo.addFailure({
      match: '/repos/erin/www/',
      status: 404,
      contentType: 'text/plain; charset=utf-8',
      body: '404 page not found\n',
      times: 10,
    });
    const before = await store.dump();

    const result = await reap();

    expect({ code: result.code, context: context(result) }).toEqual({ code: 2, context: context(result) });
    expect(result.stdout).toMatch(/www\.erin\.net[\s\S]*404 .*text\/plain page, not the API's JSON/);
    expect(await store.dump()).toEqual(before);

    const wrongPath = await cli.run(['reap', ...storeArgs(store), '--forgejo-host', `${forgejo.url}/forgejo`, '--retries', '1']);
    expect(wrongPath.code).toBe(1);
    expect(wrongPath.stderr).toMatch(
      /\/forgejo\/api\/v1\/version is not Forgejo's API either; check that --forgejo-host is the URL Forgejo is served at/,
    );
    expect(await store.dump()).toEqual(before);
  });

  it('a domain registered mid-run under the same Traefik name keeps the routers; the stale domain is left for a rerun, exit 2, not 0', async () => {
    const stale: Site = { owner: 'old', repo: 'gone', domain: 'p.q.com', redirects: 1 };
    const sibling: Site = { owner: 'new', repo: 'site', domain: 'p-q.com' };
    await store.mset(siteEntries(alice));
    forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice) });
    await store.mset(siteEntries(stale));
    // While the stale domain is checked, the plugin registers its sibling: the same router name.
    forgejo.addFailure({
      match: '/repos/old/gone/contents/.pages',
      before: async () => {
        forgejo.setRepo(sibling.owner, sibling.repo, { pages: pagesFile(sibling) });
        await store.mset(siteEntries(sibling));
      },
    });

    const first = await reap();

    expect({ code: first.code, context: context(first) }).toEqual({ code: 2, context: context(first) });
    expect(first.stdout).toMatch(/Kept: another domain registered its Traefik name meanwhile/);
    const between = await store.dump();
    expectHolds(between, siteEntries(sibling));
    expect(between['custom_domain:p.q.com']).toBe('old:gone');

    const second = await reap();

    expect({ code: second.code, context: context(second) }).toEqual({ code: 0, context: context(second) });
    const after = await store.dump();
    expectHolds(after, siteEntries(sibling));
    expectHolds(after, siteEntries(alice));
    for (const key of ['custom_domain:p.q.com', 'old:gone']) expect(after).not.toHaveProperty([key]);
  });

  it('a stale site of many redirect rules: reaped whole where one step holds it; on etcd (128 compares a transaction) its mapping goes first, exit 2, and the next run reaps its routers; the dry run exits as the real run', async () => {
    const big: Site = { owner: 'old', repo: 'rules', domain: 'huge.big.org', redirects: 14 };
    await store.mset(siteEntries(alice));
    forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice) });
    await store.mset(siteEntries(big));
    const own = ['custom_domain:huge.big.org', 'old:rules', 'redirects_meta:huge.big.org'];
    const traefik = Object.keys(siteEntries(big)).filter((key) => !own.includes(key));
    expect(traefik.length).toBe(63);
    const before = await store.dump();
    const onEtcd = store.settings().etcdEndpoints !== undefined;

    const dry = await reap('--dry-run');
    const real = await reap();

    const code = onEtcd ? 2 : 0;
    for (const result of [dry, real]) expect({ code: result.code, context: context(result) }).toEqual({ code, context: context(result) });
    const after = await store.dump();
    expectHolds(after, siteEntries(alice));
    for (const key of own) expect(after).not.toHaveProperty([key]);
    if (onEtcd) {
      expectHolds(after, Object.fromEntries(traefik.map((key) => [key, before[key]])));
      expect(real.stdout).toMatch(
        /custom-huge-big-org: router and redirect middlewares kept this run: .*the next run reaps them as orphans/,
      );
      const next = await reap();
      expect({ code: next.code, context: context(next) }).toEqual({ code: 0, context: context(next) });
    }
    const end = await store.dump();
    for (const key of traefik) expect(end).not.toHaveProperty([key]);
    expectHolds(end, siteEntries(alice));
  });

  describe('.pages answers that do not decode strictly are unknown, never stale', () => {
    const pagesText = pagesFile(alice);
    const encoded = Buffer.from(pagesText).toString('base64');
    const cases: Array<[string, { content: string; size?: number }]> = [
      ['content that is not base64', { content: 'this is not base64 at all!' }],
      ['base64 cut in the middle of a group', { content: encoded.slice(0, encoded.length - 3) }],
      ['base64 cut at a group boundary, shorter than its size', { content: encoded.slice(0, 8), size: Buffer.byteLength(pagesText) }],
    ];

    it.each(cases)('%s', async (_, rule) => {
      const entries = siteEntries(alice);
      await store.mset(entries);
      forgejo.setRepo(alice.owner, alice.repo, { pages: pagesText });
      forgejo.addFailure({ match: '/repos/alice/site/contents/.pages', ...rule });

      const result = await reap('--json');

      expect({ code: result.code, context: context(result) }).toEqual({ code: 2, context: context(result) });
      expectHolds(await store.dump(), entries);
      expect(result.stdout).toMatch(/malformed answer for alice\/site\/.pages/);
    });
  });
});
