import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner } from '../../src/cli/runner';
import { runLogFields } from '../../src/cli/log-line';
import { runStatus } from './fixtures';

describe('Runner.once', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runner-'));
    // A store plugin whose error repeats a secret and spans lines, as a careless client's would.
    writeFileSync(
      join(dir, 'leaky-store.js'),
      "exports.storePlugin = { name: 'leaky', async create(s) { throw new Error(`auth failed for ${s.redisPassword}\\n  at line two`); } };\n",
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a failed run's status says one line, with the settings' secrets scrubbed, and keeps the error itself", async () => {
    const runner = new Runner({
      settings: { store: join(dir, 'leaky-store.js'), rootKey: 'traefik', redisPassword: 's3cr3t-pass' },
      stage: 'scan',
      context: { command: 'scan', dryRun: false },
    });
    const outcome = await runner.once(new AbortController().signal);
    expect(outcome.status.completed).toBe(false);
    expect(outcome.status.error).not.toContain('s3cr3t-pass');
    expect(outcome.status.error).not.toContain('\n');
    expect(outcome.status.error).toMatch(/^auth failed for \S+ at line two$/);
    expect((outcome.error as Error).message).toContain('s3cr3t-pass');
  });

  it('an interrupted run says so, whatever the error', async () => {
    const runner = new Runner({
      settings: { store: join(dir, 'leaky-store.js'), rootKey: 'traefik', redisPassword: 's3cr3t-pass' },
      stage: 'scan',
      context: { command: 'scan', dryRun: false },
    });
    const aborted = new AbortController();
    aborted.abort();
    const { status } = await runner.once(aborted.signal);
    expect(status).toMatchObject({ error: 'interrupted', exitCode: 130, completed: false, errors: {} });
    // The sidecar's log: stopping it is no error.
    expect(runLogFields(status)).toMatchObject({ level: 'warn', msg: 'run interrupted', result: 'interrupted', exitCode: 130 });
  });
});

describe('runLogFields', () => {
  it("carries the run's step times, as the metrics and the JSON document have them", () => {
    const phasesMs = { scan: 203, verify: 188, plan: 4 };
    expect(runLogFields(runStatus({ finishedAt: 412, exitCode: 3, phasesMs }))).toMatchObject({
      msg: 'run finished',
      durationMs: 412,
      phasesMs,
    });
  });

  it('a run that went to its end with its source failing (stopped early) is logged as run failed, its reason as its error', () => {
    const reason = 'stopped early: the first 10 Forgejo checks all failed the same way (HTTP 503)';
    const fields = runLogFields(
      runStatus({ finishedAt: 1000, exitCode: 1, domainsScanned: 40, errors: { unknown: 40, invalid: 0, fatal: 1 }, reason }),
    );
    expect(fields).toMatchObject({ level: 'error', msg: 'run failed', result: 'failed', error: reason, reason, completed: true });
  });
});
