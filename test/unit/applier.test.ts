import type { DeletionGroup } from '../../src/core/planner';
import { APPLY_BATCH, APPLY_BATCH_WEIGHT, applyBatches, applyInOrder, groupWeight, nothingDeletedYet } from '../../src/engine/applier';
import { deleteInChains } from '../../src/plugin-kit';
import { answeredGroupsOf, withAnsweredGroups, type KeyValueStore } from '../../src/ports/key-value-store';

const group = (subject: string, keys: number, guards = 0): DeletionGroup => ({
  kind: 'domain',
  subject,
  reason: 'stale',
  keys: Array.from({ length: keys }, (_, i) => ({ key: `${subject}/k${i}` })),
  guards: Array.from({ length: guards }, (_, i) => ({ key: `custom_domain:${subject}-${i}`, expected: null })),
});
const weightOf = (batch: DeletionGroup[]) => batch.reduce((sum, g) => sum + groupWeight(g), 0);

describe('applyBatches', () => {
  it('keeps the plan order and bounds every store call by groups and by keys plus guards', () => {
    // A stale domain as the bench's plugin writes it: 9 keys and 3 absent guards.
    const groups = Array.from({ length: 1000 }, (_, i) => group(`site${i}`, 9, 3));
    const batches = [...applyBatches(groups)];
    expect(batches.flat()).toEqual(groups);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(APPLY_BATCH);
      expect(weightOf(batch)).toBeLessThanOrEqual(APPLY_BATCH_WEIGHT);
    }
    expect(batches).toHaveLength(Math.ceil(1000 / Math.floor(APPLY_BATCH_WEIGHT / 10)));
  });

  it('weighs a guard that must be absent a quarter of a key (one EXISTS checks them all), a guard with a value as a key', () => {
    expect(groupWeight(group('a', 9, 3))).toBe(10);
    expect(groupWeight(group('a', 10, 255))).toBe(10 + 64);
    const valued = { ...group('a', 10), guards: [{ key: 'custom_domain:b', expected: Buffer.from('bob:b') }] };
    expect(groupWeight(valued)).toBe(11);
    // A domain of eight separators: 255 absent guards. Weighed as keys each went alone in a call.
    const batches = [...applyBatches(Array.from({ length: 9 }, (_, i) => group(`d${i}`, 10, 255)))];
    expect(batches.map((batch) => batch.length)).toEqual([3, 3, 3]);
  });

  it('stops at APPLY_BATCH groups when the groups are light', () => {
    const groups = Array.from({ length: APPLY_BATCH + 1 }, (_, i) => group(`k${i}`, 1));
    expect([...applyBatches(groups)].map((batch) => batch.length)).toEqual([APPLY_BATCH, 1]);
  });

  it('sends a group heavier than the bound alone, never split', () => {
    const heavy = group('router', 7, 1024);
    const batches = [...applyBatches([group('a', 9, 3), heavy, group('b', 9, 3)])];
    expect(batches.map((batch) => batch.map((g) => g.subject))).toEqual([['a'], ['router'], ['b']]);
    expect(batches[1][0].guards).toHaveLength(1024);
  });

  it('makes no batch of no groups', () => {
    expect([...applyBatches([])]).toEqual([]);
  });
});

describe('applyInOrder', () => {
  const batchOf = (subject: string) => [{ ...group(subject, 2), keys: [{ key: `${subject}/k`, expected: Buffer.from('v') }] }];

  /** A store whose calls answer when told to, noting what happens in what order. */
  function steppedStore(events: string[]) {
    const answers: Array<() => void> = [];
    let inFlight = 0;
    const store = {
      deleteGroupsIfUnchanged(groups: Array<{ keys: Array<{ key: string }> }>) {
        const name = groups[0].keys[0].key.split('/')[0];
        inFlight++;
        events.push(`call ${name} (${inFlight} in flight)`);
        return new Promise((resolve, reject) =>
          answers.push(() => {
            inFlight--;
            events.push(`answer ${name}`);
            if (name === 'fails') reject(new Error('store failed'));
            else resolve(groups.map(() => 'deleted'));
          }),
        );
      },
    } as unknown as KeyValueStore;
    const answerNext = async () => {
      while (answers.length === 0) await new Promise((resolve) => setImmediate(resolve));
      answers.shift()!();
    };
    return { store, answerNext };
  }

  async function* made(events: string[], subjects: string[], failAt?: string) {
    for (const subject of subjects) {
      events.push(`make ${subject}`);
      if (subject === failAt) throw new Error(`cannot make ${subject}`);
      yield batchOf(subject);
    }
  }

  it('sends each call once the previous one answered, making the next batch meanwhile', async () => {
    const events: string[] = [];
    const { store, answerNext } = steppedStore(events);
    const applied = applyInOrder(store, made(events, ['a', 'b', 'c']));
    for (let i = 0; i < 3; i++) await answerNext();
    expect(await applied).toEqual(['deleted', 'deleted', 'deleted']);
    expect(events).toEqual([
      'make a',
      'call a (1 in flight)',
      'make b',
      'answer a',
      'call b (1 in flight)',
      'make c',
      'answer b',
      'call c (1 in flight)',
      'answer c',
    ]);
  });

  it('sends nothing more after a call fails', async () => {
    const events: string[] = [];
    const { store, answerNext } = steppedStore(events);
    const applied = applyInOrder(store, made(events, ['fails', 'b', 'c']));
    await answerNext();
    await expect(applied).rejects.toThrow('store failed');
    expect(events.filter((event) => event.startsWith('call'))).toEqual(['call fails (1 in flight)']);
  });

  it('waits for the call in flight before passing on a failure to make the next batch', async () => {
    const events: string[] = [];
    const { store, answerNext } = steppedStore(events);
    const applied = applyInOrder(store, made(events, ['a', 'b'], 'b'));
    let settled = false;
    applied.catch(() => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    await answerNext();
    await expect(applied).rejects.toThrow('cannot make b');
    expect(events).toEqual(['make a', 'call a (1 in flight)', 'make b', 'answer a']);
  });

  it('counts what the calls that answered deleted, and what the call in flight deleted when making the next batch failed', async () => {
    const events: string[] = [];
    const { store, answerNext } = steppedStore(events);
    const tally = nothingDeletedYet();
    const applied = applyInOrder(store, made(events, ['a', 'b', 'c'], 'c'), undefined, [], tally);
    await answerNext();
    await answerNext();
    await expect(applied).rejects.toThrow('cannot make c');
    expect(tally).toEqual({ groups: 2, domains: 2, orphans: 0, keys: 2 });
  });

  it('counts the groups a call that failed midway had deleted, on a store of one atomic step per group', async () => {
    const tally = nothingDeletedYet();
    const batch = [
      { ...group('a', 3), keys: group('a', 3).keys.map((k) => ({ ...k, expected: Buffer.from('v') })) },
      { ...group('b', 2), kind: 'orphan-router' as const, keys: group('b', 2).keys.map((k) => ({ ...k, expected: Buffer.from('v') })) },
      { ...group('c', 4), keys: group('c', 4).keys.map((k) => ({ ...k, expected: Buffer.from('v') })) },
    ];
    const store = {
      deleteGroupsIfUnchanged: () => Promise.reject(withAnsweredGroups(new Error('lost'), ['deleted', 'deleted', undefined])),
    } as unknown as KeyValueStore;
    await expect(applyInOrder(store, [batch], undefined, [], tally)).rejects.toThrow('lost');
    expect(tally).toEqual({ groups: 2, domains: 1, orphans: 1, keys: 5 });
  });

  it('checks the signal before each call', async () => {
    const events: string[] = [];
    const { store, answerNext } = steppedStore(events);
    const abort = new AbortController();
    const applied = applyInOrder(store, made(events, ['a', 'b']), abort.signal);
    while (!events.includes('make b')) await new Promise((resolve) => setImmediate(resolve));
    abort.abort(new Error('interrupted'));
    await answerNext();
    await expect(applied).rejects.toThrow('interrupted');
    expect(events.filter((event) => event.startsWith('call'))).toEqual(['call a (1 in flight)']);
  });
});

describe('deleteInChains', () => {
  const guarded = (key: string) => ({ keys: [{ key, expected: Buffer.from('v') }] });

  it('starts no step once one failed, waits for those in flight, and marks the error with what each group answered', async () => {
    const started: string[] = [];
    let finishSlow: () => void = () => {};
    const slowDone = new Promise<void>((resolve) => (finishSlow = resolve));
    let slowAnswered = false;
    const groups = ['slow', 'fails', 'c', 'd', 'e'].map(guarded);
    const failed = deleteInChains(groups, 2, async (group) => {
      const key = group.keys[0].key;
      started.push(key);
      if (key === 'fails') throw new Error('lost the store');
      if (key === 'slow') {
        await slowDone;
        slowAnswered = true;
      }
      return 'deleted';
    });
    let settled = false;
    failed.catch(() => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // The failure waits for the step in flight; no other step starts.
    expect(settled).toBe(false);
    expect(started).toEqual(['slow', 'fails']);
    finishSlow();
    const error = await failed.catch((e: unknown) => e);
    expect(slowAnswered).toBe(true);
    expect((error as Error).message).toBe('lost the store');
    expect(answeredGroupsOf(error)).toEqual(['deleted', undefined, undefined, undefined, undefined]);
    expect(started).toEqual(['slow', 'fails']);
  });

  it('answers every group when every step answers', async () => {
    const groups = ['a', 'b', 'c'].map(guarded);
    expect(await deleteInChains(groups, 2, async (group) => (group.keys[0].key === 'b' ? 'changed' : 'deleted'))).toEqual([
      'deleted',
      'changed',
      'deleted',
    ]);
  });
});
