/**
 * A run pointed at a database other than 0 keeps to it across a reconnection: ioredis
 * selects it again, but a server that comes back refusing it only makes ioredis emit an
 * error, and the commands after run in database 0. Every script selects the database
 * itself, so a delete fails there instead of going through in database 0.
 */
import { Redis } from 'ioredis';
import { connectRedis } from '../../plugins/redis';
import { startRedis } from '../support/servers';

const KEYS = { 'custom_domain:old.example.com': 'gone:site', 'gone:site': 'old.example.com' };

it('a delete in database 5 fails once the restarted server has no database 5; database 0 keeps its keys', async () => {
  let server = await startRedis();
  const port = server.port;
  const store = await connectRedis({ redisHost: server.host, redisPort: port, redisDb: 5, storeTimeout: 5000 });
  const admin = () => new Redis({ host: server.host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const five = admin();
    await five.select(5);
    await five.mset(KEYS);
    five.disconnect();
    const group = Object.entries(KEYS).map(([key, value]) => ({ key, expected: Buffer.from(value) }));

    await server.stop();
    server = await startRedis({ port, databases: 1 });
    const zero = admin();
    await zero.mset(KEYS);

    await expect(store.deleteGroupsIfUnchanged([{ keys: group }])).rejects.toThrow(/DB index is out of range/);
    expect(await zero.mget(...Object.keys(KEYS))).toEqual(Object.values(KEYS));
    await expect(store.getMany(Object.keys(KEYS))).rejects.toThrow(/DB index is out of range/);
    zero.disconnect();
  } finally {
    await store.close();
    await server.stop();
  }
});
