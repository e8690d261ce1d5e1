// The floor of a scan on etcd: the etcd plugin's own windowed range requests over the
// whole keyspace (keys only), keeping nothing but a count, with no engine behind them.
// Prints the keys, the range requests and the keys etcd counted for them (each request
// costs etcd a walk over every key in its window).
// Usage: node bench/floor-etcd-scan.js ENDPOINT   (after npm run build)
'use strict';
const { connectEtcd } = require('../dist/plugins/etcd');

async function main() {
  const [endpoint] = process.argv.slice(2);
  const store = await connectEtcd({ etcdEndpoints: endpoint });
  const kv = store.client.kv;
  const range = kv.range.bind(kv);
  let counted = 0;
  kv.range = async (request, options) => {
    const reply = await range(request, options);
    counted += Number(reply.count);
    return reply;
  };
  let keys = 0;
  const before = store.roundTrips();
  for await (const batch of store.scan('')) keys += batch.length;
  const requests = store.roundTrips() - before;
  await store.close();
  process.stdout.write(JSON.stringify({ keys, requests, counted, countedPerKey: counted / keys }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
