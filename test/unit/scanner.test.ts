import { emptyInventory } from '../../src/core/inventory';
import { scanStore } from '../../src/engine/scanner';
import { scanningStore, siteKeys } from './fixtures';

describe('scanStore shares the event loop with verification', () => {
  const site = siteKeys('alice', 'site', 'a.b.com');
  const cache = Array.from({ length: 1000 }, (_, i) => `alice:site:main:page${i}.html`);
  // One SCAN page, as a Redis SCAN COUNT 1000 answers.
  const store = scanningStore({ ...Object.fromEntries(cache.map((key) => [key, '<html>'])), ...site }, 2000);

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
