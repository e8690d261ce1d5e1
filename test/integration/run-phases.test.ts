import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BRAKE } from '../../src/core/planner';
import type { RunReport } from '../../src/engine/engine';
import { statusOfRun } from '../../src/report/run-status';
import { Harness, type Site } from '../support/harness';
import { BACKENDS } from '../support/store-backend';

/** A run says how long each step it reached took (`phasesMs`), in the order they ran. */
describe.each(BACKENDS)('on $name', ({ create }) => {
  const h = new Harness(create());
  let backupDir: string;
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(async () => {
    await h.reset();
    backupDir = mkdtempSync(join(tmpdir(), 'reaper-phases-'));
  });
  afterEach(() => rmSync(backupDir, { recursive: true, force: true }));

  const site = (i: number): Site => ({ owner: `o${i}`, repo: `r${i}`, domain: `s${i}.example.com`, redirects: i % 2 });
  const seed = async () => {
    for (let i = 0; i < 3; i++) await h.seedSite(site(i), i !== 0);
  };

  function expectPhases(report: RunReport, phases: string[]): void {
    expect(Object.keys(report.phasesMs ?? {})).toEqual(phases);
    const times = Object.values(report.phasesMs ?? {});
    for (const ms of times) expect(ms).toBeGreaterThanOrEqual(0);
    // One step after the other, within the run.
    expect(times.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(report.durationMs);
  }

  it('a reap with its backup: scan, verify, plan, backup, delete', async () => {
    await seed();
    const { report, summary } = await h.run('apply', { backupDir, brake: { ...DEFAULT_BRAKE, force: true } });
    expect(summary.staleDomainsCleaned).toBe(1);
    expectPhases(report, ['scan', 'verify', 'plan', 'backup', 'delete']);
    // What the log line and the metrics are made of.
    expect(statusOfRun(report, summary, Date.now()).phasesMs).toEqual(report.phasesMs);
  });

  it('a reap without a backup (--no-backup): its reads and deletes are one step', async () => {
    await seed();
    const { report, summary } = await h.run('apply', { backupDir: undefined, brake: { ...DEFAULT_BRAKE, force: true } });
    expect(summary.staleDomainsCleaned).toBe(1);
    expectPhases(report, ['scan', 'verify', 'plan', 'delete']);
  });

  it('a dry run, a reap the brake refused, a verify: no backup, no delete', async () => {
    await seed();
    expectPhases((await h.run('plan', { backupDir, brake: { ...DEFAULT_BRAKE, force: true } })).report, ['scan', 'verify', 'plan']);
    const refused = await h.run('apply', { backupDir, brake: { ...DEFAULT_BRAKE, minDomains: 1, maxStaleRatio: 0.1 } });
    expect(refused.report.plan?.brake.tripped).toBe(true);
    expectPhases(refused.report, ['scan', 'verify', 'plan']);
    expectPhases((await h.run('verify')).report, ['scan', 'verify', 'plan']);
  });

  it('a scan: no verification', async () => {
    await seed();
    expectPhases((await h.run('scan')).report, ['scan', 'plan']);
  });
});
