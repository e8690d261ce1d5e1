#!/usr/bin/env node
// A real reap against a throwaway redis-server and a local Forgejo stand-in: seeds live
// and stale sites exactly as the pages plugin writes them, shows the dry run, reaps,
// then reaps again to show that the second run changes nothing. Stops what it started.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const { Redis } = require('ioredis');
const { startRedis } = require('../test/support/servers');
const { startForgejoStandin } = require('../test/support/forgejo-standin');
const { pagesFile, siteEntries, routerEntries } = require('../test/support/plugin-writer');

const live = [
  { owner: 'alice', repo: 'blog', domain: 'blog.alice.example', branches: ['stage'], redirects: 2 },
  { owner: 'carol', repo: 'docs', domain: 'docs.carol.example' },
  { owner: 'dave', repo: 'shop', domain: 'a-b.example' },
  { owner: 'erin', repo: 'site', domain: 'erin.example' },
  { owner: 'frank', repo: 'wiki', domain: 'wiki.frank.example' },
  { owner: 'grace', repo: 'home', domain: 'grace.example' },
  { owner: 'heidi', repo: 'notes', domain: 'notes.heidi.example' },
  ...['judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert'].map((owner) => ({ owner, repo: 'pages', domain: `${owner}.example` })),
];
const stale = [
  { site: { owner: 'bob', repo: 'old-site', domain: 'bob.example', redirects: 1 }, why: 'repository deleted' },
  {
    site: { owner: 'ivan', repo: 'page', domain: 'old.ivan.example' },
    why: 'custom_domain changed',
    pages: 'custom_domain: new.ivan.example\n',
  },
  { site: { owner: 'judy', repo: 'app', domain: 'a.b.example' }, why: 'shares a router name with live a-b.example', pages: '' },
];

/** Runs the CLI as a process; asynchronously, since the stand-in answers from this one. */
function run(label, args, env) {
  console.log(`\n$ pages-reaper ${args.join(' ')}   # ${label}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'run.js'), ...args], {
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    child.on('error', reject);
    child.on('close', (code) => {
      console.log(`(exit code ${code})`);
      resolve(code);
    });
  });
}

async function main() {
  const server = await startRedis();
  const forgejo = await startForgejoStandin({ latencyMs: 2 });
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    for (const site of live) {
      await redis.mset(siteEntries(site));
      forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', ...(site.branches ?? [])] });
    }
    // alice dropped her `stage` branch: its subdomain is stale, her main site is not.
    forgejo.setBranches('alice', 'blog', ['main']);
    for (const { site, pages } of stale) {
      await redis.mset(siteEntries(site));
      if (pages !== undefined) forgejo.setRepo(site.owner, site.repo, { pages });
    }
    await redis.mset(routerEntries('ghost.example')); // a router no mapping produces
    await redis.set('alice:blog:main:public/index.html', '<h1>cached</h1>', 'EX', 300);
    await redis.set('password:alice:blog', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

    console.log(`Seeded ${await redis.dbsize()} keys into redis-server on 127.0.0.1:${server.port}; Forgejo stand-in at ${forgejo.url}.`);
    console.log('Stale: bob.example (repository deleted), old.ivan.example (custom_domain changed),');
    console.log(
      '       a.b.example (no custom_domain; shares its router with live a-b.example), stage.blog.alice.example (branch deleted),',
    );
    console.log('       and an orphaned router for ghost.example. Everything else is live or not ours.');

    const env = { REDIS_HOST: server.host, REDIS_PORT: String(server.port), FORGEJO_HOST: forgejo.url };
    await run('the plan, changing nothing (--verbose: live domains too)', ['reap', '--dry-run', '--verbose'], env);
    const code = await run('the real reap', ['reap'], env);
    await run('again: nothing left to do', ['reap'], env);
    console.log(`\n${await redis.dbsize()} keys remain.`);
    process.exitCode = code;
  } finally {
    await redis.quit();
    await forgejo.close();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
