import { fnv1a64, NameCounts, ROUTER_SUFFIXES, RouterTable, type NameHash } from '../../src/core/traefik-tables';
import { emptyInventory } from '../../src/core/inventory';
import { routerKeySlash } from '../../src/core/keys';
import { planReap } from '../../src/core/planner';
import { nameOrphanRouters, scanStore } from '../../src/engine/scanner';
import { RepoIndex } from '../../src/triggers/repo-index';
import { collectTargets } from '../../src/triggers/targeted-scope';
import { routerKeys, scanningStore, siteKeys, verdicts } from './fixtures';

const root = 'traefik/http/routers/';

/** Every name of two or more characters hashes alike: every router collides. */
const constantHash: NameHash = (_text, start, end, _dots, out) => {
  out[0] = 7;
  out[1] = end - start > 1 ? 42 : 1;
};

describe('RouterTable', () => {
  it('records the keys SCAN repeats once, and keeps the counts exact', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES);
    const keys = Object.keys(routerKeys('a.com'));
    expect(keys.map((key) => table.addKey(key))).toEqual(keys.map(() => true));
    expect(keys.map((key) => table.addKey(key))).toEqual(keys.map(() => false));
    expect(table.addKey(`${root}custom-a-com/tls/domains/0/main`)).toBe(true);
    expect(table.addKey(`${root}custom-a-com/tls/domains/0/main`)).toBe(false);
    expect(table.size).toBe(1);
    expect(table.keyCount).toBe(keys.length + 1);
    expect(table.get('custom-a-com')!.sort()).toEqual([...keys, `${root}custom-a-com/tls/domains/0/main`].sort());
    expect(table.has('custom-a-com')).toBe(true);
    expect(table.has('custom-b-com')).toBe(false);
    expect(table.get('custom-b-com')).toBeUndefined();
    expect(table.get('custom-')).toBeUndefined();
    expect(table.get('a-com')).toBeUndefined();
  });

  it('records a key at the slash routerKeySlash finds as addKey records it whole', () => {
    const byKey = new RouterTable(root, ROUTER_SUFFIXES);
    const atSlash = new RouterTable(root, ROUTER_SUFFIXES);
    const keys = [...Object.keys(routerKeys('a.com')), `${root}custom-a-com/tls/domains/0/main`, ...Object.keys(routerKeys('b.a.com'))];
    for (const key of [...keys, ...keys]) expect(atSlash.addKeyAt(key, routerKeySlash(key, root))).toBe(byKey.addKey(key));
    expect(atSlash.keyCount).toBe(keys.length);
    for (const name of ['custom-a-com', 'custom-b-a-com']) expect(atSlash.get(name)).toEqual(byKey.get(name));
  });

  it('refuses keys that are not a custom router sub-key', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES);
    for (const key of [
      'traefik/http/services/x/y',
      `${root}pages-domain-base/rule`,
      `${root}custom-/rule`,
      `${root}custom-a/`,
      `${root}custom-a`,
    ])
      expect(table.addKey(key)).toBe(false);
    expect(table.size).toBe(0);
    expect(table.keyCount).toBe(0);
  });

  it('grows and finds every router again', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES);
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      table.addKey(`${root}custom-site${i}-example-com/rule`);
      table.addKey(`${root}custom-site${i}-example-com/entryPoints/${i % 2}`);
      table.addKey(`${root}custom-site${i}-example-com/rule`);
    }
    expect(table.size).toBe(n);
    expect(table.keyCount).toBe(2 * n);
    for (let i = 0; i < n; i += 997)
      expect(table.get(`custom-site${i}-example-com`)).toEqual([
        `${root}custom-site${i}-example-com/rule`,
        `${root}custom-site${i}-example-com/entryPoints/${i % 2}`,
      ]);
    expect(table.has(`custom-site${n}-example-com`)).toBe(false);
  });

  it('keeps names, owner marks and their order when the table grows under them', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES);
    table.addKey(`${root}custom-named-com/rule`, true);
    table.addKey(`${root}custom-odd-com/tls/domains/0/main`);
    table.addKey(`${root}custom-owned-com/rule`);
    table.markOwner('owned.com');
    for (let i = 0; i < 5_000; i++) table.addKey(`${root}custom-filler${i}-com/rule`);
    table.addKey(`${root}custom-late-com/rule`, true);
    expect([...table.knownNames()]).toEqual(['custom-named-com', 'custom-odd-com', 'custom-late-com']);
    expect(table.get('custom-odd-com')).toEqual([`${root}custom-odd-com/tls/domains/0/main`]);
    // Unnamed and not owned: the 5,000 fillers, not the owned router nor the named ones.
    expect(table.countUnnamedOrphans()).toBe(5_000);
    expect(table.nameOrphan(`${root}custom-filler7-com/rule`)).toBe(true);
    expect(table.nameOrphan(`${root}custom-owned-com/rule`)).toBe(false);
    expect(table.unnamedOrphans).toBe(4_999);
    expect([...table.knownNames()].at(-1)).toBe('custom-filler7-com');
  });

  it('records a router whose hash is all zero bits', () => {
    const zeroFor =
      (name: string): NameHash =>
      (text, start, end, dots, out) => {
        fnv1a64(text, start, end, dots, out);
        if (text.slice(start, end) === name) out.fill(0);
      };
    const table = new RouterTable(root, ROUTER_SUFFIXES, zeroFor('zero-com'));
    expect(table.addKey(`${root}custom-zero-com/rule`)).toBe(true);
    expect(table.addKey(`${root}custom-zero-com/rule`)).toBe(false);
    expect(table.size).toBe(1);
    expect(table.get('custom-zero-com')).toEqual([`${root}custom-zero-com/rule`]);
    expect(table.countUnnamedOrphans()).toBe(1);
  });

  it('keeps no names for routers that forward mappings own, and names the others from a second pass', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES);
    const keys = [`${root}custom-a-b-com/rule`, `${root}custom-c-com/rule`, `${root}custom-c-com/priority`, `${root}custom-d-com/rule`];
    for (const key of keys) table.addKey(key);
    expect([...table.knownNames()]).toEqual([]);
    // A domain owns the router of its name with every `.` as `-`, hashed in place.
    expect(table.markOwner('a.b.com')).toBe(true);
    expect(table.markOwner('d.com')).toBe(true);
    expect(table.markOwner('x.com')).toBe(false);
    expect(table.countUnnamedOrphans()).toBe(1);
    expect(keys.map((key) => table.nameOrphan(key))).toEqual([false, true, false, false]);
    expect(table.nameOrphan(`${root}custom-new-com/rule`)).toBe(false); // not seen by the scan
    expect(table.unnamedOrphans).toBe(0);
    expect([...table.knownNames()]).toEqual(['custom-c-com']);
  });

  it('knows the name of a router added by name or with an unknown sub-key at once', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES);
    table.addKey(`${root}custom-x-com/odd`);
    table.addKey(`${root}custom-y-com/rule`, true);
    table.addKey(`${root}custom-z-com/rule`);
    expect(table.countUnnamedOrphans()).toBe(1);
    expect([...table.knownNames()].sort()).toEqual(['custom-x-com', 'custom-y-com']);
    expect(table.get('custom-x-com')).toEqual([`${root}custom-x-com/odd`]);
  });

  it('hashes names and domains alike, each 16-bit unit in place', () => {
    const at = (text: string, start: number, end: number, dots: boolean) => {
      const out = new Uint32Array(2);
      fnv1a64(text, start, end, dots, out);
      return [...out];
    };
    expect(at('a.b-c.com', 0, 9, true)).toEqual(at(`${root}custom-a-b-c-com/rule`, root.length + 7, root.length + 16, false));
    expect(at('a.b', 0, 3, false)).not.toEqual(at('a-b', 0, 3, false));
    expect(at('é.日本', 0, 4, true)).not.toEqual(at('e.日本', 0, 4, true));
    const [high, low] = at('ab', 0, 2, false);
    expect(high).not.toBe(low);
  });

  it('a collision only ever keeps more: an orphan sharing a hash with an owned router is never named', () => {
    const table = new RouterTable(root, ROUTER_SUFFIXES, constantHash);
    expect(table.addKey(`${root}custom-live-com/rule`)).toBe(true);
    expect(table.addKey(`${root}custom-ghost-com/rule`)).toBe(false); // one entry: looks like a repeat
    expect(table.addKey(`${root}custom-ghost-com/priority`)).toBe(true);
    expect(table.size).toBe(1);
    table.markOwner('live.com');
    expect(table.countUnnamedOrphans()).toBe(0);
    expect(table.nameOrphan(`${root}custom-ghost-com/rule`)).toBe(false);
    expect([...table.knownNames()]).toEqual([]);
  });

  it('probes past colliding slots and keeps routers with distinct hashes apart', () => {
    // Same low word (one slot), different high words: distinct routers.
    const slotClash: NameHash = (text, start, end, dots, out) => {
      fnv1a64(text, start, end, dots, out);
      out[1] = 5;
    };
    const table = new RouterTable(root, ROUTER_SUFFIXES, slotClash);
    for (let i = 0; i < 100; i++) table.addKey(`${root}custom-s${i}/rule`);
    expect(table.size).toBe(100);
    for (let i = 0; i < 100; i += 7) expect(table.get(`custom-s${i}`)).toEqual([`${root}custom-s${i}/rule`]);
    table.markOwner('s3');
    expect(table.countUnnamedOrphans()).toBe(99);
  });
});

describe('scanStore names orphan routers', () => {
  const live = { ...siteKeys('alice', 'site', 'a.b.com'), ...siteKeys('bob', 'blog', 'bob.dev') };
  const orphan = { ...routerKeys('ghost.com'), [`${root}custom-ghost-com/tls/options`]: 'x', ...routerKeys('gone.org') };

  it('scans once when every router is produced by a forward mapping', async () => {
    const store = scanningStore(live);
    const inventory = await scanStore(store, 'traefik');
    expect(store.prefixes).toEqual(['']);
    expect(inventory.routers.size).toBe(2);
    expect([...inventory.routers.knownNames()]).toEqual([]);
  });

  it('names the orphans from a second scan of the router prefix, and plans them as before', async () => {
    const store = scanningStore({ ...live, ...orphan, 'traefik/http/routers/pages-domain-base/rule': 'x' });
    const inventory = await scanStore(store, 'traefik');
    expect(store.prefixes).toEqual(['', 'traefik/http/routers/custom-']);
    expect([...inventory.routers.knownNames()].sort()).toEqual(['custom-ghost-com', 'custom-gone-org']);
    expect(inventory.routers.size).toBe(4);
    expect(inventory.routers.keyCount).toBe(4 * 7 + 1);
    const plan = planReap(inventory, verdicts({}), new Map());
    expect(plan.groups.map((g) => `${g.kind} ${g.subject} ${g.keys.length}`)).toEqual([
      'orphan-router custom-ghost-com 8',
      'orphan-router custom-gone-org 7',
    ]);
  });

  it('stops the second scan once every orphan is named', async () => {
    const inventory = emptyInventory('traefik');
    const keys = { ...routerKeys('ghost.com'), ...routerKeys('late.com') };
    inventory.routers.addKey(Object.keys(keys)[0]);
    const store = scanningStore(keys, 1);
    let read = 0;
    const scan = store.scan.bind(store);
    store.scan = async function* (prefix: string) {
      for await (const batch of scan(prefix)) {
        read += batch.length;
        yield batch;
      }
    };
    await nameOrphanRouters(store, inventory);
    expect([...inventory.routers.knownNames()]).toEqual(['custom-ghost-com']);
    expect(read).toBe(1);
  });

  it('with colliding hashes, keeps the orphan: it is never named, never planned', async () => {
    const inventory = emptyInventory('traefik');
    inventory.routers = new RouterTable(root, ROUTER_SUFFIXES, constantHash);
    for (const key of Object.keys({ ...routerKeys('live.com'), ...routerKeys('ghost.com') })) inventory.routers.addKey(key);
    inventory.forwards.set('live.com', {
      domain: 'live.com',
      key: 'custom_domain:live.com',
      value: Buffer.from('alice:live'),
      target: { owner: 'alice', repo: 'live' },
    });
    const store = scanningStore(routerKeys('ghost.com'));
    await nameOrphanRouters(store, inventory);
    expect(store.prefixes).toEqual([]);
    const plan = planReap(inventory, verdicts({ 'live.com': 'live' }), new Map());
    expect(plan.groups).toEqual([]);
  });
});

describe('a targeted scope', () => {
  it('reads routers by name, so it knows its orphans’ names without scanning', async () => {
    // The forward key is gone; the reverse key still names the domain, whose router is left.
    const store = scanningStore({ 'ghost:site': 'ghost.com', ...routerKeys('ghost.com') });
    store.scan = () => {
      throw new Error('a trigger must not scan the keyspace');
    };
    const inventory = await collectTargets(store, 'traefik', [{ owner: 'ghost', repo: 'site' }], new RepoIndex(), () => {});
    expect([...inventory.routers.knownNames()]).toEqual(['custom-ghost-com']);
    const plan = planReap(inventory, verdicts({}), new Map());
    expect(plan.groups.map((g) => `${g.kind} ${g.subject} ${g.keys.length}`)).toEqual(['orphan-router custom-ghost-com 7']);
  });
});

describe('NameCounts', () => {
  it('counts names by hash, dots read as dashes when asked, through growth', () => {
    const counts = new NameCounts();
    for (let i = 0; i < 5_000; i++) counts.add(`site-${i}.example.com`, true);
    counts.add('site-7-example-com', false);
    expect(counts.count('site-7-example-com', false)).toBe(2);
    expect(counts.count('site-7.example.com', true)).toBe(2);
    expect(counts.count('site-8-example-com', true)).toBe(1);
    expect(counts.count('site-5000-example-com', true)).toBe(0);
    for (let i = 0; i < 300; i++) counts.add('same', false);
    expect(counts.count('same', false)).toBe(255);
  });
});
