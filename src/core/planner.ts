import type { ExpectedKey } from '../ports/key-value-store';
import type { Inventory, KeyValue, ReverseMapping } from './inventory';
import { forwardValue } from './mapping';
import { redirectsMetaKey, reverseKey, routerName, sanitizeDomain } from './keys';
import type { Claim, Verdict } from './verdict';

export type DeletionKind = 'domain' | 'orphan-router' | 'orphan-middleware' | 'orphan-redirects-meta' | 'orphan-reverse';

/** Keys deleted together, in this order, only if all still hold what was read. */
export interface DeletionGroup {
  kind: DeletionKind;
  /** The domain, router name, middleware name or key the group is about. */
  subject: string;
  reason: string;
  keys: ExpectedKey[];
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
}

export interface Plan {
  groups: DeletionGroup[];
  /** Keys a stale domain would have lost but keeps, and why. */
  kept: Array<{ subject: string; reason: string }>;
  brake: BrakeResult;
}

export const DEFAULT_BRAKE: BrakeOptions = { maxStaleRatio: 0.3, minDomains: 10, force: false };

/**
 * Reverse keys whose domain has no forward mapping pointing back at their repository.
 * Each is reaped only once its repository is verified not to claim the domain.
 */
export function orphanReverseCandidates(inventory: Inventory): ReverseMapping[] {
  return inventory.reverses.filter((reverse) => {
    const forward = inventory.forwards.get(reverse.domain);
    return !forward?.target || forwardValue(forward.target) !== forwardValue(reverse);
  });
}

export function reverseClaim(reverse: ReverseMapping): Claim {
  return { owner: reverse.owner, repo: reverse.repo, branch: reverse.branch, domain: reverse.domain };
}

function expect(entries: KeyValue[]): ExpectedKey[] {
  return entries.map(({ key, value, expiresAt }) => ({ key, expected: value, expiresAt }));
}

function sortedKeys(entries: KeyValue[]): KeyValue[] {
  return [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
): Plan {
  const groups: DeletionGroup[] = [];
  const kept: Plan['kept'] = [];

  const staleDomains = [...inventory.forwards.values()]
    .filter((mapping) => mapping.target && forwardVerdicts.get(mapping.domain)?.status === 'stale')
    .sort((a, b) => (a.domain < b.domain ? -1 : 1));
  const reaped = new Set(staleDomains.map((m) => m.domain));

  // Routers and redirect middlewares are named after the sanitized domain, so two
  // domains can share them; any domain that stays keeps them.
  const keptSanitized = new Map<string, string>();
  for (const domain of inventory.forwards.keys()) {
    if (!reaped.has(domain)) keptSanitized.set(sanitizeDomain(domain), domain);
  }
  const producedSanitized = new Set([...inventory.forwards.keys()].map(sanitizeDomain));
  const middlewaresBySanitized = new Map<string, string[]>();
  for (const [name, middleware] of inventory.middlewares) {
    middlewaresBySanitized.set(middleware.sanitizedDomain, [...(middlewaresBySanitized.get(middleware.sanitizedDomain) ?? []), name]);
  }
  const reversesByKey = new Map(inventory.reverses.map((reverse) => [reverse.key, reverse]));
  const sharedNamesTaken = new Set<string>();

  for (const mapping of staleDomains) {
    const target = mapping.target!;
    const sanitized = sanitizeDomain(mapping.domain);
    const traefikKeys: KeyValue[] = [];
    const keeper = keptSanitized.get(sanitized);
    if (keeper !== undefined) {
      kept.push({ subject: routerName(mapping.domain), reason: `router and redirect middlewares kept: ${keeper} uses the same name` });
    } else if (!sharedNamesTaken.has(sanitized)) {
      sharedNamesTaken.add(sanitized);
      traefikKeys.push(...sortedKeys(inventory.routers.get(routerName(mapping.domain)) ?? []));
      for (const name of (middlewaresBySanitized.get(sanitized) ?? []).sort()) {
        traefikKeys.push(...sortedKeys(inventory.middlewares.get(name)!.keys));
      }
    }
    const meta = inventory.redirectsMeta.get(mapping.domain);
    if (meta) traefikKeys.push(meta);

    const reverseName = reverseKey(target.owner, target.repo, target.branch);
    const reverse = reversesByKey.get(reverseName);
    const reverseKeys: KeyValue[] = [];
    if (reverse && reverse.domain === mapping.domain) reverseKeys.push(reverse);
    else if (reverse) kept.push({ subject: reverseName, reason: `reverse key kept: it names ${reverse.domain}, not ${mapping.domain}` });

    groups.push({
      kind: 'domain',
      subject: mapping.domain,
      reason: forwardVerdicts.get(mapping.domain)!.reason,
      keys: [...expect(traefikKeys), ...expect(reverseKeys), { key: mapping.key, expected: mapping.value, expiresAt: mapping.expiresAt }],
    });
  }

  for (const [name, keys] of [...inventory.routers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!producedSanitized.has(name.slice('custom-'.length))) {
      groups.push({ kind: 'orphan-router', subject: name, reason: 'no forward mapping produces this router', keys: expect(sortedKeys(keys)) });
    }
  }
  for (const [name, middleware] of [...inventory.middlewares].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!producedSanitized.has(middleware.sanitizedDomain)) {
      groups.push({ kind: 'orphan-middleware', subject: name, reason: 'no forward mapping produces this middleware', keys: expect(sortedKeys(middleware.keys)) });
    }
  }
  for (const [domain, meta] of [...inventory.redirectsMeta].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!inventory.forwards.has(domain)) {
      groups.push({ kind: 'orphan-redirects-meta', subject: redirectsMetaKey(domain), reason: `no forward mapping for ${domain}`, keys: expect([meta]) });
    }
  }
  for (const reverse of orphanReverseCandidates(inventory)) {
    const verdict = orphanReverseVerdicts.get(reverse.key);
    if (verdict?.status === 'stale') {
      groups.push({
        kind: 'orphan-reverse',
        subject: reverse.key,
        reason: `no forward mapping back to it and ${verdict.reason}`,
        keys: expect([reverse]),
      });
    }
  }

  const mappedDomains = inventory.forwards.size;
  const ratio = mappedDomains === 0 ? 0 : staleDomains.length / mappedDomains;
  const overLimit = mappedDomains >= brakeOptions.minDomains && ratio > brakeOptions.maxStaleRatio;
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
      tripped: overLimit && !brakeOptions.force,
    },
  };
}
