import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { ReaperMetrics, runCompleted, runResult } from '../../src/observe/metrics';
import { statusOfFailure, statusOfRun, type RunStatus } from '../../src/report/run-status';
import type { RunReport } from '../../src/engine/engine';
import type { Summary } from '../../src/report/summary';

/** One sample per series: `name{labels}` → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!match) throw new Error(`bad exposition line: ${line}`);
    samples.set(match[1], Number(match[2]));
  }
  return samples;
}

function typesOf(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1], match[2]);
  return types;
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function run(overrides: Partial<RunStatus> = {}): RunStatus {
  return {
    startedAt: T0,
    finishedAt: T0 + 12_500,
    completed: true,
    exitCode: 0,
    domainsScanned: 100,
    live: 90,
    stale: 10,
    pending: 4,
    reaped: 6,
    orphansReaped: 2,
    keysDeleted: 20,
    errors: {},
    ...overrides,
  };
}

async function samples(metrics: ReaperMetrics) {
  return parseExposition(await metrics.text());
}

describe('runResult', () => {
  it('maps exit codes and completion to results', () => {
    expect(runResult(run({ exitCode: 0 }))).toBe('success');
    expect(runResult(run({ exitCode: 2 }))).toBe('partial');
    expect(runResult(run({ exitCode: 3 }))).toBe('refused');
    expect(runResult(run({ exitCode: 1 }))).toBe('failed');
    expect(runResult(run({ exitCode: 0, completed: false }))).toBe('failed');
    expect(runResult(run({ exitCode: 130, completed: false }))).toBe('interrupted');
    expect(runCompleted(run({ exitCode: 130, completed: false }))).toBe(false);
    expect(runCompleted(run({ exitCode: 3 }))).toBe(true);
    expect(runCompleted(run({ exitCode: 1 }))).toBe(false);
  });
});

describe('ReaperMetrics', () => {
  it('exports every metric under pages_reaper_ with the right types, on its own registry', async () => {
    const metrics = new ReaperMetrics();
    const text = await metrics.text();
    const types = typesOf(text);
    expect(Object.fromEntries(types)).toEqual({
      pages_reaper_domains_scanned: 'gauge',
      pages_reaper_domains_live: 'gauge',
      pages_reaper_domains_stale: 'gauge',
      pages_reaper_domains_pending_grace: 'gauge',
      pages_reaper_runs_total: 'counter',
      pages_reaper_domains_reaped_total: 'counter',
      pages_reaper_orphans_reaped_total: 'counter',
      pages_reaper_keys_deleted_total: 'counter',
      pages_reaper_errors_total: 'counter',
      pages_reaper_last_run_timestamp_seconds: 'gauge',
      pages_reaper_last_success_timestamp_seconds: 'gauge',
      pages_reaper_last_run_duration_seconds: 'gauge',
      pages_reaper_run_duration_seconds: 'histogram',
      pages_reaper_api_request_duration_seconds: 'histogram',
      pages_reaper_build_info: 'gauge',
    });
    const s = parseExposition(text);
    for (const result of ['success', 'partial', 'refused', 'failed']) {
      expect(s.get(`pages_reaper_runs_total{result="${result}"}`)).toBe(0);
    }
    for (const kind of ['unknown', 'invalid', 'fatal']) {
      expect(s.get(`pages_reaper_errors_total{kind="${kind}"}`)).toBe(0);
    }
    expect(await globalRegistry.metrics()).not.toContain('pages_reaper_');
    // A second instance has its own registry: no "already registered" error.
    expect(() => new ReaperMetrics()).not.toThrow();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.lastRun()).toBeUndefined();
    expect(metrics.lastSuccessAt()).toBeUndefined();
    expect(metrics.lastCompletedAt()).toBeUndefined();
  });

  it('exports pages_reaper_build_info{version,node_version} = 1', async () => {
    const s = await samples(new ReaperMetrics({ version: '1.2.3' }));
    expect(s.get(`pages_reaper_build_info{version="1.2.3",node_version="${process.version}"}`)).toBe(1);
    expect([...s.keys()].filter((k) => k.startsWith('pages_reaper_build_info'))).toHaveLength(1);
  });

  it('last_success moves only on a complete run (exit 0), never on a partial (2) or refused (3) one', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run({ finishedAt: T0 + 1_000, exitCode: 0 }));
    metrics.runFinished(run({ finishedAt: T0 + 2_000, exitCode: 2, errors: { unknown: 1 } }));
    metrics.runFinished(run({ finishedAt: T0 + 3_000, exitCode: 3 }));
    const s = await samples(metrics);
    expect(s.get('pages_reaper_last_success_timestamp_seconds')).toBe((T0 + 1_000) / 1000);
    expect(s.get('pages_reaper_last_run_timestamp_seconds')).toBe((T0 + 3_000) / 1000);
    expect(metrics.lastSuccessAt()).toBe(T0 + 1_000);
    // /healthz and /readyz still count partial and refused runs as completed.
    expect(metrics.lastCompletedAt()).toBe(T0 + 3_000);
  });

  it('a partial run alone leaves last_success at 0', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run({ exitCode: 2 }));
    const s = await samples(metrics);
    expect(s.get('pages_reaper_last_success_timestamp_seconds')).toBe(0);
    expect(s.get('pages_reaper_runs_total{result="partial"}')).toBe(1);
    expect(metrics.lastSuccessAt()).toBeUndefined();
    expect(metrics.lastCompletedAt()).toBe(T0 + 12_500);
  });

  it('counts runs by result, sums deletions and errors, and keeps the last completed run in the gauges', async () => {
    const metrics = new ReaperMetrics();
    const first = run();
    metrics.runFinished(first);
    const partial = run({
      startedAt: T0 + 60_000,
      finishedAt: T0 + 63_000,
      exitCode: 2,
      domainsScanned: 101,
      live: 95,
      stale: 6,
      pending: 1,
      reaped: 1,
      orphansReaped: 0,
      keysDeleted: 3,
      errors: { unknown: 2 },
    });
    metrics.runFinished(partial);
    metrics.runFinished(
      run({
        startedAt: T0 + 120_000,
        finishedAt: T0 + 121_000,
        exitCode: 3,
        reaped: 0,
        orphansReaped: 0,
        keysDeleted: 0,
        errors: { invalid: 1 },
      }),
    );
    const failed = statusOfFailure(T0 + 180_000, T0 + 180_250, new Error('redis unreachable'));
    metrics.runFinished(failed);

    const s = await samples(metrics);
    expect(s.get('pages_reaper_runs_total{result="success"}')).toBe(1);
    expect(s.get('pages_reaper_runs_total{result="partial"}')).toBe(1);
    expect(s.get('pages_reaper_runs_total{result="refused"}')).toBe(1);
    expect(s.get('pages_reaper_runs_total{result="failed"}')).toBe(1);
    expect(s.get('pages_reaper_domains_reaped_total')).toBe(7);
    expect(s.get('pages_reaper_orphans_reaped_total')).toBe(2);
    expect(s.get('pages_reaper_keys_deleted_total')).toBe(23);
    expect(s.get('pages_reaper_errors_total{kind="unknown"}')).toBe(2);
    expect(s.get('pages_reaper_errors_total{kind="invalid"}')).toBe(1);
    expect(s.get('pages_reaper_errors_total{kind="fatal"}')).toBe(1);

    // Gauges come from the last completed run (the refused one), not the failed one.
    expect(s.get('pages_reaper_domains_scanned')).toBe(100);
    expect(s.get('pages_reaper_domains_live')).toBe(90);
    expect(s.get('pages_reaper_domains_stale')).toBe(10);
    expect(s.get('pages_reaper_domains_pending_grace')).toBe(4);
    // last_success is the last complete run (exit 0): the first one, not the partial or refused ones.
    expect(s.get('pages_reaper_last_success_timestamp_seconds')).toBe((T0 + 12_500) / 1000);
    expect(s.get('pages_reaper_last_run_timestamp_seconds')).toBe((T0 + 180_250) / 1000);
    expect(s.get('pages_reaper_last_run_duration_seconds')).toBe(0.25);

    expect(s.get('pages_reaper_run_duration_seconds_count')).toBe(4);
    expect(s.get('pages_reaper_run_duration_seconds_sum')).toBeCloseTo(12.5 + 3 + 1 + 0.25);
    expect(s.get('pages_reaper_run_duration_seconds_bucket{le="1"}')).toBe(2);
    expect(s.get('pages_reaper_run_duration_seconds_bucket{le="5"}')).toBe(3);
    expect(s.get('pages_reaper_run_duration_seconds_bucket{le="+Inf"}')).toBe(4);

    expect(metrics.lastRun()).toBe(failed);
    expect(metrics.lastSuccessAt()).toBe(T0 + 12_500);
    expect(metrics.lastCompletedAt()).toBe(T0 + 121_000);
  });

  it('counts what a run failed or interrupted during its deletes had deleted, and names its backup', async () => {
    const metrics = new ReaperMetrics();
    const deletions = { deleted: { groups: 5, domains: 4, orphans: 1, keys: 37 }, backupPath: '/var/backups/reap-x.jsonl' };
    const failed = statusOfFailure(T0, T0 + 1000, new Error('lost the store'), deletions);
    expect(failed).toMatchObject({
      completed: false,
      exitCode: 1,
      reaped: 4,
      orphansReaped: 1,
      keysDeleted: 37,
      backupPath: deletions.backupPath,
    });
    metrics.runFinished(failed);
    metrics.runFinished({
      ...statusOfFailure(T0, T0 + 2000, 'interrupted', { deleted: { groups: 2, domains: 2, orphans: 0, keys: 18 } }),
      exitCode: 130,
    });
    metrics.runFinished(statusOfFailure(T0, T0 + 3000, new Error('redis unreachable')));

    const s = await samples(metrics);
    expect(s.get('pages_reaper_runs_total{result="failed"}')).toBe(2);
    expect(s.get('pages_reaper_runs_total{result="interrupted"}')).toBe(1);
    expect(s.get('pages_reaper_domains_reaped_total')).toBe(6);
    expect(s.get('pages_reaper_orphans_reaped_total')).toBe(1);
    expect(s.get('pages_reaper_keys_deleted_total')).toBe(55);
  });

  it('takes gauges from a later completed run', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run());
    metrics.runFinished(run({ finishedAt: T0 + 99_000, exitCode: 2, domainsScanned: 7, live: 5, stale: 2, pending: 0 }));
    const s = await samples(metrics);
    expect(s.get('pages_reaper_domains_scanned')).toBe(7);
    expect(s.get('pages_reaper_domains_live')).toBe(5);
    expect(s.get('pages_reaper_domains_stale')).toBe(2);
    expect(s.get('pages_reaper_domains_pending_grace')).toBe(0);
    // A partial run's verdicts are shown, but it is not a success.
    expect(s.get('pages_reaper_last_success_timestamp_seconds')).toBe((T0 + 12_500) / 1000);
  });

  it('says how long each step of the last completed run took, only the steps it reached, once a run says them', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run());
    expect(await metrics.text()).not.toContain('phase_duration');
    metrics.runFinished(run({ phasesMs: { scan: 8_100, verify: 50, plan: 160, backup: 570, delete: 820 } }));
    let s = await samples(metrics);
    expect(typesOf(await metrics.text()).get('pages_reaper_last_run_phase_duration_seconds')).toBe('gauge');
    expect(s.get('pages_reaper_last_run_phase_duration_seconds{phase="scan"}')).toBe(8.1);
    expect(s.get('pages_reaper_last_run_phase_duration_seconds{phase="backup"}')).toBe(0.57);
    expect(s.get('pages_reaper_last_run_phase_duration_seconds{phase="delete"}')).toBe(0.82);
    // A dry run after it: no backup or delete step, and none is left from the reap before.
    metrics.runFinished(run({ dryRun: true, phasesMs: { scan: 7_900, verify: 40, plan: 200 } }));
    // A failed run keeps the last completed run's view.
    metrics.runFinished(statusOfFailure(T0, T0 + 5, 'connection lost'));
    s = await samples(metrics);
    expect([...s.keys()].filter((name) => name.includes('phase_duration'))).toEqual([
      'pages_reaper_last_run_phase_duration_seconds{phase="scan"}',
      'pages_reaper_last_run_phase_duration_seconds{phase="verify"}',
      'pages_reaper_last_run_phase_duration_seconds{phase="plan"}',
    ]);
    expect(s.get('pages_reaper_last_run_phase_duration_seconds{phase="plan"}')).toBe(0.2);
  });

  it('a completed run with exit 1 is failed and not a success', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run({ exitCode: 1 }));
    const s = await samples(metrics);
    expect(s.get('pages_reaper_runs_total{result="failed"}')).toBe(1);
    expect(s.get('pages_reaper_last_success_timestamp_seconds')).toBe(0);
    expect(metrics.lastSuccessAt()).toBeUndefined();
    expect(metrics.lastCompletedAt()).toBeUndefined();
    expect(metrics.lastRun()?.exitCode).toBe(1);
  });

  it('a run stopped early (Forgejo failing every check) counts one fatal error beside its unknown entries', async () => {
    const report = { startedAt: T0, stoppedEarly: 'stopped early: the first 10 checks all failed the same way (503)' } as RunReport;
    const summary = { exitCode: 1, unknown: 10, invalid: 0, errors: 10, refusedByBrake: false } as Summary;
    const status = statusOfRun(report, summary, T0 + 1000);
    expect(status.errors).toEqual({ unknown: 10, invalid: 0, fatal: 1 });
    const metrics = new ReaperMetrics();
    metrics.runFinished(status);
    const s = await samples(metrics);
    expect(s.get('pages_reaper_errors_total{kind="fatal"}')).toBe(1);
    expect(s.get('pages_reaper_runs_total{result="failed"}')).toBe(1);
  });

  it("a run's reason names what it left for the next run as such, not as reverse keys unchecked", () => {
    const report = {
      startedAt: T0,
      stage: 'apply',
      reverseVerdicts: new Map([['o:r', { status: 'unknown', reason: '500' }]]),
      stillStale: new Set([3]),
      plan: { kept: [{ subject: 'u1:site1', reason: 'registered during this run', rerun: true }], brake: { tripped: false } },
      inventory: { anomalies: [] },
    } as unknown as RunReport;
    const summary = { exitCode: 2, unknown: 1, invalid: 0, errors: 4, refusedByBrake: false } as Summary;
    expect(statusOfRun(report, summary, T0 + 1000).reason).toBe(
      '4 entries kept, not decided (1 unknown, 1 reverse key unchecked, 2 changed during the run, left for the next)',
    );
  });

  it('a run interrupted by SIGTERM/SIGINT (a rollout) is interrupted, not failed: no fatal error, gauges kept', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run({ exitCode: 130, completed: false, errors: {} }));
    const s = await samples(metrics);
    expect(s.get('pages_reaper_runs_total{result="interrupted"}')).toBe(1);
    expect(s.get('pages_reaper_runs_total{result="failed"}')).toBe(0);
    expect(s.get('pages_reaper_errors_total{kind="fatal"}')).toBe(0);
    expect(metrics.lastCompletedAt()).toBeUndefined();
  });

  it('observes API requests by status with buckets from 1 ms to 30 s', async () => {
    const metrics = new ReaperMetrics();
    metrics.requestObserved(200, 0.0008);
    metrics.requestObserved(200, 0.04);
    metrics.requestObserved(200, 1.5);
    metrics.requestObserved(404, 0.02);
    metrics.requestObserved('error', 31);
    const s = await samples(metrics);
    const h = 'pages_reaper_api_request_duration_seconds';
    expect(s.get(`${h}_count{status="200"}`)).toBe(3);
    expect(s.get(`${h}_sum{status="200"}`)).toBeCloseTo(1.5408);
    expect(s.get(`${h}_bucket{le="0.001",status="200"}`)).toBe(1);
    expect(s.get(`${h}_bucket{le="0.05",status="200"}`)).toBe(2);
    expect(s.get(`${h}_bucket{le="30",status="200"}`)).toBe(3);
    expect(s.get(`${h}_count{status="404"}`)).toBe(1);
    expect(s.get(`${h}_count{status="error"}`)).toBe(1);
    expect(s.get(`${h}_bucket{le="30",status="error"}`)).toBe(0);
    expect(s.get(`${h}_bucket{le="+Inf",status="error"}`)).toBe(1);
    const bounds = [...s.keys()]
      .filter((k) => k.startsWith(`${h}_bucket{`) && k.includes('status="404"'))
      .map((k) => /le="([^"]+)"/.exec(k)![1]);
    expect(bounds[0]).toBe('0.001');
    expect(bounds).toContain('30');
    expect(bounds[bounds.length - 1]).toBe('+Inf');
  });

  it('can add process metrics under the same prefix', async () => {
    const metrics = new ReaperMetrics({ processMetrics: true });
    const text = await metrics.text();
    expect(text).toContain('pages_reaper_process_cpu_seconds_total');
    for (const name of typesOf(text).keys()) expect(name.startsWith('pages_reaper_')).toBe(true);
  });

  describe('writeFile', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reaper-metrics-'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('writes the exposition text atomically, mode 0644, with no temp file left', async () => {
      const metrics = new ReaperMetrics();
      metrics.runFinished(run());
      metrics.requestObserved(200, 0.1);
      const file = path.join(dir, 'pages_reaper.prom');
      await fs.writeFile(file, 'old content\n');
      await metrics.writeFile(file);
      expect(await fs.readFile(file, 'utf8')).toBe(await metrics.text());
      expect((await fs.stat(file)).mode & 0o777).toBe(0o644);
      expect(await fs.readdir(dir)).toEqual(['pages_reaper.prom']);

      metrics.runFinished(run({ exitCode: 2 }));
      await metrics.writeFile(file);
      expect(await fs.readFile(file, 'utf8')).toBe(await metrics.text());
      expect(await fs.readdir(dir)).toEqual(['pages_reaper.prom']);
    });

    it('throws a one-line error naming the path, and leaves no temp file', async () => {
      const metrics = new ReaperMetrics();
      const missing = path.join(dir, 'no-such-dir', 'pages_reaper.prom');
      await expect(metrics.writeFile(missing)).rejects.toThrow(`cannot write metrics file ${missing}: ENOENT`);
      const onDirectory = path.join(dir, 'is-a-dir');
      await fs.mkdir(onDirectory);
      const error = await metrics.writeFile(onDirectory).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(onDirectory);
      expect((error as Error).message).not.toContain('\n');
      expect(await fs.readdir(dir)).toEqual(['is-a-dir']);
    });
  });
});

describe('DNS metrics (--verify-dns)', () => {
  it('exist only once a run used --verify-dns, then count its DNS verdicts and lookups', async () => {
    const metrics = new ReaperMetrics();
    metrics.runFinished(run());
    expect(await metrics.text()).not.toMatch(/dns/);
    metrics.runFinished(run({ dns: { proven: 80, ownershipLost: 7, unknown: 3, lookups: 85 } }));
    metrics.runFinished(run({ dns: { proven: 81, ownershipLost: 6, unknown: 3, lookups: 84 } }));
    const text = await metrics.text();
    const samples = parseExposition(text);
    expect(samples.get('pages_reaper_dns_ownership_domains{verdict="proven"}')).toBe(81);
    expect(samples.get('pages_reaper_dns_ownership_domains{verdict="ownership_lost"}')).toBe(6);
    expect(samples.get('pages_reaper_dns_ownership_domains{verdict="unknown"}')).toBe(3);
    expect(samples.get('pages_reaper_dns_lookups_total')).toBe(169);
    expect(typesOf(text).get('pages_reaper_dns_ownership_domains')).toBe('gauge');
  });
});
