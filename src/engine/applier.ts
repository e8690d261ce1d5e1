import type { DeletionGroup, Plan } from '../core/planner';
import type { ExpectedKey, KeyValueStore } from '../ports/key-value-store';

export type GroupOutcome = 'deleted' | 'changed';

/** Groups per store call at most: one Redis script run, one etcd transaction batch. */
export const APPLY_BATCH = 250;
/** Keys and guards per store call at most, so one script run holds the store briefly. */
export const APPLY_BATCH_WEIGHT = 2000;

const weight = (group: DeletionGroup<ExpectedKey>) => group.keys.length + group.guards.length;

/** Consecutive groups, in plan order, each run small enough for one store call. */
export function applyBatches(groups: Array<DeletionGroup<ExpectedKey>>): Array<Array<DeletionGroup<ExpectedKey>>> {
  const batches: Array<Array<DeletionGroup<ExpectedKey>>> = [];
  let batch: Array<DeletionGroup<ExpectedKey>> = [];
  let batchWeight = 0;
  for (const group of groups) {
    if (batch.length > 0 && (batch.length >= APPLY_BATCH || batchWeight + weight(group) > APPLY_BATCH_WEIGHT)) {
      batches.push(batch);
      batch = [];
      batchWeight = 0;
    }
    batch.push(group);
    batchWeight += weight(group);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Runs the plan's deletions, compare-and-delete with the groups' guards, a batch per store call. */
export async function applyPlan(store: KeyValueStore, plan: Plan<ExpectedKey>, signal?: AbortSignal): Promise<GroupOutcome[]> {
  const outcomes: GroupOutcome[] = [];
  for (const batch of applyBatches(plan.groups)) {
    // Each batch is atomic per group; stopping between batches leaves nothing half-done.
    signal?.throwIfAborted();
    outcomes.push(...(await store.deleteGroupsIfUnchanged(batch.map(({ keys, guards }) => ({ keys, guards })))));
  }
  return outcomes;
}
