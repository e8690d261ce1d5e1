import { emptyInventory } from '../../src/core/inventory';
import { scanStore } from '../../src/engine/scanner';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { siteKeys, type KeyValues } from './fixtures';

/** A store whose whole keyspace is one SCAN page, as a Redis SCAN COUNT 1000 answers. */
function onePageStore(keys: string[], values: KeyValues): KeyValueStore {
  return {
    async *scan(prefix: string) {
      const page = keys.filter((key) => key.startsWith(prefix));
      if (page.length > 0) yield page;
    },
    async getMany(names: string[]) {
      return names.map((key) => (key in values ? { key, type: 'string', value: Buffer.from(values[key]) } : undefined));
    },
  } as unknown as KeyValueStore;
}

describe('scanStore shares the event loop with verification', () => {
  const site = siteKeys('alice', 'site', 'a.b.com');
  const cache = Array.from({ length: 1000 }, (_, i) => `alice:site:main:page${i}.html`);
  const store = onePageStore([...cache, ...Object.keys(site)], site);

  it('lets due callbacks (Forgejo answers) run while a page of 1,000 keys is classified', async () => {
    const inventory = emptyInventory('traefik');
    const scannedWhenCalled: number[] = [];
    setImmediate(() => scannedWhenCalled.push(inventory.keysScanned));
    await scanStore(store, 'traefik', undefined, undefined, undefined, inventory);
    expect(scannedWhenCalled).toHaveLength(1);
    expect(scannedWhenCalled[0]).toBeGreaterThan(0);
    expect(scannedWhenCalled[0]).toBeLessThan(cache.length);
  });

  it('records the page as a scan without turns would', async () => {
    const inventory = await scanStore(store, 'traefik');
    expect(inventory.keysScanned).toBe(cache.length + Object.keys(site).length);
    expect([...inventory.forwards.keys()]).toEqual(['a.b.com']);
    expect(inventory.routers.size).toBe(1);
  });
});
