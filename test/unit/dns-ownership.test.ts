import {
  answerOfError,
  expectedRecord,
  joinTxt,
  judgeOwnership,
  lookupName,
  recordMatches,
  verdictWithDns,
  type TxtAnswer,
} from '../../src/core/dns-ownership';
import { live } from '../../src/core/verdict';
import { DNS_BREAKER_THRESHOLD, DNS_LOST_STREAK, DnsChecker } from '../../src/engine/dns-checker';
import { parseDnsServer, splitDnsServers } from '../../src/engine/node-txt-resolver';
import type { TxtResolver } from '../../src/ports/txt-resolver';

// printf 'alice/site' | sha256sum
const ALICE = 'bovine-pages-verification=f270e27d8785695e0fd42e1adbb2011210e1b89de42196f85a89d37c81cb9f5a';
const apex = { owner: 'alice', repo: 'site', domain: 'alice.example' };
const branch = { owner: 'alice', repo: 'site', branch: 'feature/x', domain: 'feature-x.alice.example' };

describe("the plugin's ownership record (pages.go generateDomainVerificationHash, verifyCustomDomainDNS)", () => {
  it('is bovine-pages-verification= and the hex SHA-256 of "owner/repo"', () => {
    expect(expectedRecord('alice', 'site')).toBe(ALICE);
  });

  it('is looked up at the custom domain, also for a branch subdomain (the branch is not hashed)', () => {
    expect(lookupName(apex)).toBe('alice.example');
    expect(lookupName(branch)).toBe('alice.example');
    expect(judgeOwnership(branch, 'alice.example', { kind: 'records', records: [ALICE] }).outcome).toBe('proven');
  });

  it("joins one record's character-strings with nothing between them; records stay apart", () => {
    expect(
      joinTxt([
        [ALICE.slice(0, 10), ALICE.slice(10)],
        ['v=spf1', ' -all'],
      ]),
    ).toEqual([ALICE, 'v=spf1 -all']);
  });

  it('matches exactly, or with every space removed, as the plugin does; nothing else', () => {
    expect(recordMatches(ALICE, ALICE)).toBe(true);
    expect(recordMatches(ALICE.replace('=', ' = '), ALICE)).toBe(true);
    expect(recordMatches(` ${ALICE} `, ALICE)).toBe(true);
    expect(recordMatches(ALICE.toUpperCase(), ALICE)).toBe(false);
    expect(recordMatches(`${ALICE}x`, ALICE)).toBe(false);
    expect(recordMatches(`"${ALICE}"`, ALICE)).toBe(false);
    expect(recordMatches(ALICE.replace('=', '\t='), ALICE)).toBe(false);
  });
});

describe('what an answer proves', () => {
  const judge = (answer: TxtAnswer) => judgeOwnership(apex, 'alice.example', answer);

  it('the record among others: proven', () => {
    const evidence = judge({ kind: 'records', records: ['v=spf1 -all', expectedRecord('bob', 'site'), ALICE] });
    expect(evidence).toMatchObject({ outcome: 'proven', answer: 'records', name: 'alice.example', expected: ALICE });
    expect(verdictWithDns(live('.pages names alice.example'), evidence)).toEqual(
      live('.pages names alice.example; ownership proven by the TXT record at alice.example'),
    );
  });

  it("another repository's record, other records, no TXT, NXDOMAIN: ownership lost, with the records seen", () => {
    const other = judge({ kind: 'records', records: [expectedRecord('bob', 'site')] });
    expect(other.outcome).toBe('ownership-lost');
    expect(other.reason).toContain('for another repository');
    expect(other.reason).toContain(expectedRecord('bob', 'site'));
    expect(judge({ kind: 'records', records: ['v=spf1 -all'] }).reason).toMatch(
      /no bovine-pages-verification record .*records seen: "v=spf1 -all"/,
    );
    expect(judge(answerOfError('ENODATA', ''))).toMatchObject({ outcome: 'ownership-lost', answer: 'nodata' });
    expect(judge(answerOfError('ENOTFOUND', ''))).toMatchObject({ outcome: 'ownership-lost', answer: 'nxdomain' });
    expect(verdictWithDns(live('x'), judge(answerOfError('ENOTFOUND', ''))).status).toBe('stale');
  });

  it.each(['ESERVFAIL', 'EREFUSED', 'ETIMEOUT', 'ECONNREFUSED', 'ECANCELLED', undefined])('%s proves nothing: unknown', (code) => {
    const evidence = judge(answerOfError(code, 'why'));
    expect(evidence.outcome).toBe('unknown');
    expect(verdictWithDns(live('x'), evidence)).toEqual({ status: 'unknown', reason: 'DNS lookup of TXT alice.example failed: why' });
  });
});

describe('--dns-server', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1:5353', '127.0.0.1:5353'],
    ['::1', '::1'],
    ['[::1]:53', '[::1]:53'],
    [' 10.0.0.2 ', '10.0.0.2'],
  ])('%s is %s', (input, parsed) => expect(parseDnsServer(input)).toBe(parsed));

  it.each(['dns.example.com', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1:x', '[dns]:53', ''])('%s is refused with the fix', (input) => {
    expect(() => parseDnsServer(input)).toThrow(/is not an IP address with an optional port: use e\.g\. 127\.0\.0\.1:53/);
  });

  it('takes repeated flags and comma-separated lists alike', () => {
    expect(splitDnsServers(['1.1.1.1,8.8.8.8:53', '9.9.9.9'])).toEqual(['1.1.1.1', '8.8.8.8:53', '9.9.9.9']);
    expect(splitDnsServers('1.1.1.1, 8.8.8.8')).toEqual(['1.1.1.1', '8.8.8.8']);
  });
});

/** A resolver whose answers the test gives by hand; records every name and how many were in flight. */
class HandResolver implements TxtResolver {
  readonly names: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  cancelled = 0;
  private readonly pending: Array<(answer: TxtAnswer) => void> = [];

  describe(): string {
    return 'hand';
  }
  lookupCount(): number {
    return this.names.length;
  }
  cancel(): void {
    this.cancelled++;
    for (const answer of this.pending.splice(0)) answer(answerOfError('ECANCELLED', 'cancelled'));
  }
  lookup(name: string): Promise<TxtAnswer> {
    this.names.push(name);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) =>
      this.pending.push((answer) => {
        this.inFlight--;
        resolve(answer);
      }),
    );
  }
  /** Answers the oldest lookup still waiting. */
  answerNext(answer: TxtAnswer): void {
    this.pending.shift()!(answer);
  }
  get waiting(): number {
    return this.pending.length;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const claims = (n: number) => Array.from({ length: n }, (_, i) => ({ owner: `o${i}`, repo: 'r', domain: `d${i}.example` }));

describe('DnsChecker', () => {
  it('looks a name up once for a domain and its branch subdomains', async () => {
    const resolver = new HandResolver();
    const checker = new DnsChecker(resolver);
    const both = Promise.all([
      checker.check(apex),
      checker.check(branch),
      checker.check({ ...branch, branch: 'dev', domain: 'dev.Alice.Example' }),
    ]);
    await settle();
    resolver.answerNext({ kind: 'records', records: [ALICE] });
    expect((await both).map((e) => e.outcome)).toEqual(['proven', 'proven', 'proven']);
    expect(resolver.names).toEqual(['alice.example']);
  });

  it('stops after the first 10 lookups fail alike, with one message; sends no more than 10 before an answer', async () => {
    const resolver = new HandResolver();
    const checker = new DnsChecker(resolver);
    let stopped: string | undefined;
    checker.whenStopped((message) => (stopped = message));
    const all = Promise.all(claims(30).map((claim) => checker.check(claim)));
    await settle();
    expect(resolver.waiting).toBe(DNS_BREAKER_THRESHOLD);
    // Each failure frees a slot, yet with it the failures so far plus those in flight still make 10: nothing new goes out.
    for (let i = 0; i < DNS_BREAKER_THRESHOLD; i++) {
      resolver.answerNext(answerOfError('ETIMEOUT', 'no answer from 10.9.9.9:53 (timeout)'));
      await settle();
    }
    const evidence = await all;
    expect(resolver.maxInFlight).toBe(DNS_BREAKER_THRESHOLD);
    expect(resolver.names).toHaveLength(DNS_BREAKER_THRESHOLD);
    expect(stopped).toBe(
      'stopped early: the first 10 DNS lookups all failed the same way (no answer from 10.9.9.9:53 (timeout)); check --dns-server and the resolver',
    );
    expect(checker.stoppedEarly).toBe(stopped);
    expect(evidence.every((e) => e.outcome === 'unknown')).toBe(true);
  });

  it('an answer first (even NXDOMAIN) means the resolver works: a run of failures later does not stop the run', async () => {
    const resolver = new HandResolver();
    const checker = new DnsChecker(resolver);
    const first = checker.check(apex);
    await settle();
    resolver.answerNext(answerOfError('ENOTFOUND', ''));
    await first;
    const rest = Promise.all(claims(20).map((claim) => checker.check(claim)));
    for (let i = 0; i < 20; i++) {
      await settle();
      resolver.answerNext(answerOfError('ESERVFAIL', 'SERVFAIL'));
    }
    expect((await rest).every((e) => e.outcome === 'unknown')).toBe(true);
    expect(checker.stoppedEarly).toBeUndefined();
  });

  it(`a resolver lost mid-run: ${DNS_LOST_STREAK} lookups in a row failing the same way after an answer stop the run, the rest cancelled`, async () => {
    const resolver = new HandResolver();
    const checker = new DnsChecker(resolver);
    let stopped: string | undefined;
    checker.whenStopped((message) => (stopped = message));
    const first = checker.check(apex);
    await settle();
    resolver.answerNext(answerOfError('ENOTFOUND', ''));
    await first;
    const rest = Promise.all(claims(DNS_LOST_STREAK + 50).map((claim) => checker.check(claim)));
    for (let i = 0; i < DNS_LOST_STREAK - 1; i++) {
      await settle();
      resolver.answerNext(answerOfError('ETIMEOUT', 'no answer from 10.9.9.9:53 (timeout)'));
    }
    await settle();
    expect(checker.stoppedEarly).toBeUndefined();
    resolver.answerNext(answerOfError('ETIMEOUT', 'no answer from 10.9.9.9:53 (timeout)'));
    const evidence = await rest;
    expect(stopped).toBe(
      `stopped: the last ${DNS_LOST_STREAK} DNS lookups all failed the same way (no answer from 10.9.9.9:53 (timeout)) after earlier ones were answered; nothing was deleted, run again once the resolver answers`,
    );
    expect(checker.stoppedEarly).toBe(stopped);
    expect(evidence.every((e) => e.outcome === 'unknown')).toBe(true);
    // The lookups still out are cancelled, not waited for.
    expect(resolver.cancelled).toBe(1);
    expect(resolver.waiting).toBe(0);
  });

  it('mixed failures do not trip it', async () => {
    const resolver = new HandResolver();
    const checker = new DnsChecker(resolver);
    const rest = Promise.all(claims(12).map((claim) => checker.check(claim)));
    for (let i = 0; i < 12; i++) {
      await settle();
      resolver.answerNext(answerOfError(i % 2 ? 'ESERVFAIL' : 'ETIMEOUT', 'x'));
    }
    await rest;
    expect(checker.stoppedEarly).toBeUndefined();
    expect(resolver.names).toHaveLength(12);
  });

  it('an interrupt cancels the lookups in flight', async () => {
    const resolver = new HandResolver();
    const interrupt = new AbortController();
    const checker = new DnsChecker(resolver, interrupt.signal);
    const pending = checker.check(apex);
    await settle();
    interrupt.abort(new Error('interrupted'));
    expect(resolver.cancelled).toBe(1);
    expect((await pending).outcome).toBe('unknown');
  });
});
