const fs = require('node:fs');
const { Agent, interceptors } = require('undici');
async function main() {
  const [url, c, reposFile, mode] = process.argv.slice(2);
  const concurrency = Number(c);
  const repos = fs.readFileSync(reposFile, 'utf8').split('\n').filter(Boolean);
  const agent = new Agent({ connections: concurrency });
  const d = mode === 'redirect' ? agent.compose(interceptors.redirect({ maxRedirections: 5 })) : agent;
  let next = 0;
  async function worker() {
    while (next < repos.length) {
      const [owner, repo] = repos[next++].split('/');
      const r = await d.request({ origin: url, path: `/api/v1/repos/${owner}/${repo}/contents/.pages`, method: 'GET', headers: { accept: 'application/json' }, headersTimeout: 10000, bodyTimeout: 10000 });
      const t = await r.body.text();
      if (r.statusCode === 200) { const j = JSON.parse(t); Buffer.from(j.content, 'base64').toString(); }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  await agent.close();
}
main();
