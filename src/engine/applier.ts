import type { DeletionGroup, PlannedKey } from '../core/planner';
import type { ExpectedKey, KeyValueStore } from '../ports/key-value-store';

export type GroupOutcome = 'deleted' | 'changed';

/** Groups per store call at most: one Redis script run, one etcd transaction batch. */
export const APPLY_BATCH = 250;
/**
 * Keys and guards per store call at most: a Redis script run checks 200–400 of them a
 * millisecond (at a million domains; at ten thousand), and holds the server meanwhile.
 */
export const APPLY_BATCH_WEIGHT = 250;

const weight = (group: DeletionGroup<PlannedKey>) => group.keys.length + group.guards.length;

/** Consecutive groups, in plan order, each run small enough for one store call. */
export function applyBatches<K extends PlannedKey>(groups: Array<DeletionGroup<K>>): Array<Array<DeletionGroup<K>>> {
  const batches: Array<Array<DeletionGroup<K>>> = [];
  let batch: Array<DeletionGroup<K>> = [];
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

/**
 * One store call: each group of the batch compare-and-delete with its guards. Stopping
 * between batches leaves nothing half-done, so the signal is checked before each.
 */
export function applyBatch(store: KeyValueStore, batch: Array<DeletionGroup<ExpectedKey>>, signal?: AbortSignal): Promise<GroupOutcome[]> {
  signal?.throwIfAborted();
  return store.deleteGroupsIfUnchanged(batch.map(({ keys, guards }) => ({ keys, guards })));
}

/** Deletes groups compare-and-delete with their guards, a batch per store call. */
export async function applyGroups(
  store: KeyValueStore,
  groups: Array<DeletionGroup<ExpectedKey>>,
  signal?: AbortSignal,
): Promise<GroupOutcome[]> {
  const outcomes: GroupOutcome[] = [];
  for (const batch of applyBatches(groups)) outcomes.push(...(await applyBatch(store, batch, signal)));
  return outcomes;
}
