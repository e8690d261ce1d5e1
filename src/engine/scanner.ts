import { addEntry, addTraefikKey, emptyInventory, findCrossAnomalies, needsValue, type ForwardMapping, type Inventory } from '../core/inventory';
import { keyClassifier, type KeyClass } from '../core/keys';
import type { KeyValueStore } from '../ports/key-value-store';

/**
 * Reads the whole keyspace once (reverse keys have no prefix of their own) and keeps
 * the plugin's keys. Values are read only for keys whose names could be ours.
 * `onForward` sees each forward mapping as soon as it is read, so verification can
 * run while the scan goes on.
 */
export async function scanStore(
  store: KeyValueStore,
  rootKey: string,
  onForward: (mapping: ForwardMapping) => void = () => {},
  onBatch: (keysScanned: number) => void = () => {},
): Promise<Inventory> {
  const inventory = emptyInventory(rootKey);
  const classifyKey = keyClassifier(rootKey);
  // SCAN may return a key twice; only candidates are remembered, to keep memory flat.
  const seenCandidates = new Set<string>();
  const batches = store.scan('')[Symbol.asyncIterator]();
  // The next SCAN runs while this batch's values are read: two round trips overlap.
  let upcoming = batches.next();
  for (let result = await upcoming; !result.done; result = await upcoming) {
    upcoming = batches.next();
    upcoming.catch(() => {}); // awaited next turn; a failure surfaces there
    const batch = result.value;
    const candidates: string[] = [];
    const classes: KeyClass[] = [];
    for (const key of batch) {
      const cls = classifyKey(key);
      if (cls.kind === 'foreign') {
        inventory.keysScanned++;
        continue;
      }
      if (seenCandidates.has(key)) continue;
      seenCandidates.add(key);
      inventory.keysScanned++;
      if (needsValue(cls)) {
        candidates.push(key);
        classes.push(cls);
      } else {
        addTraefikKey(inventory, cls, key);
      }
    }
    onBatch(inventory.keysScanned);
    if (candidates.length === 0) continue;
    const entries = await store.getMany(candidates);
    entries.forEach((entry, i) => {
      if (!entry) return; // deleted since the SCAN saw it
      const mapping = addEntry(inventory, classes[i], entry);
      if (mapping) onForward(mapping);
    });
  }
  inventory.anomalies.push(...findCrossAnomalies(inventory));
  return inventory;
}
