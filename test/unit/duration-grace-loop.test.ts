import { formatDuration, parseDuration } from '../../src/core/duration';
import { decideGrace, graceMarkKey, graceMarkValue, readGraceMark, type GraceMark } from '../../src/core/grace';
import { live, stale, unknown } from '../../src/core/verdict';
import { runLoop } from '../../src/cli/loop';
import { LONGEST_WAIT_MS, waitDuration } from '../../src/cli/duration';
import type { RunStatus } from '../../src/report/run-status';
import { runStatus } from './fixtures';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['500ms', 500],
    ['0', 0],
    ['45', 45_000],
    ['1.5h', 5_400_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text, '--interval')).toBe(ms));

  it.each(['', 'h', '1x', '1h 30m', '-1s', 'soon'])('refuses %j with a message naming the flag', (text) => {
    expect(() => parseDuration(text, '--grace')).toThrow(/invalid --grace .*use a duration such as 90s, 15m, 1h/);
  });

  it('refuses a number too large to be a duration', () => {
    expect(() => parseDuration(`${'9'.repeat(400)}d`, '--grace')).toThrow(/invalid --grace/);
    expect(() => parseDuration('9'.repeat(400), '--grace')).toThrow(/invalid --grace/);
  });

  it('a wait is at most 24 days: a timer cannot hold more, and a longer one fires at once', () => {
    expect(waitDuration('24d', '--interval')).toBe(LONGEST_WAIT_MS);
    expect(() => waitDuration('25d', '--interval')).toThrow('--interval 25d is too long: use 24d or less');
    expect(() => waitDuration('600h', '--webhook-window')).toThrow('--webhook-window 600h is too long: use 24d or less');
  });

  it('formats back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(2000)).toBe('2s');
    expect(formatDuration(250)).toBe('250ms');
  });
});

describe('decideGrace', () => {
  const forwards = ['a.com', 'b.com', 'c.com', 'd.com'].map((domain) => ({
    domain,
    key: `custom_domain:${domain}`,
    value: Buffer.from('o:r'),
    target: { owner: 'o', repo: 'r' },
  }));
  const mark = (domain: string, since: number | string): GraceMark => ({
    key: graceMarkKey(domain),
    value: Buffer.from(String(since)),
    since: typeof since === 'number' ? since : Date.parse(since),
  });
  const now = 1_000_000_000;

  it('starts the clock on a first stale verdict, reaps once the grace has passed, stops it on a live verdict', () => {
    const verdicts = new Map([
      ['a.com', stale('gone')],
      ['b.com', stale('gone')],
      ['c.com', live('ok')],
      ['d.com', unknown('500')],
    ]);
    const marks = new Map([
      ['b.com', mark('b.com', now - 10_000)],
      ['c.com', mark('c.com', now - 10_000)],
      ['d.com', mark('d.com', now - 10_000)],
    ]);
    const decision = decideGrace(forwards, verdicts, marks, now, 5_000);
    expect(decision.marksToWrite).toEqual(['a.com']);
    expect([...decision.pending]).toEqual([['a.com', { since: now, dueAt: now + 5_000 }]]);
    expect([...decision.due]).toEqual(['b.com']);
    expect(decision.staleSince.get('b.com')).toBe(now - 10_000);
    expect(decision.marksToClear.map((m) => m.key)).toEqual([graceMarkKey('c.com')]);
  });

  it("times a registration, not a domain: a mark of another repository's mapping starts the clock again", () => {
    const verdicts = new Map([
      ['a.com', stale('gone')],
      ['b.com', stale('gone')],
      ['c.com', stale('gone')],
    ]);
    const long = now - 10_000;
    const marks = new Map([
      ['a.com', readGraceMark(graceMarkKey('a.com'), graceMarkValue(long, { owner: 'x', repo: 'y' }))],
      // Forgejo's names are case-insensitive: the same registration.
      ['b.com', readGraceMark(graceMarkKey('b.com'), graceMarkValue(long, { owner: 'O', repo: 'R' }))],
      ['c.com', readGraceMark(graceMarkKey('c.com'), graceMarkValue(long, { owner: 'o', repo: 'r', branch: 'dev' }))],
    ]);
    const decision = decideGrace(forwards, verdicts, marks, now, 5_000);
    expect(decision.marksToWrite.sort()).toEqual(['a.com', 'c.com']);
    expect([...decision.due]).toEqual(['b.com']);
    expect(graceMarkValue(long, { owner: 'o', repo: 'r', branch: 'dev' }).toString()).toBe(`${new Date(long).toISOString()} o:r:dev`);
    expect(readGraceMark('k', Buffer.from(`${new Date(long).toISOString()} not a mapping`)).since).toBeNaN();
  });

  it('clears the marks of domains no longer mapped when told which are', () => {
    const marks = new Map([
      ['a.com', mark('a.com', now - 10_000)],
      ['gone.com', mark('gone.com', now - 10_000)],
    ]);
    const mapped = new Set(forwards.map((f) => f.domain));
    const decision = decideGrace(forwards, new Map(), marks, now, 5_000, (domain) => mapped.has(domain));
    expect(decision.marksToClear.map((m) => m.key)).toEqual([graceMarkKey('gone.com')]);
    expect(decideGrace(forwards, new Map(), marks, now, 5_000).marksToClear).toEqual([]);
  });

  it('rewrites a mark that is not a time, or lies in the future', () => {
    const verdicts = new Map([
      ['a.com', stale('gone')],
      ['b.com', stale('gone')],
    ]);
    const marks = new Map([
      ['a.com', mark('a.com', 'garbage')],
      ['b.com', mark('b.com', now + 60_000)],
    ]);
    const decision = decideGrace(forwards, verdicts, marks, now, 5_000);
    expect(decision.marksToWrite.sort()).toEqual(['a.com', 'b.com']);
    expect(decision.due.size).toBe(0);
  });
});

describe('runLoop', () => {
  const status = (completed: boolean): RunStatus => runStatus({ completed, exitCode: completed ? 0 : 1 });

  it('runs one at a time, retries failures sooner than the interval, and stops on the signal', async () => {
    const stop = new AbortController();
    const starts: number[] = [];
    const outcomes = [false, false, true, true];
    const t0 = Date.now();
    await runLoop({
      intervalMs: 300,
      jitterMs: 0,
      signal: stop.signal,
      runOnce: async () => {
        starts.push(Date.now() - t0);
        return status(outcomes[starts.length - 1] ?? true);
      },
      onStatus: () => {
        if (starts.length === 4) stop.abort();
      },
    });
    expect(starts).toHaveLength(4);
    // failures back off 1 s? no: capped by the 300 ms interval; successes wait the interval.
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(290);
  });

  it('retries a run that completed fatally (its source stopped early) with backoff, not an interval later', async () => {
    const stop = new AbortController();
    const starts: number[] = [];
    const t0 = Date.now();
    await runLoop({
      intervalMs: 60_000,
      jitterMs: 0,
      signal: stop.signal,
      runOnce: async () => {
        starts.push(Date.now() - t0);
        return { ...status(true), exitCode: 1, errors: { fatal: 1 } };
      },
      onStatus: () => {
        if (starts.length === 2) stop.abort();
      },
    });
    expect(starts).toHaveLength(2);
    const gap = starts[1] - starts[0];
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(5_000);
  });

  it('adds jitter to each wait', async () => {
    const stop = new AbortController();
    const starts: number[] = [];
    await runLoop({
      intervalMs: 50,
      jitterMs: 200,
      random: () => 1,
      signal: stop.signal,
      runOnce: async () => {
        starts.push(Date.now());
        return status(true);
      },
      onStatus: () => {
        if (starts.length === 2) stop.abort();
      },
    });
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(240);
  });

  it('waits an interval plus jitter longer than a timer can hold, instead of running again at once', async () => {
    const stop = new AbortController();
    let runs = 0;
    setTimeout(() => stop.abort(), 300);
    await runLoop({
      intervalMs: LONGEST_WAIT_MS,
      jitterMs: LONGEST_WAIT_MS,
      random: () => 1,
      signal: stop.signal,
      runOnce: async () => {
        runs++;
        return status(true);
      },
      onStatus: () => undefined,
    });
    expect(runs).toBe(1);
  });
});
