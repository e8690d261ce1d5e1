import { BackupReader } from '../backup/reader';
import { hydrateGroup, keysIfNamed, withoutValues, type DeletionGroup, type Plan, type PlannedKey } from '../core/planner';
import type { ExpectedKey, KeyValueStore, StoredEntry } from '../ports/key-value-store';
import { applyBatches, applyGroups, applyInOrder, type DeletedSoFar, type GroupOutcome } from './applier';

/**
 * Groups hydrated per step: their values are in memory only while that step, and the one
 * before it (which reads them ahead), runs. Two slices of 250 hold what one of 500 held
 * before the read ahead: a million-domain reap peaked at 159 MB with two of 500, at 155 MB
 * with two of 250, its backup step as fast (5.6–5.7 s).
 */
export const HYDRATE_SLICE = 250;
/** Keys per read: the store pipelines the reads of one slice. */
const READ_BATCH = 1000;

/**
 * Hydrates a plan a slice of groups at a time (DESIGN §4.11 in docs/architecture.md):
 * `each` gets a slice with the values it read, and what is kept afterwards is the plan
 * with its key names only. A plan of 100,000 stale domains thus never holds a million
 * values at once: a slice's values are dropped once `each` is done with them. The plan
 * given is spent: a stale domain's group, once hydrated, is the returned plan's too, and
 * reads its keys without values (`withoutValues`).
 *
 * The next slice's values are read while `each` handles this one: read one after the
 * other, a reap of 100,000 domains waited for the store a quarter of the time it spent
 * writing its backup. So at most two slices' values are held. A read that fails is
 * reported when its slice's turn comes, once `each` is done with the slice before it.
 */
export async function hydrateInSlices(
  store: KeyValueStore,
  plan: Plan,
  each: (slice: Plan<ExpectedKey>) => Promise<void>,
  signal?: AbortSignal,
): Promise<Plan> {
  const groups: DeletionGroup[] = [];
  const kept = [...plan.kept];
  let upcoming = plan.groups.length > 0 ? readSlice(store, plan.groups, 0) : undefined;
  while (upcoming) {
    signal?.throwIfAborted();
    const { start, slice, planned } = upcoming;
    const read = await upcoming.read;
    signal?.throwIfAborted();
    const next = start + HYDRATE_SLICE;
    upcoming = next < plan.groups.length ? readSlice(store, plan.groups, next) : undefined;
    const hydrated: Array<DeletionGroup<ExpectedKey>> = [];
    const sliceKept: Plan['kept'] = [];
    const names: DeletionGroup[] = [];
    slice.forEach((group, i) => {
      const full = hydrateGroup(group, read, sliceKept, planned[i]);
      if (!full) return;
      hydrated.push(full);
      // Hydration only drops keys, but for those it adds when read (`keysIfNamed`): a group
      // that lost none and can add none is the planned group, without values.
      names.push(
        full.keys.length === planned[i].length && keysIfNamed(group).length === 0
          ? withoutValues(group)
          : {
              kind: full.kind,
              subject: full.subject,
              reason: full.reason,
              keys: full.keys.map(({ key }) => ({ key })),
              guards: full.guards,
            },
      );
    });
    await each({ ...plan, groups: hydrated, kept: sliceKept });
    kept.push(...sliceKept);
    groups.push(...names);
  }
  return { ...plan, groups, kept };
}

interface SliceRead {
  start: number;
  slice: DeletionGroup[];
  /** Each group's keys as planned, read once (a stale domain's group builds them at every read). */
  planned: PlannedKey[][];
  read: Promise<Map<string, StoredEntry | undefined>>;
}

/** Sends the reads of the slice at `start`; awaited in its turn (a failure surfaces there). */
function readSlice(store: KeyValueStore, all: readonly DeletionGroup[], start: number): SliceRead {
  const slice = all.slice(start, start + HYDRATE_SLICE);
  const planned = slice.map((group) => group.keys);
  // Keys without a value first, then the mappings, whose expiries are read again.
  const toRead = planned.flatMap((keys) => keys.filter((k) => k.expected === undefined).map((k) => k.key));
  for (const group of slice) for (const k of keysIfNamed(group)) toRead.push(k.key);
  for (const keys of planned) for (const k of keys) if (k.expected !== undefined) toRead.push(k.key);
  const read = readAll(store, toRead);
  read.catch(() => {});
  return { start, slice, planned, read };
}

/**
 * Deletes what the finished backup holds, group by group of `plan` (which `hydrateInSlices`
 * returned while writing it): each key only if it still holds the bytes backed up. The
 * backup is read back whole first (trailer, count, checksum), so a reap deletes nothing
 * its backup cannot restore.
 */
export async function applyFromBackup(
  store: KeyValueStore,
  plan: Plan,
  backupPath: string,
  signal?: AbortSignal,
  outcomes: GroupOutcome[] = [],
  tally?: DeletedSoFar,
): Promise<GroupOutcome[]> {
  const reader = await BackupReader.verify(backupPath);
  return applyInOrder(store, withBackedUpValues(applyBatches(plan.groups), reader.entries(), backupPath), signal, outcomes, tally);
}

/** Each batch with its keys' values taken from the backup, in plan order, as it is made. */
async function* withBackedUpValues(
  batches: Iterable<DeletionGroup[]>,
  backedUp: AsyncIterable<StoredEntry>,
  backupPath: string,
): AsyncGenerator<Array<DeletionGroup<ExpectedKey>>> {
  const entries = backedUp[Symbol.asyncIterator]();
  try {
    for (const batch of batches) {
      const groups: Array<DeletionGroup<ExpectedKey>> = [];
      for (const group of batch) {
        const keys: ExpectedKey[] = [];
        for (const planned of group.keys) keys.push(expectedFromBackup(planned, await entries.next(), backupPath));
        groups.push({ ...group, keys });
      }
      yield groups;
    }
  } finally {
    // Entries are taken one at a time, not by a loop that would end the reading itself: a
    // failure (a store call, an interruption, a key the backup does not hold) stops it
    // mid-file, and the file stays open until the reader is told it is done (a sidecar
    // would hold one more file for every run that failed during its deletes).
    await entries.return?.();
  }
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
  tally?: DeletedSoFar,
): (slice: Plan<ExpectedKey>) => Promise<void> {
  return async (slice) => {
    await applyGroups(store, slice.groups, signal, outcomes, tally);
  };
}

/** Reads keys in batches sent together: the store pipelines them. */
async function readAll(store: KeyValueStore, keys: string[]): Promise<Map<string, StoredEntry | undefined>> {
  const batches: string[][] = [];
  for (let start = 0; start < keys.length; start += READ_BATCH) batches.push(keys.slice(start, start + READ_BATCH));
  const entries = await Promise.all(batches.map((batch) => store.getMany(batch)));
  return new Map(batches.flatMap((batch, b) => batch.map((key, i): [string, StoredEntry | undefined] => [key, entries[b][i]])));
}
