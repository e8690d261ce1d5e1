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
 *
 * Given a `ChunkSpill`, an arena past `spillAfterBytes` keeps only the chunk it writes to
 * in memory: the full ones are in the spill, read back an entry at a time for a look-up,
 * a chunk at a time for a pass in order, and through an external merge for a sort. Their
 * entries' flags stay in memory (`SpilledFlags`), where they are read and written.
 */

import { homeSlot, isFull, mix32, nextSlot, rebuiltCapacity } from './open-addressing';
import { codeCount, pack, packedBytes, packedCharAt, packedEquals, unpack } from './packed-text';
import { mappedArray } from './mapped-arrays';

/**
 * Where an arena's full chunks go once it holds more than its `spillAfterBytes` (a file,
 * `engine/spill-file.ts`): the chunks of a million domains' names and values are read
 * seldom after the scan wrote them, and in memory they were half of what grew with the
 * domains. Each call reads or writes all it is asked, or throws.
 */
export interface ChunkSpill {
  write(source: Uint8Array, length: number, offset: number): void;
  read(target: Uint8Array, at: number, length: number, offset: number): void;
  close(): void;
}

export interface DomainArenaOptions {
  /** Opens the spill, the first time the arena holds `spillAfterBytes` of chunks. */
  openSpill?: () => ChunkSpill;
  spillAfterBytes?: number;
}

const CHUNK_BITS = 20;
const CHUNK_BYTES = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_BYTES - 1;
/** Bytes read for an entry of a spilled chunk: nearly every entry's whole, in one read. */
const ENTRY_READ_BYTES = 256;
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

/** An entry's bytes read from the spill, at offset 0 of `buffer`. */
class EntryCopy {
  buffer = Buffer.allocUnsafe(ENTRY_READ_BYTES);
  position = -1;

  /** Copies the entry at `at` of `source`, that of `position`; returns its length. */
  take(source: Buffer, at: number, position: number): number {
    const length = entryLengthIn(source, at);
    if (this.buffer.length < length) this.buffer = Buffer.allocUnsafe(length);
    source.copy(this.buffer, 0, at, at + length);
    this.position = position;
    return length;
  }
}

/** Entries of a chunk whose offsets share their high bits: a block of `SpilledFlags`. */
const FLAG_BLOCK_BITS = 16;
/** An offset's bits within its block: all that `SpilledFlags` keeps of it. */
const FLAG_BLOCK_MASK = (1 << FLAG_BLOCK_BITS) - 1;

/**
 * The flags bytes of a spilled chunk's entries, kept in memory and written there: the
 * bytes in the spill keep the flags the entries had when their chunk was spilled, and only
 * their storage flags count. A scan of a million domains sets a flag on most entries after
 * their chunk is spilled (a reverse key pairs, a verdict is marked), and each was a write
 * of one byte to the spill: a seventh of the scan. Three bytes an entry: the low bits of its
 * offset, searched within its 64 KiB block, and its flags byte.
 */
class SpilledFlags {
  private readonly offsets: Uint16Array;
  /** Each entry's flags byte, in the chunk's order. */
  readonly bytes: Uint8Array;
  /** The first entry at or after each block's start; the last is the entry count. */
  private readonly blockFirst = new Uint32Array((CHUNK_BYTES >>> FLAG_BLOCK_BITS) + 1);
  /** The index `indexOf` gave last. */
  private last = -1;

  constructor(chunk: Buffer, end: number) {
    let count = 0;
    for (let at = 0; at < end; at += entryLengthIn(chunk, at)) count++;
    this.offsets = new Uint16Array(count);
    this.bytes = new Uint8Array(count);
    let block = 0;
    for (let at = 0, i = 0; at < end; at += entryLengthIn(chunk, at), i++) {
      while (block <= at >>> FLAG_BLOCK_BITS) this.blockFirst[block++] = i;
      this.offsets[i] = at & FLAG_BLOCK_MASK;
      this.bytes[i] = chunk[at];
    }
    while (block < this.blockFirst.length) this.blockFirst[block++] = count;
  }

  /** The index of the entry at offset `at` of the chunk. */
  indexOf(at: number): number {
    const low = at & FLAG_BLOCK_MASK;
    const end = this.blockFirst[(at >>> FLAG_BLOCK_BITS) + 1];
    let from = this.blockFirst[at >>> FLAG_BLOCK_BITS];
    let to = end;
    // A pass in order asks for each entry after the one before it: no search then.
    const next = this.last + 1;
    if (next >= from && next < to && this.offsets[next] === low) return (this.last = next);
    while (from < to) {
      const middle = (from + to) >>> 1;
      if (this.offsets[middle] < low) from = middle + 1;
      else to = middle;
    }
    if (from === end || this.offsets[from] !== low) throw new RangeError(`no entry at offset ${at}`);
    return (this.last = from);
  }
}

/** Where a sort's runs go in the spill: the k-th sort's at k × this, past every chunk (2 GiB at most). */
const SORT_REGION_BYTES = 2 ** 31;
/** The block a sort's run is written and read back in. */
const RUN_BLOCK_BYTES = 16 * 1024;
/** An entry's position, before it in a run that carries them (`writePositionedRuns`). */
const POSITION_BYTES = 4;

/** Reads one sorted run's entries back from the spill in order, a block at a time. */
class RunReader {
  private buffer = Buffer.allocUnsafe(RUN_BLOCK_BYTES);
  private at = 0;
  private filled = 0;
  private read = 0;

  constructor(
    private readonly spill: ChunkSpill,
    private readonly offset: number,
    private readonly bytes: number,
  ) {}

  /** Where the run ends in the spill: where the next one may start. */
  get end(): number {
    return this.offset + this.bytes;
  }

  /** Copies the run's next entry, that of `position`, to `head`. */
  next(position: number, head: EntryCopy): void {
    this.ensure(HEADER_BYTES);
    this.ensure(entryLengthIn(this.buffer, this.at));
    this.at += head.take(this.buffer, this.at, position);
  }

  /** For a run written with each entry's position before it: copies the next entry to `head`; false at the run's end. */
  nextPositioned(head: EntryCopy): boolean {
    if (this.at === this.filled && this.read === this.bytes) return false;
    this.ensure(POSITION_BYTES);
    const position = this.buffer.readUInt32LE(this.at);
    this.at += POSITION_BYTES;
    this.next(position, head);
    return true;
  }

  /** Makes `length` bytes from `at` available, reading the next block (and growing the buffer) as needed. */
  private ensure(length: number): void {
    if (this.filled - this.at >= length) return;
    const kept = this.filled - this.at;
    const buffer = length > this.buffer.length ? Buffer.allocUnsafe(length) : this.buffer;
    this.buffer.copy(buffer, 0, this.at, this.filled);
    this.buffer = buffer;
    const more = Math.min(this.buffer.length - kept, this.bytes - this.read);
    if (kept + more < length) throw new RangeError('a sorted run ended inside an entry');
    this.spill.read(this.buffer, kept, more, this.offset + this.read);
    this.read += more;
    this.at = 0;
    this.filled = kept + more;
  }
}

export class DomainArena {
  /** The chunks in memory; a spilled one is undefined here and read from `spill`. */
  private readonly chunks: (Buffer | undefined)[] = [];
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
  /** Whether the last `slotOf` passed over an entry for its flags. */
  private passedOver = false;
  private openSpill?: () => ChunkSpill;
  private readonly spillAfterBytes: number;
  /** Why the arena stopped spilling (the spill could not be opened or written): it keeps its chunks in memory since. */
  private spillStopped?: unknown;
  private spill?: ChunkSpill;
  /** One spilled chunk read back whole, for a pass over the entries in order. */
  private window?: Buffer;
  private windowChunk = -1;
  /** The last entry of a spilled chunk read alone (a look-up reads its flags, domain and text in turn). */
  private readonly copy = new EntryCopy();
  /** Where, in the buffer `locate` returned, the entry starts. */
  private located = 0;
  /** The flags of each spilled chunk's entries (`SpilledFlags`), by chunk. */
  private readonly spilledFlags: (SpilledFlags | undefined)[] = [];
  /** Sorts that wrote their runs to the spill, each to a region of its own. */
  private sortRegions = 0;

  constructor(options: DomainArenaOptions = {}) {
    this.openSpill = options.openSpill;
    this.spillAfterBytes = options.spillAfterBytes ?? 0;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes of the chunks held in memory. */
  get bytesHeld(): number {
    return this.chunks.reduce((bytes, chunk) => bytes + (chunk ? CHUNK_BYTES : 0), 0);
  }

  /** Whether some chunks are in the spill. */
  get spilled(): boolean {
    return this.spill !== undefined;
  }

  /** Closes the spill: the arena must not be read after this. */
  release(): void {
    this.spill?.close();
  }

  /** Whether a domain fits in an entry (its UTF-8 length). */
  static fits(domain: string, text = ''): boolean {
    return Buffer.byteLength(domain, 'utf8') <= MAX_ENTRY_TEXT_BYTES && Buffer.byteLength(text, 'utf8') <= MAX_ENTRY_TEXT_BYTES;
  }

  /**
   * The position of a domain's entry, or -1; -1 too when the entry has any of the flags
   * `excluded`. Entries with them are passed over without reading their domain, which for
   * a spilled entry is a read of the spill: a scan of a million domains asked whether each
   * forward mapping it was about to read was known, and for the domains whose reverse key
   * waited in the table (flagged so) that was 440,000 reads.
   */
  find(domain: string, excluded = 0): number {
    if (domain === this.lastDomain) return this.lastPosition >= 0 && this.flagsByte(this.lastPosition) & excluded ? -1 : this.lastPosition;
    this.passedOver = false;
    const slot = this.slotOf(domain, excluded);
    // An entry passed over may have been the domain's: nothing to remember then.
    if (slot < 0 && this.passedOver) return -1;
    this.lastDomain = domain;
    this.lastPosition = slot < 0 ? -1 : this.index[2 * slot] - 1;
    return this.lastPosition;
  }

  /** The index slot holding a domain's entry, or -1 (see `find` for `excluded`). */
  private slotOf(domain: string, excluded = 0): number {
    const hash = hashText(domain);
    const capacity = this.capacity;
    const bytes = lastHashedAscii ? undefined : Buffer.from(domain, 'utf8');
    for (let slot = homeSlot(mix32(hash), capacity); ; slot = nextSlot(slot, capacity)) {
      const held = this.index[2 * slot];
      if (held === EMPTY_SLOT) return -1;
      if (held === REMOVED_SLOT || this.index[2 * slot + 1] !== hash) continue;
      if (excluded !== 0 && this.flagsByte(held - 1) & excluded) {
        this.passedOver = true;
        continue;
      }
      if (this.holds(held - 1, domain, bytes)) return slot;
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
    // The chunk written to is always in memory: only full chunks are spilled.
    const chunk = this.chunks[position >>> CHUNK_BITS]!;
    const at = position & CHUNK_MASK;
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
    const chunk = this.locate(position);
    this.deadBytes += entryLengthIn(chunk, this.located);
    this.writeFlagsByte(position, chunk[this.located] & STORAGE_FLAGS);
    this.count--;
    return true;
  }

  /**
   * Copies the entries in use into new chunks once removed ones take more room than they
   * do (and a few MB): for a table that entries pass through. Positions change, so no
   * caller may hold one (or be iterating) across this call. An arena that spills never
   * compacts: its removed entries stay in the spill.
   */
  compactIfSparse(): void {
    if (this.openSpill || this.spill || this.deadBytes < COMPACT_AFTER_BYTES || this.deadBytes * 2 < this.writtenBytes) return;
    this.lastDomain = undefined;
    const chunks = this.chunks.splice(0) as Buffer[];
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
          chunks[c].copy(this.chunks[position >>> CHUNK_BITS]!, position & CHUNK_MASK, at, at + length);
          this.place(hashText(this.domainAt(position)), position);
        }
        at += length;
      }
    }
  }

  /** The caller's flags of an entry (IN_USE among them). */
  flags(position: number): number {
    return this.flagsByte(position) & ~STORAGE_FLAGS;
  }

  /** Sets the caller's flags of an entry in use (IN_USE stays: `remove` is how an entry goes). */
  setFlags(position: number, flags: number): void {
    this.writeFlagsByte(position, (flags & ~STORAGE_FLAGS) | IN_USE | (this.flagsByte(position) & STORAGE_FLAGS));
  }

  domainAt(position: number): string {
    const chunk = this.locate(position);
    const at = this.located;
    const count = chunk.readUInt16LE(at + 1);
    if (chunk[at] & DOMAIN_PACKED) return unpack(chunk, at + HEADER_BYTES, count);
    return chunk.toString('utf8', at + HEADER_BYTES, at + HEADER_BYTES + count);
  }

  textAt(position: number): string {
    const chunk = this.locate(position);
    const at = this.located;
    const start = at + HEADER_BYTES + domainStoredBytes(chunk, at);
    const count = chunk.readUInt16LE(at + 3);
    if (chunk[at] & TEXT_PACKED) return unpack(chunk, start, count);
    return chunk.toString('utf8', start, start + count);
  }

  /**
   * Positions of the entries in use, in the order they were added. A spilled chunk is read
   * back whole as the pass reaches it (and again if another pass took the window meanwhile).
   */
  *positions(): IterableIterator<number> {
    for (let c = 0; c < this.chunks.length; c++) yield* this.positionsIn(c);
  }

  /** `positions()` of one chunk. */
  private *positionsIn(c: number): IterableIterator<number> {
    for (let at = 0; at < this.chunkEnds[c];) {
      let chunk = this.chunkToRead(c);
      // In order: a spilled chunk's flags are found without a search (`SpilledFlags.indexOf`).
      if (this.flagsByte(c * CHUNK_BYTES + at) & IN_USE) {
        yield c * CHUNK_BYTES + at;
        // The caller may have taken the window, or the chunk may have been spilled, meanwhile.
        chunk = this.chunkToRead(c);
      }
      at += entryLengthIn(chunk, at);
    }
  }

  /**
   * Positions of the entries in use, ordered by domain bytes (the order of the domain
   * strings for ASCII ones, which is what a domain name is), without building a string.
   */
  sortedPositions(): Uint32Array {
    return this.sortPositions(this.positionsArray());
  }

  /** `positions()` in an array of their own. */
  private positionsArray(): Uint32Array {
    const order = mappedArray(Uint32Array, this.count);
    let n = 0;
    for (const position of this.positions()) order[n++] = position;
    return order;
  }

  /**
   * Positions of entries in use in the order `sortedPositions` gives them: sorted in place
   * in memory, or, once chunks are spilled, chunk by chunk and then merged into a new array.
   */
  sortPositions(positions: Uint32Array): Uint32Array {
    if (this.spill) return this.sortAcrossChunks(positions);
    sortInPlace(positions, (a, b) =>
      compareEntries(this.chunks[a >>> CHUNK_BITS]!, a & CHUNK_MASK, this.chunks[b >>> CHUNK_BITS]!, b & CHUNK_MASK),
    );
    return positions;
  }

  /**
   * Positions of the entries in use in the order of `sortedPositions`, one at a time: once
   * chunks are spilled, each comes from the merge with its entry already read, so that
   * reading its domain, text or flags next reads nothing more from the spill.
   */
  *inDomainOrder(): IterableIterator<number> {
    if (!this.spill) {
      yield* this.sortedPositions();
      return;
    }
    const readers = this.writePositionedRuns();
    if (readers) yield* this.mergeHeads(readers.length, (r, head) => readers[r].nextPositioned(head), true);
    // The spill refused a run: the merge reads each entry from its chunk, without trying again.
    else yield* this.mergedRuns(this.positionsArray(), true, false);
  }

  /** `mergedRuns` collected into a new array. */
  private sortAcrossChunks(positions: Uint32Array): Uint32Array {
    const merged = mappedArray(Uint32Array, positions.length);
    let out = 0;
    for (const position of this.mergedRuns(positions, false)) merged[out++] = position;
    return merged;
  }

  /**
   * An external merge sort: each chunk's positions are sorted with the chunk in memory
   * (read back whole if spilled), then the runs are merged (`sortRuns`), so that no more
   * than a chunk, and then a block a run, are in memory at a time. With `primeCopy`, each
   * position is yielded with its entry in the arena's entry copy.
   */
  private *mergedRuns(positions: Uint32Array, primeCopy: boolean, writeRuns = true): IterableIterator<number> {
    positions.sort();
    const runStarts: number[] = [];
    for (let i = 0; i < positions.length; i++) {
      if (i === 0 || positions[i] >>> CHUNK_BITS !== positions[i - 1] >>> CHUNK_BITS) runStarts.push(i);
    }
    const runs = runStarts.length;
    runStarts.push(positions.length);
    const readers = this.sortRuns(positions, runStarts, writeRuns);
    const next = runStarts.slice(0, runs);
    yield* this.mergeHeads(
      runs,
      (r, head) => {
        if (next[r] === runStarts[r + 1]) return false;
        if (readers) readers[r].next(positions[next[r]], head);
        else this.readEntry(positions[next[r]], head);
        next[r]++;
        return true;
      },
      primeCopy,
    );
  }

  /**
   * Merges `runs` sorted runs by their entries' domains: `advance` copies a run's next entry
   * (and its position) to the run's head, or says the run is done. Yields each head's
   * position; with `primeCopy`, with its entry in the arena's entry copy.
   */
  private *mergeHeads(runs: number, advance: (run: number, head: EntryCopy) => boolean, primeCopy: boolean): IterableIterator<number> {
    const heads = Array.from({ length: runs }, () => new EntryCopy());
    const before = (x: number, y: number) => {
      const order = compareEntries(heads[x].buffer, 0, heads[y].buffer, 0);
      return order < 0 || (order === 0 && heads[x].position < heads[y].position);
    };
    const heap: number[] = [];
    for (let r = 0; r < runs; r++) {
      if (!advance(r, heads[r])) continue;
      heap.push(r);
      for (let i = heap.length - 1; i > 0 && before(heap[i], heap[(i - 1) >> 1]); i = (i - 1) >> 1) {
        [heap[i], heap[(i - 1) >> 1]] = [heap[(i - 1) >> 1], heap[i]];
      }
    }
    while (heap.length > 0) {
      const r = heap[0];
      if (primeCopy) this.primeCopy(heads[r]);
      yield heads[r].position;
      if (!advance(r, heads[r])) {
        // The run is done: the heap's last run takes its place, and is sifted down.
        const last = heap.pop()!;
        if (heap.length === 0) break;
        heap[0] = last;
      }
      for (let i = 0; ;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const child = left + 1 < heap.length && before(heap[left + 1], heap[left]) ? left + 1 : left;
        if (!before(heap[child], heap[i])) break;
        [heap[i], heap[child]] = [heap[child], heap[i]];
        i = child;
      }
    }
  }

  /**
   * For a pass over every entry in domain order (`inDomainOrder`): each chunk's entries in
   * use sorted with the chunk in memory and written, each after its position, to a region
   * of the spill of their own, so that no array of every position is held (4 MB at a
   * million domains, at a `scan --json`'s peak). A reader per run, or undefined when the
   * spill cannot take them: the caller sorts an array of the positions instead.
   */
  private writePositionedRuns(): RunReader[] | undefined {
    let offset = ++this.sortRegions * SORT_REGION_BYTES;
    const readers: RunReader[] = [];
    const staging = Buffer.allocUnsafe(RUN_BLOCK_BYTES);
    try {
      for (let c = 0; c < this.chunks.length; c++) {
        const positions = Uint32Array.from(this.positionsIn(c));
        if (positions.length === 0) continue;
        const chunk = this.chunkToRead(c);
        sortInPlace(positions, (a, b) => compareEntries(chunk, a & CHUNK_MASK, chunk, b & CHUNK_MASK));
        readers.push(this.writeRun(chunk, positions, offset, staging, true));
        offset = readers[readers.length - 1].end;
      }
    } catch {
      return undefined;
    }
    return readers;
  }

  /**
   * Writes the entries of `chunk` at `positions`, in that order, to the spill from `offset`
   * (each after its position, `withPositions`), a block of `staging` at a time; a reader of
   * the run. Throws what the spill throws.
   */
  private writeRun(chunk: Buffer, positions: Uint32Array, offset: number, staging: Buffer, withPositions: boolean): RunReader {
    const prefix = withPositions ? POSITION_BYTES : 0;
    const start = offset;
    let staged = 0;
    for (let i = 0; i < positions.length; i++) {
      const at = positions[i] & CHUNK_MASK;
      const length = entryLengthIn(chunk, at);
      if (staged + prefix + length > staging.length) {
        this.spill!.write(staging, staged, offset);
        offset += staged;
        staged = 0;
      }
      if (prefix + length > staging.length) {
        if (prefix > 0) {
          staging.writeUInt32LE(positions[i], 0);
          this.spill!.write(staging, prefix, offset);
        }
        this.spill!.write(chunk.subarray(at, at + length), length, offset + prefix);
        offset += prefix + length;
      } else {
        if (prefix > 0) staging.writeUInt32LE(positions[i], staged);
        chunk.copy(staging, staged + prefix, at, at + length);
        staged += prefix + length;
      }
    }
    if (staged > 0) this.spill!.write(staging, staged, offset);
    return new RunReader(this.spill!, start, offset + staged - start);
  }

  /**
   * Sorts each run (one chunk's positions) with its chunk in memory and, where the spill
   * takes it, writes the run's entries in that order to a region of the spill of their
   * own, so that the merge reads each run in order, a block at a time (a read an entry cost
   * a million `pread`s at a million domains). Returns a reader per run, or undefined when
   * the spill cannot be written (or `writeRuns` is false): the merge then reads each entry
   * from its chunk.
   */
  private sortRuns(positions: Uint32Array, runStarts: number[], writeRuns: boolean): RunReader[] | undefined {
    const runs = runStarts.length - 1;
    // Past every chunk's offset, and past the regions of earlier sorts (a pass may still read one).
    let offset = ++this.sortRegions * SORT_REGION_BYTES;
    let readers: RunReader[] | undefined = writeRuns ? [] : undefined;
    const staging = Buffer.allocUnsafe(RUN_BLOCK_BYTES);
    for (let r = 0; r < runs; r++) {
      const chunk = this.chunkToRead(positions[runStarts[r]] >>> CHUNK_BITS);
      const run = positions.subarray(runStarts[r], runStarts[r + 1]);
      sortInPlace(run, (a, b) => compareEntries(chunk, a & CHUNK_MASK, chunk, b & CHUNK_MASK));
      if (!readers) continue;
      try {
        readers.push(this.writeRun(chunk, run, offset, staging, false));
        offset = readers[readers.length - 1].end;
      } catch {
        readers = undefined;
      }
    }
    return readers;
  }

  /** Makes a merge head's entry the arena's entry copy (its flags are read from `spilledFlags`, never from a copy). */
  private primeCopy(head: EntryCopy): void {
    this.copy.take(head.buffer, 0, head.position);
  }

  /** Room for an entry of `length` bytes at the end of the last chunk (or a new one); its position. */
  private reserve(length: number): number {
    if (this.used + length > CHUNK_BYTES) {
      if (this.chunks.length * CHUNK_BYTES >= MAX_POSITION - CHUNK_BYTES) throw new RangeError('domain arena full (2 GiB)');
      // Not from the shared pool: each chunk is kept for the run (or reused once spilled).
      this.chunks.push(this.spillFullChunks() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES));
      this.chunkEnds.push(0);
      this.used = 0;
    }
    const position = (this.chunks.length - 1) * CHUNK_BYTES + this.used;
    this.used += length;
    this.writtenBytes += length;
    this.chunkEnds[this.chunks.length - 1] = this.used;
    return position;
  }

  /** Why spilling stopped, if it did: the spill could not be opened or written (a full or read-only TMPDIR). */
  get spillStoppedBy(): unknown {
    return this.spillStopped;
  }

  /**
   * Once the arena holds `spillAfterBytes`, writes every full chunk in memory to the spill
   * and lets it go; one of them is returned to be the next chunk. The spill only saves
   * memory: when it cannot be opened or written, the arena keeps its chunks in memory from
   * then on, as an arena without one does (a chunk is let go only once written).
   */
  private spillFullChunks(): Buffer | undefined {
    if (!this.openSpill || this.chunks.length * CHUNK_BYTES < this.spillAfterBytes || this.chunks.length === 0) return undefined;
    let reusable: Buffer | undefined;
    try {
      this.spill ??= this.openSpill();
      for (let c = 0; c < this.chunks.length; c++) {
        const chunk = this.chunks[c];
        if (!chunk) continue;
        this.spill.write(chunk, this.chunkEnds[c], c * CHUNK_BYTES);
        this.spilledFlags[c] = new SpilledFlags(chunk, this.chunkEnds[c]);
        this.chunks[c] = undefined;
        reusable = chunk;
      }
    } catch (error) {
      this.spillStopped = error;
      this.openSpill = undefined;
    }
    return reusable;
  }

  /** The buffer holding the entry at `position`; the entry starts at `this.located` in it. */
  private locate(position: number): Buffer {
    const held = this.heldChunk(position >>> CHUNK_BITS);
    if (held) {
      this.located = position & CHUNK_MASK;
      return held;
    }
    if (this.copy.position !== position) this.readEntry(position, this.copy);
    this.located = 0;
    return this.copy.buffer;
  }

  /** A chunk whole when it is at hand: in memory, or the spilled one read back into the window. */
  private heldChunk(c: number): Buffer | undefined {
    return this.chunks[c] ?? (c === this.windowChunk ? this.window : undefined);
  }

  /** A chunk whole: at hand, or read back from the spill into the window. */
  private chunkToRead(c: number): Buffer {
    const held = this.heldChunk(c);
    if (held) return held;
    this.window ??= Buffer.allocUnsafeSlow(CHUNK_BYTES);
    this.windowChunk = -1;
    this.spill!.read(this.window, 0, this.chunkEnds[c], c * CHUNK_BYTES);
    this.windowChunk = c;
    return this.window;
  }

  /** Copies the entry at `position` (in memory or spilled) to offset 0 of `copy`. */
  private readEntry(position: number, copy: EntryCopy): void {
    const c = position >>> CHUNK_BITS;
    const at = position & CHUNK_MASK;
    const held = this.heldChunk(c);
    if (held) {
      copy.take(held, at, position);
      return;
    }
    copy.position = -1;
    const offset = c * CHUNK_BYTES + at;
    const first = Math.min(this.chunkEnds[c] - at, Math.max(ENTRY_READ_BYTES, copy.buffer.length));
    if (copy.buffer.length < first) copy.buffer = Buffer.allocUnsafe(first);
    this.spill!.read(copy.buffer, 0, first, offset);
    const length = entryLengthIn(copy.buffer, 0);
    if (length > first) {
      copy.buffer = Buffer.allocUnsafe(length);
      this.spill!.read(copy.buffer, 0, length, offset);
    }
    copy.position = position;
  }

  /** An entry's flags byte (storage flags included): in its chunk, or in its spilled chunk's `SpilledFlags`. */
  private flagsByte(position: number): number {
    const c = position >>> CHUNK_BITS;
    const inMemory = this.chunks[c];
    if (inMemory) return inMemory[position & CHUNK_MASK];
    const spilled = this.spilledFlags[c]!;
    return spilled.bytes[spilled.indexOf(position & CHUNK_MASK)];
  }

  /** Writes an entry's flags byte where `flagsByte` reads it. */
  private writeFlagsByte(position: number, byte: number): void {
    const c = position >>> CHUNK_BITS;
    const inMemory = this.chunks[c];
    if (inMemory) {
      inMemory[position & CHUNK_MASK] = byte;
      return;
    }
    const spilled = this.spilledFlags[c]!;
    spilled.bytes[spilled.indexOf(position & CHUNK_MASK)] = byte;
  }

  /** Whether the entry at `position` is `domain`'s: `bytes` is its UTF-8 when it is not ASCII. */
  private holds(position: number, domain: string, bytes: Buffer | undefined): boolean {
    const chunk = this.locate(position);
    const at = this.located;
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

/**
 * The order of two entries' domains by their bytes. Packed without escapes (a domain's),
 * codes compare as their characters do, and zero bits pad the last byte: the bytes, then
 * the lengths, order them; one packed (ASCII, so a character is its UTF-8 byte) and one
 * not compare character by byte.
 */
function compareEntries(chunkA: Buffer, atA: number, chunkB: Buffer, atB: number): number {
  const lengthA = chunkA[atA + 1] | (chunkA[atA + 2] << 8);
  const lengthB = chunkB[atB + 1] | (chunkB[atB + 2] << 8);
  const packedA = (chunkA[atA] & DOMAIN_PACKED) !== 0;
  const packedB = (chunkB[atB] & DOMAIN_PACKED) !== 0;
  if (packedA === packedB) {
    const common = packedA ? Math.min(packedBytes(lengthA), packedBytes(lengthB)) : Math.min(lengthA, lengthB);
    for (let i = 0; i < common; i++) {
      const diff = chunkA[atA + HEADER_BYTES + i] - chunkB[atB + HEADER_BYTES + i];
      if (diff !== 0) return diff;
    }
    return lengthA - lengthB;
  }
  const common = Math.min(lengthA, lengthB);
  for (let i = 0; i < common; i++) {
    const byteA = packedA ? packedCharAt(chunkA, atA + HEADER_BYTES, i) : chunkA[atA + HEADER_BYTES + i];
    const byteB = packedB ? packedCharAt(chunkB, atB + HEADER_BYTES, i) : chunkB[atB + HEADER_BYTES + i];
    if (byteA !== byteB) return byteA - byteB;
  }
  return lengthA - lengthB;
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
