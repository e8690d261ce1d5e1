/**
 * Daily use of the CLI as a process: the default report shows what changed and what went
 * wrong (live domains only with --verbose), honest dry-run wording and plurals,
 * `--log-format json` for single runs, the undo command as the user can run it, and the
 * oclif plugins (help, commands, autocomplete, "did you mean").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { cliRunner, expectFatal } from '../support/cli-process';
import type { Site } from '../support/harness';
import { pagesFile, routerEntries, siteEntries } from '../support/plugin-writer';
import {
  resetRedisAndStandin,
  startRedisAndStandin,
  stopRedisAndStandin,
  type RedisServer,
  type Standin,
} from '../support/redis-and-standin';

const cli = cliRunner('daily-use');
afterAll(() => cli.cleanup());

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'run.js');
const STALE: Site = { owner: 'gone', repo: 'site', domain: 'old.example.com' };
const LIVE: Site = { owner: 'alice', repo: 'blog', domain: 'blog.example.org' };
const LIVE2: Site = { owner: 'bob', repo: 'docs', domain: 'docs.example.net' };

/** The one JSON line a single run prints with --log-format json. */
function oneJsonLine(stdout: string): Record<string, any> {
  const lines = stdout.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]);
}

describe('reports and logs of single runs', () => {
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

  async function seedMixed(): Promise<void> {
    standin.deleteRepo(STALE.owner, STALE.repo);
    for (const site of [LIVE, LIVE2]) standin.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main'] });
    await redis.mset({ ...siteEntries(STALE), ...siteEntries(LIVE), ...siteEntries(LIVE2), ...routerEntries('ghost.example') });
  }

  it('the default report shows what changes, not every live domain; --verbose lists them all', async () => {
    await seedMixed();

    const dry = await cli.run(['reap', ...flags, '--dry-run']);
    const dryVerbose = await cli.run(['reap', ...flags, '--dry-run', '--verbose']);
    const verify = await cli.run(['verify', ...flags]);
    const verifyVerbose = await cli.run(['verify', ...flags, '--verbose']);

    for (const result of [dry, dryVerbose, verify, verifyVerbose]) expect(result.code).toBe(0);
    for (const result of [dry, verify]) {
      expect(result.stdout).toContain('📋 old.example.com -> gone/site');
      expect(result.stdout).toMatch(/^\s+❌ Stale: /m);
      expect(result.stdout).not.toContain('blog.example.org');
      expect(result.stdout).not.toContain('docs.example.net');
      expect(result.stdout).not.toContain('✓ Live');
      expect(result.stdout).toMatch(/2 live domains not listed.*--verbose/);
    }
    for (const result of [dryVerbose, verifyVerbose]) {
      expect(result.stdout).toContain('📋 blog.example.org -> alice/blog');
      expect(result.stdout).toContain('📋 docs.example.net -> bob/docs');
      expect(result.stdout).toMatch(/^\s+✓ Live: /m);
    }
    expect(dry.stdout).toContain('📋 old.example.com -> gone/site');
    expect(dry.stdout).toContain('🧹 Orphaned keys');
  });

  it('a dry run says "would be cleaned", a real run "cleaned", with singular and plural right', async () => {
    await seedMixed();

    const dry = await cli.run(['reap', ...flags, '--dry-run']);

    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('📊 REAPER SUMMARY');
    expect(dry.stdout).toMatch(/^Stale domains that would be cleaned:\s+1$/m);
    expect(dry.stdout).toMatch(/^Orphaned keys that would be cleaned:\s+1 group$/m);
    expect(dry.stdout).not.toMatch(/^Stale domains cleaned:/m);
    expect(dry.stdout).not.toMatch(/\b1 groups\b/);
    expect(dry.stdout).toMatch(/Would delete \d+ keys:/);

    const real = await cli.run(['reap', ...flags]);

    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^Total domains scanned:\s+3$/m);
    expect(real.stdout).toMatch(/^Stale domains cleaned:\s+1$/m);
    expect(real.stdout).toMatch(/^Orphaned keys cleaned:\s+1 group$/m);
    expect(real.stdout).toMatch(/^Errors encountered:\s+0$/m);
    expect(real.stdout).toMatch(/^Duration:\s+\d+\.\d+ seconds$/m);
    expect(real.stdout).not.toContain('would be cleaned');
  });

  it('--log-format json (or REAPER_LOG_FORMAT=json) makes a single run print one JSON summary line', async () => {
    await seedMixed();

    const dry = await cli.run(['reap', ...flags, '--dry-run', '--log-format', 'json']);
    const scan = await cli.run(['scan', '--redis-host', '127.0.0.1', '--redis-port', String(server.port)], { REAPER_LOG_FORMAT: 'json' });

    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe('');
    expect(oneJsonLine(dry.stdout)).toMatchObject({
      level: 'info',
      msg: 'run finished',
      command: 'reap',
      dryRun: true,
      result: 'success',
      exitCode: 0,
      domainsScanned: 3,
      live: 2,
      stale: 1,
      reaped: 1,
      orphansReaped: 1,
    });
    expect(oneJsonLine(dry.stdout).time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(scan.code).toBe(0);
    expect(oneJsonLine(scan.stdout)).toMatchObject({ level: 'info', msg: 'run finished', command: 'scan', domainsScanned: 3 });

    const real = await cli.run(['reap', ...flags], { REAPER_LOG_FORMAT: 'json', XDG_STATE_HOME: path.join(cli.home, 'state-json') });

    expect(real.code).toBe(0);
    const line = oneJsonLine(real.stdout);
    expect(line).toMatchObject({ level: 'info', command: 'reap', dryRun: false, reaped: 1, keysDeleted: expect.any(Number) });
    expect(fs.existsSync(line.backupPath)).toBe(true);
    expect(await redis.exists('custom_domain:old.example.com')).toBe(0);
  });

  it('--json wins over --log-format json: the full document, once', async () => {
    await seedMixed();

    const result = await cli.run(['verify', ...flags, '--json', '--log-format', 'json']);

    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.command).toBe('verify');
    expect(doc.domains).toHaveLength(3);
    expect(doc.summary).toMatchObject({ live: 2, stale: 1 });
  });

  it('partial and refused runs log at warn level with the reason', async () => {
    const broken: Site = { owner: 'broken', repo: 'site', domain: 'broken.example.com' };
    standin.setRepo(LIVE.owner, LIVE.repo, { pages: pagesFile(LIVE), branches: ['main'] });
    standin.addFailure({ match: '/repos/broken/site/', status: 500 });
    await redis.mset({ ...siteEntries(LIVE), ...siteEntries(broken) });

    const partial = await cli.run(['reap', ...flags, '--dry-run', '--log-format', 'json', '--retries', '0']);

    expect(partial.code).toBe(2);
    expect(oneJsonLine(partial.stdout)).toMatchObject({
      level: 'warn',
      result: 'partial',
      exitCode: 2,
      reason: expect.stringMatching(/1 unknown/),
    });

    await redis.flushall();
    const sites: Site[] = Array.from({ length: 10 }, (_, i) => ({ owner: 'team', repo: `site${i}`, domain: `s${i}.example.com` }));
    sites.forEach((site, i) =>
      i < 2 ? standin.setRepo(site.owner, site.repo, { pages: pagesFile(site) }) : standin.deleteRepo(site.owner, site.repo),
    );
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));

    const refused = await cli.run(['reap', ...flags, '--log-format', 'json']);

    expect(refused.code).toBe(3);
    expect(oneJsonLine(refused.stdout)).toMatchObject({
      level: 'warn',
      result: 'refused',
      exitCode: 3,
      keysDeleted: 0,
      reason: expect.stringMatching(/brake.*8 of 10/),
    });
    expect(await redis.exists('custom_domain:s5.example.com')).toBe(1);
  });

  it('prints the undo command as it can be run: the path of the binary that ran', async () => {
    await seedMixed();
    const state = path.join(cli.home, 'state-undo');

    const result = await cli.run(['reap', ...flags], { XDG_STATE_HOME: state });

    expect(result.code).toBe(0);
    const backup = /^💾 Backup of every deleted key: (\S+)$/m.exec(result.stdout)![1];
    // The tests run bin/run.js by its absolute path from another directory: that path, runnable as printed.
    expect(result.stdout).toContain(`Undo with: ${BIN} restore ${backup}`);
    expect(result.stdout).not.toContain('Undo with: pages-reaper');
  });
});

describe('help, commands, autocomplete and "did you mean"', () => {
  it("`help`, `-h` and `--help` show the commands and a command's flags", async () => {
    const [help, reapH, reapHelp, helpReap] = await Promise.all([
      cli.run(['help']),
      cli.run(['reap', '-h']),
      cli.run(['reap', '--help']),
      cli.run(['help', 'reap']),
    ]);
    expect(help.code).toBe(0);
    for (const command of ['scan', 'verify', 'reap', 'backup', 'restore']) expect(help.stdout).toContain(command);
    for (const result of [reapH, reapHelp, helpReap]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('--dry-run');
      expect(result.stdout).toContain('--verbose');
      expect(result.stdout).toContain('--log-format');
    }
  });

  it('`commands` lists every command; `autocomplete` explains the setup', async () => {
    const [commands, commandsJson, autocomplete] = await Promise.all([
      cli.run(['commands']),
      cli.run(['commands', '--json']),
      cli.run(['autocomplete', 'bash']),
    ]);
    expect(commands.code).toBe(0);
    for (const command of ['scan', 'verify', 'reap', 'backup', 'restore']) expect(commands.stdout).toContain(command);
    expect(commandsJson.code).toBe(0);
    expect(JSON.parse(commandsJson.stdout).map((c: { id: string }) => c.id)).toEqual(
      expect.arrayContaining(['scan', 'verify', 'reap', 'backup', 'restore', 'help']),
    );
    expect(autocomplete.code).toBe(0);
    expect(autocomplete.stdout).toMatch(/bashrc/);
  });

  it('a mistyped command suggests the right one in one line, exit 1', async () => {
    const result = await cli.run(['scna']);
    expectFatal(result, /scna.*Did you mean scan\?/);
    expect(result.stderr).toContain('help');
  });
});
