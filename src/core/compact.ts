import { isUtf8 } from 'node:buffer';
import { FORWARD_PREFIX, reverseKey } from './keys';
import { parseForwardValue } from './mapping';
import type { ForwardMapping, ReverseMapping } from './mapping';
import type { Verdict } from './verdict';

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

/** Marks a forward value whose reverse key was scanned and names the same domain. */
const PAIRED = '\u0000';

/**
 * Forward mappings by domain. A mapping whose value is UTF-8 text, parses as a target
 * and never expires (what the plugin writes) is kept as its value text alone; anything
 * else is kept whole. Reads like a Map of full `ForwardMapping`s. When the reverse key
 * the plugin wrote with it names it back (nearly always), the pair is one entry here:
 * the reverse key's name and value follow from the forward's.
 */
export class ForwardTable extends Map<string, ForwardMapping> {
  private reverses?: ReverseTable;
  private pairedTotal = 0;

  /** Called by the reverse table that pairs with this one. */
  pairWith(reverses: ReverseTable): void {
    this.reverses = reverses;
  }

  override set(domain: string, mapping: ForwardMapping): this {
    const previous = this.stored(domain);
    if (typeof previous === 'string' && previous.startsWith(PAIRED)) {
      // Replaced: its reverse key stands alone again.
      this.pairedTotal--;
      this.reverses?.restore(reverseKeyOfValue(previous.slice(1)), domain);
    }
    const compact =
      mapping.target !== undefined && mapping.expiresAt === undefined && mapping.key === FORWARD_PREFIX + domain && isUtf8(mapping.value);
    let stored: ForwardMapping | string = mapping;
    if (compact) {
      const text = mapping.value.toString('utf8');
      if (this.reverses?.takeUnpaired(reverseKeyOfValue(text), domain)) {
        stored = flat(PAIRED + text);
        this.pairedTotal++;
      } else stored = text;
    }
    // The caller's string is the key: `addEntry` hands one of its own (see `flat`), which
    // the verdicts are keyed by too.
    super.set(domain, stored as unknown as ForwardMapping);
    return this;
  }

  override delete(domain: string): boolean {
    const previous = this.stored(domain);
    if (typeof previous === 'string' && previous.startsWith(PAIRED)) {
      this.pairedTotal--;
      this.reverses?.restore(reverseKeyOfValue(previous.slice(1)), domain);
    }
    return super.delete(domain);
  }

  override get(domain: string): ForwardMapping | undefined {
    const stored = this.stored(domain);
    return typeof stored === 'string' ? expand(domain, stored.startsWith(PAIRED) ? stored.slice(1) : stored) : stored;
  }

  /** The value as text without building the mapping; undefined for a mapping kept whole. */
  valueText(domain: string): string | undefined {
    const stored = this.stored(domain);
    return typeof stored === 'string' ? (stored.startsWith(PAIRED) ? stored.slice(1) : stored) : undefined;
  }

  /** Whether this domain's reverse key was scanned and names it. */
  isPaired(domain: string): boolean {
    const stored = this.stored(domain);
    return typeof stored === 'string' && stored.startsWith(PAIRED);
  }

  /** Pairs a compact mapping with its reverse key; false when it cannot be paired. */
  pair(domain: string, reverseKeyName: string): boolean {
    const stored = this.stored(domain);
    if (typeof stored !== 'string') return false;
    if (stored.startsWith(PAIRED)) return reverseKeyOfValue(stored.slice(1)) === reverseKeyName;
    if (reverseKeyOfValue(stored) !== reverseKeyName) return false;
    super.set(domain, flat(PAIRED + stored) as unknown as ForwardMapping);
    this.pairedTotal++;
    return true;
  }

  get pairedCount(): number {
    return this.pairedTotal;
  }

  /** Domains whose reverse key is paired with them. */
  *pairedDomains(): IterableIterator<string> {
    for (const [domain, stored] of super.entries() as IterableIterator<[string, ForwardMapping | string]>) {
      if (typeof stored === 'string' && stored.startsWith(PAIRED)) yield domain;
    }
  }

  override *values(): MapIterator<ForwardMapping> {
    for (const domain of super.keys()) yield this.get(domain)!;
  }

  override *entries(): MapIterator<[string, ForwardMapping]> {
    for (const domain of super.keys()) yield [domain, this.get(domain)!];
  }

  override [Symbol.iterator](): MapIterator<[string, ForwardMapping]> {
    return this.entries();
  }

  override forEach(callback: (value: ForwardMapping, key: string, map: Map<string, ForwardMapping>) => void, thisArg?: unknown): void {
    for (const [domain, mapping] of this.entries()) callback.call(thisArg, mapping, domain, this);
  }

  private stored(domain: string): ForwardMapping | string | undefined {
    return super.get(domain) as ForwardMapping | string | undefined;
  }
}

function expand(domain: string, text: string): ForwardMapping {
  const parsed = parseForwardValue(text);
  // Only values that parsed were kept as text.
  return { domain, key: FORWARD_PREFIX + domain, value: Buffer.from(text, 'utf8'), target: parsed.ok ? parsed.target : undefined };
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
 * mapping are kept here, as name → domain.
 */
export class ReverseTable implements Iterable<ReverseMapping> {
  private readonly unpaired = new Map<string, string>();

  constructor(private readonly forwards: ForwardTable = new ForwardTable()) {
    forwards.pairWith(this);
  }

  add(key: string, domain: string): void {
    if (this.forwards.pair(domain, key)) {
      this.unpaired.delete(key);
      return;
    }
    this.unpaired.set(key, domain);
  }

  /** For the forward table: takes an unpaired reverse key naming `domain`, if there is one. */
  takeUnpaired(key: string, domain: string): boolean {
    if (this.unpaired.get(key) !== domain) return false;
    this.unpaired.delete(key);
    return true;
  }

  /** For the forward table: a reverse key whose forward mapping was replaced stands alone again. */
  restore(key: string, domain: string): void {
    this.unpaired.set(key, domain);
  }

  /** Whether a reverse key without a forward mapping naming it back is recorded. */
  has(key: string): boolean {
    return this.unpaired.has(key);
  }

  /** The domain an unpaired reverse key names. */
  domainOf(key: string): string | undefined {
    return this.unpaired.get(key);
  }

  /** A reverse key without a forward mapping naming it back. */
  get(key: string): ReverseMapping | undefined {
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
    for (const domain of this.forwards.pairedDomains()) {
      const key = reverseKeyOfValue(this.forwards.valueText(domain)!);
      if (keys.has(key)) found.set(key, reverseMapping(key, domain));
    }
    return found;
  }

  get size(): number {
    return this.unpaired.size + this.forwards.pairedCount;
  }

  /** Every reverse key: those paired with their forward mapping, then the others. */
  *keys(): IterableIterator<string> {
    for (const domain of this.forwards.pairedDomains()) yield reverseKeyOfValue(this.forwards.valueText(domain)!);
    yield* this.unpaired.keys();
  }

  /** Reverse keys without a forward mapping naming them back: the only orphan candidates. */
  unpairedKeys(): IterableIterator<string> {
    return this.unpaired.keys();
  }

  *[Symbol.iterator](): IterableIterator<ReverseMapping> {
    for (const domain of this.forwards.pairedDomains()) yield reverseMapping(reverseKeyOfValue(this.forwards.valueText(domain)!), domain);
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

/** A live verdict whose reason is the one the `.pages` check gives for this very domain. */
const LIVE_BY_PAGES = 1;

/**
 * Verdicts by domain. The common verdict — live, because `.pages` names this domain — is
 * kept as a number and rebuilt when read; others are kept as they are.
 */
export class VerdictMap extends Map<string, Verdict> {
  private liveTotal = 0;

  override set(domain: string, verdict: Verdict): this {
    const previous = super.get(domain) as Verdict | number | undefined;
    if (previous !== undefined && (previous === LIVE_BY_PAGES || (previous as Verdict).status === 'live')) this.liveTotal--;
    if (verdict.status === 'live') this.liveTotal++;
    const compact = verdict.status === 'live' && verdict.reason === livePagesReason(domain) && Object.keys(verdict).length === 2;
    super.set(domain, compact ? (LIVE_BY_PAGES as unknown as Verdict) : verdict);
    return this;
  }

  override get(domain: string): Verdict | undefined {
    const stored = super.get(domain) as Verdict | number | undefined;
    return stored === LIVE_BY_PAGES ? { status: 'live', reason: livePagesReason(domain) } : (stored as Verdict | undefined);
  }

  /** How many verdicts are live, without reading them. */
  get live(): number {
    return this.liveTotal;
  }

  override delete(domain: string): boolean {
    const previous = super.get(domain) as Verdict | number | undefined;
    if (previous !== undefined && (previous === LIVE_BY_PAGES || (previous as Verdict).status === 'live')) this.liveTotal--;
    return super.delete(domain);
  }

  override clear(): void {
    this.liveTotal = 0;
    super.clear();
  }

  override *values(): MapIterator<Verdict> {
    for (const domain of super.keys()) yield this.get(domain)!;
  }

  override *entries(): MapIterator<[string, Verdict]> {
    for (const domain of super.keys()) yield [domain, this.get(domain)!];
  }

  override [Symbol.iterator](): MapIterator<[string, Verdict]> {
    return this.entries();
  }

  override forEach(callback: (value: Verdict, key: string, map: Map<string, Verdict>) => void, thisArg?: unknown): void {
    for (const [domain, verdict] of this.entries()) callback.call(thisArg, verdict, domain, this);
  }
}

/** The reason `judgeByPages` gives a live custom-domain mapping. */
export function livePagesReason(domain: string): string {
  return `.pages names ${domain}`;
}
