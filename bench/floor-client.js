// The practical floor: a bare HTTP client sending the same `.pages` requests the
// reaper sends, CONCURRENCY in flight on keep-alive connections, and nothing else.
// Usage: node bench/floor-client.js URL CONCURRENCY REPOS_FILE (one owner/repo a line)
'use strict';
const fs = require('node:fs');
const { Pool } = require('undici');

async function main() {
  const [url, concurrencyText, reposFile] = process.argv.slice(2);
  const concurrency = Number(concurrencyText);
  const repos = fs.readFileSync(reposFile, 'utf8').split('\n').filter(Boolean);
  const pool = new Pool(url, { connections: concurrency });
  let next = 0;
  let ok = 0;
  async function worker() {
    while (next < repos.length) {
      const [owner, repo] = repos[next++].split('/');
      const { statusCode, body } = await pool.request({ path: `/api/v1/repos/${owner}/${repo}/contents/.pages`, method: 'GET' });
      await body.text();
      if (statusCode === 200 || statusCode === 404) ok++;
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
