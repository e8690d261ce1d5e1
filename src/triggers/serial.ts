/**
 * Runs tasks one at a time, in the order they asked: the sweep and the triggered runs
 * share one, so a triggered run never overlaps a sweep's deletes.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => {});
    return result;
  }
}
