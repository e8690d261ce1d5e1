// The floor of a scan: a bare `SCAN cursor COUNT 1000` loop over the whole keyspace,
// keeping nothing but a count. Usage: node bench/floor-scan.js PORT [HOST]
'use strict';
const { Redis } = require('ioredis');

async function main() {
  const [port, host = '127.0.0.1'] = process.argv.slice(2);
  const redis = new Redis({ host, port: Number(port) });
  let cursor = '0';
  let keys = 0;
  do {
    const [next, names] = await redis.callBuffer('SCAN', cursor, 'COUNT', 1000);
    cursor = next.toString();
    keys += names.length;
  } while (cursor !== '0');
  await redis.quit();
  process.stdout.write(JSON.stringify({ keys }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
