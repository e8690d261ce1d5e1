const { Redis } = require('ioredis');
const { siteEntries } = require('./test/support/plugin-writer');
(async () => { const r = new Redis(39031); const p = r.pipeline();
for (let i = 0; i < 10000; i += 10) p.mset(siteEntries({ owner: 'user' + (i % 997), repo: 'site' + i, domain: 'site' + i + '.example' + (i % 50) + '.com' }));
await p.exec(); console.log(await r.dbsize()); await r.quit(); })();
