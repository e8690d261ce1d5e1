import { capacityFor, homeSlot, isFull, nextSlot, rebuiltCapacity } from '../../src/core/open-addressing';
import { DomainArena } from '../../src/core/domain-arena';
import { NameCounts } from '../../src/core/traefik-tables';

describe('open addressing', () => {
  it('maps every 32-bit hash to a slot of any capacity, the extremes included', () => {
    for (const capacity of [1, 3, 64, 1000, 1_797_304, 12_582_917]) {
      for (const hash of [0, 1, 0x7fffffff, -1, 0x80000000, 0xffffffff, -0x80000000]) {
        const slot = homeSlot(hash, capacity);
        expect(Number.isInteger(slot)).toBe(true);
        expect(slot).toBeGreaterThanOrEqual(0);
        expect(slot).toBeLessThan(capacity);
      }
      expect(homeSlot(0xffffffff, capacity)).toBe(capacity - 1);
      expect(nextSlot(capacity - 1, capacity)).toBe(0);
    }
  });

  it('spreads hashes over the whole table, not only its first power of two', () => {
    const capacity = 1500;
    const used = new Set<number>();
    for (let i = 0; i < 1 << 16; i++) used.add(homeSlot(Math.imul(i, 0x9e3779b1), capacity));
    expect(used.size).toBe(capacity);
  });

  it('grows at three quarters and rebuilds at half, from the live entries', () => {
    expect(isFull(75, 100)).toBe(false);
    expect(isFull(76, 100)).toBe(true);
    expect(rebuiltCapacity(76, 64)).toBe(154);
    expect(rebuiltCapacity(3, 64)).toBe(64);
  });

  it('sizes a table for a number of entries known ahead so that they all fit without growing', () => {
    for (const entries of [1, 3, 48, 49, 750, 1_000, 1_000_000]) {
      const capacity = capacityFor(entries, 64);
      expect(isFull(entries, capacity)).toBe(false);
      // Not much more than that: two slots fewer would not do (above the least capacity).
      if (capacity > 64) expect(isFull(entries, capacity - 2)).toBe(true);
    }
    expect(capacityFor(0, 64)).toBe(64);
    expect(capacityFor(1_000, 64)).toBe(1_334);
  });

  it('lets an arena that entries pass through keep finding exactly what it holds', () => {
    const arena = new DomainArena();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3_000; i++) arena.append(`r${round}-site${i}.example`, 0, `o:r${i}`);
      for (let i = 0; i < 3_000; i++) if (i % 10 !== 0) expect(arena.remove(`r${round}-site${i}.example`)).toBe(true);
    }
    expect(arena.size).toBe(4 * 300);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3_000; i++) {
        const position = arena.find(`r${round}-site${i}.example`);
        if (i % 10 === 0) expect(arena.textAt(position)).toBe(`o:r${i}`);
        else expect(position).toBe(-1);
      }
    }
  });

  it('counts as many names as it was sized for in the arrays it started with', () => {
    const counts = new NameCounts(5_000);
    const arrays = () => (counts as unknown as { counts: Uint8Array }).counts;
    const first = arrays();
    for (let i = 0; i < 5_000; i++) counts.add(`name${i}.example`, false);
    expect(arrays()).toBe(first);
    for (let i = 0; i < 5_000; i += 7) expect(counts.count(`name${i}.example`, false)).toBe(1);
    counts.add('one-more.example', false); // past what it was sized for, it grows as before
    expect(arrays()).not.toBe(first);
    expect(counts.count('one-more.example', false)).toBe(1);
    expect(counts.count('name4999.example', false)).toBe(1);
  });

  it('counts names through growth past non-power-of-two sizes', () => {
    const counts = new NameCounts();
    for (let i = 0; i < 10_000; i++) counts.add(`name${i % 5_000}.example`, false);
    for (let i = 0; i < 5_000; i += 7) expect(counts.count(`name${i}.example`, false)).toBe(2);
    expect(counts.count('name5000.example', false)).toBe(0);
  });
});
