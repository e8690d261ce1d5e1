/** How a queue may start more than `parallel` tasks while some of them are held up. */
export interface Lending {
  /** A task running longer than this (a request waiting out its retry's backoff, a slow answer) lends its place. */
  afterMs: number;
  /** Tasks started and unfinished at most, lent places included. */
  most: number;
  /** Milliseconds, monotonic; `performance.now` unless a test gives its own. */
  now?: () => number;
}

/**
 * Runs pushed tasks with at most `parallel` of them started and unfinished. Work that
 * is merely queued is a closure, not a chain of pending promises, so memory stays flat
 * however many mappings a store holds.
 *
 * With `lending`, a task that has run longer than `lending.afterMs` lets one more start,
 * up to `lending.most` in all: verification runs as many claims as requests may be in
 * flight, and a claim whose request waits out a retry's backoff would otherwise hold its
 * place idle (with 5% of answers a 503, a 10,000-domain `verify` took 10.5 s instead of
 * about 4 s). Started ahead of need, claims wait at the source's limiter with their chains of
 * promises, which the young generation copies until it promotes them: four times as many
 * as requests in flight cost a reap at 64 in flight 12–14% more CPU.
 */
export class TaskQueue {
  private readonly tasks: Array<(() => Promise<void>) | undefined> = [];
  private next = 0;
  private active = 0;
  private closed = false;
  private settle: (() => void) | undefined;
  private belowWaiters: Array<{ limit: number; wake: () => void }> = [];
  /** When each running task started, by the place it holds (lending only); NaN: a free place. */
  private readonly startedAt: Float64Array | undefined;
  private readonly freePlaces: number[] = [];
  private lent = 0;
  private lendingCheck: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly parallel: number,
    private readonly lending?: Lending,
  ) {
    this.now = lending?.now ?? (() => performance.now());
    if (lending) {
      this.startedAt = new Float64Array(Math.max(parallel, lending.most)).fill(NaN);
      for (let place = this.startedAt.length - 1; place >= 0; place--) this.freePlaces.push(place);
    }
  }

  /** A task's end, failed or not: one function for every task, and one promise each (a run pushes one a mapping). */
  private readonly finished = (): void => {
    this.active--;
    this.pump();
  };

  push(task: () => Promise<void>): void {
    this.tasks.push(task);
    this.pump();
  }

  /** Tasks pushed and not yet started. */
  get queued(): number {
    return this.tasks.length - this.next;
  }

  /** Undefined when fewer than `limit` tasks wait; else resolves once they do. */
  whenBelow(limit: number): Promise<void> | undefined {
    if (this.queued < limit) return undefined;
    return new Promise((wake) => this.belowWaiters.push({ limit, wake }));
  }

  /** Resolves once every pushed task has finished; push nothing after this. */
  drain(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => {
      this.settle = resolve;
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.parallel + this.lent && this.next < this.tasks.length) {
      const task = this.tasks[this.next]!;
      this.tasks[this.next++] = undefined;
      this.active++;
      if (this.startedAt) this.startHeld(task);
      else task().then(this.finished, this.finished);
    }
    // Started tasks leave the array now and then, so it holds only what waits.
    if (this.next > 1024 && this.next * 2 > this.tasks.length) {
      this.tasks.splice(0, this.next);
      this.next = 0;
    }
    if (this.belowWaiters.length > 0) {
      const waiting = this.queued;
      this.belowWaiters = this.belowWaiters.filter(({ limit, wake }) => (waiting < limit ? (wake(), false) : true));
    }
    if (this.active === 0 && this.lendingCheck) {
      clearInterval(this.lendingCheck);
      this.lendingCheck = undefined;
      this.lent = 0;
    }
    if (this.closed && this.active === 0 && this.next === this.tasks.length) this.settle?.();
  }

  /** Starts a task in a place of its own, so that how long it has run can be told. */
  private startHeld(task: () => Promise<void>): void {
    const place = this.freePlaces.pop()!;
    this.startedAt![place] = this.now();
    const done = () => {
      this.startedAt![place] = NaN;
      this.freePlaces.push(place);
      this.finished();
    };
    this.lendingCheck ??= setInterval(() => this.countHeldUp(), Math.max(1, this.lending!.afterMs / 2)).unref();
    task().then(done, done);
  }

  /** Lends a place for each task running longer than `afterMs`, within `most`. */
  private countHeldUp(): void {
    const since = this.now() - this.lending!.afterMs;
    let heldUp = 0;
    for (const started of this.startedAt!) if (started <= since) heldUp++;
    this.lent = Math.max(0, Math.min(heldUp, this.lending!.most - this.parallel));
    this.pump();
  }
}
