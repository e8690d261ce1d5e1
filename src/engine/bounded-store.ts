import { setMaxListeners } from 'node:events';
import {
  answeredGroupsOf,
  withAnsweredGroups,
  type GroupDeleteOutcome,
  type KeyValueStore,
  type PutMode,
  type PutOutcome,
  type StoredEntry,
  type ReadOptions,
} from '../ports/key-value-store';
import { ExplainedError } from './explained-error';
import { connectionLossDetail } from '../core/connection-loss';

export { connectionLossDetail };

/** Whatever the port's delete takes: BoundedStore only passes it on. */
type DeleteGroups = Parameters<KeyValueStore['deleteGroupsIfUnchanged']>[0];

/** What the plugins' own clients say when their deadline passes (ioredis, grpc/etcd3). */
const CLIENT_TIMEOUT = /timed? ?out|deadline exceeded/i;

/**
 * A store lost mid-run, as one line naming the store, what the run was doing and the fix,
 * instead of the client's own words ("Reached the max retries per request limit (which is
 * 2). Refer to "maxRetriesPerRequest" option for details."; "14 UNAVAILABLE: Connection dropped").
 */
export class StoreLostError extends ExplainedError {
  constructor(store: string, doing: string, detail: string, cause: unknown) {
    super(`lost the store ${store} while ${doing} (${detail})`, 'check that it is up and reachable, then run again', { cause });
  }
}

export function storeTimeoutMessage(store: string, timeoutMs: number, doing: string): string {
  return `the store ${store} did not answer within ${timeoutMs / 1000} s (${doing}); check that it is up and reachable, or raise --store-timeout (REAPER_STORE_TIMEOUT)`;
}

/**
 * An interrupt lets a delete batch already sent finish for this long (on a Redis
 * Cluster a batch is many calls): below the CLI's 3 s watchdog.
 */
export const DELETE_GRACE_MS = 2000;

/**
 * Runs `call`, but gives up after `timeoutMs` (rejecting with `onTimeout()`) or when
 * `signal` aborts (rejecting with its reason; after `abortGraceMs` if the call has
 * not ended by then). What `call` does after that is dropped; the caller closes the
 * client.
 */
export function bounded<T>(
  call: () => Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
  abortGraceMs = 0,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      const giveUp = () => {
        cleanup();
        reject(signal!.reason);
      };
      if (abortGraceMs > 0) grace = setTimeout(giveUp, abortGraceMs);
      else giveUp();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(onTimeout());
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      cleanup();
      reject(error);
      return;
    }
    pending.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/**
 * Every operation of a store, bounded (DESIGN §4.10): none waits longer than
 * `--store-timeout`, and an interrupt ends the wait at once. A timeout, ours or the
 * client's own, is one message naming the store and the flag.
 */
export class BoundedStore implements KeyValueStore {
  /** The inner store's bound on one atomic group, when it has one (etcd). */
  readonly maxGroupSize?: () => number;
  readonly checksPerKey?: () => number;
  readonly holdsOnlyStrings?: () => boolean;

  constructor(
    private readonly inner: KeyValueStore,
    private readonly timeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    // Every call in flight listens on the one interrupt; a cluster read has many.
    if (signal) setMaxListeners(0, signal);
    if (inner.maxGroupSize) this.maxGroupSize = () => inner.maxGroupSize!();
    if (inner.checksPerKey) this.checksPerKey = () => inner.checksPerKey!();
    if (inner.holdsOnlyStrings) this.holdsOnlyStrings = () => inner.holdsOnlyStrings!();
    if (inner.markReads) this.markReads = () => this.bound('reading', () => inner.markReads!());
    if (inner.readOnlyReason) this.readOnlyReason = () => this.bound('reading', () => inner.readOnlyReason!());
  }

  readonly markReads?: () => Promise<void>;
  readonly readOnlyReason?: () => Promise<string | undefined>;

  describe(): string {
    return this.inner.describe();
  }

  roundTrips(): number {
    return this.inner.roundTrips();
  }

  skippedKeys(): string[] {
    return this.inner.skippedKeys?.() ?? [];
  }

  async *scan(prefix: string): AsyncIterable<string[]> {
    const iterator = this.inner.scan(prefix)[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        const next = await this.bound('scanning', () => iterator.next());
        if (next.done) {
          finished = true;
          return;
        }
        yield next.value;
      }
    } finally {
      // Not awaited: a generator stuck in a hung call would never answer.
      if (!finished) void Promise.resolve(iterator.return?.(undefined)).catch(() => {});
    }
  }

  getMany(keys: string[], options?: ReadOptions): Promise<Array<StoredEntry | undefined>> {
    return this.bound('reading', () => this.inner.getMany(keys, options));
  }

  putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
    return this.bound('writing', () => this.inner.putMany(entries, mode));
  }

  /** A batch already sent is let finish (briefly) on interrupt: the batch in hand completes. */
  deleteGroupsIfUnchanged(groups: DeleteGroups): Promise<GroupDeleteOutcome[]> {
    return this.bound('deleting', () => this.inner.deleteGroupsIfUnchanged(groups), DELETE_GRACE_MS);
  }

  /**
   * Closing never holds a run up: a store that does not answer is simply left. An
   * interrupted run does not wait for it at all: after the batch in hand's grace, a frozen
   * store's QUIT (a second more) took the unwinding past the CLI's 3 s watchdog, which
   * ended the process without saying how far the deletes got, their backup or the metrics.
   */
  async close(): Promise<void> {
    if (this.signal?.aborted) {
      void Promise.resolve()
        .then(() => this.inner.close())
        .catch(() => {});
      return;
    }
    await bounded(
      () => this.inner.close(),
      Math.min(this.timeoutMs, 2000),
      () => new Error('close timed out'),
    ).catch(() => {});
  }

  private async bound<T>(doing: string, call: () => Promise<T>, abortGraceMs = 0): Promise<T> {
    const timeout = () => new Error(storeTimeoutMessage(this.describe(), this.timeoutMs, doing));
    try {
      return await bounded(call, this.timeoutMs, timeout, this.signal, abortGraceMs);
    } catch (error) {
      if (this.signal?.aborted) throw this.signal.reason;
      if (!(error instanceof Error) || error instanceof ExplainedError) throw error;
      // The groups a failed delete call had deleted go with the error that says it.
      const answered = answeredGroupsOf(error);
      const carrying = (said: Error) => (answered ? withAnsweredGroups(said, answered) : said);
      if (CLIENT_TIMEOUT.test(error.message) && !error.message.includes('--store-timeout')) throw carrying(timeout());
      const lost = connectionLossDetail(error.message);
      if (lost !== undefined) throw carrying(new StoreLostError(this.describe(), doing, lost, error));
      throw error;
    }
  }
}
