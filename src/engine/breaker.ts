/**
 * Stops a run that cannot use its source at all (a wrong host, a revoked token, a dead
 * resolver): when the first `threshold` calls all fail the same way, with no success,
 * it trips and nothing more is asked. Until one call succeeds, no more calls go out than
 * could still be needed to trip it, so a broken setup costs `threshold` calls whatever
 * the concurrency is. Optionally, a long run of identical failures after successes trips
 * it too: a source that went away mid-run (a Forgejo restarted for an upgrade) would
 * otherwise be asked, with retries, for every mapping left. Every call must end (a
 * timeout, an abort), so a waiter is always woken. A run too small to trip it can still
 * be judged whole once it is over (`settle`). The Forgejo verifier and the DNS checker
 * each run calls through one.
 */
export class Breaker {
  private successes = 0;
  private failures = 0;
  private sameFailures = 0;
  private failureSignature: string | undefined;
  /** The last failure's cause, and whether it says the setup is wrong (see `settle`). */
  private lastFailure: { cause: string; ofSetup: boolean } | undefined;
  private stopMessage: string | undefined;
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly threshold: number,
    /** The run's message once the breaker trips, from the last failure's cause and how many calls failed so. */
    private readonly tripMessage: (cause: string, calls: number, signature: string) => string,
    /** Told once, when the breaker trips or is stopped. */
    private readonly onStop: (message: string) => void,
    /**
     * After successes: this many failures in a row, all the same way, trip it too (a source
     * that went away mid-run); the message from the last failure's cause.
     */
    private readonly lost?: { streak: number; message: (cause: string) => string },
  ) {}

  /** Set once the breaker tripped or was stopped: the run stops asking. */
  get stopped(): string | undefined {
    return this.stopMessage;
  }

  /**
   * Runs `call` once admitted, or `whenStopped` once the breaker has stopped. `failureOf`
   * judges what came back: a failure's signature (failures with one cause share it), its
   * cause and whether it says the setup is wrong rather than one entry (`ofSetup`: a host
   * that cannot be reached), or undefined for a success (a thrown error judged undefined
   * does not count).
   * Awaited only when it must wait: a call admitted at once goes out in this same turn.
   */
  async run<T>(
    call: () => Promise<T>,
    failureOf: (result: T | undefined, error: unknown) => { signature: string; cause: string; ofSetup?: boolean } | undefined,
    whenStopped: (message: string) => T,
  ): Promise<T> {
    const waiting = this.admit();
    if (waiting) await waiting;
    try {
      if (this.stopMessage) return whenStopped(this.stopMessage);
      const result = await call();
      const failure = failureOf(result, undefined);
      if (failure) this.failed(failure.signature, failure.cause, failure.ofSetup ?? false);
      else this.succeeded();
      return result;
    } catch (error) {
      const failure = failureOf(undefined, error);
      if (failure) this.failed(failure.signature, failure.cause, failure.ofSetup ?? false);
      throw error;
    } finally {
      this.inFlight--;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /**
   * Once every call has ended: a run with fewer calls than the threshold, every one of
   * which failed the same way, and in a way that says the setup is wrong (a store of three
   * domains and a mistyped --forgejo-host), stops as one that tripped would. Failures
   * that may be one repository's (a 500, a timeout, a malformed answer) stay unknown.
   */
  settle(): void {
    if (this.stopMessage || this.successes > 0 || this.failures === 0 || this.sameFailures !== this.failures) return;
    if (this.lastFailure?.ofSetup) this.stop(this.tripMessage(this.lastFailure.cause, this.failures, this.failureSignature ?? ''));
  }

  /** Stops at once, whatever came before: no later answer can prove anything. */
  stop(message: string): void {
    if (this.stopMessage) return;
    this.stopMessage = message;
    this.onStop(message);
  }

  private admit(): Promise<void> | undefined {
    if (!this.mustWait()) {
      this.inFlight++;
      return undefined;
    }
    return (async () => {
      while (this.mustWait()) await new Promise<void>((resolve) => this.waiters.push(resolve));
      // Counted in the same turn as the call, so waiters woken together do not all pass.
      this.inFlight++;
    })();
  }

  private mustWait(): boolean {
    return this.successes === 0 && !this.stopMessage && this.inFlight + this.sameFailures >= this.threshold;
  }

  /** A success ends the run of identical failures. */
  private succeeded(): void {
    this.successes++;
    this.sameFailures = 0;
    this.failureSignature = undefined;
  }

  /** Counts identical failures in a row, in the order calls end: `threshold` before any success trips it, `lost.streak` after. */
  private failed(signature: string, cause: string, ofSetup: boolean): void {
    this.failures++;
    this.lastFailure = { cause, ofSetup };
    if (this.stopMessage || (this.successes > 0 && !this.lost)) return;
    if (signature === this.failureSignature) this.sameFailures++;
    else {
      this.failureSignature = signature;
      this.sameFailures = 1;
    }
    if (this.successes === 0 && this.sameFailures >= this.threshold) this.stop(this.tripMessage(cause, this.sameFailures, signature));
    else if (this.lost && this.successes > 0 && this.sameFailures >= this.lost.streak) this.stop(this.lost.message(cause));
  }
}
