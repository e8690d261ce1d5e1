import type { StoredEntry } from '../ports/key-value-store';
import { inPluginNamespace, isPluginEntry } from './inventory';
import {
  classifyKey,
  forwardKey,
  isInternationalDomainName,
  type KeyClass,
  redirectsMetaKey,
  ROUTER_NAME_PREFIX,
  routerName,
  routersRoot,
  sanitizeDomain,
} from './keys';

/** What `backup` (and `restore --domain`) pick out of a store or a file. */
export type Selection =
  { kind: 'plugin' } | { kind: 'all' } | { kind: 'prefixes'; prefixes: string[] } | { kind: 'domains'; domains: string[] };

/** The names a domain's key set is found by, made once per selection (they are matched against every key scanned). */
interface DomainKeyNames {
  domain: string;
  forward: string;
  redirectsMeta: string;
  routerPrefix: string;
  sanitized: string;
}

const namesBySelection = new WeakMap<Selection, { rootKey: string; names: DomainKeyNames[] }>();

function domainKeyNames(selection: Extract<Selection, { kind: 'domains' }>, rootKey: string): DomainKeyNames[] {
  const made = namesBySelection.get(selection);
  if (made?.rootKey === rootKey) return made.names;
  const names = selection.domains.map((domain) => ({
    domain,
    forward: forwardKey(domain),
    redirectsMeta: redirectsMetaKey(domain),
    routerPrefix: `${routersRoot(rootKey)}${routerName(domain)}/`,
    sanitized: sanitizeDomain(domain),
  }));
  namesBySelection.set(selection, { rootKey, names });
  return names;
}

/**
 * Whether a key may belong to a domain's key set by its name alone: its forward mapping,
 * its router and redirect middlewares (shared with any domain of the same sanitized name),
 * its redirects_meta, and any reverse key — which belongs only if its value names the
 * domain, so it must be read. Every other plugin key is left unread.
 */
function mayBelongToDomain(key: string, names: DomainKeyNames, cls: KeyClass): boolean {
  if (key === names.forward || key === names.redirectsMeta || key.startsWith(names.routerPrefix)) return true;
  if (cls.kind === 'middleware') return cls.sanitizedDomain === names.sanitized;
  return cls.kind === 'reverse';
}

/** Whether a key belongs to a domain's key set: `mayBelongToDomain`, and a reverse key naming the domain. */
function belongsToDomain(entry: StoredEntry, names: DomainKeyNames, cls: KeyClass): boolean {
  if (!mayBelongToDomain(entry.key, names, cls)) return false;
  return cls.kind !== 'reverse' || reverseNamedDomain(cls, entry) === names.domain;
}

/**
 * The domain a reverse key names, when it is one the plugin can have written: as the scan
 * takes them (`isPluginEntry`), or naming a domain outside ASCII (`isInternationalDomainName`),
 * which a stale domain's group deletes with it.
 */
function reverseNamedDomain(cls: KeyClass, entry: StoredEntry): string | undefined {
  if (isPluginEntry(cls, entry)) return entry.value!.toString('utf8');
  if (entry.type !== 'string' || entry.value === undefined || entry.expiresAt !== undefined) return undefined;
  const value = entry.value.toString('utf8');
  return isInternationalDomainName(value) ? value : undefined;
}

/** Whether a key (name only) could be selected; values are read only for these. */
export function mayBeSelected(key: string, selection: Selection, rootKey: string): boolean {
  if (selection.kind === 'all') return true;
  if (selection.kind === 'prefixes') return selection.prefixes.some((prefix) => key.startsWith(prefix));
  const cls = classifyKey(key, rootKey);
  if (cls.kind === 'foreign') return false;
  return selection.kind === 'plugin' || domainKeyNames(selection, rootKey).some((names) => mayBelongToDomain(key, names, cls));
}

export function isSelected(entry: StoredEntry, selection: Selection, rootKey: string): boolean {
  switch (selection.kind) {
    case 'all':
      return true;
    case 'prefixes':
      return selection.prefixes.some((prefix) => entry.key.startsWith(prefix));
    case 'plugin': {
      const cls = classifyKey(entry.key, rootKey);
      return cls.kind === 'reverse' ? reverseNamedDomain(cls, entry) !== undefined : isPluginEntry(cls, entry);
    }
    case 'domains': {
      const cls = classifyKey(entry.key, rootKey);
      return domainKeyNames(selection, rootKey).some((names) => belongsToDomain(entry, names, cls));
    }
  }
}

/**
 * Whether a key whose name is not UTF-8 (escaped), found by the selection's scans, falls in
 * the selection: `all` and `prefixes` take every key their scans find (a prefix scan finds
 * only keys under it; its escaped name would not match a prefix with a backslash or a byte
 * outside ASCII); the plugin's keys are those of its namespaces (it copies a Latin-1
 * `.pages` into a key byte for byte); a domain named on the command line is text, so no
 * such key is one of its keys.
 */
export function mayHoldUnnamedKey(selection: Selection, escapedName: string, rootKey: string): boolean {
  if (selection.kind === 'plugin') return inPluginNamespace(escapedName, rootKey);
  return selection.kind === 'all' || selection.kind === 'prefixes';
}

/**
 * The registration a plugin key of a backup belongs to, for a restore that keeps each
 * registration's keys together: the sanitized name its Traefik router is named by, which
 * its forward mapping, `redirects_meta`, reverse key (by the domain it names), router and
 * redirect middlewares share (as do the keys of any domain of the same sanitized name).
 * Undefined for a key that is not the plugin's, restored on its own.
 */
export function registrationOf(entry: StoredEntry, rootKey: string): string | undefined {
  const cls = classifyKey(entry.key, rootKey);
  if (cls.kind === 'reverse') {
    const named = reverseNamedDomain(cls, entry);
    return named === undefined ? undefined : sanitizeDomain(named);
  }
  if (!isPluginEntry(cls, entry)) return undefined;
  switch (cls.kind) {
    case 'forward':
    case 'redirects-meta':
      return sanitizeDomain(cls.domain);
    case 'router':
      return cls.name.startsWith(ROUTER_NAME_PREFIX) ? cls.name.slice(ROUTER_NAME_PREFIX.length) : undefined;
    case 'middleware':
      return cls.sanitizedDomain;
    default:
      return undefined;
  }
}
