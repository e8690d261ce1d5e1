/**
 * The safety property of DESIGN §4.1 and §4.8, tried at random: while a reap runs, the
 * plugin registers domains (new ones, leftovers, orphans, names shared through the
 * sanitized router name, stale domains taken over by another repository), writing its
 * keys in its own order and sometimes in two parts around a step of the reap (on a Redis
 * Cluster, also between two of a group's key-by-key deletes). Whatever
 * the interleaving, no key a registration wrote is deleted. Seeded, so a failure
 * replays; bounded in rounds and size.
 */
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { Harness } from '../support/harness';
import { pagesFile, siteEntries } from '../support/plugin-writer';
import { etcdBackend, redisBackend, redisClusterBackend } from '../support/store-backend';

const ROUNDS = 40;
const PAIRS = 6;

/** mulberry32: a small seeded generator, so every round can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Initial = 'live' | 'stale' | 'leftovers' | 'orphan-reverse' | 'absent';
const INITIALS: Initial[] = ['live', 'stale', 'leftovers', 'orphan-reverse', 'absent'];
/**
 * Where a part of a registration is written: before a Forgejo answer, a store read, the
 * deletes, between two of a group's deletes (a Redis Cluster deletes key by key), or
 * after the run.
 */
type Moment = 'verify' | 'read' | 'apply' | 'delete' | 'after';
const MOMENTS: Moment[] = ['verify', 'read', 'apply', 'after'];
const CLUSTER_MOMENTS: Moment[] = ['verify', 'read', 'apply', 'delete', 'after'];

/** The compare-and-delete a Redis Cluster store sends per key, under the engine's bounds; undefined elsewhere. */
type PerKeyDeletes = { reaperDeleteIfEqual: (...args: unknown[]) => Promise<number> };
function perKeyDeletes(store: KeyValueStore): PerKeyDeletes | undefined {
  const inner = (store as unknown as { inner?: unknown }).inner ?? store;
  return (inner as { cluster?: PerKeyDeletes }).cluster;
}

interface Part {
  moment: Moment;
  entries: Record<string, string>;
  /** The part of the same registration written before this one, if any. */
  previous?: Part;
}

const RACED = [redisBackend, etcdBackend, redisClusterBackend];

describe.each(RACED)('on $name: the plugin registering at random moments of a reap', ({ name, create }) => {
  const h = new Harness(create());
  const totals = { deleted: 0, changed: 0, registrations: 0, betweenDeletes: 0 };

  beforeAll(() => h.start(), 120_000);
  afterAll(() => h.stop());

  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))('seed %i: no key a registration wrote is deleted', async (seed) => {
    await h.reset();
    const random = generator(seed * 7919);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const moments = name === redisClusterBackend.name ? CLUSTER_MOMENTS : MOMENTS;
    const shuffle = <T>(items: T[]): T[] =>
      items
        .map((item) => [random(), item] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, item]) => item);

    // Pairs of domains with one router name (`w1.s3.example` and `w1-s3.example`).
    const domains = Array.from({ length: PAIRS }, (_, i) => [`w${i}.s${seed}.example`, `w${i}-s${seed}.example`]).flat();
    const owner = (domain: string, generation: string) => `${generation}${domain.replace(/[.]/g, '_')}`;
    const initial = new Map<string, Initial>();
    for (const domain of domains) {
      const state = pick(INITIALS);
      initial.set(domain, state);
      const site = { owner: owner(domain, 'old'), repo: 'pages', domain, redirects: Math.floor(random() * 3) };
      const entries = siteEntries(site);
      if (state === 'live') {
        h.forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
        await h.store.mset(entries);
      } else if (state === 'stale') {
        await h.store.mset(entries);
      } else if (state === 'leftovers') {
        const { [`custom_domain:${domain}`]: _forward, [`${site.owner}:pages`]: _reverse, ...rest } = entries;
        await h.store.mset(rest);
      } else if (state === 'orphan-reverse') {
        await h.store.mset({ [`${site.owner}:pages`]: domain });
      }
    }
    // One live site at least, so a Forgejo answer is always awaited.
    const anchor = { owner: `anchor${seed}`, repo: 'pages', domain: `anchor.s${seed}.example` };
    h.forgejo.setRepo(anchor.owner, anchor.repo, { pages: pagesFile(anchor) });
    await h.store.mset(siteEntries(anchor));

    // Registrations: a domain without a live registration, by a repository of its own.
    const candidates = domains.filter((d) => initial.get(d) !== 'live');
    const registered = shuffle(candidates).slice(0, 1 + Math.floor(random() * Math.min(4, candidates.length)));
    const parts: Part[] = [];
    for (const domain of registered) {
      const site = { owner: owner(domain, 'new'), repo: 'pages', domain, redirects: Math.floor(random() * 3) };
      h.forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site) });
      const all = siteEntries(site);
      const forward = `custom_domain:${domain}`;
      const reverse = `${site.owner}:pages`;
      // The plugin writes the mappings, then the Traefik keys (a Go map: any order).
      const order = [forward, reverse, ...shuffle(Object.keys(all).filter((k) => k !== forward && k !== reverse))];
      const split = 1 + Math.floor(random() * order.length);
      const [first, second] = [pick(moments), pick(moments)].sort((a, b) => moments.indexOf(a) - moments.indexOf(b));
      const head: Part = { moment: first, entries: Object.fromEntries(order.slice(0, split).map((k) => [k, all[k]])) };
      parts.push(head);
      if (split < order.length)
        parts.push({ moment: second, entries: Object.fromEntries(order.slice(split).map((k) => [k, all[k]])), previous: head });
    }
    totals.registrations += registered.length;

    const written: Record<string, string> = {};
    const done = new Set<Part>();
    const writePart = async (part: Part): Promise<void> => {
      if (done.has(part)) return;
      // The plugin's order holds: a registration's second part never comes before its first.
      if (part.previous) await writePart(part.previous);
      done.add(part);
      await h.store.mset(part.entries);
      Object.assign(written, part.entries);
    };
    const write = async (moment: Moment) => {
      for (const part of parts.filter((p) => p.moment === moment)) await writePart(part);
    };
    h.forgejo.failNext({ match: `/repos/${anchor.owner}/`, before: () => write('verify') });
    let reads = 0;
    const readAt = 1 + Math.floor(random() * 3);
    const deleteAt = moments === CLUSTER_MOMENTS ? 1 + Math.floor(random() * 8) : 0;
    const wrap = (store: KeyValueStore) => {
      const getMany = store.getMany.bind(store);
      store.getMany = async (keys, options) => {
        if (++reads === readAt) await write('read');
        return getMany(keys, options);
      };
      const deleteGroups = store.deleteGroupsIfUnchanged.bind(store);
      let first = true;
      store.deleteGroupsIfUnchanged = async (groups) => {
        if (first) await write('apply');
        first = false;
        return deleteGroups(groups);
      };
      const perKey = perKeyDeletes(store);
      if (perKey) {
        const deleteIfEqual = perKey.reaperDeleteIfEqual.bind(perKey);
        let deletes = 0;
        perKey.reaperDeleteIfEqual = async (...args: unknown[]) => {
          if (++deletes === deleteAt) {
            const before = done.size;
            await write('delete');
            if (done.size > before) totals.betweenDeletes++;
          }
          return deleteIfEqual(...args);
        };
      }
    };

    const { report } = await h.run('apply', { brake: { maxStaleRatio: 1, minDomains: 0, force: true } }, wrap);
    // A moment the run never reached (nothing to delete, say) comes after it, in order.
    for (const moment of moments) await write(moment);

    const after = await h.dump();
    const lost = Object.entries(written).filter(([key, value]) => after[key] !== value);
    expect({ seed, lost }).toEqual({ seed, lost: [] });
    for (const outcome of report.outcomes ?? []) totals[outcome]++;
  });

  it('exercised both outcomes: groups deleted, and groups kept because a registration came', () => {
    expect(totals.registrations).toBeGreaterThan(0);
    expect(totals.deleted).toBeGreaterThan(0);
    expect(totals.changed).toBeGreaterThan(0);
    // On a Redis Cluster, registrations also came between two of a group's deletes.
    if (name === redisClusterBackend.name) expect(totals.betweenDeletes).toBeGreaterThan(0);
  });
});
