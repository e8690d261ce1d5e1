import type { Cluster, Redis } from 'ioredis';
import type { GroupDeleteOutcome, GuardedGroup, PutMode, PutOutcome, ReadOptions, StoredEntry } from '../../src/ports/key-value-store';
import { BaseStore, escapeGlob, ReaperError } from '../../src/plugin-kit';
import {
  decodeReadEntries,
  DELETE_GROUPS_LUA,
  DELETE_IF_EQUAL_LUA,
  deleteGroupsArgs,
  PUT_ENTRIES_LUA,
  putEntryArgs,
  READ_ENTRIES_LUA,
  SCAN_COUNT,
} from './scripts';

/** A client (one server's or a cluster's) with the reaper's scripts defined on it. */
export type ScriptedClient = (Redis | Cluster) & {
  reaperReadEntriesBuffer(numberOfKeys: number, ...keysThenFlags: string[]): Promise<Array<Buffer | number | null>>;
  reaperPutEntries(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<string[]>;
  reaperDeleteGroups(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<number[]>;
  reaperDeleteIfEqual(numberOfKeys: number, key: string, expected: Buffer): Promise<number>;
};

/** Keys one script run may touch together (indexes into the caller's list), and their hash slot on a cluster. */
export interface KeyBatch {
  indexes: number[];
  slot?: number;
}

/**
 * The store on one Redis server (standalone or a Sentinel's master). Reads and writes are
 * one script run per batch of keys, a SCAN walks the server, and a batch of groups is
 * checked and deleted by one script run: atomic. A Redis Cluster is the same code over
 * several servers (`RedisClusterStore` overrides what differs: which servers a SCAN walks,
 * how keys are batched, and the deletes).
 */
/** Keys read or written by one script run at most (see `batches`). */
export const SCRIPT_KEYS = 250;

/** Times one server's SCAN starts over because its connection was made again, before the run gives up. */
export const MAX_SCAN_RESTARTS = 3;

/**
 * Connections lost and made again to each server since its first SCAN began: ioredis's
 * 'reconnecting' events (never sent for a first connection, which a cluster's node
 * clients make lazily, at their first command).
 */
const reconnectCounts = new WeakMap<Redis, { count: number }>();

function reconnections(node: Redis): number {
  let counter = reconnectCounts.get(node);
  if (!counter) {
    const made = { count: 0 };
    node.on('reconnecting', () => made.count++);
    reconnectCounts.set(node, made);
    counter = made;
  }
  return counter.count;
}

/**
 * The scripts' first line, for a database other than 0: each run selects it itself. ioredis
 * selects it again on every reconnection, but a server that then refuses it (restarted
 * with fewer databases) only makes it emit an error, and the commands after run in
 * database 0: a delete guarded by the values it read there would have gone through in a
 * database the run was never pointed at. Selected in the script, a refused database fails
 * the run, atomically with what the script would do.
 */
function inDatabase(db: number): string {
  return db === 0 ? '' : `redis.call('SELECT', ${db})\n`;
}

/** The database a client was given; a cluster has database 0 alone. */
function databaseOf(client: Redis | Cluster): number {
  return client.isCluster ? 0 : Number((client as Partial<Redis>).options?.db ?? 0);
}

/** The server's words for a SELECT of a database it does not have. */
const DATABASE_OUT_OF_RANGE = /DB index is out of range/i;

/** Where the database is set unless a `--redis-url` names it (`/N`). */
export const DATABASE_FLAG = '--redis-db (REDIS_DB)';

/**
 * A SELECT the server refused, as the problem and the setting to fix: the server's words
 * (`ERR DB index is out of range`, inside a script's error) say what, not where to look.
 * Fatal (exit 1), not a usage error: the same setting worked until the server changed.
 */
export function refusedDatabase(description: string, db: number, flag: string, cause: string, error?: unknown): ReaperError {
  const reason = DATABASE_OUT_OF_RANGE.test(cause) ? 'the server has fewer databases' : cause;
  return new ReaperError(`Redis at ${description} refuses database ${db} (${reason})`, {
    hint: `choose a database the server has with ${flag}`,
    cause: error,
  });
}

export class RedisStore extends BaseStore {
  protected readonly client: ScriptedClient;
  /** The database every script selects (0: none). */
  private readonly db: number;

  /** `databaseFlag`: where the operator set the database, for the line that says the server refused it. */
  constructor(
    client: Redis | Cluster,
    description: string,
    private readonly databaseFlag = DATABASE_FLAG,
  ) {
    super(description);
    this.db = databaseOf(client);
    const selected = inDatabase(this.db);
    client.defineCommand('reaperReadEntries', { lua: selected + READ_ENTRIES_LUA });
    client.defineCommand('reaperPutEntries', { lua: selected + PUT_ENTRIES_LUA });
    client.defineCommand('reaperDeleteGroups', { lua: selected + DELETE_GROUPS_LUA });
    client.defineCommand('reaperDeleteIfEqual', { lua: selected + DELETE_IF_EQUAL_LUA });
    this.client = client as ScriptedClient;
  }

  /**
   * A script's run. Its SELECT fails where the server was restarted with fewer databases
   * since the connect: said as the connect says it, naming the setting, not in the
   * script's words.
   */
  private async inScript<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (this.db === 0 || !(error instanceof Error) || !DATABASE_OUT_OF_RANGE.test(error.message)) throw error;
      throw refusedDatabase(this.description, this.db, this.databaseFlag, error.message, error);
    }
  }

  /** ioredis's own words for a call on a closed client. */
  protected closedMessage(): string {
    return 'Connection is closed.';
  }

  /** The servers a SCAN walks: this one. */
  protected scanNodes(): Redis[] {
    return [this.client as Redis];
  }

  /**
   * Keys one script run may touch together. A run reads a type and an expiry per key and
   * holds the server meanwhile (Traefik and the plugin wait): runs of at most
   * SCRIPT_KEYS keys, sent together, keep each hold near a millisecond.
   */
  protected batches(keys: string[]): KeyBatch[] {
    const batches: KeyBatch[] = [];
    for (let start = 0; start < keys.length; start += SCRIPT_KEYS) {
      batches.push({ indexes: Array.from({ length: Math.min(SCRIPT_KEYS, keys.length - start) }, (_, i) => start + i) });
    }
    return batches;
  }

  /**
   * The scratch name PUT_ENTRIES_LUA restores a DUMP under to compare it; undefined: the
   * script names it after the key.
   */
  protected scratchKey(_batch: KeyBatch): string | undefined {
    return undefined;
  }

  /**
   * Walks each server with SCAN. A cursor means something only to the server that gave
   * it: when the connection is made again mid-walk (ioredis reconnects on its own), the
   * server may have restarted and put its keys in other buckets, and going on from the
   * cursor would miss some of them without a word. The walk of that server then starts
   * over; keys seen twice are recorded once (`scanStore`'s tables are idempotent).
   */
  async *scan(prefix: string): AsyncIterable<string[]> {
    this.ensureOpen();
    const match = prefix === '' ? [] : ['MATCH', escapeGlob(prefix) + '*'];
    for (const node of this.scanNodes()) {
      let reconnectionsSeen = reconnections(node);
      let restarts = 0;
      let cursor = '0';
      for (;;) {
        this.ensureOpen();
        this.trips++;
        let [next, keys] = (await node.call('SCAN', cursor, ...match, 'COUNT', SCAN_COUNT)) as [string, string[]];
        if (keys.some((key) => key.includes('\uFFFD'))) {
          // Decoded as text, a name that is not UTF-8 would come back altered: this page
          // is asked again as bytes (the same cursor; its answer and next cursor are used).
          this.trips++;
          const [nextAgain, names] = (await node.callBuffer('SCAN', cursor, ...match, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
          next = nextAgain.toString();
          keys = this.textKeys(names);
        }
        if (keys.length > 0) yield keys;
        if (reconnections(node) !== reconnectionsSeen) {
          if (++restarts > MAX_SCAN_RESTARTS) {
            throw new Error(
              `the connection to ${this.describe()} was lost and made again ${restarts} times during one scan; check that the store is stable, then run again`,
            );
          }
          reconnectionsSeen = reconnections(node);
          cursor = '0';
          continue;
        }
        if (next === '0') break;
        cursor = next;
      }
    }
  }

  async getMany(keys: string[], options: ReadOptions = {}): Promise<Array<StoredEntry | undefined>> {
    this.ensureOpen();
    if (keys.length === 0) return [];
    const flags = [options.withDump ? '1' : '0', options.withTtl === false ? '0' : '1'];
    const result: Array<StoredEntry | undefined> = new Array(keys.length).fill(undefined);
    await Promise.all(
      this.batches(keys).map(async ({ indexes }) => {
        this.trips++;
        const batchKeys = indexes.map((i) => keys[i]);
        const reply = await this.inScript(() => this.client.reaperReadEntriesBuffer(batchKeys.length, ...batchKeys, ...flags));
        decodeReadEntries(batchKeys, reply, Date.now()).forEach((entry, j) => (result[indexes[j]] = entry));
      }),
    );
    return result;
  }

  async putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
    this.ensureOpen();
    const outcomes: PutOutcome[] = entries.map(() => 'unsupported');
    const now = Date.now();
    const writable = entries.flatMap((entry, i) => {
      const args = putEntryArgs(entry, now);
      return args ? [{ entry, i, args }] : [];
    });
    if (writable.length === 0) return outcomes;
    await Promise.all(
      this.batches(writable.map(({ entry }) => entry.key)).map(async (batch) => {
        const keys = batch.indexes.map((p) => writable[p].entry.key);
        const args = batch.indexes.flatMap((p) => writable[p].args);
        const scratch = this.scratchKey(batch);
        this.trips++;
        const reply = await this.inScript(() =>
          scratch === undefined
            ? this.client.reaperPutEntries(keys.length, ...keys, mode, ...args)
            : this.client.reaperPutEntries(keys.length + 1, ...keys, scratch, mode, ...args),
        );
        batch.indexes.forEach((p, j) => (outcomes[writable[p].i] = reply[j] as PutOutcome));
      }),
    );
    return outcomes;
  }

  /** A replica takes no writes (unless configured to, when its writes would not last). */
  async readOnlyReason(): Promise<string | undefined> {
    this.ensureOpen();
    this.trips++;
    let role: unknown;
    try {
      role = await this.client.call('ROLE');
    } catch {
      // ROLE withheld (ACL, a proxy): the deletes' own answers tell.
      return undefined;
    }
    if (!Array.isArray(role) || (role[0] !== 'slave' && role[0] !== 'replica')) return undefined;
    return `it is a replica of ${String(role[1])}:${String(role[2])}`;
  }

  /** Every group of the batch in one script run: atomic on one server. */
  async deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]> {
    this.ensureOpen();
    if (groups.length === 0) return [];
    const { keys, args } = deleteGroupsArgs(groups);
    this.trips++;
    const outcome = await this.inScript(() => this.client.reaperDeleteGroups(keys.length, ...keys, ...args));
    return outcome.map((deleted) => (deleted === 1 ? 'deleted' : 'changed'));
  }

  /** QUIT, unless the server does not answer it soon: then the connection is just dropped. */
  protected async disconnect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 1000)));
    const outcome = await Promise.race([this.client.quit().catch(() => 'failed' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late' || outcome === 'failed') this.client.disconnect();
  }
}
