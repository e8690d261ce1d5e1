import { isUtf8 } from 'node:buffer';
import { FORWARD_PREFIX, REDIRECTS_META_PREFIX, reverseKey } from './keys';
import { parseForwardValue } from './mapping';
import type { ForwardMapping, KeyValue, RepoTarget, ReverseMapping } from './mapping';
import { GONE_REASON, type Verdict } from './verdict';
import { ArenaTextMap, DomainArena, type DomainArenaOptions } from './domain-arena';

/**
 * Compact per-domain state (DESIGN §4.11): what a scan of a million domains keeps is a
 * few short strings per domain, never a Buffer or an object per key. Each table reads
 * like a Map and builds the full objects only when asked for one.
 */

/**
 * The same text as a string of its own. A name cut from a key name (`slice`) keeps the
 * whole key name alive; kept for the run, it would cost both. Copied through bytes: the
 * cheapest copy V8 offers (key names came from UTF-8, so the round trip is exact).
 */
export function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** Entry flags in the forward table's arena. */
const PAIRED = 2;
/** The mapping is kept whole (`whole`): its value is not plain text the plugin wrote. */
const WHOLE = 4;
/** The domain's verdict is the common one: live, because `.pages` names it (see `VerdictMap`). */
const LIVE_BY_PAGES = 8;
/** The domain's verdict is the usual stale one: its repository or `.pages` is gone (see `VerdictMap`). */
const GONE = 16;
/**
 * The entry is a reverse key waiting for its domain's forward mapping, not a mapping: its
 * text is the forward value that would pair with it (see `holdWaiting`).
 */
const WAITING = 32;
/** A verdict kept as a flag of the domain's entry instead of an object of its own. */
export type VerdictMark = typeof LIVE_BY_PAGES | typeof GONE;
const VERDICT_MARKS = LIVE_BY_PAGES | GONE;

/** A mapping as a sorted walk of the table reads it (`sortedViews`): `mark` is its verdict's, if kept as a flag. */
export interface ForwardView extends Pick<ForwardMapping, 'domain' | 'key' | 'target'> {
  mark: VerdictMark | 0;
}

/**
 * Bytes of forward entries kept in memory before they spill (about 350,000 domains with
 * names like the bench's): a scan below it reads nothing back from a file.
 */
export const FORWARDS_IN_MEMORY_BYTES = 16 << 20;

/**
 * Forward mappings by domain, in a `DomainArena`. A mapping whose value is UTF-8 text,
 * parses as a target and never expires (what the plugin writes) is kept as its domain
 * and value bytes alone; anything else is kept whole beside them. Reads like a Map of
 * full `ForwardMapping`s, built when asked for. When the reverse key the plugin wrote
 * with it names it back (nearly always), the pair is one entry here: the reverse key's
 * name and value follow from the forward's. The two common verdicts are flags of the entry.
 *
 * While a scan runs, a reverse key read before its forward mapping waits here too, as an
 * entry of the domain it names (`WAITING`), so that the pair becomes one entry in place
 * when the mapping comes: half a store's reverse keys come first, and held apart they
 * were the largest thing a scan of a million domains kept for a while (a quarter of a
 * million entries, 13–16 MB and their compactions). A waiting entry is no mapping: every
 * read here skips it.
 */
export class ForwardTable implements Iterable<[string, ForwardMapping]> {
  private readonly arena: DomainArena;
  /** Mappings kept whole whose domain has an arena entry (flagged WHOLE). */
  private readonly whole = new Map<string, ForwardMapping>();
  /** Mappings whose domain is too long for the arena. */
  private readonly outsized = new Map<string, ForwardMapping>();
  private reverses?: ReverseTable;
  private pairedTotal = 0;
  private waitingTotal = 0;
  private liveMarks = 0;
  private goneMarks = 0;
  private dashedSets = 0;
  /** Mappings kept as text that name a branch, and those of them paired: counted as they come and go, for `counts`. */
  private branchTexts = 0;
  private branchPairs = 0;
  private onVerdictMarkDropped?: (domain: string, mark: VerdictMark) => void;

  /**
   * With `openSpill`, the names and values of more than `FORWARDS_IN_MEMORY_BYTES` of
   * domains go to a file as the scan reads them (`DomainArena`): what a million domains
   * hold in memory is then their index and flags, not their text.
   */
  constructor(options: DomainArenaOptions = {}) {
    this.arena = new DomainArena({ openSpill: options.openSpill, spillAfterBytes: options.spillAfterBytes ?? FORWARDS_IN_MEMORY_BYTES });
  }

  /** Whether some names and values are in the spill. */
  get spilled(): boolean {
    return this.arena.spilled;
  }

  /** Why the table stopped spilling (its file could not be opened or written), if it did: it kept its mappings in memory since. */
  get spillStoppedBy(): unknown {
    return this.arena.spillStoppedBy;
  }

  /** Closes the spill, if any: the table must not be read after this. */
  release(): void {
    this.arena.release();
  }

  /** Called by the reverse table that pairs with this one. */
  pairWith(reverses: ReverseTable): void {
    this.reverses = reverses;
  }

  /** Called by the verdict map that keeps its common verdicts here (see `VerdictMap`). */
  keepVerdictsFor(onVerdictMarkDropped: (domain: string, mark: VerdictMark) => void): void {
    this.onVerdictMarkDropped = onVerdictMarkDropped;
  }

  get size(): number {
    return this.arena.size - this.waitingTotal + this.outsized.size;
  }

  /**
   * At least as many as the domains held with a dash (each set of one counts): what the
   * count of their Traefik names is sized by (`ownersInSteps`), so that it never grows.
   */
  get dashedAtMost(): number {
    return this.dashedSets;
  }

  /**
   * Mappings by the kind of target they name, counted as the table changed (what a report's
   * head says; two passes over a million spilled entries took 0.6 s): a mapping without
   * one is invalid.
   */
  counts(): { forward: number; branchForward: number; invalidForward: number } {
    let keptWhole = 0;
    let forward = 0;
    let branchForward = 0;
    for (const kept of [this.whole.values(), this.outsized.values()]) {
      for (const mapping of kept) {
        keptWhole++;
        if (mapping.target?.branch !== undefined) branchForward++;
        else if (mapping.target) forward++;
      }
    }
    return {
      forward: forward + this.size - keptWhole - this.branchTexts,
      branchForward: branchForward + this.branchTexts,
      invalidForward: keptWhole - forward - branchForward,
    };
  }

  /** Mappings paired with a reverse key of a branch, counted as pairs are made and undone (`ReverseTable.branchCount`). */
  get pairedBranchCount(): number {
    return this.branchPairs;
  }

  has(domain: string): boolean {
    return this.mappingAt(domain) >= 0 || this.outsized.has(domain);
  }

  set(domain: string, mapping: ForwardMapping): this {
    if (domain.includes('-')) this.dashedSets++;
    const text = compactText(domain, mapping);
    let previous = this.arena.find(domain);
    if (previous >= 0 && this.arena.flags(previous) & WAITING) {
      const waitingText = this.arena.textAt(previous);
      this.waitingTotal--;
      if (text === waitingText) {
        // The very entry the pair would be: domain and text are the same bytes.
        this.arena.setFlags(previous, PAIRED);
        this.pairedTotal++;
        this.countText(text, PAIRED, 1);
        return this;
      }
      this.arena.remove(domain);
      this.reverses?.restore(reverseKeyOfValue(waitingText), domain);
      previous = -1;
    }
    const carried = previous >= 0 ? ((this.arena.flags(previous) & VERDICT_MARKS) as VerdictMark | 0) : 0;
    if (previous >= 0) this.forget(domain, previous, false);
    else this.outsized.delete(domain);
    if (!DomainArena.fits(domain)) {
      this.outsized.set(domain, mapping);
      if (carried) this.onVerdictMarkDropped?.(domain, carried);
      return this;
    }
    // The verdict is the domain's, whatever its mapping: the mark goes to the new entry.
    if (carried) this.countMark(carried, 1);
    if (text === undefined) {
      this.arena.append(domain, WHOLE | carried, '');
      this.whole.set(domain, mapping);
      return this;
    }
    let flags = carried;
    if (this.reverses?.takeUnpaired(reverseKeyOfValue(text), domain)) {
      flags |= PAIRED;
      this.pairedTotal++;
    }
    this.arena.append(domain, flags, text);
    this.countText(text, flags, 1);
    return this;
  }

  delete(domain: string): boolean {
    const position = this.mappingAt(domain);
    if (position < 0) return this.outsized.delete(domain);
    this.forget(domain, position, true);
    return true;
  }

  get(domain: string): ForwardMapping | undefined {
    const position = this.mappingAt(domain);
    if (position < 0) return this.outsized.get(domain);
    return this.arena.flags(position) & WHOLE ? this.whole.get(domain) : expand(domain, this.arena.textAt(position));
  }

  /** A mapping's key and target, as `get(domain)` has them, without building the mapping (and its copy of the value). */
  keyAndTarget(domain: string): Pick<ForwardMapping, 'key' | 'target'> | undefined {
    const position = this.mappingAt(domain);
    const view = position >= 0 ? this.viewAt(domain, position, this.arena.flags(position)) : this.outsized.get(domain);
    return view && { key: view.key, target: view.target };
  }

  /** The value as text without building the mapping; undefined for a mapping kept whole. */
  valueText(domain: string): string | undefined {
    const position = this.mappingAt(domain);
    return position < 0 || this.arena.flags(position) & WHOLE ? undefined : this.arena.textAt(position);
  }

  /** Whether this domain's reverse key was scanned and names it. */
  isPaired(domain: string): boolean {
    const position = this.mappingAt(domain);
    return position >= 0 && (this.arena.flags(position) & PAIRED) !== 0;
  }

  /** Pairs a compact mapping with its reverse key; false when it cannot be paired. */
  pair(domain: string, reverseKeyName: string): boolean {
    const position = this.mappingAt(domain);
    if (position < 0) return false;
    const flags = this.arena.flags(position);
    if (flags & WHOLE || reverseKeyOfValue(this.arena.textAt(position)) !== reverseKeyName) return false;
    if (flags & PAIRED) return true;
    this.arena.setFlags(position, flags | PAIRED);
    this.pairedTotal++;
    if (namesBranch(reverseKeyName)) this.branchPairs++;
    return true;
  }

  get pairedCount(): number {
    return this.pairedTotal;
  }

  /** Reverse keys waiting here for their forward mapping (see `holdWaiting`). */
  get waitingCount(): number {
    return this.waitingTotal;
  }

  /**
   * For the reverse table: keeps a reverse key read before the forward mapping of the
   * domain it names, as that domain's entry, until the mapping comes (`set`) or the scan
   * is done (`releaseWaiting`). True when the key waits here (or already did); false when
   * the domain has an entry already (a mapping that did not pair, another key waiting) or
   * the key cannot be a plugin value's: the reverse table keeps it then.
   */
  holdWaiting(domain: string, reverseKeyName: string): boolean {
    const text = valueTextOfReverseKey(reverseKeyName);
    if (text === undefined || !DomainArena.fits(domain, text) || this.outsized.has(domain)) return false;
    const position = this.arena.find(domain);
    if (position >= 0) return (this.arena.flags(position) & WAITING) !== 0 && this.arena.textAt(position) === text;
    this.arena.append(domain, WAITING, text);
    this.waitingTotal++;
    return true;
  }

  /** Hands every reverse key still waiting to `take` (as its name and domain) and lets its entry go. */
  releaseWaiting(take: (reverseKeyName: string, domain: string) => void): void {
    if (this.waitingTotal === 0) return;
    // A pass over every entry (the spilled ones read back chunk by chunk), ended at the last waiting one.
    for (const position of this.arena.positions()) {
      if (!(this.arena.flags(position) & WAITING)) continue;
      const domain = this.arena.domainAt(position);
      take(reverseKeyOfValue(this.arena.textAt(position)), domain);
      this.arena.remove(domain);
      if (--this.waitingTotal === 0) return;
    }
  }

  /** Domains whose reverse key is paired with them, each with its value text (read in place, not looked up again). */
  *paired(): IterableIterator<[domain: string, valueText: string]> {
    for (const position of this.arena.positions()) {
      if (this.arena.flags(position) & PAIRED) yield [this.arena.domainAt(position), this.arena.textAt(position)];
    }
  }

  /** Keeps a mapped domain's verdict as `mark`, in place of any other; false when the domain is not here. */
  markVerdict(domain: string, mark: VerdictMark): boolean {
    const position = this.mappingAt(domain);
    if (position < 0) return false;
    const flags = this.arena.flags(position);
    const had = (flags & VERDICT_MARKS) as VerdictMark | 0;
    if (had === mark) return true;
    if (had) this.countMark(had, -1);
    this.arena.setFlags(position, (flags & ~VERDICT_MARKS) | mark);
    this.countMark(mark, 1);
    return true;
  }

  /** Clears a domain's verdict mark; the mark it had, or 0. */
  clearVerdictMark(domain: string): VerdictMark | 0 {
    const position = this.mappingAt(domain);
    if (position < 0) return 0;
    const flags = this.arena.flags(position);
    const had = (flags & VERDICT_MARKS) as VerdictMark | 0;
    if (!had) return 0;
    this.arena.setFlags(position, flags & ~VERDICT_MARKS);
    this.countMark(had, -1);
    return had;
  }

  /** The domain's verdict mark, or 0 when it has none (or is not here). */
  verdictMark(domain: string): VerdictMark | 0 {
    const position = this.mappingAt(domain);
    return position < 0 ? 0 : ((this.arena.flags(position) & VERDICT_MARKS) as VerdictMark | 0);
  }

  isMarkedLive(domain: string): boolean {
    return this.verdictMark(domain) === LIVE_BY_PAGES;
  }

  get liveMarkCount(): number {
    return this.liveMarks;
  }

  get goneMarkCount(): number {
    return this.goneMarks;
  }

  /** Domains whose verdict is kept as `mark`, or as any mark when none is given. */
  *markedDomains(mark?: VerdictMark): IterableIterator<string> {
    const wanted = mark ?? VERDICT_MARKS;
    if ((wanted & LIVE_BY_PAGES ? this.liveMarks : 0) + (wanted & GONE ? this.goneMarks : 0) === 0) return;
    for (const position of this.arena.positions()) if (this.arena.flags(position) & wanted) yield this.arena.domainAt(position);
  }

  *keys(): IterableIterator<string> {
    for (const position of this.arena.positions()) if (!(this.arena.flags(position) & WAITING)) yield this.arena.domainAt(position);
    yield* this.outsized.keys();
  }

  /**
   * Every mapping's domain, key, target and verdict mark in domain order (the arena's byte
   * order, then the domains kept outside it, each built one at a time: a million domain
   * strings built at once would cost more than the table itself), read where the sorted
   * walk finds each entry: a report of every domain looked each one up again by its name
   * (`keyAndTarget`, the verdict's mark), a quarter of the report of a million-domain
   * `scan --json`.
   */
  *sortedViews(): IterableIterator<ForwardView> {
    for (const position of this.arena.inDomainOrder()) {
      const flags = this.arena.flags(position);
      if (!(flags & WAITING)) yield this.viewAt(this.arena.domainAt(position), position, flags);
    }
    for (const domain of [...this.outsized.keys()].sort()) {
      const kept = this.outsized.get(domain)!;
      yield { domain, key: kept.key, target: kept.target, mark: 0 };
    }
  }

  /** The view of the mapping at `position` (`domain`'s, with these `flags`): from its text, or the mapping kept whole. */
  private viewAt(domain: string, position: number, flags: number): ForwardView {
    const mark = (flags & VERDICT_MARKS) as VerdictMark | 0;
    if (!(flags & WHOLE)) return { domain, key: FORWARD_PREFIX + domain, target: targetOf(this.arena.textAt(position)), mark };
    const kept = this.whole.get(domain)!;
    return { domain, key: kept.key, target: kept.target, mark };
  }

  /** Those of `domains` held here, each once, in the order `sortedViews` gives them. */
  *sortedAmong(domains: Iterable<string>): IterableIterator<string> {
    const positions: number[] = [];
    const outsized: string[] = [];
    for (const domain of domains) {
      const position = this.mappingAt(domain);
      if (position >= 0) positions.push(position);
      else if (this.outsized.has(domain)) outsized.push(domain);
    }
    let previous = -1;
    for (const position of this.arena.sortPositions(Uint32Array.from(positions))) {
      if (position !== previous) yield this.arena.domainAt(position);
      previous = position;
    }
    yield* [...new Set(outsized)].sort();
  }

  *values(): IterableIterator<ForwardMapping> {
    for (const domain of this.keys()) yield this.get(domain)!;
  }

  *entries(): IterableIterator<[string, ForwardMapping]> {
    for (const domain of this.keys()) yield [domain, this.get(domain)!];
  }

  [Symbol.iterator](): IterableIterator<[string, ForwardMapping]> {
    return this.entries();
  }

  forEach(callback: (value: ForwardMapping, key: string) => void): void {
    for (const [domain, mapping] of this.entries()) callback(mapping, domain);
  }

  /** The position of a domain's mapping, or -1 (a reverse key waiting for one is none). */
  private mappingAt(domain: string): number {
    return this.arena.find(domain, WAITING);
  }

  private forget(domain: string, position: number, dropVerdict: boolean): void {
    const flags = this.arena.flags(position);
    if (flags & WHOLE) this.whole.delete(domain);
    else {
      const text = this.arena.textAt(position);
      this.countText(text, flags, -1);
      if (flags & PAIRED) {
        // Replaced or removed: its reverse key stands alone again.
        this.pairedTotal--;
        this.reverses?.restore(reverseKeyOfValue(text), domain);
      }
    }
    const mark = (flags & VERDICT_MARKS) as VerdictMark | 0;
    if (mark) {
      this.countMark(mark, -1);
      if (dropVerdict) this.onVerdictMarkDropped?.(domain, mark);
    }
    this.arena.remove(domain);
  }

  /** Counts a mapping kept as `text` in (1) or out (-1), with its entry's `flags`. */
  private countText(text: string, flags: number, by: 1 | -1): void {
    if (!valueNamesBranch(text)) return;
    this.branchTexts += by;
    if (flags & PAIRED) this.branchPairs += by;
  }

  private countMark(mark: VerdictMark, by: 1 | -1): void {
    if (mark === LIVE_BY_PAGES) this.liveMarks += by;
    else this.goneMarks += by;
  }
}

/**
 * `redirects_meta:{domain}` keys by domain (one per site with redirects): a value the
 * plugin wrote (UTF-8 text, no expiry, as a scan reads it) is kept as bytes in an arena;
 * anything else whole, with a copy of its value (a store's reply may hand out views of
 * one large buffer). Reads like a Map of `KeyValue`s.
 */
export class RedirectsMetaTable implements Iterable<[string, KeyValue]> {
  private readonly arena = new DomainArena();
  private readonly whole = new Map<string, KeyValue>();

  get size(): number {
    return this.arena.size + this.whole.size;
  }

  has(domain: string): boolean {
    return this.whole.has(domain) || this.arena.find(domain) >= 0;
  }

  set(domain: string, meta: KeyValue): this {
    this.delete(domain);
    const text = meta.value.toString('utf8');
    if (
      meta.key === REDIRECTS_META_PREFIX + domain &&
      meta.expiresAt === undefined &&
      isUtf8(meta.value) &&
      DomainArena.fits(domain, text)
    ) {
      this.arena.append(domain, 0, text);
    } else this.whole.set(domain, { ...meta, value: Buffer.from(meta.value) });
    return this;
  }

  get(domain: string): KeyValue | undefined {
    const position = this.arena.find(domain);
    if (position < 0) return this.whole.get(domain);
    return { key: REDIRECTS_META_PREFIX + domain, value: Buffer.from(this.arena.textAt(position), 'utf8'), expiresAt: undefined };
  }

  delete(domain: string): boolean {
    return this.whole.delete(domain) || this.arena.remove(domain);
  }

  *keys(): IterableIterator<string> {
    for (const position of this.arena.positions()) yield this.arena.domainAt(position);
    yield* this.whole.keys();
  }

  *entries(): IterableIterator<[string, KeyValue]> {
    for (const domain of this.keys()) yield [domain, this.get(domain)!];
  }

  [Symbol.iterator](): IterableIterator<[string, KeyValue]> {
    return this.entries();
  }
}

function expand(domain: string, text: string): ForwardMapping {
  return { domain, key: FORWARD_PREFIX + domain, value: Buffer.from(text, 'utf8'), target: targetOf(text) };
}

/** The target of a value kept as text: only values that parsed were kept so. */
function targetOf(text: string): RepoTarget | undefined {
  const parsed = parseForwardValue(text);
  return parsed.ok ? parsed.target : undefined;
}

/**
 * A mapping's value text when it is kept as text (what the plugin writes: a target, no
 * expiry, UTF-8 that fits an entry), else undefined: the mapping is then kept whole.
 */
function compactText(domain: string, mapping: ForwardMapping): string | undefined {
  if (mapping.target === undefined || mapping.expiresAt !== undefined || mapping.key !== FORWARD_PREFIX + domain || !isUtf8(mapping.value))
    return undefined;
  const text = mapping.value.toString('utf8');
  return DomainArena.fits(domain, text) ? text : undefined;
}

/**
 * The forward value whose reverse key is `reverseKeyName` (`owner:repo`, or
 * `owner:repo:branch` for `owner:repo:branch:{branch}`), or undefined for a name that no
 * value gives back exactly.
 */
function valueTextOfReverseKey(reverseKeyName: string): string | undefined {
  const first = reverseKeyName.indexOf(':');
  const second = reverseKeyName.indexOf(':', first + 1);
  const text =
    second < 0 ? reverseKeyName : reverseKeyName.slice(0, second + 1) + reverseKeyName.slice(reverseKeyName.lastIndexOf(':') + 1);
  return first > 0 && reverseKeyOfValue(text) === reverseKeyName ? text : undefined;
}

/** Whether a forward value text names a branch (`owner:repo:branch`), as the report counts them. */
function valueNamesBranch(text: string): boolean {
  return text.indexOf(':') !== text.lastIndexOf(':');
}

/** Whether a reverse key is a branch's (`owner:repo:branch:{branch}`), as the report counts them. */
export function namesBranch(reverseKeyName: string): boolean {
  return reverseKeyName.includes(':branch:');
}

/** The reverse key of a forward value text that parses (`owner:repo` or `owner:repo:branch`). */
export function reverseKeyOfValue(text: string): string {
  const first = text.indexOf(':');
  const second = text.indexOf(':', first + 1);
  return second < 0 ? text : reverseKey(text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1));
}

/**
 * Reverse keys (`{owner}:{repo}` or `{owner}:{repo}:branch:{branch}` → domain): a plugin
 * reverse key holds a domain name (ASCII) and never expires, so its name and its value
 * text are all there is to keep — and nothing at all when the forward mapping of that
 * domain names it back (see `ForwardTable`): only reverse keys without such a forward
 * mapping are kept here, as name → domain. One read before its forward mapping waits in
 * the forward table (`ForwardTable.holdWaiting`) until the mapping comes or the scan is
 * done; while it waits, `has` does not find it by name (no more than a paired one), and
 * any other read here first takes back every key still waiting.
 */
export class ReverseTable implements Iterable<ReverseMapping> {
  /** Reverse keys without a forward mapping naming them back, by name. */
  private unpaired = new ArenaTextMap();

  constructor(private readonly forwards: ForwardTable = new ForwardTable()) {
    forwards.pairWith(this);
  }

  add(key: string, domain: string): void {
    if (this.forwards.pair(domain, key)) {
      this.unpaired.delete(key);
      return;
    }
    // A key read again (SCAN repeats keys) keeps its place; a new one waits for its mapping.
    if (!this.unpaired.has(key) && this.forwards.holdWaiting(domain, key)) return;
    this.unpaired.set(key, domain);
  }

  /** For the forward table: takes an unpaired reverse key naming `domain`, if there is one. */
  takeUnpaired(key: string, domain: string): boolean {
    if (this.unpaired.get(key) !== domain) return false;
    this.unpaired.delete(key);
    return true;
  }

  /**
   * Once the scan is done: the keys still waiting in the forward table come here, and the
   * unpaired table is let go whole when every entry that passed through it has paired (a
   * key that did not pair at first, its mapping replaced later in the scan): an arena keeps
   * its largest size to the end.
   */
  releaseIfAllPaired(): void {
    this.takeBackWaiting();
    if (this.unpaired.size === 0) this.unpaired = new ArenaTextMap();
  }

  /** Keys still waiting in the forward table are kept here, by name, from now on. */
  private takeBackWaiting(): void {
    this.forwards.releaseWaiting((key, domain) => this.unpaired.set(key, domain));
  }

  /** For the forward table: a reverse key whose forward mapping was replaced stands alone again. */
  restore(key: string, domain: string): void {
    this.unpaired.set(key, domain);
  }

  /**
   * Whether a reverse key without a forward mapping naming it back is recorded by name
   * (the scan asks it of every reverse key it sees: one still waiting is not found).
   */
  has(key: string): boolean {
    return this.unpaired.has(key);
  }

  /** The domain an unpaired reverse key names. */
  domainOf(key: string): string | undefined {
    this.takeBackWaiting();
    return this.unpaired.get(key);
  }

  /** A reverse key without a forward mapping naming it back. */
  get(key: string): ReverseMapping | undefined {
    this.takeBackWaiting();
    const domain = this.unpaired.get(key);
    return domain === undefined ? undefined : reverseMapping(key, domain);
  }

  /**
   * Every reverse key among `keys`, paired or not. A paired one is found by its forward
   * mapping: one pass over the forward table, for all the names at once.
   */
  findAll(keys: ReadonlySet<string>): Map<string, ReverseMapping> {
    const found = new Map<string, ReverseMapping>();
    if (keys.size === 0) return found;
    for (const key of keys) {
      const reverse = this.get(key);
      if (reverse) found.set(key, reverse);
    }
    if (found.size === keys.size) return found;
    for (const [domain, text] of this.forwards.paired()) {
      const key = reverseKeyOfValue(text);
      if (keys.has(key)) found.set(key, reverseMapping(key, domain));
    }
    return found;
  }

  get size(): number {
    return this.unpaired.size + this.forwards.pairedCount + this.forwards.waitingCount;
  }

  /** Reverse keys of a branch (`namesBranch`), without a pass over the paired ones: the forward table counts those. */
  get branchCount(): number {
    this.takeBackWaiting();
    let unpaired = 0;
    for (const key of this.unpaired.keys()) if (namesBranch(key)) unpaired++;
    return this.forwards.pairedBranchCount + unpaired;
  }

  /** Every reverse key: those paired with their forward mapping, then the others. */
  *keys(): IterableIterator<string> {
    this.takeBackWaiting();
    for (const [, text] of this.forwards.paired()) yield reverseKeyOfValue(text);
    yield* this.unpaired.keys();
  }

  /** Reverse keys without a forward mapping naming them back: the only orphan candidates. */
  unpairedKeys(): IterableIterator<string> {
    this.takeBackWaiting();
    return this.unpaired.keys();
  }

  *[Symbol.iterator](): IterableIterator<ReverseMapping> {
    this.takeBackWaiting();
    for (const [domain, text] of this.forwards.paired()) yield reverseMapping(reverseKeyOfValue(text), domain);
    for (const [key, domain] of this.unpaired) yield reverseMapping(key, domain);
  }
}

function reverseMapping(key: string, domain: string): ReverseMapping {
  const parts = key.split(':');
  const branch = parts.length === 4 ? parts[3] : undefined;
  return {
    owner: parts[0],
    repo: parts[1],
    ...(branch === undefined ? {} : { branch }),
    key,
    value: Buffer.from(domain, 'utf8'),
    expiresAt: undefined,
    domain,
  };
}

/** What `VerdictMap` stores for a common verdict that has no forward entry to be a flag of: the mark as a number. */
type StoredVerdict = Verdict | VerdictMark;

/** Which common verdict `verdict` is for `domain`, if any: those are kept as marks, not objects. */
function commonMark(domain: string, verdict: Verdict): VerdictMark | 0 {
  if (Object.keys(verdict).length !== 2) return 0;
  if (verdict.status === 'live') return verdict.reason === livePagesReason(domain) ? LIVE_BY_PAGES : 0;
  return verdict.status === 'stale' && verdict.reason === GONE_REASON ? GONE : 0;
}

function verdictOfMark(domain: string, mark: VerdictMark): Verdict {
  return mark === LIVE_BY_PAGES ? { status: 'live', reason: livePagesReason(domain) } : { status: 'stale', reason: GONE_REASON };
}

/**
 * Verdicts by domain. The two common verdicts (live, because `.pages` names this domain;
 * stale, because the repository or its `.pages` is gone) are flags of the domain's entry
 * in the forward table the map is given, or a number here without one, and are rebuilt
 * when read; other verdicts are kept as they are. So a million live domains, and the
 * hundred thousand stale ones among them, cost no entry of their own.
 */
export class VerdictMap extends Map<string, Verdict> {
  private liveTotal = 0;

  constructor(private readonly forwards?: ForwardTable) {
    super();
    // A forward entry removed with its mark: the verdict stays, kept here.
    forwards?.keepVerdictsFor((domain, mark) => super.set(domain, mark as unknown as Verdict));
  }

  override get size(): number {
    return super.size + (this.forwards ? this.forwards.liveMarkCount + this.forwards.goneMarkCount : 0);
  }

  override has(domain: string): boolean {
    return super.has(domain) || (this.forwards?.verdictMark(domain) ?? 0) !== 0;
  }

  override set(domain: string, verdict: Verdict): this {
    if (this.isLive(domain)) this.liveTotal--;
    if (verdict.status === 'live') this.liveTotal++;
    const mark = commonMark(domain, verdict);
    if (mark) {
      if (this.forwards?.markVerdict(domain, mark)) super.delete(domain);
      else super.set(domain, mark as unknown as Verdict);
    } else {
      this.forwards?.clearVerdictMark(domain);
      super.set(domain, verdict);
    }
    return this;
  }

  /** The domain's verdict status, without building the verdict. */
  statusOf(domain: string): Verdict['status'] | undefined {
    const stored = this.stored(domain);
    if (stored === undefined) return undefined;
    if (typeof stored === 'number') return stored === LIVE_BY_PAGES ? 'live' : 'stale';
    return stored.status;
  }

  /** Whether the domain's verdict is live, without building it. */
  private isLive(domain: string): boolean {
    return this.statusOf(domain) === 'live';
  }

  override get(domain: string): Verdict | undefined {
    const stored = this.stored(domain);
    return typeof stored === 'number' ? verdictOfMark(domain, stored) : stored;
  }

  /** The verdict as kept: an object, or the mark of a common one (here or in the forward table). */
  private stored(domain: string): StoredVerdict | undefined {
    const stored = super.get(domain) as StoredVerdict | undefined;
    if (stored !== undefined) return stored;
    const mark = this.forwards?.verdictMark(domain) ?? 0;
    return mark === 0 ? undefined : mark;
  }

  /**
   * The verdict of a domain of `forwards` as a walk of that table found it (`sortedViews`):
   * a marked one from its mark, without looking it up.
   */
  verdictOfView(forwards: ForwardTable, view: ForwardView): Verdict | undefined {
    if (forwards !== this.forwards) return this.get(view.domain);
    if (view.mark) return verdictOfMark(view.domain, view.mark);
    // Marks and verdicts kept here are kept apart: a domain has at most one of them.
    if (super.size === 0) return undefined;
    const stored = super.get(view.domain) as StoredVerdict | undefined;
    return typeof stored === 'number' ? verdictOfMark(view.domain, stored) : stored;
  }

  /** How many verdicts are kept as flags of the forward table and are live. */
  get liveFlagCount(): number {
    return this.forwards?.liveMarkCount ?? 0;
  }

  /** How many verdicts are live, without reading them. */
  get live(): number {
    return this.liveTotal;
  }

  override delete(domain: string): boolean {
    if (this.isLive(domain)) this.liveTotal--;
    const marked = (this.forwards?.clearVerdictMark(domain) ?? 0) !== 0;
    return super.delete(domain) || marked;
  }

  override clear(): void {
    if (this.forwards) for (const domain of [...this.forwards.markedDomains()]) this.forwards.clearVerdictMark(domain);
    this.liveTotal = 0;
    super.clear();
  }

  override *keys(): MapIterator<string> {
    yield* super.keys();
    if (this.forwards) yield* this.forwards.markedDomains();
  }

  override *values(): MapIterator<Verdict> {
    for (const domain of this.keys()) yield this.get(domain)!;
  }

  override *entries(): MapIterator<[string, Verdict]> {
    for (const domain of this.keys()) yield [domain, this.get(domain)!];
  }

  override [Symbol.iterator](): MapIterator<[string, Verdict]> {
    return this.entries();
  }

  override forEach(callback: (value: Verdict, key: string, map: Map<string, Verdict>) => void, thisArg?: unknown): void {
    for (const [domain, verdict] of this.entries()) callback.call(thisArg, verdict, domain, this);
  }

  /**
   * Every verdict but the common live ones kept as flags of the forward table, without
   * visiting those: what a plan looks through for stale domains.
   */
  notMarkedLive(): IterableIterator<[string, Verdict]> {
    return (function* (map: VerdictMap, entries: IterableIterator<string>, gone: Iterable<string>) {
      for (const domain of entries) yield [domain, map.get(domain)!] as [string, Verdict];
      for (const domain of gone) yield [domain, verdictOfMark(domain, GONE)] as [string, Verdict];
    })(this, super.keys(), this.forwards?.markedDomains(GONE) ?? []);
  }
}

/** The verdicts a plan looks through for stale ones: a `VerdictMap` skips its live flags. */
export function verdictsToPlan(verdicts: ReadonlyMap<string, Verdict>): Iterable<[string, Verdict]> {
  return verdicts instanceof VerdictMap ? verdicts.notMarkedLive() : verdicts;
}

/** A domain's verdict status; from a `VerdictMap` without building the verdict (a live one is a flag there). */
export function verdictStatus(verdicts: ReadonlyMap<string, Verdict>, domain: string): Verdict['status'] | undefined {
  return verdicts instanceof VerdictMap ? verdicts.statusOf(domain) : verdicts.get(domain)?.status;
}

/** `verdicts.get(view.domain)`, where `view` comes from a walk of `forwards`. */
export function verdictOfView(verdicts: ReadonlyMap<string, Verdict>, forwards: ForwardTable, view: ForwardView): Verdict | undefined {
  return verdicts instanceof VerdictMap ? verdicts.verdictOfView(forwards, view) : verdicts.get(view.domain);
}

/** How many verdicts `verdictsToPlan` leaves out: the common live ones kept as flags. */
export function liveVerdictFlags(verdicts: ReadonlyMap<string, Verdict>): number {
  return verdicts instanceof VerdictMap ? verdicts.liveFlagCount : 0;
}

/** The reason `judgeByPages` gives a live custom-domain mapping. */
export function livePagesReason(domain: string): string {
  return `.pages names ${domain}`;
}
