import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { GroupDeleteOutcome, GuardedGroup } from '../../src/ports/key-value-store';
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

/**
 * The store on a Redis Cluster: `RedisStore`'s code over every master. Reads and writes
 * run one script per hash slot; a domain's keys live in different slots, so its delete
 * cannot be one atomic step (DESIGN §4.1): every key is re-checked right before the
 * deletes, then the keys are removed one by one with compare-and-delete in the group's
 * order, the guard (forward key, last) last. A key that changes midway stops the group:
 * what is left, the guard included, is found again by the next run.
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
    // Every key, the forward key (last) included, still holds what was read, and every
    // guard is as the scan saw it: else touch nothing.
    // Values only: a delete compares bytes, never expiries.
    const current = await this.getMany([...keys.map((k) => k.key), ...guards.map((g) => g.key)], { withTtl: false });
    const keysUnchanged = keys.every(({ expected }, i) => current[i]?.type === 'string' && current[i]!.value!.equals(expected));
    const guardsUnchanged = guards.every(({ expected }, i) => {
      const entry = current[keys.length + i];
      return expected === null ? entry === undefined : entry?.type === 'string' && entry.value!.equals(expected);
    });
    // Every key gone already: an earlier delete of this group went through (its answer lost).
    if (keys.every((_, i) => current[i] === undefined)) return 'deleted';
    if (!keysUnchanged || !guardsUnchanged) return 'changed';
    const deleted = new Set<string>();
    for (const { key, expected } of keys) {
      if (deleted.has(key)) continue; // a key listed twice was checked and deleted once
      deleted.add(key);
      this.ensureOpen();
      this.trips++;
      if ((await this.client.reaperDeleteIfEqual(1, key, expected)) !== 1) return 'changed';
    }
    return 'deleted';
  }
}
