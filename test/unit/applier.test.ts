import type { DeletionGroup } from '../../src/core/planner';
import { APPLY_BATCH, APPLY_BATCH_WEIGHT, applyBatches } from '../../src/engine/applier';

const group = (subject: string, keys: number, guards = 0): DeletionGroup => ({
  kind: 'domain',
  subject,
  reason: 'stale',
  keys: Array.from({ length: keys }, (_, i) => ({ key: `${subject}/k${i}` })),
  guards: Array.from({ length: guards }, (_, i) => ({ key: `custom_domain:${subject}-${i}`, expected: null })),
});
const weightOf = (batch: DeletionGroup[]) => batch.reduce((sum, g) => sum + g.keys.length + g.guards.length, 0);

describe('applyBatches', () => {
  it('keeps the plan order and bounds every store call by groups and by keys plus guards', () => {
    // A stale domain as the bench's plugin writes it: 9 keys and 3 absent guards.
    const groups = Array.from({ length: 1000 }, (_, i) => group(`site${i}`, 9, 3));
    const batches = applyBatches(groups);
    expect(batches.flat()).toEqual(groups);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(APPLY_BATCH);
      expect(weightOf(batch)).toBeLessThanOrEqual(APPLY_BATCH_WEIGHT);
    }
    expect(batches).toHaveLength(Math.ceil(1000 / Math.floor(APPLY_BATCH_WEIGHT / 12)));
  });

  it('stops at APPLY_BATCH groups when the groups are light', () => {
    const groups = Array.from({ length: APPLY_BATCH + 1 }, (_, i) => group(`k${i}`, 1));
    expect(applyBatches(groups).map((batch) => batch.length)).toEqual([APPLY_BATCH, 1]);
  });

  it('sends a group heavier than the bound alone, never split', () => {
    const heavy = group('router', 7, 1024);
    const batches = applyBatches([group('a', 9, 3), heavy, group('b', 9, 3)]);
    expect(batches.map((batch) => batch.map((g) => g.subject))).toEqual([['a'], ['router'], ['b']]);
    expect(batches[1][0].guards).toHaveLength(1024);
  });

  it('makes no batch of no groups', () => {
    expect(applyBatches([])).toEqual([]);
  });
});
