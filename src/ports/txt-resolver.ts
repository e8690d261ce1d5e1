/** What a TXT lookup came back with. */
export type TxtAnswer =
  | { kind: 'records'; records: string[] }
  /** The name exists, with no TXT record (NOERROR, no answer). */
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  /** No answer that proves anything: SERVFAIL, REFUSED, a timeout, a network error. */
  | { kind: 'error'; code: string; detail: string };

/** Looks up TXT records; every failure is an answer of kind 'error', never a throw. */
export interface TxtResolver {
  /** The servers asked, for reports; never a secret. */
  describe(): string;
  lookup(name: string): Promise<TxtAnswer>;
  /** Lookups sent so far. */
  lookupCount(): number;
  /** Cancels every lookup in flight (they answer ECANCELLED). */
  cancel(): void;
}

export const TXT_RESOLVER = Symbol.for('pages-reaper.TxtResolver');
