/**
 * The CLI as a process against settings and stores that misbehave (DESIGN §4.10, §6):
 * a database the server refuses, stores that stop answering, signals at any point, an
 * unwritable backup directory, a Forgejo that cannot be used at all, malformed
 * settings. Each ends in one line and a known exit code, and changes nothing.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { cliRunner, expectFatal, type CliResult } from '../support/cli-process';
import { startBlackHole, startCuttableRelay, startRedisThatHangs, type HungServer } from '../support/hung-store';
import { startForgejoStandin } from '../support/forgejo-standin';
import { etcdBackend, redisBackend } from '../support/store-backend';
import { freePort, startSentinel } from '../support/servers';
import type { Site } from '../support/harness';
import { siteEntries } from '../support/plugin-writer';
import {
  connectionFlags,
  resetRedisAndStandin,
  startRedisAndStandin,
  stopRedisAndStandin,
  type RedisServer,
  type Standin,
} from '../support/redis-and-standin';

const cli = cliRunner('hardening');
const HOME = cli.home;
afterAll(() => cli.cleanup());

const STALE: Site = { owner: 'gone', repo: 'site', domain: 'old.example.com', redirects: 1 };

/** Every key of database 0 with its value. */
async function dump(redis: Redis): Promise<Record<string, string | null>> {
  const keys = (await redis.keys('*')).sort();
  const out: Record<string, string | null> = {};
  for (const key of keys) out[key] = await redis.get(key);
  return out;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts the CLI, waits until `ready()`, sends `signal`, and returns the result and how long the exit took. */
async function signalWhen(args: string[], ready: () => boolean, signal: NodeJS.Signals, env: Record<string, string> = {}) {
  const { child, done } = cli.start(args, env);
  let exited: CliResult | undefined;
  void done.then((result) => (exited = result));
  await waitFor(() => exited !== undefined || ready(), 15_000, `the run never reached the point to signal (${args.join(' ')})`);
  if (exited) throw new Error(`the run ended before it was signalled: exit ${exited.code}\n${exited.stdout}\n${exited.stderr}`);
  const signalledAt = Date.now();
  child.kill(signal);
  const result = await done;
  return { result, took: Date.now() - signalledAt };
}

describe('a setting the store refuses is fatal, never a fallback (--redis-db)', () => {
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;
  let sentinel: Awaited<ReturnType<typeof startSentinel>>;

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
    sentinel = await startSentinel(server.port);
  });

  afterAll(async () => {
    await sentinel?.stop();
    await stopRedisAndStandin({ server, standin, redis });
  });

  beforeEach(() => resetRedisAndStandin({ standin, redis }));

  it('a database the server does not have (flag, REDIS_DB, the URL path, through Sentinel): exit 1, one line, nothing read or changed', async () => {
    standin.deleteRepo(STALE.owner, STALE.repo);
    await redis.mset(siteEntries(STALE));
    const before = await dump(redis);
    const host = ['--redis-host', '127.0.0.1', '--redis-port', String(server.port)];

    const [scanFlag, reapFlag, scanEnv, scanUrl, scanSentinel] = await Promise.all([
      cli.run(['scan', ...host, '--redis-db', '99']),
      cli.run(['reap', ...host, '--redis-db', '99', '--forgejo-host', standin.url]),
      cli.run(['scan', ...host], { REDIS_DB: '99' }),
      cli.run(['scan', '--redis-url', `redis://127.0.0.1:${server.port}/99`]),
      cli.run(['scan', '--redis-sentinels', sentinel.sentinels, '--redis-db', '99']),
    ]);

    for (const result of [scanFlag, reapFlag, scanEnv, scanSentinel]) expectFatal(result, /database 99.*--redis-db/);
    expectFatal(scanUrl, /database 99.*--redis-url/);
    expect(standin.stats().requests).toBe(0);
    expect(await dump(redis)).toEqual(before);
  });

  it('a database the server has is the one scanned (the labels and the keys agree)', async () => {
    await redis.mset(siteEntries(STALE));
    const inDb3 = await cli.run(['scan', '--redis-host', '127.0.0.1', '--redis-port', String(server.port), '--redis-db', '3', '--json']);

    expect(inDb3.code).toBe(0);
    const doc = JSON.parse(inDb3.stdout);
    expect(doc.store).toBe(`redis://127.0.0.1:${server.port}/3`);
    expect(doc.counts.keysScanned).toBe(0);
  });

  it('--redis-db with --redis-cluster: a cluster has database 0 only, so it is refused in one line', async () => {
    const result = await cli.run(['scan', '--redis-cluster', `127.0.0.1:${server.port}`, '--redis-db', '2']);

    expectFatal(result, /--redis-db.*--redis-cluster.*database 0/);
  });
});

describe('every store call is bounded (--store-timeout) and a signal ends any run with 130', () => {
  let blackHole: HungServer;
  let hanging: HungServer;
  /** No Forgejo is ever reached in these runs: the store hangs first. */
  const FORGEJO = ['--forgejo-host', 'http://127.0.0.1:9'];

  beforeAll(async () => {
    [blackHole, hanging] = await Promise.all([startBlackHole(), startRedisThatHangs()]);
  });

  afterAll(async () => {
    await Promise.all([blackHole?.close(), hanging?.close()]);
  });

  it('a store that accepts and never answers, at connect or mid-scan: exit 1 after --store-timeout, one line naming the store and the flag', async () => {
    const [connecting, connectingByEnv, connectingEtcd, scanning, backingUp] = await Promise.all([
      cli.run(['scan', '--redis-host', '127.0.0.1', '--redis-port', String(blackHole.port), '--store-timeout', '1']),
      cli.run(['verify', '--redis-host', '127.0.0.1', '--redis-port', String(blackHole.port), ...FORGEJO], { REAPER_STORE_TIMEOUT: '1' }),
      cli.run(['scan', '--store', 'etcd', '--etcd-endpoints', `http://127.0.0.1:${blackHole.port}`, '--store-timeout', '1']),
      cli.run(['scan', '--redis-host', '127.0.0.1', '--redis-port', String(hanging.port), '--store-timeout', '1']),
      cli.run([
        'backup',
        '--redis-host',
        '127.0.0.1',
        '--redis-port',
        String(hanging.port),
        '--store-timeout',
        '1',
        '--output',
        path.join(HOME, 'hung.jsonl'),
      ]),
    ]);

    // Each line says the 1 s bound was what ended the run (no time is measured: the machine may be loaded).
    for (const result of [connecting, connectingByEnv, connectingEtcd])
      expectFatal(result, new RegExp(`127\\.0\\.0\\.1:${blackHole.port}.*within 1 s.*--store-timeout`));
    for (const result of [scanning, backingUp])
      expectFatal(result, new RegExp(`127\\.0\\.0\\.1:${hanging.port}.*within 1 s.*--store-timeout`));
    expect(hanging.commands).toContain('SCAN');
    expect(fs.existsSync(path.join(HOME, 'hung.jsonl'))).toBe(false);
  });

  it('SIGTERM while connecting to a store that never answers: exit 130 within seconds', async () => {
    const seen = blackHole.connections();
    const { result, took } = await signalWhen(
      ['scan', '--redis-host', '127.0.0.1', '--redis-port', String(blackHole.port)],
      () => blackHole.connections() > seen,
      'SIGTERM',
    );

    expect({ code: result.code, signal: result.signal }).toEqual({ code: 130, signal: null });
    expect(took).toBeLessThan(5000);
    expect(result.stderr).toMatch(/interrupted/i);
  });

  it('SIGTERM or SIGINT while a store call hangs (verify mid-scan, backup mid-scan): exit 130 within seconds', async () => {
    const scans = () => hanging.commands.filter((command) => command === 'SCAN').length;
    const store = ['--redis-host', '127.0.0.1', '--redis-port', String(hanging.port)];
    const output = path.join(HOME, 'interrupted.jsonl');

    let seen = scans();
    const verify = await signalWhen(['verify', ...store, ...FORGEJO], () => scans() > seen, 'SIGTERM');
    seen = scans();
    const backup = await signalWhen(['backup', ...store, '--output', output], () => scans() > seen, 'SIGINT');

    for (const { result, took } of [verify, backup]) {
      expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({
        code: 130,
        signal: null,
        stderr: expect.stringMatching(/interrupted/i),
      });
      expect(took).toBeLessThan(5000);
    }
    // An interrupted backup leaves no file, and no temporary file beside it.
    expect(fs.readdirSync(HOME).filter((name) => name.includes('interrupted'))).toEqual([]);
  });

  it('with --json, an interrupted run prints the document a failed one does: kind interrupted, exit code 130', async () => {
    const scans = () => hanging.commands.filter((command) => command === 'SCAN').length;
    const store = ['--redis-host', '127.0.0.1', '--redis-port', String(hanging.port)];
    let seen = scans();
    const scan = await signalWhen(['scan', '--json', ...store], () => scans() > seen, 'SIGTERM');
    seen = scans();
    // The backup is on stdout: the document goes to stderr.
    const backup = await signalWhen(['backup', '--json', ...store, '--output', '-'], () => scans() > seen, 'SIGINT');

    const expected = (command: string) => ({
      command,
      error: {
        kind: 'interrupted',
        message: 'interrupted by SIGINT/SIGTERM: nothing is left half-deleted; run again to finish',
        hint: 'run again to finish',
        exitCode: 130,
      },
    });
    expect(scan.result.code).toBe(130);
    expect(JSON.parse(scan.result.stdout)).toEqual(expected('scan'));
    expect(backup.result.code).toBe(130);
    // Stdout holds what the backup had written (its header, no trailer: restore refuses it), nothing else.
    expect(backup.result.stdout).not.toContain('interrupted');
    const onStderr = backup.result.stderr;
    expect(JSON.parse(onStderr.slice(onStderr.indexOf('{'), onStderr.lastIndexOf('}') + 1))).toEqual(expected('backup'));
  });

  it('with --log-format json, an interrupted run still prints its one log line: run interrupted, exit code 130', async () => {
    const scans = () => hanging.commands.filter((command) => command === 'SCAN').length;
    const store = ['--redis-host', '127.0.0.1', '--redis-port', String(hanging.port)];
    const seen = scans();
    const scan = await signalWhen(['scan', '--log-format', 'json', ...store], () => scans() > seen, 'SIGTERM');

    expect(scan.result.code).toBe(130);
    const lines = scan.result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'warn',
      msg: 'run interrupted',
      command: 'scan',
      dryRun: false,
      result: 'interrupted',
      exitCode: 130,
      error: 'interrupted by SIGINT/SIGTERM: nothing is left half-deleted',
    });
  });

  it('with --log-format json, a run that cannot reach its store prints its one log line too: run failed, exit code 1', async () => {
    const port = await freePort();
    const result = await cli.run(['scan', '--log-format', 'json', '--redis-host', '127.0.0.1', '--redis-port', String(port)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^pages-reaper: cannot reach Redis at /);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'error',
      msg: 'run failed',
      command: 'scan',
      result: 'failed',
      exitCode: 1,
      completed: false,
      error: expect.stringMatching(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0: connect ECONNREFUSED/),
    });
  });
});

describe('an unwritable --backup-dir', () => {
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  beforeEach(() => resetRedisAndStandin({ standin, redis }));

  it('/proc/nope and a directory under a regular file: reap and backup exit 1 at once with one line; nothing deleted', async () => {
    standin.deleteRepo(STALE.owner, STALE.repo);
    await redis.mset(siteEntries(STALE));
    const before = await dump(redis);
    const file = path.join(HOME, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const flags = ['--redis-host', '127.0.0.1', '--redis-port', String(server.port), '--forgejo-host', standin.url];

    const results = await Promise.all([
      cli.run(['reap', ...flags, '--backup-dir', '/proc/nope']),
      cli.run(['reap', ...flags], { REAPER_BACKUP_DIR: path.join(file, 'backups') }),
      cli.run(['backup', '--redis-host', '127.0.0.1', '--redis-port', String(server.port), '--backup-dir', '/proc/nope/deeper']),
    ]);

    for (const result of results) expectFatal(result, /backup.*(\/proc\/nope|a-file).*--backup-dir/);
    expect(results[0].stderr).toMatch(/nothing was deleted/);
    expect(await dump(redis)).toEqual(before);
  });
});

describe('a Forgejo that cannot be used at all, or a malformed --forgejo-host', () => {
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;
  let flags: string[];

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
    flags = ['--redis-host', '127.0.0.1', '--redis-port', String(server.port)];
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  beforeEach(() => resetRedisAndStandin({ standin, redis }));

  it('a closed port as --forgejo-host: exit 1, one stderr line with the cause and the fix, no per-domain lines; --json names the stop too', async () => {
    const sites: Site[] = Array.from({ length: 12 }, (_, i) => ({ owner: `org${i}`, repo: 'www', domain: `site${i}.example.com` }));
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    const before = await dump(redis);
    const closed = `http://127.0.0.1:${await freePort()}`;

    const [human, json, reap] = await Promise.all([
      cli.run(['verify', ...flags, '--forgejo-host', closed, '--retries', '0']),
      cli.run(['verify', ...flags, '--forgejo-host', closed, '--retries', '0', '--json']),
      cli.run(['reap', ...flags, '--forgejo-host', closed, '--retries', '0', '--force']),
    ]);

    for (const result of [human, json, reap]) {
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 1,
        stderr: expect.stringMatching(/^pages-reaper: .*stopped early.*(ECONNREFUSED|refused).*--forgejo-host[^\n]*\n$/),
      });
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    for (const result of [human, reap]) {
      expect(result.stdout).not.toMatch(/Error checking|📋/);
      expect(result.stdout).toMatch(/Stopped early/);
      expect(result.stdout).toContain('📊 REAPER SUMMARY');
    }
    const doc = JSON.parse(json.stdout);
    expect(doc.stoppedEarly).toMatch(/stopped early/i);
    expect(doc.summary.exitCode).toBe(1);
    expect(await dump(redis)).toEqual(before);
  });

  it('a Forgejo that goes away mid-run: stopped after 100 identical failures in a row, exit 1, nothing deleted', async () => {
    // 400 sites, a tenth of them stale; Forgejo answers 30 checks, then only 503s.
    const sites: Site[] = Array.from({ length: 400 }, (_, i) => ({ owner: `org${i}`, repo: 'www', domain: `site${i}.example.com` }));
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    sites.forEach((site, i) => {
      if (i % 10 !== 0) standin.setRepo(site.owner, site.repo, { pages: `custom_domain: ${site.domain}\n` });
    });
    let answered = 0;
    standin.addFailure({ status: 503, match: () => ++answered > 30 });
    const before = await dump(redis);

    const result = await cli.run(['reap', ...flags, '--forgejo-host', standin.url, '--retries', '0', '--force']);

    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: expect.stringMatching(
        /^pages-reaper: stopped: the last 100 Forgejo checks all failed the same way \(.*503.*\) after earlier ones succeeded; nothing was deleted[^\n]*\n$/,
      ),
    });
    expect(standin.stats().requests).toBeLessThan(400);
    expect(await dump(redis)).toEqual(before);
  });

  it('an invalid --forgejo-host (bad scheme, spaces, no host, the API path) is refused in one line before anything is read', async () => {
    await redis.mset(siteEntries(STALE));
    const before = await dump(redis);

    const results = await Promise.all(
      ['ht!tp://x y', 'ht!tp://x', 'http://', 'https://git.exa mple.com', 'https://bad_host!'].map((host) =>
        cli.run(['verify', ...flags, '--forgejo-host', host]),
      ),
    );
    // Given with its API path, every request would ask /api/v1/api/v1/… and every site look gone.
    const withApiPath = await cli.run(['reap', ...flags, '--forgejo-host', `${standin.url}/git/api/v1/`]);

    for (const result of results) expectFatal(result, /invalid --forgejo-host/);
    expectFatal(withApiPath, /without \/api\/v1 .*--forgejo-host http:\/\/127\.0\.0\.1:\d+\/git$/m);
    expect(standin.stats().requests).toBe(0);
    expect(await dump(redis)).toEqual(before);
  });

  it('a --forgejo-host holding credentials or a query is refused without echoing them: they would never be sent, and a private site would look gone', async () => {
    await redis.mset(siteEntries(STALE));
    const before = await dump(redis);
    const origin = new URL(standin.url);
    const hosts = [
      `http://reaper:hunter2secret@${origin.host}`,
      `hunter2secret@${origin.host}`,
      `${standin.url}/?token=hunter2secret`,
      `${standin.url}/#hunter2secret`,
    ];
    const results = await Promise.all(hosts.map((host) => cli.run(['reap', ...flags, '--forgejo-host', host, '--force'])));

    for (const result of results) {
      expectFatal(result, /invalid --forgejo-host.*would never be sent; give the token with --forgejo-token/);
      expect(result.stdout + result.stderr).not.toContain('hunter2secret');
    }
    expect(standin.stats().requests).toBe(0);
    expect(await dump(redis)).toEqual(before);
  });
});

describe.each([redisBackend, etcdBackend])('a store that goes away mid-run, on $name', ({ create }) => {
  const store = create();
  let standin: Standin;
  beforeAll(async () => {
    await store.start();
    standin = await startForgejoStandin();
  });
  afterAll(async () => {
    await standin?.close();
    await store.stop();
  });

  /** The store's flags, its port replaced by the relay's. */
  function flagsThrough(relayPort: number): string[] {
    if (store.settings().etcdEndpoints !== undefined) return ['--store', 'etcd', '--etcd-endpoints', `http://127.0.0.1:${relayPort}`];
    return ['--redis-host', '127.0.0.1', '--redis-port', String(relayPort)];
  }

  function storePort(): number {
    const settings = store.settings();
    if (settings.etcdEndpoints === undefined) return Number(settings.redisPort);
    return Number(new URL(String(settings.etcdEndpoints).split(',')[0]).port);
  }

  it("exit 1 with one line naming the store, what the run was doing and the fix, not the client's words; nothing deleted; --json says the same", async () => {
    // 12 sites, 3 of them stale; once the last repository is asked about, the store goes away.
    const sites: Site[] = Array.from({ length: 12 }, (_, i) => ({ owner: `org${i}`, repo: 'www', domain: `site${i}.example.com` }));
    await store.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    sites.forEach((site, i) => {
      if (i % 4 !== 0) standin.setRepo(site.owner, site.repo, { pages: `custom_domain: ${site.domain}\n` });
    });
    const before = await store.dump();

    for (const json of [false, true]) {
      const relay = await startCuttableRelay(storePort());
      let asked = 0;
      standin.clearFailures();
      standin.addFailure({ before: async () => void (++asked === sites.length && (await relay.cut())) });
      const result = await cli.run([
        'reap',
        ...flagsThrough(relay.port),
        '--forgejo-host',
        standin.url,
        '--force',
        '--backup-dir',
        path.join(HOME, 'lost-store-backups'),
        ...(json ? ['--json'] : []),
      ]);
      await relay.cut();

      const scheme = store.settings().etcdEndpoints === undefined ? 'redis' : 'etcd';
      const named = `${scheme}://127\\.0\\.0\\.1:${relay.port}\\S*`;
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 1,
        stderr: expect.stringMatching(
          new RegExp(
            `^pages-reaper: no backup, no reap: lost the store ${named} while reading \\([^)]+\\); nothing was deleted; check that it is up and reachable, then run again\\n$`,
          ),
        ),
      });
      if (json) {
        expect(JSON.parse(result.stdout).error).toMatchObject({
          kind: 'fatal',
          exitCode: 1,
          message: result.stderr.replace(/^pages-reaper: /, '').trimEnd(),
          hint: 'check that it is up and reachable, then run again',
        });
      }
    }
    expect(await store.dump()).toEqual(before);
  }, 60_000);
});

describe('Kubernetes service links', () => {
  it('REDIS_PORT=tcp://10.96.0.12:6379 (a Service named redis) is named as such: exit 1, one line with the fix', async () => {
    const result = await cli.run(['scan'], { REDIS_PORT: 'tcp://10.96.0.12:6379' });

    expectFatal(result, /REDIS_PORT.*Kubernetes service link.*enableServiceLinks: false.*REDIS_PORT to a port number/);
    // oclif's frame around a flag's parse error becomes the flag's name, once.
    expect(result.stderr).toMatch(/^pages-reaper: --redis-port: REDIS_PORT/);
    expect(result.stderr).not.toMatch(/Parsing|See more help/);
  });
});

describe('signals at the edges of a run: Ctrl-C on a terminal, SIGTERM while the report goes out', () => {
  const PTY_RUN = path.resolve(__dirname, '..', 'support', 'pty-run.py');
  const BIN = path.resolve(__dirname, '..', '..', 'bin', 'run.js');
  let server: RedisServer;
  let standin: Standin;
  let redis: Redis;

  beforeAll(async () => {
    ({ server, standin, redis } = await startRedisAndStandin());
  });

  afterAll(() => stopRedisAndStandin({ server, standin, redis }));

  it('SIGINT during a rate-limited verify under a real pseudo-terminal: exit 130 within seconds, and no second progress bar', async () => {
    const mappings: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) mappings[`custom_domain:site${i}.example.com`] = `org${i}:www`;
    await redis.mset(mappings);
    const args = ['verify', ...connectionFlags(server, standin), '--rate-limit', '300'];
    const child = spawn('python3', [PTY_RUN, process.execPath, BIN, ...args], {
      cwd: HOME,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME, TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let pid: number | undefined;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (pid ??= Number(/^pid (\d+)/.exec(chunk)?.[1]) || undefined));
    let code: number | null | undefined;
    const exited = new Promise<void>((resolve) => child.once('close', (c) => resolve(void (code = c))));
    try {
      await waitFor(
        () => code !== undefined || (pid !== undefined && standin.stats().requests >= 100 && output.includes('mappings verified')),
        20_000,
        'verification under way on the terminal',
      );
      if (code !== undefined) throw new Error(`the run ended before it was interrupted: exit ${code}\n${output}`);
      const signalledAt = Date.now();
      process.kill(pid!, 'SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      const took = Date.now() - signalledAt;

      expect({ code, took: took < 5000 }).toEqual({ code: 130, took: true });
      const afterInterrupt = output.slice(output.indexOf('Interrupted'));
      expect(afterInterrupt).toMatch(/^Interrupted: nothing is left half-deleted/);
      expect(afterInterrupt).not.toContain('mappings verified');
      // Far from all 3,000 were asked: the queued ones were dropped.
      expect(standin.stats().requests).toBeLessThan(3000);
    } finally {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('SIGTERM while a delete call hangs on a frozen store: exit 130 within seconds, saying how far the deletes got and where the backup is; the metrics count them', async () => {
    await resetRedisAndStandin({ standin, redis });
    const sites = Array.from({ length: 3000 }, (_, i): Site => ({ owner: 'gone', repo: `f${i}`, domain: `frozen${i}.example.com` }));
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    const keysPerSite = Object.keys(siteEntries(sites[0])).length;
    const before = await redis.dbsize();
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    const metricsFile = path.join(HOME, 'frozen.prom');
    const backupDir = path.join(HOME, 'frozen-backups');
    const { child, done } = cli.start([
      'reap',
      ...connectionFlags(server, standin),
      '--force',
      '--backup-dir',
      backupDir,
      '--metrics-file',
      metricsFile,
    ]);
    let frozen = false;
    try {
      // The server is frozen (SIGSTOP) once the deletes have begun: the call in flight hangs.
      // Calls go one at a time, so a second call's deletions prove the first one's answer was
      // counted; after the first alone, the signal could be handled before its answer is read.
      const deadline = Date.now() + 20_000;
      let seen = before;
      for (let changes = 0; changes < 2 && child.exitCode === null && Date.now() < deadline;) {
        const size = await redis.dbsize();
        if (size !== seen) {
          seen = size;
          changes++;
        }
      }
      process.kill(pid, 'SIGSTOP');
      frozen = true;
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const result = await done;
      const took = Date.now() - signalledAt;
      process.kill(pid, 'SIGCONT');
      frozen = false;

      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 130, stdout: '' });
      expect(took).toBeLessThan(5000);
      // Said before the watchdog's exit: how far the deletes got, the backup and its undo.
      const deleted = Number(/Interrupted after (\d+) of 3000 planned groups were deleted/.exec(result.stderr)?.[1]);
      expect(deleted).toBeGreaterThan(0);
      expect(result.stderr).toMatch(
        new RegExp(`Backup of every planned key: ${backupDir}/reap-[^\\n]+\\.jsonl\\n\\s+Undo with: .* restore `),
      );
      const metrics = fs.readFileSync(metricsFile, 'utf8');
      expect(metrics).toMatch(/^pages_reaper_runs_total\{result="interrupted"\} 1$/m);
      expect(metrics).toContain(`\npages_reaper_domains_reaped_total ${deleted}\n`);
      expect(metrics).toContain(`\npages_reaper_keys_deleted_total ${deleted * keysPerSite}\n`);
      // The call that hung may have gone through as well; nothing else was deleted.
      expect(before - (await redis.dbsize())).toBeGreaterThanOrEqual(deleted * keysPerSite);
    } finally {
      if (frozen) process.kill(pid, 'SIGCONT');
      child.kill('SIGKILL');
    }
  }, 60_000);

  /**
   * A reap of 1,500 stale sites whose report goes into a named pipe nobody reads yet (its
   * writer waits once the pipe is full); SIGTERM half a second after the last delete, then
   * the report is read to its end.
   */
  async function reapWithHeldReport(attempt: number) {
    await resetRedisAndStandin({ standin, redis });
    // 1,500 stale sites: a verbose report of about 1 MB, far past the 64 KiB a pipe holds.
    const sites = Array.from({ length: 1_500 }, (_, i): Site => ({ owner: 'gone', repo: `r${i}`, domain: `old${i}.example.com` }));
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    const forwardKeys = sites.map((site) => `custom_domain:${site.domain}`);
    const fifo = path.join(HOME, `report-${attempt}.fifo`);
    execFileSync('mkfifo', [fifo]);
    const fd = fs.openSync(fifo, 'r+');
    const child = spawn(
      process.execPath,
      [BIN, 'reap', ...connectionFlags(server, standin), '--force', '--verbose', '--backup-dir', path.join(HOME, 'signal-backups')],
      { cwd: HOME, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME }, stdio: ['ignore', fd, 'pipe'] },
    );
    fs.closeSync(fd);
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('close', (code, signal) => resolve([code, signal])),
    );
    const deadline = Date.now() + 20_000;
    while ((await redis.exists(...forwardKeys)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await redis.exists(...forwardKeys)).toBe(0);
    // The run is over and its report waits on the full pipe.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const exitedBeforeSignal = child.exitCode !== null;
    const signalSent = child.kill('SIGTERM');
    // Now the report is read, to its end (the pipe ends when the reaper exits).
    let stdout = '';
    for await (const chunk of fs.createReadStream(fifo, { encoding: 'utf8' })) stdout += chunk;
    const [code, signal] = await closed;
    clearTimeout(killer);
    return { code, signal, stdout, stderr, exitedBeforeSignal, signalSent };
  }

  /**
   * The reaper with its stdout in a named pipe held open and never read: its report fills
   * the pipe and waits. `end` kills what is left and lets the pipe go.
   */
  function runIntoStalledPipe(fifoName: string, args: string[]) {
    const fifo = path.join(HOME, fifoName);
    execFileSync('mkfifo', [fifo]);
    const fd = fs.openSync(fifo, 'r+');
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: HOME,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME },
      stdio: ['ignore', fd, 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const run = {
      child,
      stderr: '',
      closed: new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code))),
      end() {
        clearTimeout(killer);
        child.kill('SIGKILL');
        fs.closeSync(fd);
      },
    };
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
    return run;
  }

  it('SIGTERM after the deletes, while a reader that stopped reading holds the report: exit 130 saying what the done run deleted, and its backup', async () => {
    await resetRedisAndStandin({ standin, redis });
    const sites = Array.from({ length: 1_500 }, (_, i): Site => ({ owner: 'gone', repo: `s${i}`, domain: `stuck${i}.example.com` }));
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    const keys = await redis.dbsize();
    const forwardKeys = sites.map((site) => `custom_domain:${site.domain}`);
    const run = runIntoStalledPipe('stuck-report.fifo', [
      'reap',
      ...connectionFlags(server, standin),
      '--force',
      '--verbose',
      '--backup-dir',
      path.join(HOME, 'stuck-backups'),
    ]);
    try {
      const deadline = Date.now() + 20_000;
      while ((await redis.exists(...forwardKeys)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 500));
      run.child.kill('SIGTERM');
      expect(await run.closed).toBe(130);
      const { stderr } = run;
      expect(keys - (await redis.dbsize())).toBe(sites.length * Object.keys(siteEntries(sites[0])).length);
      expect(stderr).toContain(
        `Interrupted while its report was written (the reader did not take it): the run itself was done, its result exit 0; it deleted ${keys} keys (1500 stale domains, 0 orphan groups).`,
      );
      expect(stderr).toMatch(/Backup of every deleted key: .*stuck-backups\/reap-[^\n]+\.jsonl\n\s+Undo with: .* restore /);
      expect(stderr).not.toContain('run again to finish');
    } finally {
      run.end();
    }
  }, 60_000);

  it('SIGTERM after a scan, while a reader that stopped reading holds its report: exit 130 saying a scan deleted nothing', async () => {
    await resetRedisAndStandin({ standin, redis });
    // 3,000 live mappings: a --verbose report of about 300 KB, past what a pipe holds.
    const sites = Array.from({ length: 3_000 }, (_, i): Site => ({ owner: 'kept', repo: `k${i}`, domain: `kept${i}.example.com` }));
    await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
    const keys = await redis.dbsize();
    const run = runIntoStalledPipe('stuck-scan-report.fifo', [
      'scan',
      '--redis-host',
      server.host,
      '--redis-port',
      String(server.port),
      '--verbose',
    ]);
    try {
      // The report has filled the pipe once nothing more goes into it for a while.
      let size = -1;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const now = Number(/^wchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${run.child.pid}/io`, 'utf8'))?.[1] ?? -1);
        if (now === size && now > 65_536) break;
        size = now;
      }
      run.child.kill('SIGTERM');
      expect(await run.closed).toBe(130);
      expect(await redis.dbsize()).toBe(keys);
      expect(run.stderr).toContain(
        'Interrupted while its report was written (the reader did not take it): the run itself was done, its result exit 0; a scan, it deleted nothing.',
      );
      expect(run.stderr).not.toContain('run again to finish');
    } finally {
      run.end();
    }
  }, 60_000);

  it('SIGTERM after the deletes, while a slow reader holds the report back: the whole report, then exit 130', async () => {
    let run = await reapWithHeldReport(1);
    if (run.exitedBeforeSignal) {
      // Nothing was held: the run had ended before the signal, so it says nothing about
      // signals. Said, and tried once more; a run that was still there must have trapped it.
      process.stderr.write(`hardening: the run ended before the signal (exit ${run.code}, ${run.stdout.length} bytes): ${run.stderr}\n`);
      run = await reapWithHeldReport(2);
    }
    const { code, signal, stdout, stderr, exitedBeforeSignal, signalSent } = run;

    // On a mismatch, what the run said and how far the report got.
    const seen = code === 130 ? {} : { exitedBeforeSignal, signalSent, stderr, reportBytes: stdout.length };
    expect({ code, signal, ...seen }).toEqual({ code: 130, signal: null });
    expect(stdout).toContain('📊 REAPER SUMMARY');
    expect(stdout).toMatch(/Undo with: .* restore /);
    expect(stdout).toContain('Stale domains cleaned:  1500');
    expect(stdout.endsWith('=\n')).toBe(true);
    expect(stderr).toMatch(/Interrupted once the run was done: its report above is complete/);
  }, 60_000);
});
