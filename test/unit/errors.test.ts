import { CLIError } from '@oclif/core/errors';
import { oneLine, reportFailure } from '../../src/cli/errors';
import { EXIT } from '../../src/report/exit-codes';
import { InterruptedError, ReaperError, StoreUnreachableError, UsageError } from '../../src/report/errors';
import { ExplainedError } from '../../src/engine/explained-error';

describe('ReaperError', () => {
  it('carries its exit code and hint; the message is the problem, then the hint', () => {
    const error = new UsageError('--webhook-secret-file /x is empty', { hint: "put the webhook's secret in it" });
    expect(error.message).toBe("--webhook-secret-file /x is empty; put the webhook's secret in it");
    expect(error).toMatchObject({
      kind: 'usage',
      exitCode: EXIT.fatal,
      problem: '--webhook-secret-file /x is empty',
      hint: "put the webhook's secret in it",
      name: 'UsageError',
    });
    expect(new ReaperError('stopped', { exitCode: EXIT.partial }).exitCode).toBe(2);
    expect(new StoreUnreachableError('cannot reach etcd').kind).toBe('store-unreachable');
  });

  it('from(): itself, oclif parse errors as usage errors (exit 1, not 2), anything else fatal', () => {
    const own = new StoreUnreachableError('x');
    expect(ReaperError.from(own)).toBe(own);
    const parse = ReaperError.from(new CLIError('Expected an integer', { exit: 2 }));
    expect(parse).toMatchObject({ kind: 'usage', exitCode: 1, message: 'Expected an integer' });
    expect(ReaperError.from(new Error('boom'))).toMatchObject({ kind: 'fatal', exitCode: 1, message: 'boom' });
    expect(ReaperError.from('text')).toMatchObject({ kind: 'fatal', message: 'text' });
  });

  it("from(): the engine's explained failures keep their problem and hint apart", () => {
    const explained = new ExplainedError('lost the store redis://r:6379/0 while reading (the connection was closed)', 'run again');
    expect(explained.message).toBe('lost the store redis://r:6379/0 while reading (the connection was closed); run again');
    expect(ReaperError.from(explained)).toMatchObject({
      kind: 'fatal',
      exitCode: 1,
      problem: 'lost the store redis://r:6379/0 while reading (the connection was closed)',
      hint: 'run again',
      message: explained.message,
    });
    expect(ExplainedError.partsOf(new UsageError('bad', { hint: 'fix it' }))).toEqual({ problem: 'bad', hint: 'fix it' });
    expect(ExplainedError.partsOf(new Error('boom'))).toEqual({ problem: 'boom' });
  });
});

describe('InterruptedError', () => {
  it('says nothing is left half-deleted; during the deletes also how far they got, the backup and the undo', () => {
    expect(new InterruptedError()).toMatchObject({ kind: 'interrupted', exitCode: EXIT.interrupted, hint: 'run again to finish' });
    const during = new InterruptedError({
      deletedGroups: 3,
      plannedGroups: 10,
      backupPath: '/b/r.jsonl',
      undo: 'pages-reaper restore /b/r.jsonl',
    });
    expect(during.problem).toBe(
      'interrupted by SIGINT/SIGTERM after 3 of 10 planned groups were deleted (a delete in flight may have gone through too):' +
        ' nothing is left half-deleted, and every planned key is in the backup /b/r.jsonl',
    );
    expect(during.hint).toBe('run again to finish, or undo with: pages-reaper restore /b/r.jsonl');
    expect(new InterruptedError({ deletedGroups: 0, plannedGroups: 2 }).hint).toBe('run again to finish');
  });
});

describe('reportFailure', () => {
  let stderr: string[];
  let spy: jest.SpyInstance;
  beforeEach(() => {
    stderr = [];
    spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true));
  });
  afterEach(() => spy.mockRestore());

  it('one line on stderr without secrets, the exit code returned; with a JSON stream the document too', () => {
    const json: string[] = [];
    const stream = { write: (chunk: string) => (json.push(chunk), true) } as unknown as NodeJS.WritableStream;
    const code = reportFailure(new UsageError('bad password hunter2\n  in two lines', { hint: 'not hunter2' }), {
      json: stream,
      command: 'scan',
      secrets: ['hunter2'],
    });
    expect(code).toBe(1);
    expect(stderr).toEqual(['pages-reaper: bad password *** in two lines; not ***\n']);
    expect(JSON.parse(json.join(''))).toEqual({
      command: 'scan',
      error: { kind: 'usage', message: 'bad password *** in two lines; not ***', hint: 'not ***', exitCode: 1 },
    });
  });

  it("oneLine turns oclif's framing of a flag error into one line", () => {
    expect(oneLine(new Error('Parsing --grace \n\tbad\nSee more help with --help'))).toBe('--grace: bad; see --help');
    // A reason that names the flag itself does not get it twice.
    expect(oneLine(new Error('Parsing --redis-port \n\t--redis-port (REDIS_PORT): expected a port\nSee more help with --help'))).toBe(
      '--redis-port (REDIS_PORT): expected a port; see --help',
    );
  });
});
