// The floor of a whole verify or reap: the bare scan loop and the bare keep-alive client
// (bench/floor-scan.js or bench/floor-etcd-scan.js, and bench/floor-client.js) run at the
// same time, as two processes on the same machine. A reaper has to read the keyspace and
// ask Forgejo, on the cores the stand-in and the store also use; this is the least any
// reaper could take here, reading no value and judging no answer, even one that spread
// its work over every core. Each floor alone leaves the other's work out.
// Usage: node bench/floor-together.js SCAN_FLOOR_ARGS... -- CLIENT_FLOOR_ARGS...
// (each as `node` would be given it, e.g. `bench/floor-scan.js 6379 127.0.0.1`). Prints
// one JSON line: the CPU both used (`cpu`, user + system, as bench/peak-rss.js counts it)
// and each one's wall time.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function runFloor(argv, rssFile) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--require', './bench/peak-rss.js', ...argv], {
      cwd: ROOT,
      env: { ...process.env, BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${argv[0]} exited with ${code}`));
      const own = JSON.parse(fs.readFileSync(rssFile, 'utf8'));
      resolve({ wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: own.cpuSeconds });
    });
  });
}

async function main() {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  if (split < 1 || split === argv.length - 1) {
    process.stderr.write('usage: node bench/floor-together.js SCAN_FLOOR_ARGS... -- CLIENT_FLOOR_ARGS...\n');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-together-'));
  try {
    // Both waited for, a failed one too: neither is left running once this exits.
    const settled = await Promise.allSettled([
      runFloor(argv.slice(0, split), path.join(dir, 'scan')),
      runFloor(argv.slice(split + 1), path.join(dir, 'client')),
    ]);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [scan, client] = settled.map((result) => result.value);
    process.stdout.write(`${JSON.stringify({ cpu: scan.cpu + client.cpu, scanWall: scan.wall, clientWall: client.wall })}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
