/**
 * The pair most CLI tests run against: a private redis-server (with a client on it) and
 * a Forgejo stand-in, started together for a describe block and reset before each test.
 */
import { Redis } from 'ioredis';
import { startForgejoStandin } from './forgejo-standin';
import { startRedis } from './servers';

export type RedisServer = Awaited<ReturnType<typeof startRedis>>;
export type Standin = Awaited<ReturnType<typeof startForgejoStandin>>;

export interface RedisAndStandin {
  server: RedisServer;
  standin: Standin;
  redis: Redis;
}

/** The flags that point a CLI run at a test's Redis and stand-in. */
export function connectionFlags(server: { host: string; port: number }, standin: { url: string }): string[] {
  return ['--redis-host', server.host, '--redis-port', String(server.port), '--forgejo-host', standin.url];
}

export async function startRedisAndStandin(
  options: { password?: string; standin?: Parameters<typeof startForgejoStandin>[0] } = {},
): Promise<RedisAndStandin> {
  const [server, standin] = await Promise.all([startRedis({ password: options.password }), startForgejoStandin(options.standin)]);
  const redis = new Redis({ host: server.host, port: server.port, password: options.password, lazyConnect: true });
  await redis.connect();
  return { server, standin, redis };
}

/** Stops whatever was started; safe when beforeAll failed halfway. */
export async function stopRedisAndStandin({ server, standin, redis }: Partial<RedisAndStandin>): Promise<void> {
  await redis?.quit();
  await Promise.all([server?.stop(), standin?.close()]);
}

/** An empty store and a stand-in without queued failures or counted requests. */
export async function resetRedisAndStandin({ standin, redis }: Pick<RedisAndStandin, 'standin' | 'redis'>): Promise<void> {
  await redis.flushall();
  standin.clearFailures();
  standin.resetStats();
}
