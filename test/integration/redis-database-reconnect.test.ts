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
  // Disconnected in `finally`: a client left open keeps jest from ending when an expectation fails.
  let zero: Redis | undefined;
  try {
    const five = admin();
    await five.select(5);
    await five.mset(KEYS);
    five.disconnect();
    const group = Object.entries(KEYS).map(([key, value]) => ({ key, expected: Buffer.from(value) }));

    await server.stop();
    server = await startRedis({ port, databases: 1 });
    zero = admin();
    await zero.mset(KEYS);

    // Said as the connect says it, with the setting to fix, not in the script's words.
    const refused = `Redis at redis://${server.host}:${port}/5 refuses database 5 (the server has fewer databases); choose a database the server has with --redis-db (REDIS_DB)`;
    await expect(store.deleteGroupsIfUnchanged([{ keys: group }])).rejects.toThrow(refused);
    expect(await zero.mget(...Object.keys(KEYS))).toEqual(Object.values(KEYS));
    await expect(store.getMany(Object.keys(KEYS))).rejects.toThrow(refused);
    await expect(store.putMany([{ key: 'new', type: 'string', value: Buffer.from('v') }], 'if-absent')).rejects.toThrow(refused);
    await expect(connectRedis({ redisHost: server.host, redisPort: port, redisDb: 5, storeTimeout: 5000 })).rejects.toThrow(refused);
    await expect(connectRedis({ redisUrl: `redis://${server.host}:${port}/5`, storeTimeout: 5000 })).rejects.toThrow(
      /refuses database 5 \(the server has fewer databases\); choose a database the server has with the \/N of --redis-url \(REDIS_URL\)$/,
    );
    expect(await zero.exists('new')).toBe(0);
  } finally {
    zero?.disconnect();
    await store.close();
    await server.stop();
  }
});
