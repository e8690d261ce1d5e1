#!/usr/bin/env node
// Scale benchmark (issue 11): seeds N domains as the pages plugin writes them (10% stale,
// 10% with a redirect middleware, optionally a share with a branch subdomain, one TTL'd
// content-cache key per site) into a real
// redis-server (redis-cli --pipe) or etcd (transactions of 128 puts, 16 in flight), serves
// a Forgejo stand-in, and runs each command as its own process: wall time, peak RSS and CPU
// of each (and the stand-in's and redis-server's CPU meanwhile), against floors measured in the same run (a bare SCAN COUNT 1000 loop, on etcd the
// plugin's bare windowed range loop; a bare keep-alive HTTP client sending the
// same .pages requests at the same concurrency), with Redis INFO commandstats and
// used_cpu deltas, and the SLOWLOG entries over 2 ms (a script or command holding the
// event loop longer). Commands run scan, verify, backup, then reap (which changes the data).
// Usage: node bench/scale.js --help
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Redis } = require('ioredis');
const { startRedis, startEtcd } = require('../test/support/servers');
const { pagesFile, siteEntries } = require('../test/support/plugin-writer');

const ROOT = path.resolve(__dirname, '..');
const OPTIONS = {
  domains: { type: 'string', default: '100000' },
  stale: { type: 'string', default: '0.1' },
  redirects: { type: 'string', default: '0.1' },
  // Share of (live) sites that also serve one branch subdomain (`dev.{domain}`), as
  // enable_branches writes it: a second mapping, reverse key and router per such site.
  branches: { type: 'string', default: '0' },
  'latency-ms': { type: 'string', default: '0' },
  concurrency: { type: 'string', default: '16' },
  store: { type: 'string', default: 'redis' },
  commands: { type: 'string', default: 'scan,verify,backup,reap' },
  'slow-us': { type: 'string', default: '2000' },
  // An already running redis-server to use (at 127.0.0.1); with --reuse its data is kept
  // when it holds any (seed once, run scan/verify/backup again), else it is flushed and seeded.
  'redis-port': { type: 'string' },
  reuse: { type: 'boolean', default: false },
  // short: site12.example12.com → user12:site12 (the figures below); long: 50-character
  // domains and 45-character values, for what memory does with longer names.
  names: { type: 'string', default: 'short' },
  // V8/node flags for the measured reaper processes (e.g. --heap-growing-percent=20), to compare settings.
  'node-flags': { type: 'string', default: '' },
  help: { type: 'boolean', default: false },
};
const USAGE =
  'usage: node bench/scale.js [--domains 100000] [--stale 0.1] [--redirects 0.1] [--branches 0] [--latency-ms 0]\n' +
  '         [--concurrency 16]\n' +
  '         [--store redis|etcd] [--commands scan,verify,backup,reap] [--slow-us 2000] [--redis-port P [--reuse]]\n' +
  '         [--names short|long]\n' +
  "         [--node-flags='--flag ...']   (after npm run build)";
let parsed;
try {
  parsed = parseArgs({ options: OPTIONS });
} catch (error) {
  process.stderr.write(`bench/scale.js: ${error.message.split('\n')[0]}\n${USAGE}\n`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const args = parsed.values;
/** A bad value is one line naming the option, and exit code 2, before anything starts. */
function check(ok, option, what) {
  if (ok) return;
  process.stderr.write(`bench/scale.js: --${option} must be ${what} (got ${JSON.stringify(args[option])})\n${USAGE}\n`);
  process.exit(2);
}
const isCount = (text, min) => /^\d+$/.test(text) && Number(text) >= min;
const isFraction = (text, min) => /^\d*\.?\d+$/.test(text) && Number(text) >= min && Number(text) <= 1;
check(isCount(args.domains, 1), 'domains', 'a whole number of at least 1');
check(isFraction(args.stale, Number.MIN_VALUE), 'stale', 'a fraction above 0, at most 1');
check(isFraction(args.redirects, 0), 'redirects', 'a fraction from 0 to 1');
check(isFraction(args.branches, 0), 'branches', 'a fraction from 0 to 1');
check(isCount(args['latency-ms'], 0), 'latency-ms', 'a whole number of milliseconds');
check(['short', 'long'].includes(args.names), 'names', 'short or long');
check(isCount(args.concurrency, 1), 'concurrency', 'a whole number of at least 1');
check(['redis', 'etcd'].includes(args.store), 'store', 'redis or etcd');
check(
  args.commands.split(',').every((c) => ['scan', 'verify', 'backup', 'reap'].includes(c)),
  'commands',
  'a comma-separated list of scan, verify, backup, reap',
);
check(isCount(args['slow-us'], 0), 'slow-us', 'a whole number of microseconds');
check(args['redis-port'] === undefined || isCount(args['redis-port'], 1), 'redis-port', 'a port number');
const N = Number(args.domains);
const staleEvery = Math.round(1 / Number(args.stale));
const redirectEvery = Number(args.redirects) > 0 ? Math.round(1 / Number(args.redirects)) : 0;
const branchEvery = Number(args.branches) > 0 ? Math.round(1 / Number(args.branches)) : 0;
const latencyMs = Number(args['latency-ms']);
const concurrency = Number(args.concurrency);
const commands = args.commands.split(',').filter(Boolean);
const slowUs = Number(args['slow-us']);
const SLOWLOG_KEPT = 1_000_000;

/** SLOWLOG entries by what ran: a script (EVAL/EVALSHA), a SCAN, or anything else. */
function slowByKind(entries) {
  const counts = { scripts: 0, scan: 0, other: 0 };
  for (const entry of entries) {
    const command = String(entry[3][0]).toLowerCase();
    counts[command.startsWith('eval') ? 'scripts' : command === 'scan' ? 'scan' : 'other']++;
  }
  return counts;
}

function site(i) {
  const long = args.names === 'long';
  return {
    owner: long ? `organisation-number-${i % 997}` : `user${i % 997}`,
    repo: long ? `static-website-project-${i}` : `site${i}`,
    domain: long ? `www.project-site-${i}.customer-domain-${i % 50}.example.org` : `site${i}.example${i % 50}.com`,
    stale: i % staleEvery === 0,
    redirects: redirectEvery && i % redirectEvery === redirectEvery >> 1 ? 1 : 0,
    // Never a stale site (i % staleEvery === 0): a live repository with the branch.
    branches: branchEvery && i % branchEvery === Math.min(1, branchEvery - 1) && i % staleEvery !== 0 ? ['dev'] : undefined,
  };
}

/** Every key of site i, with the content-cache key and its TTL in seconds. */
function siteKeyValues(i) {
  const s = site(i);
  return { entries: siteEntries(s), cacheKey: `${s.owner}:${s.repo}:main:public/index.html`, cacheValue: `<html>${i}</html>` };
}

function resp(parts) {
  let out = `*${parts.length}\r\n`;
  for (const part of parts) out += `$${Buffer.byteLength(part)}\r\n${part}\r\n`;
  return out;
}

/** Seeds Redis through `redis-cli --pipe`: the protocol stream is generated as it is sent. */
async function seedRedis(server) {
  const child = spawn('redis-cli', ['-h', server.host, '-p', String(server.port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const done = new Promise((resolve) => child.on('close', resolve));
  let chunk = '';
  for (let i = 0; i < N; i++) {
    const { entries, cacheKey, cacheValue } = siteKeyValues(i);
    chunk += resp(['MSET', ...Object.entries(entries).flat()]);
    chunk += resp(['SET', cacheKey, cacheValue, 'EX', '86400']);
    if (chunk.length > 1 << 20 || i === N - 1) {
      if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve));
      chunk = '';
    }
  }
  child.stdin.end();
  await done;
  if (!/errors: 0/.test(output)) throw new Error(`redis-cli --pipe: ${output}`);
}

/**
 * Seeds etcd with transactions of up to 128 puts (etcd's default --max-txn-ops), 16 in
 * flight: one raft entry (and one fsync at most) per 128 keys instead of per key.
 */
async function seedEtcd(server) {
  const { Etcd3 } = require('etcd3');
  const client = new Etcd3({ hosts: server.endpoint ?? server.url ?? server.endpoints });
  const TXN_OPS = 128;
  const IN_FLIGHT = 16;
  let puts = [];
  const inFlight = new Set();
  const send = async (batch) => {
    const txn = client.kv.txn({
      success: batch.map(([key, value]) => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } })),
    });
    inFlight.add(txn);
    txn.finally(() => inFlight.delete(txn)).catch(() => {});
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  };
  let keys = 0;
  for (let i = 0; i < N; i++) {
    const { entries, cacheKey, cacheValue } = siteKeyValues(i);
    // etcd has no TTL per key without a lease; the cache key is plain.
    for (const entry of [...Object.entries(entries), [cacheKey, cacheValue]]) {
      puts.push(entry);
      if (puts.length === TXN_OPS) {
        keys += puts.length;
        await send(puts);
        puts = [];
      }
    }
  }
  if (puts.length > 0) {
    keys += puts.length;
    await send(puts);
  }
  await Promise.all(inFlight);
  client.close();
  return keys;
}

function run(command, argv, { stdoutFile, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const out = stdoutFile ? fs.openSync(stdoutFile, 'w') : 'ignore';
    const started = process.hrtime.bigint();
    const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (typeof out === 'number') fs.closeSync(out);
      resolve({ code, stderr, wall: Number(process.hrtime.bigint() - started) / 1e9 });
    });
  });
}

async function startStandin(seedFile) {
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=4096', 'test/support/forgejo-standin.js', '--latency-ms', String(latencyMs), '--seed', seedFile],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(JSON.parse(String(chunk).split('\n')[0]).url));
    child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
  });
  const cpu = () => {
    const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100, rssMb: Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024 };
  };
  return { url, cpu, stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) };
}

/** INFO commandstats calls per command (commands run by scripts included), used_cpu_user+sys, and p99.9 latencies. */
async function redisCounters(redis) {
  const stats = await redis.info('commandstats');
  const calls = {};
  const usecPerCall = {};
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/gm)) {
    calls[match[1]] = Number(match[2]);
    usecPerCall[match[1]] = Number(match[3]);
  }
  const cpu = await redis.info('cpu');
  const used = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)[1]);
  const latency = await redis.info('latencystats');
  const p999 = {};
  for (const match of latency.matchAll(/^latency_percentiles_usec_([^:]+):p50=[\d.]+,p99=[\d.]+,p99\.9=([\d.]+)/gm))
    p999[match[1]] = Number(match[2]);
  return { calls, usecPerCall, cpu: used('used_cpu_user') + used('used_cpu_sys'), p999 };
}

/**
 * The CPU a row's processes used together (the measured one, the stand-in, redis-server) per
 * second of its wall time: how many of the machine's cores the run kept busy. A run that
 * needs more CPU than its floor cannot come within a ratio of it once this reaches the
 * cores there are (`os.availableParallelism()`, printed with the table).
 */
function busyCores(row) {
  return ((row.cpu ?? 0) + (row.standinCpu ?? 0) + (row.redis?.cpu ?? 0)) / row.wall;
}

function delta(before, after) {
  const calls = {};
  let total = 0;
  for (const [name, n] of Object.entries(after.calls)) {
    const d = n - (before.calls[name] ?? 0);
    if (d > 0 && !['info', 'slowlog', 'config'].includes(name)) {
      calls[name] = d;
      total += d;
    }
  }
  // Latency percentiles since the CONFIG RESETSTAT before the command: the commands that hold the event loop longest.
  const p999 = Object.fromEntries(Object.entries(after.p999).filter(([name]) => ['evalsha', 'eval', 'mget', 'scan'].includes(name)));
  const usecPerCall = Object.fromEntries(
    Object.entries(after.usecPerCall).filter(([name]) => ['evalsha', 'eval', 'mget', 'scan'].includes(name)),
  );
  return { calls, total, cpu: after.cpu - before.cpu, p999UsecByCommand: p999, usecPerCall };
}

/**
 * The floor of a whole verify or reap: the scan loop and the client started at once, as two
 * processes (`measure`'s `alongside`). A reaper has to read the keyspace and ask Forgejo,
 * on the cores the stand-in and the store also use; this is the least any reaper could take
 * here, reading no value and judging no answer, even one that spread its work over every
 * core. The issue's ratios are against each alone; this one says how much of a ratio is the
 * machine's and how much the reaper's.
 */
const BOTH_AT_ONCE = 'floor: scan loop and client at once, two processes';

const fmt = (x, digits = 2) => (x === undefined ? '' : Number(x).toFixed(digits));

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-scale-'));
  const isRedis = args.store === 'redis';
  const server = args['redis-port']
    ? { host: '127.0.0.1', port: Number(args['redis-port']) }
    : isRedis
      ? await startRedis()
      : await startEtcd();
  const redis = isRedis ? new Redis({ host: server.host, port: server.port }) : undefined;
  const rows = [];
  const report = { domains: N, branches: Number(args.branches), store: args.store, latencyMs, concurrency, rows };
  try {
    let t = Date.now();
    if (isRedis && args.reuse && (await redis.dbsize()) > 0) process.stderr.write('reusing the data in the store\n');
    else if (isRedis) {
      await redis.flushall();
      await seedRedis(server);
    }
    const keys = isRedis ? await redis.dbsize() : await seedEtcd(server);
    report.seedSeconds = (Date.now() - t) / 1000;
    report.keys = keys;
    process.stderr.write(`seeded ${N} domains${keys ? ` (${keys} keys)` : ''} in ${report.seedSeconds} s\n`);

    // The stand-in knows every live repository; stale ones answer 404.
    const seedFile = path.join(tmp, 'seed.json');
    const reposFile = path.join(tmp, 'repos.txt');
    const seedOut = fs.createWriteStream(seedFile);
    const reposOut = fs.createWriteStream(reposFile);
    seedOut.write('[');
    let first = true;
    for (let i = 0; i < N; i++) {
      const s = site(i);
      reposOut.write(`${s.owner}/${s.repo}\n`);
      for (const branch of s.branches ?? []) reposOut.write(`${s.owner}/${s.repo} ${branch}\n`);
      if (s.stale) continue;
      const branches = ['main', ...(s.branches ?? [])];
      seedOut.write((first ? '' : ',') + JSON.stringify({ owner: s.owner, repo: s.repo, pages: pagesFile(s), branches }));
      first = false;
    }
    seedOut.end(']');
    reposOut.end();
    await Promise.all([new Promise((r) => seedOut.on('finish', r)), new Promise((r) => reposOut.on('finish', r))]);
    t = Date.now();
    const standin = commands.some((c) => c === 'verify' || c === 'reap') ? await startStandin(seedFile) : undefined;
    if (standin) process.stderr.write(`stand-in ready in ${(Date.now() - t) / 1000} s\n`);

    const connection = isRedis
      ? ['--redis-host', server.host, '--redis-port', String(server.port)]
      : ['--store', 'etcd', '--etcd-endpoints', server.endpoint ?? server.url];
    // Every slow run is kept (the default keeps 128, and a million-domain SCAN has thousands over 2 ms).
    if (isRedis) await redis.config('SET', 'slowlog-log-slower-than', String(slowUs), 'slowlog-max-len', String(SLOWLOG_KEPT));

    const measure = async (name, command, argv, options = {}) => {
      if (isRedis) {
        await redis.slowlog('RESET');
        await redis.config('RESETSTAT');
      }
      const before = isRedis ? await redisCounters(redis) : undefined;
      const standinBefore = standin?.cpu();
      const stdoutFile = path.join(tmp, `out-${name}`);
      const measured = command === 'node-reaper';
      // A floor given `alongside` runs with a second one, both started at once: the row's
      // wall time is until both ended, its CPU theirs together.
      const processes = [argv, ...(options.alongside ? [options.alongside] : [])].map((processArgv, i) => {
        const rssFile = path.join(tmp, `rss-${name}-${i}`);
        // Floors too: what the CPU budget of a run is compared with is theirs.
        const result = run(
          process.execPath,
          measured
            ? [...args['node-flags'].split(' ').filter(Boolean), '--require', './bench/peak-rss.js', 'bin/run.js', ...processArgv]
            : ['--require', './bench/peak-rss.js', ...processArgv],
          { stdoutFile: i === 0 ? stdoutFile : undefined, env: { BENCH_RSS_FILE: rssFile } },
        );
        return { rssFile, result };
      });
      const results = await Promise.all(processes.map((p) => p.result));
      const result = results.find((r) => r.code !== 0) ?? results[0];
      const after = isRedis ? await redisCounters(redis) : undefined;
      const slow = isRedis ? await redis.slowlog('GET', SLOWLOG_KEPT) : [];
      const row = { name, wall: Math.max(...results.map((r) => r.wall)), code: result.code };
      const own = processes.map((p) => JSON.parse(fs.readFileSync(p.rssFile, 'utf8')));
      if (measured) row.rssMb = own[0].peakKib / 1024;
      row.cpu = own.reduce((sum, o) => sum + o.cpuSeconds, 0);
      if (before) Object.assign(row, { redis: delta(before, after) });
      if (isRedis) row.slowOver2ms = slow.length;
      if (isRedis) row.slowByKind = slowByKind(slow);
      if (isRedis && slow.length)
        row.slowest = slow
          .map((e) => [e[2], String(e[3][0])])
          .sort((a, b) => b[0] - a[0])
          .slice(0, 3);
      if (standin) row.standinCpu = standin.cpu().cpuSeconds - standinBefore.cpuSeconds;
      if (options.json) {
        try {
          const doc = JSON.parse(fs.readFileSync(stdoutFile, 'utf8'));
          row.jsonDomains = doc.domains?.length;
          row.summary = doc.summary;
          row.phasesMs = doc.phasesMs;
        } catch (error) {
          row.jsonError = error.message;
        }
      }
      // A reap prints its human report (what an operator reads); its step times come from its metrics file.
      if (options.metricsFile && fs.existsSync(options.metricsFile))
        row.phasesMs = phasesFromMetrics(fs.readFileSync(options.metricsFile, 'utf8'));
      if (result.code !== 0 && result.code !== 2) row.stderr = result.stderr.slice(0, 500);
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
      return row;
    };

    const scanFloorArgs = isRedis
      ? ['bench/floor-scan.js', String(server.port), server.host]
      : ['bench/floor-etcd-scan.js', server.endpoint];
    if (isRedis) await measure('floor: bare SCAN COUNT 1000 loop', 'node', scanFloorArgs);
    else {
      const row = await measure("floor: bare etcd range loop (the plugin's windows)", 'node', scanFloorArgs);
      try {
        Object.assign(row, JSON.parse(fs.readFileSync(path.join(tmp, `out-${row.name}`), 'utf8')));
        process.stderr.write(`${JSON.stringify(row)}\n`);
      } catch {
        // The floor printed no counts (it failed): the row keeps its wall time and exit code.
      }
    }
    if (standin) {
      const clientFloorArgs = ['bench/floor-client.js', standin.url, String(concurrency), reposFile];
      await measure(`floor: bare keep-alive client, ${concurrency} in flight`, 'node', clientFloorArgs);
      await measure(BOTH_AT_ONCE, 'node', scanFloorArgs, { alongside: clientFloorArgs });
    }
    const source = standin ? ['--forgejo-host', standin.url, '--concurrency', String(concurrency)] : [];
    for (const command of commands) {
      if (command === 'scan') await measure('scan --json', 'node-reaper', ['scan', '--json', ...connection], { json: true });
      if (command === 'verify')
        await measure('verify --json', 'node-reaper', ['verify', '--json', ...connection, ...source], { json: true });
      if (command === 'backup')
        await measure('backup', 'node-reaper', ['backup', '--output', path.join(tmp, 'backup.jsonl'), ...connection]);
      if (command === 'reap') {
        const metricsFile = path.join(tmp, 'reap.prom');
        await measure('reap', 'node-reaper', ['reap', '--backup-dir', tmp, '--metrics-file', metricsFile, ...connection, ...source], {
          metricsFile,
        });
      }
    }
    if (standin) {
      report.standin = standin.cpu();
      await standin.stop();
    }
  } finally {
    await redis?.quit();
    await server.stop?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const scanFloor = rows.find((r) => r.name.startsWith('floor: bare SCAN') || r.name.startsWith('floor: bare etcd'))?.wall;
  const httpFloor = rows.find((r) => r.name.startsWith('floor: bare keep-alive'))?.wall;
  const bothFloor = rows.find((r) => r.name === BOTH_AT_ONCE && r.code === 0)?.wall;
  console.log(
    `\n${N} domains${report.keys ? `, ${report.keys} keys` : ''}, ${args.store}, latency ${latencyMs} ms, concurrency ${concurrency}, ${os.availableParallelism()} cores\n`,
  );
  console.log(
    '| command | wall s | floor s | ratio | peak RSS MB | CPU s: itself / stand-in / Redis | cores busy | Redis calls | calls/domain | slowlog > 2 ms: scripts / SCAN / other | mean µs script / SCAN | p99.9 µs script / SCAN | steps s: scan / verify / plan / backup / delete |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const floor = r.name.startsWith('floor') ? undefined : /scan|backup/.test(r.name) ? scanFloor : httpFloor;
    console.log(
      `| ${r.name} | ${fmt(r.wall)} | ${fmt(floor)} | ${floor ? fmt(r.wall / floor) : ''} | ${fmt(r.rssMb, 0)} | ${[r.cpu, r.standinCpu, r.redis?.cpu].map((c) => fmt(c)).join(' / ')} | ${fmt(busyCores(r))} | ${r.redis?.total ?? ''} | ${r.redis ? fmt(r.redis.total / N) : ''} | ${r.slowByKind ? [r.slowByKind.scripts, r.slowByKind.scan, r.slowByKind.other].join(' / ') : ''} | ${r.redis ? ['evalsha', 'scan'].map((c) => r.redis.usecPerCall[c] ?? '-').join(' / ') : ''} | ${r.redis ? ['evalsha', 'scan'].map((c) => r.redis.p999UsecByCommand[c] ?? '-').join(' / ') : ''} | ${stepsOf(r)} |`,
    );
  }
  if (bothFloor) {
    const against = rows
      .filter((r) => /^(verify|reap)/.test(r.name))
      .map((r) => `${r.name} ${fmt(r.wall / bothFloor)}×`)
      .join(', ');
    if (against)
      console.log(`\nAgainst both floors at once (${fmt(bothFloor)} s, ${fmt(bothFloor / httpFloor)}× the client's alone): ${against}`);
  }
  console.log(`\n${JSON.stringify(report)}`);
}

/** The run's step times (`phasesMs`) as `pages_reaper_last_run_phase_duration_seconds` gives them. */
function phasesFromMetrics(text) {
  const phases = {};
  for (const match of text.matchAll(/^pages_reaper_last_run_phase_duration_seconds\{phase="(\w+)"\} (\S+)$/gm)) {
    phases[match[1]] = Number(match[2]) * 1000;
  }
  return phases;
}

/** Seconds each step took, `-` for a step the run did not reach; empty for a floor or `backup`. */
function stepsOf(row) {
  if (!row.phasesMs) return '';
  return ['scan', 'verify', 'plan', 'backup', 'delete']
    .map((phase) => (row.phasesMs[phase] === undefined ? '-' : fmt(row.phasesMs[phase] / 1000)))
    .join(' / ');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
