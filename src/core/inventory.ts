import type { StoredEntry } from '../ports/key-value-store';
import type { GraceMark } from './grace';
import { isDomainName, reverseKey, routerName, type KeyClass } from './keys';
import { parseForwardValue, type RepoTarget } from './mapping';

/** A key the reaper may delete, with the exact bytes it read. */
export interface KeyValue {
  key: string;
  value: Buffer;
  expiresAt?: number;
}

export interface ForwardMapping {
  domain: string;
  key: string;
  value: Buffer;
  expiresAt?: number;
  /** Undefined when the value cannot be a mapping; `invalid` says why. */
  target?: RepoTarget;
  invalid?: string;
}

export interface ReverseMapping extends RepoTarget, KeyValue {
  /** The domain the reverse key names (its value). */
  domain: string;
}

/** Invalid mapping values are not anomalies: they are mappings with an `invalid` verdict. */
export type AnomalyKind = 'wrong-type' | 'disagreement' | 'collision';

export interface Anomaly {
  kind: AnomalyKind;
  key: string;
  detail: string;
}

export interface Inventory {
  rootKey: string;
  keysScanned: number;
  forwards: Map<string, ForwardMapping>;
  reverses: ReverseMapping[];
  /**
   * Router name → its key names; only `custom-…` routers. Values are read only for the
   * routers a plan deletes (see `hydratePlan`): most routers belong to live domains.
   */
  routers: Map<string, string[]>;
  /** Middleware name → its key names; only `redirects-{sanitized}-{n}` middlewares. */
  middlewares: Map<string, { sanitizedDomain: string; keys: string[] }>;
  redirectsMeta: Map<string, KeyValue>;
  /** The reaper's own grace-period marks, by domain. */
  graceMarks: Map<string, GraceMark>;
  /** Keys of a plugin shape that cannot be handled safely (wrong type and the like). */
  anomalies: Anomaly[];
}

export function emptyInventory(rootKey: string): Inventory {
  return {
    rootKey,
    keysScanned: 0,
    forwards: new Map(),
    reverses: [],
    routers: new Map(),
    middlewares: new Map(),
    redirectsMeta: new Map(),
    graceMarks: new Map(),
    anomalies: [],
  };
}

/** Which keys' values the scanner reads: mappings, redirects_meta and grace marks. */
export function needsValue(cls: KeyClass): boolean {
  return cls.kind === 'forward' || cls.kind === 'reverse' || cls.kind === 'redirects-meta' || cls.kind === 'grace-mark';
}

/** Records a router or middleware key by name; its value is read if a plan deletes it. */
export function addTraefikKey(inventory: Inventory, cls: KeyClass, key: string): void {
  if (cls.kind === 'router') {
    const keys = inventory.routers.get(cls.name);
    if (keys) keys.push(key);
    else inventory.routers.set(cls.name, [key]);
  } else if (cls.kind === 'middleware') {
    const group = inventory.middlewares.get(cls.name);
    if (group) group.keys.push(key);
    else inventory.middlewares.set(cls.name, { sanitizedDomain: cls.sanitizedDomain, keys: [key] });
  }
}

/**
 * Whether a key whose name looks like the plugin's really is: reverse keys share their
 * shape with cache entries and password hashes, which carry a TTL or no domain name.
 */
export function isPluginEntry(cls: KeyClass, entry: StoredEntry): boolean {
  if (cls.kind === 'foreign' || cls.kind === 'grace-mark') return false;
  if (cls.kind !== 'reverse') return true;
  return entry.type === 'string' && entry.value !== undefined && entry.expiresAt === undefined && isDomainName(entry.value.toString('utf8'));
}

/**
 * Adds one scanned key to the inventory. Returns the forward mapping it created, so the
 * caller can start verifying it while the scan goes on.
 */
export function addEntry(inventory: Inventory, cls: KeyClass, entry: StoredEntry): ForwardMapping | undefined {
  const { key, expiresAt } = entry;
  if (cls.kind === 'grace-mark') {
    if (entry.value !== undefined) inventory.graceMarks.set(cls.domain, { key, value: entry.value, since: Date.parse(entry.value.toString('utf8')) });
    return undefined;
  }
  if (!isPluginEntry(cls, entry)) return undefined;
  if (entry.type !== 'string' || entry.value === undefined) {
    inventory.anomalies.push({ kind: 'wrong-type', key, detail: `holds a ${entry.type}, the plugin writes strings; left alone` });
    if (cls.kind === 'forward') {
      const mapping: ForwardMapping = { domain: cls.domain, key, value: Buffer.alloc(0), invalid: `key holds a ${entry.type}, not a string` };
      inventory.forwards.set(cls.domain, mapping);
      return mapping;
    }
    return undefined;
  }
  const value = entry.value;
  switch (cls.kind) {
    case 'forward': {
      const parsed = parseForwardValue(value.toString('utf8'));
      const mapping: ForwardMapping = parsed.ok
        ? { domain: cls.domain, key, value, expiresAt, target: parsed.target }
        : { domain: cls.domain, key, value, expiresAt, invalid: parsed.reason };
      inventory.forwards.set(cls.domain, mapping);
      return mapping;
    }
    case 'reverse':
      inventory.reverses.push({ owner: cls.owner, repo: cls.repo, branch: cls.branch, key, value, expiresAt, domain: value.toString('utf8') });
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
export function findCrossAnomalies(inventory: Inventory): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const byRouter = new Map<string, string[]>();
  for (const domain of inventory.forwards.keys()) {
    const name = routerName(domain);
    byRouter.set(name, [...(byRouter.get(name) ?? []), domain]);
  }
  for (const [name, domains] of byRouter) {
    if (domains.length > 1) {
      anomalies.push({ kind: 'collision', key: name, detail: `router name shared by ${domains.sort().join(', ')}` });
    }
  }
  const reverseByKey = new Map(inventory.reverses.map((r) => [r.key, r]));
  for (const mapping of inventory.forwards.values()) {
    if (!mapping.target) continue;
    const { owner, repo, branch } = mapping.target;
    const reverseKeyName = reverseKey(owner, repo, branch);
    const reverse = reverseByKey.get(reverseKeyName);
    if (reverse && reverse.domain !== mapping.domain) {
      anomalies.push({ kind: 'disagreement', key: mapping.key, detail: `reverse key ${reverseKeyName} names ${reverse.domain}` });
    }
  }
  return anomalies;
}

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
  const forwards = [...inventory.forwards.values()];
  return {
    keysScanned: inventory.keysScanned,
    forward: forwards.filter((m) => m.target && m.target.branch === undefined).length,
    branchForward: forwards.filter((m) => m.target?.branch !== undefined).length,
    invalidForward: forwards.filter((m) => !m.target).length,
    reverse: inventory.reverses.filter((r) => r.branch === undefined).length,
    branchReverse: inventory.reverses.filter((r) => r.branch !== undefined).length,
    routers: inventory.routers.size,
    routerKeys: [...inventory.routers.values()].reduce((n, keys) => n + keys.length, 0),
    middlewares: inventory.middlewares.size,
    redirectsMeta: inventory.redirectsMeta.size,
    anomalies: inventory.anomalies.length,
  };
}
