#!/usr/bin/env node
// Benchmark: delivery-to-reaped latency of webhook triggers (issue 13). Seeds a real
// redis-server with --deliveries sites whose repositories are then deleted plus
// --background live sites, serves the Forgejo stand-in with --latency-ms, starts
// `pages-reaper reap --interval 1h --listen … --webhook-secret-file …` as a process, and
// has the stand-in delete each repository and send its `repository`/`deleted` delivery
// (signed, Forgejo's headers and payload) at --rate deliveries per second. Each delivery's
// latency runs from just before it is sent to Redis announcing (keyspace notification)
// the deletion of its site's forward key, the last key of the site's atomic delete.
// Usage: npm run build && node bench/webhook.js [--deliveries 1000] [--background 10000]
//        [--rate 100] [--latency-ms 5] [--window 2s]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Redis } = require('ioredis');
const { startRedis, freePort } = require('../test/support/servers');
const { startForgejoStandin } = require('../test/support/forgejo-standin');
const { pagesFile, siteEntries } = require('../test/support/plugin-writer');

const ROOT = path.resolve(__dirname, '..');
const SECRET = 'bench webhook secret';

const { values: args } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '1000' },
    background: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '100' },
    'latency-ms': { type: 'string', default: '5' },
    window: { type: 'string', default: '2s' },
  },
});
const deliveries = Number(args.deliveries);
const background = Number(args.background);
const rate = Number(args.rate);
const latencyMs = Number(args['latency-ms']);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

async function main() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-bench-webhook-'));
  const secretFile = path.join(home, 'secret');
  fs.writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const server = await startRedis();
  const redis = new Redis({ host: server.host, port: server.port });
  const standin = await startForgejoStandin({ latencyMs });
  let child;
  try {
    const targets = Array.from({ length: deliveries }, (_, i) => ({
      owner: `gone${i % 97}`,
      repo: `site${i}`,
      domain: `gone${i}.example${i % 50}.org`,
    }));
    const others = Array.from({ length: background }, (_, i) => ({
      owner: `user${i % 997}`,
      repo: `live${i}`,
      domain: `live${i}.example${i % 50}.com`,
    }));
    for (const site of [...targets, ...others]) standin.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
    for (let i = 0; i < targets.length + others.length; i += 1000) {
      const batch = [...targets, ...others].slice(i, i + 1000);
      await redis.mset(Object.assign({}, ...batch.map((site) => siteEntries(site))));
    }
    const keysBefore = await redis.dbsize();

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'run.js'),
        'reap',
        '--interval',
        '1h',
        '--listen',
        `127.0.0.1:${port}`,
        '--webhook-secret-file',
        secretFile,
        '--webhook-window',
        args.window,
        '--backup-dir',
        path.join(home, 'backups'),
        '--redis-host',
        server.host,
        '--redis-port',
        String(server.port),
        '--forgejo-host',
        standin.url,
      ],
      { cwd: home, env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = [];
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop();
      for (const part of parts) if (part.trim()) lines.push(JSON.parse(part));
    });
    for (;;) {
      const ready = await fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 200) break;
      await sleep(50);
    }
    const sweep = lines.find((line) => line.msg === 'run finished');
    standin.resetStats();
    standin.addWebhook({ url: `${base}/hooks/forgejo`, secret: SECRET });

    // Redis announces every deleted key (keyspace notifications, `del` events, also for
    // deletes inside scripts): a site counts as reaped when its forward key, deleted last
    // in the same atomic step as its other keys, is announced. No polling load.
    const pending = new Map(); // domain → sentAt
    const latencies = [];
    await redis.config('SET', 'notify-keyspace-events', 'Eg');
    const subscriber = new Redis({ host: server.host, port: server.port });
    await subscriber.subscribe('__keyevent@0__:del');
    subscriber.on('message', (_channel, key) => {
      if (!key.startsWith('custom_domain:')) return;
      const domain = key.slice('custom_domain:'.length);
      const sentAt = pending.get(domain);
      if (sentAt === undefined) return;
      latencies.push(performance.now() - sentAt);
      pending.delete(domain);
    });

    const statuses = {};
    const started = performance.now();
    const sends = [];
    for (let i = 0; i < targets.length; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const site = targets[i];
      pending.set(site.domain, performance.now());
      sends.push(standin.deleteRepoAndNotify(site.owner, site.repo).then(([r]) => (statuses[r.status] = (statuses[r.status] ?? 0) + 1)));
    }
    await Promise.all(sends);
    const deadline = performance.now() + 60_000;
    while (pending.size > 0 && performance.now() < deadline) await sleep(20);
    subscriber.disconnect();
    const elapsed = performance.now() - started;

    // Every key of every target gone, and nothing else touched.
    const leftovers = (await redis.keys('*gone*')).length;
    const keysAfter = await redis.dbsize();
    const expectedGone = targets.reduce((n, site) => n + Object.keys(siteEntries(site)).length, 0);
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    const triggered = lines.filter((line) => line.msg === 'triggered run finished');
    latencies.sort((a, b) => a - b);
    const result = {
      deliveries,
      background,
      rate,
      forgejoLatencyMs: latencyMs,
      statuses,
      reaped: latencies.length,
      unreaped: pending.size,
      latencyMs: {
        median: Math.round(quantile(latencies, 0.5)),
        p90: Math.round(quantile(latencies, 0.9)),
        p99: Math.round(quantile(latencies, 0.99)),
        max: Math.round(latencies[latencies.length - 1]),
      },
      sendSeconds: Math.round(elapsed) / 1000,
      triggeredRuns: triggered.length,
      triggeredRunMs: (() => {
        const d = triggered.map((line) => line.durationMs).sort((a, b) => a - b);
        return {
          median: quantile(d, 0.5),
          max: d[d.length - 1],
          reposPerRunMax: Math.max(...triggered.map((line) => line.repositoryCount)),
        };
      })(),
      apiRequests: standin.stats().requests,
      keysDeletedOk: keysBefore - keysAfter === expectedGone && leftovers === 0,
      sweepDurationMs: sweep?.durationMs,
      histogramCount: Number(/^pages_reaper_webhook_delivery_to_verified_seconds_count (\S+)$/m.exec(metrics)?.[1]),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    child?.kill('SIGTERM');
    redis.disconnect();
    await standin.close();
    await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
