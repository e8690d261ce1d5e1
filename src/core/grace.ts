import type { ForwardMapping } from './mapping';
import { GRACE_MARK_PREFIX } from './keys';
import type { Verdict } from './verdict';

/**
 * The reaper's own keys (DESIGN §4.9): when a grace period is set, the time a domain was
 * first seen stale, as `pages-reaper:stale-since:{domain}` → ISO 8601 time, with a TTL so
 * forgotten marks clean themselves up. Nothing else is ever written into the store.
 */
export { GRACE_MARK_PREFIX };

export function graceMarkKey(domain: string): string {
  return GRACE_MARK_PREFIX + domain;
}

export interface GraceMark {
  key: string;
  value: Buffer;
  /** ms since the epoch; NaN when the value is not a time (then it is rewritten). */
  since: number;
}

export interface GraceDecision {
  /** Stale domains whose grace has passed: these may be reaped. */
  due: Set<string>;
  /** Stale domains still within their grace: kept this run. */
  pending: Map<string, { since: number; dueAt: number }>;
  /** When each stale domain was first seen stale (marked or now). */
  staleSince: Map<string, number>;
  /** Marks to write: domains seen stale for the first time (or with a broken mark). */
  marksToWrite: string[];
  /** Marks to remove: their domain is live again. */
  marksToClear: GraceMark[];
}

/**
 * Who is due after the grace period. A stale verdict starts (or continues) the clock,
 * a live verdict stops it, unknown and invalid leave it as it is. Pure.
 */
export function decideGrace(
  forwards: Iterable<ForwardMapping>,
  verdicts: ReadonlyMap<string, Verdict>,
  marks: ReadonlyMap<string, GraceMark>,
  now: number,
  graceMs: number,
): GraceDecision {
  const decision: GraceDecision = { due: new Set(), pending: new Map(), staleSince: new Map(), marksToWrite: [], marksToClear: [] };
  for (const { domain } of forwards) {
    const status = verdicts.get(domain)?.status;
    const mark = marks.get(domain);
    if (status === 'live' && mark) decision.marksToClear.push(mark);
    if (status !== 'stale') continue;
    const known = mark !== undefined && Number.isFinite(mark.since) && mark.since <= now;
    const since = known ? mark.since : now;
    if (!known) decision.marksToWrite.push(domain);
    decision.staleSince.set(domain, since);
    if (now - since >= graceMs) decision.due.add(domain);
    else decision.pending.set(domain, { since, dueAt: since + graceMs });
  }
  return decision;
}
