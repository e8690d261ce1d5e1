import type { Cluster } from 'ioredis';
import { escapeGlob, textKeyNames } from '../../src/core/keys';
import type { GroupDeleteOutcome, GuardedGroup, KeyValueStore, PutMode, PutOutcome, StoredEntry, ReadOptions } from '../../src/ports/key-value-store';
import { mapLimited } from '../../src/plugin-kit';
import { decodeReadEntries, DELETE_IF_EQUAL_LUA, PUT_ENTRIES_LUA, putEntryArgs, READ_ENTRIES_LUA, SCAN_COUNT } from './scripts';
import { keySlot, slotTag } from './slot';
import { quitOrDrop } from './quit';

/** Groups checked and deleted at the same time (groups sharing a key wait for each other). */
const GROUP_CONCURRENCY = 16;

type ScriptedCluster = Cluster & {
  reaperReadEntriesBuffer(numberOfKeys: number, ...keysThenFlags: string[]): Promise<Array<Buffer | number | null>>;
  reaperPutEntries(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<string[]>;
  reaperDeleteIfEqual(numberOfKeys: number, key: string, expected: Buffer): Promise<number>;
};

/** Indexes of `keys` grouped by hash slot: a script may only touch keys of one slot. */
function bySlot(keys: string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  });
  return groups;
}

/**
 * The store on a Redis Cluster. Reads and writes run one script per hash slot; a
 * domain's keys live in different slots, so its delete cannot be one atomic step
 * (DESIGN §4.1): every key is re-checked right before the deletes, then the keys are
 * removed one by one with compare-and-delete in the group's order, the guard (forward
 * key, last) last. A key that changes midway stops the group: what is left, the guard
 * included, is found again by the next run.
 */
export class RedisClusterStore implements KeyValueStore {
  private readonly cluster: ScriptedCluster;
  private trips = 0;
  private closed = false;
  private readonly unnamed: string[] = [];

  constructor(cluster: Cluster, private readonly description: string) {
    cluster.defineCommand('reaperReadEntries', { lua: READ_ENTRIES_LUA });
    cluster.defineCommand('reaperPutEntries', { lua: PUT_ENTRIES_LUA });
    cluster.defineCommand('reaperDeleteIfEqual', { lua: DELETE_IF_EQUAL_LUA });
    this.cluster = cluster as ScriptedCluster;
  }

  describe(): string {
    return this.description;
  }

  roundTrips(): number {
    return this.trips;
  }

  skippedKeys(): string[] {
    return [...this.unnamed];
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error('Connection is closed.');
  }

  async *scan(prefix: string): AsyncIterable<string[]> {
    this.ensureOpen();
    const match = prefix === '' ? [] : ['MATCH', escapeGlob(prefix) + '*'];
    const masters = this.cluster.nodes('master');
    if (masters.length === 0) throw new Error(`Redis Cluster at ${this.description} has no master node`);
    for (const node of masters) {
      let cursor = '0';
      do {
        this.ensureOpen();
        this.trips++;
        const [next, names] = (await node.callBuffer('SCAN', cursor, ...match, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
        cursor = next.toString();
        const keys = textKeyNames(names, this.unnamed);
        if (keys.length > 0) yield keys;
      } while (cursor !== '0');
    }
  }

  async getMany(keys: string[], options: ReadOptions = {}): Promise<Array<StoredEntry | undefined>> {
    this.ensureOpen();
    if (keys.length === 0) return [];
    const result: Array<StoredEntry | undefined> = new Array(keys.length).fill(undefined);
    await Promise.all(
      [...bySlot(keys).values()].map(async (indexes) => {
        this.trips++;
        const slotKeys = indexes.map((i) => keys[i]);
        const reply = await this.cluster.reaperReadEntriesBuffer(slotKeys.length, ...slotKeys, options.withDump ? '1' : '0', options.withTtl === false ? '0' : '1');
        decodeReadEntries(slotKeys, reply, Date.now()).forEach((entry, j) => (result[indexes[j]] = entry));
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
    const groups = bySlot(writable.map(({ entry }) => entry.key));
    await Promise.all(
      [...groups.entries()].map(async ([slot, positions]) => {
        const keys = positions.map((p) => writable[p].entry.key);
        const args = positions.flatMap((p) => writable[p].args);
        // The script compares DUMP payloads by restoring them under a scratch name: in a
        // cluster that name must live in the keys' own slot.
        const scratch = `pages-reaper-restore-check:{${slotTag(slot)}}`;
        this.trips++;
        const reply = await this.cluster.reaperPutEntries(keys.length + 1, ...keys, scratch, mode, ...args);
        positions.forEach((p, j) => (outcomes[writable[p].i] = reply[j] as PutOutcome));
      }),
    );
    return outcomes;
  }

  async deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]> {
    this.ensureOpen();
    if (groups.length === 0) return [];
    const outcomes: GroupDeleteOutcome[] = groups.map(() => 'changed');
    // Groups that share a key run one after the other, in the caller's order; the others
    // run side by side. A shared key joins the chains (union-find over group indexes).
    const parent = groups.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    const owner = new Map<string, number>();
    groups.forEach((group, g) => {
      for (const { key } of [...group.keys, ...(group.guards ?? [])]) {
        const other = owner.get(key);
        if (other === undefined) owner.set(key, g);
        else parent[find(g)] = find(other);
      }
    });
    const chains = new Map<number, number[]>();
    groups.forEach((_, g) => {
      const root = find(g);
      const chain = chains.get(root);
      if (chain) chain.push(g);
      else chains.set(root, [g]);
    });
    await mapLimited([...chains.values()], GROUP_CONCURRENCY, async (chain) => {
      for (const g of chain) outcomes[g] = await this.deleteGroup(groups[g]);
    });
    return outcomes;
  }

  private async deleteGroup({ keys, guards = [] }: GuardedGroup): Promise<GroupDeleteOutcome> {
    if (keys.length === 0) return 'deleted';
    // Every key, the forward key (last) included, still holds what was read, and every
    // guard is as the scan saw it: else touch nothing.
    const current = await this.getMany([...keys.map((k) => k.key), ...guards.map((g) => g.key)]);
    const keysUnchanged = keys.every(({ expected }, i) => current[i]?.type === 'string' && current[i]!.value!.equals(expected));
    const guardsUnchanged = guards.every(({ expected }, i) => {
      const entry = current[keys.length + i];
      return expected === null ? entry === undefined : entry?.type === 'string' && entry.value!.equals(expected);
    });
    if (!keysUnchanged || !guardsUnchanged) return 'changed';
    const deleted = new Set<string>();
    for (const { key, expected } of keys) {
      if (deleted.has(key)) continue; // a key listed twice was checked and deleted once
      deleted.add(key);
      this.ensureOpen();
      this.trips++;
      if ((await this.cluster.reaperDeleteIfEqual(1, key, expected)) !== 1) return 'changed';
    }
    return 'deleted';
  }

  async close(): Promise<void> {
    this.closed = true;
    await quitOrDrop(this.cluster);
  }
}
