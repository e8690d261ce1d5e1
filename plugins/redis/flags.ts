import * as Flags from '@oclif/core/flags';
import { UsageError } from '../../src/plugin-kit';

/**
 * A Redis port. Kubernetes gives every pod of a namespace with a Service named `redis`
 * the variable `REDIS_PORT=tcp://10.96.0.12:6379` (a "service link"): say so, not
 * "Expected an integer".
 */
const redisPort = Flags.custom<number>({
  parse: async (input) => {
    if (/^tcp:\/\/\S+:\d+$/i.test(input.trim())) {
      throw new UsageError(
        `REDIS_PORT (or --redis-port) is '${input}', which looks like a Kubernetes service link (set for a Service named redis): ` +
          'set enableServiceLinks: false in the pod spec, or set REDIS_PORT to a port number',
      );
    }
    const value = Number(input);
    if (!/^\s*\d+\s*$/.test(input) || !Number.isInteger(value) || value < 1 || value > 65535) {
      throw new UsageError(`--redis-port (REDIS_PORT): expected a port number from 1 to 65535, got '${input}'`);
    }
    return value;
  },
});

/** The Redis store's flags; each reaches `RedisSettings` camel-cased (`redis-host` → `redisHost`). */
export const redisFlags = {
  'redis-host': Flags.string({ description: 'Redis host', env: 'REDIS_HOST', default: 'localhost', helpGroup: 'STORE' }),
  'redis-port': redisPort({ description: 'Redis port', env: 'REDIS_PORT', default: 6379, helpGroup: 'STORE' }),
  'redis-password': Flags.string({ description: 'Redis password', env: 'REDIS_PASSWORD', helpGroup: 'STORE' }),
  'redis-db': Flags.integer({ description: 'Redis database number', env: 'REDIS_DB', default: 0, min: 0, helpGroup: 'STORE' }),
  'redis-url': Flags.string({
    description: 'redis:// or rediss:// URL; overrides host, port, password and db',
    env: 'REDIS_URL',
    helpGroup: 'STORE',
  }),
  'redis-cluster': Flags.string({
    description: 'Redis Cluster seed nodes, host:port,host:port; overrides host, port and url',
    env: 'REDIS_CLUSTER',
    helpGroup: 'STORE',
  }),
  'redis-sentinels': Flags.string({
    description: 'Redis Sentinels, host:port,host:port; overrides host, port and url',
    env: 'REDIS_SENTINELS',
    helpGroup: 'STORE',
  }),
  'redis-sentinel-name': Flags.string({
    description: 'name of the master the sentinels watch',
    env: 'REDIS_SENTINEL_NAME',
    default: 'mymaster',
    helpGroup: 'STORE',
  }),
  'redis-tls-ca': Flags.string({ description: 'CA certificate file (PEM) for Redis over TLS', env: 'REDIS_TLS_CA', helpGroup: 'STORE' }),
  'redis-tls-cert': Flags.string({ description: 'client certificate file (PEM) for Redis', env: 'REDIS_TLS_CERT', helpGroup: 'STORE' }),
  'redis-tls-key': Flags.string({ description: 'client key file (PEM) for Redis', env: 'REDIS_TLS_KEY', helpGroup: 'STORE' }),
};
