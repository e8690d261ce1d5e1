/**
 * With --json a failure is a JSON document too: `{ command, error: { kind, message,
 * hint?, exitCode } }` on stdout (stderr when stdout carries a backup), beside the same
 * one line on stderr and the same exit code as without --json. No server is needed:
 * every failure here happens before or while connecting.
 */
import { freePort } from '../support/servers';
import { cliRunner, type CliResult } from '../support/cli-process';

const cli = cliRunner('json-errors');
afterAll(() => cli.cleanup());

interface ErrorDoc {
  command?: string;
  error: { kind: string; message: string; hint?: string; exitCode: number };
}

/** The JSON error document on `stream`, after checking the stderr line says the same. */
function errorDoc(result: CliResult, stream: 'stdout' | 'stderr' = 'stdout'): ErrorDoc {
  const text = result[stream];
  const start = text.indexOf('{');
  expect(start).toBeGreaterThanOrEqual(0);
  const doc = JSON.parse(text.slice(start, text.lastIndexOf('}') + 1)) as ErrorDoc;
  expect(result.code).toBe(doc.error.exitCode);
  expect(result.stderr).toContain(`pages-reaper: ${doc.error.message}\n`);
  return doc;
}

it('a bad flag value: kind usage, exit 1, the message of the stderr line', async () => {
  const result = await cli.run(['reap', '--json', '--interval', '1x']);
  const doc = errorDoc(result);
  expect(doc).toEqual({
    command: 'reap',
    error: { kind: 'usage', message: "invalid --interval '1x': use a duration such as 90s, 15m, 1h or 1h30m", exitCode: 1 },
  });
  // Without --json: the one line only, stdout empty, as before.
  const plain = await cli.run(['reap', '--interval', '1x']);
  expect(plain).toMatchObject({ code: 1, stdout: '', stderr: `pages-reaper: ${doc.error.message}\n` });
});

it("oclif's own parse errors (a number out of range) are usage errors with exit 1, not oclif's 2", async () => {
  const doc = errorDoc(await cli.run(['verify', '--json', '--concurrency', '0']));
  expect(doc.command).toBe('verify');
  expect(doc.error).toMatchObject({ kind: 'usage', exitCode: 1 });
  expect(doc.error.message).toMatch(/--concurrency/);
});

it('a store that cannot be reached: exit 1, a hint where the reaper has one', async () => {
  const port = await freePort();
  const doc = errorDoc(
    await cli.run(['scan', '--json', '--store', 'etcd', '--etcd-endpoints', `http://127.0.0.1:${port}`, '--store-timeout', '2']),
  );
  expect(doc.command).toBe('scan');
  expect(doc.error).toMatchObject({ kind: 'store-unreachable', exitCode: 1 });
  expect(doc.error.message).toMatch(/^cannot reach etcd at .*--etcd-endpoints/);
  expect(doc.error.hint).toMatch(/^check .*--etcd-endpoints/);
});

it('a Redis that cannot be reached: kind store-unreachable, its hint after the problem, the same line without --json', async () => {
  const port = await freePort();
  const doc = errorDoc(
    await cli.run(['scan', '--json', '--redis-host', '127.0.0.1', '--redis-port', String(port), '--store-timeout', '2']),
  );
  expect(doc.command).toBe('scan');
  expect(doc.error).toMatchObject({ kind: 'store-unreachable', exitCode: 1, hint: expect.stringMatching(/^check .*--redis-port/) });
  expect(doc.error.message).toMatch(new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0: .*; check `));
  const plain = await cli.run(['scan', '--redis-host', '127.0.0.1', '--redis-port', String(port), '--store-timeout', '2']);
  expect(plain).toMatchObject({ code: 1, stdout: '', stderr: `pages-reaper: ${doc.error.message}\n` });
});

it('a missing setting, and an unknown command outside any command', async () => {
  const verify = errorDoc(await cli.run(['verify', '--json', '--redis-port', '1']));
  expect(verify.error).toEqual({
    kind: 'usage',
    message: 'missing --forgejo-host (or FORGEJO_HOST): the Forgejo URL, e.g. https://git.example.com',
    exitCode: 1,
  });

  const typo = errorDoc(await cli.run(['scna', '--json']));
  expect(typo.command).toBeUndefined();
  expect(typo.error).toMatchObject({ kind: 'usage', exitCode: 1 });
  expect(typo.error.message).toMatch(/Did you mean scan\?/);
});

it('a --forgejo-host (or token) the Forgejo source cannot use is a bad flag: kind usage, exit 1, before the store is asked', async () => {
  const port = String(await freePort());
  const cases: Array<[string[], RegExp]> = [
    [['--forgejo-host', 'not a url'], /^invalid --forgejo-host 'not a url': it contains spaces/],
    [['--forgejo-host', 'ftp://x'], /^invalid --forgejo-host 'ftp:\/\/x': only http:\/\/ and https:\/\/ are supported/],
    [['--forgejo-host', 'https://u:S3cr3tTok@git.example'], /^invalid --forgejo-host: it holds credentials/],
    [['--forgejo-host', 'https://git.example/api/v1'], /without \/api\/v1/],
    [['--forgejo-host', 'https://git.example', '--forgejo-token', 'S3cr3t\nTok'], /holds a line break/],
  ];
  const results = await Promise.all(cases.map(([flags]) => cli.run(['verify', '--json', '--redis-port', port, ...flags])));
  results.forEach((result, i) => {
    const doc = errorDoc(result);
    expect(doc).toMatchObject({ command: 'verify', error: { kind: 'usage', exitCode: 1 } });
    expect(doc.error.message).toMatch(cases[i][1]);
    expect(result.stdout + result.stderr).not.toMatch(/S3cr3t/);
  });
});

it('a store address or setting the store plugin cannot use is a bad flag too: kind usage, before connecting', async () => {
  const port = String(await freePort());
  const cases: Array<[string[], RegExp]> = [
    [['--redis-sentinels', 'u:S3cr3tPw@127.0.0.1:1'], /^--redis-sentinels: expected host:port, got an address with user:password@/],
    [['--redis-cluster', 'no-port'], /^--redis-cluster: expected host:port, got 'no-port'/],
    [['--redis-cluster', `127.0.0.1:${port}`, '--redis-db', '3'], /^--redis-db 3 \(REDIS_DB\) cannot be used with --redis-cluster/],
    [['--redis-url', 'http://:S3cr3tPw@127.0.0.1:1'], /^--redis-url \(REDIS_URL\) must start with redis:\/\/ or rediss:\/\//],
    [
      ['--store', 'etcd', '--etcd-endpoints', `http://127.0.0.1:${port}`, '--etcd-cert', 'c.pem'],
      /^--etcd-cert and --etcd-key go together/,
    ],
  ];
  const results = await Promise.all(cases.map(([flags]) => cli.run(['scan', '--json', '--store-timeout', '2', ...flags])));
  results.forEach((result, i) => {
    const doc = errorDoc(result);
    expect(doc).toMatchObject({ command: 'scan', error: { kind: 'usage', exitCode: 1 } });
    expect(doc.error.message).toMatch(cases[i][1]);
    expect(result.stdout + result.stderr).not.toMatch(/S3cr3t/);
  });
});

it('backup --output - keeps stdout for the backup: the JSON error goes to stderr', async () => {
  const port = await freePort();
  const result = await cli.run(['backup', '--json', '--output', '-', '--redis-port', String(port), '--store-timeout', '2']);
  expect(result.stdout).toBe('');
  const doc = errorDoc(result, 'stderr');
  expect(doc.command).toBe('backup');
  expect(doc.error.exitCode).toBe(1);
});
