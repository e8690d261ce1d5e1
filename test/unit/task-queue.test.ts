import { TaskQueue } from '../../src/engine/task-queue';

/** A task that runs until its `finish` is called, counting how many run at once. */
function gate(running: { now: number; most: number }) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      running.now++;
      running.most = Math.max(running.most, running.now);
      await done;
      running.now--;
    },
    finish: () => finish(),
  };
}

/** `count` gated tasks pushed onto `queue`, in order. */
function pushGates(queue: TaskQueue, count: number, running: { now: number; most: number }) {
  return Array.from({ length: count }, () => {
    const g = gate(running);
    queue.push(g.task);
    return g;
  });
}

/** A lending queue on a clock the test sets, and the count of its tasks running. */
function lendingQueue(parallel: number, most: number) {
  const clock = { now: 0 };
  const queue = new TaskQueue(parallel, { afterMs: 10, most, now: () => clock.now });
  return { clock, queue, running: { now: 0, most: 0 } };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const waitMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TaskQueue', () => {
  it('runs at most `parallel` tasks at once and the rest in order as places free', async () => {
    const queue = new TaskQueue(2);
    const running = { now: 0, most: 0 };
    const started: number[] = [];
    const gates = [0, 1, 2, 3].map((i) => {
      const g = gate(running);
      queue.push(() => (started.push(i), g.task()));
      return g;
    });
    await turn();
    expect(started).toEqual([0, 1]);
    expect(queue.queued).toBe(2);
    gates[1].finish();
    await turn();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.finish();
    await queue.drain();
    expect(started).toEqual([0, 1, 2, 3]);
    expect(running.most).toBe(2);
  });

  it('ends a failed task as a finished one', async () => {
    const queue = new TaskQueue(1);
    const ran: string[] = [];
    queue.push(() => Promise.reject(new Error('no')));
    queue.push(async () => void ran.push('next'));
    await queue.drain();
    expect(ran).toEqual(['next']);
  });

  it('wakes whoever waits for the queue to shrink below a limit', async () => {
    const queue = new TaskQueue(1);
    const first = gate({ now: 0, most: 0 });
    queue.push(first.task);
    queue.push(async () => {});
    queue.push(async () => {});
    expect(queue.whenBelow(3)).toBeUndefined();
    const below = queue.whenBelow(2);
    expect(below).toBeDefined();
    let woken = false;
    void below!.then(() => (woken = true));
    await turn();
    expect(woken).toBe(false);
    first.finish();
    await queue.drain();
    expect(woken).toBe(true);
  });

  describe('lending', () => {
    it('lets one more start for each task held up longer than afterMs, within most', async () => {
      const { clock, queue, running } = lendingQueue(2, 3);
      const gates = pushGates(queue, 5, running);
      await turn();
      expect(running.now).toBe(2);
      clock.now = 11; // both held up: places are lent, but no more than `most` run
      await waitMs(50);
      expect(running.now).toBe(3);
      expect(queue.queued).toBe(2);
      for (const g of gates) g.finish();
      await queue.drain();
      expect(running.most).toBe(3);
    });

    it('lends nothing while tasks end within afterMs', async () => {
      const { clock, queue, running } = lendingQueue(2, 8);
      const gates = pushGates(queue, 4, running);
      clock.now = 9;
      await waitMs(50);
      expect(running.now).toBe(2);
      for (const g of gates) g.finish();
      await queue.drain();
      expect(running.most).toBe(2);
    });

    it('takes lent places back once the held-up tasks end', async () => {
      const { clock, queue, running } = lendingQueue(1, 4);
      const slow = gate(running);
      queue.push(slow.task);
      const quick = pushGates(queue, 5, running);
      await turn();
      clock.now = 11; // the first is held up: one place lent
      await waitMs(50);
      expect(running.now).toBe(2);
      slow.finish(); // its place goes to the next while the loan stands
      await waitMs(50);
      expect(running.now).toBe(2);
      quick[0].finish(); // nothing held up any more: the loan is over, one at a time again
      await waitMs(50);
      expect(running.now).toBe(1);
      for (const g of quick) g.finish();
      await queue.drain();
      expect(running.most).toBe(2);
    });
  });
});
