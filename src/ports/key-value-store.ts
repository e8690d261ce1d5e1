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

/** `same`: the key already holds this value; `exists`: it holds another and was left alone. */
export type PutOutcome = 'written' | 'replaced' | 'same' | 'exists' | 'unsupported';

export type PutMode = 'if-absent' | 'overwrite';

/** A group's keys are checked and deleted together: all of them, or none. */
export type GroupDeleteOutcome = 'deleted' | 'changed';

export interface KeyValueStore {
  /** For logs and backups: where the store is, never a password or token. */
  describe(): string;
  /** Keys under a literal prefix ('' for every key), in batches; a key may repeat. */
  scan(prefix: string): AsyncIterable<string[]>;
  /** One entry per requested key, in order; undefined when the key does not exist. */
  getMany(keys: string[], options?: { withDump?: boolean }): Promise<Array<StoredEntry | undefined>>;
  /**
   * Writes entries with their remaining TTL (`expiresAt`). `if-absent` leaves existing
   * keys alone. An entry this store cannot hold (another store's dump) is `unsupported`.
   */
  putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]>;
  /**
   * Deletes each group only if every key still holds its expected value, in the
   * group's order (the guard last). Atomic per group where the store allows it.
   */
  deleteGroupsIfUnchanged(groups: ExpectedKey[][]): Promise<GroupDeleteOutcome[]>;
  /** Keys a scan found but could not hand over as text (names that are not UTF-8), escaped. */
  skippedKeys?(): string[];
  /** Requests sent to the store so far (a pipeline or script run counts once). */
  roundTrips(): number;
  close(): Promise<void>;
}

export const KEY_VALUE_STORE = Symbol.for('pages-reaper.KeyValueStore');
