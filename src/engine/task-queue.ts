/**
 * Runs pushed tasks with at most `parallel` of them started and unfinished. Work that
 * is merely queued is a closure, not a chain of pending promises, so memory stays flat
 * however many mappings a store holds.
 */
export class TaskQueue {
  private readonly tasks: Array<(() => Promise<void>) | undefined> = [];
  private next = 0;
  private active = 0;
  private closed = false;
  private settle: (() => void) | undefined;
  private belowWaiters: Array<{ limit: number; wake: () => void }> = [];

  constructor(private readonly parallel: number) {}

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
    while (this.active < this.parallel && this.next < this.tasks.length) {
      const task = this.tasks[this.next]!;
      this.tasks[this.next++] = undefined;
      this.active++;
      task().then(this.finished, this.finished);
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
    if (this.closed && this.active === 0 && this.next === this.tasks.length) this.settle?.();
  }
}
