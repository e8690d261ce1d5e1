/**
 * The CLI as a process (DESIGN §6): `node bin/run.js <command> …` against a real
 * redis-server and the Forgejo stand-in, with a clean environment and no stdin.
 * Assumes dist/ and oclif.manifest.json are fresh (`npm test` builds first).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { cliRunner, expectFatal, type CliResult } from '../support/cli-process';
import { freePort } from '../support/servers';
import type { Site } from '../support/harness';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import {
  connectionFlags,
  resetRedisAndStandin,
  startRedisAndStandin,
  stopRedisAndStandin,
  type RedisServer,
  type Standin,
} from '../support/redis-and-standin';

const cli = cliRunner('e2e');
/** HOME and working directory of every CLI run: nothing of the developer's leaks in. */
const HOME = cli.home;
const startCli = cli.start;
const runCli = cli.run;

/** Runs with --json: stdout must be exactly one JSON document whose exit code is the process's. */
async function runJson(args: string[], env: Record<string, string> = {}) {
  const result = await runCli([...args, '--json'], env);
  let doc: any;
  try {
    doc = JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`stdout is not one JSON document (${(error as Error).message}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  expect(result.stdout.trimStart().startsWith('{')).toBe(true);
  expect(doc.summary.exitCode).toBe(result.code);
  return { ...result, doc };
}

afterAll(() => cli.cleanup());

// ---------------------------------------------------------------------------
// Store fixtures

/** A site nobody serves any more: 9 router keys (entryPoints/0, /1, tls/certResolver, 3 middlewares…), 2 redirect middlewares, meta, reverse, forward. */
const STALE: Site = { owner: 'gone', repo: 'site', domain: 'old.example.com', redirects: 2 };
/** Live sites: one with a branch subdomain, one with a redirect middleware of its own. */
const LIVE: Site = { owner: 'alice', repo: 'blog', domain: 'blog.example.org', branches: ['dev'] };
const LIVE2: Site = { owner: 'bob', repo: 'docs', domain: 'docs.example.net', redirects: 1 };

/** Keys that are never the reaper's (DESIGN §2), whatever is stale. */
const NOT_OURS: Record<string, string> = {
  'traefik/http/routers/pages-domain-base/rule': 'HostRegexp(`^[a-z0-9-]+\\.pages\\.example\\.com$`)',
  'traefik/http/routers/pages-domain-base/entryPoints/0': 'websecure',
  'traefik/http/routers/pages-domain-base/middlewares/0': 'pages-server@file',
  'traefik/http/routers/pages-domain-base/service': 'noop@internal',
  'traefik/http/routers/pages-domain-base/tls/certResolver': 'letsencrypt-http',
  'traefik/http/routers/dashboard/rule': 'Host(`traefik.example.com`)',
  'traefik/http/services/app/loadBalancer/servers/0/url': 'http://10.0.0.7:8080',
  'traefik/http/middlewares/redirects-not-numbered/redirectRegex/regex': '^x',
  'password:gone:site': '$2a$10$7EqJtq98hPqEX7fNZaFWoOa9pE3zQH3sFvQpNq3D4Q5Gm8pY0lA6e',
  'password:alice:blog': '$2a$10$abcdefghijklmnopqrstuuQ8dFq6Cz6PxE6mYpV0w2b3c4d5e6f7g',
  'settings:gone/site': '{"theme":"dark"}',
  'custom-domain:old.example.com': 'gone:site',
  'session:4711': 'user=alice',
  unrelated: 'value',
};

/** The plugin's content cache: written with a TTL, never the reaper's. */
const CACHE: Record<string, string> = {
  'gone:site:main:/index.html': '<html>old site</html>',
  'alice:blog:main:/index.html': '<html>blog</html>',
};

async function seed(redis: Redis, ...records: Array<Record<string, string>>): Promise<void> {
  const all = Object.assign({}, ...records) as Record<string, string>;
  if (Object.keys(all).length > 0) await redis.mset(all);
}

async function seedCache(redis: Redis): Promise<void> {
  for (const [key, value] of Object.entries(CACHE)) await redis.set(key, value, 'EX', 3600);
}

/** Makes a site live in the stand-in: its repository and a `.pages` naming the domain. */
function makeLive(standin: Standin, site: Site): void {
  standin.setRepo(site.owner, site.repo, {
    pages: pagesFile({ domain: site.domain, branches: site.branches }),
    branches: ['main', ...(site.branches ?? [])],
  });
}

/** The typical store: one stale site, two live ones, and keys that are not ours. */
async function seedMixed(redis: Redis, standin: Standin): Promise<void> {
  standin.deleteRepo(STALE.owner, STALE.repo);
  makeLive(standin, LIVE);
  makeLive(standin, LIVE2);
  await seed(redis, siteEntries(STALE), siteEntries(LIVE), siteEntries(LIVE2), NOT_OURS);
  await seedCache(redis);
}

interface Dumped {
  value: string;
  ttl: boolean;
}

/** Every key of the database with its value and whether it has an expiry. */
async function dump(redis: Redis): Promise<Record<string, Dumped>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const out: Record<string, Dumped> = {};
  for (const key of [...new Set(keys)].sort()) {
    const type = await redis.type(key);
    const value = type === 'string' ? ((await redis.get(key)) ?? '') : `<${type}>`;
    out[key] = { value, ttl: (await redis.pttl(key)) > 0 };
  }
  return out;
}

function without(before: Record<string, Dumped>, keys: string[]): Record<string, Dumped> {
  const out = { ...before };
  for (const key of keys) {
    expect(out).toHaveProperty([key]);
    delete out[key];
  }
  return out;
}

const keysOf = (...sites: Site[]) => sites.flatMap((site) => Object.keys(siteEntries(site)));

// ---------------------------------------------------------------------------
// Output helpers

/** Lines the dry run lists under "Would delete N keys:". */
function listedKeys(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('     - '))
    .map((line) => line.slice('     - '.length));
}

function expectSummary(stdout: string, counts: { scanned: number; cleaned?: number; errors: number }): void {
  expect(stdout).toContain('📊 REAPER SUMMARY');
  expect(stdout).toMatch(new RegExp(`^Total domains scanned:\\s+${counts.scanned}$`, 'm'));
  if (counts.cleaned !== undefined) expect(stdout).toMatch(new RegExp(`^Stale domains cleaned:\\s+${counts.cleaned}$`, 'm'));
  expect(stdout).toMatch(new RegExp(`^Errors encountered:\\s+${counts.errors}$`, 'm'));
  expect(stdout).toMatch(/^Duration:\s+\d+(\.\d+)? seconds$/m);
}

function expectNoSecrets(result: CliResult, secrets: string[]): void {
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
      expect(result.stdout).not.toContain(form);
      expect(result.stderr).not.toContain(form);
    }
  }
}

function omit(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---------------------------------------------------------------------------

describe('seed-era flags: --redis-host --redis-port --forgejo-host --dry-run', () => {
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;
  let flags: string[];

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
    flags = ['--redis-host', '127.0.0.1', '--redis-port', String(server.port), '--forgejo-host', standin.url];
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  beforeEach(() => resetRedisAndStandin({ standin, redis }));

  it('--dry-run lists exactly the stale site keys, exits 0 and changes nothing', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);

    const result = await runCli(['reap', ...flags, '--dry-run']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const staleKeys = keysOf(STALE);
    expect(staleKeys).toHaveLength(18);
    expect(result.stdout).toContain(`Would delete ${staleKeys.length} keys`);
    for (const key of staleKeys) expect(result.stdout).toContain(`\n     - ${key}\n`);
    // Nothing else is listed, and the order is routers/middlewares, reverse, forward (§4.5).
    const listed = listedKeys(result.stdout);
    expect([...listed].sort()).toEqual([...staleKeys].sort());
    expect(listed[listed.length - 1]).toBe('custom_domain:old.example.com');
    expect(listed[listed.length - 2]).toBe('gone:site');
    expect(listed).toEqual(
      expect.arrayContaining([
        'traefik/http/routers/custom-old-example-com/entryPoints/0',
        'traefik/http/routers/custom-old-example-com/entryPoints/1',
        'traefik/http/routers/custom-old-example-com/tls/certResolver',
        'traefik/http/middlewares/redirects-old-example-com-1/redirectRegex/replacement',
        'redirects_meta:old.example.com',
      ]),
    );
    expect(result.stdout).toContain('DRY RUN');
    expectSummary(result.stdout, { scanned: 4, errors: 0 });
    // A dry run cleans nothing and says so.
    expect(result.stdout).toMatch(/^Stale domains that would be cleaned:\s+1$/m);
    expect(await dump(redis)).toEqual(before);
  });

  it("reaper.py's flags with no command before them run a reap, as the old script did: --dry-run previews, then the real run", async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);

    const preview = await runCli([...flags, '--dry-run']);
    expect({ code: preview.code, stderr: preview.stderr }).toEqual({ code: 0, stderr: '' });
    expect(preview.stdout).toContain('DRY RUN');
    expect([...listedKeys(preview.stdout)].sort()).toEqual([...keysOf(STALE)].sort());
    expect(await dump(redis)).toEqual(before);

    const real = await runCli(flags);
    expect({ code: real.code, stderr: real.stderr }).toEqual({ code: 0, stderr: '' });
    expect(real.stdout).toMatch(/^Stale domains cleaned:\s+1$/m);
    expect(await dump(redis)).toEqual(without(before, keysOf(STALE)));

    // Help and the version are what they were.
    const [help, version, short] = await Promise.all([runCli(['--help']), runCli(['--version']), runCli(['-v'])]);
    expect(help.stdout).toContain('COMMANDS');
    expect(version.stdout).toMatch(/^pages-reaper\/\d+\.\d+\.\d+ /);
    expect(short).toEqual(version);
  });

  it('reaper.py\'s wrapper line with its secrets\' variables empty (--redis-password "" --forgejo-token "") means none, as it did there', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);
    const wrapper = [...flags, '--redis-password', '', '--forgejo-token', ''];

    const preview = await runCli([...wrapper, '--dry-run']);
    expect({ code: preview.code, stderr: preview.stderr }).toEqual({ code: 0, stderr: '' });
    expect([...listedKeys(preview.stdout)].sort()).toEqual([...keysOf(STALE)].sort());
    expect(await dump(redis)).toEqual(before);

    const real = await runCli(wrapper);
    expect({ code: real.code, stderr: real.stderr }).toEqual({ code: 0, stderr: '' });
    expect(real.stdout).toMatch(/^Stale domains cleaned:\s+1$/m);
    expect(await dump(redis)).toEqual(without(before, keysOf(STALE)));
  });

  it('a real run deletes exactly the stale site keys; a second run deletes nothing', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);

    const first = await runCli(['reap', ...flags]);

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const staleKeys = keysOf(STALE);
    for (const key of staleKeys) expect(first.stdout).toContain(`✓ Deleted: ${key}`);
    expect(first.stdout).toContain(`✓ Deleted ${staleKeys.length}/${staleKeys.length} keys`);
    expectSummary(first.stdout, { scanned: 4, cleaned: 1, errors: 0 });
    const after = await dump(redis);
    expect(after).toEqual(without(before, staleKeys));
    // Spelled out: what must survive.
    for (const key of [...keysOf(LIVE, LIVE2), ...Object.keys(NOT_OURS)]) expect(after).toHaveProperty([key]);
    for (const key of Object.keys(CACHE)) expect(after[key]).toEqual({ value: CACHE[key], ttl: true });

    const second = await runCli(['reap', ...flags]);

    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('❌');
    expect(second.stdout).not.toContain('Deleted');
    expectSummary(second.stdout, { scanned: 3, cleaned: 0, errors: 0 });
    expect(await dump(redis)).toEqual(after);
  });

  it('a reap loads only what it uses: no inversify, prom-client, etcd3 or all of undici', async () => {
    await seedMixed(redis, standin);
    const file = path.join(HOME, 'loaded-packages.txt');
    const result = await runCli(['reap', ...flags], {
      NODE_OPTIONS: `--require ${path.resolve(__dirname, '..', 'support', 'loaded-packages.js')}`,
      LOADED_PACKAGES_FILE: file,
    });

    expect(result.code).toBe(0);
    const loaded = fs.readFileSync(file, 'utf8').trim().split('\n');
    // oclif by its parts' entry points and undici's Pool by its file, never either package's main module.
    expect(loaded).toEqual(expect.arrayContaining(['@oclif/core/run', 'ioredis', 'undici/lib/dispatcher/pool']));
    for (const heavy of ['@oclif/core', 'semver', 'undici', 'inversify', 'reflect-metadata', 'prom-client', 'etcd3', 'yaml'])
      expect(loaded).not.toContain(heavy);
  });
});

describe('environment variables, password-protected redis, token-protected Forgejo, secrets', () => {
  const PASSWORD = 'rpw-Q7x9vK2mZ4e8';
  const TOKEN = 'ftok-5c3e9a1b7d2f4e6a8c0b';
  const WRONG_TOKEN = 'ftok-wrong-9f8e7d6c5b4a';
  const WRONG_PASSWORD = 'rpw-wrong-H3j5k7L9';
  const SECRETS = [PASSWORD, TOKEN, WRONG_TOKEN, WRONG_PASSWORD];
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;
  let tokenFile: string;

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin({ password: PASSWORD, standin: { token: TOKEN } }));
    tokenFile = path.join(HOME, 'forgejo-token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  beforeEach(() => resetRedisAndStandin({ standin, redis }));

  const envOnly = () => ({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(server.port),
    REDIS_PASSWORD: PASSWORD,
    FORGEJO_HOST: standin.url,
    FORGEJO_TOKEN: TOKEN,
  });

  /** A verify of the mixed store that went through: its verdicts, the store unchanged, the token used, no secret said. */
  async function expectCleanVerify(result: Awaited<ReturnType<typeof runJson>>, before: Awaited<ReturnType<typeof dump>>): Promise<void> {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.doc.summary).toMatchObject({ domainsScanned: 4, live: 3, stale: 1, errors: 0 });
    expect(await dump(redis)).toEqual(before);
    expectAuthenticatedRequests();
    expectNoSecrets(result, SECRETS);
  }

  /** Every request carried the token and none was refused. */
  function expectAuthenticatedRequests(): void {
    const stats = standin.stats();
    expect(stats.requests).toBeGreaterThan(0);
    expect(stats.authHeaders).toBe(stats.requests);
    expect(standin.requestLog.filter((entry) => entry.status === 401)).toEqual([]);
  }

  it('REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, FORGEJO_HOST, FORGEJO_TOKEN alone run a reap', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);

    const result = await runCli(['reap'], envOnly());

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('📋 old.example.com -> gone/site');
    expect(await dump(redis)).toEqual(without(before, keysOf(STALE)));
    expectAuthenticatedRequests();
    expectNoSecrets(result, SECRETS);
  });

  it('--redis-url with the password and --forgejo-token-file: dry run as JSON, then the real run', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);
    const flags = [
      '--redis-url',
      `redis://:${PASSWORD}@127.0.0.1:${server.port}/0`,
      '--forgejo-host',
      standin.url,
      '--forgejo-token-file',
      tokenFile,
    ];

    const dry = await runJson(['reap', ...flags, '--dry-run']);

    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.doc.dryRun).toBe(true);
    expect(dry.doc.store).toBe(`redis://127.0.0.1:${server.port}/0`);
    const staleDomain = dry.doc.domains.find((d: { domain: string }) => d.domain === STALE.domain);
    expect(staleDomain).toMatchObject({ owner: 'gone', repo: 'site', verdict: 'stale', outcome: 'would-delete' });
    expect([...staleDomain.keys].sort()).toEqual(keysOf(STALE).sort());
    expect(await dump(redis)).toEqual(before);
    expectNoSecrets(dry, SECRETS);

    const real = await runCli(['reap', ...flags]);

    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    expect(await dump(redis)).toEqual(without(before, keysOf(STALE)));
    expectAuthenticatedRequests();
    expectNoSecrets(real, SECRETS);
  });

  it('REDIS_URL and FORGEJO_TOKEN_FILE work as environment variables too', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);

    const result = await runJson(['verify'], {
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${server.port}/0`,
      FORGEJO_HOST: standin.url,
      FORGEJO_TOKEN_FILE: tokenFile,
    });

    await expectCleanVerify(result, before);
  });

  it('a token file given by flag wins over FORGEJO_TOKEN from the environment', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);

    const result = await runJson(['verify', '--forgejo-token-file', tokenFile], { ...envOnly(), FORGEJO_TOKEN: WRONG_TOKEN });

    await expectCleanVerify(result, before);
  });

  it('fatal errors exit 1 with one line on stderr, no secret, and the store unchanged', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);
    const closedPort = String(await freePort());
    const env = envOnly();
    const missingFile = path.join(HOME, 'no-such-dir', 'token');

    // Each bad invocation and the flag its one line must name.
    // The sidecar with a webhook, refused before it starts (the secret file is any readable file).
    const hook = ['reap', '--interval', '1h', '--listen', '127.0.0.1:1', '--webhook-secret-file', tokenFile];
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['reap'], { ...env, REDIS_PORT: closedPort }, /--redis-(host|port)/],
      [['reap', '--redis-url', `redis://:${PASSWORD}@127.0.0.1:${closedPort}/0`], env, /--redis-url/],
      [['reap'], { ...env, REDIS_PASSWORD: WRONG_PASSWORD }, /--redis-password/],
      [['reap', '--forgejo-token', TOKEN], omit(env, 'FORGEJO_HOST'), /--forgejo-host/],
      [['reap', '--forgejo-token', TOKEN, '--bogus'], env, /--bogus/],
      [['reap', '--forgejo-token', TOKEN, '--max-stale-ratio', '2'], env, /--max-stale-ratio/],
      [['reap', '--forgejo-token-file', missingFile], omit(env, 'FORGEJO_TOKEN'), /--forgejo-token-file/],
      [['reap', '--forgejo-token-file', HOME], omit(env, 'FORGEJO_TOKEN'), /--forgejo-token-file/],
      // Not a redis:// URL: ioredis would take it for a socket path and print it whole.
      [['scan', '--redis-url', `http://:${PASSWORD}@127.0.0.1:${closedPort}`], env, /--redis-url.*redis:\/\//],
      // The password written where the user name goes.
      [['scan', '--redis-url', `redis://${PASSWORD}@127.0.0.1:${server.port}`], env, /--redis-url/],
      [['scan', '--redis-url', `redis//:${PASSWORD}@127.0.0.1:${server.port}`], env, /--redis-url/],
      // A root key Traefik never uses: the routers would be looked for under traefik//http/… and left behind.
      [['reap', '--root-key', 'traefik/'], env, /^pages-reaper: --root-key: 'traefik\/' is not a root key/],
      [['reap', '--root-key', ''], env, /--root-key: '' is not a root key/],
      // A bad value from the environment names its variable: a crontab setting only that has no flag to find.
      [['reap'], { ...env, TRAEFIK_ROOT_KEY: '/traefik' }, /--root-key \(TRAEFIK_ROOT_KEY\): '\/traefik' is not a root key/],
      [['reap'], { ...env, REAPER_CONCURRENCY: '0' }, /--concurrency \(REAPER_CONCURRENCY\): Expected an integer/],
      [['reap', '--concurrency', '0'], { ...env, REAPER_CONCURRENCY: '4' }, /^pages-reaper: --concurrency: Expected an integer/],
      // One thing said two ways: which one is meant would be a guess.
      [['reap', '--forgejo-token', TOKEN, '--forgejo-token-file', tokenFile], env, /--forgejo-token and --forgejo-token-file cannot/],
      [['reap'], { ...env, FORGEJO_TOKEN_FILE: tokenFile }, /FORGEJO_TOKEN and FORGEJO_TOKEN_FILE are both set/],
      [['reap', '--no-backup', '--backup-dir', HOME], env, /--no-backup and --backup-dir cannot be used together/],
      // The sidecar's settings are checked on a single run too.
      [['reap', '--interval', '1h', '--jitter', 'x'], env, /invalid --jitter 'x'/],
      [[...hook, '--webhook-path', 'nohash'], env, /invalid --webhook-path 'nohash'/],
      // A flag that means nothing without another would be ignored in silence.
      [['reap', '--jitter', '5m'], env, /--jitter would be ignored here; .*add --interval/],
      [['reap', '--webhook-path', '/hooks/x'], env, /--webhook-path would be ignored here; .*add --webhook-secret-file/],
      [['verify', '--dns-server', '127.0.0.1'], env, /--dns-server would be ignored here; .*--verify-dns/],
      [
        [...hook.slice(0, -2)],
        { ...env, REAPER_WEBHOOK_SECRET: 'x', REAPER_WEBHOOK_SECRET_FILE: tokenFile },
        /REAPER_WEBHOOK_SECRET and REAPER_WEBHOOK_SECRET_FILE are both set/,
      ],
      // Longer than a timer holds: it would fire at once, and the sidecar would loop without a pause.
      [['reap', '--interval', '25d'], env, /--interval 25d is too long: use 24d or less/],
      [[...hook, '--webhook-window', '30d'], env, /--webhook-window 30d is too long/],
      [['reap', '--timeout', '1e9'], env, /--timeout: expected seconds from 0\.01 to 3600, got '1e9'; write a plain decimal/],
      [['scan', '--store-timeout', '4000'], env, /--store-timeout: expected seconds from 0\.01 to 3600, got '4000'/],
      // An empty value on the command line (an unset shell variable) is no default.
      [['reap', '--redis-host', ''], env, /--redis-host is empty/],
      [['backup', '-o', ''], env, /--output is empty/],
      [['backup', '--prefix', ''], env, /--prefix is empty/],
      [['verify'], { ...env, REAPER_VERIFY_DNS: 'maybe' }, /REAPER_VERIFY_DNS='maybe' is neither true nor false/],
    ];
    const results = await Promise.all(cases.map(([args, caseEnv]) => runCli(args, caseEnv)));
    results.forEach((result, i) => {
      expectFatal(result, cases[i][2]);
      expectNoSecrets(result, SECRETS);
    });
    expect(standin.stats().requests).toBe(0);
    expect(await dump(redis)).toEqual(before);
  });

  it('a stray argument or an unknown command is a bad argument: exit 1, one line, store unchanged', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);
    const env = envOnly();

    // `reap dry-run` is the cron typo for `reap --dry-run`: it must not exit 2 ("partial").
    const [stray, unknownCommand] = await Promise.all([runCli(['reap', 'dry-run'], env), runCli(['reaper'], env)]);

    expectFatal(stray, /dry-run/);
    expectFatal(unknownCommand, /reaper/);
    for (const result of [stray, unknownCommand]) expectNoSecrets(result, SECRETS);
    expect(standin.stats().requests).toBe(0);
    expect(await dump(redis)).toEqual(before);
  });

  it('a wrong token stops the run early: exit 1, one line on stderr, nothing deleted, far fewer than 30 requests', async () => {
    const sites: Site[] = Array.from({ length: 30 }, (_, i) => ({ owner: `org${i}`, repo: 'www', domain: `site${i}.example.com` }));
    // Half of them really are stale: a run that took 401 for "gone" would delete them (--force lifts the brake).
    sites.forEach((site, i) => (i % 2 === 0 ? makeLive(standin, site) : standin.deleteRepo(site.owner, site.repo)));
    await seed(redis, ...sites.map((site) => siteEntries(site)), NOT_OURS);
    const before = await dump(redis);

    const result = await runCli(['reap', '--force'], { ...envOnly(), FORGEJO_TOKEN: WRONG_TOKEN });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/stopped early/i);
    expect(result.stdout).not.toContain('Deleted');
    // The cause and the fix in one line; no per-domain error for each of the 30.
    expect(result.stderr).toMatch(/^pages-reaper: stopped early: .*401.*--forgejo-token\n$/);
    expect(result.stdout).not.toContain('Error checking');
    expect(await dump(redis)).toEqual(before);
    const stats = standin.stats();
    expect(stats.requests).toBeGreaterThan(0);
    // Until a check succeeds, no more checks go out than the breaker needs (10), however
    // the answers interleave; 401 is not retried, so that is 10 requests at most.
    expect(stats.requests).toBeLessThanOrEqual(10);
    expect(stats.authHeaders).toBe(stats.requests);
    expectNoSecrets(result, SECRETS);

    const json = await runJson(['reap', '--force'], { ...envOnly(), FORGEJO_TOKEN: WRONG_TOKEN });
    expect(json.code).toBe(1);
    expect(json.doc.stoppedEarly).toMatch(/stopped early/i);
    expect(json.doc.summary.keysDeleted).toBe(0);
    expectNoSecrets(json, SECRETS);
    expect(await dump(redis)).toEqual(before);
  });
});

describe('report, JSON and exit codes', () => {
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;
  let flags: string[];

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
    flags = ['--redis-host', '127.0.0.1', '--redis-port', String(server.port), '--forgejo-host', standin.url];
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  beforeEach(() => resetRedisAndStandin({ standin, redis }));

  it('the human report keeps the familiar shape (--verbose: live domains listed too)', async () => {
    await seedMixed(redis, standin);

    const result = await runCli(['reap', ...flags, '--verbose']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('📋 old.example.com -> gone/site');
    expect(result.stdout).toContain('📋 blog.example.org -> alice/blog');
    expect(result.stdout).toContain('📋 docs.example.net -> bob/docs');
    expect(result.stdout).toContain('📋 dev.blog.example.org -> alice/blog');
    expect(result.stdout).toMatch(/^\s+❌ .*404/m);
    expect(result.stdout).toMatch(/^\s+✓ Live/m);
    expect(result.stdout).toMatch(/^\s+✓ Deleted: custom_domain:old\.example\.com$/m);
    expectSummary(result.stdout, { scanned: 4, cleaned: 1, errors: 0 });
  });

  it('--json prints one document whose summary.exitCode is the exit code', async () => {
    await seedMixed(redis, standin);

    const result = await runJson(['reap', ...flags]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.doc.command).toBe('reap');
    expect(result.doc.summary).toMatchObject({ domainsScanned: 4, staleDomainsCleaned: 1, keysDeleted: 18, errors: 0, exitCode: 0 });
    expect(result.doc.domains.find((d: { domain: string }) => d.domain === STALE.domain)).toMatchObject({
      verdict: 'stale',
      outcome: 'deleted',
    });
    expect(JSON.stringify(result.doc)).not.toContain('<html>'); // values never included
  });

  it('exit 0 on a healthy store of live sites and look-alike keys; nothing changes', async () => {
    makeLive(standin, LIVE);
    makeLive(standin, LIVE2);
    await seed(redis, siteEntries(LIVE), siteEntries(LIVE2), NOT_OURS, {
      // Look like reverse keys by name, but their values are not domain names.
      'cfg:main': 'count=3',
      'someone:something': 'hello world',
    });
    await seedCache(redis);
    const before = await dump(redis);

    const human = await runCli(['reap', ...flags]);
    const json = await runJson(['reap', ...flags]);

    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain('❌');
    expect(human.stdout).toMatch(/^Orphaned keys cleaned:\s+0 groups$/m);
    expectSummary(human.stdout, { scanned: 3, cleaned: 0, errors: 0 });
    expect(json.code).toBe(0);
    expect(json.doc.summary).toMatchObject({ live: 3, stale: 0, keysDeleted: 0 });
    expect(await dump(redis)).toEqual(before);
  });

  it('exit 2 when Forgejo answers 500 for one repository: that site stays, the others are reaped; --dry-run says 2 too', async () => {
    const broken: Site = { owner: 'broken', repo: 'site', domain: 'broken.example.com' };
    standin.deleteRepo(broken.owner, broken.repo); // were the 500 taken for a 404, it would be reaped
    standin.addFailure({ match: '/repos/broken/site/', status: 500 });
    await seedMixed(redis, standin);
    await seed(redis, siteEntries(broken));
    const before = await dump(redis);

    const [dry, dryJson] = await Promise.all([runCli(['reap', ...flags, '--dry-run']), runJson(['reap', ...flags, '--dry-run'])]);

    expect(dry.code).toBe(2);
    expect(dryJson.code).toBe(2);
    expect(dryJson.doc.dryRun).toBe(true);
    expect(await dump(redis)).toEqual(before);

    const real = await runCli(['reap', ...flags]);

    expect(real.code).toBe(2);
    expect(real.stdout).toMatch(/⚠️ +Error checking broken\/site: .*500/);
    expectSummary(real.stdout, { scanned: 5, cleaned: 1, errors: 1 });
    expect(await dump(redis)).toEqual(without(before, keysOf(STALE)));
    expect(standin.requestLog.some((entry) => entry.path.startsWith('/api/v1/repos/broken/site/') && entry.status === 500)).toBe(true);
  });

  it('exit 2 on invalid forward values: reported, never sent to the API, never deleted', async () => {
    await seedMixed(redis, standin);
    await seed(redis, {
      'custom_domain:x.com': 'not-a-mapping',
      'custom_domain:evil.example.com': '..:secrets',
      'custom_domain:slash.example.com': 'a/b:c',
    });
    const before = await dump(redis);

    const dry = await runCli(['reap', ...flags, '--dry-run']);
    expect(dry.code).toBe(2);
    expect(await dump(redis)).toEqual(before);

    const result = await runCli(['reap', ...flags]);

    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/⚠️ +x\.com: .*not-a-mapping/);
    expectSummary(result.stdout, { scanned: 7, cleaned: 1, errors: 3 });
    const after = await dump(redis);
    expect(after).toEqual(without(before, keysOf(STALE)));
    expect(after['custom_domain:x.com']).toEqual({ value: 'not-a-mapping', ttl: false });
    // Only the well-formed mappings' repositories were asked about.
    const paths = standin.requestLog.map((entry) => entry.path);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(p).toMatch(/^\/api\/v1\/repos\/(gone\/site|alice\/blog|bob\/docs)\//);

    const json = await runJson(['reap', ...flags]);
    expect(json.code).toBe(2);
    expect(json.doc.domains.find((d: { domain: string }) => d.domain === 'x.com')).toMatchObject({ verdict: 'invalid' });
  });

  it('exit 3 when 8 of 10 mapped sites are stale (nothing deleted, dry run too); --force reaps them with 0', async () => {
    const sites: Site[] = Array.from({ length: 10 }, (_, i) => ({ owner: 'team', repo: `site${i}`, domain: `s${i}.example.com` }));
    sites.forEach((site, i) => (i < 2 ? makeLive(standin, site) : standin.deleteRepo(site.owner, site.repo)));
    await seed(redis, ...sites.map((site) => siteEntries(site)), NOT_OURS);
    const before = await dump(redis);

    const [dry, real, realJson] = await Promise.all([
      runCli(['reap', ...flags, '--dry-run']),
      runCli(['reap', ...flags]),
      runJson(['reap', ...flags]),
    ]);

    expect(dry.code).toBe(3);
    expect(real.code).toBe(3);
    expect(real.stdout).toMatch(/Refused: 8 of 10/);
    expect(real.stdout).not.toContain('✓ Deleted');
    expect(realJson.code).toBe(3);
    expect(realJson.doc.summary).toMatchObject({ refusedByBrake: true, keysDeleted: 0 });
    expect(await dump(redis)).toEqual(before);

    const forced = await runCli(['reap', ...flags, '--force']);

    expect(forced.code).toBe(0);
    expectSummary(forced.stdout, { scanned: 10, cleaned: 8, errors: 0 });
    expect(await dump(redis)).toEqual(without(before, keysOf(...sites.slice(2))));
  });

  it('scan needs no --forgejo-host, makes no API call and prints counts', async () => {
    await seedMixed(redis, standin);
    const before = await dump(redis);
    const total = Object.keys(before).length;
    // FORGEJO_HOST in the environment must not make scan ask anything.
    const env = { FORGEJO_HOST: standin.url };
    const scanFlags = ['--redis-host', '127.0.0.1', '--redis-port', String(server.port)];

    const [human, json] = await Promise.all([runCli(['scan', ...scanFlags], env), runJson(['scan', ...scanFlags], env)]);

    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`🔑 Keys scanned: ${total}`);
    expect(human.stdout).toContain('forward mappings: 3 (+1 branch, 0 invalid)');
    expect(human.stdout).toContain('reverse mappings: 3 (+1 branch)');
    expect(human.stdout).toContain('routers: 4 (31 keys), redirect middlewares: 3, redirects_meta: 2');
    expectSummary(human.stdout, { scanned: 4, errors: 0 });
    expect(json.code).toBe(0);
    expect(json.doc.counts).toMatchObject({
      keysScanned: total,
      forward: 3,
      branchForward: 1,
      invalidForward: 0,
      reverse: 3,
      branchReverse: 1,
      routers: 4,
      routerKeys: 31,
      middlewares: 3,
      redirectsMeta: 2,
    });
    expect(standin.stats().requests).toBe(0);
    expect(await dump(redis)).toEqual(before);
  });

  it('verify prints a verdict and a reason per mapping and changes nothing', async () => {
    await seedMixed(redis, standin);
    // A branch subdomain whose branch is no longer enabled.
    await seed(redis, siteEntries({ ...LIVE, branches: ['old'] }));
    const before = await dump(redis);

    const [human, json] = await Promise.all([runCli(['verify', ...flags, '--verbose']), runJson(['verify', ...flags])]);

    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    const after = (header: string) => lines[lines.indexOf(header) + 1];
    expect(after('📋 old.example.com -> gone/site')).toMatch(/^\s+❌ Stale: .*(gone|404)/);
    expect(after('📋 old.blog.example.org -> alice/blog (branch old)')).toMatch(/^\s+❌ Stale: .*branch old.*enable_branches/);
    expect(after('📋 blog.example.org -> alice/blog')).toMatch(/^\s+✓ Live: .*blog\.example\.org/);
    expect(after('📋 dev.blog.example.org -> alice/blog (branch dev)')).toMatch(/^\s+✓ Live: .*branch dev/);
    expect(after('📋 docs.example.net -> bob/docs')).toMatch(/^\s+✓ Live: /);
    expect(human.stdout).not.toContain('Deleted');
    expect(human.stdout).not.toContain('Would delete');
    expect(human.stdout).toMatch(/^Live \/ stale:\s+3 \/ 2$/m);
    expectSummary(human.stdout, { scanned: 5, errors: 0 });
    expect(json.code).toBe(0);
    expect(json.doc.command).toBe('verify');
    for (const domain of json.doc.domains) {
      expect(['live', 'stale']).toContain(domain.verdict);
      expect(typeof domain.reason).toBe('string');
      expect(domain.reason.length).toBeGreaterThan(0);
    }
    expect(await dump(redis)).toEqual(before);
  });
});

describe('SIGINT during a slow run', () => {
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin({ standin: { latencyMs: 20_000 } }));
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  it('exits 130 quickly and deletes nothing', async () => {
    const sites: Site[] = Array.from({ length: 5 }, (_, i) => ({ owner: 'old', repo: `site${i}`, domain: `gone${i}.example.com` }));
    for (const site of sites) standin.deleteRepo(site.owner, site.repo);
    await seed(redis, ...sites.map((site) => siteEntries(site)), NOT_OURS);
    const before = await dump(redis);

    const { child, done } = startCli(['reap', ...connectionFlags(server, standin)]);
    let exited: CliResult | undefined;
    void done.then((result) => (exited = result));
    // Signal only once the run is verifying (the handler is installed by then).
    await waitFor(() => exited !== undefined || standin.stats().requests > 0, 10_000);
    if (exited) throw new Error(`the run ended before it asked Forgejo anything: exit ${exited.code}\n${exited.stdout}\n${exited.stderr}`);
    const signalledAt = Date.now();
    child.kill('SIGINT');
    const result = await done;
    const took = Date.now() - signalledAt;

    expect({ code: result.code, signal: result.signal }).toEqual({ code: 130, signal: null });
    // Far below the stand-in's 20 s answer: the run does not wait for it (the margin is
    // wide so that a loaded machine cannot make this fail).
    expect(took).toBeLessThan(5000);
    expect(result.stderr).toMatch(/interrupted/i);
    expect(await dump(redis)).toEqual(before);
  });
});
