/**
 * Webhook deliveries as a trigger (issue 13), through the CLI as a sidecar process: the
 * Forgejo stand-in changes a repository and delivers the event as Forgejo does (headers,
 * HMAC signature, payload shapes); the sidecar re-verifies the named repository through
 * the same engine and reaps within seconds, while the periodic sweep waits an hour.
 */
import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliRunner, expectFatal } from '../support/cli-process';
import { startForgejoStandin } from '../support/forgejo-standin';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { freePort } from '../support/servers';
import { etcdBackend, redisBackend, storeArgs } from '../support/store-backend';

type Standin = Awaited<ReturnType<typeof startForgejoStandin>>;

const SECRET = 'a webhook secret, shared with Forgejo';
const HOOK_PATH = '/hooks/forgejo';

async function get(url: string): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url);
    return { status: response.status, text: await response.text() };
  } catch {
    return { status: 0, text: '' };
  }
}

async function eventually<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

interface Sidecar {
  base: string;
  hookUrl: string;
  child: ChildProcess;
  /** Every JSON log line so far. */
  lines: Array<Record<string, any>>;
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const pagesRequests = (forgejo: Standin, owner: string, repo: string) =>
  forgejo.stats().byPath[`/api/v1/repos/${owner}/${repo}/contents/.pages`] ?? 0;

/** The sidecar's JSON log lines, parsed as they arrive on its stdout. */
function collectLines(child: ChildProcess): Array<Record<string, any>> {
  const lines: Array<Record<string, any>> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part));
  });
  return lines;
}

describe.each([redisBackend, etcdBackend])('on $name', ({ create }) => {
  const store = create();
  const cli = cliRunner('webhooks');
  let forgejo: Standin;
  let secretFile: string;
  const running: Sidecar[] = [];

  beforeAll(async () => {
    await store.start();
    forgejo = await startForgejoStandin();
    secretFile = path.join(cli.home, 'webhook-secret');
    fs.writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  }, 120_000);
  afterAll(async () => {
    cli.cleanup();
    await forgejo?.close();
    await store.stop();
  });
  beforeEach(async () => {
    await store.flush();
    forgejo.clearWebhooks();
    forgejo.clearFailures();
  });
  afterEach(async () => {
    for (const sidecar of running.splice(0)) await sidecar.stop();
  });

  /** Starts `reap --interval 1h --listen … --webhook-secret-file …` and waits for its first sweep. */
  async function startSidecar(extra: string[] = [], interval = '1h'): Promise<Sidecar> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { child, done } = cli.start([
      'reap',
      '--interval',
      interval,
      '--listen',
      `127.0.0.1:${port}`,
      '--webhook-secret-file',
      secretFile,
      ...storeArgs(store),
      '--forgejo-host',
      forgejo.url,
      '--retries',
      '1',
      '--retry-delay',
      '5',
      ...extra,
    ]);
    const lines = collectLines(child);
    const sidecar: Sidecar = {
      base,
      hookUrl: `${base}${HOOK_PATH}`,
      child,
      lines,
      stop: async () => {
        child.kill('SIGTERM');
        return done;
      },
    };
    running.push(sidecar);
    await eventually(
      () => get(`${base}/readyz`),
      (r) => r.status === 200,
      15_000,
    );
    forgejo.addWebhook({ url: sidecar.hookUrl, secret: SECRET });
    return sidecar;
  }

  const triggeredRuns = (sidecar: Sidecar) => sidecar.lines.filter((line) => line.msg === 'triggered run finished');
  /** The log lines of the first `n` triggered runs: a run logs after its deletes, so wait for them. */
  const loggedRuns = (sidecar: Sidecar, n = 1) =>
    eventually(
      () => triggeredRuns(sidecar),
      (runs) => runs.length >= n,
      5_000,
    );

  /** Polls the store until none of `keys` is left; answers how long that took. */
  async function goneWithin(keys: string[], timeoutMs: number): Promise<number> {
    const start = Date.now();
    await eventually(
      async () => {
        const dump = await store.dump();
        return keys.filter((key) => key in dump);
      },
      (left) => left.length === 0,
      timeoutMs,
    );
    return Date.now() - start;
  }

  const alice = { owner: 'alice', repo: 'site', domain: 'alice.example.com', redirects: 2, branches: ['dev'] };
  const bob = { owner: 'bob', repo: 'blog', domain: 'blog.bob.dev' };

  it('a deleted repository: its repository/deleted delivery reaps every key at once, with the sweep an hour away', async () => {
    forgejo.setRepo(alice.owner, alice.repo, { pages: pagesFile(alice), branches: ['main', 'dev'] });
    forgejo.setRepo(bob.owner, bob.repo, { pages: pagesFile(bob) });
    const aliceKeys = siteEntries(alice);
    const bobKeys = siteEntries(bob);
    await store.mset({ ...aliceKeys, ...bobKeys, 'alice:site:main:/index.html': '<html>' });
    const metricsFile = path.join(cli.home, `metrics-${Date.now()}.prom`);
    const sidecar = await startSidecar(['--metrics-file', metricsFile]);
    // The first sweep found both sites live.
    await eventually(
      () => sidecar.lines.filter((line) => line.msg === 'run finished'),
      (runs) => runs.length === 1,
      5_000,
    );
    expect(sidecar.lines.find((line) => line.msg === 'run finished')).toMatchObject({ reaped: 0, live: 3 });

    const [delivery] = await forgejo.deleteRepoAndNotify(alice.owner, alice.repo);
    expect(delivery.status).toBe(202);
    // The delivery, not the hourly sweep, reaped them: the bound leaves room for a slow
    // machine (bench/webhook.js measures the latency) while staying far below the sweep.
    const took = await goneWithin(Object.keys(aliceKeys), 10_000);
    expect(took).toBeLessThan(10_000);
    expect(sidecar.lines.filter((line) => line.msg === 'run finished')).toHaveLength(1);
    // Only alice's plugin keys went: bob's site and the content cache stay.
    const after = await store.dump();
    expect(after).toEqual({ ...bobKeys, 'alice:site:main:/index.html': '<html>' });
    const run = await eventually(
      () => triggeredRuns(sidecar),
      (runs) => runs.length === 1,
      5_000,
    );
    expect(run[0]).toMatchObject({ trigger: 'webhook', repositories: ['alice/site'], reaped: 2, result: 'success' });
    expect(run[0].backupPath).toEqual(expect.any(String));
    // A backup of every deleted key was written first.
    const backup = fs.readFileSync(run[0].backupPath, 'utf8');
    for (const key of Object.keys(aliceKeys)) expect(backup).toContain(JSON.stringify(key).slice(1, -1));
    const metrics = (await get(`${sidecar.base}/metrics`)).text;
    expect(metric(metrics, 'pages_reaper_webhook_deliveries_total{event="repository",outcome="queued"}')).toBe(1);
    expect(metric(metrics, 'pages_reaper_webhook_delivery_to_verified_seconds_count')).toBe(1);
    expect(metric(metrics, 'pages_reaper_domains_reaped_total')).toBe(2);
    // The textfile tells what /metrics tells, the sweep an hour away. It is rewritten after
    // the run is counted (a write and a rename): until then it holds the first sweep's 0.
    const saved = await eventually(
      () => fs.readFileSync(metricsFile, 'utf8'),
      (text) => metric(text, 'pages_reaper_domains_reaped_total') !== 0,
      5_000,
    );
    expect(metric(saved, 'pages_reaper_domains_reaped_total')).toBe(2);
    expect(metric(saved, 'pages_reaper_keys_deleted_total')).toBe(metric(metrics, 'pages_reaper_keys_deleted_total'));
  }, 60_000);

  it('.pages removed by a push: reaped; a push that does not touch .pages verifies nothing', async () => {
    forgejo.setRepo(bob.owner, bob.repo, { pages: pagesFile(bob) });
    const bobKeys = siteEntries(bob);
    await store.mset(bobKeys);
    const sidecar = await startSidecar();
    const before = forgejo.stats().requests;
    const [other] = await forgejo.pushOtherAndNotify(bob.owner, bob.repo);
    expect(other).toMatchObject({ status: 202, body: expect.stringMatching(/ignored: no commit touches \.pages/) });
    expect(forgejo.stats().requests).toBe(before);

    const [push] = await forgejo.pushPagesAndNotify(bob.owner, bob.repo, undefined);
    expect(push.status).toBe(202);
    await goneWithin(Object.keys(bobKeys), 5_000);
    expect(await store.dump()).toEqual({});
    expect(await loggedRuns(sidecar)).toHaveLength(1);
  }, 60_000);

  it('a push that wrote .pages, answered 404 for it (another Forgejo, a token that lost access): nothing is reaped, left to the sweep', async () => {
    forgejo.setRepo(bob.owner, bob.repo, { pages: pagesFile(bob) });
    const bobKeys = siteEntries(bob);
    await store.mset(bobKeys);
    const sidecar = await startSidecar();
    forgejo.addFailure({ match: '/contents/.pages', status: 404 });
    try {
      const [push] = await forgejo.pushPagesAndNotify(bob.owner, bob.repo, pagesFile(bob));
      expect(push.status).toBe(202);
      const [run] = await loggedRuns(sidecar);
      expect(run).toMatchObject({ reaped: 0, result: 'partial', reason: expect.stringMatching(/1 unknown/) });
      expect(await store.dump()).toEqual(bobKeys);
    } finally {
      forgejo.clearFailures();
    }
  }, 60_000);

  it('custom_domain changed by a push: the old domain (known from the sweep) is reaped, the new one kept', async () => {
    const old = { owner: 'carol', repo: 'www', domain: 'old.carol.dev' };
    const renamed = { ...old, domain: 'new.carol.dev' };
    forgejo.setRepo(old.owner, old.repo, { pages: pagesFile(old) });
    await store.mset(siteEntries(old));
    const sidecar = await startSidecar();
    // The plugin registers the new domain on the next visit: its reverse key now names it,
    // so only the sweep's index still knows the old one.
    await store.mset(siteEntries(renamed));
    const [push] = await forgejo.pushPagesAndNotify(old.owner, old.repo, pagesFile(renamed));
    expect(push.status).toBe(202);
    await goneWithin(['custom_domain:old.carol.dev', 'traefik/http/routers/custom-old-carol-dev/rule'], 5_000);
    const after = await store.dump();
    expect(after).toEqual(siteEntries(renamed));
    expect((await loggedRuns(sidecar))[0]).toMatchObject({ reaped: 1, live: 1 });
  }, 60_000);

  it('a branch deleted: only that branch mapping is reaped', async () => {
    const site = { owner: 'dave', repo: 'docs', domain: 'docs.dave.dev', branches: ['dev', 'next'] };
    forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', 'dev', 'next'] });
    const keys = siteEntries(site);
    await store.mset(keys);
    const sidecar = await startSidecar();
    const [delivery] = await forgejo.deleteBranchAndNotify(site.owner, site.repo, 'dev');
    expect(delivery.status).toBe(202);
    const devKeys = Object.keys(keys).filter((key) => key.includes('dev.docs') || key.includes('dev-docs') || key.endsWith(':branch:dev'));
    expect(devKeys.length).toBeGreaterThan(3);
    await goneWithin(devKeys, 5_000);
    const after = await store.dump();
    expect(after).toEqual(Object.fromEntries(Object.entries(keys).filter(([key]) => !devKeys.includes(key))));
    // Only the branch was asked about: the main domain and the other branch were not verified.
    expect((await loggedRuns(sidecar))[0]).toMatchObject({ repositories: ['dave/docs@dev'], reaped: 1, live: 0 });
  }, 60_000);

  it('the repository still live (recreated, or an old deleted delivery replayed): verified, nothing deleted', async () => {
    forgejo.setRepo(bob.owner, bob.repo, { pages: pagesFile(bob) });
    const keys = siteEntries(bob);
    await store.mset(keys);
    const sidecar = await startSidecar(['--webhook-window', '1s']);
    const deleted = forgejo.payloads.repository(bob.owner, bob.repo, 'deleted');
    // Deleted and re-created within moments; both deliveries arrive after the re-creation.
    forgejo.deleteRepo(bob.owner, bob.repo);
    forgejo.setRepo(bob.owner, bob.repo, { pages: pagesFile(bob) });
    const requests = pagesRequests(forgejo, bob.owner, bob.repo);
    const [first] = await forgejo.deliver('repository', deleted);
    const [second] = await forgejo.createRepoAndNotify(bob.owner, bob.repo, { pages: pagesFile(bob) });
    expect([first.status, second.status]).toEqual([202, 202]);
    await eventually(
      () => triggeredRuns(sidecar),
      (runs) => runs.length >= 1,
      5_000,
    );
    // A replay of the same deleted delivery, a window later: one more verification, nothing deleted.
    const verificationsBefore = triggeredRuns(sidecar).length;
    const [replay] = await forgejo.deliver('repository', deleted, { id: first.id });
    expect(replay.status).toBe(202);
    await eventually(
      () => triggeredRuns(sidecar),
      (runs) => runs.length === verificationsBefore + 1,
      5_000,
    );
    expect(pagesRequests(forgejo, bob.owner, bob.repo)).toBeGreaterThan(requests);
    for (const run of triggeredRuns(sidecar)) expect(run).toMatchObject({ reaped: 0, live: 1, result: 'success' });
    expect(await store.dump()).toEqual(keys);
  }, 60_000);
  it('a sweep refused by the brake holds every trigger back until a sweep is allowed: nothing goes piecemeal', async () => {
    const sites = Array.from({ length: 12 }, (_, i) => ({ owner: 'org', repo: `site${i}`, domain: `s${i}.example.com` }));
    const keys = Object.assign({}, ...sites.map((site) => siteEntries(site))) as Record<string, string>;
    for (const site of sites) forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
    await store.mset(keys);
    // A wrong token or host: Forgejo answers 404 to everything, so every site looks stale.
    forgejo.addFailure({ status: 404 });
    const sidecar = await startSidecar(['--webhook-window', '1s'], '3s');
    const sweeps = () => sidecar.lines.filter((line) => line.msg === 'run finished');
    expect(sweeps()[0]).toMatchObject({ result: 'refused', reaped: 0 });
    // Deliveries for 3 of the 12 (25%, under the brake's 30% on their own) are refused too.
    for (const site of sites.slice(0, 3)) {
      const [delivery] = await forgejo.deliver('repository', forgejo.payloads.repository(site.owner, site.repo, 'deleted'));
      expect(delivery.status).toBe(202);
    }
    const held = await loggedRuns(sidecar);
    expect(held[0]).toMatchObject({ reaped: 0, result: 'refused', reason: expect.stringContaining('the last sweep was refused') });
    expect(await store.dump()).toEqual(keys);

    // Forgejo answers truly again: the next sweep is allowed, and a delivery reaps at once.
    forgejo.clearFailures();
    const allowed = sweeps().length;
    await eventually(sweeps, (runs) => runs.length > allowed && runs.at(-1)!.result === 'success', 15_000);
    const [gone] = await forgejo.deleteRepoAndNotify('org', 'site0');
    expect(gone.status).toBe(202);
    await goneWithin(Object.keys(siteEntries(sites[0])), 10_000);
    const after = await store.dump();
    for (const site of sites.slice(1)) for (const [key, value] of Object.entries(siteEntries(site))) expect(after[key]).toBe(value);
  }, 60_000);
});

describe('on redis: refusals, configuration, a burst', () => {
  const store = redisBackend.create();
  const cli = cliRunner('webhooks-refusals');
  let forgejo: Standin;
  let secretFile: string;

  beforeAll(async () => {
    await store.start();
    forgejo = await startForgejoStandin();
    secretFile = path.join(cli.home, 'webhook-secret');
    fs.writeFileSync(secretFile, SECRET, { mode: 0o600 });
  }, 120_000);
  afterAll(async () => {
    cli.cleanup();
    await forgejo?.close();
    await store.stop();
  });
  beforeEach(() => store.flush());

  it('refuses bad, missing and misplaced signatures, oversized bodies, invalid JSON and unknown events; nothing is verified', async () => {
    const gone = { owner: 'erin', repo: 'gone', domain: 'erin.example.net' };
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { child, done } = cli.start(
      ['reap', '--interval', '1h', '--listen', `127.0.0.1:${port}`, ...storeArgs(store), '--forgejo-host', forgejo.url],
      { REAPER_WEBHOOK_SECRET_FILE: secretFile },
    );
    const lines = collectLines(child);
    try {
      await eventually(
        () => get(`${base}/readyz`),
        (r) => r.status === 200,
        15_000,
      );
      // Stale keys written after the first sweep: only a verification would reap them.
      await store.mset(siteEntries(gone));
      forgejo.setRepo(gone.owner, gone.repo, { pages: pagesFile(gone) });
      const payload = forgejo.payloads.repository(gone.owner, gone.repo, 'deleted');
      forgejo.deleteRepo(gone.owner, gone.repo);
      const url = `${base}${HOOK_PATH}`;
      const before = forgejo.stats().requests;
      const json = JSON.stringify(payload);
      const send = (event: string, options: Parameters<Standin['deliver']>[2]) =>
        forgejo.deliver(event, payload, { url, secret: SECRET, ...options }).then(([r]) => r);

      const cases = [
        { name: 'bad signature', result: await send('repository', { signature: 'ab'.repeat(32) }), status: 401 },
        { name: 'no signature', result: await send('repository', { signature: null }), status: 401 },
        { name: 'not hex', result: await send('repository', { signature: 'sha256=xyz' }), status: 401 },
        { name: 'wrong secret', result: await send('repository', { secret: 'another secret' }), status: 401 },
        // Signed over the compact JSON, sent pretty-printed: the same payload, other bytes.
        {
          name: 'other bytes',
          result: await send('repository', {
            signature: createHmac('sha256', SECRET).update(json).digest('hex'),
            body: JSON.stringify(payload, null, 2),
          }),
          status: 401,
        },
        { name: 'oversized', result: await send('repository', { body: Buffer.alloc(1024 * 1024 + 1, 0x20) }), status: 413 },
        { name: 'invalid JSON', result: await send('repository', { body: '{"action": "deleted", ' }), status: 400 },
        { name: 'unknown event', result: await send('issues', {}), status: 400 },
        { name: 'payload without repository', result: await send('repository', { body: '{"action":"deleted"}' }), status: 400 },
      ];
      for (const { name, result, status } of cases) expect({ name, status: result.status }).toEqual({ name, status });
      // A repository the store does not know costs no API request.
      const unknown = { ...payload, repository: { ...payload.repository, name: 'nothing-here', full_name: 'erin/nothing-here' } };
      const [accepted] = await forgejo.deliver('repository', unknown, { url, secret: SECRET });
      expect(accepted.status).toBe(202);
      await eventually(
        () => lines,
        (l) => l.some((line) => line.msg === 'triggered run finished'),
        5_000,
      );
      expect(forgejo.stats().requests).toBe(before);
      expect(await store.exists('custom_domain:erin.example.net')).toBe(true);

      const refusals = lines.filter((line) => line.msg === 'webhook delivery refused');
      expect(refusals).toHaveLength(cases.length);
      for (const [i, refusal] of refusals.entries()) {
        expect(refusal).toMatchObject({ level: 'warn', status: cases[i].status, delivery: cases[i].result.id });
      }
      const metrics = (await get(`${base}/metrics`)).text;
      expect(metric(metrics, 'pages_reaper_webhook_deliveries_total{event="repository",outcome="unauthorized"}')).toBe(5);
      expect(metric(metrics, 'pages_reaper_webhook_deliveries_total{event="repository",outcome="too_large"}')).toBe(1);
      expect(metric(metrics, 'pages_reaper_webhook_deliveries_total{event="other",outcome="unsupported_event"}')).toBe(1);
      expect(metric(metrics, 'pages_reaper_webhook_deliveries_total{event="repository",outcome="malformed"}')).toBe(2);
      // A Gitea instance (X-Gitea-* headers only) is heard too; /healthz stays where it was.
      const [gitea] = await forgejo.deliver('repository', payload, { url, secret: SECRET, giteaOnly: true });
      expect(gitea.status).toBe(202);
      await eventually(
        () => store.exists('custom_domain:erin.example.net'),
        (exists) => !exists,
        5_000,
      );
      expect((await get(`${base}/hooks/forgejo`)).status).toBe(405);
      expect((await get(`${base}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      const result = await done;
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    }
  }, 60_000);

  it('without a secret the endpoint does not exist; a secret without the sidecar mode is one line and exit 1', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { child, done } = cli.start([
      'reap',
      '--interval',
      '1h',
      '--listen',
      `127.0.0.1:${port}`,
      ...storeArgs(store),
      '--forgejo-host',
      forgejo.url,
    ]);
    try {
      await eventually(
        () => get(`${base}/readyz`),
        (r) => r.status === 200,
        15_000,
      );
      const response = await fetch(`${base}${HOOK_PATH}`, {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json', 'X-Forgejo-Event': 'push' },
      });
      expect(response.status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
    const single = await cli.run(['reap', '--webhook-secret-file', secretFile, ...storeArgs(store), '--forgejo-host', forgejo.url]);
    expectFatal(single, /webhook secret .* needs the sidecar mode: add --interval and --listen/);
    const noListen = await cli.run(['reap', '--interval', '1h', ...storeArgs(store), '--forgejo-host', forgejo.url], {
      REAPER_WEBHOOK_SECRET: SECRET,
    });
    expectFatal(noListen, /needs the sidecar mode/);
    expect(noListen.stderr).not.toContain(SECRET);
    const missing = await cli.run([
      'reap',
      '--interval',
      '1h',
      '--listen',
      '127.0.0.1:0',
      '--webhook-secret-file',
      '/nonexistent/secret',
      ...storeArgs(store),
      '--forgejo-host',
      forgejo.url,
    ]);
    expectFatal(missing, /cannot read --webhook-secret-file \/nonexistent\/secret: ENOENT/);
  }, 60_000);

  it('a burst of 10,000 deliveries for 100 repositories: at most one verification per repository per window, memory bounded, the sweep unaffected', async () => {
    const sites = Array.from({ length: 100 }, (_, i) => ({ owner: 'burst', repo: `r${i}`, domain: `r${i}.burst.dev` }));
    for (const site of sites) forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
    const seeded = Object.assign({}, ...sites.map((site) => siteEntries(site)));
    await store.mset(seeded);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { child, done } = cli.start([
      'reap',
      '--interval',
      '2s',
      '--listen',
      `127.0.0.1:${port}`,
      '--webhook-secret-file',
      secretFile,
      '--webhook-window',
      '60s',
      ...storeArgs(store),
      '--forgejo-host',
      forgejo.url,
    ]);
    const lines = collectLines(child);
    try {
      await eventually(
        () => get(`${base}/readyz`),
        (r) => r.status === 200,
        15_000,
      );
      const url = `${base}${HOOK_PATH}`;
      const rssBefore = metric((await get(`${base}/metrics`)).text, 'pages_reaper_process_resident_memory_bytes');
      const sweepsBefore = lines.filter((line) => line.msg === 'run finished').length;
      // Pushes that modify .pages (content unchanged), 100 per repository, 32 in flight.
      const payloads = sites.map((site) => {
        return forgejo.payloads.push(site.owner, site.repo, 'main', '1'.repeat(40), [{ modified: ['.pages'] }]);
      });
      const statuses: Record<number, number> = {};
      let next = 0;
      const total = 10_000;
      let healthy = true;
      const sender = async () => {
        while (next < total) {
          const n = next++;
          const [result] = await forgejo.deliver('push', payloads[n % sites.length], { url, secret: SECRET });
          statuses[result.status] = (statuses[result.status] ?? 0) + 1;
          if (n % 1000 === 0 && (await get(`${base}/readyz`)).status !== 200) healthy = false;
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: 32 }, sender));
      const elapsed = Date.now() - started;
      expect(statuses).toEqual({ 202: total });
      expect(healthy).toBe(true);
      expect(elapsed).toBeLessThan(60_000); // within one window, so at most one verification each
      const metricsText = (await get(`${base}/metrics`)).text;
      expect(metric(metricsText, 'pages_reaper_webhook_deliveries_total{event="push",outcome="queued"}')).toBeLessThanOrEqual(200);
      expect(metric(metricsText, 'pages_reaper_webhook_queue_repositories')).toBeLessThanOrEqual(100);
      const rssAfter = metric(metricsText, 'pages_reaper_process_resident_memory_bytes');
      expect(rssAfter - rssBefore).toBeLessThan(64 * 1024 * 1024);
      // The sweep still runs every 2 s while deliveries pour in.
      await eventually(
        () => lines.filter((line) => line.msg === 'run finished').length,
        (n) => n >= sweepsBefore + 2,
        10_000,
      );
      const perRepo = new Map<string, number>();
      for (const run of lines.filter((line) => line.msg === 'triggered run finished')) {
        for (const name of run.repositories) perRepo.set(name, (perRepo.get(name) ?? 0) + 1);
        expect(run.reaped).toBe(0);
      }
      expect(perRepo.size).toBeGreaterThan(0);
      expect(Math.max(...perRepo.values())).toBe(1);
      expect(await store.dump()).toEqual(seeded);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  }, 60_000);
});
