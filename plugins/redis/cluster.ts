import { isUtf8 } from 'node:buffer';
import type { Cluster } from 'ioredis';
import { escapeGlob } from '../../src/core/keys';
import type { ExpectedKey, GroupDeleteOutcome, KeyValueStore, PutMode, PutOutcome, StoredEntry } from '../../src/ports/key-value-store';
import { DELETE_IF_EQUAL_LUA, PUT_ENTRIES_LUA, READ_ENTRIES_LUA } from './scripts';
import { keySlot, slotTag } from './slot';

const SCAN_COUNT = 1000;
/** Groups checked and deleted at the same time (groups sharing a key wait for each other). */
const GROUP_CONCURRENCY = 16;

type ScriptedCluster = Cluster & {
  reaperReadEntriesBuffer(numberOfKeys: number, ...keysThenFlag: string[]): Promise<Array<Buffer | number | null>>;
  reaperPutEntries(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<string[]>;
  reaperDeleteIfEqual(numberOfKeys: number, key: string, expected: Buffer): Promise<number>;
};

function escapeBytes(bytes: Buffer): string {
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

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

/** Runs `work` on every item, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
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
        const keys: string[] = [];
        for (const name of names) {
          if (isUtf8(name)) keys.push(name.toString());
          else this.unnamed.push(escapeBytes(name));
        }
        if (keys.length > 0) yield keys;
      } while (cursor !== '0');
    }
  }

  async getMany(keys: string[], options: { withDump?: boolean } = {}): Promise<Array<StoredEntry | undefined>> {
    this.ensureOpen();
    if (keys.length === 0) return [];
    const result: Array<StoredEntry | undefined> = new Array(keys.length).fill(undefined);
    await Promise.all(
      [...bySlot(keys).values()].map(async (indexes) => {
        this.trips++;
        const slotKeys = indexes.map((i) => keys[i]);
        const reply = await this.cluster.reaperReadEntriesBuffer(slotKeys.length, ...slotKeys, options.withDump ? '1' : '0');
        const now = Date.now();
        indexes.forEach((index, j) => {
          const type = String(reply[3 * j]);
          if (type === 'none') return;
          const ttl = Number(reply[3 * j + 2]);
          const expiresAt = ttl >= 0 ? now + ttl : undefined;
          const payload = reply[3 * j + 1] as Buffer | null;
          const key = keys[index];
          if (type === 'string') result[index] = { key, type, value: payload!, expiresAt };
          else result[index] = payload ? { key, type, dump: payload, expiresAt } : { key, type, expiresAt };
        });
      }),
    );
    return result;
  }

  async putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
    this.ensureOpen();
    const outcomes: PutOutcome[] = entries.map(() => 'unsupported');
    const writable = entries.map((entry, i) => ({ entry, i })).filter(({ entry }) => (entry.type === 'string' ? entry.value : entry.dump) !== undefined);
    if (writable.length === 0) return outcomes;
    const groups = bySlot(writable.map(({ entry }) => entry.key));
    await Promise.all(
      [...groups.entries()].map(async ([slot, positions]) => {
        const now = Date.now();
        const args: Array<string | Buffer | number> = [];
        const keys: string[] = [];
        for (const p of positions) {
          const { entry } = writable[p];
          keys.push(entry.key);
          // An entry due to expire gets at least 1 ms: the caller skips the expired ones.
          const ttl = entry.expiresAt === undefined ? 0 : Math.max(1, entry.expiresAt - now);
          args.push(entry.type === 'string' ? 's' : 'd', (entry.type === 'string' ? entry.value : entry.dump)!, ttl);
        }
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

  async deleteGroupsIfUnchanged(groups: ExpectedKey[][]): Promise<GroupDeleteOutcome[]> {
    this.ensureOpen();
    if (groups.length === 0) return [];
    const outcomes: GroupDeleteOutcome[] = groups.map(() => 'changed');
    // Groups that share a key run one after the other, in the caller's order; the others
    // run side by side. A shared key joins the chains (union-find over group indexes).
    const parent = groups.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    const owner = new Map<string, number>();
    groups.forEach((group, g) => {
      for (const { key } of group) {
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
    await eachLimited([...chains.values()], GROUP_CONCURRENCY, async (chain) => {
      for (const g of chain) outcomes[g] = await this.deleteGroup(groups[g]);
    });
    return outcomes;
  }

  private async deleteGroup(group: ExpectedKey[]): Promise<GroupDeleteOutcome> {
    if (group.length === 0) return 'deleted';
    // Every key, the guard (last) included, still holds what was read: else touch nothing.
    const current = await this.getMany(group.map((k) => k.key));
    const unchanged = group.every(({ expected }, i) => current[i]?.type === 'string' && current[i]!.value!.equals(expected));
    if (!unchanged) return 'changed';
    const deleted = new Set<string>();
    for (const { key, expected } of group) {
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
    await this.cluster.quit().catch(() => this.cluster.disconnect());
  }
}
