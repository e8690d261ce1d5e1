#!/usr/bin/env node
// Benchmark: seeds N plugin sites (a share of them stale) plus as many unrelated TTL'd
// cache keys into a real redis-server, serves a Forgejo stand-in with a fixed latency,
// runs `pages-reaper reap` as a process and compares it with the practical floor (a
// bare HTTP client sending the same .pages requests). Prints medians of --runs runs.
// Usage: npm run bench -- [--domains 10000] [--stale 0.1] [--latency-ms 5] [--concurrency 16] [--runs 3]
//                         [--verify-dns] [--dns-concurrency 16]
// --verify-dns: every live site also gets its TXT ownership record in a local dnsmasq, and
// each run is followed by a `reap --verify-dns` against it, to report the extra cost.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Redis } = require('ioredis');
const { createHash } = require('node:crypto');
const { startRedis } = require('../test/support/servers');
const { startDnsmasq } = require('../test/support/dns-server');
const { pagesFile, siteEntries } = require('../test/support/plugin-writer');

const ROOT = path.resolve(__dirname, '..');

const { values: args } = parseArgs({
  options: {
    domains: { type: 'string', default: '10000' },
    stale: { type: 'string', default: '0.1' },
    'latency-ms': { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    'backup-keys': { type: 'string', default: '1000000' },
    'verify-dns': { type: 'boolean', default: false },
    'dns-concurrency': { type: 'string', default: '16' },
  },
});
const domains = Number(args.domains);
const staleShare = Number(args.stale);
const latencyMs = Number(args['latency-ms']);
const concurrency = Number(args.concurrency);
const runs = Number(args.runs);
const backupKeys = Number(args['backup-keys']);
const verifyDns = args['verify-dns'];
const dnsConcurrency = Number(args['dns-concurrency']);

function sites() {
  const staleEvery = Math.round(1 / staleShare);
  return Array.from({ length: domains }, (_, i) => ({
    owner: `user${i % 997}`,
    repo: `site${i}`,
    domain: `site${i}.example${i % 50}.com`,
    stale: i % staleEvery === 0,
  }));
}

function run(command, argv, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, wallMs: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}

async function startStandin(seedFile) {
  const child = spawn(process.execPath, ['test/support/forgejo-standin.js', '--latency-ms', String(latencyMs), '--seed', seedFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(JSON.parse(String(chunk).split('\n')[0]).url));
    child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
  });
  return { url, stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) };
}

async function seed(redis, all) {
  await redis.flushall();
  let pipeline = redis.pipeline();
  for (const [i, site] of all.entries()) {
    pipeline.mset(siteEntries(site));
    pipeline.set(`${site.owner}:${site.repo}:main:public/index.html`, `<html>${i}</html>`, 'EX', 3600);
    if (i % 1000 === 999) {
      await pipeline.exec();
      pipeline = redis.pipeline();
    }
  }
  await pipeline.exec();
}

/** `backup --all` of BACKUP_KEYS keys, FLUSHALL, `restore`: wall time and peak RSS of each. */
async function benchBackupRestore(server, tmp) {
  const redis = new Redis({ host: server.host, port: server.port });
  await redis.flushall();
  for (let start = 0; start < backupKeys; start += 10000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(backupKeys, start + 10000); i++) {
      if (i % 10 === 0) pipeline.set(`cache:${i}`, `<html>${i}</html>`, 'EX', 3600);
      else pipeline.set(`traefik/http/routers/custom-site${i}-example-com/rule`, `Host(\`site${i}.example.com\`)`);
    }
    await pipeline.exec();
  }
  const file = path.join(tmp, 'all.jsonl.gz');
  const connection = ['--redis-host', server.host, '--redis-port', String(server.port)];
  const measure = async (name, argv) => {
    const rssFile = path.join(tmp, `rss-${name}`);
    const result = await run(process.execPath, ['--require', './bench/peak-rss.js', 'bin/run.js', ...argv, ...connection], {
      BENCH_RSS_FILE: rssFile,
    });
    if (result.code !== 0) throw new Error(`${name} failed (${result.code}): ${result.stderr}`);
    return { wallSeconds: +(result.wallMs / 1000).toFixed(2), peakRssMb: +(Number(fs.readFileSync(rssFile, 'utf8')) / 1024).toFixed(1) };
  };
  const backup = await measure('backup', ['backup', '--all', '--output', file]);
  const fileMb = +(fs.statSync(file).size / 1024 / 1024).toFixed(1);
  await redis.flushall();
  const restore = await measure('restore', ['restore', file]);
  const restored = await redis.dbsize();
  await redis.quit();
  return { keys: backupKeys, fileMb, backup, restore, restoredKeys: restored, complete: restored === backupKeys };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-bench-'));
  const all = sites();
  const live = all.filter((s) => !s.stale);
  fs.writeFileSync(
    path.join(tmp, 'seed.json'),
    JSON.stringify(live.map((s) => ({ owner: s.owner, repo: s.repo, pages: pagesFile(s), branches: ['main'] }))),
  );
  fs.writeFileSync(path.join(tmp, 'repos.txt'), all.map((s) => `${s.owner}/${s.repo}`).join('\n'));
  const expectedKeys = new Set();
  for (const site of live) for (const key of Object.keys(siteEntries(site))) expectedKeys.add(key);
  for (const site of all) expectedKeys.add(`${site.owner}:${site.repo}:main:public/index.html`);

  const server = await startRedis();
  // The plugin's record for every live site: every lookup proves ownership, so the final state is the same.
  const dns = verifyDns
    ? await startDnsmasq({
        zones: ['com'],
        txt: live.map((s) => [s.domain, `bovine-pages-verification=${createHash('sha256').update(`${s.owner}/${s.repo}`).digest('hex')}`]),
      })
    : undefined;
  const standin = await startStandin(path.join(tmp, 'seed.json'));
  const redis = new Redis({ host: server.host, port: server.port });
  const results = [];
  try {
    for (let i = 0; i < runs; i++) {
      await seed(redis, all);
      const keysBefore = await redis.dbsize();
      const floor = await run(process.execPath, ['bench/floor-client.js', standin.url, String(concurrency), path.join(tmp, 'repos.txt')]);
      if (floor.code !== 0) throw new Error(`floor client failed: ${floor.stderr}`);
      const rssFile = path.join(tmp, `rss-${i}`);
      const reapOnce = (extra, rss) =>
        run(
          process.execPath,
          [
            '--require',
            './bench/peak-rss.js',
            'bin/run.js',
            'reap',
            '--json',
            '--redis-host',
            server.host,
            '--redis-port',
            String(server.port),
            '--forgejo-host',
            standin.url,
            '--concurrency',
            String(concurrency),
            ...extra,
          ],
          { BENCH_RSS_FILE: rss, REAPER_BACKUP_DIR: path.join(tmp, 'backups') },
        );
      const reap = await reapOnce([], rssFile);
      const report = JSON.parse(reap.stdout);
      const isFinalStateCorrect = async () => {
        const finalKeys = await redis.keys('*');
        return finalKeys.length === expectedKeys.size && finalKeys.every((k) => expectedKeys.has(k));
      };
      const correct = await isFinalStateCorrect();
      let withDns;
      if (dns) {
        await seed(redis, all);
        const dnsRss = path.join(tmp, `rss-dns-${i}`);
        const reapDns = await reapOnce(['--verify-dns', '--dns-server', dns.server, '--dns-concurrency', String(dnsConcurrency)], dnsRss);
        const dnsReport = JSON.parse(reapDns.stdout);
        withDns = {
          exitCode: reapDns.code,
          reapMs: reapDns.wallMs,
          peakRssMb: Number(fs.readFileSync(dnsRss, 'utf8')) / 1024,
          lookups: dnsReport.dnsLookups,
          proven: dnsReport.summary.dns.proven,
          requests: dnsReport.requests,
          correct: await isFinalStateCorrect(),
        };
        process.stderr.write(
          `run ${i + 1}/${runs}: reap --verify-dns ${reapDns.wallMs.toFixed(0)} ms, exit ${reapDns.code}, correct ${withDns.correct}\n`,
        );
      }
      results.push({
        withDns,
        keysBefore,
        exitCode: reap.code,
        reapMs: reap.wallMs,
        floorMs: floor.wallMs,
        peakRssMb: Number(fs.readFileSync(rssFile, 'utf8')) / 1024,
        requests: report.requests,
        storeRoundTrips: report.storeRoundTrips,
        staleCleaned: report.summary.staleDomainsCleaned,
        backupWritten: Boolean(report.backupPath && fs.existsSync(report.backupPath)),
        correct,
      });
      process.stderr.write(
        `run ${i + 1}/${runs}: reap ${reap.wallMs.toFixed(0)} ms, floor ${floor.wallMs.toFixed(0)} ms, exit ${reap.code}, correct ${correct}\n`,
      );
    }
  } finally {
    await redis.quit();
    await standin.stop();
  }
  const reapMs = median(results.map((r) => r.reapMs));
  const floorMs = median(results.map((r) => r.floorMs));
  const summary = {
    domains,
    staleDomains: all.length - live.length,
    keysInStore: results[0].keysBefore,
    latencyMs,
    concurrency,
    runs,
    reapWallSeconds: +(reapMs / 1000).toFixed(2),
    floorWallSeconds: +(floorMs / 1000).toFixed(2),
    // Pair by pair, so a drift in the machine's speed between runs cancels out.
    ratioToFloor: +median(results.map((r) => r.reapMs / r.floorMs)).toFixed(2),
    latencyBoundSeconds: +((domains * latencyMs) / concurrency / 1000).toFixed(2),
    peakRssMb: +median(results.map((r) => r.peakRssMb)).toFixed(1),
    httpRequests: median(results.map((r) => r.requests)),
    httpRequestsPerRepository: +(median(results.map((r) => r.requests)) / domains).toFixed(3),
    redisRoundTrips: median(results.map((r) => r.storeRoundTrips)),
    staleDomainsCleaned: median(results.map((r) => r.staleCleaned)),
    exitCodes: [...new Set(results.map((r) => r.exitCode))],
    backupWrittenEveryRun: results.every((r) => r.backupWritten),
    finalStateCorrect: results.every((r) => r.correct),
  };
  if (dns) {
    const paired = results.map((r) => r.withDns);
    summary.verifyDns = {
      dnsConcurrency,
      reapWallSeconds: +(median(paired.map((r) => r.reapMs)) / 1000).toFixed(2),
      // Pair by pair again: the same seed, the same machine state, one run after the other.
      extraSeconds: +(median(results.map((r) => r.withDns.reapMs - r.reapMs)) / 1000).toFixed(2),
      ratioToPlainReap: +median(results.map((r) => r.withDns.reapMs / r.reapMs)).toFixed(2),
      peakRssMb: +median(paired.map((r) => r.peakRssMb)).toFixed(1),
      dnsLookups: median(paired.map((r) => r.lookups)),
      ownershipProven: median(paired.map((r) => r.proven)),
      httpRequests: median(paired.map((r) => r.requests)),
      exitCodes: [...new Set(paired.map((r) => r.exitCode))],
      finalStateCorrect: paired.every((r) => r.correct),
    };
    await dns.stop();
  }
  if (backupKeys > 0) summary.backupRestore = await benchBackupRestore(server, tmp);
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  const dnsOk = !summary.verifyDns || (summary.verifyDns.finalStateCorrect && summary.verifyDns.exitCodes.every((c) => c === 0));
  if (!summary.finalStateCorrect || summary.exitCodes.some((c) => c !== 0) || !dnsOk) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
