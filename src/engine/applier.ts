import type { DeletionGroup, PlannedKey } from '../core/planner';
import { answeredGroupsOf, type ExpectedKey, type KeyValueStore } from '../ports/key-value-store';

export type GroupOutcome = 'deleted' | 'changed';

/**
 * What a reap's deletes removed so far, counted as each store call answers: a run that
 * fails or is interrupted midway says it (its error, log line and metrics), where it
 * said nothing was deleted. The call in flight when it stopped is not counted.
 */
export interface DeletedSoFar {
  groups: number;
  domains: number;
  orphans: number;
  keys: number;
}

export function nothingDeletedYet(): DeletedSoFar {
  return { groups: 0, domains: 0, orphans: 0, keys: 0 };
}

/** A call's answer into `outcomes`, and its deleted groups into `tally`. */
function recordAnswer(
  batch: ReadonlyArray<DeletionGroup<PlannedKey>>,
  answer: readonly GroupOutcome[],
  outcomes: GroupOutcome[],
  tally?: DeletedSoFar,
): void {
  answer.forEach((outcome, i) => {
    outcomes.push(outcome);
    if (outcome === 'deleted' && tally) countDeleted(batch[i], tally);
  });
}

function countDeleted(group: DeletionGroup<PlannedKey>, tally: DeletedSoFar): void {
  tally.groups++;
  if (group.kind === 'domain') tally.domains++;
  else tally.orphans++;
  tally.keys += group.keys.length;
}

/** Groups per store call at most: one Redis script run, one etcd transaction batch. */
export const APPLY_BATCH = 250;
/**
 * Keys and guards per store call at most: a Redis script run checks 200–400 of them a
 * millisecond (at a million domains; at ten thousand), and holds the server meanwhile.
 */
export const APPLY_BATCH_WEIGHT = 250;

/**
 * Guards that must be absent weigh a quarter of a key: the delete script checks a group's
 * all with one EXISTS (at a million domains 255 of them took Redis 248 µs, where a key
 * read, compared and deleted takes it about 4 µs). A domain of eight separators has 255
 * such guards, and weighed as keys it went alone in a call: 100,000 calls for 100,000.
 */
const ABSENT_GUARDS_PER_WEIGHT = 4;

/** What a group weighs in a batch (see `APPLY_BATCH_WEIGHT`). */
export function groupWeight(group: DeletionGroup<PlannedKey>): number {
  let absent = 0;
  for (const guard of group.guards) if (guard.expected === null) absent++;
  return group.keys.length + (group.guards.length - absent) + Math.ceil(absent / ABSENT_GUARDS_PER_WEIGHT);
}

/**
 * Consecutive groups, in plan order, each run small enough for one store call; made as
 * they are consumed. Each group's keys and guards are read once: a planned stale domain
 * rebuilds them from the inventory at every read (`DomainGroup`), and what a batch holds
 * is dropped once it is applied, so a plan of 100,000 groups is never held with its keys.
 */
export function* applyBatches<K extends PlannedKey>(groups: Iterable<DeletionGroup<K>>): Generator<Array<DeletionGroup<K>>> {
  let batch: Array<DeletionGroup<K>> = [];
  let batchWeight = 0;
  for (const planned of groups) {
    const group: DeletionGroup<K> = {
      kind: planned.kind,
      subject: planned.subject,
      reason: planned.reason,
      keys: planned.keys,
      guards: planned.guards,
    };
    const weight = groupWeight(group);
    if (batch.length > 0 && (batch.length >= APPLY_BATCH || batchWeight + weight > APPLY_BATCH_WEIGHT)) {
      yield batch;
      batch = [];
      batchWeight = 0;
    }
    batch.push(group);
    batchWeight += weight;
  }
  if (batch.length > 0) yield batch;
}

/**
 * One store call: each group of the batch compare-and-delete with its guards. Stopping
 * between batches leaves nothing half-done, so the signal is checked before each.
 */
export function applyBatch(store: KeyValueStore, batch: Array<DeletionGroup<ExpectedKey>>, signal?: AbortSignal): Promise<GroupOutcome[]> {
  signal?.throwIfAborted();
  return store.deleteGroupsIfUnchanged(batch.map(({ keys, guards }) => ({ keys, guards })));
}

/**
 * Applies batches in order, one store call at a time: a call goes out only once the
 * previous one has answered, so a failure stops the run before anything more is sent,
 * while the next batch is made during that wait (at 10,000 domains a batch took about
 * 3 ms to make and 1–2 ms to answer). When making a batch fails, the call in flight is
 * waited for before the failure is passed on: nothing is still deleting once it is.
 */
export async function applyInOrder(
  store: KeyValueStore,
  batches: Iterable<Array<DeletionGroup<ExpectedKey>>> | AsyncIterable<Array<DeletionGroup<ExpectedKey>>>,
  signal?: AbortSignal,
  /** Filled as calls answer, so a caller whose run fails midway knows how far it got. */
  outcomes: GroupOutcome[] = [],
  tally?: DeletedSoFar,
): Promise<GroupOutcome[]> {
  let inFlight: { batch: Array<DeletionGroup<ExpectedKey>>; answer: Promise<GroupOutcome[]> } | undefined;
  // A call that failed midway on a store of one atomic step per group: its groups that
  // were deleted count, the rest are unknown, and the failure goes on.
  const record = async (call: NonNullable<typeof inFlight>) => {
    try {
      recordAnswer(call.batch, await call.answer, outcomes, tally);
    } catch (error) {
      const answered = answeredGroupsOf(error);
      if (answered && tally) call.batch.forEach((group, i) => answered[i] === 'deleted' && countDeleted(group, tally));
      throw error;
    }
  };
  try {
    for await (const batch of batches) {
      if (inFlight) {
        const answering = inFlight;
        inFlight = undefined;
        await record(answering);
      }
      inFlight = { batch, answer: applyBatch(store, batch, signal) };
      // Awaited at the next batch or below; until then a rejection is not left unhandled.
      inFlight.answer.catch(() => {});
    }
  } catch (error) {
    // Making the next batch failed: the call in flight is waited for, and what it deleted counts.
    if (inFlight) await record(inFlight).catch(() => {});
    throw error;
  }
  if (inFlight) await record(inFlight);
  return outcomes;
}

/** Deletes groups compare-and-delete with their guards, a batch per store call. */
export function applyGroups(
  store: KeyValueStore,
  groups: Array<DeletionGroup<ExpectedKey>>,
  signal?: AbortSignal,
  outcomes: GroupOutcome[] = [],
  tally?: DeletedSoFar,
): Promise<GroupOutcome[]> {
  return applyInOrder(store, applyBatches(groups), signal, outcomes, tally);
}
