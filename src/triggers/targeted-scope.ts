import { addEntry, addTraefikKey, emptyInventory, type ForwardMapping, type Inventory } from '../core/inventory';
import { graceMarkKey } from '../core/grace';
import {
  domainsSanitizedAs,
  forwardKey,
  keyClassifier,
  middlewaresRoot,
  redirectsMetaKey,
  reverseKey,
  routerName,
  routersRoot,
  sanitizeDomain,
} from '../core/keys';
import { orphanReverseOverLimit, type BrakeOptions, type Plan } from '../core/planner';
import type { RunScope } from '../engine/engine';
import type { KeyValueStore, StoredEntry } from '../ports/key-value-store';
import type { RepoIndex } from './repo-index';
import { repoId } from '../core/mapping';
import { GONE_REASON } from '../core/verdict';

/** A repository to re-verify: all its mappings, or those of some branches. */
export interface ScopeTarget {
  owner: string;
  repo: string;
  branches?: ReadonlySet<string>;
  /** The delivery showed `.pages` written on the default branch: Forgejo answering it is gone contradicts it. */
  pagesWritten?: boolean;
}

/**
 * Router sub-keys the plugin writes (`registerTraefikRouter`), read by name: on Redis a
 * prefix scan walks the whole keyspace, which a trigger must not do. A key of another
 * name is left for the sweep, which enumerates every router prefix and reaps the rest as
 * an orphan router under the same guards.
 */
const ROUTER_LEAVES = ['rule', 'service', 'priority', 'tls/certResolver', 'tls/options'];
/** Entry points and middlewares are numbered lists: read this many beyond what is expected. */
const LIST_PROBE = 4;
const MIDDLEWARE_LEAVES = ['redirectRegex/regex', 'redirectRegex/replacement', 'redirectRegex/permanent'];
/** The most `redirects_meta` counts believed; more is left for the sweep. */
const MAX_REDIRECTS = 256;
/**
 * Domains sharing a router name are read so the planner sees who else owns it; a name
 * shared by more (2^dashes) is not touched by a trigger: its domain's router waits for the sweep.
 */
const MAX_NAME_OWNERS = 64;

/**
 * A run over the mappings of a few repositories, found without a keyspace scan: the
 * plugin's reverse keys (`{owner}:{repo}`, `{owner}:{repo}:branch:{b}`) and the sweep's
 * index name the domains; their forward keys, redirect metadata, grace marks and known
 * router and middleware keys are read with a few `getMany` calls. Only forward mappings
 * that point at a target repository are verified.
 */
export function targetedScope(options: {
  targets: ScopeTarget[];
  index: RepoIndex;
  brake: BrakeOptions;
  /** Domains reaped by triggers since the last sweep the brake allowed: counted by the brake. */
  reapedSinceSweep: number;
  /** The last sweep was refused by the brake: a triggered run deletes nothing either (unless forced). */
  sweepRefused?: boolean;
}): RunScope {
  const written = new Set(options.targets.filter((t) => t.pagesWritten).map((t) => repoId(t.owner, t.repo)));
  return {
    collect: (store, rootKey, onForward) => collectTargets(store, rootKey, options.targets, options.index, onForward),
    // A push that just wrote `.pages`, answered 404 for it: the answer is wrong (another
    // Forgejo at --forgejo-host, a token that lost access), not the site. Each such run
    // would reap up to the brake's share before anything stopped it; it is left to the
    // sweep, whose brake sees the whole store.
    contradicts: (claim, verdict) =>
      verdict.status === 'stale' && verdict.reason === GONE_REASON && written.has(repoId(claim.owner, claim.repo))
        ? `Forgejo answered that ${claim.owner}/${claim.repo}'s .pages is gone (404), but the push that triggered this run wrote it; left for the next sweep (check --forgejo-host and --forgejo-token)`
        : undefined,
    brake: (plan: Plan) => {
      const mappedDomains = Math.max(options.index.mappedDomains(), plan.brake.mappedDomains);
      const staleDomains = plan.brake.staleDomains + options.reapedSinceSweep;
      const ratio = mappedDomains === 0 ? 0 : staleDomains / mappedDomains;
      const overLimit = mappedDomains >= options.brake.minDomains && ratio > options.brake.maxStaleRatio;
      // Orphan reverse keys too, against the whole store, not the few domains collected.
      const orphanReverse = orphanReverseOverLimit(plan.groups, mappedDomains, options.brake);
      const { orphanReverse: _onTheCollected, ...brake } = plan.brake;
      const result = {
        ...brake,
        mappedDomains,
        staleDomains,
        ratio,
        tripped: (overLimit || orphanReverse !== undefined) && !options.brake.force,
        ...(orphanReverse ? { orphanReverse } : {}),
      };
      if (options.sweepRefused && !options.brake.force && plan.groups.length > 0) return { ...result, tripped: true, sweepRefused: true };
      return result;
    },
  };
}

export async function collectTargets(
  store: KeyValueStore,
  rootKey: string,
  targets: ScopeTarget[],
  index: RepoIndex,
  onForward: (mapping: ForwardMapping) => void,
): Promise<Inventory> {
  const inventory = emptyInventory(rootKey);
  const classify = keyClassifier(rootKey);
  const read = new Set<string>();
  const readKeys = async (keys: string[]): Promise<StoredEntry[]> => {
    const fresh = [...new Set(keys)].filter((key) => !read.has(key));
    fresh.forEach((key) => read.add(key));
    if (fresh.length === 0) return [];
    const entries = await store.getMany(fresh);
    inventory.keysScanned += fresh.length;
    return entries.filter((entry): entry is StoredEntry => entry !== undefined);
  };
  const wanted = new Map(targets.map((target) => [repoId(target.owner, target.repo), target]));
  const claims = (mapping: ForwardMapping): boolean => {
    const target = mapping.target && wanted.get(repoId(mapping.target.owner, mapping.target.repo));
    if (!target) return false;
    return target.branches === undefined || (mapping.target!.branch !== undefined && target.branches.has(mapping.target!.branch));
  };

  // 1. The reverse keys the plugin wrote for the repositories, and the sweep's index.
  const domains = new Set<string>();
  const reverseNames: string[] = [];
  for (const target of targets) {
    for (const [owner, repo] of spellings(target.owner, target.repo)) {
      if (target.branches === undefined) reverseNames.push(reverseKey(owner, repo));
      else for (const branch of target.branches) reverseNames.push(reverseKey(owner, repo, branch));
    }
    for (const domain of index.domains(target.owner, target.repo, target.branches ?? undefined)) domains.add(domain);
  }
  // A branch delivery re-verifies only that branch: a reverse key of another branch is
  // not the delivery's business.
  const addWantedReverse = (entry: StoredEntry) => {
    const cls = classify(entry.key);
    if (cls.kind !== 'reverse') return;
    const target = wanted.get(repoId(cls.owner, cls.repo));
    if (target !== undefined && (target.branches === undefined || (cls.branch !== undefined && target.branches.has(cls.branch))))
      addEntry(inventory, cls, entry);
  };
  for (const entry of await readKeys(reverseNames)) addWantedReverse(entry);
  for (const reverse of inventory.reverses) domains.add(reverse.domain);

  // 2. Each domain's forward key, redirect metadata and grace mark.
  const domainList = [...domains].sort();
  const forwardEntries = await readKeys(
    domainList.flatMap((domain) => [forwardKey(domain), redirectsMetaKey(domain), graceMarkKey(domain)]),
  );
  for (const entry of forwardEntries) addEntry(inventory, classify(entry.key), entry);
  // The reverse key of each mapping found, as its forward value spells the repository
  // (branch mappings' reverse keys have no name a delivery could give).
  const mappingReverses = [...inventory.forwards.values()]
    .filter(claims)
    .map((m) => reverseKey(m.target!.owner, m.target!.repo, m.target!.branch));
  for (const entry of await readKeys(mappingReverses)) addWantedReverse(entry);

  // 3. Traefik keys by their known names, and the forward keys of every domain that
  //    shares their names, so the planner keeps a router another domain still uses.
  const traefikKeys: string[] = [];
  const owners: string[] = [];
  for (const domain of domainList) {
    const sanitized = sanitizeDomain(domain);
    const sharing = domainsSanitizedAs(sanitized, MAX_NAME_OWNERS);
    if (!sharing) continue;
    owners.push(...sharing.map(forwardKey));
    const router = `${routersRoot(rootKey)}${routerName(domain)}/`;
    const count = redirectCount(inventory.redirectsMeta.get(domain)?.value);
    traefikKeys.push(...ROUTER_LEAVES.map((leaf) => router + leaf));
    for (let i = 0; i < 2 + LIST_PROBE; i++) traefikKeys.push(`${router}entryPoints/${i}`);
    for (let i = 0; i < count + 1 + LIST_PROBE; i++) traefikKeys.push(`${router}middlewares/${i}`);
    for (let i = 0; i < count; i++) {
      for (const leaf of MIDDLEWARE_LEAVES) traefikKeys.push(`${middlewaresRoot(rootKey)}redirects-${sanitized}-${i}/${leaf}`);
    }
  }
  const [ownerEntries, traefikEntries] = await Promise.all([readKeys(owners), readKeys(traefikKeys)]);
  for (const entry of ownerEntries) addEntry(inventory, classify(entry.key), entry);
  for (const entry of traefikEntries) addTraefikKey(inventory, classify(entry.key), entry.key);

  // Verify only what the deliveries named; other domains are context for the planner.
  for (const mapping of [...inventory.forwards.values()].sort((a, b) => (a.domain < b.domain ? -1 : 1))) {
    if (claims(mapping)) onForward(mapping);
  }
  return inventory;
}

/**
 * How the plugin may have spelled a repository in its reverse key: the owner comes from
 * the host name, which browsers send lower-cased, and the repository from the path as it
 * was typed; a delivery names both as Forgejo spells them (`Late/Site` for `late:site`).
 * Forgejo's names are case-insensitive, so each spelling is the same repository.
 */
function spellings(owner: string, repo: string): Array<[string, string]> {
  const all: Array<[string, string]> = [
    [owner, repo],
    [owner.toLowerCase(), repo],
    [owner.toLowerCase(), repo.toLowerCase()],
  ];
  return all.filter(([o, r], i) => all.findIndex(([o2, r2]) => o2 === o && r2 === r) === i);
}

function redirectCount(value: Buffer | undefined): number {
  const match = value && /^count=(\d{1,6})$/.exec(value.toString('utf8'));
  return match ? Math.min(Number(match[1]), MAX_REDIRECTS) : 0;
}
