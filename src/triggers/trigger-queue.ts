import type { TriggerTarget } from './deliveries';
import { repoId } from '../core/mapping';

/** One repository waiting to be verified, with every delivery merged into it. */
export interface PendingTrigger {
  owner: string;
  repo: string;
  /** Undefined: the whole repository; otherwise only these branches. */
  branches?: Set<string>;
  /** The latest delivery showed `.pages` written on the default branch (`TriggerTarget.pagesWritten`). */
  pagesWritten?: boolean;
  /** When the deliveries merged here arrived (ms), the first few: for the latency histogram. */
  receivedAt: number[];
  deliveries: number;
  /** Not verified before this time: one verification per repository per window. */
  notBefore: number;
}

export type OfferOutcome = 'queued' | 'deduplicated' | 'queue_full';

export interface TriggerQueueOptions {
  /** Repositories waiting at most; a delivery for another one is refused (429). */
  capacity: number;
  /** A repository is verified at most once per this many ms; deliveries in between merge. */
  windowMs: number;
  now?: () => number;
}

/** Arrival times kept per repository: enough for the histogram, bounded under a storm. */
const MAX_TIMES = 32;

/**
 * The bounded queue between the webhook endpoint and the engine. Memory is bounded by
 * `capacity` pending repositories (plus the start times of those verified in the last
 * window); a push storm on one repository is one entry.
 */
export class TriggerQueue {
  private readonly pending = new Map<string, PendingTrigger>();
  /** When each repository's last verification started, kept for one window. */
  private readonly started = new Map<string, number>();
  private readonly now: () => number;
  private listener: (() => void) | undefined;

  constructor(private readonly options: TriggerQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Called whenever something was queued (the worker wakes up). */
  onOffer(listener: () => void): void {
    this.listener = listener;
  }

  offer(target: TriggerTarget, receivedAt = this.now()): OfferOutcome {
    const id = repoId(target.owner, target.repo);
    const existing = this.pending.get(id);
    if (existing) {
      if (target.branches === undefined) existing.branches = undefined;
      else if (existing.branches) for (const branch of target.branches) existing.branches.add(branch);
      // The latest delivery says what `.pages` is now: one that does not say clears it.
      existing.pagesWritten = target.pagesWritten;
      existing.deliveries++;
      if (existing.receivedAt.length < MAX_TIMES) existing.receivedAt.push(receivedAt);
      return 'deduplicated';
    }
    if (this.pending.size >= this.options.capacity) return 'queue_full';
    const lastStart = this.started.get(id);
    this.pending.set(id, {
      owner: target.owner,
      repo: target.repo,
      branches: target.branches ? new Set(target.branches) : undefined,
      pagesWritten: target.pagesWritten,
      receivedAt: [receivedAt],
      deliveries: 1,
      notBefore: lastStart === undefined ? receivedAt : Math.max(receivedAt, lastStart + this.options.windowMs),
    });
    this.listener?.();
    return 'queued';
  }

  /** Takes up to `max` repositories whose window allows a verification now, and marks them started. */
  takeReady(max: number): PendingTrigger[] {
    const now = this.now();
    for (const [id, at] of this.started) if (now - at >= this.options.windowMs) this.started.delete(id);
    const ready: PendingTrigger[] = [];
    for (const [id, item] of this.pending) {
      if (ready.length >= max) break;
      if (item.notBefore > now) continue;
      this.pending.delete(id);
      this.started.set(id, now);
      ready.push(item);
    }
    return ready;
  }

  /** ms until the next repository may be taken; undefined when nothing waits. */
  nextReadyIn(): number | undefined {
    if (this.pending.size === 0) return undefined;
    const now = this.now();
    let soonest = Infinity;
    for (const item of this.pending.values()) soonest = Math.min(soonest, item.notBefore - now);
    return Math.max(0, soonest);
  }
}
