import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { ExpectedKey, GroupDeleteOutcome, GuardedGroup, KeyGuard, StoredEntry } from '../../src/ports/key-value-store';
import { deleteInChains, groupIndexes } from '../../src/plugin-kit';
import { RedisStore, type KeyBatch } from './store';

/** Groups checked and deleted at the same time (groups sharing a key wait for each other). */
const GROUP_CONCURRENCY = 16;

const SLOTS = 16384;
let tags: string[] | undefined;

/** A short string per slot whose own slot is that slot: `{tag}` pins a name to a slot. */
export function slotTag(slot: number): string {
  if (!tags) {
    const found: string[] = new Array(SLOTS);
    let missing = SLOTS;
    for (let n = 0; missing > 0; n++) {
      const candidate = n.toString(36);
      const s = calculateSlot(candidate);
      if (found[s] === undefined) {
        found[s] = candidate;
        missing--;
      }
    }
    tags = found;
  }
  return tags[slot];
}

/** Whether a key holds exactly these bytes, as a string. */
function holds(entry: StoredEntry | undefined, expected: Buffer): boolean {
  return entry?.type === 'string' && entry.value!.equals(expected);
}

/** Whether every guard is as expected: absent (`null`) or holding its bytes; `current` in the guards' order. */
function guardsHold(guards: KeyGuard[], current: Array<StoredEntry | undefined>): boolean {
  return guards.every(({ expected }, i) => (expected === null ? current[i] === undefined : holds(current[i], expected)));
}

/**
 * The store on a Redis Cluster: `RedisStore`'s code over every master. Reads and writes
 * run one script per hash slot; a domain's keys live in different slots, so its delete
 * cannot be one atomic step (DESIGN §4.1): every key is re-checked right before the
 * deletes, then the keys are removed one by one with compare-and-delete in the group's
 * order, the guard (forward key, last) last, and the guards are read once more. A key or
 * a guard that changed midway stops the group, and the keys it had deleted are written
 * back where still absent: the group stays whole, as one atomic step would keep it.
 */
export class RedisClusterStore extends RedisStore {
  constructor(
    private readonly cluster: Cluster,
    description: string,
  ) {
    super(cluster, description);
  }

  protected scanNodes(): Redis[] {
    const masters = this.cluster.nodes('master');
    if (masters.length === 0) throw new Error(`Redis Cluster at ${this.description} has no master node`);
    return masters;
  }

  /** Indexes of `keys` grouped by hash slot: a script may only touch keys of one slot. */
  protected batches(keys: string[]): KeyBatch[] {
    return [...groupIndexes(keys.length, (i) => calculateSlot(keys[i]))].map(([slot, indexes]) => ({ slot, indexes }));
  }

  /** The script restores a DUMP under a scratch name: in a cluster it must live in the keys' own slot. */
  protected scratchKey({ slot }: KeyBatch): string {
    return `pages-reaper-restore-check:{${slotTag(slot!)}}`;
  }

  async deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]> {
    this.ensureOpen();
    if (groups.length === 0) return [];
    // Groups that share a key run one after the other, in the caller's order; the others side by side.
    return deleteInChains(groups, GROUP_CONCURRENCY, (group) => this.deleteGroup(group));
  }

  private async deleteGroup({ keys, guards = [] }: GuardedGroup): Promise<GroupDeleteOutcome> {
    if (keys.length === 0) return 'deleted';
    const guardKeys = guards.map((g) => g.key);
    // Every key, the forward key (last) included, still holds what was read, and every
    // guard is as the scan saw it: else touch nothing.
    // Values only: a delete compares bytes, never expiries.
    const current = await this.getMany([...keys.map((k) => k.key), ...guardKeys], { withTtl: false });
    // Every key gone already: an earlier delete of this group went through (its answer lost).
    if (keys.every((_, i) => current[i] === undefined)) return 'deleted';
    const keysUnchanged = keys.every(({ expected }, i) => holds(current[i], expected));
    if (!keysUnchanged || !guardsHold(guards, current.slice(keys.length))) return 'changed';
    const removed: ExpectedKey[] = [];
    const seen = new Set<string>();
    for (const item of keys) {
      if (seen.has(item.key)) continue; // a key listed twice was checked and deleted once
      seen.add(item.key);
      this.ensureOpen();
      this.trips++;
      if ((await this.client.reaperDeleteIfEqual(1, item.key, item.expected)) !== 1) return this.putBack(removed);
      removed.push(item);
    }
    // The plugin writes a registration's forward key (a guard) before its router keys, so a
    // router key it rewrote with the same bytes before one of the deletes above shows here
    // as a guard that changed: the group is put back as it was, as one atomic step keeps it.
    if (!guardsHold(guards, await this.getMany(guardKeys, { withTtl: false }))) return this.putBack(removed);
    return 'deleted';
  }

  /**
   * Writes back, where they are still absent, the keys a group had deleted when a key or a
   * guard was found changed midway (a registration came): deleted one by one, a group's
   * keys cannot be checked in one step with its guards, and a key the plugin had just
   * rewritten with the bytes it held would otherwise stay deleted under a live name.
   */
  private async putBack(removed: ExpectedKey[]): Promise<GroupDeleteOutcome> {
    for (const { key, expected } of removed) {
      this.ensureOpen();
      this.trips++;
      await this.client.set(key, expected, 'NX');
    }
    return 'changed';
  }
}
