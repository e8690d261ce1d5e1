/**
 * Hand-built inventories, verdict maps, run statuses and a scanning store for the pure tests.
 * Not a test file itself (jest only runs `*.test.ts`).
 */
import { addEntry, emptyInventory, type Inventory } from '../../src/core/inventory';
import { classifyKey } from '../../src/core/keys';
import { invalid, live, stale, unknown, type Verdict, type VerdictStatus } from '../../src/core/verdict';
import type { KeyValueStore, StoredEntry } from '../../src/ports/key-value-store';
import type { RunStatus } from '../../src/report/run-status';

export type KeyValues = Record<string, string | Buffer>;

const bytes = (value: string | Buffer): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));

/** A run that completed with nothing counted, but what `overrides` sets. */
export function runStatus(overrides: Partial<RunStatus> = {}): RunStatus {
  return {
    startedAt: 0,
    finishedAt: 0,
    completed: true,
    exitCode: 0,
    domainsScanned: 0,
    live: 0,
    stale: 0,
    pending: 0,
    reaped: 0,
    orphansReaped: 0,
    keysDeleted: 0,
    errors: {},
    ...overrides,
  };
}

/** The inventory a scan of exactly these string keys would build. */
export function inventoryOf(keyValues: KeyValues, rootKey = 'traefik'): Inventory {
  return inventoryFrom(
    Object.entries(keyValues).map(([key, value]) => ({ key, type: 'string', value: bytes(value) })),
    rootKey,
  );
}

/** Like `inventoryOf`, for entries that need a type or an expiry. */
export function inventoryFrom(entries: StoredEntry[], rootKey = 'traefik'): Inventory {
  const inventory = emptyInventory(rootKey);
  for (const entry of entries) {
    inventory.keysScanned++;
    addEntry(inventory, classifyKey(entry.key, rootKey), entry);
  }
  return inventory;
}

/** The router keys the plugin writes for a domain (as in pages.go registerTraefikRouter). */
export function routerKeys(domain: string, rootKey = 'traefik'): KeyValues {
  const prefix = `${rootKey}/http/routers/custom-${domain.replaceAll('.', '-')}/`;
  return {
    [`${prefix}rule`]: `Host(\`${domain}\`)`,
    [`${prefix}entryPoints/0`]: 'web',
    [`${prefix}entryPoints/1`]: 'websecure',
    [`${prefix}middlewares/0`]: 'pages-server@file',
    [`${prefix}service`]: 'noop@internal',
    [`${prefix}tls/certResolver`]: 'letsencrypt-http',
    [`${prefix}priority`]: '10',
  };
}

/** A redirect middleware's keys (redirects.go). */
export function middlewareKeys(domain: string, n: number, rootKey = 'traefik'): KeyValues {
  const prefix = `${rootKey}/http/middlewares/redirects-${domain.replaceAll('.', '-')}-${n}/redirectRegex/`;
  return {
    [`${prefix}regex`]: `^https?://${domain}/old-${n}(.*)`,
    [`${prefix}replacement`]: `https://${domain}/new-${n}$1`,
    [`${prefix}permanent`]: 'true',
  };
}

/** Every key of a plain site: forward, reverse, router. */
export function siteKeys(owner: string, repo: string, domain: string): KeyValues {
  return { [`custom_domain:${domain}`]: `${owner}:${repo}`, [`${owner}:${repo}`]: domain, ...routerKeys(domain) };
}

const MAKE: Record<VerdictStatus, (reason: string) => Verdict> = { live, stale, unknown, invalid };

/** `{ 'a.com': 'stale' }` → a verdict map with a reason naming the status. */
export function verdicts(statuses: Record<string, VerdictStatus>): Map<string, Verdict> {
  return new Map(Object.entries(statuses).map(([subject, status]) => [subject, MAKE[status](`${status} because test`)]));
}

/** Sorted key names of a record. */
export const sortedNames = (keyValues: KeyValues): string[] => Object.keys(keyValues).sort();

/** A store that scans its keys in the given order, `batch` at a time, noting each scan's prefix. */
export function scanningStore(keyValues: KeyValues, batch = 3): KeyValueStore & { prefixes: string[] } {
  const prefixes: string[] = [];
  const keys = Object.keys(keyValues);
  return {
    prefixes,
    async *scan(prefix: string) {
      prefixes.push(prefix);
      const matching = keys.filter((key) => key.startsWith(prefix));
      for (let i = 0; i < matching.length; i += batch) yield matching.slice(i, i + batch);
    },
    async getMany(names: string[]) {
      return names.map((key) => (key in keyValues ? { key, type: 'string', value: Buffer.from(keyValues[key]) } : undefined));
    },
  } as unknown as KeyValueStore & { prefixes: string[] };
}
