/**
 * What an operator's slips and setups do, the CLI run as a process (found by a black-box
 * campaign): a mistyped secret flag, a blank ratio, a malformed --redis-url, flags of one
 * store given to the other, a backup directory or a server (a replica) a reap cannot use,
 * and backup files written by hand. Each ends in one line and a known exit code; a dry run
 * ends as the real run would; no secret is printed; nothing changes that should not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { cliRunner, expectFatal } from '../support/cli-process';
import { startRedis } from '../support/servers';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { backupText, expectSameState, fullDump, HEADER } from '../support/redis-state';
import {
  connectionFlags,
  resetRedisAndStandin,
  startRedisAndStandin,
  stopRedisAndStandin,
  type RedisAndStandin,
  type RedisServer,
} from '../support/redis-and-standin';
import type { Site } from '../support/harness';

const cli = cliRunner('operator-input');
const HOME = cli.home;
afterAll(() => cli.cleanup());

/**
 * A redis-server and a stand-in for one describe block, emptied before each test; read
 * through functions, as they exist only once beforeAll has run.
 */
function redisAndStandinForEach() {
  let both: RedisAndStandin | undefined;
  beforeAll(async () => {
    both = await startRedisAndStandin();
  });
  afterAll(() => stopRedisAndStandin(both ?? {}));
  beforeEach(() => resetRedisAndStandin(both!));
  return {
    server: () => both!.server,
    standin: () => both!.standin,
    redis: () => both!.redis,
    flags: () => connectionFlags(both!.server, both!.standin),
  };
}

const LIVE: Site = { owner: 'alice', repo: 'site', domain: 'www.alice.com' };
const STALE: Site = { owner: 'gone', repo: 'site', domain: 'old.example.com', redirects: 1 };

describe('a slip on the command line', () => {
  const env = redisAndStandinForEach();
  const { server, redis, standin } = env;
  const flags = env.flags;

  beforeEach(async () => {
    standin().setRepo(LIVE.owner, LIVE.repo, { pages: pagesFile({ domain: LIVE.domain }) });
    await redis().mset(siteEntries(LIVE));
    await redis().mset(siteEntries(STALE));
  });

  it('a mistyped secret flag given as --name=value is named without its value, on stderr and in --json', async () => {
    const before = await fullDump(redis());
    const [password, token] = await Promise.all([
      cli.run(['reap', ...flags(), '--redis-pasword=S3cr3tRedisPw!']),
      cli.run(['reap', ...flags(), '--forgejo-tokn=TOKEN-S3cr3t value', '--json']),
    ]);

    expectFatal(password, /^pages-reaper: Nonexistent flag: --redis-pasword; see --help\n$/);
    expect(token.code).toBe(1);
    expect(JSON.parse(token.stdout).error.message).toBe('Nonexistent flag: --forgejo-tokn; see --help');
    for (const result of [password, token]) expect(result.stdout + result.stderr).not.toMatch(/S3cr3t/);
    expectSameState(await fullDump(redis()), before);
  });

  it('a secret is never repeated by a failure that comes before the settings are read, nor from userinfo holding a `/`', async () => {
    const before = await fullDump(redis());
    const runs = await Promise.all([
      // The password given twice, and an unquoted password with a space: stray arguments to the parser.
      cli.run(['scan', ...flags(), '--redis-password', 'S3cr3tPw', 'S3cr3tPw']),
      cli.run(['scan', ...flags(), '--redis-password', 'pa', 'S3cr3tHalf', '--json']),
      cli.run(['scan', ...flags(), '-pS3cr3tShort']),
      cli.run(['scan', '--redis-cluster', 'u:S3cr3tCluster@127.0.0.1:1']),
      cli.run(['scan', '--store', 'etcd', '--etcd-endpoints', 'http://root:Etcd/S3cr3tEtcd@127.0.0.1:1']),
      cli.run([
        'verify',
        ...flags().filter((flag, i, all) => flag !== '--forgejo-host' && all[i - 1] !== '--forgejo-host'),
        '--forgejo-host',
        'http://u:Tok/S3cr3tTok@127.0.0.1:1',
      ]),
    ]);
    for (const result of runs) {
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stdout + result.stderr).not.toMatch(/S3cr3t/);
    }
    expect(runs[0].stderr).toBe('pages-reaper: Unexpected argument: ***; see --help\n');
    expect(JSON.parse(runs[1].stdout).error.message).toBe('Unexpected argument: ***; see --help');
    expect(runs[2].stderr).toBe('pages-reaper: Nonexistent flag: -p; see --help\n');
    expectSameState(await fullDump(redis()), before);
  });

  it('a --redis-host (or REDIS_HOST) holding user:password@ is refused as a usage error, the password never shown', async () => {
    const before = await fullDump(redis());
    const host = `u:S3cr3tHostPw@${server().host}`;
    const port = ['--redis-port', String(server().port)];
    const [json, ...results] = await Promise.all([
      cli.run(['scan', ...port, '--json'], { REDIS_HOST: host }),
      cli.run(['scan', '--redis-host', host, ...port]),
      cli.run(['scan', ...port], { REDIS_HOST: host }),
      cli.run(['reap', '--redis-host', host, ...port, '--forgejo-host', standin().url, '--backup-dir', HOME]),
    ]);
    for (const result of results) {
      expectFatal(
        result,
        /^pages-reaper: --redis-host \(REDIS_HOST\): expected a host name, got one with user:password@ in it; give the host alone and the password with --redis-password \(REDIS_PASSWORD\); with a user name, give the whole address as --redis-url \(REDIS_URL\)\n$/,
      );
    }
    expect(JSON.parse(json.stdout).error).toMatchObject({ kind: 'usage', exitCode: 1, message: results[0].stderr.slice(14).trimEnd() });
    for (const result of [json, ...results]) expect(result.stdout + result.stderr).not.toMatch(/S3cr3t/);
    expect(standin().stats().requests).toBe(0);
    expectSameState(await fullDump(redis()), before);
  });

  it('a rate no timer can wait out and a token no header can carry are refused before anything is asked', async () => {
    const before = await fullDump(redis());
    const tokenFile = path.join(HOME, 'euro-token');
    fs.writeFileSync(tokenFile, 'tok€n\n');
    const [rate, hex, token] = await Promise.all([
      cli.run(['verify', ...flags(), '--rate-limit', '1e-300']),
      cli.run(['verify', ...flags(), '--rate-limit', '0x10']),
      cli.run(['verify', ...flags(), '--forgejo-token-file', tokenFile]),
    ]);
    expectFatal(rate, /^pages-reaper: --rate-limit: expected requests per second, a decimal number of at least 0\.01, got '1e-300'/);
    expectFatal(hex, /^pages-reaper: --rate-limit: expected requests per second/);
    expectFatal(token, /^pages-reaper: the Forgejo token of --forgejo-token-file .* holds a character beyond Latin-1/);
    expect(standin().stats().requests).toBe(0);
    expectSameState(await fullDump(redis()), before);
  });

  it('a number flag takes plain decimals only (no hex, exponent, sign or Infinity), and a timeout no answer can meet is refused', async () => {
    const before = await fullDump(redis());
    const store = flags().slice(0, 4);
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        ['verify', ...flags(), '--timeout', '0x10'],
        {},
        /^pages-reaper: --timeout: expected seconds from 0\.01 to 3600, got '0x10'; write a plain decimal, such as 10 or 2\.5/,
      ],
      [
        ['verify', ...flags()],
        { REAPER_TIMEOUT: '1e1' },
        /^pages-reaper: --timeout \(REAPER_TIMEOUT\): expected seconds .*, got '1e1'; write a plain decimal/,
      ],
      [
        ['scan', ...store, '--store-timeout', '1e-9'],
        {},
        /^pages-reaper: --store-timeout: expected seconds .*, got '1e-9'; write a plain decimal/,
      ],
      [
        ['scan', ...store, '--store-timeout', '0.001'],
        {},
        /^pages-reaper: --store-timeout: 0\.001 s is too short for any answer to arrive; give at least 0\.01 \(10 ms\)/,
      ],
      [
        ['backup', ...store, '--store-timeout', 'Infinity', '--output', path.join(HOME, 'n.jsonl')],
        {},
        /--store-timeout: expected seconds .*'Infinity'/,
      ],
      [
        ['reap', '--dry-run', ...flags(), '--max-stale-ratio', '0x0'],
        {},
        /^pages-reaper: --max-stale-ratio: expected a ratio between 0 and 1, got '0x0'; write a plain decimal, such as 0\.3/,
      ],
      [
        ['reap', ...flags(), '--backup-dir', HOME, '--max-stale-ratio', '-0'],
        {},
        /--max-stale-ratio: expected a ratio between 0 and 1, got '-0'/,
      ],
      [
        ['verify', ...flags(), '--rate-limit', '1e2'],
        {},
        /^pages-reaper: --rate-limit: expected requests per second, .*got '1e2'; write a plain decimal/,
      ],
      [
        ['verify', ...flags(), '--verify-dns', '--dns-timeout', '1e-9'],
        {},
        /^pages-reaper: --dns-timeout: expected seconds from 0\.01 to 60, got '1e-9'/,
      ],
      [
        ['reap', ...flags(), '--backup-dir', HOME, '--verify-dns', '--dns-timeout', '0'],
        {},
        /--dns-timeout: 0 s is too short for any answer/,
      ],
    ];
    const results = await Promise.all(cases.map(([args, env]) => cli.run(args, env)));
    results.forEach((result, i) => expectFatal(result, cases[i][2]));
    expect(standin().stats().requests).toBe(0);
    expect(fs.existsSync(path.join(HOME, 'n.jsonl'))).toBe(false);
    expectSameState(await fullDump(redis()), before);
  });

  it('a plugin key whose name is not UTF-8 (a Latin-1 .pages) is named by every command, which exits 2 and leaves it; the rest is reaped', async () => {
    // The plugin copies custom_domain's bytes into its keys: `café` in Latin-1 is caf\xe9.
    const latin1 = (text: string) => Buffer.from(text, 'latin1');
    await redis().set(latin1('custom_domain:caf\xe9.example'), 'gone:cafe');
    await redis().set(latin1('traefik/http/routers/custom-caf\xe9-example/rule'), latin1('Host(`caf\xe9.example`)'));
    await redis().set(Buffer.from([0x63, 0x61, 0x63, 0x68, 0x65, 0x3a, 0xff]), 'not ours');
    const [scan, verify, backup] = await Promise.all([
      cli.run(['scan', ...flags().slice(0, 4), '--json']),
      cli.run(['verify', ...flags(), '--json']),
      cli.run(['backup', ...flags().slice(0, 4), '--output', path.join(HOME, 'latin1.jsonl')]),
    ]);
    const reap = await cli.run(['reap', ...flags(), '--backup-dir', HOME, '--json']);
    for (const result of [scan, verify, reap]) {
      expect(result.code).toBe(2);
      const report = JSON.parse(result.stdout);
      expect(report.counts.keysScanned).toBe(Object.keys(siteEntries(LIVE)).length + Object.keys(siteEntries(STALE)).length + 3);
      expect(
        report.anomalies
          .filter((a: { kind: string }) => a.kind === 'unreadable-name')
          .map((a: { key: string }) => a.key)
          .sort(),
      ).toEqual(['custom_domain:caf\\xe9.example', 'traefik/http/routers/custom-caf\\xe9-example/rule']);
    }
    expect(JSON.parse(reap.stdout).summary).toMatchObject({ staleDomainsCleaned: 1, exitCode: 2 });
    expect(await redis().getBuffer(latin1('custom_domain:caf\xe9.example'))).toEqual(Buffer.from('gone:cafe'));
    expect(await redis().exists(latin1('traefik/http/routers/custom-caf\xe9-example/rule'))).toBe(1);
    expect(backup.code).toBe(2);
    expect(backup.stdout).toMatch(/custom_domain:caf\\xe9\.example \(its name is not UTF-8\): could not be saved/);
    expect(backup.stdout).not.toMatch(/cache:/);
  });

  it('a domain holding control characters (a terminal escape sequence from a .pages file) is written escaped in the human report', async () => {
    // ESC [3A ESC [J CR: up three lines, erase to the end, back to the line's start.
    const hostile = 'x\u001b[3A\u001b[J\rhidden.test';
    await redis().mset(siteEntries({ owner: 'zz', repo: 's', domain: hostile }));
    // eslint-disable-next-line no-control-regex -- any control character but the newline
    const rawControl = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
    const verify = await cli.run(['verify', ...flags(), '--verbose']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).not.toMatch(rawControl);
    expect(verify.stdout).toContain('📋 x\\x1b[3A\\x1b[J\\x0dhidden.test -> zz/s');
    expect(verify.stdout).toContain(`📋 ${STALE.domain} -> ${STALE.owner}/${STALE.repo}`);
    const reap = await cli.run(['reap', ...flags(), '--backup-dir', HOME]);
    expect(reap.code).toBe(0);
    expect(reap.stdout).not.toMatch(rawControl);
    expect(reap.stdout).toContain('✓ Deleted: custom_domain:x\\x1b[3A\\x1b[J\\x0dhidden.test');
    expect(await redis().exists(`custom_domain:${hostile}`)).toBe(0);
  });

  it("another application's keys in the plugin's database: its {a}:{b} -> host keys are braked, its redirects_meta and its custom- router never touched", async () => {
    const foreign: Record<string, string> = {
      'redirects_meta:report': '{"a":1}',
      'traefik/http/routers/custom-dashboard/rule': 'Host(`traefik.example.com`)',
      'traefik/http/routers/custom-dashboard/service': 'api@internal',
      'traefik/http/routers/custom-dashboard/entryPoints/0': 'websecure',
    };
    for (let i = 0; i < 12; i++) foreign[`tenant${i}:acme`] = `acme${i}.example.com`;
    await redis().mset(foreign);
    const before = await fullDump(redis());

    const [dry, real] = [
      await cli.run(['reap', ...flags(), '--backup-dir', HOME, '--dry-run']),
      await cli.run(['reap', ...flags(), '--backup-dir', HOME]),
    ];
    for (const result of [dry, real]) {
      expect(result.code).toBe(3);
      expect(result.stdout).toMatch(
        /🛑 Refused: 12 reverse keys with no mapping back would be reaped, 85\.7% of them and the 2 mapped domains/,
      );
    }
    expect(await fullDump(redis())).toEqual(before);

    const forced = await cli.run(['reap', ...flags(), '--backup-dir', HOME, '--force', '--json']);
    expect(forced.code).toBe(0);
    const kept = JSON.parse(forced.stdout).kept.map((k: { subject: string }) => k.subject);
    expect(kept).toContain('custom-dashboard');
    for (const key of [
      'redirects_meta:report',
      'traefik/http/routers/custom-dashboard/rule',
      'traefik/http/routers/custom-dashboard/service',
    ])
      expect(await redis().get(key)).toBe(foreign[key]);
    expect(await redis().exists('tenant0:acme')).toBe(0);
  });

  it('a --grace too long to be a date (or REAPER_GRACE) is refused in one line naming the flag, before anything is read', async () => {
    const before = await fullDump(redis());
    const results = await Promise.all([
      cli.run(['reap', ...flags(), '--grace', '99999999999h']),
      cli.run(['reap', '--dry-run', ...flags(), '--grace', '3651d']),
      cli.run(['verify', ...flags()], { REAPER_GRACE: '99999999999h' }),
    ]);
    for (const result of results) expectFatal(result, /invalid --grace '\d+[hd]': at most 3650d \(ten years\); give a shorter grace/);
    expect((await cli.run(['reap', '--dry-run', ...flags(), '--grace', '3650d'])).stderr).not.toMatch(/--grace/);
    expectSameState(await fullDump(redis()), before);
  });

  it('a Forgejo token holding a line break (flag, variable or file) is refused up front in one line, never shown', async () => {
    const before = await fullDump(redis());
    const file = path.join(HOME, 'two-line-token');
    fs.writeFileSync(file, 'tokenpartone\ntokenparttwo\n');
    const results = await Promise.all([
      cli.run(['reap', ...flags(), '--forgejo-token', 'tokenpartone\ntokenparttwo']),
      cli.run(['reap', ...flags()], { FORGEJO_TOKEN: 'tokenpartone\rtokenparttwo' }),
      cli.run(['reap', ...flags(), '--forgejo-token-file', file]),
    ]);
    for (const result of results) {
      expectFatal(
        result,
        /the Forgejo token of --forgejo-token.* holds a line break or another control character.*give the token alone, on one line/,
      );
      expect(result.stdout + result.stderr).not.toMatch(/tokenpart/);
    }
    expectSameState(await fullDump(redis()), before);
  });

  it('a blank --max-stale-ratio (or REAPER_MAX_STALE_RATIO) is refused, not read as 0', async () => {
    const before = await fullDump(redis());
    const results = await Promise.all([
      cli.run(['reap', '--dry-run', ...flags(), '--max-stale-ratio', '']),
      cli.run(['reap', '--dry-run', ...flags(), '--max-stale-ratio', ' ']),
      cli.run(['reap', ...flags()], { REAPER_MAX_STALE_RATIO: ' ' }),
    ]);
    for (const result of results)
      expectFatal(result, /--max-stale-ratio( \(REAPER_MAX_STALE_RATIO\))?: expected a ratio between 0 and 1, got '\s*'/);
    expectSameState(await fullDump(redis()), before);
  });

  it('a --redis-url with a malformed %-escape is named with the fix, its password never shown', async () => {
    const url = `redis://:S3cr3t%zzPw@${server().host}:${server().port}/0`;
    const results = await Promise.all([cli.run(['scan', '--redis-url', url]), cli.run(['scan'], { REDIS_URL: url })]);
    for (const result of results) {
      expectFatal(result, /--redis-url \(REDIS_URL\) holds a malformed %-escape.*%25.*--redis-password/);
      expect(result.stderr).not.toMatch(/S3cr3t|zzPw/);
    }
  });

  it('flags of one store given to the other, and --redis-url, --redis-cluster or --redis-sentinels beside the host, port or database: refused, naming both', async () => {
    const url = `redis://${server().host}:${server().port}/0`;
    const cases: Array<[string[], RegExp]> = [
      [['scan', '--redis-url', url, '--redis-host', 'elsewhere'], /--redis-url and --redis-host cannot be used together/],
      [['scan', '--redis-url', url, '--redis-port', '6380'], /--redis-url and --redis-port cannot be used together/],
      [['scan', '--redis-url', url, '--redis-db', '1'], /--redis-url and --redis-db cannot be used together; .*\/N of --redis-url/],
      [
        ['scan', '--redis-cluster', '127.0.0.1:7000', '--redis-host', 'elsewhere'],
        /--redis-cluster and --redis-host cannot be used together/,
      ],
      [
        ['scan', '--redis-sentinels', '127.0.0.1:26379', '--redis-port', '6380'],
        /--redis-sentinels and --redis-port cannot be used together/,
      ],
      [
        ['scan', ...flags().slice(0, 4), '--etcd-endpoints', 'http://127.0.0.1:2379'],
        /--etcd-endpoints would be ignored here.*--store etcd/,
      ],
      [['scan', '--store', 'etcd', '--redis-host', 'elsewhere'], /--redis-host would be ignored here; the etcd store does not read it/],
      [
        ['scan', ...flags().slice(0, 4), '--redis-sentinel-name', 'cache'],
        /^pages-reaper: --redis-sentinel-name would be ignored here; it names the master the sentinels watch: add --redis-sentinels, or drop --redis-sentinel-name\n$/,
      ],
      [
        ['backup', ...flags().slice(0, 4), '--output', path.join(HOME, 'b.jsonl'), '--backup-dir', HOME],
        /--output and --backup-dir cannot be used together/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => cli.run(args)));
    results.forEach((result, i) => expectFatal(result, cases[i][1]));
    expect(fs.existsSync(path.join(HOME, 'b.jsonl'))).toBe(false);
  });
});

describe('a --redis-db the server does not have', () => {
  it("is refused at connect in one line naming the setting, not in the server's words; nothing is read or written", async () => {
    const server = await startRedis({ databases: 1 });
    const client = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    try {
      await client.connect();
      await client.mset(siteEntries(STALE));
      const before = await fullDump(client);
      const store = ['--redis-host', server.host, '--redis-port', String(server.port)];
      const address = `${server.host}:${server.port}`;
      const backupFile = path.join(HOME, 'db-refused.jsonl');
      fs.writeFileSync(backupFile, backupText(HEADER, [{ key: 'k', type: 'string', expiresAt: null, value: 'v' }]));
      const [scan, byEnv, url, restore] = await Promise.all([
        cli.run(['scan', ...store, '--redis-db', '5']),
        cli.run(['reap', ...store, '--forgejo-host', 'http://127.0.0.1:1', '--backup-dir', HOME], { REDIS_DB: '5' }),
        cli.run(['scan', '--redis-url', `redis://${address}/5`]),
        cli.run(['restore', backupFile, ...store, '--redis-db', '5']),
      ]);
      for (const result of [scan, byEnv, restore]) {
        expectFatal(
          result,
          new RegExp(
            `^pages-reaper: Redis at redis://${address}/5 refuses database 5 \\(the server has fewer databases\\); choose a database the server has with --redis-db \\(REDIS_DB\\)\n$`,
          ),
        );
      }
      expectFatal(
        url,
        /refuses database 5 \(the server has fewer databases\); choose a database the server has with the \/N of --redis-url/,
      );
      expectSameState(await fullDump(client), before);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});

describe('a --redis-port where another service listens', () => {
  it('is said to be not Redis, in one line naming the flags', async () => {
    const net = await import('node:net');
    const http = net.createServer((socket) =>
      socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const port = (http.address() as { port: number }).port;
      const result = await cli.run(['scan', '--redis-host', '127.0.0.1', '--redis-port', String(port)]);
      expectFatal(
        result,
        /^pages-reaper: redis:\/\/127\.0\.0\.1:\d+\/0 does not answer as Redis does \(.*\): another service listens there; check --redis-host, --redis-port/,
      );
      expect(result.stderr).not.toMatch(/Please report this/);
    } finally {
      http.close();
    }
  });
});

describe('etcd settings that would never be used are refused in one line, before connecting', () => {
  it('a path in --etcd-endpoints, --etcd-password without a user: named, the password never shown', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        ['--etcd-endpoints', 'http://root:etcdS3cret@127.0.0.1:2379/v3'],
        {},
        /invalid --etcd-endpoints entry 'http:\/\/127\.0\.0\.1:2379\/v3': .*drop the path/,
      ],
      [['--etcd-password', 'etcdS3cret'], {}, /--etcd-password without --etcd-username would never be used/],
      [[], { ETCD_PASSWORD: 'etcdS3cret' }, /--etcd-password without --etcd-username would never be used/],
    ];
    const results = await Promise.all(cases.map(([args, env]) => cli.run(['scan', '--store', 'etcd', ...args], env)));
    results.forEach((result, i) => {
      expectFatal(result, cases[i][2]);
      expect(result.stdout + result.stderr).not.toContain('etcdS3cret');
    });
  });
});

describe('a store named on the command line wins over REDIS_URL from the environment', () => {
  let named: RedisServer;
  let other: RedisServer;
  beforeAll(async () => {
    [named, other] = await Promise.all([startRedis(), startRedis()]);
  });
  afterAll(() => Promise.all([named.stop(), other.stop()]));

  it('--redis-port and --redis-db pick the store, however REDIS_URL is set: the run reads that store', async () => {
    const client = new Redis({ host: named.host, port: named.port, db: 6, lazyConnect: true });
    await client.connect();
    try {
      await client.set('custom_domain:cli.test', 'nobody:here');
      const result = await cli.run(['scan', '--json', '--redis-host', named.host, '--redis-port', String(named.port), '--redis-db', '6'], {
        REDIS_URL: `redis://${other.host}:${other.port}/0`,
      });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const doc = JSON.parse(result.stdout);
      expect(doc.store).toBe(`redis://${named.host}:${named.port}/6`);
      expect(doc.summary.domainsScanned).toBe(1);
    } finally {
      await client.quit();
    }
  });
});

describe('--redis-url without a password takes --redis-password (REDIS_PASSWORD)', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedis({ password: 'url-less Secret' });
  });
  afterAll(() => server.stop());

  it('the address in REDIS_URL, the password beside it: the scan runs', async () => {
    const url = `redis://${server.host}:${server.port}/0`;
    const [byFlag, byEnv] = await Promise.all([
      cli.run(['scan', '--json', '--redis-url', url, '--redis-password', 'url-less Secret']),
      cli.run(['scan', '--json'], { REDIS_URL: url, REDIS_PASSWORD: 'url-less Secret' }),
    ]);
    for (const result of [byFlag, byEnv]) {
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout).summary).toBeDefined();
      expect(result.stdout).not.toContain('url-less Secret');
    }
  });
});

describe('a reap that could not delete ends its dry run the same way, before reading anything', () => {
  const env = redisAndStandinForEach();
  const { server, redis, standin } = env;
  const flags = env.flags;

  it('a backup directory that cannot be written: the real run and the dry run exit 1 alike, stale domains or none', async () => {
    const file = path.join(HOME, 'not-a-directory');
    fs.writeFileSync(file, 'x');
    const unwritable = [path.join(file, 'backups'), file, '/proc/nope'];
    for (const withStale of [false, true]) {
      await redis().flushall();
      if (withStale) await redis().mset(siteEntries(STALE));
      const before = await fullDump(redis());
      for (const dir of unwritable) {
        const [real, dry] = await Promise.all([
          cli.run(['reap', ...flags(), '--backup-dir', dir]),
          cli.run(['reap', '--dry-run', ...flags()], { REAPER_BACKUP_DIR: dir }),
        ]);
        for (const result of [real, dry]) {
          expectFatal(
            result,
            /^pages-reaper: no backup, no reap: cannot write a backup in .*nothing was deleted; choose a writable --backup-dir/,
          );
        }
      }
      expectSameState(await fullDump(redis()), before);
      expect(standin().stats().requests).toBe(0);
    }
    expect(fs.readdirSync(HOME).filter((name) => name.startsWith('.pages-reaper'))).toEqual([]);
  });

  it('a replica: the real run and the dry run of reap and restore exit 1 naming its primary; scan and verify still read it', async () => {
    await redis().mset(siteEntries(STALE));
    const backupFile = path.join(HOME, 'before-replica.jsonl');
    expect((await cli.run(['backup', ...flags().slice(0, 4), '--output', backupFile])).code).toBe(0);
    const replica = await startRedis();
    const client = new Redis({ host: replica.host, port: replica.port, lazyConnect: true });
    try {
      await client.connect();
      await client.call('REPLICAOF', server().host, String(server().port));
      while (!/master_link_status:up/.test(await client.info('replication'))) await new Promise((resolve) => setTimeout(resolve, 50));
      const replicaFlags = ['--redis-host', replica.host, '--redis-port', String(replica.port), '--forgejo-host', standin().url];
      const before = await fullDump(redis());
      const [real, dry, verify, restore, restoreDry] = await Promise.all([
        cli.run(['reap', ...replicaFlags, '--backup-dir', path.join(HOME, 'replica-backups')]),
        cli.run(['reap', '--dry-run', ...replicaFlags]),
        cli.run(['verify', '--json', ...replicaFlags]),
        cli.run(['restore', backupFile, ...replicaFlags.slice(0, 4), '--overwrite']),
        cli.run(['restore', backupFile, ...replicaFlags.slice(0, 4), '--dry-run']),
      ]);
      for (const result of [restore, restoreDry]) {
        expectFatal(
          result,
          new RegExp(
            `restore cannot write to .*:${replica.port}.*a replica of ${server().host}:${server().port}; point the reaper at the primary`,
          ),
        );
      }
      for (const result of [real, dry]) {
        expectFatal(
          result,
          new RegExp(
            `cannot delete from .*:${replica.port}.*a replica of ${server().host}:${server().port}; point the reaper at the primary`,
          ),
        );
      }
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.stdout).summary).toMatchObject({ stale: 1 });
      expectSameState(await fullDump(redis()), before);
      expect(fs.existsSync(path.join(HOME, 'replica-backups'))).toBe(false);
    } finally {
      client.disconnect();
      await replica.stop();
    }
  });
});

describe('backup and restore of what an operator may hand them', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: string[];

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    await redis.connect();
    store = ['--redis-host', server.host, '--redis-port', String(server.port)];
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });
  beforeEach(() => redis.flushall());

  it("a key whose name is not UTF-8 outside the selection and the plugin's namespaces is no warning", async () => {
    await redis.mset(siteEntries(LIVE));
    await redis.set(Buffer.from([0x63, 0x61, 0x63, 0x68, 0x65, 0x3a, 0xff]), 'v');
    const out = (name: string) => path.join(HOME, name);
    const [byDomain, plugin, prefix] = await Promise.all([
      cli.run(['backup', ...store, '--domain', LIVE.domain, '--output', out('domain.jsonl')]),
      cli.run(['backup', ...store, '--output', out('plugin.jsonl')]),
      cli.run(['backup', ...store, '--prefix', 'cache:', '--output', out('cache.jsonl')]),
    ]);
    for (const result of [byDomain, plugin]) {
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(result.stdout).not.toMatch(/not UTF-8|⚠️/);
    }
    expect(prefix.code).toBe(2);
    expect(prefix.stdout).toMatch(/cache:\\xff \(its name is not UTF-8\): could not be saved/);
  });

  it('entries no backup holds (base64 that does not decode, value and base64 both, a value for another type): nothing written', async () => {
    const written = { key: 'written-first', type: 'string', expiresAt: null, value: 'v' };
    const damaged: Array<[Record<string, unknown>, RegExp]> = [
      [{ key: 'k', type: 'string', expiresAt: null, base64: '!!!notb64' }, /line 3: its base64 is not valid base64/],
      [{ key: 'k', type: 'string', expiresAt: null, value: 'a', base64: 'YQ==' }, /line 3: a string entry holds one of value or base64/],
      [{ key: 'k', type: 'hash', expiresAt: null, value: 'a' }, /line 3: a hash entry holds a dump or nothing, not a value/],
      [{ key: 'k', type: 'hash', expiresAt: null, dump: 'not base64!' }, /line 3: its dump is not valid base64/],
    ];
    const results = await Promise.all(
      damaged.map(([entry], i) => {
        const file = path.join(HOME, `damaged-${i}.jsonl`);
        fs.writeFileSync(file, backupText(HEADER, [written, entry]));
        return cli.run(['restore', file, ...store]);
      }),
    );
    results.forEach((result, i) => expectFatal(result, damaged[i][1]));
    expect(await redis.dbsize()).toBe(0);
  });

  it('a DUMP payload the server refuses: that key is named and skipped (exit 2), the others restored, no script error', async () => {
    const file = path.join(HOME, 'refused-dump.jsonl');
    const entries = [
      { key: 'refused', type: 'hash', expiresAt: null, dump: 'AAAA' },
      { key: 'fine', type: 'string', expiresAt: null, value: 'v' },
    ];
    fs.writeFileSync(file, backupText(HEADER, entries));
    await redis.hset('refused-existing', 'f', 'v');
    fs.writeFileSync(
      path.join(HOME, 'refused-overwrite.jsonl'),
      backupText(HEADER, [{ key: 'refused-existing', type: 'hash', expiresAt: null, dump: 'AAAA' }]),
    );

    const result = await cli.run(['restore', file, ...store]);
    const overwrite = await cli.run(['restore', path.join(HOME, 'refused-overwrite.jsonl'), '--overwrite', ...store]);

    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/⚠️ {2}refused: this store cannot hold it \(its type, or a DUMP payload it refuses\); skipped/);
    expect(result.stderr).not.toMatch(/script|ERR/);
    expect(await redis.get('fine')).toBe('v');
    expect(await redis.exists('refused')).toBe(0);
    expect(overwrite.code).toBe(2);
    expect(await redis.hgetall('refused-existing')).toEqual({ f: 'v' });
  });
});
