import type { StoredEntry } from '../ports/key-value-store';
import { isPluginEntry } from './inventory';
import { classifyKey, forwardKey, redirectsMetaKey, routerName, routersRoot, sanitizeDomain } from './keys';

/** What `backup` (and `restore --domain`) pick out of a store or a file. */
export type Selection =
  { kind: 'plugin' } | { kind: 'all' } | { kind: 'prefixes'; prefixes: string[] } | { kind: 'domains'; domains: string[] };

/**
 * Whether a key belongs to a domain's key set: its forward mapping, a reverse key
 * naming it, its router and redirect middlewares (shared with any domain of the same
 * sanitized name) and its redirects_meta.
 */
export function belongsToDomain(entry: StoredEntry, domain: string, rootKey: string): boolean {
  const { key } = entry;
  if (key === forwardKey(domain) || key === redirectsMetaKey(domain)) return true;
  if (key.startsWith(`${routersRoot(rootKey)}${routerName(domain)}/`)) return true;
  const cls = classifyKey(key, rootKey);
  if (cls.kind === 'middleware') return cls.sanitizedDomain === sanitizeDomain(domain);
  return cls.kind === 'reverse' && isPluginEntry(cls, entry) && entry.value!.toString('utf8') === domain;
}

/** Whether a key (name only) could be selected; values are read only for these. */
export function mayBeSelected(key: string, selection: Selection, rootKey: string): boolean {
  if (selection.kind === 'all') return true;
  if (selection.kind === 'prefixes') return selection.prefixes.some((prefix) => key.startsWith(prefix));
  return classifyKey(key, rootKey).kind !== 'foreign';
}

export function isSelected(entry: StoredEntry, selection: Selection, rootKey: string): boolean {
  switch (selection.kind) {
    case 'all':
      return true;
    case 'prefixes':
      return selection.prefixes.some((prefix) => entry.key.startsWith(prefix));
    case 'plugin':
      return isPluginEntry(classifyKey(entry.key, rootKey), entry);
    case 'domains':
      return selection.domains.some((domain) => belongsToDomain(entry, domain, rootKey));
  }
}
