import { redirectMiddlewareOwner, ROUTER_NAME_PREFIX } from './keys';
import { flat } from './compact';
import { DomainArena } from './domain-arena';
import { mappedArray } from './mapped-arrays';
import { capacityFor, homeSlot, isFull, mix32, nextSlot, rebuiltCapacity } from './open-addressing';

/** Interned suffixes a `PrefixedKeyTable` keeps as bits of an arena entry's flags (bit 0 is the arena's IN_USE). */
const MAX_SUFFIXES = 5;

/** The key names a bitmap over `suffixes` (and a list of other sub-keys) stands for, under `prefix`. */
function keyNames(prefix: string, suffixes: readonly string[], bits: number, others: readonly string[] = []): string[] {
  const keys: string[] = [];
  suffixes.forEach((suffix, i) => {
    if (bits & (1 << i)) keys.push(prefix + suffix);
  });
  for (const suffix of others) keys.push(prefix + suffix);
  return keys;
}

/** How many key names `keyNames` gives for these bits and other sub-keys, without building them. */
function keyNameCount(suffixes: readonly string[], bits: number, others: readonly string[] = []): number {
  let count = others.length;
  for (let i = 0; i < suffixes.length; i++) if (bits & (1 << i)) count++;
  return count;
}

/**
 * Keys under `{root}{name}/`: per name, a bitmap over a table of the suffixes the plugin
 * writes, with a list for any other suffix. Key names are rebuilt on demand. The names are
 * kept in a `DomainArena` with their bitmap in the entry's flags (a Map held the redirect
 * middleware names of a million long-named domains on V8's heap: 7.6 MB of strings beside
 * the Map itself), so a table has at most MAX_SUFFIXES interned suffixes.
 */
export class PrefixedKeyTable implements Iterable<[string, string[]]> {
  private readonly names = new DomainArena();
  /** Names too long for the arena (none the plugin writes), with their bitmaps. */
  private readonly outsized = new Map<string, number>();
  private readonly others = new Map<string, string[]>();
  private readonly suffixBit = new Map<string, number>();
  private keyTotal = 0;

  constructor(
    private readonly root: string,
    private readonly suffixes: readonly string[],
  ) {
    if (suffixes.length > MAX_SUFFIXES) throw new Error(`at most ${MAX_SUFFIXES} interned suffixes`);
    suffixes.forEach((suffix, i) => this.suffixBit.set(suffix, 1 << i));
  }

  /** Records `{root}{name}/{suffix}`; false when it was already recorded (SCAN repeats keys). */
  add(name: string, suffix: string): boolean {
    const bit = this.suffixBit.get(suffix);
    if (bit !== undefined) return this.addBit(name, bit);
    const list = this.others.get(name);
    if (list?.includes(suffix)) return false;
    if (list) list.push(suffix);
    else this.others.set(flat(name), [suffix]);
    this.addBit(name, 0);
    this.keyTotal++;
    return true;
  }

  /** Records a whole key name under the table's root; false when it is not under it or already known. */
  addKey(key: string): boolean {
    const slash = key.indexOf('/', this.root.length);
    if (!key.startsWith(this.root) || slash <= this.root.length || slash === key.length - 1) return false;
    const name = key.slice(this.root.length, slash);
    // The sub-key is found in place: no substring for the names the plugin writes.
    const length = key.length - slash - 1;
    for (let i = 0; i < this.suffixes.length; i++) {
      const suffix = this.suffixes[i];
      if (suffix.length === length && key.startsWith(suffix, slash + 1)) return this.addBit(name, 1 << i);
    }
    return this.add(name, key.slice(slash + 1));
  }

  /** Sets `bit` (0: none, the name alone) of `name`; false when it was set already. */
  private addBit(name: string, bit: number): boolean {
    const position = this.names.find(name);
    if (position >= 0) {
      const flags = this.names.flags(position);
      if (bit === 0 || flags & (bit << 1)) return false;
      this.names.setFlags(position, flags | (bit << 1));
    } else if (DomainArena.fits(name)) {
      this.names.append(name, bit << 1, '');
    } else {
      const now = this.outsized.get(name);
      if (bit === 0 ? now !== undefined : now !== undefined && now & bit) return false;
      this.outsized.set(name, (now ?? 0) | bit);
    }
    if (bit !== 0) this.keyTotal++;
    return true;
  }

  private bitsOf(name: string): number | undefined {
    const position = this.names.find(name);
    return position >= 0 ? this.names.flags(position) >>> 1 : this.outsized.get(name);
  }

  has(name: string): boolean {
    return this.bitsOf(name) !== undefined;
  }

  /** Every key name under `{root}{name}/`, or undefined when none was recorded. */
  get(name: string): string[] | undefined {
    const bits = this.bitsOf(name);
    return bits === undefined ? undefined : keyNames(`${this.root}${name}/`, this.suffixes, bits, this.others.get(name));
  }

  /** How many key names `get(name)` gives (0: none recorded), without building them. */
  countOf(name: string): number {
    const bits = this.bitsOf(name);
    return bits === undefined ? 0 : keyNameCount(this.suffixes, bits, this.others.get(name));
  }

  get size(): number {
    return this.names.size + this.outsized.size;
  }

  /** Key names recorded, over every name. */
  get keyCount(): number {
    return this.keyTotal;
  }

  *keys(): IterableIterator<string> {
    for (const position of this.names.positions()) yield this.names.domainAt(position);
    yield* this.outsized.keys();
  }

  *[Symbol.iterator](): IterableIterator<[string, string[]]> {
    for (const name of this.keys()) yield [name, this.get(name)!];
  }
}

/** The router sub-keys the plugin writes (pages.go registerTraefikRouter), and a few more middlewares. */
export const ROUTER_SUFFIXES = [
  'rule',
  'entryPoints/0',
  'entryPoints/1',
  'service',
  'tls/certResolver',
  'priority',
  ...Array.from({ length: 16 }, (_, i) => `middlewares/${i}`),
] as const;

/** The sub-keys of a redirect middleware (redirects.go). */
export const MIDDLEWARE_SUFFIXES = ['redirectRegex/regex', 'redirectRegex/replacement', 'redirectRegex/permanent'] as const;

/** Redirect middlewares: a `PrefixedKeyTable` that knows which sanitized domain each belongs to. */
export class MiddlewareTable extends PrefixedKeyTable {
  sanitizedDomainOf(name: string): string {
    return redirectMiddlewareOwner(name)!;
  }
}

/**
 * A 64-bit hash of `text[start, end)` as two 32-bit words written to `out`; with
 * `dotsAsDashes`, each `.` is hashed as `-` (a domain hashes as its sanitized name).
 */
export type NameHash = (text: string, start: number, end: number, dotsAsDashes: boolean, out: Uint32Array) => void;

/**
 * Two FNV-1a variants over the UTF-16 code units, read in place (no substring): the
 * classic one, and one with another basis, another odd multiplier and a rotation per
 * step, so the two words do not fail together.
 */
export const fnv1a64: NameHash = (text, start, end, dotsAsDashes, out) => {
  let a = 0x811c9dc5;
  let b = 0x2f8a3c17;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c === 0x2e && dotsAsDashes) c = 0x2d;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x9e3779b1);
    b = (b << 13) | (b >>> 19);
  }
  out[0] = mix32(a);
  out[1] = mix32(b ^ (end - start));
};

/** Words of a `RouterTable` record, and where each is. */
const RECORD = 3;
const HIGH = 0;
const LOW = 1;
const BITS = 2;

/** Set in an entry's bitmap once a forward mapping produces its name (see `markOwner`). */
const OWNED = 1 << 30;
/** Set in every recorded router's bitmap: a slot whose bitmap word is 0 is empty. */
const PRESENT = 1 << 31;
const EMPTY = -1;
const LEAST_CAPACITY = 64;

/**
 * The `custom-…` routers under `{root}`, without their names: per router, a 64-bit hash
 * of the name (computed in place over the key, between `custom-` and the slash) and a
 * bitmap over the sub-keys the plugin writes, in one typed array (about 25 bytes a
 * router instead of a name string and a Map entry). A router with a sub-key outside the
 * table keeps its name and that sub-key in a small Map, as `PrefixedKeyTable` does.
 *
 * Names are known only where they are needed: a caller that knows the name (a stale
 * domain's router) finds it by hashing the name; an orphan router, which no forward
 * mapping names, gets its name back from a second, prefix-filtered scan (see
 * `markOwner`, `unnamedOrphans`, `nameOrphan`). Routers added by name (`addKey(key, true)`)
 * keep their name at once.
 *
 * Two names with the same 64-bit hash share an entry (odds about n²/2⁶⁵: 3·10⁻⁸ at a
 * million routers). Such a collision only ever keeps more: a colliding orphan looks owned
 * and is never named, so never planned; keys listed under the other name that do not exist
 * are dropped when the plan reads values (`hydratePlan`). The counts would then miss the
 * merged router and its repeated sub-keys; otherwise they are exact.
 */
export class RouterTable {
  private readonly prefix: string;
  private readonly suffixLengths: number[];
  /**
   * Open addressing, linear probing, the records in the slots themselves: three words a
   * slot, the hash's two words and the sub-key bitmap (with OWNED and PRESENT), so that
   * finding a router and setting its bit touch one place in memory. At a million routers
   * the table is far larger than the CPU's caches and each key of the scan lands on a
   * random router: a slot array beside the records cost two cache misses a key, three
   * arrays four. A router's entry is its slot, until the table grows.
   */
  private records = new Uint32Array(LEAST_CAPACITY * RECORD);
  private capacity = LEAST_CAPACITY;
  private entries = 0;
  private keyTotal = 0;
  /** Entry (slot) → router name, for the entries whose name is known. */
  private names = new Map<number, string>();
  /** Router name → sub-keys outside the interned table (rare). */
  private readonly others = new Map<string, string[]>();
  private readonly hashed = new Uint32Array(2);
  private unnamed = 0;

  constructor(
    private readonly root: string,
    private readonly suffixes: readonly string[],
    private readonly hash: NameHash = fnv1a64,
  ) {
    if (suffixes.length > 30) throw new Error('at most 30 interned suffixes');
    this.prefix = root + ROUTER_NAME_PREFIX;
    this.suffixLengths = suffixes.map((suffix) => suffix.length);
  }

  /**
   * Records `{root}custom-{name}/{suffix}`; false when it is no such key or was already
   * recorded (SCAN repeats keys). With `keepName`, the router's name is kept too.
   */
  addKey(key: string, keepName = false): boolean {
    const slash = this.slashOf(key);
    return slash !== -1 && this.addKeyAt(key, slash, keepName);
  }

  /**
   * `addKey` for a key whose name the caller has already cut: `slash` is where the name
   * ends, as `routerKeySlash` finds it under this table's root (the scan's hottest path,
   * where each router key was searched twice).
   */
  addKeyAt(key: string, slash: number, keepName = false): boolean {
    const entry = this.findOrAdd(key, slash);
    if (keepName && !this.names.has(entry)) this.names.set(entry, flat(key.slice(this.root.length, slash)));
    // The sub-key is found in place: no substring for the names the plugin writes.
    const length = key.length - slash - 1;
    for (let i = 0; i < this.suffixes.length; i++) {
      if (this.suffixLengths[i] === length && key.startsWith(this.suffixes[i], slash + 1)) {
        const bit = 1 << i;
        if (this.records[entry * RECORD + BITS] & bit) return false;
        this.records[entry * RECORD + BITS] |= bit;
        this.keyTotal++;
        return true;
      }
    }
    const name = this.names.get(entry) ?? flat(key.slice(this.root.length, slash));
    const suffix = key.slice(slash + 1);
    const list = this.others.get(name);
    if (list?.includes(suffix)) return false;
    if (list) list.push(flat(suffix));
    else this.others.set(name, [flat(suffix)]);
    // A name the table holds anyway is known: the router needs no second scan.
    if (!this.names.has(entry)) this.names.set(entry, name);
    this.keyTotal++;
    return true;
  }

  has(name: string): boolean {
    return this.find(name) !== EMPTY;
  }

  /** Every key name under `{root}{name}/`, or undefined when none was recorded. */
  get(name: string): string[] | undefined {
    const entry = this.find(name);
    if (entry === EMPTY) return undefined;
    return keyNames(`${this.root}${name}/`, this.suffixes, this.records[entry * RECORD + BITS], this.others.get(name));
  }

  /** How many key names `get(name)` gives (0: none recorded), without building them. */
  countOf(name: string): number {
    const entry = this.find(name);
    return entry === EMPTY ? 0 : keyNameCount(this.suffixes, this.records[entry * RECORD + BITS], this.others.get(name));
  }

  /** Routers recorded. */
  get size(): number {
    return this.entries;
  }

  /** Key names recorded, over every router. */
  get keyCount(): number {
    return this.keyTotal;
  }

  /**
   * Marks the router a forward mapping's domain produces (`custom-{domain, . as -}`) as
   * owned, hashing the domain in place. Returns whether such a router was recorded.
   */
  markOwner(domain: string): boolean {
    this.hash(domain, 0, domain.length, true, this.hashed);
    const entry = this.lookup(this.hashed[0], this.hashed[1]);
    if (entry === EMPTY) return false;
    if (!(this.records[entry * RECORD + BITS] & OWNED)) {
      this.records[entry * RECORD + BITS] |= OWNED;
      if (this.unnamed > 0 && !this.names.has(entry)) this.unnamed--;
    }
    return true;
  }

  /**
   * Counts the routers neither owned nor named: call once every owner is marked, before
   * `nameOrphan`. Zero means no second scan is needed.
   */
  countUnnamedOrphans(): number {
    let unnamed = 0;
    for (let entry = 0; entry < this.capacity; entry++) {
      const bits = this.records[entry * RECORD + BITS];
      if (bits !== 0 && !(bits & OWNED) && !this.names.has(entry)) unnamed++;
    }
    this.unnamed = unnamed;
    return unnamed;
  }

  /** Routers neither owned nor named, as counted by `countUnnamedOrphans` and left by `nameOrphan`. */
  get unnamedOrphans(): number {
    return this.unnamed;
  }

  /**
   * Takes a router key from the second scan and keeps its router's name when the router
   * is recorded, not owned and not named yet. True when a name was kept.
   */
  nameOrphan(key: string): boolean {
    const slash = this.slashOf(key);
    if (slash === -1) return false;
    this.hash(key, this.prefix.length, slash, false, this.hashed);
    const entry = this.lookup(this.hashed[0], this.hashed[1]);
    if (entry === EMPTY || this.records[entry * RECORD + BITS] & OWNED || this.names.has(entry)) return false;
    this.names.set(entry, flat(key.slice(this.root.length, slash)));
    this.unnamed--;
    return true;
  }

  /**
   * The router names known: after a scan, every router no forward mapping owns whose name
   * the second scan found, and those added by name or with an unknown sub-key.
   */
  knownNames(): IterableIterator<string> {
    return this.names.values();
  }

  /** Where the name ends in `{root}custom-{name}/{suffix}`, or -1 for any other key. */
  private slashOf(key: string): number {
    if (!key.startsWith(this.prefix)) return -1;
    const slash = key.indexOf('/', this.prefix.length);
    return slash > this.prefix.length && slash < key.length - 1 ? slash : -1;
  }

  private find(name: string): number {
    if (!name.startsWith(ROUTER_NAME_PREFIX) || name.length === ROUTER_NAME_PREFIX.length) return EMPTY;
    this.hash(name, ROUTER_NAME_PREFIX.length, name.length, false, this.hashed);
    return this.lookup(this.hashed[0], this.hashed[1]);
  }

  /** The slot holding this hash, or the empty slot where it would go (as `-2 - slot`). */
  private probe(high: number, low: number): number {
    const capacity = this.capacity;
    for (let slot = homeSlot(low, capacity); ; slot = nextSlot(slot, capacity)) {
      const at = slot * RECORD;
      if (this.records[at + BITS] === 0) return -2 - slot;
      if (this.records[at + LOW] === low && this.records[at + HIGH] === high) return slot;
    }
  }

  private lookup(high: number, low: number): number {
    const slot = this.probe(high, low);
    return slot < 0 ? EMPTY : slot;
  }

  private findOrAdd(key: string, slash: number): number {
    this.hash(key, this.prefix.length, slash, false, this.hashed);
    const high = this.hashed[0];
    const low = this.hashed[1];
    const found = this.probe(high, low);
    if (found >= 0) return found;
    const at = (-2 - found) * RECORD;
    this.records[at + HIGH] = high;
    this.records[at + LOW] = low;
    this.records[at + BITS] = PRESENT;
    this.entries++;
    // Growing moves every router to a new slot.
    if (!isFull(this.entries, this.capacity)) return -2 - found;
    this.grow();
    return this.probe(high, low);
  }

  private grow(): void {
    const old = this.records;
    const oldCapacity = this.capacity;
    this.capacity = rebuiltCapacity(this.entries, LEAST_CAPACITY);
    this.records = mappedArray(Uint32Array, this.capacity * RECORD);
    const moved = new Map<number, number>();
    for (let slot = 0; slot < oldCapacity; slot++) {
      const from = slot * RECORD;
      if (old[from + BITS] === 0) continue;
      const to = -2 - this.probe(old[from + HIGH], old[from + LOW]);
      this.records[to * RECORD + HIGH] = old[from + HIGH];
      this.records[to * RECORD + LOW] = old[from + LOW];
      this.records[to * RECORD + BITS] = old[from + BITS];
      if (this.names.has(slot)) moved.set(slot, to);
    }
    // The names keep their order: `knownNames` lists them as they came.
    const names = new Map<number, string>();
    for (const [slot, name] of this.names) names.set(moved.get(slot)!, name);
    this.names = names;
  }
}

/**
 * How many names hash alike, by the same 64-bit hash as `RouterTable` (dots read as
 * dashes when asked), in typed arrays: a count per name without keeping the name. A count
 * saturates at 255; two names of one hash count together, which only ever overstates.
 */
const LEAST_COUNTED = 1024;

export class NameCounts {
  private high!: Uint32Array;
  private low!: Uint32Array;
  /** 0: an empty slot. */
  private counts!: Uint8Array;
  private used = 0;
  private readonly out = new Uint32Array(2);

  /** `expected`: how many names will be added at most, when the caller knows (it then never grows). */
  constructor(expected = 0) {
    this.allocate(capacityFor(expected, LEAST_COUNTED));
  }

  /** Empty arrays of `capacity` slots, in place of the ones held. */
  private allocate(capacity: number): void {
    this.high = mappedArray(Uint32Array, capacity);
    this.low = mappedArray(Uint32Array, capacity);
    this.counts = mappedArray(Uint8Array, capacity);
  }

  add(text: string, dotsAsDashes: boolean): void {
    if (isFull(this.used + 1, this.counts.length)) this.grow();
    fnv1a64(text, 0, text.length, dotsAsDashes, this.out);
    const slot = this.slotOf(this.out[0], this.out[1]);
    if (this.counts[slot] === 0) {
      this.high[slot] = this.out[0];
      this.low[slot] = this.out[1];
      this.used++;
    }
    if (this.counts[slot] < 255) this.counts[slot]++;
  }

  count(text: string, dotsAsDashes: boolean): number {
    fnv1a64(text, 0, text.length, dotsAsDashes, this.out);
    return this.counts[this.slotOf(this.out[0], this.out[1])];
  }

  /** The slot holding this hash, or the empty slot where it would go. */
  private slotOf(high: number, low: number): number {
    const capacity = this.counts.length;
    let slot = homeSlot(high ^ low, capacity);
    while (this.counts[slot] !== 0 && (this.high[slot] !== high || this.low[slot] !== low)) slot = nextSlot(slot, capacity);
    return slot;
  }

  private grow(): void {
    const { high, low, counts } = this;
    this.allocate(rebuiltCapacity(this.used + 1, LEAST_COUNTED));
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      const slot = this.slotOf(high[i], low[i]);
      this.high[slot] = high[i];
      this.low[slot] = low[i];
      this.counts[slot] = counts[i];
    }
  }
}
