import type { ExpectedKey, KeyGuard, StoredEntry } from '../ports/key-value-store';
import { reverseKeyOfValue, sanitizedOwners, type Inventory, type KeyValue, type ReverseMapping, type SanitizedOwners } from './inventory';
import { forwardValue } from './mapping';
import { verdictStatus, verdictsToPlan } from './compact';
import {
  domainCountSanitizedAs,
  domainsSanitizedAs,
  forwardKey,
  isDomainName,
  redirectsMetaKey,
  reverseKey,
  routerName,
  sanitizeDomain,
} from './keys';
import type { Claim, Verdict } from './verdict';
import { NameCounts } from './traefik-tables';

export type DeletionKind = 'domain' | 'orphan-router' | 'orphan-middleware' | 'orphan-redirects-meta' | 'orphan-reverse';

/** A key to delete; `expected` is unknown for router and middleware keys until hydrated. */
export interface PlannedKey {
  key: string;
  expected?: Buffer;
  expiresAt?: number;
  /** Deleted only if it holds exactly these bytes when read before the deletes; else never ours, left alone. */
  onlyIf?: Buffer;
}

/** Keys deleted together, in this order, only if all still hold what was read. */
export interface DeletionGroup<K extends PlannedKey = PlannedKey> {
  kind: DeletionKind;
  /** The domain, router name, middleware name or key the group is about. */
  subject: string;
  reason: string;
  keys: K[];
  /**
   * Registrations that would make these keys live again, as the scan saw them: checked
   * in the same atomic step as the deletes (DESIGN §4.8), never deleted.
   */
  guards: KeyGuard[];
}

export interface BrakeOptions {
  /** Refuse when more than this share of mapped domains would be reaped. */
  maxStaleRatio: number;
  /** The brake only applies from this many mapped domains on. */
  minDomains: number;
  force: boolean;
}

export interface BrakeResult {
  mappedDomains: number;
  staleDomains: number;
  ratio: number;
  maxStaleRatio: number;
  minDomains: number;
  forced: boolean;
  tripped: boolean;
  /**
   * A triggered run's brake (webhooks): tripped because the last sweep was refused. What
   * the sweep refused whole must not go piecemeal, one delivery at a time.
   */
  sweepRefused?: true;
  /**
   * Present when the orphan reverse keys to reap are over the limit: at least `minDomains`
   * of them and more than `maxStaleRatio` of them and the mapped domains together. A reverse
   * key has no namespace (`{owner}:{repo}` → a host name), so another application's keys of
   * that shape (`tenant:acme` → `acme.example.com`) pass for the plugin's, and Forgejo has
   * no such repository: a run against the wrong Redis reaped every one of them.
   */
  orphanReverse?: { reaped: number; ratio: number };
}

export interface Plan<K extends PlannedKey = PlannedKey> {
  groups: Array<DeletionGroup<K>>;
  /**
   * Keys a stale domain would have lost but keeps, and why. `rerun`: kept only because
   * they do not fit one atomic step beside the domain's mapping, which goes; the next run
   * reaps them as orphans (each router and middleware in a step of its own), so this run
   * is partial (exit 2).
   */
  kept: Array<{ subject: string; reason: string; rerun?: true }>;
  brake: BrakeResult;
}

export const DEFAULT_BRAKE: BrakeOptions = { maxStaleRatio: 0.3, minDomains: 10, force: false };

/**
 * Router and middleware names drop the difference between `.` and `-`, so up to 2^n
 * domains (n dashes in the name) could register one; they are guarded one by one up to
 * this many, beyond which the keys are left alone and said so.
 */
export const MAX_GUARDED_DOMAINS = 1024;

/** What one atomic group can hold in the store at hand (etcd: operations per transaction). */
export interface PlanLimits {
  /** Keys plus guards of one group; unbounded when undefined. */
  maxGroupSize?: number;
  /** What a key, or a guard holding a value, takes of `maxGroupSize` (1 when undefined; see `KeyValueStore.checksPerKey`). */
  checksPerKey?: number;
}

/**
 * How many guards fit in one group beside `keys` keys (negative: the keys alone do not).
 * Guards of a name other scanned domains give may hold values, and are counted as keys.
 */
function guardRoom(limits: PlanLimits, keys: number, valuedGuards: boolean): number {
  if (limits.maxGroupSize === undefined) return Infinity;
  const perKey = limits.checksPerKey ?? 1;
  const room = limits.maxGroupSize - perKey * keys;
  return valuedGuards && room > 0 ? Math.floor(room / perKey) : room;
}

/** A domain's forward key as the scan saw it: absent, or holding what was read. */
function forwardGuard(inventory: Inventory, domain: string): KeyGuard {
  const mapping = inventory.forwards.get(domain);
  return { key: forwardKey(domain), expected: mapping ? mapping.value : null };
}

/**
 * The forward keys of every domain that would own Traefik objects named after
 * `sanitized` (but `except`), as the scan saw them; undefined when there are too many.
 * Where the scan saw none of them (`othersScanned` false, known from the name counts) each
 * expects no mapping without a look-up: up to 2^n of them (n dashes) for every group.
 */
function registrationGuards(
  inventory: Inventory,
  sanitized: string,
  room: number,
  othersScanned: boolean,
  except?: string,
): KeyGuard[] | undefined {
  const domains = domainsSanitizedAs(sanitized, guardLimit(room, except));
  if (!domains) return undefined;
  const guards: KeyGuard[] = [];
  for (const domain of domains) {
    if (domain === except) continue;
    guards.push(othersScanned ? forwardGuard(inventory, domain) : { key: forwardKey(domain), expected: null });
  }
  return guards;
}

/** Whether `registrationGuards` would find too many domains to guard, without building a guard. */
function tooManyToGuard(sanitized: string, room: number, except?: string): boolean {
  return domainCountSanitizedAs(sanitized) > guardLimit(room, except);
}

function guardLimit(room: number, except: string | undefined): number {
  return Math.min(MAX_GUARDED_DOMAINS, room + (except === undefined ? 0 : 1));
}

const TOO_MANY_OWNERS = 'too many domains could register this name to guard them all in one step; left alone';
/**
 * Why a name's keys cannot go in one group, with the figures: its keys alone are more than
 * one atomic step of the store takes (`room` below 0), or beside them there is no room
 * for a guard of every domain that could register the name.
 */
function unfitReason(sanitized: string, keys: number, room: number): string {
  if (room < 0) return `its ${keys} keys are more than one atomic step of this store can check and delete; left alone`;
  return ownersReason(sanitized, keys);
}

function ownersReason(sanitized: string, keys: number): string {
  const owners = domainCountSanitizedAs(sanitized);
  return TOO_MANY_OWNERS.replace('; left alone', ` (${owners} could, beside its ${keys} keys); left alone`);
}

/**
 * Reverse keys whose domain has no forward mapping pointing back at their repository.
 * Each is reaped only once its repository is verified not to claim the domain.
 */
export function orphanReverseCandidates(inventory: Inventory): ReverseMapping[] {
  const orphans: ReverseMapping[] = [];
  // A reverse key paired with its forward mapping points back by construction.
  for (const key of inventory.reverses.unpairedKeys()) {
    const domain = inventory.reverses.domainOf(key)!;
    // The common case without building objects: the forward value's reverse key is this key.
    const text = inventory.forwards.valueText(domain);
    if (text !== undefined && reverseKeyOfValue(text) === key) continue;
    const reverse = inventory.reverses.get(key)!;
    const forward = inventory.forwards.get(domain);
    if (!forward?.target || forwardValue(forward.target) !== forwardValue(reverse)) orphans.push(reverse);
  }
  return orphans;
}

export function reverseClaim(reverse: ReverseMapping): Claim {
  return { owner: reverse.owner, repo: reverse.repo, branch: reverse.branch, domain: reverse.domain };
}

/** The reverse key a stale domain's forward value names (the domain has a target). */
function reverseKeyOf(inventory: Inventory, domain: string): string {
  const text = inventory.forwards.valueText(domain);
  if (text !== undefined) return reverseKeyOfValue(text);
  const target = inventory.forwards.get(domain)!.target!;
  return reverseKey(target.owner, target.repo, target.branch);
}

function expect(entries: KeyValue[]): ExpectedKey[] {
  return entries.map(({ key, value, expiresAt }) => ({ key, expected: value, expiresAt }));
}

function byName(keys: string[]): PlannedKey[] {
  return [...keys].sort().map((key) => ({ key }));
}

/** What every stale domain's group of one plan reads its keys and guards from. */
interface PlanSource {
  inventory: Inventory;
  limits: PlanLimits;
}

/** The group holds the router and redirect middlewares named after its domain. */
const TRAEFIK = 1;
/** The group holds the domain's reverse key. */
const REVERSE = 2;
/** The group's keys carry no values: the plan a run keeps once they are backed up. */
const NAMES_ONLY = 4;
/**
 * The group holds the domain's reverse key if, read before the deletes, it names the
 * domain: the scan records reverse keys only when their value is a host name, which this
 * domain (`?.x.com`, `bücher.de`) is not, so it cannot know.
 */
const REVERSE_IF_NAMED = 8;
/** Another domain of the same Traefik name was scanned: its guard expects its mapping. */
const NAME_SHARED = 16;

/**
 * A stale domain's group, kept as little as a plan of 100,000 of them allows (DESIGN
 * §4.11): its subject, reason and what the planner decided (flags, its middleware
 * names). Its keys and guards are rebuilt from the inventory each time they are read —
 * the same keys, in the same order, with the bytes the scan read — so the group reads
 * (and compares) like a plain `DeletionGroup`. The inventory is the scan's record and
 * does not change once planned.
 */
class DomainGroup implements DeletionGroup {
  readonly kind = 'domain' as const;
  declare readonly keys: PlannedKey[];
  declare readonly guards: KeyGuard[];
  readonly subject: string;
  readonly reason: string;
  readonly #source: PlanSource;
  #flags: number;
  /** Its redirect middlewares' names, sorted; undefined when it holds none. */
  readonly #middlewares: readonly string[] | undefined;

  // One pair of getter functions for every group: own, enumerable properties (so a group
  // compares and spreads like a plain object) without a closure per group.
  static readonly #accessors: PropertyDescriptorMap = {
    keys: {
      enumerable: true,
      get(this: DomainGroup) {
        return this.#keys();
      },
    },
    guards: {
      enumerable: true,
      get(this: DomainGroup) {
        return this.#guards();
      },
    },
  };

  constructor(source: PlanSource, domain: string, reason: string, flags: number, middlewares: readonly string[] | undefined) {
    this.subject = domain;
    this.reason = reason;
    this.#source = source;
    this.#flags = flags;
    this.#middlewares = middlewares;
    Object.defineProperties(this, DomainGroup.#accessors);
  }

  /** From now on, its keys are read without values. */
  dropValues(): void {
    this.#flags |= NAMES_ONLY;
  }

  /** Router keys, then each redirect middleware's, each sorted by name. */
  #traefikKeys(): PlannedKey[] {
    if (!(this.#flags & TRAEFIK)) return [];
    const { inventory } = this.#source;
    const keys = byName(inventory.routers.get(routerName(this.subject)) ?? []);
    for (const name of this.#middlewares ?? []) keys.push(...byName(inventory.middlewares.get(name)!));
    return keys;
  }

  #keys(): PlannedKey[] {
    const { inventory } = this.#source;
    const domain = this.subject;
    const namesOnly = (this.#flags & NAMES_ONLY) !== 0;
    const keys = this.#traefikKeys();
    const meta = inventory.redirectsMeta.get(domain);
    if (meta) keys.push(namesOnly ? { key: meta.key } : { key: meta.key, expected: meta.value, expiresAt: meta.expiresAt });
    const text = inventory.forwards.valueText(domain);
    const mapping = text === undefined ? inventory.forwards.get(domain)! : undefined;
    if (this.#flags & REVERSE) {
      const key = reverseKeyOf(inventory, domain);
      // A reverse key the plugin wrote holds the domain's name (see `ReverseTable`).
      keys.push(namesOnly ? { key } : { key, expected: Buffer.from(domain, 'utf8'), expiresAt: undefined });
    }
    if (namesOnly) keys.push({ key: mapping ? mapping.key : forwardKey(domain) });
    else if (mapping) keys.push({ key: mapping.key, expected: mapping.value, expiresAt: mapping.expiresAt });
    else keys.push({ key: forwardKey(domain), expected: Buffer.from(text!, 'utf8'), expiresAt: undefined });
    return keys;
  }

  /** How many keys `keys` holds, without building them: a run's summary counts a plan of 100,000 groups. */
  keyCount(): number {
    const { inventory } = this.#source;
    let count = 1; // its forward key
    if (this.#flags & TRAEFIK) {
      count += inventory.routers.countOf(routerName(this.subject));
      for (const name of this.#middlewares ?? []) count += inventory.middlewares.countOf(name);
    }
    if (inventory.redirectsMeta.has(this.subject)) count++;
    if (this.#flags & REVERSE) count++;
    return count;
  }

  /** The reverse key to read before the deletes, when the scan could not know it (`REVERSE_IF_NAMED`). */
  keysIfNamed(): PlannedKey[] {
    if (!(this.#flags & REVERSE_IF_NAMED) || this.#flags & NAMES_ONLY) return [];
    return [{ key: reverseKeyOf(this.#source.inventory, this.subject), onlyIf: Buffer.from(this.subject, 'utf8') }];
  }

  /**
   * Only a router or middleware another domain could register needs more than the
   * domain's own forward key, which the group checks itself.
   */
  #guards(): KeyGuard[] {
    if (!(this.#flags & TRAEFIK)) return [];
    const { inventory, limits } = this.#source;
    const holdsTraefik = this.#middlewares !== undefined || inventory.routers.has(routerName(this.subject));
    if (!holdsTraefik && !inventory.redirectsMeta.has(this.subject)) return [];
    // As when it was planned: key names are counted only where the store bounds a group's size.
    const traefikCount = limits.maxGroupSize === undefined ? 0 : this.#traefikKeys().length;
    const shared = (this.#flags & NAME_SHARED) !== 0;
    const room = guardRoom(limits, traefikCount + 3, shared);
    return registrationGuards(inventory, sanitizeDomain(this.subject), room, shared, this.subject) ?? [];
  }
}

/**
 * Keys a group deletes only if, read before the deletes, they hold what `onlyIf` says:
 * not in `keys`, since the plan does not know them to exist (`hydrateGroup` adds them).
 */
export function keysIfNamed(group: DeletionGroup): PlannedKey[] {
  return group instanceof DomainGroup ? group.keysIfNamed() : [];
}

/** How many keys a group holds: a stale domain's counted without building its key names. */
export function keyCountOf(group: DeletionGroup): number {
  return group instanceof DomainGroup ? group.keyCount() : group.keys.length;
}

/**
 * The group, its keys without values: what a run keeps once they are backed up. A stale
 * domain's group is itself, read without values from now on (it holds none: it builds
 * them from the scan's tables when read); a copy of each beside the plan's own was 8 MB of
 * a million-domain reap's peak, the moment its backup was written. Any other is copied.
 */
export function withoutValues(group: DeletionGroup): DeletionGroup {
  if (group instanceof DomainGroup) {
    group.dropValues();
    return group;
  }
  const { kind, subject, reason, guards } = group;
  return { kind, subject, reason, keys: group.keys.map(({ key }) => ({ key })), guards };
}

/**
 * The plan: which keys go, grouped so each group is checked and deleted as one, in the
 * order of DESIGN §4.5 (routers and middlewares, then reverse, then forward). Pure: the
 * same inventory and verdicts always give the same plan, dry run or not.
 */
export function planReap(
  inventory: Inventory,
  forwardVerdicts: ReadonlyMap<string, Verdict>,
  orphanReverseVerdicts: ReadonlyMap<string, Verdict>,
  brakeOptions: BrakeOptions = DEFAULT_BRAKE,
  limits: PlanLimits = {},
  /** Who gives each Traefik name, when the caller found them already (`ownersInSteps`). */
  owners: SanitizedOwners = sanitizedOwners(inventory),
): Plan {
  const groups: DeletionGroup[] = [];
  const kept: Plan['kept'] = [];
  const source: PlanSource = { inventory, limits };

  // A mapping kept as text always parses; one kept whole may not.
  const hasTarget = (domain: string) =>
    inventory.forwards.valueText(domain) !== undefined || inventory.forwards.get(domain)?.target !== undefined;
  const isReaped = (domain: string) => verdictStatus(forwardVerdicts, domain) === 'stale' && hasTarget(domain);
  // Verdicts name only mapped domains; a stale one is kept as its name alone.
  const staleDomains: string[] = [];
  for (const [domain, verdict] of verdictsToPlan(forwardVerdicts)) {
    if (verdict.status === 'stale' && hasTarget(domain)) staleDomains.push(domain);
  }
  staleDomains.sort((a, b) => (a < b ? -1 : 1));

  // Routers and redirect middlewares are named after the sanitized domain, so two
  // domains can share them; any domain that stays keeps them.
  // A count that overstates (two names of one hash) keeps an orphan: never a wrong delete.
  // A mapping whose domain holds a '/' keeps every Traefik key under the name of the part
  // before it: its own keys are there, read as keys of that name (`Inventory.pathDomains`).
  const pathDomainNames = new Map<string, string>();
  for (const domain of inventory.pathDomains) pathDomainNames.set(sanitizeDomain(domain.slice(0, domain.indexOf('/'))), domain);
  const produced = (sanitized: string): boolean => owners.count(sanitized) > 0 || pathDomainNames.has(sanitized);
  // Only the middlewares a stale domain may take are listed: those named after a reaped
  // domain (every stale domain is), found by a hash of its name, not by asking who owns
  // each middleware's name. A hash two names share lists one more, which no domain asks for.
  const reapedNames = new NameCounts(staleDomains.length);
  for (const domain of staleDomains) reapedNames.add(domain, true);
  const middlewaresBySanitized = new Map<string, string[]>();
  for (const name of inventory.middlewares.keys()) {
    const sanitized = inventory.middlewares.sanitizedDomainOf(name);
    if (reapedNames.count(sanitized, true) === 0) continue;
    const names = middlewaresBySanitized.get(sanitized);
    if (names) names.push(name);
    else middlewaresBySanitized.set(sanitized, [name]);
  }
  // Names several stale domains share go to the first of them.
  const sharedNamesTaken = new Set<string>();
  // A domain paired with its reverse key (nearly all) needs no look-up: that key names it.
  const lookedUp = new Set<string>();
  for (const domain of staleDomains) if (!inventory.forwards.isPaired(domain)) lookedUp.add(reverseKeyOf(inventory, domain));
  const reverses = inventory.reverses.findAll(lookedUp);

  for (const domain of staleDomains) {
    const sanitized = sanitizeDomain(domain);
    let flags = 0;
    let middlewares: string[] | undefined;
    // Every scanned domain of its Traefik name, this one included.
    const sharing = owners.of(sanitized, domain);
    let keeper: string | undefined;
    for (const other of sharing) if (!isReaped(other)) keeper = other;
    keeper ??= pathDomainNames.get(sanitized);
    if (keeper !== undefined) {
      kept.push({ subject: routerName(domain), reason: `router and redirect middlewares kept: ${keeper} uses the same name` });
    } else if (!sharedNamesTaken.has(sanitized)) {
      if (sharing.length > 1) sharedNamesTaken.add(sanitized);
      const names = middlewaresBySanitized.get(sanitized)?.sort() ?? [];
      const router = routerName(domain);
      // Key names are built only where the store bounds a group's size.
      const traefikCount =
        limits.maxGroupSize === undefined
          ? 0
          : (inventory.routers.get(router)?.length ?? 0) + names.reduce((sum, name) => sum + inventory.middlewares.get(name)!.length, 0);
      // The group builds its guards when they are read; here only whether it can have them all.
      const room = guardRoom(limits, traefikCount + 3, sharing.length > 1);
      const holdsTraefik = inventory.routers.has(router) || names.length > 0;
      if (holdsTraefik && tooManyToGuard(sanitized, room, domain)) {
        // Beside the mapping they do not fit. Once it is gone they are orphans, the router
        // and each middleware checked in a step of its own: if the largest of those fits with
        // a guard for every owner, the next run reaps them, and this run is partial.
        const largestPiece = Math.max(
          inventory.routers.get(router)?.length ?? 0,
          ...names.map((name) => inventory.middlewares.get(name)!.length),
        );
        if (!tooManyToGuard(sanitized, guardRoom(limits, largestPiece, false))) {
          kept.push({
            subject: routerName(domain),
            reason: `router and redirect middlewares kept this run: its ${traefikCount} keys and their guards are more than one atomic step of this store can check and delete beside its mapping; the next run reaps them as orphans`,
            rerun: true,
          });
        } else {
          kept.push({
            subject: routerName(domain),
            reason: `router and redirect middlewares kept: ${unfitReason(sanitized, traefikCount, room)}`,
          });
        }
      } else {
        flags |= TRAEFIK;
        if (sharing.length > 1) flags |= NAME_SHARED;
        if (names.length > 0) middlewares = names;
      }
    }

    if (inventory.forwards.isPaired(domain)) flags |= REVERSE;
    else {
      const reverseName = reverseKeyOf(inventory, domain);
      const reverse = reverses.get(reverseName);
      if (reverse && reverse.domain === domain) flags |= REVERSE;
      else if (reverse) kept.push({ subject: reverseName, reason: `reverse key kept: it names ${reverse.domain}, not ${domain}` });
      else if (!isDomainName(domain)) flags |= REVERSE_IF_NAMED;
    }

    groups.push(new DomainGroup(source, domain, forwardVerdicts.get(domain)!.reason, flags, middlewares));
  }

  // An orphan goes only while no domain that would own it is registered (DESIGN §4.8).
  const orphan = (
    kind: DeletionKind,
    subject: string,
    reason: string,
    keys: PlannedKey[],
    guards: KeyGuard[] | undefined,
    sanitized = '',
  ) => {
    if (guards) groups.push({ kind, subject, reason, keys, guards });
    else kept.push({ subject, reason: unfitReason(sanitized, keys.length, guardRoom(limits, keys.length, false)) });
  };
  // The table knows the names of the routers no forward mapping owned by hash once the
  // scan is complete (a collision looks owned: kept), and of any it was given by name.
  const orphanRouters = [...inventory.routers.knownNames()].filter((name) => !produced(name.slice('custom-'.length))).sort();
  for (const name of orphanRouters) {
    const sanitized = name.slice('custom-'.length);
    const keys = inventory.routers.get(name)!;
    orphan(
      'orphan-router',
      name,
      'no forward mapping produces this router',
      byName(keys),
      // An orphan's name no scanned domain gives (`produced`): none to look up.
      registrationGuards(inventory, sanitized, guardRoom(limits, keys.length, false), false),
      sanitized,
    );
  }
  // Orphans are few: listed as they are found, not after a copy of every name (or entry).
  const orphanMiddlewares: string[] = [];
  for (const name of inventory.middlewares.keys())
    if (!produced(inventory.middlewares.sanitizedDomainOf(name))) orphanMiddlewares.push(name);
  orphanMiddlewares.sort();
  for (const name of orphanMiddlewares) {
    const sanitized = inventory.middlewares.sanitizedDomainOf(name);
    const keys = inventory.middlewares.get(name)!;
    const guards = registrationGuards(inventory, sanitized, guardRoom(limits, keys.length, false), false);
    orphan('orphan-middleware', name, 'no forward mapping produces this middleware', byName(keys), guards, sanitized);
  }
  const orphanMetas: string[] = [];
  for (const domain of inventory.redirectsMeta.keys()) if (!inventory.forwards.has(domain)) orphanMetas.push(domain);
  for (const domain of orphanMetas.sort((a, b) => (a < b ? -1 : 1))) {
    orphan(
      'orphan-redirects-meta',
      redirectsMetaKey(domain),
      `no forward mapping for ${domain}`,
      expect([inventory.redirectsMeta.get(domain)!]),
      [forwardGuard(inventory, domain)],
    );
  }
  for (const reverse of orphanReverseCandidates(inventory)) {
    const verdict = orphanReverseVerdicts.get(reverse.key);
    if (verdict?.status === 'stale') {
      const reason = `no forward mapping back to it and ${verdict.reason}`;
      // The domain it names may be one this plan reaps: its group goes first (in plan order,
      // and a store that runs groups side by side chains those that share a key), so this
      // one is checked against the state that group leaves, no mapping. Checked against the
      // mapping the scan saw, it found its guard changed by this run's own delete and was
      // left for the next run; if that group is not applied, the mapping is still there and
      // this key stays.
      const guard: KeyGuard = isReaped(reverse.domain)
        ? { key: forwardKey(reverse.domain), expected: null }
        : forwardGuard(inventory, reverse.domain);
      orphan('orphan-reverse', reverse.key, reason, expect([reverse]), [guard]);
    }
  }

  const mappedDomains = inventory.forwards.size;
  const ratio = mappedDomains === 0 ? 0 : staleDomains.length / mappedDomains;
  const overLimit = mappedDomains >= brakeOptions.minDomains && ratio > brakeOptions.maxStaleRatio;
  const orphanReverse = orphanReverseOverLimit(groups, mappedDomains, brakeOptions);
  return {
    groups,
    kept,
    brake: {
      mappedDomains,
      staleDomains: staleDomains.length,
      ratio,
      maxStaleRatio: brakeOptions.maxStaleRatio,
      minDomains: brakeOptions.minDomains,
      forced: brakeOptions.force,
      tripped: (overLimit || orphanReverse !== undefined) && !brakeOptions.force,
      ...(orphanReverse ? { orphanReverse } : {}),
    },
  };
}

/** The brake's measure of orphan reverse keys (see `BrakeResult.orphanReverse`): undefined within the limit. */
export function orphanReverseOverLimit(
  groups: ReadonlyArray<Pick<DeletionGroup, 'kind'>>,
  mappedDomains: number,
  options: BrakeOptions,
): BrakeResult['orphanReverse'] {
  let reaped = 0;
  for (const group of groups) if (group.kind === 'orphan-reverse') reaped++;
  const ratio = reaped === 0 ? 0 : reaped / (mappedDomains + reaped);
  return reaped >= options.minDomains && ratio > options.maxStaleRatio ? { reaped, ratio } : undefined;
}

/** Whether the brake's limit on stale domains is what it is over (else its `orphanReverse`, or a refused sweep). */
export function overDomainLimit(brake: BrakeResult): boolean {
  return brake.mappedDomains >= brake.minDomains && brake.ratio > brake.maxStaleRatio;
}

/**
 * A group's keys with the values they are deleted against: router and middleware keys
 * take the values read just before the backup and the deletes; mappings keep the values
 * verified. A key gone since the scan needs no deleting; a key of another type is left
 * alone and said so (in `kept`). Undefined when none of its keys is left.
 */
export function hydrateGroup(
  group: DeletionGroup,
  read: ReadonlyMap<string, StoredEntry | undefined>,
  kept: Plan['kept'],
  /** `group.keys`, when the caller has them already: a stale domain's group builds them anew at every read. */
  plannedKeys: readonly PlannedKey[] = group.keys,
): DeletionGroup<ExpectedKey> | undefined {
  const keys: ExpectedKey[] = [];
  for (const planned of plannedKeys) {
    if (planned.expected !== undefined) {
      // The value stays the one verified; the expiry, when read now, is the current one
      // (the scan reads mappings' values without their expiries).
      const expiresAt = read.has(planned.key) ? read.get(planned.key)?.expiresAt : planned.expiresAt;
      keys.push({ key: planned.key, expected: planned.expected, expiresAt });
      continue;
    }
    const entry = read.get(planned.key);
    if (!entry) continue;
    if (entry.type !== 'string' || entry.value === undefined) {
      kept.push({ subject: planned.key, reason: `holds a ${entry.type}, the plugin writes strings; left alone` });
      continue;
    }
    keys.push({ key: planned.key, expected: entry.value, expiresAt: entry.expiresAt });
  }
  // Before the last key, the forward one, where a reverse key goes (DESIGN §4.5).
  for (const maybe of keysIfNamed(group)) {
    const entry = read.get(maybe.key);
    if (entry?.type === 'string' && maybe.onlyIf !== undefined && entry.value?.equals(maybe.onlyIf)) {
      keys.splice(Math.max(0, keys.length - 1), 0, { key: maybe.key, expected: maybe.onlyIf, expiresAt: entry.expiresAt });
    }
  }
  if (keys.length === 0) return undefined;
  const foreign = group.kind === 'orphan-router' ? notThePluginsRouter(group.subject, keys) : undefined;
  if (foreign !== undefined) {
    kept.push({ subject: group.subject, reason: `${foreign}: not a router the plugin wrote; left alone` });
    return undefined;
  }
  // Guards are built when read: the backup a slice is hydrated for never reads them, and a
  // domain of eight separators has 255 (the names that could register its router's name).
  return {
    kind: group.kind,
    subject: group.subject,
    reason: group.reason,
    keys,
    get guards() {
      return group.guards;
    },
  };
}

/** The plugin's `rule` (`Host(\`{domain}\`)`) and `service` (registerTraefikRouter). */
const HOST_RULE = /^Host\(`([^`]+)`\)$/;
const PLUGIN_SERVICE = 'noop@internal';

/**
 * Why a router no mapping produces is not the plugin's, if its values say so: the plugin
 * names a router after the domain of its `rule` and always routes to `noop@internal`. An
 * operator's own `custom-dashboard` (`Host(\`traefik.example.com\`)`, `api@internal`) was
 * reaped as an orphan. A router missing those keys (what the old script left: entry points
 * and the certificate resolver) is still the plugin's leftover.
 */
function notThePluginsRouter(router: string, keys: readonly ExpectedKey[]): string | undefined {
  const shown = (value: string) => (value.length > 80 ? `${value.slice(0, 80)}…` : value);
  for (const { key, expected } of keys) {
    if (key.endsWith(`/${router}/rule`)) {
      const rule = expected.toString('utf8');
      const domain = HOST_RULE.exec(rule)?.[1];
      if (domain === undefined || routerName(domain) !== router) return `its rule is ${shown(rule)}`;
    } else if (key.endsWith(`/${router}/service`)) {
      const service = expected.toString('utf8');
      if (service !== PLUGIN_SERVICE) return `its service is ${shown(service)}`;
    }
  }
  return undefined;
}

/** Fills in the values of a whole plan's keys (see `hydrateGroup`). */
export function hydratePlan(plan: Plan, read: ReadonlyMap<string, StoredEntry | undefined>): Plan<ExpectedKey> {
  const kept = [...plan.kept];
  const groups: Array<DeletionGroup<ExpectedKey>> = [];
  for (const group of plan.groups) {
    const hydrated = hydrateGroup(group, read, kept);
    if (hydrated) groups.push(hydrated);
  }
  return { ...plan, groups, kept };
}

/** The keys whose values `hydratePlan` needs. */
export function keysToHydrate(plan: Plan): string[] {
  return plan.groups.flatMap((group) => group.keys.filter((k) => k.expected === undefined).map((k) => k.key));
}

/** The keys whose values are known but whose expiries are read before the backup. */
export function keysToStamp(plan: Plan): string[] {
  return plan.groups.flatMap((group) => group.keys.filter((k) => k.expected !== undefined).map((k) => k.key));
}

/**
 * Each stale domain's group, by index in the plan. The planner lists domain groups first,
 * sorted by name, and a report asks for every one: a binary search over them needs no
 * table (a Map of 100,000 domains was about 6 MB of heap at the end of a reap, where its
 * memory peaks). A plan in any other order gets the table.
 */
export function groupIndexByDomain(plan: Plan | undefined): { get(domain: string): number | undefined } {
  const groups = plan?.groups ?? [];
  let domains = 0;
  while (domains < groups.length && groups[domains].kind === 'domain') {
    if (domains > 0 && !(groups[domains - 1].subject < groups[domains].subject)) break;
    domains++;
  }
  if (groups.some((group, i) => i >= domains && group.kind === 'domain')) {
    const index = new Map<string, number>();
    groups.forEach((group, i) => group.kind === 'domain' && index.set(group.subject, i));
    return index;
  }
  return {
    get(domain) {
      let low = 0;
      let high = domains - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const subject = groups[middle].subject;
        if (subject === domain) return middle;
        if (subject < domain) low = middle + 1;
        else high = middle - 1;
      }
      return undefined;
    },
  };
}
