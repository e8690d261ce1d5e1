// The practical floor: a bare HTTP client sending the same `.pages` requests the
// reaper sends — the same paths, headers (Accept, User-Agent) and timeouts, over
// undici's Pool with as many keep-alive connections as requests in flight — and nothing
// else: no verification, no store. It uses the lean path the reaper uses (undici's Pool
// loaded by its file, a bare dispatch handler reading the body whole), so the floor is
// never slower than the client it measures.
// Usage: node bench/floor-client.js URL CONCURRENCY REPOS_FILE (one `owner/repo` a line for
// its `.pages`; `owner/repo branch` for a branch, as a branch subdomain's check asks it)
'use strict';
const fs = require('node:fs');
// The reaper keeps WebAssembly (undici's llhttp) at V8's baseline compiler (src/cli/heap-policy.ts):
// the floor does the same, so neither pays for TurboFan's compile of the parser.
require('node:v8').setFlagsFromString('--liftoff-only');
const Pool = require('undici/lib/dispatcher/pool');

const HEADERS = ['accept', 'application/json', 'user-agent', 'pages-reaper'];

function get(pool, path) {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks = [];
    pool.dispatch(
      { path, method: 'GET', headers: HEADERS, headersTimeout: 10_000, bodyTimeout: 10_000 },
      {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData(chunk) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        },
        onError: reject,
      },
    );
  });
}

async function main() {
  const [url, concurrencyText, reposFile] = process.argv.slice(2);
  const concurrency = Number(concurrencyText);
  const repos = fs.readFileSync(reposFile, 'utf8').split('\n').filter(Boolean);
  const base = new URL(url);
  const pool = new Pool(base.origin, { connections: concurrency, keepAliveTimeout: 30_000 });
  const prefix = base.pathname.replace(/\/+$/, '');
  let next = 0;
  let ok = 0;
  async function worker() {
    while (next < repos.length) {
      const [name, branch] = repos[next++].split(' ');
      const [owner, repo] = name.split('/');
      const repoPath = `${prefix}/api/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
      const { status } = await get(
        pool,
        branch === undefined ? `${repoPath}/contents/.pages` : `${repoPath}/branches/${encodeURIComponent(branch)}`,
      );
      if (status === 200 || status === 404) ok++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  process.stdout.write(JSON.stringify({ requests: repos.length, answered: ok }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
