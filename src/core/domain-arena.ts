/**
 * Domains and a short text each, kept as bytes: a scan of a million domains holds a
 * million of them, and as strings in a Map each would cost an entry, a domain string and
 * a value string (about 110 bytes); here it costs its bytes, a 5-byte header and two
 * index slots (about 60 bytes), outside V8's heap so the collector never walks it.
 *
 * Entries are appended to chunks as `[flags u8][domain length u16][text length u16]
 * [domain][text]`; an entry is found by an open-addressing index of its position. The
 * domain and the text are each kept six bits a character where their characters allow it
 * (`packed-text.ts`: a million domains with their `owner:repo` values hold a quarter
 * less), else as UTF-8; a length counts codes, or bytes. Removing an entry clears its
 * flags and leaves its bytes: tables built by a scan seldom remove anything.
 */

import { homeSlot, isFull, mix32, nextSlot, rebuiltCapacity } from './open-addressing';
import { codeCount, pack, packedBytes, packedCharAt, packedEquals, unpack } from './packed-text';
import { mappedArray } from './mapped-arrays';

const CHUNK_BYTES = 1 << 20;
const HEADER_BYTES = 5;
/** The longest domain or text an entry holds; longer ones are the caller's to keep. */
export const MAX_ENTRY_TEXT_BYTES = 0xffff;
/** Flag of an entry in use; an entry without it was removed. */
export const IN_USE = 1;
/** The arena's own flags, kept beside the caller's: the domain, the text is packed. */
const DOMAIN_PACKED = 0x80;
const TEXT_PACKED = 0x40;
const STORAGE_FLAGS = DOMAIN_PACKED | TEXT_PACKED;
const EMPTY_SLOT = 0;
const COMPACT_AFTER_BYTES = 4 << 20;
const LEAST_CAPACITY = 1024;
const REMOVED_SLOT = -1;
const MAX_POSITION = 0x7ffffffe;

/**
 * Whether the text `hashText` read last was all ASCII: found in the same pass, since a
 * lookup needs both and a second pass over the domain cost as much as the hash.
 */
let lastHashedAscii = true;

/**
 * How a domain or text is kept: its codes when packing takes no more room than its UTF-8
 * (a domain only without upper-case letters, so packed domains sort by their bytes), else
 * -1. One answer per text: a lookup compares like with like.
 */
function packing(text: string, utf8Bytes: number, allowUpper: boolean): number {
  const codes = codeCount(text, allowUpper);
  return codes >= 0 && codes <= MAX_ENTRY_TEXT_BYTES && packedBytes(codes) <= utf8Bytes ? codes : -1;
}

/** FNV-1a over UTF-16 code units: the same for a string and for the bytes of an ASCII one. */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  let seen = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    seen |= code;
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  lastHashedAscii = seen <= 0x7f;
  return hash | 0;
}

export class DomainArena {
  private readonly chunks: Buffer[] = [];
  /** Bytes written in each chunk. */
  private readonly chunkEnds: number[] = [];
  private used = CHUNK_BYTES;
  /**
   * Two words per slot, side by side (one cache miss per probe at a million entries, not
   * two): the entry's position + 1 (0 empty, -1 removed) and the domain's hash.
   */
  private index = new Int32Array(2 * LEAST_CAPACITY);
  private capacity = LEAST_CAPACITY;
  private occupied = 0;
  private count = 0;
  /** Bytes of removed entries, left in their chunks until `compactIfSparse`. */
  private deadBytes = 0;
  private writtenBytes = 0;
  /**
   * The last domain looked up and its position (or -1): a run asks for one domain several
   * times in a row (its verdict, then its mapping), and hashing it again costs more than
   * comparing it.
   */
  private lastDomain: string | undefined;
  private lastPosition = -1;

  get size(): number {
    return this.count;
  }

  /** Bytes of the chunks held. */
  get bytesHeld(): number {
    return this.chunks.length * CHUNK_BYTES;
  }

  /** Whether a domain fits in an entry (its UTF-8 length). */
  static fits(domain: string, text = ''): boolean {
    return Buffer.byteLength(domain, 'utf8') <= MAX_ENTRY_TEXT_BYTES && Buffer.byteLength(text, 'utf8') <= MAX_ENTRY_TEXT_BYTES;
  }

  /** The position of a domain's entry, or -1. */
  find(domain: string): number {
    if (domain === this.lastDomain) return this.lastPosition;
    const slot = this.slotOf(domain);
    this.lastDomain = domain;
    this.lastPosition = slot < 0 ? -1 : this.index[2 * slot] - 1;
    return this.lastPosition;
  }

  /** The index slot holding a domain's entry, or -1. */
  private slotOf(domain: string): number {
    const hash = hashText(domain);
    const capacity = this.capacity;
    const bytes = lastHashedAscii ? undefined : Buffer.from(domain, 'utf8');
    for (let slot = homeSlot(mix32(hash), capacity); ; slot = nextSlot(slot, capacity)) {
      const held = this.index[2 * slot];
      if (held === EMPTY_SLOT) return -1;
      if (held !== REMOVED_SLOT && this.index[2 * slot + 1] === hash && this.holds(held - 1, domain, bytes)) return slot;
    }
  }

  /** Adds an entry for a domain the arena does not hold (see `find`); returns its position. */
  append(domain: string, flags: number, text: string): number {
    const domainBytes = Buffer.byteLength(domain, 'utf8');
    const textBytes = Buffer.byteLength(text, 'utf8');
    if (domainBytes > MAX_ENTRY_TEXT_BYTES || textBytes > MAX_ENTRY_TEXT_BYTES) throw new RangeError('entry too long for the arena');
    const domainCodes = domainBytes === domain.length ? packing(domain, domainBytes, false) : -1;
    const textCodes = textBytes === text.length ? packing(text, textBytes, true) : -1;
    const domainStored = domainCodes >= 0 ? packedBytes(domainCodes) : domainBytes;
    const textStored = textCodes >= 0 ? packedBytes(textCodes) : textBytes;
    if (isFull(this.occupied + 1, this.capacity)) this.grow();
    const position = this.reserve(HEADER_BYTES + domainStored + textStored);
    const chunk = this.chunks[position >>> 20];
    const at = position & (CHUNK_BYTES - 1);
    chunk[at] = (flags & ~STORAGE_FLAGS) | IN_USE | (domainCodes >= 0 ? DOMAIN_PACKED : 0) | (textCodes >= 0 ? TEXT_PACKED : 0);
    chunk.writeUInt16LE(domainCodes >= 0 ? domainCodes : domainBytes, at + 1);
    chunk.writeUInt16LE(textCodes >= 0 ? textCodes : textBytes, at + 3);
    if (domainCodes >= 0) pack(domain, chunk, at + HEADER_BYTES);
    else chunk.write(domain, at + HEADER_BYTES, domainBytes, 'utf8');
    if (textCodes >= 0) pack(text, chunk, at + HEADER_BYTES + domainStored);
    else if (textBytes > 0) chunk.write(text, at + HEADER_BYTES + domainStored, textBytes, 'utf8');
    this.place(hashText(domain), position);
    this.count++;
    this.lastDomain = domain;
    this.lastPosition = position;
    return position;
  }

  /** Removes a domain's entry; false when it has none. */
  remove(domain: string): boolean {
    const slot = this.slotOf(domain);
    if (slot < 0) return false;
    const position = this.index[2 * slot] - 1;
    this.index[2 * slot] = REMOVED_SLOT;
    this.lastDomain = undefined;
    // The arena's own flags stay: they say how long the entry's bytes are.
    this.chunks[position >>> 20][position & (CHUNK_BYTES - 1)] &= STORAGE_FLAGS;
    this.deadBytes += this.entryLength(position);
    this.count--;
    return true;
  }

  /**
   * Copies the entries in use into new chunks once removed ones take more room than they
   * do (and a few MB): for a table that entries pass through. Positions change, so no
   * caller may hold one (or be iterating) across this call.
   */
  compactIfSparse(): void {
    if (this.deadBytes < COMPACT_AFTER_BYTES || this.deadBytes * 2 < this.writtenBytes) return;
    this.lastDomain = undefined;
    const chunks = this.chunks.splice(0);
    const ends = this.chunkEnds.splice(0);
    this.used = CHUNK_BYTES;
    this.index.fill(EMPTY_SLOT);
    this.occupied = 0;
    this.deadBytes = 0;
    this.writtenBytes = 0;
    for (let c = 0; c < chunks.length; c++) {
      for (let at = 0; at < ends[c];) {
        const length = entryLengthIn(chunks[c], at);
        if (chunks[c][at] & IN_USE) {
          const position = this.reserve(length);
          chunks[c].copy(this.chunks[position >>> 20], position & (CHUNK_BYTES - 1), at, at + length);
          this.place(hashText(this.domainAt(position)), position);
        }
        at += length;
      }
    }
  }

  /** The caller's flags of an entry (IN_USE among them). */
  flags(position: number): number {
    return this.chunks[position >>> 20][position & (CHUNK_BYTES - 1)] & ~STORAGE_FLAGS;
  }

  /** Sets the caller's flags of an entry in use (IN_USE stays: `remove` is how an entry goes). */
  setFlags(position: number, flags: number): void {
    const chunk = this.chunks[position >>> 20];
    const at = position & (CHUNK_BYTES - 1);
    chunk[at] = (flags & ~STORAGE_FLAGS) | IN_USE | (chunk[at] & STORAGE_FLAGS);
  }

  domainAt(position: number): string {
    const chunk = this.chunks[position >>> 20];
    const at = position & (CHUNK_BYTES - 1);
    const count = chunk.readUInt16LE(at + 1);
    if (chunk[at] & DOMAIN_PACKED) return unpack(chunk, at + HEADER_BYTES, count);
    return chunk.toString('utf8', at + HEADER_BYTES, at + HEADER_BYTES + count);
  }

  textAt(position: number): string {
    const chunk = this.chunks[position >>> 20];
    const at = position & (CHUNK_BYTES - 1);
    const start = at + HEADER_BYTES + domainStoredBytes(chunk, at);
    const count = chunk.readUInt16LE(at + 3);
    if (chunk[at] & TEXT_PACKED) return unpack(chunk, start, count);
    return chunk.toString('utf8', start, start + count);
  }

  /** Positions of the entries in use, in the order they were added. */
  *positions(): IterableIterator<number> {
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c];
      for (let at = 0; at < this.chunkEnds[c];) {
        if (chunk[at] & IN_USE) yield c * CHUNK_BYTES + at;
        at += entryLengthIn(chunk, at);
      }
    }
  }

  /**
   * Positions of the entries in use, ordered by domain bytes (the order of the domain
   * strings for ASCII ones, which is what a domain name is), without building a string.
   */
  sortedPositions(): Uint32Array {
    const order = mappedArray(Uint32Array, this.count);
    let n = 0;
    for (const position of this.positions()) order[n++] = position;
    return this.sortPositions(order);
  }

  /** Sorts positions of entries in use in place, in the order `sortedPositions` gives them. */
  sortPositions(positions: Uint32Array): Uint32Array {
    sortInPlace(positions, (a, b) => this.compareDomains(a, b));
    return positions;
  }

  private compareDomains(a: number, b: number): number {
    const chunkA = this.chunks[a >>> 20];
    const chunkB = this.chunks[b >>> 20];
    const atA = a & (CHUNK_BYTES - 1);
    const atB = b & (CHUNK_BYTES - 1);
    const lengthA = chunkA[atA + 1] | (chunkA[atA + 2] << 8);
    const lengthB = chunkB[atB + 1] | (chunkB[atB + 2] << 8);
    const packedA = (chunkA[atA] & DOMAIN_PACKED) !== 0;
    const packedB = (chunkB[atB] & DOMAIN_PACKED) !== 0;
    if (packedA === packedB) {
      // Packed without escapes (a domain's), codes compare as their characters do, and
      // zero bits pad the last byte: the bytes, then the lengths, order them.
      const common = packedA ? Math.min(packedBytes(lengthA), packedBytes(lengthB)) : Math.min(lengthA, lengthB);
      for (let i = 0; i < common; i++) {
        const diff = chunkA[atA + HEADER_BYTES + i] - chunkB[atB + HEADER_BYTES + i];
        if (diff !== 0) return diff;
      }
      return lengthA - lengthB;
    }
    // One packed (ASCII, so a character is its UTF-8 byte), one not: character by byte.
    const common = Math.min(lengthA, lengthB);
    for (let i = 0; i < common; i++) {
      const byteA = packedA ? packedCharAt(chunkA, atA + HEADER_BYTES, i) : chunkA[atA + HEADER_BYTES + i];
      const byteB = packedB ? packedCharAt(chunkB, atB + HEADER_BYTES, i) : chunkB[atB + HEADER_BYTES + i];
      if (byteA !== byteB) return byteA - byteB;
    }
    return lengthA - lengthB;
  }

  /** Room for an entry of `length` bytes at the end of the last chunk (or a new one); its position. */
  private reserve(length: number): number {
    if (this.used + length > CHUNK_BYTES) {
      if (this.chunks.length * CHUNK_BYTES >= MAX_POSITION - CHUNK_BYTES) throw new RangeError('domain arena full (2 GiB)');
      // Not from the shared pool: each chunk is kept for the run.
      this.chunks.push(Buffer.allocUnsafeSlow(CHUNK_BYTES));
      this.chunkEnds.push(0);
      this.used = 0;
    }
    const position = (this.chunks.length - 1) * CHUNK_BYTES + this.used;
    this.used += length;
    this.writtenBytes += length;
    this.chunkEnds[this.chunks.length - 1] = this.used;
    return position;
  }

  private entryLength(position: number): number {
    return entryLengthIn(this.chunks[position >>> 20], position & (CHUNK_BYTES - 1));
  }

  /** Whether the entry at `position` is `domain`'s: `bytes` is its UTF-8 when it is not ASCII. */
  private holds(position: number, domain: string, bytes: Buffer | undefined): boolean {
    const chunk = this.chunks[position >>> 20];
    const at = position & (CHUNK_BYTES - 1);
    const length = chunk[at + 1] | (chunk[at + 2] << 8);
    const start = at + HEADER_BYTES;
    // A packed domain is ASCII: never one whose UTF-8 differs from its characters.
    if ((chunk[at] & DOMAIN_PACKED) !== 0) return !bytes && packedEquals(chunk, start, length, domain);
    if (bytes) return length === bytes.length && chunk.compare(bytes, 0, bytes.length, start, start + length) === 0;
    if (length !== domain.length) return false;
    for (let i = 0; i < length; i++) if (chunk[start + i] !== domain.charCodeAt(i)) return false;
    return true;
  }

  private place(hash: number, position: number): void {
    const capacity = this.capacity;
    let slot = homeSlot(mix32(hash), capacity);
    while (this.index[2 * slot] !== EMPTY_SLOT && this.index[2 * slot] !== REMOVED_SLOT) slot = nextSlot(slot, capacity);
    if (this.index[2 * slot] === EMPTY_SLOT) this.occupied++;
    this.index[2 * slot] = position + 1;
    this.index[2 * slot + 1] = hash;
  }

  /** Rebuilds the index for the entries in use, without the marks removals left. */
  private grow(): void {
    const { index, capacity } = this;
    this.capacity = rebuiltCapacity(this.count + 1, LEAST_CAPACITY);
    this.index = mappedArray(Int32Array, 2 * this.capacity);
    this.occupied = 0;
    for (let slot = 0; slot < capacity; slot++) {
      const held = index[2 * slot];
      if (held !== EMPTY_SLOT && held !== REMOVED_SLOT) this.place(index[2 * slot + 1], held - 1);
    }
  }
}

/** Bytes the domain of the entry at `at` takes. */
function domainStoredBytes(chunk: Buffer, at: number): number {
  const count = chunk[at + 1] | (chunk[at + 2] << 8);
  return chunk[at] & DOMAIN_PACKED ? packedBytes(count) : count;
}

/** Bytes the entry at `at` takes, header included. */
function entryLengthIn(chunk: Buffer, at: number): number {
  const textCount = chunk[at + 3] | (chunk[at + 4] << 8);
  return HEADER_BYTES + domainStoredBytes(chunk, at) + (chunk[at] & TEXT_PACKED ? packedBytes(textCount) : textCount);
}

/** A Map of strings to strings in a `DomainArena`, for tables entries pass through. */
export class ArenaTextMap implements Iterable<[string, string]> {
  private readonly arena = new DomainArena();

  get size(): number {
    return this.arena.size;
  }

  get bytesHeld(): number {
    return this.arena.bytesHeld;
  }

  has(key: string): boolean {
    return this.arena.find(key) >= 0;
  }

  get(key: string): string | undefined {
    const position = this.arena.find(key);
    return position < 0 ? undefined : this.arena.textAt(position);
  }

  /** Throws a RangeError for a key or value longer than `MAX_ENTRY_TEXT_BYTES`. */
  set(key: string, value: string): this {
    this.arena.remove(key);
    this.arena.compactIfSparse();
    this.arena.append(key, 0, value);
    return this;
  }

  delete(key: string): boolean {
    return this.arena.remove(key);
  }

  *keys(): IterableIterator<string> {
    for (const position of this.arena.positions()) yield this.arena.domainAt(position);
  }

  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const position of this.arena.positions()) yield [this.arena.domainAt(position), this.arena.textAt(position)];
  }
}

/** Below this many elements a range is sorted by insertion. */
const INSERTION_RANGE = 16;

/**
 * Sorts a typed array in place: introsort (quicksort on a median of three, heapsort once
 * the recursion is deeper than twice the log of the length, insertion sort for short
 * ranges). `TypedArray.prototype.sort` with a comparator copies the array into two
 * arrays on V8's heap for its merge sort: 16 MB more, at once, for the million positions a
 * report of a million domains sorts.
 */
export function sortInPlace(
  array: Uint32Array,
  compare: (a: number, b: number) => number,
  depthLimit = 2 * Math.ceil(Math.log2(array.length + 1)),
): void {
  introsort(array, 0, array.length - 1, depthLimit, compare);
}

function introsort(array: Uint32Array, low: number, high: number, depth: number, compare: (a: number, b: number) => number): void {
  while (high - low >= INSERTION_RANGE) {
    if (depth-- === 0) {
      heapsort(array, low, high, compare);
      return;
    }
    const split = partition(array, low, high, compare);
    // The smaller side first, by recursion; the larger by the loop: the stack stays O(log n).
    if (split - low < high - split) {
      introsort(array, low, split, depth, compare);
      low = split + 1;
    } else {
      introsort(array, split + 1, high, depth, compare);
      high = split;
    }
  }
  insertionSort(array, low, high, compare);
}

/** Hoare's partition around the median of the first, middle and last elements: [low, split] ≤ pivot ≤ (split, high]. */
function partition(array: Uint32Array, low: number, high: number, compare: (a: number, b: number) => number): number {
  const middle = low + ((high - low) >>> 1);
  if (compare(array[middle], array[low]) < 0) swap(array, middle, low);
  if (compare(array[high], array[low]) < 0) swap(array, high, low);
  if (compare(array[high], array[middle]) < 0) swap(array, high, middle);
  const pivot = array[middle];
  let i = low - 1;
  let j = high + 1;
  for (;;) {
    do i++;
    while (compare(array[i], pivot) < 0);
    do j--;
    while (compare(array[j], pivot) > 0);
    if (i >= j) return j;
    swap(array, i, j);
  }
}

function insertionSort(array: Uint32Array, low: number, high: number, compare: (a: number, b: number) => number): void {
  for (let i = low + 1; i <= high; i++) {
    const value = array[i];
    let j = i - 1;
    while (j >= low && compare(array[j], value) > 0) {
      array[j + 1] = array[j];
      j--;
    }
    array[j + 1] = value;
  }
}

function heapsort(array: Uint32Array, low: number, high: number, compare: (a: number, b: number) => number): void {
  const size = high - low + 1;
  for (let root = (size >>> 1) - 1; root >= 0; root--) siftDown(array, low, root, size, compare);
  for (let end = size - 1; end > 0; end--) {
    swap(array, low, low + end);
    siftDown(array, low, 0, end, compare);
  }
}

function siftDown(array: Uint32Array, offset: number, root: number, size: number, compare: (a: number, b: number) => number): void {
  for (;;) {
    let child = 2 * root + 1;
    if (child >= size) return;
    if (child + 1 < size && compare(array[offset + child + 1], array[offset + child]) > 0) child++;
    if (compare(array[offset + root], array[offset + child]) >= 0) return;
    swap(array, offset + root, offset + child);
    root = child;
  }
}

function swap(array: Uint32Array, a: number, b: number): void {
  const value = array[a];
  array[a] = array[b];
  array[b] = value;
}
