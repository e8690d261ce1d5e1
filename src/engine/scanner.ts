import {
  addEntry,
  DOMAINS_PER_STEP,
  emptyInventory,
  findCrossAnomalies,
  needsValue,
  noteUnreadableNames,
  ownersInSteps,
  type ForwardMapping,
  type Inventory,
} from '../core/inventory';
import { keyClassifier, ROUTER_NAME_PREFIX, routerKeySlash, routersRoot, type KeyClass } from '../core/keys';
import type { KeyValueStore, StoredEntry } from '../ports/key-value-store';
import { untilDoneOrAborted } from './abortable';

/**
 * Keys classified between two turns of the event loop. Verification runs beside the scan
 * on the same thread, and a Forgejo answer that arrives while a SCAN page of 1,000 keys is
 * classified waits for the whole page (about 5 ms at 10,000 domains, as long as the answer
 * took): with 16 requests in flight and 5 ms of latency, a reap sent its requests at half
 * the pace while the scan ran. A turn every 250 keys lets answers through in between.
 */
const KEYS_BETWEEN_YIELDS = 250;

/**
 * Pages whose values are read at once. One at a time, the thread waited for each page's
 * reads, queued in the store behind the next SCAN, before it classified the next page:
 * a scan of a million domains spent a fifth of its time waiting.
 */
const PAGES_READ_AT_ONCE = 3;

interface PageRead {
  candidates: string[];
  classes: KeyClass[];
  entries: (StoredEntry | undefined)[];
}

/**
 * Reads one page's values. Only a reverse key's expiry decides anything at scan time (the
 * plugin's never expire); other values are read without theirs, which are read for what a
 * plan deletes. Both reads go out together.
 */
async function readValues(store: KeyValueStore, candidates: string[], classes: KeyClass[]): Promise<PageRead> {
  const timed: number[] = [];
  const plain: number[] = [];
  classes.forEach((cls, i) => (cls.kind === 'reverse' ? timed : plain).push(i));
  const [timedEntries, plainEntries] = await Promise.all([
    timed.length > 0 ? store.getMany(timed.map((i) => candidates[i])) : [],
    plain.length > 0
      ? store.getMany(
          plain.map((i) => candidates[i]),
          { withTtl: false },
        )
      : [],
  ]);
  const entries = new Array<StoredEntry | undefined>(candidates.length);
  timed.forEach((index, j) => (entries[index] = timedEntries[j]));
  plain.forEach((index, j) => (entries[index] = plainEntries[j]));
  return { candidates, classes, entries };
}

/** Lets I/O callbacks that are due (Forgejo answers) run before the scan goes on. */
function yieldToAnswers(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs a computation given in steps, letting the event loop turn (signals, answers) between
 * them, and stops at the first step after `signal` aborts: a run interrupted while a
 * million domains' owners are found ends then, not once they all are.
 */
export async function stepThrough<T>(steps: Generator<void, T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await yieldToAnswers();
    signal?.throwIfAborted();
  }
}

/**
 * Reads the whole keyspace once (reverse keys have no prefix of their own) and keeps
 * the plugin's keys. Values are read only for keys whose names could be ours.
 * `onForward` sees each forward mapping as soon as it is read, so verification can
 * run while the scan goes on; `pace` lets the caller hold the scan back while the
 * verification falls behind, so queued work stays bounded.
 */
export async function scanStore(
  store: KeyValueStore,
  rootKey: string,
  onForward: (mapping: ForwardMapping) => void = () => {},
  onBatch: (keysScanned: number) => void = () => {},
  pace: () => Promise<void> | undefined = () => undefined,
  inventory: Inventory = emptyInventory(rootKey),
  signal?: AbortSignal,
): Promise<Inventory> {
  const classifyKey = keyClassifier(rootKey);
  const routers = routersRoot(rootKey);
  const batches = store.scan('')[Symbol.asyncIterator]();
  // Keys whose values are being read: SCAN may return one again before its read is back.
  const beingRead = new Set<string>();
  const reading: Promise<PageRead>[] = [];
  const recordOldest = async () => {
    const { candidates, classes, entries } = await reading.shift()!;
    entries.forEach((entry, i) => {
      beingRead.delete(candidates[i]);
      if (!entry) return; // deleted since the SCAN saw it
      const mapping = addEntry(inventory, classes[i], entry);
      if (mapping) onForward(mapping);
    });
  };
  // The next SCAN runs while this batch is classified: two round trips overlap.
  let upcoming = batches.next();
  for (let result = await upcoming; !result.done; result = await upcoming) {
    upcoming = batches.next();
    upcoming.catch(() => {}); // awaited next turn; a failure surfaces there
    const batch = result.value;
    const candidates: string[] = [];
    const classes: KeyClass[] = [];
    let sinceYield = 0;
    // By index: `for…of` across the awaits below made an iterator result per key (33 MB at 100,000 domains).
    for (let k = 0; k < batch.length; k++) {
      const key = batch[k];
      if (++sinceYield === KEYS_BETWEEN_YIELDS) {
        sinceYield = 0;
        await yieldToAnswers();
      }
      // Router keys are most of the plugin's keys: recorded without a class object.
      // SCAN may return a key twice; the tables record each once.
      if (key.startsWith(routers)) {
        const slash = routerKeySlash(key, routers);
        if (slash === -1 || inventory.routers.addKeyAt(key, slash)) inventory.keysScanned++;
        continue;
      }
      const cls = classifyKey(key);
      if (cls.kind === 'foreign') {
        inventory.keysScanned++;
        continue;
      }
      if (needsValue(cls)) {
        if (isKnown(inventory, cls, key) || beingRead.has(key)) continue;
        inventory.keysScanned++;
        beingRead.add(key);
        candidates.push(key);
        classes.push(cls);
      } else if (cls.kind === 'middleware') {
        if (inventory.middlewares.addKey(key)) inventory.keysScanned++;
      }
    }
    onBatch(inventory.keysScanned);
    if (candidates.length > 0) {
      const read = readValues(store, candidates, classes);
      read.catch(() => {}); // awaited in turn; a failure surfaces there
      reading.push(read);
    }
    // Values of a few pages are read while the next pages are classified, so neither
    // the store nor this thread waits for the other; pages are recorded in SCAN order.
    while (reading.length >= PAGES_READ_AT_ONCE) await recordOldest();
    // Held back while verification catches up, which a hung Forgejo keeps from happening
    // until its requests time out: a signal ends the wait at once.
    const waiting = pace();
    if (waiting) await untilDoneOrAborted(waiting, signal);
  }
  while (reading.length > 0) await recordOldest();
  inventory.reverses.releaseIfAllPaired();
  noteUnreadableNames(inventory, store.skippedKeys?.() ?? []);
  await nameOrphanRouters(store, inventory, signal);
  const owners = await stepThrough(ownersInSteps(inventory), signal);
  inventory.anomalies.push(...findCrossAnomalies(inventory, owners));
  // Nothing after the scan changes which domains are mapped: the plan takes these.
  inventory.owners = owners;
  return inventory;
}

/**
 * The scan keeps routers by a hash of their name (see `RouterTable`): once it is
 * complete, each forward mapping marks the router it produces, and the routers left
 * unmarked (orphans, which a plan reaps by name) get their names from a second scan of
 * the router prefix, which keeps names for those alone and stops once all are named.
 * A router whose keys are gone by then stays unnamed: never planned, as if unseen.
 * Two names with one hash share an entry, so an orphan colliding with a produced
 * router looks owned and is kept: a collision only ever makes the plan smaller.
 */
export async function nameOrphanRouters(store: KeyValueStore, inventory: Inventory, signal?: AbortSignal): Promise<void> {
  const routers = inventory.routers;
  if (routers.size === 0) return;
  // A million take a second or more: signals and answers are not kept waiting meanwhile.
  await stepThrough(markOwners(inventory), signal);
  if (routers.countUnnamedOrphans() === 0) return;
  for await (const batch of store.scan(`${routersRoot(inventory.rootKey)}${ROUTER_NAME_PREFIX}`)) {
    for (const key of batch) routers.nameOrphan(key);
    if (routers.unnamedOrphans === 0) return;
  }
}

/** Each forward mapping marks the router it produces, a step at a time. */
function* markOwners(inventory: Inventory): Generator<void, void> {
  let marked = 0;
  for (const domain of inventory.forwards.keys()) {
    inventory.routers.markOwner(domain);
    if (++marked % DOMAINS_PER_STEP === 0) yield;
  }
}

/** Whether a key whose value is read was already read (SCAN may return a key twice). */
function isKnown(inventory: Inventory, cls: KeyClass, key: string): boolean {
  switch (cls.kind) {
    case 'forward':
      return inventory.forwards.has(cls.domain);
    case 'reverse':
      return inventory.reverses.has(key);
    case 'redirects-meta':
      return inventory.redirectsMeta.has(cls.domain);
    case 'grace-mark':
      return inventory.graceMarks.has(cls.domain);
    default:
      return false;
  }
}
