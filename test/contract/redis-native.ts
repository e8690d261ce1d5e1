/**
 * What the contract's harness does through a native ioredis client: seed, write a key of
 * another type, read and flush. One version for a single master (Redis, Sentinel) and
 * one for a Redis Cluster.
 */
import type { Cluster, Redis } from 'ioredis';
import type { KeyValueStoreHarness, SeedEntry } from './key-value-store.contract';

type NativeOperations = Pick<KeyValueStoreHarness, 'seed' | 'seedOtherType' | 'read' | 'flush'>;

function eitherClient(client: () => Redis | Cluster): Pick<NativeOperations, 'seedOtherType' | 'read'> {
  return {
    async seedOtherType(key: string) {
      await client().del(key);
      await client().hset(key, 'field', 'value');
    },
    async read(key: string) {
      return (await client().getBuffer(key)) ?? undefined;
    },
  };
}

/** On one master: writes pipelined 500 at a time. */
export function nativeRedisOperations(client: () => Redis): NativeOperations {
  return {
    ...eitherClient(client),
    async seed(entries: SeedEntry[]) {
      for (let i = 0; i < entries.length; i += 500) {
        const pipeline = client().pipeline();
        for (const { key, value, ttlSeconds } of entries.slice(i, i + 500)) {
          if (ttlSeconds === undefined) pipeline.set(key, value);
          else pipeline.set(key, value, 'EX', ttlSeconds);
        }
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      }
    },
    async flush() {
      await client().flushdb();
    },
  };
}

/** On a cluster: a pipeline must stay on one node, so writes go one by one, 200 in flight. */
export function nativeClusterOperations(client: () => Cluster): NativeOperations {
  return {
    ...eitherClient(client),
    async seed(entries: SeedEntry[]) {
      for (let i = 0; i < entries.length; i += 200) {
        await Promise.all(
          entries
            .slice(i, i + 200)
            .map(({ key, value, ttlSeconds }) =>
              ttlSeconds === undefined ? client().set(key, value) : client().set(key, value, 'EX', ttlSeconds),
            ),
        );
      }
    },
    async flush() {
      await Promise.all(
        client()
          .nodes('master')
          .map((node) => node.flushall()),
      );
    },
  };
}
