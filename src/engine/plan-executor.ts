import { BackupReader } from '../backup/reader';
import { hydratePlan, keysToHydrate, keysToStamp, type DeletionGroup, type Plan, type PlannedKey } from '../core/planner';
import type { ExpectedKey, KeyValueStore, StoredEntry } from '../ports/key-value-store';
import { applyBatch, applyBatches, applyGroups, type GroupOutcome } from './applier';

/** Groups hydrated per step: their values are in memory only while that step runs. */
export const HYDRATE_SLICE = 500;
/** Keys per read: the store pipelines the reads of one slice. */
const READ_BATCH = 1000;

/**
 * Hydrates a plan a slice of groups at a time (DESIGN §4.11 in docs/architecture.md):
 * `each` gets a slice with the values it read, and what is kept afterwards is the plan
 * with its key names and expiries only. A plan of 100,000 stale domains thus never holds
 * a million values at once.
 */
export async function hydrateInSlices(
  store: KeyValueStore,
  plan: Plan,
  each: (slice: Plan<ExpectedKey>) => Promise<void>,
  signal?: AbortSignal,
): Promise<Plan> {
  const groups: DeletionGroup[] = [];
  const kept = [...plan.kept];
  for (let start = 0; start < plan.groups.length; start += HYDRATE_SLICE) {
    signal?.throwIfAborted();
    const slice: Plan = { ...plan, groups: plan.groups.slice(start, start + HYDRATE_SLICE), kept: [] };
    const hydrated = hydratePlan(slice, await readAll(store, [...keysToHydrate(slice), ...keysToStamp(slice)]));
    await each(hydrated);
    kept.push(...hydrated.kept);
    for (const group of hydrated.groups)
      groups.push({ ...group, keys: group.keys.map(({ key, expiresAt }): PlannedKey => ({ key, expiresAt })) });
  }
  return { ...plan, groups, kept };
}

/**
 * Deletes what the finished backup holds, group by group of `plan` (which `hydrateInSlices`
 * returned while writing it): each key only if it still holds the bytes backed up. The
 * backup is read back whole first (trailer, count, checksum), so a reap deletes nothing
 * its backup cannot restore.
 */
export async function applyFromBackup(store: KeyValueStore, plan: Plan, backupPath: string, signal?: AbortSignal): Promise<GroupOutcome[]> {
  const reader = await BackupReader.verify(backupPath);
  const entries = reader.entries()[Symbol.asyncIterator]();
  const outcomes: GroupOutcome[] = [];
  // A batch's values are taken from the backup just before its store call.
  for (const batch of applyBatches(plan.groups)) {
    const groups: Array<DeletionGroup<ExpectedKey>> = [];
    for (const group of batch) {
      const keys: ExpectedKey[] = [];
      for (const planned of group.keys) keys.push(expectedFromBackup(planned, await entries.next(), backupPath));
      groups.push({ ...group, keys });
    }
    outcomes.push(...(await applyBatch(store, groups, signal)));
  }
  return outcomes;
}

function expectedFromBackup(planned: PlannedKey, next: IteratorResult<StoredEntry>, backupPath: string): ExpectedKey {
  const entry = next.done ? undefined : next.value;
  if (!entry || entry.key !== planned.key || entry.value === undefined) {
    throw new Error(`the backup ${backupPath} does not hold ${planned.key} where the plan has it; nothing more was deleted`);
  }
  return { key: entry.key, expected: entry.value, expiresAt: entry.expiresAt };
}

/** Deletes each hydrated slice at once: for a reap without a backup (--no-backup). */
export function applySlice(
  store: KeyValueStore,
  outcomes: GroupOutcome[],
  signal?: AbortSignal,
): (slice: Plan<ExpectedKey>) => Promise<void> {
  return async (slice) => {
    outcomes.push(...(await applyGroups(store, slice.groups, signal)));
  };
}

/** Reads keys in batches sent together: the store pipelines them. */
async function readAll(store: KeyValueStore, keys: string[]): Promise<Map<string, StoredEntry | undefined>> {
  const batches: string[][] = [];
  for (let start = 0; start < keys.length; start += READ_BATCH) batches.push(keys.slice(start, start + READ_BATCH));
  const entries = await Promise.all(batches.map((batch) => store.getMany(batch)));
  return new Map(batches.flatMap((batch, b) => batch.map((key, i): [string, StoredEntry | undefined] => [key, entries[b][i]])));
}
