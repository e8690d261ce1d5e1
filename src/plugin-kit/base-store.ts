import { textKeyNames } from '../core/keys';
import type {
  GroupDeleteOutcome,
  GuardedGroup,
  KeyValueStore,
  PutMode,
  PutOutcome,
  ReadOptions,
  StoredEntry,
} from '../ports/key-value-store';

/**
 * What every store shares, as external-dns's `BaseProvider`: where it is (`describe`),
 * the requests it sent (`trips`, counted by the subclass at each request), the key names
 * its scans could not hand over as text (`unnamed`) and the guard that makes every call
 * after `close()` reject. A store extends it and writes the five operations its client
 * does differently; `disconnect()` runs once, on the first `close()`.
 */
export abstract class BaseStore implements KeyValueStore {
  /** Requests sent so far: add one per request (a pipeline, a script run, a transaction). */
  protected trips = 0;
  /** Key names that are not UTF-8, escaped: pass it to `textKeyNames`. */
  protected readonly unnamed: string[] = [];
  private closed = false;

  constructor(protected readonly description: string) {}

  describe(): string {
    return this.description;
  }

  roundTrips(): number {
    return this.trips;
  }

  skippedKeys(): string[] {
    return [...this.unnamed];
  }

  /** Key names as text; a name that is not UTF-8 is kept for `skippedKeys()` instead. */
  protected textKeys(names: Buffer[]): string[] {
    return textKeyNames(names, this.unnamed);
  }

  /** Throws once the store is closed: no request goes out after `close()`. */
  protected ensureOpen(): void {
    if (this.closed) throw new Error(this.closedMessage());
  }

  /** The message of a call made after `close()`. */
  protected closedMessage(): string {
    return `store ${this.description} is closed`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.disconnect();
  }

  /** Ends the client's connection; called once, by the first `close()`. */
  protected abstract disconnect(): Promise<void>;

  abstract scan(prefix: string): AsyncIterable<string[]>;
  abstract getMany(keys: string[], options?: ReadOptions): Promise<Array<StoredEntry | undefined>>;
  abstract putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]>;
  abstract deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]>;
}
