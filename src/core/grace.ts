import { forwardValue, parseForwardValue, repoId, type ForwardMapping, type RepoTarget } from './mapping';
import { GRACE_MARK_PREFIX } from './keys';
import type { Verdict } from './verdict';

/**
 * The reaper's own keys (DESIGN §4.9): when a grace period is set, the time a domain was
 * first seen stale and the mapping it was stale with, as `pages-reaper:stale-since:{domain}`
 * → `{ISO 8601 time} {owner:repo[:branch]}`, with a TTL so forgotten marks clean
 * themselves up. Nothing else is ever written into the store.
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
  /**
   * The repository the domain was mapped to when it was first seen stale. A mark times the
   * staleness of that registration only: the domain's keys may be deleted by another tool
   * and registered again for someone else, whose grace starts when their mapping goes
   * stale. Undefined for a mark written before marks named it (just a time): it holds for
   * whatever the domain maps to, as it did then.
   */
  staleFor?: RepoTarget;
}

/** A mark as read from the store. */
export function readGraceMark(key: string, value: Buffer): GraceMark {
  const text = value.toString('utf8');
  const space = text.indexOf(' ');
  if (space === -1) return { key, value, since: Date.parse(text) };
  const target = parseForwardValue(text.slice(space + 1));
  // A mark that names no mapping is broken, like one that holds no time: it is rewritten.
  return { key, value, since: target.ok ? Date.parse(text.slice(0, space)) : NaN, staleFor: target.ok ? target.target : undefined };
}

/** The value of a mark: when `target` was first seen stale for the domain. */
export function graceMarkValue(since: number, target: RepoTarget): Buffer {
  return Buffer.from(`${new Date(since).toISOString()} ${forwardValue(target)}`);
}

/** Whether `mark` times the staleness of the registration `mapping` is now. */
function marksThisRegistration(mark: GraceMark, mapping: ForwardMapping): boolean {
  if (mark.staleFor === undefined) return true;
  const now = mapping.target;
  return (
    now !== undefined &&
    repoId(now.owner, now.repo) === repoId(mark.staleFor.owner, mark.staleFor.repo) &&
    now.branch === mark.staleFor.branch
  );
}

export interface GraceDecision {
  /** Stale domains whose grace has passed: these may be reaped. */
  due: Set<string>;
  /** Stale domains still within their grace: kept this run. */
  pending: Map<string, { since: number; dueAt: number }>;
  /** When each stale domain was first seen stale (marked or now). */
  staleSince: Map<string, number>;
  /**
   * Marks to write: domains seen stale for the first time, with a broken mark, or with a
   * mark of an earlier registration.
   */
  marksToWrite: string[];
  /** Marks to remove: their domain is live again, or no longer mapped at all. */
  marksToClear: GraceMark[];
}

/**
 * Who is due after the grace period. A stale verdict starts (or continues) the clock of
 * the registration it judged, a live verdict stops it, unknown and invalid leave it as it
 * is. With `isMapped`, the marks of domains no longer mapped (their keys deleted by a tool
 * other than this reaper) are cleared too, so that whoever registers such a domain next
 * gets a grace of their own. Pure.
 */
export function decideGrace(
  forwards: Iterable<ForwardMapping>,
  verdicts: ReadonlyMap<string, Verdict>,
  marks: ReadonlyMap<string, GraceMark>,
  now: number,
  graceMs: number,
  isMapped?: (domain: string) => boolean,
): GraceDecision {
  const decision: GraceDecision = { due: new Set(), pending: new Map(), staleSince: new Map(), marksToWrite: [], marksToClear: [] };
  for (const mapping of forwards) {
    const { domain } = mapping;
    const status = verdicts.get(domain)?.status;
    const mark = marks.get(domain);
    if (status === 'live' && mark) decision.marksToClear.push(mark);
    if (status !== 'stale') continue;
    const known = mark !== undefined && Number.isFinite(mark.since) && mark.since <= now && marksThisRegistration(mark, mapping);
    const since = known ? mark.since : now;
    if (!known) decision.marksToWrite.push(domain);
    decision.staleSince.set(domain, since);
    if (now - since >= graceMs) decision.due.add(domain);
    else decision.pending.set(domain, { since, dueAt: since + graceMs });
  }
  if (isMapped) for (const [domain, mark] of marks) if (!isMapped(domain)) decision.marksToClear.push(mark);
  return decision;
}
