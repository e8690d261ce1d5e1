/**
 * BoundedStore (DESIGN §4.10): every store call gives up after --store-timeout, or at
 * once on interrupt, whatever the store underneath does. The stores here are fakes
 * that never answer; the real clients are covered by test/e2e/hardening.test.ts.
 */
import { BoundedStore, connectionLossDetail } from '../../src/engine/bounded-store';
import { ReaperError } from '../../src/report/errors';
import type { KeyValueStore } from '../../src/ports/key-value-store';

const never = <T>() => new Promise<T>(() => {});

function silentStore(overrides: Partial<KeyValueStore> = {}): KeyValueStore {
  return {
    describe: () => 'fake://silent',
    async *scan() {
      yield ['a', 'b'];
      await never<void>();
    },
    getMany: () => never(),
    putMany: () => never(),
    deleteGroupsIfUnchanged: () => never(),
    roundTrips: () => 0,
    close: () => never(),
    ...overrides,
  };
}

async function drain(iterable: AsyncIterable<string[]>): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of iterable) batches.push(batch);
  return batches;
}

describe('BoundedStore', () => {
  it('a call that never answers fails after the timeout, naming the store and --store-timeout', async () => {
    const store = new BoundedStore(silentStore(), 50);
    for (const call of [store.getMany(['k']), store.putMany([], 'if-absent'), store.deleteGroupsIfUnchanged([]), drain(store.scan(''))]) {
      await expect(call).rejects.toThrow(/fake:\/\/silent did not answer within 0\.05 s .*--store-timeout/);
    }
  });

  it("the client's own timeout error becomes the same one line", async () => {
    const store = new BoundedStore(silentStore({ getMany: () => Promise.reject(new Error('Command timed out')) }), 10_000);
    await expect(store.getMany(['k'])).rejects.toThrow(/fake:\/\/silent did not answer within 10 s \(reading\).*--store-timeout/);
  });

  it('an interrupt ends a hung call at once with the interrupt, and a later call does not start', async () => {
    const interrupt = new AbortController();
    let started = 0;
    const store = new BoundedStore(silentStore({ getMany: () => (started++, never()) }), 60_000, interrupt.signal);
    const pending = store.getMany(['k']);
    interrupt.abort(new Error('interrupted'));
    await expect(pending).rejects.toThrow('interrupted');
    await expect(store.getMany(['k'])).rejects.toThrow('interrupted');
    expect(started).toBe(1);
  });

  it('an interrupt lets a delete batch already sent finish; one that never ends is given up after the grace', async () => {
    const interrupt = new AbortController();
    let finish: (outcomes: Array<'deleted'>) => void = () => {};
    const finishing = new BoundedStore(
      silentStore({ deleteGroupsIfUnchanged: () => new Promise((resolve) => (finish = resolve)) }),
      60_000,
      interrupt.signal,
    );
    const sent = finishing.deleteGroupsIfUnchanged([]);
    interrupt.abort(new Error('interrupted'));
    finish(['deleted']);
    await expect(sent).resolves.toEqual(['deleted']);

    const later = new AbortController();
    const hung = new BoundedStore(silentStore(), 60_000, later.signal);
    const stuck = hung.deleteGroupsIfUnchanged([]);
    later.abort(new Error('interrupted'));
    await expect(stuck).rejects.toThrow('interrupted');
    // After the interrupt, no new batch starts.
    await expect(finishing.deleteGroupsIfUnchanged([])).rejects.toThrow('interrupted');
  });

  it('answers and errors pass through unchanged; close never hangs the run', async () => {
    const store = new BoundedStore(
      silentStore({ getMany: async (keys) => keys.map(() => undefined), putMany: () => Promise.reject(new Error('READONLY')) }),
      50,
    );
    await expect(store.getMany(['a', 'b'])).resolves.toEqual([undefined, undefined]);
    await expect(store.putMany([], 'overwrite')).rejects.toThrow('READONLY');
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('an interrupted run closes without waiting for the store: its close is started, never awaited', async () => {
    let closing = false;
    const interrupt = new AbortController();
    const store = new BoundedStore(silentStore({ close: () => ((closing = true), never()) }), 60_000, interrupt.signal);
    interrupt.abort(new Error('SIGTERM'));
    const started = Date.now();
    await expect(store.close()).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(100);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closing).toBe(true);
  });

  it.each([
    [
      'ioredis, once its retries are spent',
      'Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.',
      'the connection dropped and did not come back',
    ],
    ['ioredis, on a closed connection', 'Connection is closed.', 'the connection was closed'],
    [
      'grpc (etcd), with no connection',
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ',
      'connect ECONNREFUSED 127.0.0.1:2379',
    ],
    ['grpc (etcd), a connection dropped', '14 UNAVAILABLE: Connection dropped', 'Connection dropped'],
    ['a socket reset', 'read ECONNRESET', 'read ECONNRESET'],
  ])(
    "a connection lost mid-run (%s) is one line naming the store, what it was doing and the fix, not the client's words",
    async (_, said, detail) => {
      expect(connectionLossDetail(said)).toBe(detail);
      const lost = () => Promise.reject(new Error(said));
      const store = new BoundedStore(silentStore({ getMany: lost, deleteGroupsIfUnchanged: lost }), 10_000);
      const reading = store.getMany(['k']).catch((error: unknown) => error);
      expect(await reading).toMatchObject({
        problem: `lost the store fake://silent while reading (${detail})`,
        hint: 'check that it is up and reachable, then run again',
      });
      // The CLI keeps them apart: `message` and `hint` of a --json error document.
      expect(ReaperError.from(await reading)).toMatchObject({
        kind: 'fatal',
        exitCode: 1,
        message: `lost the store fake://silent while reading (${detail}); check that it is up and reachable, then run again`,
        hint: 'check that it is up and reachable, then run again',
      });
      await expect(store.deleteGroupsIfUnchanged([])).rejects.toThrow(`lost the store fake://silent while deleting (${detail})`);
    },
  );

  it('an error that is not a lost connection passes through as the store said it', async () => {
    for (const said of [
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'etcdserver: too many operations in txn request',
    ]) {
      expect(connectionLossDetail(said)).toBeUndefined();
      const store = new BoundedStore(silentStore({ getMany: () => Promise.reject(new Error(said)) }), 10_000);
      await expect(store.getMany(['k'])).rejects.toThrow(new Error(said));
    }
  });

  it("passes on the inner store's bound on one atomic group, and has none when the inner has none", () => {
    expect(new BoundedStore(silentStore({ maxGroupSize: () => 128 }), 50).maxGroupSize?.()).toBe(128);
    expect(new BoundedStore(silentStore(), 50).maxGroupSize).toBeUndefined();
  });
});
