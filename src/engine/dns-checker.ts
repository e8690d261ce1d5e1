import { judgeOwnership, lookupName, type DnsEvidence, type TxtAnswer } from '../core/dns-ownership';
import type { Claim } from '../core/verdict';
import type { TxtResolver } from '../ports/txt-resolver';
import { Breaker } from './breaker';

/** After this many lookups failing alike with no answer at all, stop asking (as for Forgejo). */
export const DNS_BREAKER_THRESHOLD = 10;
/**
 * Lookups in a row that fail the same way, after some were answered, that stop the run (as
 * for Forgejo: `LOST_SOURCE_STREAK`): a resolver that went away mid-run would otherwise be
 * asked about every live domain left, each lookup waiting out --dns-timeout.
 */
export const DNS_LOST_STREAK = 100;

/**
 * The DNS half of `--verify-dns`: one TXT lookup per name per run (a domain and its
 * branch subdomains share one), the evidence per claim, and a breaker. An answer —
 * records, NODATA or NXDOMAIN — counts as a success; SERVFAIL, REFUSED, timeouts and
 * network errors are failures, counted by a `Breaker` as the Forgejo checks are.
 * Concurrency is bounded by the caller's queue.
 */
export class DnsChecker {
  private readonly answers = new Map<string, Promise<TxtAnswer>>();
  private readonly onStop: Array<(message: string) => void> = [];
  private readonly breaker = new Breaker(
    DNS_BREAKER_THRESHOLD,
    (cause) =>
      `stopped early: the first ${DNS_BREAKER_THRESHOLD} DNS lookups all failed the same way (${cause}); check --dns-server and the resolver`,
    (message) => {
      this.resolver.cancel();
      for (const listener of this.onStop) listener(message);
    },
    {
      streak: DNS_LOST_STREAK,
      message: (cause) =>
        `stopped: the last ${DNS_LOST_STREAK} DNS lookups all failed the same way (${cause}) after earlier ones were answered; nothing was deleted, run again once the resolver answers`,
    },
  );

  constructor(
    private readonly resolver: TxtResolver,
    interrupt?: AbortSignal,
  ) {
    interrupt?.addEventListener('abort', () => this.resolver.cancel(), { once: true });
  }

  /** Set once the first lookups, or the last DNS_LOST_STREAK, all failed the same way: the run stops. */
  get stoppedEarly(): string | undefined {
    return this.breaker.stopped;
  }

  /** Called once, when the breaker trips. */
  whenStopped(listener: (message: string) => void): void {
    this.onStop.push(listener);
  }

  describe(): string {
    return this.resolver.describe();
  }

  lookupCount(): number {
    return this.resolver.lookupCount();
  }

  async check(claim: Claim): Promise<DnsEvidence> {
    const name = lookupName(claim).toLowerCase();
    let answer = this.answers.get(name);
    if (!answer) {
      answer = this.ask(name);
      this.answers.set(name, answer);
    }
    return judgeOwnership(claim, name, await answer);
  }

  private ask(name: string): Promise<TxtAnswer> {
    return this.breaker.run(
      () => this.resolver.lookup(name),
      // An answer (records, NODATA, NXDOMAIN) is a success; an error code is a failure.
      (answer) => (answer?.kind === 'error' ? { signature: answer.code, cause: answer.detail } : undefined),
      (message) => ({ kind: 'error', code: 'EBREAKER', detail: message }),
    );
  }
}
