import type { Plan } from '../core/planner';
import type { ExpectedKey, KeyValueStore } from '../ports/key-value-store';

export type GroupOutcome = 'deleted' | 'changed';

/** Groups per store call: one Redis script run, one etcd transaction batch. */
export const APPLY_BATCH = 250;

/** Runs the plan's deletions, compare-and-delete, a batch of groups per store call. */
export async function applyPlan(store: KeyValueStore, plan: Plan<ExpectedKey>, signal?: AbortSignal): Promise<GroupOutcome[]> {
  const outcomes: GroupOutcome[] = [];
  for (let start = 0; start < plan.groups.length; start += APPLY_BATCH) {
    // Each batch is atomic per group; stopping between batches leaves nothing half-done.
    signal?.throwIfAborted();
    const batch = plan.groups.slice(start, start + APPLY_BATCH);
    outcomes.push(...(await store.deleteGroupsIfUnchanged(batch.map((group) => group.keys))));
  }
  return outcomes;
}
