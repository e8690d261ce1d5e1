/**
 * `backup`, `restore` and the reap's automatic backup, with the CLI as a process
 * (DESIGN §4.7, §6, §7), against a real redis-server and the Forgejo stand-in.
 * Assumes dist/ and oclif.manifest.json are fresh (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { cliRunner, expectFatal, type CliResult } from '../support/cli-process';
import { startRedis } from '../support/servers';
import type { Site } from '../support/harness';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { startRedisAndStandin, stopRedisAndStandin, type RedisServer, type Standin } from '../support/redis-and-standin';
import {
  HEADER,
  backupText,
  expectSameState,
  fullDump,
  onlyKeys,
  parseBackupText,
  sha256Lines,
  withoutKeys,
  type KeyState,
} from '../support/redis-state';

/** HOME, working directory and XDG_STATE_HOME of every run: nothing reaches the real home. */
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-backup-e2e-'));
const cli = cliRunner('backup-e2e', (home) => ({ XDG_STATE_HOME: path.join(home, '.state') }));
const HOME = cli.home;
const runCli = cli.run;

/** A run that must succeed: exit `code`, nothing on stderr. */
function expectOk(result: CliResult, code = 0): void {
  const context = `stdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect({ code: result.code, stderr: result.stderr, context }).toEqual({ code, stderr: '', context });
}

/** stdout must be exactly one JSON document. */
function jsonOf(result: CliResult): any {
  expect(result.stdout.trimStart().startsWith('{')).toBe(true);
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`stdout is not one JSON document (${(error as Error).message}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

let dirCounter = 0;
/** A new empty directory under the test's temporary root. */
function freshDir(name = 'd'): string {
  const dir = path.join(TMP, `${name}${++dirCounter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A directory nobody can create: its parent is a regular file (works as root too). */
function unwritableDir(): { parent: string; dir: string } {
  const parent = freshDir('blocked');
  fs.writeFileSync(path.join(parent, 'file.txt'), 'a regular file');
  return { parent, dir: path.join(parent, 'file.txt', 'sub') };
}

/** The text of a backup file, gunzipped when it is gzip. */
function readBackup(file: string): string {
  const bytes = fs.readFileSync(file);
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

function stat(result: CliResult, label: string): number {
  const m = new RegExp(`^${label}:\\s+(\\d+)$`, 'm').exec(result.stdout);
  if (!m) throw new Error(`no "${label}" line in:\n${result.stdout}`);
  return Number(m[1]);
}

afterAll(() => {
  cli.cleanup();
  fs.rmSync(TMP, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// A realistic store

const ALICE: Site = { owner: 'alice', repo: 'blog', domain: 'blog.example.org', branches: ['dev', 'feature/New_UI'], redirects: 2 };
const BOB: Site = { owner: 'bob', repo: 'docs', domain: 'docs.example.net', redirects: 1 };
const CAROL: Site = { owner: 'carol', repo: 'shop', domain: 'shop.example.com' };
const SITES = [ALICE, BOB, CAROL];
const PLUGIN_KEYS = SITES.flatMap((site) => Object.keys(siteEntries(site))).sort();

/** Keys that look like the plugin's, or sit next to them, and are not. */
const LOOK_ALIKES: Record<string, string> = {
  'traefik/http/routers/pages-domain-base/rule': 'HostRegexp(`^[a-z0-9-]+\\.pages\\.example\\.com$`)',
  'traefik/http/routers/pages-domain-base/entryPoints/0': 'websecure',
  'traefik/http/routers/pages-domain-base/middlewares/0': 'pages-server@file',
  'traefik/http/routers/dashboard/rule': 'Host(`traefik.example.com`)',
  'traefik/http/services/app/loadBalancer/servers/0/url': 'http://10.0.0.7:8080',
  'traefik/http/middlewares/redirects-not-numbered/redirectRegex/regex': '^x',
  'password:alice:blog': '$2a$10$abcdefghijklmnopqrstuuQ8dFq6Cz6PxE6mYpV0w2b3c4d5e6f7g',
  'settings:alice/blog': '{"theme":"dark"}',
  'someone:else': 'not a domain',
  'session:4711': 'user=alice',
  unrelated: 'value',
};

/** Keys for --prefix: glob characters in the prefix must not widen it. */
const PREFIXED: Record<string, string> = {
  'we*rd:1': 'p1',
  'we*rd:2': 'p2',
  'weird:3': 'p3',
  'we-rd:4': 'p4',
  'br[ac]ket:1': 'p5',
  'braket:2': 'p6',
  'brcket:3': 'p7',
  'q?x:1': 'p8',
  'qax:2': 'p9',
};

const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

/** Plugin sites, look-alikes, binary values, TTLs and every Redis type. */
async function seedRealistic(redis: Redis): Promise<void> {
  await redis.mset(Object.assign({}, ...SITES.map((site) => siteEntries(site)), LOOK_ALIKES, PREFIXED));
  // The content cache, and a reverse-shaped key holding a domain, both with a TTL: not the plugin's.
  await redis.set('alice:blog:main:/index.html', '<html>blog</html>', 'EX', 3600);
  await redis.set('tmp:thing', 'cached.example.com', 'EX', 600);
  await redis.set('blob:bin', BINARY);
  await redis.set('ttl:ex', 'five minutes', 'EX', 300);
  await redis.set('ttl:px', 'ninety seconds', 'PX', 90000);
  await redis.hset('h:profile', { name: 'Alice', age: '41', raw: Buffer.from([0xc3, 0x28]) });
  await redis.expire('h:profile', 600);
  await redis.rpush('l:queue', 'one', 'two', 'one', 'three');
  await redis.sadd('s:tags', 'red', 'green', 'blue');
  await redis.zadd('z:scores', 1, 'low', 2.5, 'mid', 1e6, 'high');
}

function storeFlags(server: RedisServer): string[] {
  return ['--redis-host', '127.0.0.1', '--redis-port', String(server.port)];
}

async function connect(server: RedisServer, password?: string): Promise<Redis> {
  const redis = new Redis({ host: server.host, port: server.port, password, lazyConnect: true });
  await redis.connect();
  return redis;
}

// ---------------------------------------------------------------------------

describe('backup → FLUSHALL → restore round trip', () => {
  let server: RedisServer;
  let redis: Redis;
  let flags: string[];
  let before: Record<string, KeyState>;

  beforeAll(async () => {
    server = await startRedis();
    redis = await connect(server);
    flags = storeFlags(server);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
    await seedRealistic(redis);
    before = await fullDump(redis);
  });

  it.each([
    ['plain', 'all.jsonl'],
    ['gzip', 'all.jsonl.gz'],
  ])('backup --all (%s), FLUSHALL, restore: every key, byte, type and TTL comes back', async (_kind, name) => {
    const file = path.join(freshDir(), name);
    const backup = await runCli(['backup', ...flags, '--all', '--output', file]);
    expectOk(backup);
    const total = Object.keys(before).length;
    expect(backup.stdout).toContain(`💾 Backed up ${total} keys from redis://127.0.0.1:${server.port}/0 to ${file}`);
    expect(readBackup(file).split('\n').filter(Boolean)).toHaveLength(total + 2);
    expect(
      fs
        .readFileSync(file)
        .subarray(0, 2)
        .equals(Buffer.from([0x1f, 0x8b])),
    ).toBe(name.endsWith('.gz'));

    await redis.flushall();
    const restore = await runCli(['restore', file, ...flags]);

    expectOk(restore);
    expect(stat(restore, 'Entries in backup')).toBe(total);
    expect(stat(restore, 'Written')).toBe(total);
    expect(stat(restore, 'Skipped, other value')).toBe(0);
    const after = await fullDump(redis);
    expectSameState(after, before);
    // Spelled out: the bytes that are not UTF-8, and the TTLs.
    expect((await redis.getBuffer('blob:bin'))!.equals(BINARY)).toBe(true);
    expect(await redis.pttl('ttl:ex')).toBeGreaterThan(290_000);
    expect(await redis.pttl('ttl:px')).toBeGreaterThan(80_000);
    expect(await redis.ttl('h:profile')).toBeGreaterThan(590);
    expect(await redis.pttl('s:tags')).toBe(-1);
    expect(await redis.lrange('l:queue', 0, -1)).toEqual(['one', 'two', 'one', 'three']);
    expect(await redis.zrange('z:scores', '0', '-1', 'WITHSCORES')).toEqual(['low', '1', 'mid', '2.5', 'high', '1000000']);
  });

  it('backup --all keeps keys whose names are not UTF-8 (or says it could not)', async () => {
    const binaryKey = Buffer.from([0x6b, 0x65, 0x79, 0xff, 0xfe]);
    await redis.set(binaryKey, 'binary-named');
    const withBinaryKey = await fullDump(redis);
    const file = path.join(freshDir(), 'binary-key.jsonl');
    const backup = await runCli(['backup', ...flags, '--all', '--output', file]);
    const total = Object.keys(withBinaryKey).length;
    // Either every key is in the file, or the run does not claim success.
    if (backup.code === 0) {
      expect(backup.stdout).toContain(`💾 Backed up ${total} keys`);
      await redis.flushall();
      expectOk(await runCli(['restore', file, ...flags]));
      expectSameState(await fullDump(redis), withBinaryKey);
    } else {
      expect(backup.code).toBe(2);
      expect(backup.stdout + backup.stderr).toMatch(/key/i);
    }
  });

  it('a key with an empty name, which no backup line can hold, is named as not saved (exit 2); the backup of the rest restores', async () => {
    await redis.set('', 'empty-named');
    const file = path.join(freshDir(), 'empty-key.jsonl');
    const backup = await runCli(['backup', ...flags, '--all', '--output', file]);
    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 2, stderr: '' });
    expect(backup.stdout).toContain('⚠️  "" (an empty key name): could not be saved; not in the backup');
    const saved = withoutKeys(await fullDump(redis), ['']);
    await redis.flushall();
    expectOk(await runCli(['restore', file, ...flags]));
    expectSameState(await fullDump(redis), saved);
  });
});

describe("what a backup selects: the plugin's keys by default, --domain, --prefix, --output -", () => {
  let server: RedisServer;
  let redis: Redis;
  let flags: string[];
  let before: Record<string, KeyState>;
  const files = { plugin: '', domain: '', prefix: '' };
  const results: Record<string, CliResult> = {};

  // One seeded store, four backups taken side by side (backups only read).
  beforeAll(async () => {
    server = await startRedis();
    redis = await connect(server);
    flags = storeFlags(server);
    await seedRealistic(redis);
    before = await fullDump(redis);
    const dir = freshDir();
    files.plugin = path.join(dir, 'plugin.jsonl');
    files.domain = path.join(dir, 'domain.jsonl');
    files.prefix = path.join(dir, 'prefix.jsonl');
    [results.plugin, results.domain, results.prefix, results.stdout] = await Promise.all([
      runCli(['backup', ...flags, '--output', files.plugin]),
      runCli(['backup', ...flags, '--domain', ALICE.domain, '--output', files.domain]),
      runCli(['backup', ...flags, '--prefix', 'we*rd', '--prefix', 'br[ac]ket', '--prefix', 'q?', '--output', files.prefix]),
      runCli(['backup', ...flags, '--all', '--output', '-']),
    ]);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  it("without a selection, the backup holds exactly the plugin's keys, none of the look-alikes", async () => {
    const file = files.plugin;
    const result = results.plugin;
    expectOk(result);
    const parsed = parseBackupText(readBackup(file));
    const keys = parsed.entries.map((entry) => entry.key).sort();
    expect(keys).toEqual(PLUGIN_KEYS);
    for (const key of [
      'alice:blog:main:/index.html',
      'tmp:thing',
      'password:alice:blog',
      'settings:alice/blog',
      'traefik/http/routers/pages-domain-base/rule',
    ]) {
      expect(keys).not.toContain(key);
    }
    // Values as written by the plugin, and no expiry.
    const entries = Object.fromEntries(parsed.entries.map((entry) => [entry.key, entry]));
    expect(entries['custom_domain:dev.blog.example.org']).toEqual({
      key: 'custom_domain:dev.blog.example.org',
      type: 'string',
      value: 'alice:blog:dev',
      expiresAt: null,
    });
    expect(entries['alice:blog']).toEqual({ key: 'alice:blog', type: 'string', value: 'blog.example.org', expiresAt: null });
    expect(result.stdout).toContain(`💾 Backed up ${PLUGIN_KEYS.length} keys`);
  });

  it("--domain D holds exactly D's forward, reverse, routers, middlewares and redirects_meta (not its branches')", async () => {
    const file = files.domain;
    const result = results.domain;
    expectOk(result);
    const keys = parseBackupText(readBackup(file))
      .entries.map((entry) => entry.key)
      .sort();
    const expected = Object.keys(siteEntries({ ...ALICE, branches: [] })).sort();
    expect(expected).toEqual(
      expect.arrayContaining([
        'custom_domain:blog.example.org',
        'alice:blog',
        'redirects_meta:blog.example.org',
        'traefik/http/routers/custom-blog-example-org/entryPoints/1',
        'traefik/http/middlewares/redirects-blog-example-org-1/redirectRegex/replacement',
      ]),
    );
    expect(keys).toEqual(expected);
  });

  it('--prefix is literal: *, ? and [ ] in it match only themselves', async () => {
    const file = files.prefix;
    const result = results.prefix;
    expectOk(result);
    const parsed = parseBackupText(readBackup(file));
    expect(parsed.entries.map((entry) => entry.key).sort()).toEqual(['br[ac]ket:1', 'q?x:1', 'we*rd:1', 'we*rd:2']);
    expect(parsed.entries.find((entry) => entry.key === 'we*rd:2')).toEqual({
      key: 'we*rd:2',
      type: 'string',
      value: 'p2',
      expiresAt: null,
    });
  });

  it('the store is unchanged by backups', async () => {
    expectSameState(await fullDump(redis), before);
  });

  it('--output - writes the backup to stdout and the report to stderr', async () => {
    const result = results.stdout;
    expect(result.code).toBe(0);
    const total = Object.keys(before).length;
    expect(result.stderr).toMatch(new RegExp(`^💾 Backed up ${total} keys from \\S+ to - in [\\d.]+ seconds\\n$`));
    const parsed = parseBackupText(result.stdout);
    expect(parsed.header).toMatchObject({ format: 'pages-reaper-backup', version: 1 });
    expect(parsed.trailer).toEqual({ trailer: true, count: total, sha256: parsed.recomputedSha256 });
    expect(parsed.entries.map((entry) => entry.key).sort()).toEqual(Object.keys(before).sort());
    const bin = parsed.entries.find((entry) => entry.key === 'blob:bin')!;
    expect(bin.value).toBeUndefined();
    expect(Buffer.from(bin.base64, 'base64').equals(BINARY)).toBe(true);
    expect(parsed.entries.find((entry) => entry.key === 'h:profile')).toMatchObject({
      type: 'hash',
      dump: expect.any(String),
      expiresAt: expect.stringMatching(/Z$/),
    });
    // No file appeared anywhere it could have gone.
    expect(fs.readdirSync(HOME).filter((name) => name !== '.state')).toEqual([]);
  });
});

describe('the backup file: mode, header, lines, trailer, no temporary file, no password', () => {
  const PASSWORD = 'rpw-S3cr3t-bk-7Yq';
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
    redis = await connect(server, PASSWORD);
    await seedRealistic(redis);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  it.each([
    [
      '--redis-password, plain',
      'b.jsonl',
      (port: number) => ['--redis-host', '127.0.0.1', '--redis-port', String(port), '--redis-password', PASSWORD],
      { url: false },
    ],
    [
      '--redis-url with the password, gzip',
      'b.jsonl.gz',
      (port: number) => ['--redis-url', `redis://:${PASSWORD}@127.0.0.1:${port}/0`],
      { url: false },
    ],
    ['REDIS_URL with ?password=, gzip', 'b.jsonl.gz', () => [], { url: true }],
  ])('%s', async (_name, fileName, args, options) => {
    const dir = freshDir();
    const file = path.join(dir, fileName);
    const env: Record<string, string> = options.url ? { REDIS_URL: `redis://127.0.0.1:${server.port}/0?password=${PASSWORD}` } : {};
    const startedAt = Date.now();
    const result = await runCli(['backup', ...args(server.port), '--all', '--output', file, '--reason', 'before the migration'], env);
    const endedAt = Date.now();
    expectOk(result);

    expect(fs.readdirSync(dir)).toEqual([fileName]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const raw = fs.readFileSync(file);
    const text = readBackup(file);
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')]) {
      expect(text).not.toContain(form);
      expect(raw.includes(form)).toBe(false);
      expect(result.stdout).not.toContain(form);
    }

    const parsed = parseBackupText(text);
    expect(parsed.header).toEqual({
      format: 'pages-reaper-backup',
      version: 1,
      store: `redis://127.0.0.1:${server.port}/0`,
      rootKey: 'traefik',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      reason: 'before the migration',
    });
    const createdAt = Date.parse(parsed.header.createdAt as string);
    expect(createdAt).toBeGreaterThanOrEqual(startedAt - 5);
    expect(createdAt).toBeLessThanOrEqual(endedAt);

    const keys = (await redis.keys('*')).sort();
    expect(parsed.lines).toHaveLength(keys.length + 2);
    expect(parsed.entries.map((entry) => entry.key).sort()).toEqual(keys);
    for (const entry of parsed.entries) {
      expect(Object.keys(entry).sort()).toEqual(
        entry.type === 'string'
          ? ['expiresAt', 'key', 'type', entry.base64 !== undefined ? 'base64' : 'value'].sort()
          : ['dump', 'expiresAt', 'key', 'type'],
      );
      expect(entry.expiresAt === null || !Number.isNaN(Date.parse(entry.expiresAt))).toBe(true);
    }
    expect(parsed.entries.find((entry) => entry.key === 'ttl:ex')!.expiresAt).toMatch(/Z$/);
    expect(parsed.entries.find((entry) => entry.key === 'unrelated')!.expiresAt).toBeNull();
    expect(parsed.trailer).toEqual({ trailer: true, count: keys.length, sha256: sha256Lines(parsed.entryLines) });
  });

  it('records --root-key in the header, and the timestamped default name in --backup-dir', async () => {
    const dir = path.join(freshDir(), 'made', 'for', 'it');
    const result = await runCli(
      ['backup', '--redis-port', String(server.port), '--redis-host', '127.0.0.1', '--root-key', 'edge', '--backup-dir', dir],
      { REDIS_PASSWORD: PASSWORD },
    );
    expectOk(result);
    const names = fs.readdirSync(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.jsonl$/);
    const file = path.join(dir, names[0]);
    expect(result.stdout).toContain(` to ${file} `);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const parsed = parseBackupText(readBackup(file));
    expect(parsed.header).toMatchObject({ rootKey: 'edge', reason: 'manual backup' });
    // With root key `edge`, the `traefik/…` routers are not the plugin's.
    expect(parsed.entries.map((entry) => entry.key).sort()).toEqual(PLUGIN_KEYS.filter((key) => !key.startsWith('traefik/')));
    expect(parsed.trailer).toEqual({ trailer: true, count: parsed.entries.length, sha256: parsed.recomputedSha256 });
  });

  it('without --output or --backup-dir, writes into $XDG_STATE_HOME/pages-reaper/backups (0700), or REAPER_BACKUP_DIR', async () => {
    const state = freshDir('state');
    const envDir = path.join(freshDir(), 'from-env');
    const base = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(server.port), REDIS_PASSWORD: PASSWORD };
    const [byXdg, byEnv] = await Promise.all([
      runCli(['backup'], { ...base, XDG_STATE_HOME: state }),
      runCli(['backup'], { ...base, XDG_STATE_HOME: state, REAPER_BACKUP_DIR: envDir }),
    ]);
    expectOk(byXdg);
    expectOk(byEnv);
    const backups = path.join(state, 'pages-reaper', 'backups');
    expect(fs.statSync(backups).mode & 0o777).toBe(0o700);
    for (const dir of [backups, envDir]) {
      const names = fs.readdirSync(dir);
      expect(names).toEqual([expect.stringMatching(/^backup-[\dT-]+Z\.jsonl$/)]);
      const parsed = parseBackupText(readBackup(path.join(dir, names[0])));
      expect(parsed.entries.map((entry) => entry.key).sort()).toEqual(PLUGIN_KEYS);
    }
  });
});

// ---------------------------------------------------------------------------

describe('reap writes a backup that restore turns back into the store', () => {
  const LIVE: Site = { owner: 'alice', repo: 'blog', domain: 'blog.example.org', branches: ['dev'] };
  const LIVE2: Site = { owner: 'bob', repo: 'docs', domain: 'docs.example.net', redirects: 1 };
  const STALE: Site = { owner: 'gone', repo: 'site', domain: 'old.example.com', redirects: 2 };
  /** A stale site whose forward key and router rule somebody gave an expiry. */
  const STALE_TTL: Site = { owner: 'gone2', repo: 'tmp', domain: 'temp.example.com' };
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;
  let flags: string[];
  let reapable: string[];

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
    flags = [...storeFlags(server), '--forgejo-host', standin.url];
  });
  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  beforeEach(async () => {
    await redis.flushall();
    for (const site of [LIVE, LIVE2]) {
      standin.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', ...(site.branches ?? [])] });
    }
    for (const site of [STALE, STALE_TTL]) standin.deleteRepo(site.owner, site.repo);
    standin.deleteRepo('ghost', 'x');
    const orphans = siteEntries({ owner: 'ghost', repo: 'x', domain: 'ghost.example.com', redirects: 1 });
    delete orphans['custom_domain:ghost.example.com'];
    await redis.mset(Object.assign({}, ...[LIVE, LIVE2, STALE, STALE_TTL].map((site) => siteEntries(site)), orphans, LOOK_ALIKES));
    await redis.pexpire('custom_domain:temp.example.com', 120_000);
    await redis.pexpire('traefik/http/routers/custom-temp-example-com/rule', 90_000);
    await redis.set('gone:site:main:/index.html', '<html>old</html>', 'EX', 3600);
    await redis.set('blob:bin', BINARY);
    await redis.hset('h:profile', { name: 'Alice' });
    reapable = [...Object.keys(siteEntries(STALE)), ...Object.keys(siteEntries(STALE_TTL)), ...Object.keys(orphans)].sort();
  });

  const backupsIn = (stateHome: string) => path.join(stateHome, 'pages-reaper', 'backups');
  const listing = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

  it('reap prints the backup path and deletes; restore <that path> gives back exactly the store', async () => {
    const before = await fullDump(redis);
    const state = freshDir('state');

    const reap = await runCli(['reap', ...flags], { XDG_STATE_HOME: state });

    expectOk(reap);
    const m = /^💾 Backup of every deleted key: (\S+)$/m.exec(reap.stdout);
    expect(m).not.toBeNull();
    const backupPath = m![1];
    expect(path.dirname(backupPath)).toBe(backupsIn(state));
    expect(path.basename(backupPath)).toMatch(/^reap-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.jsonl$/);
    // The undo command runs as printed: these tests run bin/run.js by its absolute path.
    expect(reap.stdout).toContain(`Undo with: ${path.resolve(__dirname, '..', '..', 'bin', 'run.js')} restore ${backupPath}`);
    expect(listing(backupsIn(state))).toEqual([path.basename(backupPath)]);
    expect(fs.statSync(backupPath).mode & 0o777).toBe(0o600);
    expect(Object.keys(await fullDump(redis)).sort()).toEqual(Object.keys(withoutKeys(before, reapable)).sort());
    const parsed = parseBackupText(readBackup(backupPath));
    expect(parsed.entries.map((entry) => entry.key).sort()).toEqual(reapable);
    expect(parsed.trailer).toEqual({ trailer: true, count: reapable.length, sha256: parsed.recomputedSha256 });
    expect(parsed.header).toMatchObject({
      store: `redis://127.0.0.1:${server.port}/0`,
      rootKey: 'traefik',
      reason: expect.stringMatching(/^reap/),
    });

    const restore = await runCli(['restore', backupPath, ...storeFlags(server)]);

    expectOk(restore);
    expect(stat(restore, 'Written')).toBe(reapable.length);
    expectSameState(await fullDump(redis), before);

    // Restoring again changes nothing: every key is already identical.
    const again = await runCli(['restore', backupPath, ...storeFlags(server)]);
    expectOk(again);
    expect(stat(again, 'Already identical')).toBe(reapable.length);
    expect(stat(again, 'Written')).toBe(0);
    expectSameState(await fullDump(redis), before);
  });

  it('the printed undo line names the store it reaped and runs as printed (a bare restore would go to localhost:6379)', async () => {
    const before = await fullDump(redis);
    const reap = await runCli(['reap', ...flags], { XDG_STATE_HOME: freshDir('state') });
    expectOk(reap);
    const undo = /^ {3}Undo with: (.+)$/m.exec(reap.stdout)![1];
    expect(undo).toMatch(new RegExp(` restore \\S+ --redis-host 127\\.0\\.0\\.1 --redis-port ${server.port}$`));
    expect(Object.keys(await fullDump(redis)).length).toBeLessThan(Object.keys(before).length);

    // Pasted into a shell whose environment names no store.
    const restored = spawnSync('sh', ['-c', undo], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: freshDir('home') } });
    expect({ status: restored.status, stderr: restored.stderr }).toEqual({ status: 0, stderr: '' });
    expectSameState(await fullDump(redis), before);
  });

  it('REAPER_BACKUP_DIR chooses the directory; --json names the backup', async () => {
    const dir = path.join(freshDir(), 'reaper-backups');
    const state = freshDir('state');
    const reap = await runCli(['reap', ...flags, '--json'], { XDG_STATE_HOME: state, REAPER_BACKUP_DIR: dir });
    expectOk(reap);
    const doc = jsonOf(reap);
    expect(path.dirname(doc.backupPath)).toBe(dir);
    expect(listing(dir)).toEqual([path.basename(doc.backupPath)]);
    expect(listing(backupsIn(state))).toEqual([]);
    expect(parseBackupText(readBackup(doc.backupPath)).entries).toHaveLength(reapable.length);
  });

  it('reap --dry-run and reap --no-backup write no backup; a reap with nothing to delete writes none either', async () => {
    const before = await fullDump(redis);
    const state = freshDir('state');
    const env = { XDG_STATE_HOME: state };

    const dry = await runCli(['reap', ...flags, '--dry-run'], env);
    expectOk(dry);
    expect(dry.stdout).not.toContain('💾');
    expect(listing(backupsIn(state))).toEqual([]);
    expectSameState(await fullDump(redis), before);

    const noBackup = await runCli(['reap', ...flags, '--no-backup'], env);
    expectOk(noBackup);
    expect(noBackup.stdout).not.toContain('💾');
    expect(Object.keys(await fullDump(redis)).sort()).toEqual(Object.keys(withoutKeys(before, reapable)).sort());
    expect(listing(backupsIn(state))).toEqual([]);

    const nothing = await runCli(['reap', ...flags], env);
    expectOk(nothing);
    expect(nothing.stdout).not.toContain('💾');
    expect(listing(backupsIn(state))).toEqual([]);
    expect(listing(state)).toEqual([]);
  });

  it('an unwritable --backup-dir (or REAPER_BACKUP_DIR): exit 1, one line on stderr, nothing deleted', async () => {
    const before = await fullDump(redis);
    const { parent, dir } = unwritableDir();

    const [byFlag, byEnv] = await Promise.all([
      runCli(['reap', ...flags, '--backup-dir', dir]),
      runCli(['reap', ...flags], { REAPER_BACKUP_DIR: dir }),
    ]);

    for (const result of [byFlag, byEnv]) expectFatal(result, /^pages-reaper: .*backup.*file\.txt\/sub.*ENOTDIR/);
    expect(byFlag.stderr).toMatch(/nothing was deleted/);
    expectSameState(await fullDump(redis), before);
    expect(fs.readdirSync(parent)).toEqual(['file.txt']);
  });
});

// ---------------------------------------------------------------------------

describe('restore: absent keys only unless --overwrite, --domain, expiry, --dry-run, --json', () => {
  let server: RedisServer;
  let redis: Redis;
  let flags: string[];
  let file: string;
  let full: Record<string, KeyState>;
  let total: number;

  beforeAll(async () => {
    server = await startRedis();
    redis = await connect(server);
    flags = storeFlags(server);
    await seedRealistic(redis);
    full = await fullDump(redis);
    total = Object.keys(full).length;
    file = path.join(freshDir(), 'everything.jsonl.gz');
    expectOk(await runCli(['backup', ...flags, '--all', '--output', file]));
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });
  beforeEach(() => redis.flushall());

  const CONFLICTS = ['custom_domain:blog.example.org', 'unrelated'];
  const IDENTICAL = 'custom_domain:docs.example.net';
  /**
   * The rest of blog.example.org's registration, which mallory's mapping takes: held back
   * with it, since its router and middlewares would otherwise serve alice's redirects and
   * certificates for mallory's site.
   */
  const held = () =>
    Object.keys(full).filter(
      (key) =>
        key.startsWith('traefik/http/routers/custom-blog-example-org/') ||
        key.startsWith('traefik/http/middlewares/redirects-blog-example-org-') ||
        key === 'redirects_meta:blog.example.org' ||
        (full[key].type === 'string' &&
          !key.startsWith('custom_domain:') &&
          Buffer.from(full[key].content, 'base64').toString() === 'blog.example.org'),
    );

  /** Two keys that hold other values and one that holds the same value as the backup. */
  async function seedConflicts(): Promise<void> {
    await redis.set('custom_domain:blog.example.org', 'mallory:blog');
    await redis.set('unrelated', 'changed since');
    await redis.set(IDENTICAL, 'bob:docs');
  }

  it('by default writes only absent keys, reports the ones that hold another value, leaves them alone and exits 2', async () => {
    await seedConflicts();

    const result = await runCli(['restore', file, ...flags]);

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: '' });
    // The store written to is named, not only the one the backup came from.
    expect(result.stdout.split('\n')[0]).toContain(` into redis://127.0.0.1:${server.port}/0: ${total} entries from `);
    for (const key of CONFLICTS)
      expect(result.stdout).toContain(`⚠️  ${key}: exists with another value; left alone (use --overwrite to replace it)`);
    expect(result.stdout).not.toContain(`⚠️  ${IDENTICAL}`);
    const heldKeys = held();
    expect(heldKeys.length).toBeGreaterThanOrEqual(5);
    for (const key of heldKeys) expect(result.stdout).toContain(`⚠️  ${key}: left alone with its registration`);
    expect(stat(result, 'Entries in backup')).toBe(total);
    expect(stat(result, 'Written')).toBe(total - 3 - heldKeys.length);
    expect(stat(result, 'Already identical')).toBe(1);
    expect(stat(result, 'Skipped, other value')).toBe(2);
    expect(stat(result, 'Skipped, registered again')).toBe(heldKeys.length);
    expect(result.stdout).toContain(`Wrote ${total - 3 - heldKeys.length} keys:`);
    const after = await fullDump(redis);
    expect(await redis.get('custom_domain:blog.example.org')).toBe('mallory:blog');
    expect(await redis.get('unrelated')).toBe('changed since');
    for (const key of heldKeys) expect(after[key]).toBeUndefined();
    expectSameState(withoutKeys(after, CONFLICTS), withoutKeys(full, [...CONFLICTS, ...heldKeys]));
  });

  it('--overwrite replaces them and exits 0; --json prints one document', async () => {
    await seedConflicts();

    const result = await runCli(['restore', file, ...flags, '--overwrite', '--json']);

    expectOk(result);
    const doc = jsonOf(result);
    expect(doc).toMatchObject({
      command: 'restore',
      file,
      entries: total,
      dryRun: false,
      exitCode: 0,
      header: { format: 'pages-reaper-backup', version: 1, reason: 'manual backup' },
      counts: { written: total - 3, replaced: 2, same: 1, exists: 0, expired: 0, unsupported: 0 },
      conflicts: [],
    });
    expect([...doc.written].sort()).toEqual(
      Object.keys(full)
        .filter((key) => key !== IDENTICAL)
        .sort(),
    );
    expectSameState(await fullDump(redis), full);
  });

  it('--json without --overwrite: the document lists the conflicts and carries exit code 2', async () => {
    await seedConflicts();
    const result = await runCli(['restore', file, ...flags, '--json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    const doc = jsonOf(result);
    expect(doc.exitCode).toBe(2);
    expect(doc.store).toBe(`redis://127.0.0.1:${server.port}/0`);
    expect([...doc.conflicts].sort()).toEqual(CONFLICTS);
    expect([...doc.taken].sort()).toEqual(held().sort());
    expect(doc.counts).toMatchObject({ written: total - 3 - held().length, same: 1, exists: 2, taken: held().length });
  });

  it('a key of any type that already holds the same content counts as "already identical" (restore twice: exit 0)', async () => {
    expectOk(await runCli(['restore', file, ...flags]));
    const again = await runCli(['restore', file, ...flags, '--json']);
    const doc = jsonOf(again);
    expect({ code: again.code, conflicts: doc.conflicts, same: doc.counts.same }).toEqual({ code: 0, conflicts: [], same: total });
    expectSameState(await fullDump(redis), full);
  });

  it('a --domain that names no mapping (another spelling, or not there) is said, and backup and restore exit 2', async () => {
    const wrong = ALICE.domain.toUpperCase();
    expectOk(await runCli(['restore', file, ...flags]));
    const out = path.join(freshDir(), 'wrong-case.jsonl');
    const backup = await runCli(['backup', ...flags, '--domain', wrong, '--domain', BOB.domain, '--output', out]);
    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 2, stderr: '' });
    expect(backup.stdout).toContain(`⚠️  ${wrong}: no forward mapping (custom_domain:${wrong}) in the store`);
    expect(backup.stdout).not.toContain(`⚠️  ${BOB.domain}`);

    const restore = await runCli(['restore', file, ...flags, '--domain', wrong, '--json']);
    expect(restore.code).toBe(2);
    const doc = jsonOf(restore);
    expect(doc).toMatchObject({ unmapped: [wrong], exitCode: 2 });
    expect(doc.counts.written).toBe(0);
  });

  it("--root-key other than the backup's is refused in one line, nothing written; the same one is fine", async () => {
    const refused = await runCli(['restore', file, ...flags, '--root-key', 'elsewhere']);
    expectFatal(
      refused,
      /^pages-reaper: --root-key elsewhere would be ignored: the backup's keys are named under its root key traefik; drop --root-key/,
    );
    expect(await redis.dbsize()).toBe(0);
    expectOk(await runCli(['restore', file, ...flags, '--root-key', 'traefik', '--dry-run']));
  });

  it("--domain restores only those domains' keys", async () => {
    const result = await runCli(['restore', file, ...flags, '--domain', ALICE.domain, '--domain', BOB.domain]);
    expectOk(result);
    const expected = [...Object.keys(siteEntries({ ...ALICE, branches: [] })), ...Object.keys(siteEntries(BOB))].sort();
    expect(stat(result, 'Written')).toBe(expected.length);
    expect(stat(result, 'Not selected \\(--domain\\)')).toBe(total - expected.length);
    const after = await fullDump(redis);
    expect(Object.keys(after).sort()).toEqual(expected);
    expectSameState(after, onlyKeys(full, expected));
  });

  it('skips entries whose expiry has passed; the others get their remaining TTL', async () => {
    await redis.rpush('tmp:list', 'a', 'b');
    const listDump = (await redis.dumpBuffer('tmp:list'))!.toString('base64');
    await redis.flushall();
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms).toISOString();
    const handWritten = path.join(freshDir(), 'expiring.jsonl');
    fs.writeFileSync(
      handWritten,
      backupText(HEADER, [
        { key: 'past:string', type: 'string', value: 'gone', expiresAt: at(-60_000) },
        { key: 'past:list', type: 'list', dump: listDump, expiresAt: at(-1) },
        { key: 'future:string', type: 'string', value: 'soon', expiresAt: at(600_000) },
        { key: 'future:list', type: 'list', dump: listDump, expiresAt: at(45_000) },
        { key: 'forever', type: 'string', base64: BINARY.toString('base64'), expiresAt: null },
      ]),
    );

    const result = await runCli(['restore', handWritten, ...flags]);

    expectOk(result);
    expect(stat(result, 'Skipped, expired')).toBe(2);
    expect(stat(result, 'Written')).toBe(3);
    const after = await fullDump(redis);
    expect(Object.keys(after).sort()).toEqual(['forever', 'future:list', 'future:string']);
    expect(Math.abs(after['future:string'].expiresAt! - (now + 600_000))).toBeLessThanOrEqual(1000);
    expect(Math.abs(after['future:list'].expiresAt! - (now + 45_000))).toBeLessThanOrEqual(1000);
    expect(after.forever.expiresAt).toBeNull();
    expect((await redis.getBuffer('forever'))!.equals(BINARY)).toBe(true);
    expect(await redis.lrange('future:list', 0, -1)).toEqual(['a', 'b']);
  });

  it('--dry-run lists what it would write, exits as the real run would, and writes nothing', async () => {
    await seedConflicts();
    const before = await fullDump(redis);

    const [dry, dryOverwrite] = await Promise.all([
      runCli(['restore', file, ...flags, '--dry-run']),
      runCli(['restore', file, ...flags, '--dry-run', '--overwrite']),
    ]);

    expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 2, stderr: '' });
    expect(dry.stdout).toContain('DRY RUN');
    const heldKeys = held();
    expect(dry.stdout).toContain(`Would write ${total - 3 - heldKeys.length} keys:`);
    const listed = dry.stdout
      .split('\n')
      .filter((line) => line.startsWith('   - '))
      .map((line) => line.slice(5))
      .sort();
    expect(listed).toEqual(
      Object.keys(full)
        .filter((key) => ![...CONFLICTS, IDENTICAL, ...heldKeys].includes(key))
        .sort(),
    );
    for (const key of CONFLICTS) expect(dry.stdout).toContain(`⚠️  ${key}: exists with another value`);
    for (const key of heldKeys) expect(dry.stdout).toContain(`⚠️  ${key}: left alone with its registration`);
    expect(stat(dry, 'Would write')).toBe(total - 3 - heldKeys.length);

    expectOk(dryOverwrite);
    expect(stat(dryOverwrite, 'Would replace')).toBe(2);
    expect(dryOverwrite.stdout).toContain(`Would write ${total - 1} keys:`);

    expectSameState(await fullDump(redis), before);
  });
});

// ---------------------------------------------------------------------------

describe('bad input: exit 1, one line on stderr, the store untouched', () => {
  let server: RedisServer;
  let redis: Redis;
  let flags: string[];
  let good: string;
  let goodGz: string;
  let dir: string;

  beforeAll(async () => {
    server = await startRedis();
    redis = await connect(server);
    flags = storeFlags(server);
    await seedRealistic(redis);
    dir = freshDir('bad');
    good = path.join(dir, 'good.jsonl');
    goodGz = path.join(dir, 'good.jsonl.gz');
    const results = await Promise.all([
      runCli(['backup', ...flags, '--all', '--output', good]),
      runCli(['backup', ...flags, '--all', '--output', goodGz]),
    ]);
    for (const result of results) expectOk(result);
    // A store a restore would change: some keys gone, one changed.
    await redis.del('unrelated', 'h:profile', 'custom_domain:blog.example.org');
    await redis.set('session:4711', 'user=bob');
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  function variant(name: string, content: string | Buffer): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  }

  it('restore refuses every damaged or foreign file before writing anything', async () => {
    const lines = fs.readFileSync(good, 'utf8').slice(0, -1).split('\n');
    const header = JSON.parse(lines[0]);
    const trailer = JSON.parse(lines[lines.length - 1]);
    const join = (ls: string[]) => ls.join('\n') + '\n';
    const withHeader = (changes: Record<string, unknown>) => join([JSON.stringify({ ...header, ...changes }), ...lines.slice(1)]);
    const withTrailer = (changes: Record<string, unknown>) => join([...lines.slice(0, -1), JSON.stringify({ ...trailer, ...changes })]);

    // One byte changed inside a value: still valid JSON, so only the checksum can tell.
    const target = lines.findIndex((line) => line.startsWith('{"key":"unrelated"'));
    expect(target).toBeGreaterThan(0);
    const at = Buffer.from(lines.slice(0, target).join('\n') + '\n').length + lines[target].indexOf('"value":"value"') + '"value":"'.length;
    const flipped = fs.readFileSync(good);
    flipped[at] ^= 0x01; // 'v' → 'w'
    const gz = fs.readFileSync(goodGz);
    const gzFlipped = Buffer.from(gz);
    gzFlipped[Math.floor(gz.length / 2)] ^= 0xff;
    const subdir = path.join(dir, 'a-directory');
    fs.mkdirSync(subdir);

    const cases: Array<[string, string, RegExp]> = [
      ['a missing file', path.join(dir, 'missing.jsonl'), /cannot read .*missing\.jsonl: ENOENT/],
      ['a directory', subdir, /a-directory is not a file/],
      ['an empty file', variant('empty.jsonl', ''), /empty\.jsonl is empty/],
      ['no header', variant('no-header.jsonl', 'hello\n'), /no-header\.jsonl does not start with a backup header/],
      ['the trailer dropped', variant('truncated.jsonl', join(lines.slice(0, -1))), /truncated\.jsonl is truncated: it has no trailer/],
      ['a .gz cut in half', variant('half.jsonl.gz', gz.subarray(0, Math.floor(gz.length / 2))), /half\.jsonl\.gz is damaged/],
      [
        'a flipped byte inside an entry line',
        variant('flipped.jsonl', flipped),
        /flipped\.jsonl is damaged: its checksum does not match the trailer/,
      ],
      ['a flipped byte inside a .gz', variant('flipped.jsonl.gz', gzFlipped), /damaged|not valid JSON|line \d+/],
      [
        'a wrong format name',
        variant('format.jsonl', withHeader({ format: 'redis-dump' })),
        /format\.jsonl is not a pages-reaper-backup file \(format 'redis-dump'\)/,
      ],
      [
        'an unknown version',
        variant('version.jsonl', withHeader({ version: 2 })),
        /version\.jsonl has format version 2; this pages-reaper reads version 1/,
      ],
      [
        'a trailer whose count disagrees',
        variant('count.jsonl', withTrailer({ count: trailer.count + 1 })),
        new RegExp(`count\\.jsonl is damaged: the trailer counts ${trailer.count + 1} entries, the file holds ${trailer.count}`),
      ],
      [
        'a trailer whose count is text',
        variant('count-text.jsonl', withTrailer({ count: String(trailer.count) })),
        /count-text\.jsonl is damaged: its trailer's count is not a number, or its checksum not text/,
      ],
      [
        'a trailer whose checksum disagrees',
        variant('sum.jsonl', withTrailer({ sha256: '0'.repeat(64) })),
        /sum\.jsonl is damaged: its checksum does not match the trailer/,
      ],
      ['data after the trailer', variant('after.jsonl', join([...lines, lines[1]])), /after\.jsonl has data after its trailer/],
    ];
    const before = await fullDump(redis);

    const results = await Promise.all(cases.map(([, file]) => runCli(['restore', file, ...flags])));

    const summary = (result: CliResult, mentions: RegExp) => ({
      code: result.code,
      stdout: result.stdout,
      lines: result.stderr.trimEnd().split('\n').length,
      prefixed: result.stderr.startsWith('pages-reaper: '),
      mentions: mentions.test(result.stderr),
      stderr: result.stderr,
    });
    expect(cases.map(([name, , mentions], i) => ({ name, ...summary(results[i], mentions) }))).toEqual(
      cases.map(([name], i) => ({ name, code: 1, stdout: '', lines: 1, prefixed: true, mentions: true, stderr: results[i].stderr })),
    );
    for (const result of results) expectFatal(result, /^pages-reaper: /);
    // Each says what to give instead.
    for (const result of results)
      expect(result.stderr).toMatch(
        /; (nothing was restored; give a whole backup file as pages-reaper backup or reap wrote it|this pages-reaper reads version|give the path of a backup file)/,
      );
    expectSameState(await fullDump(redis), before);
  });

  it('backup --output (or --backup-dir) below a regular file: exit 1, one line, no file created', async () => {
    const before = await fullDump(redis);
    const { parent, dir: blocked } = unwritableDir();

    const [byOutput, byDir, byOutputGz] = await Promise.all([
      runCli(['backup', ...flags, '--all', '--output', path.join(blocked, 'b.jsonl')]),
      runCli(['backup', ...flags, '--backup-dir', blocked]),
      runCli(['backup', ...flags, '--output', path.join(blocked, 'b.jsonl.gz')]),
    ]);

    for (const result of [byOutput, byDir, byOutputGz]) expectFatal(result, /^pages-reaper: .*file\.txt\/sub.*ENOTDIR/);
    expect(fs.readdirSync(parent)).toEqual(['file.txt']);
    expectSameState(await fullDump(redis), before);
  });

  it('--domain that no host name could be (empty, a URL, a key name, a port): exit 1, one line, no file, no write', async () => {
    const before = await fullDump(redis);
    const out = freshDir('bad-domain');
    const bad = ['', 'https://blog.example.org/', 'custom_domain:blog.example.org', 'blog.example.org:443', 'blog example.org'];
    const results = await Promise.all(
      bad.flatMap((domain, i) => [
        runCli(['backup', ...flags, '--domain', domain, '--output', path.join(out, `b${i}.jsonl`)]),
        runCli(['restore', good, ...flags, '--domain', 'blog.example.org', '--domain', domain]),
      ]),
    );
    results.forEach((result, i) =>
      expectFatal(
        result,
        new RegExp(`^pages-reaper: --domain: '${escapeRegExp(bad[Math.floor(i / 2)])}' is not a domain name; give the host name alone`),
      ),
    );
    expect(fs.readdirSync(out)).toEqual([]);
    expectSameState(await fullDump(redis), before);
  });
});

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('SIGTERM during backup and restore', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = await connect(server);
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });

  it('says what each leaves: no backup file and an unchanged store; the entries restored so far, and to run it again', async () => {
    const flags = storeFlags(server);
    const pairs: string[] = [];
    for (let i = 0; i < 150_000; i++) pairs.push(`k${i}`, `v${i}`);
    for (let i = 0; i < pairs.length; i += 20_000) await redis.mset(...pairs.slice(i, i + 20_000));
    const file = path.join(freshDir(), 'all.jsonl');
    expectOk(await runCli(['backup', ...flags, '--all', '--output', file]));

    const dir = freshDir();
    const partial = path.join(dir, 'interrupted.jsonl');
    const backup = cli.start(['backup', ...flags, '--all', '--output', partial]);
    // Signalled once its temporary file is being written.
    for (let waited = 0; fs.readdirSync(dir).length === 0 && waited < 20_000; waited += 5)
      await new Promise((resolve) => setTimeout(resolve, 5));
    backup.child.kill('SIGTERM');
    const backedUp = await backup.done;
    expect(backedUp.code).toBe(130);
    expect(backedUp.stderr).toContain(
      'Interrupted: no backup was written (the unfinished file is removed), and nothing in the store was changed; run it again.',
    );
    expect(fs.existsSync(partial)).toBe(false);

    await redis.flushall();
    const restore = cli.start(['restore', file, ...flags]);
    for (let waited = 0; (await redis.dbsize()) === 0 && waited < 20_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    restore.child.kill('SIGTERM');
    const restored = await restore.done;
    expect(restored.code).toBe(130);
    expect(restored.stderr).toContain(
      'Interrupted: the entries written so far are in the store, the others are not; run the same restore again to finish',
    );
    expect(restored.stderr).not.toContain('half-deleted');
    const written = await redis.dbsize();
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(150_000);
  }, 60_000);

  it('a signal once every entry is written, before the report: the report whole (--json: one document), then 130', async () => {
    const flags = storeFlags(server);
    await redis.flushall();
    await redis.mset(siteEntries({ owner: 'alice', repo: 'site', domain: 'www.alice.test' }));
    const file = path.join(freshDir(), 'site.jsonl');
    expectOk(await runCli(['backup', ...flags, '--output', file]));
    const total = await redis.dbsize();
    const serverPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    const watcher = await connect(server);
    // Under load the restore may say goodbye before the server is frozen: the window was
    // missed (it exits 0 with no signal sent), and the scenario is tried again.
    const signalledRestore = async () => {
      await redis.flushall();
      const restore = cli.start(['restore', file, ...flags, '--json']);
      try {
        // Back to back: the restore's goodbye follows its last write within a millisecond.
        const deadline = Date.now() + 20_000;
        while ((await watcher.dbsize()) < total && Date.now() < deadline);
        // Frozen, the server holds the restore's goodbye (QUIT) for up to a second: the signal comes then.
        process.kill(serverPid, 'SIGSTOP');
        await new Promise((resolve) => setTimeout(resolve, 150));
        const missed = restore.child.exitCode !== null;
        if (!missed) restore.child.kill('SIGTERM');
        return { missed, result: await restore.done };
      } finally {
        process.kill(serverPid, 'SIGCONT');
      }
    };
    try {
      let attempt = await signalledRestore();
      for (let tries = 1; attempt.missed && tries < 5; tries++) attempt = await signalledRestore();
      const { result } = attempt;
      expect(result.code).toBe(130);
      // As a rule the signal comes during the goodbye: the report, whole. On a loaded machine it
      // can come before the last write's answer is read: the interrupted document. Never nothing.
      const document = JSON.parse(result.stdout);
      if (document.error === undefined) {
        expect(document).toMatchObject({ command: 'restore', counts: { written: total }, exitCode: 0 });
        expect(result.stderr).toBe('\n⚠️  Interrupted once the run was done: its report above is complete.\n');
      } else expect(document).toMatchObject({ command: 'restore', error: { kind: 'interrupted', exitCode: 130 } });
    } finally {
      watcher.disconnect();
    }
  }, 120_000);
});
