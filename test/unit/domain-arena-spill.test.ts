import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainArena, type ChunkSpill } from '../../src/core/domain-arena';
import { ForwardTable, ReverseTable, VerdictMap } from '../../src/core/compact';
import { GONE_REASON, live, stale } from '../../src/core/verdict';
import { SpillFile } from '../../src/engine/spill-file';
import { ExplainedError } from '../../src/engine/explained-error';

/** A deterministic generator, so that a failure replays. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Domains of every kind the arena stores differently: packed, upper-case, UTF-8, long. */
function domainAndText(i: number, pick: () => number): [string, string] {
  const kind = Math.floor(pick() * 10);
  const id = i.toString(36);
  switch (kind) {
    case 0:
      return [`Site${id}.Example.com`, `Owner${id}:Repo`];
    case 1:
      return [`bücher-${id}.example`, `o:r:zweig-ß${id}`];
    case 2:
      return [`${'long-label-'.repeat(30)}${id}.org`, `o:${'r'.repeat(300 + (i % 50))}`];
    case 3:
      return [`𝔘${id}.net`, ''];
    default:
      return [`s${id}.example.com`, `user${id}:site${i % 97}`];
  }
}

/** The same entries in an arena that spills from its second chunk and in one that keeps all. */
function twins(count: number, seed = 7) {
  const directory = mkdtempSync(join(tmpdir(), 'arena-spill-'));
  const kept = new DomainArena();
  const spilling = new DomainArena({ openSpill: () => SpillFile.open(directory), spillAfterBytes: 0 });
  const pick = random(seed);
  const domains: string[] = [];
  let samePositions = true;
  for (let i = 0; i < count; i++) {
    const [domain, text] = domainAndText(i, pick);
    domains.push(domain);
    const flags = (i % 3) << 1;
    samePositions &&= spilling.append(domain, flags, text) === kept.append(domain, flags, text);
  }
  expect(samePositions).toBe(true);
  return { directory, kept, spilling, domains, pick };
}

describe('DomainArena with a spill', () => {
  let cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup) step();
    cleanup = [];
  });
  const made = (count: number, seed?: number) => {
    const arena = twins(count, seed);
    cleanup.push(() => {
      arena.spilling.release();
      rmSync(arena.directory, { recursive: true, force: true });
    });
    return arena;
  };

  /** A spill file of its own whose writes and reads `watch` sees first; closed and removed after the test. */
  const watchedSpill = (watch: { write?: (length: number, offset: number) => void; read?: () => void }): ChunkSpill => {
    const directory = mkdtempSync(join(tmpdir(), 'arena-spill-'));
    const file = SpillFile.open(directory);
    cleanup.push(() => {
      file.close();
      rmSync(directory, { recursive: true, force: true });
    });
    return {
      write: (source, length, offset) => {
        watch.write?.(length, offset);
        file.write(source, length, offset);
      },
      read: (target, at, length, offset) => {
        watch.read?.();
        file.read(target, at, length, offset);
      },
      close: () => {},
    };
  };

  it('keeps one chunk in memory and reads the rest back as they were written', () => {
    const { directory, kept, spilling, domains } = made(60_000);
    expect(kept.bytesHeld).toBeGreaterThanOrEqual(4 << 20);
    expect(spilling.spilled).toBe(true);
    expect(spilling.bytesHeld).toBe(1 << 20);
    // The file is unlinked as soon as it is open: nothing is left behind, however the run ends.
    expect(readdirSync(directory)).toEqual([]);
    const read = (arena: DomainArena) =>
      domains
        .filter((_, i) => i % 7 === 0)
        .map((domain) => {
          const position = arena.find(domain);
          return [position, arena.domainAt(position), arena.textAt(position), arena.flags(position)];
        });
    const expected = read(kept);
    expect(read(spilling)).toEqual(expected);
    expect(expected.every(([, domain], i) => domain === domains[7 * i])).toBe(true);
    expect(spilling.find('not-held.example.com')).toBe(-1);
    expect(spilling.find(`${domains[5]}x`)).toBe(-1);
  });

  it('keeps flags and removals where every read of a spilled entry finds them: a look-up, the window and the last entry read', () => {
    const { kept, spilling, domains, pick } = made(50_000);
    const seen: number[][] = [];
    for (let i = 0; i < 4_000; i++) {
      const domain = domains[Math.floor(pick() * domains.length)];
      const position = kept.find(domain);
      if (position < 0) continue;
      if (i % 5 === 0) {
        seen.push([Number(spilling.remove(domain)), Number(kept.remove(domain))]);
        continue;
      }
      const flags = 2 + Math.floor(pick() * 30);
      // Read first, so that the entry's copy is the one written to.
      const before = [spilling.flags(position), kept.flags(position)];
      kept.setFlags(position, flags);
      spilling.setFlags(position, flags);
      seen.push(before, [spilling.flags(position), kept.flags(position)]);
    }
    expect(seen.filter(([a, b]) => a !== b)).toEqual([]);
    expect(spilling.size).toBe(kept.size);
    const pass = spilling.positions();
    const differences: unknown[] = [];
    for (const position of kept.positions()) {
      // A look-up between two steps of the pass reads another entry of another chunk.
      spilling.find(domains[Math.floor(pick() * domains.length)]);
      const got = pass.next().value;
      if (got !== position || spilling.flags(position) !== kept.flags(position) || spilling.domainAt(position) !== kept.domainAt(position))
        differences.push(position);
    }
    expect(differences).toEqual([]);
    expect(pass.next().done).toBe(true);
  });

  it('sets the flags of spilled entries without writing to the spill, or reading it for an entry already found or passed over', () => {
    const calls = { reads: 0, writes: 0 };
    const counted = watchedSpill({ write: () => calls.writes++, read: () => calls.reads++ });
    const arena = new DomainArena({ openSpill: () => counted, spillAfterBytes: 0 });
    const pick = random(5);
    const domains: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      const [domain, text] = domainAndText(i, pick);
      domains.push(domain);
      arena.append(domain, 0, text);
    }
    expect(arena.spilled).toBe(true);
    const positions = domains.map((domain) => arena.find(domain));
    const before = { ...calls };
    positions.forEach((position, i) => arena.setFlags(position, 2 << (i % 5)));
    expect(calls).toEqual(before);
    expect(positions.every((position, i) => arena.flags(position) === ((2 << (i % 5)) | 1))).toBe(true);
    expect(calls).toEqual(before);
    // A pass in order reads each spilled chunk once, and sees the flags set since it was spilled.
    expect([...arena.positions()].every((position) => arena.flags(position) & 1)).toBe(true);
    expect(calls.writes).toBe(before.writes);
    expect(calls.reads - before.reads).toBeLessThanOrEqual(Math.ceil(positions[positions.length - 1] / (1 << 20)));
    // An entry whose flags the look-up excludes is passed over without reading its domain.
    const passed = { ...calls };
    const flagged = domains.map((_, i) => i).filter((i) => i % 5 === 4); // flags 32, set above
    expect(flagged.every((i) => arena.find(domains[i], 32) === -1)).toBe(true);
    expect(calls).toEqual(passed);
    expect(flagged.every((i) => arena.find(domains[i], 2) === positions[i])).toBe(true);
  });

  it('stays whole when a second pass takes the window in the middle of the first', () => {
    const { kept, spilling } = made(40_000);
    const expected = [...kept.positions()];
    const outer: number[] = [];
    let inner = 0;
    const differences: number[] = [];
    for (const position of spilling.positions()) {
      outer.push(position);
      if (outer.length === 10_000) for (const _ of spilling.positions()) inner++;
      if (spilling.domainAt(position) !== kept.domainAt(position)) differences.push(position);
    }
    expect(differences).toEqual([]);
    expect(outer).toEqual(expected);
    expect(inner).toBe(expected.length);
  });

  it('sorts all its entries, and any subset with repeats, as the arena in memory does', () => {
    const { kept, spilling, pick } = made(70_000, 11);
    expect(Array.from(spilling.sortedPositions())).toEqual(Array.from(kept.sortedPositions()));
    const all = Array.from(kept.positions());
    const subset = Array.from({ length: 5_000 }, () => all[Math.floor(pick() * all.length)]);
    expect(Array.from(spilling.sortPositions(Uint32Array.from(subset)))).toEqual(Array.from(kept.sortPositions(Uint32Array.from(subset))));
    expect(Array.from(spilling.sortPositions(new Uint32Array(0)))).toEqual([]);
  });

  it('gives its entries one at a time in domain order, each read with its latest flags', () => {
    const { kept, spilling, pick } = made(50_000, 3);
    const expected = Array.from(kept.sortedPositions());
    const got: number[] = [];
    const wrong: number[] = [];
    for (const position of spilling.inDomainOrder()) {
      got.push(position);
      // Flags written to entries the merge has read ahead must be the ones read.
      const other = expected[Math.min(expected.length - 1, got.length + Math.floor(pick() * 200))];
      const flags = 2 + Math.floor(pick() * 30);
      spilling.setFlags(other, flags);
      kept.setFlags(other, flags);
      if (spilling.flags(position) !== kept.flags(position) || spilling.textAt(position) !== kept.textAt(position)) wrong.push(position);
    }
    expect(wrong).toEqual([]);
    expect(got).toEqual(expected);
  });

  it('gives every entry in use in domain order from runs that carry their positions: removed ones left out, one larger than a run block', () => {
    let runBytes = 0;
    const counted = watchedSpill({ write: (length, offset) => (runBytes += offset >= 2 ** 31 ? length : 0) });
    const kept = new DomainArena();
    const spilling = new DomainArena({ openSpill: () => counted, spillAfterBytes: 0 });
    const pick = random(23);
    const domains: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const [domain, text] = i === 20_000 ? ['huge.example.com', 'o:' + 'r'.repeat(20_000)] : domainAndText(i, pick);
      domains.push(domain);
      kept.append(domain, 0, text);
      spilling.append(domain, 0, text);
    }
    for (let i = 0; i < domains.length; i += 11) {
      kept.remove(domains[i]);
      spilling.remove(domains[i]);
    }
    const order = Array.from(spilling.inDomainOrder());
    expect(order).toEqual(Array.from(kept.sortedPositions()));
    expect(order.map((position) => spilling.textAt(position))).toEqual(order.map((position) => kept.textAt(position)));
    expect(order).toContain(kept.find('huge.example.com'));
    // The runs went to the spill: every entry in use after its 4-byte position, the huge one among them.
    expect(runBytes).toBeGreaterThan(4 * order.length + 20_000);
  });

  it("sorts by reading each entry from its chunk when the spill cannot take a sort's runs", () => {
    const directory = mkdtempSync(join(tmpdir(), 'arena-spill-'));
    const file = SpillFile.open(directory);
    let refused = 0;
    const chunksOnly: ChunkSpill = {
      write: (source, length, offset) => {
        if (offset >= 2 ** 31) {
          refused++;
          throw new Error('EFBIG: file too large');
        }
        file.write(source, length, offset);
      },
      read: (target, at, length, offset) => file.read(target, at, length, offset),
      close: () => file.close(),
    };
    const kept = new DomainArena();
    const spilling = new DomainArena({ openSpill: () => chunksOnly, spillAfterBytes: 0 });
    try {
      for (let i = 0; i < 60_000; i++) {
        const domain = `d${(i * 7919) % 60_000}.example.org`;
        kept.append(domain, 0, `owner${i}:repo`);
        spilling.append(domain, 0, `owner${i}:repo`);
      }
      expect(Array.from(spilling.inDomainOrder()).map((position) => spilling.textAt(position))).toEqual(
        Array.from(kept.sortedPositions()).map((position) => kept.textAt(position)),
      );
      expect(refused).toBe(1);
      expect(spilling.spillStoppedBy).toBeUndefined();
    } finally {
      spilling.release();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('keeps its chunks in memory from the first one the spill cannot take, and all it holds stays readable', () => {
    const written = new Map<number, Buffer>();
    let writes = 0;
    const failing: ChunkSpill = {
      write: (source, length, offset) => {
        if (++writes > 1) throw new Error('ENOSPC: no space left on device');
        written.set(offset, Buffer.from(source.subarray(0, length)));
      },
      read: (target, at, length, offset) => {
        const base = Math.floor(offset / (1 << 20)) * (1 << 20);
        written.get(base)!.copy(target, at, offset - base, offset - base + length);
      },
      close: () => undefined,
    };
    const arena = new DomainArena({ openSpill: () => failing, spillAfterBytes: 2 << 20 });
    const added: [string, number][] = [];
    for (let i = 0; i < 200_000; i++) {
      const domain = `site${i}.example.com`;
      added.push([domain, arena.append(domain, 0, `owner${i}:repo`)]);
    }
    // The first chunk went to the spill; the second was kept when its write failed, and so was every one after it.
    expect(writes).toBe(2);
    expect(String(arena.spillStoppedBy)).toContain('ENOSPC');
    expect(arena.bytesHeld).toBeGreaterThan(4 << 20);
    const wrong = added.filter(([domain, position]) => arena.find(domain) !== position || arena.domainAt(position) !== domain);
    expect(wrong).toEqual([]);
    expect(
      Array.from(arena.sortedPositions())
        .map((position) => arena.textAt(position))
        .slice(0, 3),
    ).toEqual(['owner0:repo', 'owner1:repo', 'owner10:repo']);
  });

  it('keeps everything in memory when the spill cannot be opened', () => {
    const arena = new DomainArena({ openSpill: () => SpillFile.open('/nonexistent/pages-reaper'), spillAfterBytes: 0 });
    for (let i = 0; i < 60_000; i++) arena.append(`site${i}.example.com`, 0, `owner${i}:repo`);
    expect(arena.spilled).toBe(false);
    expect(String(arena.spillStoppedBy)).toMatch(/could not create the scan's overflow file in \/nonexistent\/pages-reaper/);
    expect(arena.domainAt(arena.find('site59999.example.com'))).toBe('site59999.example.com');
  });
});

describe('SpillFile', () => {
  it('refuses a directory it cannot write in, in one line naming it and the fix', () => {
    expect(() => SpillFile.open('/nonexistent/pages-reaper')).toThrow(ExplainedError);
    expect(() => SpillFile.open('/nonexistent/pages-reaper')).toThrow(
      /^could not create the scan's overflow file in \/nonexistent\/pages-reaper \(ENOENT: no such file or directory\); set TMPDIR to a writable directory on disk/,
    );
  });

  it('refuses a read past what was written, and any use once closed', () => {
    const directory = mkdtempSync(join(tmpdir(), 'spill-file-'));
    try {
      const file = SpillFile.open(directory);
      file.write(Buffer.from('abcdef'), 6, 10);
      const target = Buffer.alloc(6);
      file.read(target, 0, 6, 10);
      expect(target.toString()).toBe('abcdef');
      expect(() => file.read(target, 0, 6, 14)).toThrow(/could not read the scan's overflow file/);
      file.close();
      file.close();
      expect(() => file.write(Buffer.from('x'), 1, 0)).toThrow(/could not write the scan's overflow file .*closed/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('ForwardTable with a spill', () => {
  const mapping = (domain: string, value: string) => {
    const [owner, repo] = value.split(':');
    return { domain, key: `custom_domain:${domain}`, value: Buffer.from(value), target: { owner, repo } };
  };

  it('pairs, marks verdicts, lists and sorts as the table in memory does', () => {
    const directory = mkdtempSync(join(tmpdir(), 'forwards-spill-'));
    const tables = [new ForwardTable(), new ForwardTable({ openSpill: () => SpillFile.open(directory), spillAfterBytes: 0 })];
    try {
      const results = tables.map((forwards) => {
        const reverses = new ReverseTable(forwards);
        const verdicts = new VerdictMap(forwards);
        const domains: string[] = [];
        for (let i = 0; i < 60_000; i++) {
          const domain = `d${(i * 7919) % 60_000}.example.org`;
          domains.push(domain);
          // Half the reverse keys come before their forward, half after (as SCAN finds them).
          if (i % 2 === 0) reverses.add(`o${i}:r`, domain);
          forwards.set(domain, mapping(domain, `o${i}:r`));
          if (i % 2 === 1) reverses.add(`o${i}:r`, domain);
          // Some reverse keys name another domain: they stay unpaired.
          if (i % 13 === 0) reverses.add(`x${i}:r`, domain);
        }
        domains.forEach((domain, i) => {
          if (i % 10 === 0) verdicts.set(domain, stale(GONE_REASON));
          else if (i % 10 !== 5) verdicts.set(domain, live(`.pages names ${domain}`));
        });
        for (let i = 0; i < 60_000; i += 97) forwards.delete(domains[i]);
        return {
          spilled: forwards.spilled,
          size: forwards.size,
          paired: forwards.pairedCount,
          sorted: [...forwards.sortedViews()].map((view) => view.domain),
          stale: [...forwards.sortedAmong(domains.filter((domain) => verdicts.statusOf(domain) === 'stale'))],
          verdicts: domains
            .slice(0, 3_000)
            .map((domain) => [verdicts.statusOf(domain), forwards.valueText(domain), forwards.isPaired(domain)]),
          reverseOrphans: reverses.size,
        };
      });
      expect(results[0].spilled).toBe(false);
      expect(results[1].spilled).toBe(true);
      expect({ ...results[1], spilled: false }).toEqual(results[0]);
      expect(results[0].sorted.length).toBeGreaterThan(59_000);
    } finally {
      for (const table of tables) table.release();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
