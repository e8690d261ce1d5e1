/**
 * `reap --interval` as a sidecar process: metrics move across runs, /healthz follows the
 * store going away and coming back, SIGTERM ends it with exit 0.
 */
import * as fs from 'node:fs';
import { Redis } from 'ioredis';
import { cliRunner, expectFatal } from '../support/cli-process';
import { startForgejoStandin } from '../support/forgejo-standin';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { connectionFlags, startRedisAndStandin, stopRedisAndStandin } from '../support/redis-and-standin';
import { freePort, startRedis } from '../support/servers';

const cli = cliRunner('sidecar');
afterAll(() => cli.cleanup());

async function get(url: string): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url);
    return { status: response.status, text: await response.text() };
  } catch {
    return { status: 0, text: '' };
  }
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sidecar's JSON log, a line at a time. */
function logLines(stdout: string): any[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

it('serves metrics that move across runs, turns unhealthy without its store and healthy again, and stops on SIGTERM', async () => {
  let server = await startRedis();
  const standin = await startForgejoStandin();
  const redis = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => {});
  await redis.connect();
  const live = { owner: 'alice', repo: 'blog', domain: 'blog.example.org' };
  await redis.mset({ ...siteEntries(live), ...siteEntries({ owner: 'gone', repo: 'site', domain: 'old.example.com' }) });
  standin.setRepo(live.owner, live.repo, { pages: pagesFile(live) });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { child, done } = cli.start(['reap', '--interval', '2s', '--listen', `127.0.0.1:${port}`, ...connectionFlags(server, standin)]);
  try {
    await eventually(
      () => get(`${base}/readyz`),
      (r) => r.status === 200,
      10_000,
    );
    const first = await get(`${base}/metrics`);
    expect(metric(first.text, 'pages_reaper_domains_reaped_total')).toBe(1);
    expect(metric(first.text, 'pages_reaper_domains_scanned')).toBeGreaterThanOrEqual(1);
    const runsBefore = metric(first.text, 'pages_reaper_runs_total{result="success"}');
    await eventually(
      () => get(`${base}/metrics`),
      (r) => metric(r.text, 'pages_reaper_runs_total{result="success"}') > runsBefore,
      8_000,
    );
    expect(await redis.exists('custom_domain:old.example.com')).toBe(0);
    expect(await redis.exists('custom_domain:blog.example.org')).toBe(1);

    await server.stop();
    await eventually(
      () => get(`${base}/healthz`),
      (r) => r.status === 503,
      15_000,
    );
    const failing = await get(`${base}/metrics`);
    expect(metric(failing.text, 'pages_reaper_runs_total{result="failed"}')).toBeGreaterThan(0);

    server = await startRedis({ port: server.port });
    await eventually(
      () => get(`${base}/healthz`),
      (r) => r.status === 200,
      15_000,
    );

    const stopping = Date.now();
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(10_000);
    const lines = logLines(result.stdout);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'sidecar started' });
    expect(lines.some((line) => line.msg === 'run finished' && line.reaped === 1)).toBe(true);
    expect(lines.some((line) => line.msg === 'run failed' && /Redis/.test(line.error))).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'sidecar stopped' });
  } finally {
    child.kill('SIGKILL');
    redis.disconnect();
    await standin.close();
    await server.stop();
  }
}, 60_000);

it("with --log-format human, writes each run's whole report and when the next run is due", async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  const { child, done } = cli.start(['reap', '--interval', '1s', '--log-format', 'human', ...connectionFlags(server, standin)]);
  try {
    await redis.mset(siteEntries({ owner: 'gone', repo: 'site', domain: 'old.example.com' }));
    await eventually(
      () => redis.exists('custom_domain:old.example.com'),
      (exists) => exists === 0,
      15_000,
    );
    // At least one run after the one that reaped: its report is written too.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    const reports = result.stdout.split('📊 REAPER SUMMARY');
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(result.stdout).toContain('old.example.com');
    expect(result.stdout).toMatch(/Stale domains cleaned: *1\b/);
    // Every report but the last one interrupted is followed by when the next run is due.
    expect(result.stdout.match(/⏰ Next run in about 1s/g)!.length).toBeGreaterThanOrEqual(reports.length - 2);
  } finally {
    child.kill('SIGKILL');
    await stopRedisAndStandin(pair);
  }
}, 40_000);

it('a single run writes --metrics-file atomically for the textfile collector', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  try {
    await redis.mset(siteEntries({ owner: 'gone', repo: 'site', domain: 'old.example.com' }));
    const file = `${cli.home}/textfile/pages_reaper.prom`;
    fs.mkdirSync(`${cli.home}/textfile`);
    const result = await cli.run(['reap', '--metrics-file', file, ...connectionFlags(server, standin)]);
    expect(result.code).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(metric(text, 'pages_reaper_domains_reaped_total')).toBe(1);
    expect(metric(text, 'pages_reaper_runs_total{result="success"}')).toBe(1);
    expect(fs.readdirSync(`${cli.home}/textfile`)).toEqual(['pages_reaper.prom']);
  } finally {
    await stopRedisAndStandin(pair);
  }
});

it('a --metrics-file that cannot be written is refused before the run: exit 1, one line, the store unchanged', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  try {
    await redis.mset(siteEntries({ owner: 'gone', repo: 'site', domain: 'old.example.com' }));
    const results = await Promise.all(
      [`${cli.home}/no-such-dir/pages_reaper.prom`, cli.home, ''].map((file) =>
        cli.run(['reap', '--metrics-file', file, ...connectionFlags(server, standin)]),
      ),
    );
    expectFatal(
      results[0],
      /^pages-reaper: --metrics-file .*its directory cannot be written.*give a file in a directory this process can write/,
    );
    expectFatal(results[1], /^pages-reaper: --metrics-file .* is a directory; give a file in a directory this process can write/);
    expectFatal(results[2], /^pages-reaper: --metrics-file is empty/);
    expect(standin.stats().requests).toBe(0);
    expect(await redis.exists('custom_domain:old.example.com')).toBe(1);
  } finally {
    await stopRedisAndStandin(pair);
  }
});

it('a slip in the settings ends the sidecar at once (exit 1, one line); a store not reachable yet is retried', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  try {
    await redis.mset(siteEntries({ owner: 'gone', repo: 'site', domain: 'old.example.com' }));
    const tokenFile = `${cli.home}/two-line-token`;
    fs.writeFileSync(tokenFile, 'abc\ndef\n');
    const sidecar = ['reap', '--interval', '1h'];
    const withoutHost = connectionFlags(server, standin).filter(
      (flag, i, all) => flag !== '--forgejo-host' && all[i - 1] !== '--forgejo-host',
    );
    const results = await Promise.all([
      cli.run([...sidecar, ...withoutHost]),
      cli.run([...sidecar, ...connectionFlags(server, standin), '--forgejo-token-file', tokenFile]),
      cli.run([...sidecar, ...connectionFlags(server, standin), '--redis-db', '99']),
    ]);
    expectFatal(results[0], /^pages-reaper: missing --forgejo-host/);
    expectFatal(results[1], /^pages-reaper: the Forgejo token of --forgejo-token-file .* holds a line break/);
    expectFatal(results[2], /^pages-reaper: Redis at .* refuses database 99/);
    expect(standin.stats().requests).toBe(0);
    expect(await redis.exists('custom_domain:old.example.com')).toBe(1);

    // No store yet (a pod whose Redis starts after it): the loop retries, as it would mid-life.
    const nothingThere = String(await freePort());
    const unreachable = connectionFlags(server, standin).map((flag, i, all) => (all[i - 1] === '--redis-port' ? nothingThere : flag));
    const { child, done } = cli.start([...sidecar, ...unreachable, '--log-format', 'json']);
    let said = '';
    child.stdout!.on('data', (chunk: Buffer | string) => (said += chunk.toString()));
    try {
      await eventually(
        async () => said,
        (text) => /"msg":"run failed"/.test(text),
        10_000,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect((await done).code).toBe(0);
  } finally {
    await stopRedisAndStandin(pair);
  }
});

it('a dry-run sidecar deletes nothing and counts no deletion; its log says dryRun with what the real run would delete', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const live = { owner: 'alice', repo: 'blog', domain: 'blog.example.org' };
  standin.setRepo(live.owner, live.repo, { pages: pagesFile(live) });
  const gone = siteEntries({ owner: 'gone', repo: 'site', domain: 'old.example.com' });
  await redis.mset({ ...siteEntries(live), ...gone });
  const { child, done } = cli.start([
    'reap',
    '--dry-run',
    '--interval',
    '1s',
    '--listen',
    `127.0.0.1:${port}`,
    ...connectionFlags(server, standin),
  ]);
  try {
    const after = await eventually(
      () => get(`${base}/metrics`),
      (r) => metric(r.text, 'pages_reaper_runs_total{result="success"}') >= 2,
      15_000,
    );
    expect(metric(after.text, 'pages_reaper_domains_reaped_total')).toBe(0);
    expect(metric(after.text, 'pages_reaper_keys_deleted_total')).toBe(0);
    expect(metric(after.text, 'pages_reaper_domains_stale')).toBe(1);
    expect(await redis.exists(...Object.keys(gone))).toBe(Object.keys(gone).length);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    const finished = logLines(result.stdout).filter((line) => line.msg === 'run finished');
    expect(finished.length).toBeGreaterThanOrEqual(2);
    for (const line of finished) expect(line).toMatchObject({ dryRun: true, reaped: 1, keysDeleted: Object.keys(gone).length });
  } finally {
    child.kill('SIGKILL');
    await stopRedisAndStandin(pair);
  }
}, 40_000);

it('a refused run is a warning with its reason, does not move last_success, and the build and process are described', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // 8 of 10 mapped sites look stale: the brake refuses every run (exit 3).
  const sites = Array.from({ length: 10 }, (_, i) => ({ owner: 'team', repo: `site${i}`, domain: `s${i}.example.com` }));
  sites.forEach((site, i) =>
    i < 2 ? standin.setRepo(site.owner, site.repo, { pages: pagesFile(site) }) : standin.deleteRepo(site.owner, site.repo),
  );
  await redis.mset(Object.assign({}, ...sites.map((site) => siteEntries(site))));
  const { child, done } = cli.start(['reap', '--interval', '1h', '--listen', `127.0.0.1:${port}`, ...connectionFlags(server, standin)]);
  try {
    const ready = await eventually(
      () => get(`${base}/metrics`),
      (r) => metric(r.text, 'pages_reaper_runs_total{result="refused"}') === 1,
      10_000,
    );
    expect(metric(ready.text, 'pages_reaper_last_success_timestamp_seconds')).toBe(0);
    expect(metric(ready.text, 'pages_reaper_last_run_timestamp_seconds')).toBeGreaterThan(0);
    // /readyz and /healthz count a refused run as completed: the loop works, the data needs a look.
    expect((await get(`${base}/readyz`)).status).toBe(200);
    const version = JSON.parse(fs.readFileSync(`${__dirname}/../../package.json`, 'utf8')).version;
    expect(metric(ready.text, `pages_reaper_build_info{version="${version}",node_version="${process.version}"}`)).toBe(1);
    expect(metric(ready.text, 'pages_reaper_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(ready.text).toMatch(/^pages_reaper_process_resident_memory_bytes \d+/m);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    const lines = logLines(result.stdout);
    const finished = lines.find((line) => line.msg === 'run finished');
    expect(finished).toMatchObject({ level: 'warn', result: 'refused', exitCode: 3, reason: expect.stringMatching(/brake.*8 of 10/) });
    expect(await redis.exists('custom_domain:s5.example.com')).toBe(1);
  } finally {
    child.kill('SIGKILL');
    await stopRedisAndStandin(pair);
  }
}, 30_000);

it('SIGTERM ends a sweep held back behind a Forgejo that hangs within seconds, not once its requests time out', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  // More mappings than the scan lets wait for verification (1,000): the scan is held back.
  const sites = Array.from({ length: 4_500 }, (_, i) => ({ owner: `user${i % 97}`, repo: `site${i}`, domain: `site${i}.example.com` }));
  const entries: Record<string, string> = {};
  for (const site of sites) Object.assign(entries, siteEntries(site));
  await redis.mset(entries);
  standin.addFailure({ match: '/contents/', hang: true });
  const { child, done } = cli.start(['reap', '--interval', '30s', '--timeout', '60', ...connectionFlags(server, standin)]);
  try {
    await eventually(
      async () => standin.stats().inFlight,
      (inFlight) => inFlight > 0,
      15_000,
    );
    // The scan runs on until 1,000 claims wait, then waits itself.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stopping = Date.now();
    child.kill('SIGTERM');
    const result = await done;
    expect(Date.now() - stopping).toBeLessThan(5_000);
    expect(result.code).toBe(0);
    expect(logLines(result.stdout).at(-1)).toMatchObject({ msg: 'sidecar stopped' });
    expect(await redis.dbsize()).toBe(Object.keys(entries).length);
  } finally {
    child.kill('SIGKILL');
    await stopRedisAndStandin(pair);
  }
}, 60_000);

it('with --log-format human, a run ended by SIGTERM is said to be interrupted, not failed', async () => {
  const pair = await startRedisAndStandin();
  const { server, standin, redis } = pair;
  await redis.mset(siteEntries({ owner: 'alice', repo: 'blog', domain: 'blog.example.org' }));
  standin.addFailure({ match: '/contents/', hang: true });
  const { child, done } = cli.start(['reap', '--interval', '30s', '--log-format', 'human', ...connectionFlags(server, standin)]);
  try {
    await eventually(
      async () => standin.stats().inFlight,
      (inFlight) => inFlight > 0,
      15_000,
    );
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('pages-reaper: run interrupted');
    expect(result.stderr).not.toContain('run failed');
  } finally {
    child.kill('SIGKILL');
    await stopRedisAndStandin(pair);
  }
}, 30_000);
