/** A key as read from a store. Values are bytes: stores hold whatever clients wrote. */
export interface StoredEntry {
  key: string;
  /** `string` for plain values; other types (`hash`, `list`, …) carry no `value`. */
  type: string;
  value?: Buffer;
  /** Non-string keys read with `withDump`: the store's own serialisation (Redis DUMP). */
  dump?: Buffer;
  /** Absolute expiry in ms since the epoch; undefined when the key never expires. */
  expiresAt?: number;
}

export interface ExpectedKey {
  key: string;
  expected: Buffer;
  expiresAt?: number;
}

/**
 * A key that must still be as the scan saw it for a group to go: absent (`expected:
 * null`) or holding exactly `expected`. Checked in the same atomic step as the deletes,
 * never deleted itself: it is the registration that would make the group's keys live
 * again (DESIGN §4.1, §4.8).
 */
export interface KeyGuard {
  key: string;
  expected: Buffer | null;
}

/** Keys deleted together, in order, only if every key and every guard is unchanged. */
export interface GuardedGroup {
  keys: ExpectedKey[];
  guards?: KeyGuard[];
}

/** `same`: the key already holds this value; `exists`: it holds another and was left alone. */
export type PutOutcome = 'written' | 'replaced' | 'same' | 'exists' | 'unsupported';

export type PutMode = 'if-absent' | 'overwrite';

/**
 * A group's keys are checked and deleted together: all of them, or none. A group none of
 * whose keys is left is `deleted` too: its delete went through once and the answer was
 * lost (the client sent it again after the connection came back, and the check failed).
 */
export type GroupDeleteOutcome = 'deleted' | 'changed';

const ANSWERED_BEFORE_FAILURE = Symbol.for('pages-reaper.answeredBeforeFailure');

/**
 * Marks the error of a `deleteGroupsIfUnchanged` call that failed midway, on a store whose
 * groups are separate atomic steps (an etcd transaction, a Redis Cluster group each), with
 * what its groups' steps answered (undefined: failed or never sent), so that the run counts
 * the groups that were deleted before it stopped. Returns the error.
 */
export function withAnsweredGroups(error: unknown, outcomes: ReadonlyArray<GroupDeleteOutcome | undefined>): unknown {
  if (error !== null && typeof error === 'object') Object.defineProperty(error, ANSWERED_BEFORE_FAILURE, { value: outcomes });
  return error;
}

/** What `withAnsweredGroups` marked on `error`, if anything. */
export function answeredGroupsOf(error: unknown): ReadonlyArray<GroupDeleteOutcome | undefined> | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  return (error as { [ANSWERED_BEFORE_FAILURE]?: ReadonlyArray<GroupDeleteOutcome | undefined> })[ANSWERED_BEFORE_FAILURE];
}

export interface ReadOptions {
  /** Non-string keys carry the store's own serialisation (`dump`). */
  withDump?: boolean;
  /** false: expiries are not needed (default true). */
  withTtl?: boolean;
}

export interface KeyValueStore {
  /** For logs and backups: where the store is, never a password or token. */
  describe(): string;
  /** Keys under a literal prefix ('' for every key), in batches; a key may repeat. */
  scan(prefix: string): AsyncIterable<string[]>;
  /**
   * One entry per requested key, in order; undefined when the key does not exist. With
   * `withTtl: false` the store may skip reading expiries (entries then carry none): for
   * callers that need values only, where reading each TTL costs the server a command.
   */
  getMany(keys: string[], options?: ReadOptions): Promise<Array<StoredEntry | undefined>>;
  /**
   * Writes entries with their remaining TTL (`expiresAt`). `if-absent` leaves existing
   * keys alone. An entry this store cannot hold (another store's dump) is `unsupported`.
   */
  putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]>;
  /**
   * Deletes each group's keys only if every key still holds its expected value and every
   * guard is as expected, in the group's order (the forward key last). Atomic per group
   * where the store allows it. A group whose keys are all gone already is `deleted`.
   * Groups that share a key, as a key or a guard, are applied in the order given (a
   * group may be guarded by a key that a later group deletes); others in any order.
   */
  deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]>;
  /**
   * Keys plus guards one group may hold, when the store bounds what one atomic step can
   * check (etcd: operations per transaction); unbounded when absent.
   */
  maxGroupSize?(): number;
  /**
   * What one key (and one guard that holds a value) takes of `maxGroupSize`, 1 when
   * absent; a guard that must be absent takes 1. etcd compares a key's value and its mod
   * revision (`markReads`): two of a transaction's compares.
   */
  checksPerKey?(): number;
  /**
   * True for a store that holds strings only (etcd): `putMany` answers `unsupported` for
   * an entry of another type, and a dry run of a restore must say the same.
   */
  holdsOnlyStrings?(): boolean;
  /**
   * From this call on, a delete also requires every key (and every guard that holds a
   * value) to be unwritten since the call: a rewrite with the same bytes between a run's
   * first read and its deletes (a site its owner revived, re-registered as it was) is then
   * seen as a change. A store that keeps revisions (etcd) has it; in one that does not
   * (Redis), identical bytes are the same state and the value compare is all there is.
   */
  markReads?(): Promise<void>;
  /**
   * Why this store cannot take deletes (a Redis replica), or undefined: asked before a
   * reap or its dry run reads anything, so both end the same way, at once.
   */
  readOnlyReason?(): Promise<string | undefined>;
  /** Keys a scan found but could not hand over as text (names that are not UTF-8), escaped. */
  skippedKeys?(): string[];
  /** Requests sent to the store so far (a pipeline or script run counts once). */
  roundTrips(): number;
  close(): Promise<void>;
}

export const KEY_VALUE_STORE = Symbol.for('pages-reaper.KeyValueStore');
