import { DEFAULT_BRAKE, type DeletionGroup, type Plan } from '../../src/core/planner';
import { HYDRATE_SLICE, hydrateInSlices } from '../../src/engine/plan-executor';
import type { ExpectedKey, KeyValueStore, StoredEntry } from '../../src/ports/key-value-store';

const group = (subject: string): DeletionGroup => ({
  kind: 'orphan-router',
  subject,
  reason: 'no mapping produces it',
  keys: [{ key: `traefik/http/routers/${subject}/service` }],
  guards: [],
});

const planOf = (count: number): Plan => ({
  groups: Array.from({ length: count }, (_, i) => group(`custom-s${i}`)),
  kept: [],
  brake: {
    mappedDomains: 0,
    staleDomains: 0,
    ratio: 0,
    maxStaleRatio: DEFAULT_BRAKE.maxStaleRatio,
    minDomains: 10,
    forced: false,
    tripped: false,
  },
});

/** A store whose reads answer when told to, and which records what happened in what order. */
function storeWithHeldReads(events: string[]) {
  const pending: Array<{ keys: string[]; answer: () => void; fail: (error: Error) => void }> = [];
  const store = {
    getMany(keys: string[]): Promise<Array<StoredEntry | undefined>> {
      events.push(`read ${keys[0].split('/')[3]}`);
      return new Promise((resolve, reject) => {
        pending.push({
          keys,
          answer: () => resolve(keys.map((key) => ({ key, type: 'string', value: Buffer.from('noop@internal'), expiresAt: undefined }))),
          fail: reject,
        });
      });
    },
  } as unknown as KeyValueStore;
  /** Answers (or fails) the oldest read still waiting, once one is sent. */
  const next = async (): Promise<(typeof pending)[number]> => {
    while (pending.length === 0) await new Promise((resolve) => setImmediate(resolve));
    return pending.shift()!;
  };
  return { store, next };
}

const subjects = (slice: Plan<ExpectedKey>) => `${slice.groups[0].subject}..${slice.groups[slice.groups.length - 1].subject}`;

describe('hydrateInSlices', () => {
  it("reads the next slice's values while the slice before is handled, and hands each slice over in plan order", async () => {
    const events: string[] = [];
    const { store, next } = storeWithHeldReads(events);
    const handled: string[] = [];
    let release: () => void = () => {};
    const done = hydrateInSlices(store, planOf(HYDRATE_SLICE * 2 + 1), async (slice) => {
      events.push(`each ${slice.groups[0].subject}`);
      handled.push(subjects(slice));
      // The first slice is held until the test has seen the second slice's read go out.
      if (handled.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    (await next()).answer();
    const second = await next();
    await new Promise((resolve) => setImmediate(resolve));
    // The second slice's read went out as the first slice was handed over, which is not done yet.
    expect(events).toEqual(['read custom-s0', `read custom-s${HYDRATE_SLICE}`, 'each custom-s0']);
    expect(handled).toHaveLength(1);
    release();
    second.answer();
    (await next()).answer();
    const plan = await done;
    expect(handled).toEqual([
      `custom-s0..custom-s${HYDRATE_SLICE - 1}`,
      `custom-s${HYDRATE_SLICE}..custom-s${HYDRATE_SLICE * 2 - 1}`,
      `custom-s${HYDRATE_SLICE * 2}..custom-s${HYDRATE_SLICE * 2}`,
    ]);
    expect(plan.groups.map((g) => g.subject)).toEqual(planOf(HYDRATE_SLICE * 2 + 1).groups.map((g) => g.subject));
    for (const g of plan.groups) for (const key of g.keys) expect(key.expected).toBeUndefined();
  });

  it('reports a read that failed ahead only in its turn: the slice before is handled whole, the failed one never', async () => {
    const events: string[] = [];
    const { store, next } = storeWithHeldReads(events);
    const handled: string[] = [];
    const done = hydrateInSlices(store, planOf(HYDRATE_SLICE * 3), async (slice) => {
      handled.push(subjects(slice));
      // Handling the first slice takes a while: the read ahead fails meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    (await next()).answer();
    (await next()).fail(new Error('connection lost'));
    await expect(done).rejects.toThrow('connection lost');
    expect(handled).toEqual([`custom-s0..custom-s${HYDRATE_SLICE - 1}`]);
    // Nothing was read past the slice that failed.
    expect(events.filter((e) => e.startsWith('read'))).toEqual(['read custom-s0', `read custom-s${HYDRATE_SLICE}`]);
  });

  it('stops once the signal aborts while a slice is handled: the slice read ahead is never handed over', async () => {
    const events: string[] = [];
    const { store, next } = storeWithHeldReads(events);
    const stop = new AbortController();
    const handled: string[] = [];
    const done = hydrateInSlices(
      store,
      planOf(HYDRATE_SLICE * 3),
      async (slice) => {
        handled.push(subjects(slice));
        stop.abort(new Error('interrupted'));
      },
      stop.signal,
    );
    const stopped = expect(done).rejects.toThrow('interrupted');
    (await next()).answer();
    (await next()).answer();
    await stopped;
    expect(handled).toEqual([`custom-s0..custom-s${HYDRATE_SLICE - 1}`]);
    expect(events.filter((e) => e.startsWith('read'))).toEqual(['read custom-s0', `read custom-s${HYDRATE_SLICE}`]);
  });
});
