import { emptyInventory, sanitizedOwners } from '../../src/core/inventory';
import { scanStore, stepThrough } from '../../src/engine/scanner';
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

describe('scanStore hands the plan the owners of the Traefik names it found', () => {
  it('as finding them again over the complete inventory would', async () => {
    // Two domains give the router name custom-a-b-com; a dashed one is alone on its name.
    const keys = { ...siteKeys('o', 'r1', 'a.b.com'), ...siteKeys('o', 'r2', 'a-b.com'), ...siteKeys('o', 'r3', 'x-y.org') };
    const inventory = await scanStore(scanningStore(keys, 1000), 'traefik');
    const again = sanitizedOwners(inventory);
    expect(inventory.owners).toBeDefined();
    for (const name of ['a-b-com', 'x-y-org', 'nobody-com']) {
      expect(inventory.owners!.of(name).sort()).toEqual(again.of(name).sort());
      expect(inventory.owners!.count(name)).toBe(again.count(name));
    }
    expect([...inventory.owners!.shared()]).toEqual([...again.shared()]);
    expect(inventory.owners!.of('a-b-com').sort()).toEqual(['a-b.com', 'a.b.com']);
  });
});

describe('scanStore reads the values of a few pages at once', () => {
  const domains = ['a.com', 'b.com', 'c.com', 'd.com', 'e.com'];
  const forwards = Object.fromEntries(domains.map((domain, i) => [`custom_domain:${domain}`, `alice:site${i}`]));

  /** One key a page; each value read answers after a few ms, counting the reads out at once. */
  function slowStore(keyValues: Record<string, string>, pages: string[][], failOnPage?: number) {
    const store = scanningStore(keyValues, 1);
    const reads = { out: 0, mostOut: 0, byKey: new Map<string, number>(), calls: 0 };
    return {
      reads,
      store: {
        ...store,
        async *scan() {
          yield* pages;
        },
        async getMany(names: string[], options?: { withTtl?: boolean }) {
          const call = ++reads.calls;
          reads.out++;
          reads.mostOut = Math.max(reads.mostOut, reads.out);
          for (const name of names) reads.byKey.set(name, (reads.byKey.get(name) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
          reads.out--;
          if (call === failOnPage) throw new Error('connection reset');
          return store.getMany(names, options);
        },
      } as typeof store,
    };
  }

  it('classifies the next pages while earlier ones are read, and hands mappings on in SCAN order', async () => {
    const { store, reads } = slowStore(
      forwards,
      Object.keys(forwards).map((key) => [key]),
    );
    const seen: string[] = [];
    const inventory = await scanStore(store, 'traefik', (mapping) => seen.push(mapping.domain));
    expect(reads.mostOut).toBeGreaterThan(1);
    expect(seen).toEqual(domains);
    expect([...inventory.forwards.keys()].sort()).toEqual(domains);
    expect(inventory.keysScanned).toBe(domains.length);
  });

  it('reads a key once when SCAN returns it again while its first read is out', async () => {
    const key = 'custom_domain:a.com';
    const { store, reads } = slowStore(forwards, [[key], [key], ['custom_domain:b.com'], [key]]);
    const seen: string[] = [];
    const inventory = await scanStore(store, 'traefik', (mapping) => seen.push(mapping.domain));
    expect(reads.byKey.get(key)).toBe(1);
    expect(seen).toEqual(['a.com', 'b.com']);
    expect(inventory.keysScanned).toBe(2);
  });

  it('fails with the first failed read, the reads still out settled without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { store } = slowStore(
        forwards,
        Object.keys(forwards).map((key) => [key]),
        2,
      );
      const seen: string[] = [];
      await expect(scanStore(store, 'traefik', (mapping) => seen.push(mapping.domain))).rejects.toThrow('connection reset');
      expect(seen).toEqual(['a.com']);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('stepThrough', () => {
  function* counting(steps: number, log: number[]): Generator<void, string> {
    for (let i = 1; i <= steps; i++) {
      log.push(i);
      yield;
    }
    return 'done';
  }

  it('runs every step, the event loop turning between them, to the value', async () => {
    let turned = false;
    setImmediate(() => (turned = true));
    const seen: boolean[] = [];
    function* observing(): Generator<void, string> {
      for (let i = 0; i < 3; i++) {
        seen.push(turned);
        yield;
      }
      return 'done';
    }
    await expect(stepThrough(observing())).resolves.toBe('done');
    // The first step runs at once; what was due on the event loop ran before the second.
    expect(seen).toEqual([false, true, true]);
  });

  it('stops at the first step after the signal aborts, not once every step is done', async () => {
    const log: number[] = [];
    const stop = new AbortController();
    const steps = counting(1000, log);
    const running = stepThrough(steps, stop.signal);
    setImmediate(() => stop.abort(new Error('SIGTERM')));
    await expect(running).rejects.toThrow('SIGTERM');
    expect(log.length).toBeLessThan(10);
  });
});
