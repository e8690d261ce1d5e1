import { setMaxListeners } from 'node:events';
import { parsePagesConfig, type PagesConfig } from '../core/pages-config';
import { repoId } from '../core/mapping';
import { judgeByBranch, judgeByPages, unknown, type Claim, type Verdict } from '../core/verdict';
import { SourceError, type SourceOfTruth } from '../ports/source-of-truth';
import { Breaker } from './breaker';

/** After this many failures of one kind with no success at all, stop asking. */
export const BREAKER_THRESHOLD = 10;
/**
 * Checks in a row that fail the same way, after some succeeded, that stop the run: at 1.75 s
 * a check (retries with backoff against a refused connection), a Forgejo that went down
 * mid-run was asked for hours about a million domains. A run of 100 is no mere bad patch:
 * with 70% of checks failing at random, the odds of one in a million checks are about 10⁻¹⁰.
 */
export const LOST_SOURCE_STREAK = 100;

/** Answers remembered per kind (`.pages`, branch) at most. */
export const MEMO_LIMIT = 10_000;

/**
 * The most recent answers, not every answer of the run: a store of a million
 * repositories must not hold a million configs. Two generations of `limit / 2` answers:
 * once the young one is full it becomes the old one and the previous old one is dropped
 * whole, so a repository is asked again only when at least `limit / 2` others were asked
 * between two of its claims. (Evicting the oldest entry of one Map per insert costs
 * about 5 µs an answer in V8, which skips the deleted entries from the front each time.)
 */
export class RecentAnswers<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  private readonly generation: number;

  constructor(limit: number) {
    this.generation = Math.max(1, Math.floor(limit / 2));
  }

  get(key: string): V | undefined {
    const recent = this.young.get(key);
    if (recent !== undefined) return recent;
    const older = this.old.get(key);
    // Asked again: kept as recent, so it outlives the old generation.
    if (older !== undefined) this.set(key, older);
    return older;
  }

  set(key: string, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

/**
 * What an operator should look at when every check failed the same way: a Forgejo that
 * answers 5xx or not in time is failing itself (a token or a host would not mend it);
 * anything else may be the setup.
 */
function whatToCheck(signature: string): string {
  if (/^http:5\d\d$/.test(signature) || signature === 'timeout')
    return 'check that Forgejo at --forgejo-host is up and answering, then run again';
  return 'check --forgejo-host and --forgejo-token';
}

/**
 * Turns claims into verdicts against the source of truth. Every repository's `.pages`
 * is fetched once per run, however many domains it serves; every branch once.
 */
export class Verifier {
  private readonly pages = new RecentAnswers<Promise<PagesConfig | undefined>>(MEMO_LIMIT);
  private readonly branches = new RecentAnswers<Promise<boolean>>(MEMO_LIMIT);
  private readonly abort = new AbortController();
  /** What is in flight when it trips is dropped: the run knows nothing for sure. */
  private readonly breaker = new Breaker(
    BREAKER_THRESHOLD,
    (cause, calls, signature) =>
      calls >= BREAKER_THRESHOLD
        ? `stopped early: the first ${BREAKER_THRESHOLD} Forgejo checks all failed the same way (${cause}); ${whatToCheck(signature)}`
        : `stopped: ${calls === 1 ? 'the only Forgejo check' : `all ${calls} Forgejo checks`} failed the same way (${cause}); ${whatToCheck(signature)}`,
    (message) => this.abort.abort(new Error(message)),
    {
      streak: LOST_SOURCE_STREAK,
      message: (cause) =>
        `stopped: the last ${LOST_SOURCE_STREAK} Forgejo checks all failed the same way (${cause}) after earlier ones succeeded; nothing was deleted, run again once Forgejo answers`,
    },
  );

  constructor(
    private readonly source: SourceOfTruth,
    interrupt?: AbortSignal,
  ) {
    // Every queued request listens on this one signal; thousands are expected.
    setMaxListeners(0, this.abort.signal);
    if (interrupt?.aborted) this.abort.abort(interrupt.reason);
    else interrupt?.addEventListener('abort', () => this.abort.abort(interrupt.reason), { once: true });
  }

  /** Set once every check so far, or the last LOST_SOURCE_STREAK, failed the same way: the run stops asking. */
  get stoppedEarly(): string | undefined {
    return this.breaker.stopped;
  }

  /**
   * Once every claim is judged: a run whose every check failed the same way, too few to
   * trip the breaker (a store of a few domains), stops as if it had when the failure says
   * the setup is wrong (`SourceError.ofSetup`: the host cannot be reached): exit 1 and one
   * line, not a report of each domain as unknown. Failures that may be one repository's
   * (a 401 or 403 for a private repository, a 500, a timeout) stay unknown.
   */
  settle(): void {
    this.breaker.settle();
  }

  /** Claims are distinct by construction (a reverse key is only claimed when no forward maps back). */
  async verify(claim: Claim): Promise<Verdict> {
    try {
      const config = await this.memo(this.pages, repoId(claim.owner, claim.repo), () => this.fetchPages(claim.owner, claim.repo));
      const byPages = judgeByPages(claim, config);
      if (byPages !== 'check-branch') return byPages;
      const branchKey = `${repoId(claim.owner, claim.repo)}\u0000${claim.branch}`;
      const exists = await this.memo(this.branches, branchKey, () =>
        this.ask(() => this.source.branchExists(claim.owner, claim.repo, claim.branch!, this.abort.signal)),
      );
      return judgeByBranch(claim, exists);
    } catch (error) {
      return unknown(error instanceof Error ? error.message : String(error));
    }
  }

  private memo<T>(cache: RecentAnswers<Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let pending = cache.get(key);
    if (!pending) {
      pending = load();
      cache.set(key, pending);
    }
    return pending;
  }

  private async fetchPages(owner: string, repo: string): Promise<PagesConfig | undefined> {
    const lookup = await this.ask(() => this.source.pagesFile(owner, repo, this.abort.signal));
    return lookup.found ? parsePagesConfig(lookup.text) : undefined;
  }

  private ask<T>(call: () => Promise<T>): Promise<T> {
    return this.breaker.run(
      call,
      (_, error) => {
        if (error === undefined) return undefined;
        // Ended by the run's own stop (an interruption, the DNS breaker, this breaker): not
        // an answer of Forgejo's, and counted as one it tripped the lost streak and named
        // Forgejo as the cause of a stop that was the resolver's.
        if (this.abort.signal.aborted) return undefined;
        if (error instanceof SourceError && error.kind === 'misconfigured') {
          this.breaker.stop(`stopped: ${error.message}`);
          return undefined;
        }
        return {
          signature: error instanceof SourceError ? error.signature : String(error),
          cause: error instanceof Error ? error.message : String(error),
          ofSetup: error instanceof SourceError && error.ofSetup,
        };
      },
      (message) => {
        throw new Error(message);
      },
    );
  }
}
