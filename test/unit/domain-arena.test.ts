import type { KeyValue } from '../../src/core/mapping';
import { ArenaTextMap, DomainArena, MAX_ENTRY_TEXT_BYTES, sortInPlace } from '../../src/core/domain-arena';
import {
  ForwardTable,
  livePagesReason,
  liveVerdictFlags,
  RedirectsMetaTable,
  ReverseTable,
  VerdictMap,
  verdictsToPlan,
} from '../../src/core/compact';
import { GONE_REASON, live, stale } from '../../src/core/verdict';

describe('DomainArena', () => {
  it('finds what it holds, by domain, through index growth', () => {
    const arena = new DomainArena();
    const positions = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) positions.set(`site${i}.example.com`, arena.append(`site${i}.example.com`, 0, `o:r${i}`));
    expect(arena.size).toBe(5_000);
    for (const [domain, position] of positions) {
      expect(arena.find(domain)).toBe(position);
      expect(arena.domainAt(position)).toBe(domain);
    }
    expect(arena.textAt(positions.get('site42.example.com')!)).toBe('o:r42');
    expect(arena.find('site5000.example.com')).toBe(-1);
    expect(arena.find('site1.example.co')).toBe(-1);
  });

  it('holds non-ASCII domains and texts exactly', () => {
    const arena = new DomainArena();
    const position = arena.append('bücher.example', 0, 'o:r:zweig-ß');
    arena.append('bucher.example', 0, 'o:r');
    expect(arena.find('bücher.example')).toBe(position);
    expect(arena.domainAt(position)).toBe('bücher.example');
    expect(arena.textAt(position)).toBe('o:r:zweig-ß');
    expect(arena.find('bvcher.example')).toBe(-1);
  });

  it('tells a domain from one whose characters are the bytes of its UTF-8 text', () => {
    const arena = new DomainArena();
    // 'é' is C3 A9 in UTF-8; 'Ã©' is the two characters U+00C3 U+00A9.
    const position = arena.append('é.example', 0, 'o:r');
    expect(arena.find('Ã©.example')).toBe(-1);
    expect(arena.find('site.example')).toBe(-1);
    expect(arena.find('é.example')).toBe(position);
    const mojibake = arena.append('Ã©.example', 0, 'o:r2');
    expect(arena.find('é.example')).toBe(position);
    expect(arena.find('Ã©.example')).toBe(mojibake);
  });

  it('removes entries: gone from lookups and iteration, the others unaffected, across chunks', () => {
    const arena = new DomainArena();
    // Long texts fill more than one 1 MiB chunk.
    const text = 'x'.repeat(1000);
    for (let i = 0; i < 3_000; i++) arena.append(`d${i}.com`, 0, text);
    for (let i = 0; i < 3_000; i += 2) expect(arena.remove(`d${i}.com`)).toBe(true);
    expect(arena.remove('d0.com')).toBe(false);
    expect(arena.size).toBe(1_500);
    const left = [...arena.positions()].map((p) => arena.domainAt(p));
    expect(left).toEqual(Array.from({ length: 1_500 }, (_, i) => `d${2 * i + 1}.com`));
    expect(arena.find('d2998.com')).toBe(-1);
    expect(arena.textAt(arena.find('d2999.com'))).toBe(text);
    // Re-added after removal: found again, once.
    arena.append('d0.com', 0, 'back');
    expect(arena.textAt(arena.find('d0.com'))).toBe('back');
    expect(arena.size).toBe(1_501);
  });

  it('answers a repeated lookup the same way through adds, removals and compaction', () => {
    const arena = new DomainArena();
    expect(arena.find('a.com')).toBe(-1);
    const added = arena.append('a.com', 0, 'first');
    expect(arena.find('a.com')).toBe(added);
    expect(arena.remove('a.com')).toBe(true);
    expect(arena.find('a.com')).toBe(-1);
    arena.append('a.com', 0, 'second');
    expect(arena.textAt(arena.find('a.com'))).toBe('second');
    // Entries before it are removed, so compaction moves it.
    arena.remove('a.com');
    const text = 'x'.repeat(60_000);
    for (let i = 0; i < 200; i++) arena.append(`d${i}.com`, 0, text);
    arena.append('a.com', 0, 'third');
    for (let i = 0; i < 200; i++) arena.remove(`d${i}.com`);
    const before = arena.find('a.com');
    arena.compactIfSparse();
    expect(arena.find('a.com')).not.toBe(before);
    expect(arena.textAt(arena.find('a.com'))).toBe('third');
    expect(arena.find('d0.com')).toBe(-1);
  });

  it('sorts positions in the order of the domain strings', () => {
    const arena = new DomainArena();
    const domains = ['b.com', 'a.com', 'a-b.com', 'ab.com', 'a.co', 'z.org', 'a.b.com'];
    for (const domain of domains) arena.append(domain, 0, '');
    expect([...arena.sortedPositions()].map((p) => arena.domainAt(p))).toEqual([...domains].sort());
  });

  it('sorts positions of unicode domains by their bytes, as many as a report sorts', () => {
    const arena = new DomainArena();
    const domains: string[] = [];
    for (let i = 0; i < 5000; i++) domains.push(`${['', 'www.', 'ü.', '日本.', 'a-'][i % 5]}site${(i * 7919) % 5000}.example${i % 13}.com`);
    for (const domain of domains) arena.append(domain, 0, 'v');
    const byBytes = [...domains].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...arena.sortedPositions()].map((p) => arena.domainAt(p))).toEqual(byBytes);
  });

  it('sortInPlace orders like Array.prototype.sort, on every shape, by quicksort and by heapsort', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const shapes: Record<string, (n: number) => number[]> = {
      random: (n) => Array.from({ length: n }, () => random()),
      sorted: (n) => Array.from({ length: n }, (_, i) => i),
      reversed: (n) => Array.from({ length: n }, (_, i) => n - i),
      equal: (n) => Array.from({ length: n }, () => 7),
      'few values': (n) => Array.from({ length: n }, () => random() % 3),
      'organ pipe': (n) => Array.from({ length: n }, (_, i) => Math.min(i, n - i)),
    };
    const compare = (a: number, b: number) => a - b;
    for (const [shape, make] of Object.entries(shapes)) {
      for (const n of [0, 1, 2, 3, 15, 16, 17, 100, 1000, 20_000]) {
        const values = make(n);
        const expected = [...values].sort(compare);
        for (const depthLimit of [undefined, 0, 1]) {
          const array = Uint32Array.from(values);
          sortInPlace(array, compare, depthLimit);
          expect({ shape, n, depthLimit, sorted: [...array] }).toEqual({ shape, n, depthLimit, sorted: expected });
        }
      }
    }
  });

  it('holds whatever it is given exactly, packed or not: lookups, texts, removals, compaction and order agree with a Map', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    // Mostly what packs (lower case, digits, - . : _), some upper case, some that never packs.
    const alphabets = ['abcxyz019-.', 'abcxyz019-.:_', 'abcXYZ019-.:_', 'ab-./ü日 Q'];
    const text = (max: number) => {
      const alphabet = alphabets[random(alphabets.length)];
      return Array.from({ length: random(max) }, () => alphabet[random(alphabet.length)]).join('');
    };
    const arena = new DomainArena();
    const model = new Map<string, string>();
    for (let round = 0; round < 20_000; round++) {
      const domain = text(24);
      if (random(5) === 0 && model.size > 0) {
        // Remove one held (or a near miss: a prefix, the other case).
        const held = [...model.keys()][random(model.size)];
        const target = [held, held.slice(0, -1), held.toUpperCase()][random(3)];
        expect(arena.remove(target)).toBe(model.delete(target));
        arena.compactIfSparse();
      } else if (model.has(domain)) {
        expect(arena.textAt(arena.find(domain))).toBe(model.get(domain));
      } else {
        const value = text(40);
        arena.append(domain, 0, value);
        model.set(domain, value);
      }
    }
    expect(arena.size).toBe(model.size);
    for (const [domain, value] of model) {
      const position = arena.find(domain);
      expect(arena.domainAt(position)).toBe(domain);
      expect(arena.textAt(position)).toBe(value);
      for (const miss of [`${domain}a`, domain.slice(1), domain.toUpperCase(), `${domain}-`]) {
        if (!model.has(miss)) expect(arena.find(miss)).toBe(-1);
      }
    }
    const byBytes = [...model.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...arena.sortedPositions()].map((p) => arena.domainAt(p))).toEqual(byBytes);
  });

  it('keeps a million-domain scan in a quarter less room: six bits a character of a plugin name', () => {
    const arena = new DomainArena();
    for (let i = 0; i < 100_000; i++)
      arena.append(`www.project-site-${i}.customer-domain-${i % 50}.example.org`, 0, `organisation-${i % 997}:site-${i}`);
    let raw = 0;
    for (let i = 0; i < 100_000; i++)
      raw += 5 + `www.project-site-${i}.customer-domain-${i % 50}.example.org`.length + `organisation-${i % 997}:site-${i}`.length;
    // The chunks held (1 MiB each): all full but the last.
    expect(arena.bytesHeld).toBeLessThan(raw * 0.8 + (1 << 20));
  });

  it('keeps flags per entry', () => {
    const arena = new DomainArena();
    const position = arena.append('a.com', 6, '');
    expect(arena.flags(position)).toBe(7);
    arena.setFlags(position, 3);
    expect(arena.flags(arena.find('a.com'))).toBe(3);
  });

  it('passes over entries with excluded flags, whatever it found before or finds after', () => {
    const arena = new DomainArena();
    const flagged = arena.append('waiting.com', 32, 'o:w');
    const plain = arena.append('mapped.com', 2, 'o:m');
    expect(arena.find('waiting.com', 32)).toBe(-1);
    expect(arena.find('waiting.com')).toBe(flagged);
    expect(arena.find('waiting.com', 32)).toBe(-1); // asked again right after: the remembered answer, excluded too
    expect(arena.find('mapped.com', 32)).toBe(plain);
    expect(arena.find('mapped.com', 4)).toBe(plain);
    expect(arena.find('mapped.com', 2)).toBe(-1);
    expect(arena.find('absent.com', 32)).toBe(-1);
    arena.setFlags(flagged, 2);
    expect(arena.find('waiting.com', 32)).toBe(flagged);
    // Domains sharing one hash: FNV-1a gives these two the same 32 bits.
    const [first, second] = sameHash();
    const a = arena.append(first, 32, 'o:a');
    const b = arena.append(second, 0, 'o:b');
    expect(arena.find(first, 32)).toBe(-1);
    expect(arena.find(second, 32)).toBe(b);
    expect(arena.find(first)).toBe(a);
    expect(arena.find(second, 32)).toBe(b);
    expect(arena.find(first, 32)).toBe(-1);
  });
  it('says what does not fit', () => {
    expect(DomainArena.fits('a.com', 'o:r')).toBe(true);
    expect(DomainArena.fits('a'.repeat(MAX_ENTRY_TEXT_BYTES + 1))).toBe(false);
    expect(() => new DomainArena().append('a.com', 0, 'x'.repeat(MAX_ENTRY_TEXT_BYTES + 1))).toThrow(RangeError);
  });
});

describe('ForwardTable beyond the arena', () => {
  const mapping = (domain: string, value: string) => {
    const [owner, repo] = value.split(':');
    return { domain, key: `custom_domain:${domain}`, value: Buffer.from(value), target: { owner, repo } };
  };
  it('keeps a domain too long for the arena whole, and lists it', () => {
    const table = new ForwardTable();
    const long = `${'a'.repeat(70_000)}.com`;
    table.set('b.com', mapping('b.com', 'o:b'));
    table.set(long, mapping(long, 'o:l'));
    expect(table.size).toBe(2);
    expect(table.get(long)).toEqual(mapping(long, 'o:l'));
    expect([...table.sortedViews()].map((view) => view.domain)).toEqual(['b.com', long]);
    expect(table.delete(long)).toBe(true);
    expect(table.has(long)).toBe(false);
  });
  it('sorts a subset of its domains as it sorts them all', () => {
    const table = new ForwardTable();
    const long = `${'a'.repeat(70_000)}.com`;
    const domains = ['z.com', 'bücher.de', 'a.com', long, 'b.org', 'a-b.com', '𝔘.net', 'ｆ.jp'];
    domains.forEach((domain, i) => table.set(domain, mapping(domain, `o:r${i}`)));
    const subset = new Set(['𝔘.net', long, 'a.com', 'ｆ.jp', 'bücher.de']);
    const expected = [...table.sortedViews()].map((view) => view.domain).filter((domain) => subset.has(domain));
    expect([...table.sortedAmong([...subset, 'a.com', 'not-held.com'])]).toEqual(expected);
    expect(expected).toHaveLength(5);
  });
  it('a replaced or removed mapping frees its reverse key', () => {
    const forwards = new ForwardTable();
    const reverses = new ReverseTable(forwards);
    forwards.set('a.com', mapping('a.com', 'o:a'));
    reverses.add('o:a', 'a.com');
    expect(forwards.isPaired('a.com')).toBe(true);
    forwards.delete('a.com');
    expect(reverses.domainOf('o:a')).toBe('a.com');
    expect(forwards.pairedCount).toBe(0);
  });
});

describe('VerdictMap kept in a forward table', () => {
  const mapping = (domain: string) => ({
    domain,
    key: `custom_domain:${domain}`,
    value: Buffer.from('o:r'),
    target: { owner: 'o', repo: 'r' },
  });
  it('keeps common live verdicts as flags and reads back the same verdicts', () => {
    const forwards = new ForwardTable();
    for (const domain of ['a.com', 'b.com', 'c.com']) forwards.set(domain, mapping(domain));
    const verdicts = new VerdictMap(forwards);
    verdicts.set('a.com', live(livePagesReason('a.com')));
    verdicts.set('b.com', stale('gone (404)'));
    verdicts.set('c.com', live(livePagesReason('c.com')));
    verdicts.set('x.com', live(livePagesReason('x.com')));
    expect(forwards.liveMarkCount).toBe(2);
    expect(verdicts.size).toBe(4);
    expect(verdicts.live).toBe(3);
    expect(verdicts.get('a.com')).toEqual({ status: 'live', reason: '.pages names a.com' });
    expect(verdicts.has('c.com') && verdicts.has('x.com') && !verdicts.has('d.com')).toBe(true);
    expect(new Map(verdicts)).toEqual(
      new Map([
        ['a.com', live(livePagesReason('a.com'))],
        ['b.com', stale('gone (404)')],
        ['c.com', live(livePagesReason('c.com'))],
        ['x.com', live(livePagesReason('x.com'))],
      ]),
    );
    // What a plan (and the summary) looks through: not the flags, which are counted.
    expect([...verdictsToPlan(verdicts)].map(([domain]) => domain).sort()).toEqual(['b.com', 'x.com']);
    expect(liveVerdictFlags(verdicts)).toBe(2);
    expect(liveVerdictFlags(new Map(verdicts))).toBe(0);
    verdicts.set('a.com', stale('now'));
    expect(forwards.isMarkedLive('a.com')).toBe(false);
    expect(verdicts.get('a.com')).toEqual(stale('now'));
    expect(verdicts.live).toBe(2);
  });
  it('keeps the usual stale verdict (repository or .pages gone) as a flag too, and plans it', () => {
    const forwards = new ForwardTable();
    for (const domain of ['a.com', 'b.com', 'c.com']) forwards.set(domain, mapping(domain));
    const verdicts = new VerdictMap(forwards);
    verdicts.set('a.com', stale(GONE_REASON));
    verdicts.set('b.com', live(livePagesReason('b.com')));
    verdicts.set('c.com', stale('custom_domain changed to d.com'));
    verdicts.set('x.com', stale(GONE_REASON));
    expect(forwards.goneMarkCount).toBe(1);
    expect(forwards.liveMarkCount).toBe(1);
    expect(verdicts.size).toBe(4);
    expect(verdicts.live).toBe(1);
    expect(verdicts.statusOf('a.com')).toBe('stale');
    expect(verdicts.get('a.com')).toEqual(stale(GONE_REASON));
    expect(verdicts.has('a.com') && verdicts.has('x.com') && !verdicts.has('d.com')).toBe(true);
    expect(new Map(verdicts)).toEqual(
      new Map([
        ['a.com', stale(GONE_REASON)],
        ['b.com', live(livePagesReason('b.com'))],
        ['c.com', stale('custom_domain changed to d.com')],
        ['x.com', stale(GONE_REASON)],
      ]),
    );
    // The plan sees every stale verdict, flagged or not; the live flag is only counted.
    expect(new Map(verdictsToPlan(verdicts))).toEqual(
      new Map([
        ['a.com', stale(GONE_REASON)],
        ['c.com', stale('custom_domain changed to d.com')],
        ['x.com', stale(GONE_REASON)],
      ]),
    );
    expect(liveVerdictFlags(verdicts)).toBe(1);
    // A later verdict replaces the mark, whichever it is.
    verdicts.set('a.com', live(livePagesReason('a.com')));
    expect(forwards.goneMarkCount).toBe(0);
    expect(verdicts.get('a.com')).toEqual(live(livePagesReason('a.com')));
    expect(verdicts.live).toBe(2);
    verdicts.set('b.com', stale(GONE_REASON));
    expect([forwards.liveMarkCount, forwards.goneMarkCount, verdicts.live]).toEqual([1, 1, 1]);
    // A stale verdict with anything beside its reason is kept whole.
    const detailed = { ...stale(GONE_REASON), since: 1 } as unknown as ReturnType<typeof stale>;
    verdicts.set('b.com', detailed);
    expect(forwards.goneMarkCount).toBe(0);
    expect(verdicts.get('b.com')).toBe(detailed);
    // The mark outlives its forward entry.
    verdicts.set('c.com', stale(GONE_REASON));
    forwards.delete('c.com');
    expect(forwards.goneMarkCount).toBe(0);
    expect(verdicts.get('c.com')).toEqual(stale(GONE_REASON));
    verdicts.clear();
    expect([verdicts.size, forwards.liveMarkCount, forwards.goneMarkCount]).toEqual([0, 0, 0]);
  });
  it('a verdict outlives its forward entry being replaced or removed', () => {
    const forwards = new ForwardTable();
    forwards.set('a.com', mapping('a.com'));
    const verdicts = new VerdictMap(forwards);
    verdicts.set('a.com', live(livePagesReason('a.com')));
    forwards.set('a.com', { ...mapping('a.com'), value: Buffer.from('o:r2'), target: { owner: 'o', repo: 'r2' } });
    expect(verdicts.get('a.com')).toEqual(live(livePagesReason('a.com')));
    forwards.delete('a.com');
    expect(forwards.liveMarkCount).toBe(0);
    expect(verdicts.get('a.com')).toEqual(live(livePagesReason('a.com')));
    expect(verdicts.size).toBe(1);
    verdicts.delete('a.com');
    expect(verdicts.size).toBe(0);
    expect(verdicts.live).toBe(0);
  });
});

describe('RedirectsMetaTable', () => {
  it('keeps what the plugin writes as bytes, anything else whole, and reads back the same', () => {
    const table = new RedirectsMetaTable();
    const plain = { key: 'redirects_meta:a.com', value: Buffer.from('{"count":2}'), expiresAt: undefined };
    const expiring = { key: 'redirects_meta:b.com', value: Buffer.from('x'), expiresAt: 99 };
    const bytes = { key: 'redirects_meta:c.com', value: Buffer.from([0xff, 0x00]), expiresAt: undefined };
    table.set('a.com', plain).set('b.com', expiring).set('c.com', bytes);
    expect(table.size).toBe(3);
    expect(table.get('a.com')).toEqual(plain);
    expect(table.get('b.com')).toEqual(expiring);
    expect(table.get('c.com')).toEqual(bytes);
    expect(new Map(table)).toEqual(
      new Map<string, KeyValue>([
        ['a.com', plain],
        ['b.com', expiring],
        ['c.com', bytes],
      ]),
    );
    table.set('a.com', { ...plain, value: Buffer.from('{"count":3}') });
    expect(table.get('a.com')!.value.toString()).toBe('{"count":3}');
    expect(table.size).toBe(3);
    expect(table.delete('b.com') && !table.has('b.com')).toBe(true);
  });
});

describe('ArenaTextMap', () => {
  it('reads like a Map of strings, and stays small while entries pass through', () => {
    const map = new ArenaTextMap();
    const text = 'y'.repeat(200);
    // 60,000 entries of ~220 bytes pass through (13 MB), at most 1,000 held at once.
    let deleted = 0;
    for (let i = 0; i < 60_000; i++) {
      map.set(`o${i}:r`, `${text}${i}`);
      if (i >= 1_000 && map.delete(`o${i - 1_000}:r`)) deleted++;
    }
    expect(deleted).toBe(59_000);
    expect(map.size).toBe(1_000);
    expect(map.bytesHeld).toBeLessThanOrEqual(10 << 20);
    expect(map.get('o59999:r')).toBe(`${text}59999`);
    expect(map.get('o58999:r')).toBeUndefined();
    expect(map.has('o59000:r')).toBe(true);
    expect([...map.keys()]).toEqual(Array.from({ length: 1_000 }, (_, i) => `o${59_000 + i}:r`));
    expect(new Map(map).get('o59500:r')).toBe(`${text}59500`);
    map.set('o59500:r', 'new');
    expect(map.get('o59500:r')).toBe('new');
    expect(map.size).toBe(1_000);
  });
});

/** Two domain-like strings with one FNV-1a hash, the arena's (found once by a search over short names). */
function sameHash(): [string, string] {
  const fnv = (text: string) => {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    return hash | 0;
  };
  const pair: [string, string] = ['h10wzx.com', 'h1f6cd.com'];
  expect(fnv(pair[0])).toBe(fnv(pair[1]));
  return pair;
}
