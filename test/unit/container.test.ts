import 'reflect-metadata';
import { createRuntime, type ReaperSettings } from '../../src/container';
import { CLOCK, type Clock } from '../../src/ports/clock';
import { KEY_VALUE_STORE, type KeyValueStore } from '../../src/ports/key-value-store';
import { UsageError } from '../../src/report/errors';

const SETTINGS: ReaperSettings = { store: 'redis', rootKey: 'traefik', redisHost: '127.0.0.1', redisPort: 1, storeTimeout: 1000 };

/** A store with no keys that records whether it was closed. */
function emptyStore(): KeyValueStore & { closed: boolean } {
  return {
    closed: false,
    describe: () => 'empty://',
    async *scan() {},
    getMany: async (keys) => keys.map(() => undefined),
    putMany: async (entries) => entries.map(() => 'written' as const),
    deleteGroupsIfUnchanged: async (groups) => groups.map(() => 'changed' as const),
    roundTrips: () => 0,
    async close() {
      this.closed = true;
    },
  };
}

describe('createRuntime (the composition root)', () => {
  it('a part rebound by configure replaces the CLI default; the engine runs on it', async () => {
    const store = emptyStore();
    const clock: Clock = { now: () => 42_000 };
    const runtime = await createRuntime(SETTINGS, {
      needsSource: false,
      configure: (container) => {
        container.rebind<KeyValueStore>(KEY_VALUE_STORE).toConstantValue(store);
        container.rebind<Clock>(CLOCK).toConstantValue(clock);
      },
    });
    expect(runtime.store).toBe(store);
    const report = await runtime.engine.run('scan');
    expect(report.startedAt).toBe(42_000);
    expect(report.inventory.forwards.size).toBe(0);
    await runtime.close();
    expect(store.closed).toBe(true);
  });

  it("a part's own error comes through as thrown (typed, not wrapped by the container)", async () => {
    await expect(createRuntime({ ...SETTINGS, store: 'no-such-store' })).rejects.toThrow(UsageError);
    await expect(createRuntime({ ...SETTINGS, store: 'no-such-store' })).rejects.toThrow(/^cannot load store plugin 'no-such-store'/);
  });

  it('a missing --forgejo-host fails before the store is asked for', async () => {
    let connects = 0;
    const failing = createRuntime(SETTINGS, {
      needsSource: true,
      configure: (container) => {
        container.rebind<KeyValueStore>(KEY_VALUE_STORE).toDynamicValue(() => {
          connects++;
          return emptyStore();
        });
      },
    });
    await expect(failing).rejects.toThrow('missing --forgejo-host (or FORGEJO_HOST)');
    expect(connects).toBe(0);
  });

  it('without configure (the CLI) the parts resolve in the same order: the source is checked before the store connects', async () => {
    // Port 1 refuses connections: a store asked first would fail with "cannot reach Redis".
    await expect(createRuntime(SETTINGS, { needsSource: true })).rejects.toThrow('missing --forgejo-host (or FORGEJO_HOST)');
    await expect(createRuntime(SETTINGS, { needsSource: false })).rejects.toThrow(/cannot reach Redis/);
  });
});
