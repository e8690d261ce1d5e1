import { ForwardTable, livePagesReason, ReverseTable, VerdictMap, verdictOfView } from '../../src/core/compact';
import { PrefixedKeyTable, ROUTER_SUFFIXES } from '../../src/core/traefik-tables';
import { countInventory, findCrossAnomalies, ownersInSteps, sanitizedOwners } from '../../src/core/inventory';
import { DEFAULT_BRAKE, planReap } from '../../src/core/planner';
import { GONE_REASON, invalid, live, stale, unknown } from '../../src/core/verdict';
import type { RunReport } from '../../src/engine/engine';
import { summarize } from '../../src/report/summary';
import { Writable } from 'node:stream';
import { humanReport } from '../../src/render/human';
import { jsonReport } from '../../src/render/json';
import { joinBatches, writeBatches } from '../../src/render/sink';
import { inventoryFrom, inventoryOf, middlewareKeys, siteKeys, verdicts, type KeyValues } from './fixtures';

describe('PrefixedKeyTable', () => {
  const root = 'traefik/http/routers/';
  // Bits of an arena entry's flags: five interned suffixes at most.
  const SUFFIXES = ROUTER_SUFFIXES.slice(0, 5);
  it('interns five suffixes at most', () => {
    expect(() => new PrefixedKeyTable(root, ROUTER_SUFFIXES.slice(0, 6))).toThrow('at most 5 interned suffixes');
  });
  it('keeps a name too long for the arena as well, bits and all', () => {
    const table = new PrefixedKeyTable(root, SUFFIXES);
    const long = `custom-${'a'.repeat(70_000)}`;
    expect(table.addKey(`${root}${long}/rule`)).toBe(true);
    expect(table.addKey(`${root}${long}/rule`)).toBe(false);
    expect(table.addKey(`${root}${long}/service`)).toBe(true);
    expect(table.addKey(`${root}custom-b/rule`)).toBe(true);
    expect(table.get(long)!.sort()).toEqual([`${root}${long}/rule`, `${root}${long}/service`]);
    expect([...table.keys()]).toEqual(['custom-b', long]);
    expect(table.size).toBe(2);
    expect(table.keyCount).toBe(3);
  });
  it('keeps known sub-keys as bits and others as a list, and rebuilds every key name', () => {
    const table = new PrefixedKeyTable(root, SUFFIXES);
    expect(table.addKey(`${root}custom-a-com/rule`)).toBe(true);
    expect(table.addKey(`${root}custom-a-com/entryPoints/0`)).toBe(true);
    expect(table.addKey(`${root}custom-a-com/entrypoints/0`)).toBe(true); // another case: another key
    expect(table.addKey(`${root}custom-a-com/tls/domains/0/main`)).toBe(true);
    expect(table.addKey(`${root}custom-a-com/rule`)).toBe(false); // SCAN repeats
    expect(table.addKey(`${root}custom-a-com/tls/domains/0/main`)).toBe(false);
    expect(table.get('custom-a-com')!.sort()).toEqual(
      [
        `${root}custom-a-com/entryPoints/0`,
        `${root}custom-a-com/entrypoints/0`,
        `${root}custom-a-com/rule`,
        `${root}custom-a-com/tls/domains/0/main`,
      ].sort(),
    );
    expect(table.size).toBe(1);
    expect(table.keyCount).toBe(4);
    expect(table.get('custom-b-com')).toBeUndefined();
    expect([...table].map(([name, keys]) => [name, keys.length])).toEqual([['custom-a-com', 4]]);
  });
  it('refuses key names not under its root or without a sub-key', () => {
    const table = new PrefixedKeyTable(root, SUFFIXES);
    expect(table.addKey('traefik/http/services/x/y')).toBe(false);
    expect(table.addKey(`${root}custom-a-com/`)).toBe(false);
    expect(table.addKey(`${root}custom-a-com`)).toBe(false);
    expect(table.size).toBe(0);
  });
  it('a name whose only sub-keys are unknown ones is still listed', () => {
    const table = new PrefixedKeyTable(root, SUFFIXES);
    table.addKey(`${root}custom-x/odd`);
    expect(table.has('custom-x')).toBe(true);
    expect(table.get('custom-x')).toEqual([`${root}custom-x/odd`]);
  });
});

describe('ForwardTable', () => {
  it('keeps plain mappings as text and gives back the same mapping', () => {
    const table = new ForwardTable();
    const mapping = {
      domain: 'a.com',
      key: 'custom_domain:a.com',
      value: Buffer.from('alice:site'),
      target: { owner: 'alice', repo: 'site' },
    };
    table.set('a.com', mapping);
    expect(table.valueText('a.com')).toBe('alice:site');
    expect(table.get('a.com')).toEqual(mapping);
    expect([...table.values()]).toEqual([mapping]);
    expect([...table]).toEqual([['a.com', mapping]]);
  });
  it('keeps whole what text cannot hold: bytes that are not UTF-8, an expiry, an invalid value', () => {
    const table = new ForwardTable();
    const bytes = {
      domain: 'b.com',
      key: 'custom_domain:b.com',
      value: Buffer.from([0x61, 0x3a, 0xff]),
      target: { owner: 'a', repo: 'x' },
    };
    const expiring = {
      domain: 'c.com',
      key: 'custom_domain:c.com',
      value: Buffer.from('a:b'),
      expiresAt: 5,
      target: { owner: 'a', repo: 'b' },
    };
    const invalid = { domain: 'd.com', key: 'custom_domain:d.com', value: Buffer.from('nope'), invalid: 'Invalid mapping format' };
    for (const m of [bytes, expiring, invalid]) table.set(m.domain, m);
    expect(table.valueText('b.com')).toBeUndefined();
    expect(table.get('b.com')).toBe(bytes);
    expect(table.get('c.com')).toBe(expiring);
    expect(table.get('d.com')).toBe(invalid);
    expect(table.size).toBe(3);
  });
  it('gives the key and target a report needs as get() has them, for every way a mapping is kept', () => {
    const table = new ForwardTable();
    const long = `${'a'.repeat(70_000)}.com`;
    const mappings = [
      {
        domain: 'a.com',
        key: 'custom_domain:a.com',
        value: Buffer.from('alice:site:dev'),
        target: { owner: 'alice', repo: 'site', branch: 'dev' },
      },
      { domain: 'c.com', key: 'custom_domain:c.com', value: Buffer.from('a:b'), expiresAt: 5, target: { owner: 'a', repo: 'b' } },
      { domain: 'd.com', key: 'custom_domain:d.com', value: Buffer.from('nope'), invalid: 'Invalid mapping format' },
      { domain: long, key: `custom_domain:${long}`, value: Buffer.from('o:r'), target: { owner: 'o', repo: 'r' } },
    ];
    for (const m of mappings) table.set(m.domain, m);
    for (const m of mappings) expect(table.keyAndTarget(m.domain)).toEqual({ key: m.key, target: m.target });
    expect(table.keyAndTarget('a.com')!.target).toEqual(table.get('a.com')!.target);
    expect(table.keyAndTarget('e.com')).toBeUndefined();
  });
});

describe('ReverseTable', () => {
  it('rebuilds reverse mappings, branch ones included', () => {
    const table = new ReverseTable();
    table.add('alice:site', 'a.com');
    table.add('alice:site:branch:dev', 'dev.a.com');
    expect(table.get('alice:site')).toEqual({
      owner: 'alice',
      repo: 'site',
      key: 'alice:site',
      value: Buffer.from('a.com'),
      domain: 'a.com',
    });
    expect(table.get('alice:site:branch:dev')).toEqual({
      owner: 'alice',
      repo: 'site',
      branch: 'dev',
      key: 'alice:site:branch:dev',
      value: Buffer.from('dev.a.com'),
      domain: 'dev.a.com',
    });
    expect(table.domainOf('alice:site')).toBe('a.com');
    expect([...table].length).toBe(2);
  });
});

describe('forward and reverse pairs', () => {
  const forward = (domain: string, value: string) => {
    const [owner, repo, branch] = value.split(':');
    return {
      domain,
      key: `custom_domain:${domain}`,
      value: Buffer.from(value),
      target: branch === undefined ? { owner, repo } : { owner, repo, branch },
    };
  };
  it('keeps a reverse key naming its forward mapping back as part of the forward entry, whichever came first', () => {
    const forwards = new ForwardTable();
    const reverses = new ReverseTable(forwards);
    forwards.set('a.com', forward('a.com', 'o:a'));
    reverses.add('o:a', 'a.com'); // after its forward
    reverses.add('o:b:branch:dev', 'dev.b.com'); // before its forward
    forwards.set('dev.b.com', forward('dev.b.com', 'o:b:dev'));
    reverses.add('o:c', 'elsewhere.com'); // no forward names it back
    expect(forwards.pairedCount).toBe(2);
    expect(forwards.isPaired('a.com') && forwards.isPaired('dev.b.com')).toBe(true);
    expect(forwards.valueText('dev.b.com')).toBe('o:b:dev');
    expect(forwards.get('a.com')).toEqual(forward('a.com', 'o:a'));
    expect(reverses.size).toBe(3);
    expect([...reverses.keys()].sort()).toEqual(['o:a', 'o:b:branch:dev', 'o:c']);
    expect([...reverses.unpairedKeys()]).toEqual(['o:c']);
    expect(reverses.get('o:a')).toBeUndefined(); // only unpaired keys are read by name
    const found = reverses.findAll(new Set(['o:a', 'o:c', 'o:zzz']));
    expect(found.get('o:a')).toEqual({ owner: 'o', repo: 'a', key: 'o:a', value: Buffer.from('a.com'), domain: 'a.com' });
    expect(found.get('o:c')?.domain).toBe('elsewhere.com');
    expect(found.has('o:zzz')).toBe(false);
  });
  it('lets the unpaired table go once every reverse key that waited in it has paired, and only then', () => {
    const forwards = new ForwardTable();
    const reverses = new ReverseTable(forwards);
    const unpairedBytes = () => (reverses as unknown as { unpaired: { bytesHeld: number } }).unpaired.bytesHeld;
    for (let i = 0; i < 3_000; i++) reverses.add(`o:s${i}`, `s${i}.com`); // before their forwards
    reverses.add('o:lone', 'lone.com');
    for (let i = 0; i < 3_000; i++) forwards.set(`s${i}.com`, forward(`s${i}.com`, `o:s${i}`));
    expect(forwards.pairedCount).toBe(3_000);
    reverses.releaseIfAllPaired(); // one still waits: kept
    expect([...reverses.unpairedKeys()]).toEqual(['o:lone']);
    forwards.set('lone.com', forward('lone.com', 'o:lone'));
    expect(unpairedBytes()).toBeGreaterThan(0);
    reverses.releaseIfAllPaired();
    expect(unpairedBytes()).toBe(0);
    expect(reverses.size).toBe(3_001);
    reverses.add('o:late', 'late.com'); // still records what comes after
    expect([...reverses.unpairedKeys()]).toEqual(['o:late']);
    expect(reverses.domainOf('o:late')).toBe('late.com');
  });
  it('counts at least the dashed domains it holds', () => {
    const forwards = new ForwardTable();
    for (const domain of ['a-b.com', 'x.com', 'c-d.example.com', 'y.z.com']) forwards.set(domain, forward(domain, 'o:r'));
    expect(forwards.dashedAtMost).toBe(2);
  });
  it('does not pair a reverse key that names another domain, and unpairs when the forward mapping is replaced', () => {
    const forwards = new ForwardTable();
    const reverses = new ReverseTable(forwards);
    forwards.set('old.com', forward('old.com', 'o:a'));
    reverses.add('o:a', 'new.com');
    expect(forwards.pairedCount).toBe(0);
    expect(reverses.domainOf('o:a')).toBe('new.com');
    forwards.set('new.com', forward('new.com', 'o:a'));
    expect(forwards.isPaired('new.com')).toBe(true);
    forwards.set('new.com', forward('new.com', 'o:other'));
    expect(forwards.pairedCount).toBe(0);
    expect(reverses.domainOf('o:a')).toBe('new.com');
    reverses.add('o:a', 'new.com'); // SCAN repeats: still unpaired, recorded once
    expect(reverses.size).toBe(1);
  });
  it('pairs and keeps reverse keys as a map of them would, in any order of reads, repeats, replacements and removals', () => {
    // A reverse key read before its forward mapping waits as the domain's forward entry:
    // the same end state whichever came first, whenever the table is read meanwhile.
    const keyOf = (text: string) => {
      const [owner, repo, branch] = text.split(':');
      return branch === undefined ? `${owner}:${repo}` : `${owner}:${repo}:branch:${branch}`;
    };
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededPicker(seed);
      const texts = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? `o:r${i}:dev` : `o:r${i}`));
      const domains = Array.from({ length: 10 }, (_, i) => `d${i}.com`);
      const namedBy = new Map(texts.map((text) => [keyOf(text), domains[random(domains.length)]]));
      const forwards = new ForwardTable();
      const reverses = new ReverseTable(forwards);
      const expectedForwards = new Map<string, { text: string; compact: boolean }>();
      const added = new Set<string>();
      for (let step = 0; step < 80; step++) {
        const domain = domains[random(domains.length)];
        const text = texts[random(texts.length)];
        switch (random(6)) {
          case 0:
          case 1: {
            const key = keyOf(text);
            reverses.add(key, namedBy.get(key)!);
            added.add(key);
            break;
          }
          case 2:
            forwards.set(domain, forward(domain, text));
            expectedForwards.set(domain, { text, compact: true });
            break;
          case 3: {
            // An expiring mapping is kept whole: it never pairs.
            forwards.set(domain, { ...forward(domain, text), expiresAt: 9_999_999_999_999 });
            expectedForwards.set(domain, { text, compact: false });
            break;
          }
          case 4:
            forwards.delete(domain);
            expectedForwards.delete(domain);
            break;
          case 5:
            if (random(4) === 0) reverses.domainOf(keyOf(text)); // a read meanwhile takes back the waiting keys
            break;
        }
      }
      if (seed % 2 === 0) reverses.releaseIfAllPaired(); // as a scan ends
      const pairedWith = (key: string) => {
        const mapped = expectedForwards.get(namedBy.get(key)!);
        return mapped !== undefined && mapped.compact && keyOf(mapped.text) === key;
      };
      const expectedUnpaired = [...added].filter((key) => !pairedWith(key)).sort();
      const expectedPaired = [...expectedForwards].filter(
        ([domain, { text, compact }]) => compact && added.has(keyOf(text)) && namedBy.get(keyOf(text)) === domain,
      );
      expect(forwards.size).toBe(expectedForwards.size);
      expect([...forwards.keys()].sort()).toEqual([...expectedForwards.keys()].sort());
      expect(forwards.pairedCount).toBe(expectedPaired.length);
      for (const domain of domains) {
        expect(forwards.has(domain)).toBe(expectedForwards.has(domain));
        expect(forwards.isPaired(domain)).toBe(expectedPaired.some(([paired]) => paired === domain));
        const mapped = expectedForwards.get(domain);
        expect(forwards.get(domain)?.value.toString()).toBe(mapped?.text);
      }
      expect([...reverses.unpairedKeys()].sort()).toEqual(expectedUnpaired);
      expect(reverses.size).toBe(added.size);
      expect([...reverses.keys()].sort()).toEqual([...added].sort());
      for (const key of expectedUnpaired) expect(reverses.get(key)?.domain).toBe(namedBy.get(key));
      expect(forwards.waitingCount).toBe(0);
    }
  });
});

describe('counts kept as the tables change', () => {
  const mapping = (domain: string, text: string, expiresAt?: number) => {
    const [owner, repo, branch] = text.split(':');
    return {
      domain,
      key: `custom_domain:${domain}`,
      value: Buffer.from(text),
      target: repo === undefined ? undefined : branch === undefined ? { owner, repo } : { owner, repo, branch },
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
  };
  const reverseKeyOf = (text: string) => {
    const [owner, repo, branch] = text.split(':');
    return branch === undefined ? `${owner}:${repo}` : `${owner}:${repo}:branch:${branch}`;
  };
  // What a report counted before the tables kept counts: a pass over every value and every reverse key.
  const countedByPasses = (forwards: ForwardTable, reverses: ReverseTable) => {
    let forward = 0;
    let branchForward = 0;
    let invalidForward = 0;
    for (const domain of forwards.keys()) {
      const target = forwards.get(domain)!.target;
      if (!target) invalidForward++;
      else if (target.branch === undefined) forward++;
      else branchForward++;
    }
    const branchReverse = [...reverses.keys()].filter((key) => key.includes(':branch:')).length;
    return { forward, branchForward, invalidForward, branchReverse };
  };

  it('counts mappings by kind and branch reverse keys as passes over them would, through reads, repeats, replacements and removals', () => {
    for (let seed = 1; seed <= 80; seed++) {
      const random = seededPicker(seed);
      const texts = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? `o:r${i}:dev` : i % 5 === 4 ? `invalid${i}` : `o:r${i}`));
      const domains = Array.from({ length: 10 }, (_, i) => `d${i}.com`);
      const namedBy = new Map(texts.map((text) => [reverseKeyOf(text), domains[random(domains.length)]]));
      const forwards = new ForwardTable();
      const reverses = new ReverseTable(forwards);
      for (let step = 0; step < 100; step++) {
        const domain = domains[random(domains.length)];
        const text = texts[random(texts.length)];
        switch (random(7)) {
          case 0:
          case 1: {
            const key = reverseKeyOf(text);
            reverses.add(key, namedBy.get(key)!);
            break;
          }
          case 2:
          case 3:
            forwards.set(domain, mapping(domain, text));
            break;
          case 4:
            forwards.set(domain, mapping(domain, text, 9_999_999_999_999)); // kept whole
            break;
          case 5:
            forwards.delete(domain);
            break;
          case 6: {
            // Counted while keys wait for their mappings, as a report of a stopped scan would.
            expect({ ...forwards.counts(), branchReverse: reverses.branchCount }).toEqual(countedByPasses(forwards, reverses));
            break;
          }
        }
      }
      expect({ ...forwards.counts(), branchReverse: reverses.branchCount }).toEqual(countedByPasses(forwards, reverses));
    }
  });
  it('counts a mapping whose domain is too long for the arena, as it is replaced and removed', () => {
    const long = `${'x'.repeat(70_000)}.com`;
    const forwards = new ForwardTable();
    const reverses = new ReverseTable(forwards);
    forwards.set('a.com', mapping('a.com', 'o:a:dev'));
    const counted = () => ({ ...forwards.counts(), branchReverse: reverses.branchCount });
    for (const text of ['o:r', 'o:r:dev', 'invalid', 'o:r']) {
      forwards.set(long, mapping(long, text));
      expect(counted()).toEqual(countedByPasses(forwards, reverses));
    }
    expect(counted()).toEqual({ forward: 1, branchForward: 1, invalidForward: 0, branchReverse: 0 });
    forwards.delete(long);
    expect(counted()).toEqual({ forward: 0, branchForward: 1, invalidForward: 0, branchReverse: 0 });
  });
});

describe('sorted views of the forward table', () => {
  it('gives each domain with the key, target and verdict that looking it up by name gives', () => {
    const forwards = new ForwardTable();
    const text = (i: number) => (i % 4 === 3 ? `o:r${i}:dev` : `o:r${i}`);
    const long = `${'y'.repeat(70_000)}.org`;
    const domains = [...Array.from({ length: 40 }, (_, i) => `s${(i * 7) % 40}.example.com`), long];
    domains.forEach((domain, i) => {
      const [owner, repo, branch] = text(i).split(':');
      forwards.set(domain, {
        domain,
        key: `custom_domain:${domain}`,
        value: Buffer.from(text(i)),
        target: branch === undefined ? { owner, repo } : { owner, repo, branch },
        ...(i % 9 === 5 ? { expiresAt: 9_999_999_999_999 } : {}), // kept whole
      });
    });
    const verdictsHere = new VerdictMap(forwards);
    const verdictsApart = new VerdictMap();
    domains.forEach((domain, i) => {
      const verdict =
        i % 5 === 0
          ? live(livePagesReason(domain))
          : i % 5 === 1
            ? stale(GONE_REASON)
            : i % 5 === 2
              ? unknown('timeout')
              : live('branch dev exists');
      if (i % 5 !== 4) {
        verdictsHere.set(domain, verdict);
        verdictsApart.set(domain, verdict);
      }
    });
    const views = [...forwards.sortedViews()];
    expect(views.map((view) => view.domain)).toEqual([...forwards.sortedAmong(forwards.keys())]);
    expect(views).toHaveLength(domains.length);
    for (const view of views) {
      expect({ key: view.key, target: view.target }).toEqual(forwards.keyAndTarget(view.domain));
      expect(verdictOfView(verdictsHere, forwards, view)).toEqual(verdictsHere.get(view.domain));
      expect(verdictOfView(verdictsApart, forwards, view)).toEqual(verdictsApart.get(view.domain));
      expect(verdictOfView(new Map(verdictsApart), forwards, view)).toEqual(verdictsApart.get(view.domain));
    }
    expect(views.filter((view) => view.mark !== 0).length).toBeGreaterThan(10);
  });
});

describe('VerdictMap', () => {
  it('keeps the common live verdict as a number and reads back the same verdicts', () => {
    const map = new VerdictMap();
    map.set('a.com', live(livePagesReason('a.com')));
    map.set('b.com', live('branch dev is enabled and exists'));
    map.set('c.com', stale('gone (404)'));
    expect(map.get('a.com')).toEqual({ status: 'live', reason: '.pages names a.com' });
    expect(map.get('b.com')).toEqual({ status: 'live', reason: 'branch dev is enabled and exists' });
    expect(map.get('c.com')).toEqual({ status: 'stale', reason: 'gone (404)' });
    expect(map.live).toBe(2);
    map.set('a.com', stale('now'));
    expect(map.live).toBe(1);
    expect([...map.values()].map((v) => v.status)).toEqual(['stale', 'live', 'stale']);
  });
});

describe('sanitizedOwners', () => {
  it('finds every scanned domain that gives a Traefik name, dashed or dotted', () => {
    const inventory = inventoryOf({
      ...siteKeys('o', 'a', 'a.b.com'),
      ...siteKeys('o', 'b', 'a-b.com'),
      ...siteKeys('o', 'c', 'x.com'),
    });
    const owners = sanitizedOwners(inventory);
    expect(owners.of('a-b-com').sort()).toEqual(['a-b.com', 'a.b.com']);
    expect(owners.of('x-com')).toEqual(['x.com']);
    expect(owners.of('y-com')).toEqual([]);
  });
  it('counts and finds dashed domains without naming each: alone, shared, with many separators', () => {
    const many = 'a-b-c-d-e-f-g-h-i-j.example.com';
    const inventory = inventoryOf({
      ...siteKeys('o', 'a', 'my-site.example.com'),
      ...siteKeys('o', 'b', 'x-y.com'),
      ...siteKeys('o', 'c', 'x.y-com'),
      ...siteKeys('o', 'd', many),
      ...siteKeys('o', 'e', 'plain.example.com'),
    });
    const owners = sanitizedOwners(inventory);
    // Alone on its name: found back among the names that give it.
    expect(owners.of('my-site-example-com')).toEqual(['my-site.example.com']);
    expect(owners.count('my-site-example-com')).toBe(1);
    // Two dashed domains share a name.
    expect(owners.of('x-y-com').sort()).toEqual(['x-y.com', 'x.y-com']);
    expect(owners.count('x-y-com')).toBe(2);
    // Too many separators to search: kept by name.
    expect(owners.of(many.replaceAll('.', '-'))).toEqual([many]);
    expect(owners.count('plain-example-com')).toBe(1);
    expect(owners.of('other-example-com')).toEqual([]);
    expect(owners.count('other-example-com')).toBe(0);
    // A dashed domain the caller knows, alone on its name, is its owner: no search.
    expect(owners.of('my-site-example-com', 'my-site.example.com')).toEqual(['my-site.example.com']);
    expect([...owners.shared()]).toEqual([['x-y-com', ['x-y.com', 'x.y-com']]]);
  });

  it('finds the owners in steps a run lets its event loop turn between, with the same answers', () => {
    const keys: KeyValues = { ...siteKeys('o', 'dotted', 'a.b.example.com') };
    for (let i = 0; i < 30_000; i++) keys[`custom_domain:site-${i}.example.com`] = `o:s${i}`;
    keys['custom_domain:a-b.example.com'] = 'o:dashed';
    const inventory = inventoryOf(keys);
    const steps = ownersInSteps(inventory);
    let turns = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) turns++;
    // Two passes over 30,002 domains, a step every 25,000.
    expect(turns).toBe(2);
    const owners = step.value;
    expect(owners.of('site-29999-example-com')).toEqual(['site-29999.example.com']);
    expect(owners.of('a-b-example-com').sort()).toEqual(['a-b.example.com', 'a.b.example.com']);
    expect(owners.count('site-7-example-com')).toBe(1);
    expect([...owners.shared()]).toEqual([['a-b-example-com', ['a.b.example.com', 'a-b.example.com']]]);
  });
});

describe('counts and reports from compact state', () => {
  const keys = {
    ...siteKeys('o', 'a', 'a.com'),
    ...siteKeys('o', 'b', 'b.com'),
    ...middlewareKeys('b.com', 0),
    'custom_domain:dev.a.com': 'o:a:dev',
    'o:a:branch:dev': 'dev.a.com',
  };
  it('counts what the scan kept', () => {
    const inventory = inventoryFrom(Object.entries(keys).map(([key, value]) => ({ key, type: 'string', value: Buffer.from(value) })));
    expect(countInventory(inventory)).toMatchObject({
      forward: 2,
      branchForward: 1,
      reverse: 2,
      branchReverse: 1,
      routers: 2,
      routerKeys: 14,
      middlewares: 1,
    });
  });
  it('counts mappings kept whole (expiring, invalid) with the compact ones', () => {
    const inventory = inventoryFrom([
      ...Object.entries(keys).map(([key, value]) => ({ key, type: 'string' as const, value: Buffer.from(value) })),
      { key: 'custom_domain:c.com', type: 'string', value: Buffer.from('o:c'), expiresAt: Date.now() + 60_000 },
      { key: 'custom_domain:d.com', type: 'string', value: Buffer.from('o:d:dev'), expiresAt: Date.now() + 60_000 },
      { key: 'custom_domain:bad.com', type: 'string', value: Buffer.from('no owner or repo') },
    ]);
    expect(countInventory(inventory)).toMatchObject({ forward: 3, branchForward: 2, invalidForward: 1 });
  });
  it('reports a router name shared by domains, whichever of them has the dash', () => {
    const shared = inventoryOf({
      ...siteKeys('o', 'a', 'x.y.com'),
      ...siteKeys('o', 'b', 'x-y.com'),
      ...siteKeys('o', 'c', 'x.y-com'),
      ...siteKeys('o', 'd', 'plain.com'),
      ...siteKeys('o', 'e', 'other-site.com'),
      // No domain without a dash gives this one.
      ...siteKeys('o', 'f', 'p-q.net'),
      ...siteKeys('o', 'g', 'p.q-net'),
    });
    expect(findCrossAnomalies(shared)).toEqual([
      { kind: 'collision', key: 'custom-x-y-com', detail: 'router name shared by x-y.com, x.y-com, x.y.com' },
      { kind: 'collision', key: 'custom-p-q-net', detail: 'router name shared by p-q.net, p.q-net' },
    ]);
    const dashless = inventoryOf({ ...siteKeys('o', 'a', 'x.y.com'), ...siteKeys('o', 'd', 'x.y.org') });
    expect(findCrossAnomalies(dashless)).toEqual([]);
  });
  it('writes the same JSON document and human report it would build whole, waiting for a slow reader', async () => {
    const many: Record<string, string> = { ...keys };
    for (let i = 0; i < 1_500; i++) Object.assign(many, siteKeys('o', `s${i}`, `site${i}.example.org`));
    const inventory = inventoryOf(many);
    const forwardVerdicts = verdicts({ 'a.com': 'live', 'b.com': 'stale', 'dev.a.com': 'unknown' });
    const plan = planReap(inventory, forwardVerdicts, new Map(), { ...DEFAULT_BRAKE, minDomains: 100 });
    const report: RunReport = {
      stage: 'plan',
      inventory,
      forwardVerdicts,
      reverseVerdicts: new Map(),
      plan,
      requests: 3,
      storeRoundTrips: 2,
      startedAt: 0,
      durationMs: 5,
    };
    const summary = summarize(report, true);
    const ctx = { command: 'reap' as const, dryRun: true, store: 'redis://x', source: 'http://f', verbose: true };
    for (const batches of [jsonReport, humanReport]) {
      // A reader that takes each chunk a turn later, with a small buffer: the writer waits for it.
      const chunks: string[] = [];
      let waits = 0;
      const reader = new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString());
          setImmediate(done);
        },
      });
      reader.on('drain', () => waits++);
      await writeBatches(batches(report, summary, ctx), reader);
      expect(reader.writableLength).toBe(0);
      expect(waits).toBeGreaterThan(1);
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.join('')).toBe(joinBatches(batches(report, summary, ctx)));
    }
    const document = joinBatches(jsonReport(report, summary, ctx));
    expect(document).toBe(JSON.stringify(JSON.parse(document), null, 2) + '\n');
    expect(
      JSON.parse(document)
        .domains.map((d: { domain: string }) => d.domain)
        .slice(0, 3),
    ).toEqual(['a.com', 'b.com', 'dev.a.com']);
    expect(JSON.parse(document).domains).toHaveLength(1_503);
  });

  it('lists the domains that are not live in domain order, and counts the rest, with or without --verbose', () => {
    const sites = ['z.com', 'a.com', 'm.com', 'c.com', 'b.com', 'live.com', 'y.com'];
    const inventory = inventoryOf({
      ...Object.assign({}, ...sites.map((domain, i) => siteKeys('o', `r${i}`, domain))),
      'custom_domain:bad.com': 'no owner or repo',
    });
    // A VerdictMap bound to the inventory keeps the common live verdict as a flag.
    const forwardVerdicts = new VerdictMap(inventory.forwards);
    forwardVerdicts.set('live.com', live(livePagesReason('live.com')));
    forwardVerdicts.set('y.com', live('branch main exists'));
    forwardVerdicts.set('z.com', stale('gone'));
    forwardVerdicts.set('a.com', unknown('timed out'));
    forwardVerdicts.set('bad.com', invalid('not a mapping'));
    forwardVerdicts.set('m.com', stale('moved'));
    // c.com and b.com have no verdict (not asked).
    const report: RunReport = {
      stage: 'verify',
      inventory,
      forwardVerdicts,
      reverseVerdicts: new Map(),
      requests: 0,
      storeRoundTrips: 0,
      startedAt: 0,
      durationMs: 5,
    };
    const summary = summarize(report, false);
    const ctx = { command: 'verify' as const, dryRun: false, store: 'redis://x', source: 'http://f' };
    const listedDomains = (text: string) =>
      text
        .split('\n')
        .map((line) => /^(?:📋 |⚠️ {2})([a-z.]+)/u.exec(line)?.[1])
        .filter((domain) => domain !== undefined);
    const brief = joinBatches(humanReport(report, summary, ctx));
    expect(listedDomains(brief)).toEqual(['a.com', 'bad.com', 'm.com', 'z.com']);
    expect(brief).toContain('4 live domains not listed');
    const verbose = joinBatches(humanReport(report, summary, { ...ctx, verbose: true }));
    expect(listedDomains(verbose)).toEqual(['a.com', 'b.com', 'bad.com', 'c.com', 'live.com', 'm.com', 'y.com', 'z.com']);
    expect(verbose).not.toContain('not listed');
  });
});

/** A deterministic pick in [0, n) from `seed` (a linear congruential generator), so that a random walk replays. */
function seededPicker(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return (state >>> 8) % n;
  };
}
