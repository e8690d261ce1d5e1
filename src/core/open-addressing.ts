/**
 * Sizing and probing shared by the scan's open-addressing tables (`DomainArena`'s index,
 * `RouterTable`, `NameCounts`). Their capacity is any whole number, not a power of two:
 * doubling at a power of two made a table jump at an arbitrary size (the router table from
 * 24 to 48 MB and the arena's index from 16 to 32 MB at the 1,048,577th domain), and held
 * the old and the new array together while it grew. A table grows by half once three
 * quarters of its slots are taken: it holds 1.33 to 2 slots an entry (2 to 4 before), and
 * while it grows, its two arrays hold 3.3 slots an entry (6 before).
 */

/** The share of a table's slots taken (entries and removal marks) before it grows. */
const MAX_LOAD = 0.75;

/** Whether a table of `capacity` slots with `taken` of them in use must grow first. */
export function isFull(taken: number, capacity: number): boolean {
  return taken > capacity * MAX_LOAD;
}

/**
 * The capacity a table rebuilt for `entries` live entries gets: twice as many slots (half
 * full), never fewer than `least`. A table whose removal marks filled it is rebuilt at the
 * size its live entries need, which may be smaller.
 */
export function rebuiltCapacity(entries: number, least: number): number {
  return Math.max(least, 2 * entries + 2);
}

/**
 * The capacity of a table built for at most `entries` entries, known before the first one
 * is added: they all fit without growing (no old and new array held together), never fewer
 * than `least` slots.
 */
export function capacityFor(entries: number, least: number): number {
  return Math.max(least, Math.floor(entries / MAX_LOAD) + 1);
}

/**
 * The first slot to probe for a 32-bit hash: its high bits scaled to the capacity (a
 * multiply instead of a modulo), so every slot is reachable whatever the capacity. Exact in
 * a double: the product stays under 2^32 · capacity, and the division is by a power of two.
 */
export function homeSlot(hash: number, capacity: number): number {
  return Math.floor(((hash >>> 0) * capacity) / 4294967296);
}

/** The slot probed after `slot` (linear probing, wrapping at the end). */
export function nextSlot(slot: number, capacity: number): number {
  return slot + 1 === capacity ? 0 : slot + 1;
}

/** Murmur3's finalizer: spreads every input bit over the word (for hashes whose high bits are weak). */
export function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
