import type { StoredEntry } from '../ports/key-value-store';
import { readGraceMark, type GraceMark } from './grace';
import {
  domainsSanitizedAs,
  FORWARD_PREFIX,
  isDomainName,
  REDIRECTS_META_PREFIX,
  ROUTER_NAME_PREFIX,
  sanitizeDomain,
  middlewaresRoot,
  reverseKey,
  routerName,
  routersRoot,
  type KeyClass,
} from './keys';
import { parseForwardValue, type ForwardMapping } from './mapping';
import { flat, ForwardTable, RedirectsMetaTable, reverseKeyOfValue, ReverseTable } from './compact';
import type { DomainArenaOptions } from './domain-arena';
import { MIDDLEWARE_SUFFIXES, MiddlewareTable, NameCounts, ROUTER_SUFFIXES, RouterTable } from './traefik-tables';

export type { ForwardMapping, KeyValue, ReverseMapping } from './mapping';

/**
 * Invalid mapping values are not anomalies: they are mappings with an `invalid` verdict.
 * An `unreadable-name` is a key of the plugin's namespaces whose name is not UTF-8 (the
 * plugin copies a Latin-1 `.pages` byte for byte into its keys): it can be neither
 * verified nor deleted, so a run that finds one is partial.
 */
export type AnomalyKind = 'wrong-type' | 'disagreement' | 'collision' | 'unreadable-name';

export interface Anomaly {
  kind: AnomalyKind;
  key: string;
  detail: string;
}

export interface Inventory {
  rootKey: string;
  keysScanned: number;
  /** By domain; plain mappings are kept as their value text (see `ForwardTable`). */
  forwards: ForwardTable;
  /** Reverse keys of the plugin's shape whose value is a domain name, by key. */
  reverses: ReverseTable;
  /**
   * Router name → its key names; only `custom-…` routers. Values are read only for the
   * routers a plan deletes (see `hydratePlan`): most routers belong to live domains.
   * Kept as a bitmap over the plugin's sub-key names per router, by a hash of its name:
   * names are kept only for routers no forward mapping produces (orphans, named once
   * the scan is complete, see `nameOrphanRouters`) and those added by name.
   */
  routers: RouterTable;
  /** Middleware name → its key names; only `redirects-{sanitized}-{n}` middlewares. */
  middlewares: MiddlewareTable;
  /** `redirects_meta:{domain}` keys by domain. */
  redirectsMeta: RedirectsMetaTable;
  /** The reaper's own grace-period marks, by domain. */
  graceMarks: Map<string, GraceMark>;
  /** Keys of a plugin shape that cannot be handled safely (wrong type and the like). */
  anomalies: Anomaly[];
  /**
   * Mapped domains that hold a `/` (a `custom_domain` with a scheme or a path). The plugin
   * writes their router and middleware keys under the name of the part before the `/`
   * (`custom-a-com/blog/rule` for `a.com/blog`), where they read as keys of another
   * router: while such a mapping exists, nothing under that name is reaped.
   */
  pathDomains: Set<string>;
  /**
   * The owners of every Traefik name, as the scan found them once it was complete (for the
   * cross anomalies); the plan takes them rather than find them again, and lets them go.
   */
  owners?: SanitizedOwners;
}

/** With `openSpill`, the forward table spills what it holds past its memory budget (`ForwardTable`). */
export function emptyInventory(rootKey: string, options: DomainArenaOptions = {}): Inventory {
  const forwards = new ForwardTable(options);
  return {
    rootKey,
    keysScanned: 0,
    forwards,
    reverses: new ReverseTable(forwards),
    routers: new RouterTable(routersRoot(rootKey), ROUTER_SUFFIXES),
    middlewares: new MiddlewareTable(middlewaresRoot(rootKey), MIDDLEWARE_SUFFIXES),
    redirectsMeta: new RedirectsMetaTable(),
    graceMarks: new Map(),
    anomalies: [],
    pathDomains: new Set(),
  };
}

/** Which keys' values the scanner reads: mappings, redirects_meta and grace marks. */
export function needsValue(cls: KeyClass): boolean {
  return cls.kind === 'forward' || cls.kind === 'reverse' || cls.kind === 'redirects-meta' || cls.kind === 'grace-mark';
}

/**
 * Records a router or middleware key by name; its value is read if a plan deletes it.
 * False when the key was already recorded (SCAN may return a key twice). The router's
 * name, which the class already holds, is kept: whoever adds keys one by one (a targeted
 * scope, tests) needs no second scan to name its orphans.
 */
export function addTraefikKey(inventory: Inventory, cls: KeyClass, key: string): boolean {
  if (cls.kind === 'router') return inventory.routers.addKey(key, true);
  if (cls.kind === 'middleware') return inventory.middlewares.addKey(key);
  return false;
}

/** What the plugin writes into `redirects_meta:{domain}` (redirects.go: `count=%d`). */
const REDIRECT_COUNT = /^count=\d+$/;

/**
 * Whether a key whose name looks like the plugin's really is: reverse keys share their
 * shape with cache entries and password hashes, which carry a TTL or no domain name, and
 * a `redirects_meta:` string is the plugin's only as `count=N` (another application's
 * `redirects_meta:report` was reaped as an orphan). A string of another type stays the
 * plugin's, to be reported as of the wrong type.
 */
export function isPluginEntry(cls: KeyClass, entry: StoredEntry): boolean {
  if (cls.kind === 'foreign' || cls.kind === 'grace-mark') return false;
  if (cls.kind === 'redirects-meta')
    return entry.type !== 'string' || (entry.value !== undefined && REDIRECT_COUNT.test(entry.value.toString('latin1')));
  if (cls.kind !== 'reverse') return true;
  return (
    entry.type === 'string' && entry.value !== undefined && entry.expiresAt === undefined && isDomainName(entry.value.toString('utf8'))
  );
}

/**
 * A value kept past the batch that read it: a store's reply may hand out views of one
 * large buffer, which a kept view would hold whole. The copy has a memory of its own:
 * `Buffer.from` would cut a small one from Node's shared 8 KiB pool, and a few kept
 * values would pin each pool slab whole (20,000 `redirects_meta` values held 20 MB).
 */
function ownCopy(value: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(value.length);
  value.copy(copy);
  return copy;
}

/** Why a mapping whose domain holds a `/` is invalid (see `Inventory.pathDomains`). */
export const PATH_DOMAIN_REASON =
  "the domain holds a '/' (a custom_domain with a scheme or a path): no request names it as a host, and the plugin wrote its Traefik keys under the name of the part before the '/'; left alone";

/**
 * Adds one scanned key to the inventory. Returns the forward mapping it created, so the
 * caller can start verifying it while the scan goes on.
 */
export function addEntry(inventory: Inventory, cls: KeyClass, entry: StoredEntry): ForwardMapping | undefined {
  const { key, expiresAt } = entry;
  if (cls.kind === 'grace-mark') {
    if (entry.value !== undefined) inventory.graceMarks.set(cls.domain, readGraceMark(key, ownCopy(entry.value)));
    return undefined;
  }
  if (!isPluginEntry(cls, entry)) return undefined;
  if (cls.kind === 'forward' && cls.domain.includes('/')) inventory.pathDomains.add(flat(cls.domain));
  if (entry.type !== 'string' || entry.value === undefined) {
    inventory.anomalies.push({ kind: 'wrong-type', key, detail: `holds a ${entry.type}, the plugin writes strings; left alone` });
    if (cls.kind === 'forward') {
      const mapping: ForwardMapping = {
        domain: cls.domain,
        key,
        value: Buffer.alloc(0),
        invalid: `key holds a ${entry.type}, not a string`,
      };
      inventory.forwards.set(cls.domain, mapping);
      return mapping;
    }
    return undefined;
  }
  const value = entry.value;
  switch (cls.kind) {
    case 'forward': {
      const parsed = parseForwardValue(value.toString('utf8'));
      // One string for the domain, kept by the forward table and by whoever keys a verdict
      // by it: a name cut from the key would keep the whole key name alive beside it.
      const domain = flat(cls.domain);
      const mapping: ForwardMapping = !parsed.ok
        ? { domain, key, value, expiresAt, invalid: parsed.reason }
        : domain.includes('/')
          ? { domain, key, value, expiresAt, invalid: PATH_DOMAIN_REASON }
          : { domain, key, value, expiresAt, target: parsed.target };
      inventory.forwards.set(domain, mapping);
      return mapping;
    }
    case 'reverse':
      inventory.reverses.add(key, value.toString('utf8'));
      return undefined;
    case 'router':
    case 'middleware':
      addTraefikKey(inventory, cls, key);
      return undefined;
    case 'redirects-meta':
      inventory.redirectsMeta.set(cls.domain, { key, value, expiresAt });
      return undefined;
  }
}

/**
 * Cross-checks done once the scan is complete: router-name collisions and
 * forward/reverse disagreements. They inform; they never count as errors.
 */
export function findCrossAnomalies(inventory: Inventory, owners: SanitizedOwners = sanitizedOwners(inventory)): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const [, sharing] of owners.shared()) {
    anomalies.push({ kind: 'collision', key: routerName(sharing[0]), detail: `router name shared by ${sharing.sort().join(', ')}` });
  }
  if (inventory.reverses.size === inventory.forwards.pairedCount) return anomalies;
  for (const domain of inventory.forwards.keys()) {
    if (inventory.forwards.isPaired(domain)) continue;
    const text = inventory.forwards.valueText(domain);
    if (text !== undefined) {
      // The common case, without building the mapping: the reverse key names this domain.
      const own = reverseKeyOfValue(text);
      const named = inventory.reverses.domainOf(own);
      if (named === undefined || named === domain) continue;
    }
    const mapping = inventory.forwards.get(domain)!;
    if (!mapping.target) continue;
    const { owner, repo, branch } = mapping.target;
    const reverseKeyName = reverseKey(owner, repo, branch);
    const reverseDomain = inventory.reverses.domainOf(reverseKeyName);
    if (reverseDomain !== undefined && reverseDomain !== mapping.domain) {
      anomalies.push({ kind: 'disagreement', key: mapping.key, detail: `reverse key ${reverseKeyName} names ${reverseDomain}` });
    }
  }
  return anomalies;
}

export { reverseKeyOfValue };

export interface InventoryCounts {
  keysScanned: number;
  forward: number;
  branchForward: number;
  invalidForward: number;
  reverse: number;
  branchReverse: number;
  routers: number;
  routerKeys: number;
  middlewares: number;
  redirectsMeta: number;
  anomalies: number;
}

export function countInventory(inventory: Inventory): InventoryCounts {
  const { forward, branchForward, invalidForward } = inventory.forwards.counts();
  const branchReverse = inventory.reverses.branchCount;
  return {
    keysScanned: inventory.keysScanned,
    forward,
    branchForward,
    invalidForward,
    reverse: inventory.reverses.size - branchReverse,
    branchReverse,
    routers: inventory.routers.size,
    routerKeys: inventory.routers.keyCount,
    middlewares: inventory.middlewares.size,
    redirectsMeta: inventory.redirectsMeta.size,
    anomalies: inventory.anomalies.length,
  };
}

/**
 * Which scanned domains give a Traefik name `{sanitized}` (each `.` became `-`), without
 * a table entry per domain: a domain without a dash is the only one of its shape, found
 * by putting the dots back; domains with a dash are counted by a hash of their name, and
 * named only where two or more share it (or a domain has too many separators to find it
 * back among the names it could be). A domain with a dash alone on its name is found, when
 * asked for, among the few names that give it. Real stores have many dashed domains.
 */
export interface SanitizedOwners {
  /**
   * Every scanned domain that gives this name. A caller that knows one of them (`known`, a
   * scanned domain that gives it) spares the search for a dashed domain alone on its name:
   * that one is `known`. The search builds and looks up 2^n names (n dashes): a planner
   * asking it for each of 100,000 stale domains of eight separators held the thread 85 s.
   */
  of(sanitized: string, known?: string): string[];
  /** How many do, at least; it may overstate (a hash shared by two names), never understate. */
  count(sanitized: string): number;
  /** Each name two or more scanned domains give, with them, in the order the scan's table lists them. */
  shared(): Generator<[sanitized: string, domains: string[]]>;
}

/** A dashed domain with more separators than this is kept by name (2^n names could give its own). */
const MAX_SEARCHED_SEPARATORS = 8;

/**
 * Domains a computation over every domain looks at between two steps (`ownersInSteps`, the
 * scanner's router marks): a run lets its event loop turn between steps.
 */
export const DOMAINS_PER_STEP = 25_000;

export function sanitizedOwners(inventory: Pick<Inventory, 'forwards'>): SanitizedOwners {
  const steps = ownersInSteps(inventory);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `sanitizedOwners` a step at a time, each over at most `DOMAINS_PER_STEP` domains, so a run
 * can let its event loop turn between them: at a million domains finding the owners takes
 * seconds, and a signal or a health check waits for the thread meanwhile.
 */
export function* ownersInSteps(inventory: Pick<Inventory, 'forwards'>): Generator<void, SanitizedOwners> {
  // Sized once: grown as it fills, the old and the new arrays of a million dashed domains'
  // counts were held together, and the memory they took stayed with the process.
  const counts = new NameCounts(inventory.forwards.dashedAtMost);
  let dashed = 0;
  let seen = 0;
  for (const domain of inventory.forwards.keys()) {
    if (++seen % DOMAINS_PER_STEP === 0) yield;
    if (!domain.includes('-')) continue;
    counts.add(domain, true);
    dashed++;
  }
  const named = new Map<string, string[]>();
  if (dashed > 0) {
    for (const domain of inventory.forwards.keys()) {
      if (++seen % DOMAINS_PER_STEP === 0) yield;
      if (!domain.includes('-')) continue;
      const sanitized = sanitizeDomain(domain);
      const shared = counts.count(domain, true) > 1 || inventory.forwards.has(sanitized.replaceAll('-', '.'));
      if (!shared && separators(sanitized) <= MAX_SEARCHED_SEPARATORS) continue;
      const domains = named.get(sanitized);
      if (domains) domains.push(domain);
      else named.set(sanitized, [domain]);
    }
  }
  const dashedOwners = (sanitized: string, known: string | undefined): string[] => {
    const kept = named.get(sanitized);
    if (kept) return kept;
    const count = counts.count(sanitized, true);
    if (count === 0) return [];
    // Not named, so alone on its name (a count never understates): a dashed `known` is it.
    if (count === 1 && known !== undefined && known.includes('-')) return [known];
    const candidates = domainsSanitizedAs(sanitized, 2 ** MAX_SEARCHED_SEPARATORS) ?? [];
    return candidates.filter((domain) => domain.includes('-') && inventory.forwards.has(domain));
  };
  const dottedOwner = (sanitized: string): string[] => {
    const dotted = sanitized.replaceAll('-', '.');
    return inventory.forwards.has(dotted) ? [dotted] : [];
  };
  return {
    of: (sanitized, known) => dottedOwner(sanitized).concat(dashedOwners(sanitized, known)),
    count: (sanitized) => dottedOwner(sanitized).length + (named.get(sanitized)?.length ?? Math.min(counts.count(sanitized, true), 1)),
    // A shared name has a dashed owner, and every dashed domain on a shared name is named.
    *shared() {
      for (const [sanitized, dashedOnName] of named) {
        const domains = dottedOwner(sanitized).concat(dashedOnName);
        if (domains.length > 1) yield [sanitized, domains];
      }
    },
  };
}

function separators(sanitized: string): number {
  let n = 0;
  for (let i = 0; i < sanitized.length; i++) if (sanitized.charCodeAt(i) === 0x2d) n++;
  return n;
}

/**
 * Records the keys a scan found but could not read as text (`KeyValueStore.skippedKeys`,
 * escaped): each is a key scanned, and one in the plugin's namespaces (a forward mapping,
 * redirect metadata, a `custom-` router, a `redirects-` middleware) an `unreadable-name`
 * anomaly. Reverse keys are not among them: an owner or repository name is ASCII.
 */
export function noteUnreadableNames(inventory: Inventory, escapedNames: Iterable<string>): void {
  for (const name of new Set(escapedNames)) {
    inventory.keysScanned++;
    if (inPluginNamespace(name, inventory.rootKey)) {
      inventory.anomalies.push({
        kind: 'unreadable-name',
        key: name,
        detail:
          'its name is not UTF-8 (shown escaped): it can be neither verified nor deleted here; check it and delete it by hand if it is stale',
      });
    }
  }
}

/**
 * Whether a key name (escaped, when it is not UTF-8) is in one of the namespaces the plugin
 * writes with a domain in the name: a forward mapping, redirect metadata, a `custom-` router
 * or a `redirects-` middleware. The plugin builds them from `.pages` bytes as they are (a
 * Latin-1 file gives a name that is not UTF-8); reverse keys hold ASCII names only.
 */
export function inPluginNamespace(name: string, rootKey: string): boolean {
  return (
    name.startsWith(FORWARD_PREFIX) ||
    name.startsWith(REDIRECTS_META_PREFIX) ||
    name.startsWith(routersRoot(rootKey) + ROUTER_NAME_PREFIX) ||
    name.startsWith(middlewaresRoot(rootKey) + 'redirects-')
  );
}
