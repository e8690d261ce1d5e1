import { judgeOwnership, lookupName, type DnsEvidence, type TxtAnswer } from '../core/dns-ownership';
import type { Claim } from '../core/verdict';
import type { TxtResolver } from '../ports/txt-resolver';

/** After this many lookups failing alike with no answer at all, stop asking (as for Forgejo). */
export const DNS_BREAKER_THRESHOLD = 10;

/**
 * The DNS half of `--verify-dns`: one TXT lookup per name per run (a domain and its
 * branch subdomains share one), the evidence per claim, and a breaker. An answer —
 * records, NODATA or NXDOMAIN — counts as a success; SERVFAIL, REFUSED, timeouts and
 * network errors are failures. Until one lookup is answered, no more go out than could
 * still be needed to trip the breaker. Concurrency is bounded by the caller's queue.
 */
export class DnsChecker {
  private readonly answers = new Map<string, Promise<TxtAnswer>>();
  private answered = 0;
  private sameFailures = 0;
  private failureSignature: string | undefined;
  private breakerMessage: string | undefined;
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private readonly onStop: Array<(message: string) => void> = [];

  constructor(
    private readonly resolver: TxtResolver,
    interrupt?: AbortSignal,
  ) {
    interrupt?.addEventListener('abort', () => this.resolver.cancel(), { once: true });
  }

  /** Set once the first lookups all failed the same way: the run stops. */
  get stoppedEarly(): string | undefined {
    return this.breakerMessage;
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

  private async ask(name: string): Promise<TxtAnswer> {
    while (this.mustWait()) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.breakerMessage) return { kind: 'error', code: 'EBREAKER', detail: this.breakerMessage };
    this.inFlight++;
    try {
      const answer = await this.resolver.lookup(name);
      this.note(answer);
      return answer;
    } finally {
      this.inFlight--;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  private mustWait(): boolean {
    return this.answered === 0 && !this.breakerMessage && this.inFlight + this.sameFailures >= DNS_BREAKER_THRESHOLD;
  }

  private note(answer: TxtAnswer): void {
    if (answer.kind !== 'error') {
      this.answered++;
      return;
    }
    if (this.answered > 0 || this.breakerMessage) return;
    if (answer.code === this.failureSignature) this.sameFailures++;
    else {
      this.failureSignature = answer.code;
      this.sameFailures = 1;
    }
    if (this.sameFailures >= DNS_BREAKER_THRESHOLD) {
      this.breakerMessage = `stopped early: the first ${DNS_BREAKER_THRESHOLD} DNS lookups all failed the same way (${answer.detail}); check --dns-server and the resolver`;
      this.resolver.cancel();
      for (const listener of this.onStop) listener(this.breakerMessage);
    }
  }
}
