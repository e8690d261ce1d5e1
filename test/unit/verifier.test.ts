import type { Claim, Verdict } from '../../src/core/verdict';
import { BREAKER_THRESHOLD, LOST_SOURCE_STREAK, RecentAnswers, Verifier } from '../../src/engine/verifier';
import { SourceError, type PagesFileLookup, type SourceOfTruth } from '../../src/ports/source-of-truth';

type PagesAnswer = string | null | Error | ((signal?: AbortSignal) => Promise<PagesFileLookup>);
type BranchAnswer = boolean | Error;

/**
 * A hand-written SourceOfTruth: `.pages` texts per `owner/repo` (null = 404), branches per
 * `owner/repo/branch`; lookups are case-insensitive like Forgejo. Records every call made.
 */
class FakeSource implements SourceOfTruth {
  readonly pagesCalls: string[] = [];
  readonly branchCalls: string[] = [];
  readonly signals: Array<AbortSignal | undefined> = [];

  constructor(
    private readonly pages: (owner: string, repo: string, call: number) => PagesAnswer,
    private readonly branches: Record<string, BranchAnswer> = {},
  ) {}

  describe(): string {
    return 'fake';
  }

  async pagesFile(owner: string, repo: string, signal?: AbortSignal): Promise<PagesFileLookup> {
    this.pagesCalls.push(`${owner}/${repo}`);
    this.signals.push(signal);
    const answer = this.pages(owner, repo, this.pagesCalls.length);
    if (typeof answer === 'function') return answer(signal);
    if (answer instanceof Error) throw answer;
    return answer === null ? { found: false } : { found: true, text: answer };
  }

  async branchExists(owner: string, repo: string, branch: string, signal?: AbortSignal): Promise<boolean> {
    this.branchCalls.push(`${owner}/${repo}/${branch}`);
    this.signals.push(signal);
    const answer = this.branches[`${owner}/${repo}/${branch}`.toLowerCase()] ?? false;
    if (answer instanceof Error) throw answer;
    return answer;
  }

  requestCount(): number {
    return this.pagesCalls.length + this.branchCalls.length;
  }

  async close(): Promise<void> {}
}

/** A source where every repository's `.pages` comes from one table. */
const sourceWith = (table: Record<string, string | null | Error>, branches: Record<string, BranchAnswer> = {}) =>
  new FakeSource((owner, repo) => table[`${owner}/${repo}`.toLowerCase()] ?? null, branches);

const authError = () => new SourceError('401 Unauthorized from https://git.example.com', 'auth', 'auth:401', 401);
const claim = (owner: string, repo: string, domain: string, branch?: string): Claim => ({
  owner,
  repo,
  domain,
  ...(branch === undefined ? {} : { branch }),
});

const SITE_PAGES = 'custom_domain: example.com\nenable_branches: [stage, dev, feature/x]\n';

describe('Verifier: verdicts', () => {
  const source = () =>
    sourceWith(
      {
        'alice/site': SITE_PAGES,
        'bob/moved': 'custom_domain: "new.example.org"',
        'carol/off': 'custom_domain: c.com\nenabled: false',
        'dave/broken': authError(),
      },
      {
        'alice/site/stage': true,
        'alice/site/dev': false,
        'alice/site/feature/x': new SourceError('503 from Forgejo', 'server', 'server:503', 503),
      },
    );

  type Row = [string, Claim, Verdict['status'], RegExp];
  const titled = (rows: Row[]): Row[] => rows.map(([name, c, status, reason]) => [`${name} → ${status}`, c, status, reason]);
  it.each(
    titled([
      ['live domain', claim('alice', 'site', 'example.com'), 'live', /\.pages names example\.com/],
      ['live branch', claim('alice', 'site', 'stage.example.com', 'stage'), 'live', /branch stage is enabled and exists/],
      ['branch gone (404)', claim('alice', 'site', 'dev.example.com', 'dev'), 'stale', /branch dev is gone \(404\)/],
      ['branch check failed', claim('alice', 'site', 'feature-x.example.com', 'feature/x'), 'unknown', /503 from Forgejo/],
      ['branch not enabled', claim('alice', 'site', 'qa.example.com', 'qa'), 'stale', /no longer in enable_branches/],
      ['domain changed', claim('bob', 'moved', 'old.example.org'), 'stale', /changed to new\.example\.org/],
      ['enabled: false (the plugin never reads it)', claim('carol', 'off', 'c.com'), 'live', /\.pages names c\.com/],
      ['repository gone', claim('erin', 'gone', 'e.com'), 'stale', /gone \(404\)/],
      ['pages fetch failed (SourceError)', claim('dave', 'broken', 'd.com'), 'unknown', /401 Unauthorized/],
    ]),
  )('%s', async (_name, c, status, reason) => {
    const verdict = await new Verifier(source()).verify(c);
    expect(verdict.status).toBe(status);
    expect(verdict.reason).toMatch(reason);
  });

  it('turns any other thrown error into unknown too', async () => {
    const verifier = new Verifier(new FakeSource(() => new TypeError('body is not valid base64')));
    expect(await verifier.verify(claim('a', 'b', 'a.com'))).toEqual({ status: 'unknown', reason: 'body is not valid base64' });
  });

  it('asks for no branch when the .pages file already decides', async () => {
    const fake = source();
    const verifier = new Verifier(fake);
    await verifier.verify(claim('alice', 'site', 'qa.example.com', 'qa'));
    await verifier.verify(claim('bob', 'moved', 'stage.old.example.org', 'stage'));
    expect(fake.branchCalls).toEqual([]);
  });
});

describe('Verifier: one call per repository and per branch', () => {
  it('fetches .pages once per repository however many claims, case-insensitively (sequential)', async () => {
    const fake = sourceWith({ 'alice/site': SITE_PAGES }, { 'alice/site/stage': true, 'alice/site/dev': true });
    const verifier = new Verifier(fake);
    const claims = [
      claim('alice', 'site', 'example.com'),
      claim('Alice', 'Site', 'example.com'),
      claim('ALICE', 'site', 'other.example.com'),
      claim('alice', 'SITE', 'stage.example.com', 'stage'),
      claim('alice', 'site', 'dev.example.com', 'dev'),
    ];
    const results = [];
    for (const c of claims) results.push((await verifier.verify(c)).status);
    expect(results).toEqual(['live', 'live', 'stale', 'live', 'live']);
    expect(fake.pagesCalls).toEqual(['alice/site']);
  });

  it('fetches .pages once per repository when claims arrive all at once', async () => {
    const fake = sourceWith({ 'alice/site': SITE_PAGES, 'bob/blog': 'custom_domain: bob.dev' }, { 'alice/site/stage': true });
    const verifier = new Verifier(fake);
    const claims = [
      claim('alice', 'site', 'example.com'),
      claim('bob', 'blog', 'bob.dev'),
      claim('Alice', 'Site', 'stage.example.com', 'stage'),
      claim('BOB', 'Blog', 'old.bob.dev'),
      claim('alice', 'site', 'dev.example.com', 'dev'),
    ];
    const verdicts = await Promise.all(claims.map((c) => verifier.verify(c)));
    expect(verdicts.map((v) => v.status)).toEqual(['live', 'live', 'live', 'stale', 'stale']);
    expect([...fake.pagesCalls].sort()).toEqual(['alice/site', 'bob/blog']);
  });

  it("does not retry a failed .pages fetch for the repository's other claims", async () => {
    const fake = sourceWith({ 'alice/site': authError() });
    const verifier = new Verifier(fake);
    const verdicts = await Promise.all(
      [claim('alice', 'site', 'a.com'), claim('alice', 'site', 'b.com'), claim('Alice', 'Site', 'c.com')].map((c) => verifier.verify(c)),
    );
    expect(verdicts.map((v) => v.status)).toEqual(['unknown', 'unknown', 'unknown']);
    expect(fake.pagesCalls).toHaveLength(1);
  });

  it('checks each branch once, however many claims name it', async () => {
    const fake = sourceWith({ 'alice/site': SITE_PAGES, 'bob/site': SITE_PAGES }, { 'alice/site/stage': true, 'bob/site/stage': false });
    const verifier = new Verifier(fake);
    const verdicts = await Promise.all(
      [
        claim('alice', 'site', 'stage.example.com', 'stage'),
        claim('alice', 'site', 'STAGE.example.com', 'stage'), // another claim id, same branch
        claim('Alice', 'Site', 'Stage.Example.com', 'stage'),
        claim('bob', 'site', 'stage.example.com', 'stage'), // same branch name, another repository
      ].map((c) => verifier.verify(c)),
    );
    expect(verdicts.map((v) => v.status)).toEqual(['live', 'live', 'live', 'stale']);
    expect([...fake.branchCalls].sort()).toEqual(['alice/site/stage', 'bob/site/stage']);
    expect(fake.pagesCalls.sort()).toEqual(['alice/site', 'bob/site']);
  });

  it('returns the same verdict for the same claim without asking again', async () => {
    const fake = sourceWith({ 'alice/site': SITE_PAGES }, { 'alice/site/stage': true });
    const verifier = new Verifier(fake);
    const first = await verifier.verify(claim('alice', 'site', 'stage.example.com', 'stage'));
    const second = await verifier.verify(claim('ALICE', 'SITE', 'stage.example.com', 'stage'));
    expect(second).toEqual(first);
    expect(fake.requestCount()).toBe(2);
  });
});

describe('Verifier: the breaker (DESIGN §3, stop early)', () => {
  const repos = (n: number) => Array.from({ length: n }, (_, i) => claim('owner', `repo${i}`, `d${i}.com`));

  async function verifyInTurn(verifier: Verifier, claims: Claim[]): Promise<Verdict[]> {
    const verdicts: Verdict[] = [];
    for (const c of claims) verdicts.push(await verifier.verify(c));
    return verdicts;
  }

  it('is set at ten', () => {
    expect(BREAKER_THRESHOLD).toBe(10);
  });

  it('stops at the first answer from another origin, even after successes: no later answer proves anything', async () => {
    const misdirected = new SourceError(
      'the Forgejo API at http://a redirects to another origin, https://b: …; set --forgejo-host https://b',
      'misconfigured',
      'redirect:https://b',
    );
    const fake = new FakeSource((owner) => (owner === 'moved' ? misdirected : owner === 'gone' ? null : 'custom_domain: ok.com\n'));
    const verifier = new Verifier(fake);

    expect(await verifier.verify(claim('fine', 'site', 'ok.com'))).toMatchObject({ status: 'live' });
    expect(await verifier.verify(claim('moved', 'site', 'ok.com'))).toMatchObject({ status: 'unknown' });
    expect(verifier.stoppedEarly).toBe(`stopped: ${misdirected.message}`);

    const later = await verifyInTurn(verifier, [claim('gone', 'site', 'x.com'), claim('fine', 'other', 'ok.com')]);
    expect(later.map((v) => v.status)).toEqual(['unknown', 'unknown']);
    expect(fake.pagesCalls).toEqual(['fine/site', 'moved/site']);
  });

  it('a Forgejo that answers 503 (or not in time) to its first 10 checks is told to be looked at, not the token', async () => {
    for (const failure of [
      () => new SourceError('Forgejo answered 503 for o/r/.pages', 'server', 'http:503', 503),
      () => new SourceError('Forgejo did not answer within 10 s for o/r/.pages', 'timeout', 'timeout'),
    ]) {
      const verifier = new Verifier(new FakeSource(() => failure()));
      await verifyInTurn(verifier, repos(BREAKER_THRESHOLD));
      expect(verifier.stoppedEarly).toMatch(
        /all failed the same way .*; check that Forgejo at --forgejo-host is up and answering, then run again$/,
      );
      expect(verifier.stoppedEarly).not.toMatch(/--forgejo-token/);
    }
  });

  it('stops asking after 10 identical failures with no success', async () => {
    const fake = new FakeSource(() => authError());
    const verifier = new Verifier(fake);

    const first = await verifyInTurn(verifier, repos(9));
    expect(verifier.stoppedEarly).toBeUndefined();
    expect(first.every((v) => v.status === 'unknown')).toBe(true);

    await verifier.verify(claim('owner', 'tenth', 'ten.com'));
    expect(verifier.stoppedEarly).toMatch(/stopped early: the first 10 Forgejo checks all failed the same way \(401 Unauthorized/);
    expect(verifier.stoppedEarly).toMatch(/--forgejo-host and --forgejo-token/);

    const later = await verifyInTurn(verifier, [claim('x', 'y', 'x.com'), claim('p', 'q', 'stage.p.com', 'stage')]);
    expect(fake.pagesCalls).toHaveLength(10); // later calls are not made
    expect(fake.branchCalls).toHaveLength(0);
    expect(later).toEqual([
      { status: 'unknown', reason: verifier.stoppedEarly },
      { status: 'unknown', reason: verifier.stoppedEarly },
    ]);
  });

  it('asks only ten times when every check fails the same way, however many are asked at once', async () => {
    // Every claim is put at once, as the engine does; the answers come a turn later.
    const fake = new FakeSource(() => () => Promise.resolve().then(() => Promise.reject(authError())));
    const verifier = new Verifier(fake);
    const verdicts = await Promise.all(repos(40).map((c) => verifier.verify(c)));
    expect(verifier.stoppedEarly).toBeDefined();
    expect(fake.pagesCalls).toHaveLength(BREAKER_THRESHOLD);
    expect(verdicts.every((v) => v.status === 'unknown')).toBe(true);
    // The signal handed to the source is aborted when the breaker trips.
    expect(fake.signals.every((s) => s?.aborted)).toBe(true);
  });

  it('stops once the source went away mid-run: 100 identical failures in a row after successes', async () => {
    const refused = () => new SourceError('cannot reach Forgejo at http://a: ECONNREFUSED', 'network', 'network:ECONNREFUSED');
    // 20 checks answer, then the source is gone.
    const fake = new FakeSource((owner, repo, call) => (call <= 20 ? `custom_domain: d${repo.slice(4)}.com\n` : refused()));
    const verifier = new Verifier(fake);
    const verdicts = await verifyInTurn(verifier, repos(300));
    expect(verdicts.slice(0, 20).every((v) => v.status === 'live')).toBe(true);
    expect(verifier.stoppedEarly).toBe(
      `stopped: the last ${LOST_SOURCE_STREAK} Forgejo checks all failed the same way (cannot reach Forgejo at http://a: ECONNREFUSED) after earlier ones succeeded; nothing was deleted, run again once Forgejo answers`,
    );
    expect(fake.pagesCalls).toHaveLength(20 + LOST_SOURCE_STREAK); // no more asked
    expect(verdicts.slice(20).every((v) => v.status === 'unknown')).toBe(true);
  });

  it('counts no check that the run itself stopped (the DNS breaker, an interruption) as a failure of Forgejo', async () => {
    // Every check after the first waits until the run's signal aborts it, as one queued
    // behind a limiter or in flight does: its rejection is the run's reason, not an answer.
    const stop = new AbortController();
    const fake = new FakeSource((_owner, _repo, call) =>
      call === 1
        ? 'custom_domain: d0.com\n'
        : (signal) =>
            new Promise((_, reject) => {
              if (signal?.aborted) return reject(signal.reason);
              signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
            }),
    );
    const verifier = new Verifier(fake, stop.signal);
    expect(await verifier.verify(claim('owner', 'repo0', 'd0.com'))).toMatchObject({ status: 'live' });
    const pending = repos(LOST_SOURCE_STREAK + 20)
      .slice(1)
      .map((c) => verifier.verify(c));
    stop.abort(new Error('stopped early: the first 10 DNS lookups all failed the same way'));
    const verdicts = await Promise.all(pending);
    expect(verdicts.every((v) => v.status === 'unknown')).toBe(true);
    expect(verifier.stoppedEarly).toBeUndefined();
  });

  it('keeps asking through long runs of failures that a success or another failure breaks', async () => {
    const fake = new FakeSource((_owner, repo, call) =>
      // 149 failures between two successes, never more than 75 of one kind in a row.
      call % 150 === 1 ? `custom_domain: d${repo.slice(4)}.com\n` : call % 150 === 76 ? authError() : new Error('socket hang up'),
    );
    const verifier = new Verifier(fake);
    await verifyInTurn(verifier, repos(1_000));
    expect(verifier.stoppedEarly).toBeUndefined();
    expect(fake.pagesCalls).toHaveLength(1_000);
  });

  it('holds nothing back once a check has succeeded', async () => {
    const releases: Array<() => void> = [];
    const fake = new FakeSource((_o, _r, call) =>
      call === 1
        ? 'custom_domain: d0.com'
        : () => new Promise<PagesFileLookup>((resolve) => releases.push(() => resolve({ found: false }))),
    );
    const verifier = new Verifier(fake);
    const pending = Promise.all(repos(30).map((c) => verifier.verify(c)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.pagesCalls).toHaveLength(30); // all in flight at once
    releases.forEach((release) => release());
    const verdicts = await pending;
    expect(verdicts[0].status).toBe('live');
    expect(verifier.stoppedEarly).toBeUndefined();
  });

  it('waits for a slow check instead of stalling when nine failures wait on it', async () => {
    let failSlow: (error: Error) => void = () => {};
    const timeout = new SourceError('timed out after 10s', 'timeout', 'timeout');
    const fake = new FakeSource((_o, _r, call) =>
      call === 1
        ? () => new Promise<PagesFileLookup>((_, reject) => (failSlow = reject))
        : () => Promise.resolve().then(() => Promise.reject(authError())),
    );
    const verifier = new Verifier(fake);
    const pending = Promise.all(repos(40).map((c) => verifier.verify(c)));
    await new Promise((resolve) => setImmediate(resolve));
    // Nine identical failures and one check in flight: nothing more goes out yet.
    expect(fake.pagesCalls).toHaveLength(BREAKER_THRESHOLD);
    expect(verifier.stoppedEarly).toBeUndefined();
    // The slow one ends (as every real request does, by its timeout): the run goes on.
    failSlow(timeout);
    const verdicts = await pending;
    expect(verdicts.every((v) => v.status === 'unknown')).toBe(true);
    expect(verifier.stoppedEarly).toMatch(/401 Unauthorized/);
    expect(fake.pagesCalls.length).toBeGreaterThan(BREAKER_THRESHOLD);
    expect(fake.pagesCalls.length).toBeLessThanOrEqual(2 * BREAKER_THRESHOLD);
  });

  it.each<[string, (call: number) => PagesAnswer]>([
    ['a .pages file found', (call) => (call === 1 ? 'custom_domain: d0.com' : authError())],
    ['a 404', (call) => (call === 1 ? null : authError())],
  ])('never trips once a call succeeded first (%s)', async (_name, answer) => {
    const fake = new FakeSource((_o, _r, call) => answer(call));
    const verifier = new Verifier(fake);
    const verdicts = await verifyInTurn(verifier, repos(20));
    expect(verifier.stoppedEarly).toBeUndefined();
    expect(fake.pagesCalls).toHaveLength(20);
    expect(verdicts.slice(1).every((v) => v.status === 'unknown')).toBe(true);
  });

  it('does not trip when the failures differ', async () => {
    const timeout = () => new SourceError('timed out after 10s', 'timeout', 'timeout');
    const fake = new FakeSource((_o, _r, call) => (call % 2 === 0 ? authError() : timeout()));
    const verifier = new Verifier(fake);
    await verifyInTurn(verifier, repos(25));
    expect(verifier.stoppedEarly).toBeUndefined();
    expect(fake.pagesCalls).toHaveLength(25);
  });

  it('counts identical failures in a row: a different one starts the count again', async () => {
    const other = () => new SourceError('503', 'server', 'server:503', 503);
    // 9 auth failures, one 503, then auth failures again: trips on the 10th auth failure after the 503
    const fake = new FakeSource((_o, _r, call) => (call === 10 ? other() : authError()));
    const verifier = new Verifier(fake);
    await verifyInTurn(verifier, repos(19));
    expect(verifier.stoppedEarly).toBeUndefined();
    await verifier.verify(claim('owner', 'last', 'last.com'));
    expect(verifier.stoppedEarly).toBeDefined();
    expect(fake.pagesCalls).toHaveLength(20);
  });

  it('settles a run too small to trip it: every check unable to reach the host stops it, other failures stay unknown', async () => {
    const unreachable = () => new SourceError('cannot reach Forgejo: ECONNREFUSED', 'network', 'network:ECONNREFUSED', undefined, true);
    const dropped = () => new SourceError('cannot reach Forgejo: UND_ERR_SOCKET', 'network', 'network:UND_ERR_SOCKET');
    const judged = async (failure: () => SourceError, count: number, succeedAt = -1) => {
      const verifier = new Verifier(new FakeSource((_o, _r, call) => (call === succeedAt ? null : failure())));
      const verdicts = await verifyInTurn(verifier, repos(count));
      verifier.settle();
      return { stopped: verifier.stoppedEarly, statuses: verdicts.map((v) => v.status) };
    };
    expect(await judged(unreachable, 3)).toEqual({
      stopped:
        'stopped: all 3 Forgejo checks failed the same way (cannot reach Forgejo: ECONNREFUSED); check --forgejo-host and --forgejo-token',
      statuses: ['unknown', 'unknown', 'unknown'],
    });
    expect((await judged(unreachable, 1)).stopped).toMatch(/^stopped: the only Forgejo check failed the same way/);
    // A dropped connection or a 401 may be one repository's; one success proves the setup.
    expect((await judged(dropped, 3)).stopped).toBeUndefined();
    expect((await judged(authError, 3)).stopped).toBeUndefined();
    expect((await judged(unreachable, 3, 2)).stopped).toBeUndefined();
  });

  it('groups failures by their SourceError signature, not their message', async () => {
    const fake = new FakeSource((_o, repo) => new SourceError(`401 for ${repo}`, 'auth', 'auth:401', 401));
    const verifier = new Verifier(fake);
    await verifyInTurn(verifier, repos(10));
    expect(verifier.stoppedEarly).toBeDefined();
  });
});

describe('Verifier: interruption', () => {
  it('passes an interrupt on to the source through the signal', async () => {
    const interrupt = new AbortController();
    const fake = new FakeSource(
      () => (signal) =>
        new Promise<PagesFileLookup>((_, reject) => signal!.addEventListener('abort', () => reject(signal!.reason), { once: true })),
    );
    const verifier = new Verifier(fake, interrupt.signal);
    const pending = verifier.verify(claim('a', 'b', 'a.com'));
    interrupt.abort(new Error('interrupted'));
    expect(await pending).toEqual({ status: 'unknown', reason: 'interrupted' });
    expect(fake.signals[0]?.aborted).toBe(true);
  });

  // The constructor only listens for a future 'abort' event; a signal that is already
  // aborted (SIGINT between the engine's start and the Verifier's construction) is missed.
  it('honours an interrupt signal that is already aborted when it is built', async () => {
    const interrupt = new AbortController();
    interrupt.abort(new Error('interrupted'));
    const fake = new FakeSource(() => 'custom_domain: a.com');
    const verifier = new Verifier(fake, interrupt.signal);
    await verifier.verify(claim('a', 'b', 'a.com'));
    expect(fake.signals.every((signal) => signal?.aborted)).toBe(true);
  });
});

describe('RecentAnswers', () => {
  it('keeps at most `limit` answers, and at least the last half as many', () => {
    const answers = new RecentAnswers<number>(6);
    for (let i = 0; i < 10; i++) {
      answers.set(`r${i}`, i);
      expect(answers.size).toBeLessThanOrEqual(6);
    }
    for (let i = 7; i < 10; i++) expect(answers.get(`r${i}`)).toBe(i);
    expect(answers.get('r0')).toBeUndefined();
  });

  it('keeps an answer asked for again, however many others come after', () => {
    const answers = new RecentAnswers<string>(4);
    answers.set('kept', 'config');
    for (let i = 0; i < 20; i++) {
      answers.set(`other${i}`, 'x');
      expect(answers.get('kept')).toBe('config');
    }
  });
});
