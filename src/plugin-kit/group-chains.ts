import { withAnsweredGroups, type GroupDeleteOutcome, type GuardedGroup } from '../ports/key-value-store';
import { mapLimited } from './map-limited';

/**
 * The indexes of `groups` as chains: groups that name a key in common, as a key or as a
 * guard, are in one chain, in the caller's order; no two chains share a key.
 */
export function chainsSharingKeys(groups: readonly GuardedGroup[]): number[][] {
  const parent = groups.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const firstNaming = new Map<string, number>();
  groups.forEach((group, g) => {
    for (const { key } of group.keys) join(key, g);
    for (const { key } of group.guards ?? []) join(key, g);
  });
  function join(key: string, g: number): void {
    const other = firstNaming.get(key);
    if (other === undefined) firstNaming.set(key, g);
    else parent[find(g)] = find(other);
  }
  return [...groupIndexes(groups.length, find).values()];
}

/** The indexes `0 … count - 1` grouped by `keyOf`, each group in ascending order. */
export function groupIndexes<K>(count: number, keyOf: (i: number) => K): Map<K, number[]> {
  const grouped = new Map<K, number[]>();
  for (let i = 0; i < count; i++) {
    const key = keyOf(i);
    const group = grouped.get(key);
    if (group) group.push(i);
    else grouped.set(key, [i]);
  }
  return grouped;
}

/**
 * `deleteGroup` for each group, for a store whose atomic step is one group (an etcd
 * transaction, a Redis Cluster group): groups that share a key run one after the other,
 * in the caller's order, the others side by side. In a plan, a group may be guarded by a
 * key an earlier group deletes (two stale domains that share a router name: the first
 * takes the router while the other's forward key is as the scan saw it); run side by
 * side, whichever went first would decide, and the router could stay for another run.
 */
export async function deleteInChains(
  groups: readonly GuardedGroup[],
  concurrency: number,
  deleteGroup: (group: GuardedGroup) => Promise<GroupDeleteOutcome>,
): Promise<GroupDeleteOutcome[]> {
  const outcomes: Array<GroupDeleteOutcome | undefined> = groups.map(() => undefined);
  // Once a step fails no other starts, and the call fails only once those in flight have
  // answered: the other lanes went on deleting after the run had said how far it got.
  let failure: { error: unknown } | undefined;
  await mapLimited(chainsSharingKeys(groups), concurrency, async (chain) => {
    for (const g of chain) {
      if (failure) return;
      try {
        outcomes[g] = await deleteGroup(groups[g]);
      } catch (error) {
        failure ??= { error };
        return;
      }
    }
  });
  if (failure) throw withAnsweredGroups(failure.error, outcomes);
  return outcomes as GroupDeleteOutcome[];
}
