import { planReap, DEFAULT_BRAKE } from '../../src/core/planner';
import type { VerdictStatus } from '../../src/core/verdict';
import type { GroupOutcome } from '../../src/engine/applier';
import type { RunReport, Stage } from '../../src/engine/engine';
import { EXIT } from '../../src/report/exit-codes';
import { summarize } from '../../src/report/summary';
import { inventoryOf, routerKeys, siteKeys, verdicts, type KeyValues } from './fixtures';

interface Scenario {
  /** Forward verdict per mapped site `sN.com` (each a plain site with 7 router keys). */
  sites: VerdictStatus[];
  /** Orphan routers to add (7 keys each). */
  orphanRouters?: number;
  reverseVerdicts?: Record<string, VerdictStatus>;
  extraKeys?: KeyValues;
  force?: boolean;
  stoppedEarly?: string;
}

/** A report as the engine would hand it over, for a stage; `outcome` fills `outcomes` for apply. */
function report(scenario: Scenario, stage: Stage, outcome: (index: number) => GroupOutcome = () => 'deleted'): RunReport {
  const keys: KeyValues = { ...scenario.extraKeys };
  const statuses: Record<string, VerdictStatus> = {};
  scenario.sites.forEach((status, i) => {
    Object.assign(keys, siteKeys('o', `r${i}`, `s${i}.com`));
    statuses[`s${i}.com`] = status;
  });
  for (let i = 0; i < (scenario.orphanRouters ?? 0); i++) Object.assign(keys, routerKeys(`orphan${i}.com`));
  const inventory = inventoryOf(keys);
  const forwardVerdicts = verdicts(statuses);
  const reverseVerdicts = verdicts(scenario.reverseVerdicts ?? {});
  const base: RunReport = {
    stage,
    inventory,
    forwardVerdicts,
    reverseVerdicts,
    stoppedEarly: scenario.stoppedEarly,
    requests: 0,
    storeRoundTrips: 0,
    startedAt: 0,
    durationMs: 1,
  };
  if (scenario.stoppedEarly) return base;
  const plan = planReap(inventory, forwardVerdicts, reverseVerdicts, { ...DEFAULT_BRAKE, force: scenario.force ?? false });
  const outcomes = stage === 'apply' && !plan.brake.tripped ? plan.groups.map((_, i) => outcome(i)) : undefined;
  return { ...base, plan, outcomes };
}

const dryRun = (scenario: Scenario) => summarize(report(scenario, 'plan'), true);
const realRun = (scenario: Scenario, outcome?: (index: number) => GroupOutcome) => summarize(report(scenario, 'apply', outcome), false);

const repeat = (n: number, status: VerdictStatus): VerdictStatus[] => Array.from({ length: n }, () => status);

describe('summarize', () => {
  it('reports a clean run: exit 0, everything counted', () => {
    const summary = realRun({ sites: ['live', 'live', 'stale'], orphanRouters: 2 });
    expect(summary).toEqual({
      domainsScanned: 3,
      live: 2,
      stale: 1,
      pending: 0,
      unknown: 0,
      invalid: 0,
      staleDomainsCleaned: 1,
      orphansCleaned: 2,
      keysDeleted: 9 + 7 * 2, // 7 router keys + reverse + forward; 7 keys per orphan router
      changedSinceRead: 0,
      errors: 0,
      refusedByBrake: false,
      exitCode: EXIT.ok,
    });
  });

  it('uses the exit codes of DESIGN §6', () => {
    expect(EXIT).toEqual({ ok: 0, fatal: 1, partial: 2, refused: 3, interrupted: 130 });
  });

  describe('exit codes', () => {
    it.each<[string, Scenario, number]>([
      ['all live', { sites: ['live', 'live'] }, 0],
      ['nothing mapped', { sites: [] }, 0],
      ['stale reaped', { sites: ['live', 'stale'] }, 0],
      ['one unknown', { sites: ['live', 'unknown'] }, 2],
      ['one invalid', { sites: ['live', 'invalid'] }, 2],
      ['an orphan reverse key unknown', { sites: ['live'], extraKeys: { 'x:y': 'gone.com' }, reverseVerdicts: { 'x:y': 'unknown' } }, 2],
      ['stopped early', { sites: ['unknown', 'unknown'], stoppedEarly: 'stopped early: …' }, 1],
      ['stopped early, even without an unknown verdict recorded', { sites: [], stoppedEarly: 'stopped early: …' }, 1],
      ['brake: 4 of 10 stale', { sites: [...repeat(4, 'stale'), ...repeat(6, 'live')] }, 3],
      ['brake wins over unknown', { sites: [...repeat(4, 'stale'), ...repeat(5, 'live'), 'unknown'] }, 3],
      ['brake, forced', { sites: [...repeat(4, 'stale'), ...repeat(6, 'live')], force: true }, 0],
      ['3 of 10 stale is under the brake', { sites: [...repeat(3, 'stale'), ...repeat(7, 'live')] }, 0],
    ])('%s → %i, dry run or not', (_name, scenario, exitCode) => {
      expect(realRun(scenario).exitCode).toBe(exitCode);
      expect(dryRun(scenario).exitCode).toBe(exitCode);
    });
  });

  describe('a dry run counts what the real run would do', () => {
    it.each<[string, Scenario]>([
      ['stale domains and orphans', { sites: ['live', 'stale', 'stale', 'unknown'], orphanRouters: 3 }],
      [
        'orphan reverse keys',
        { sites: ['live'], extraKeys: { 'x:y': 'gone.com', 'x:z': 'gone2.com' }, reverseVerdicts: { 'x:y': 'stale', 'x:z': 'live' } },
      ],
      ['nothing to do', { sites: ['live'] }],
      ['refused by the brake', { sites: [...repeat(5, 'stale'), ...repeat(5, 'live')], orphanRouters: 1 }],
      ['forced past the brake', { sites: [...repeat(5, 'stale'), ...repeat(5, 'live')], force: true }],
      ['stopped early', { sites: ['unknown'], stoppedEarly: 'stopped early' }],
    ])('%s', (_name, scenario) => {
      expect(dryRun(scenario)).toEqual(realRun(scenario));
    });
  });

  it('counts nothing as cleaned when the brake refuses, and says so', () => {
    const summary = dryRun({ sites: [...repeat(5, 'stale'), ...repeat(5, 'live')], orphanRouters: 2 });
    expect(summary).toMatchObject({
      refusedByBrake: true,
      staleDomainsCleaned: 0,
      orphansCleaned: 0,
      keysDeleted: 0,
      stale: 5,
      exitCode: EXIT.refused,
    });
  });

  it('only refuses for stages that reap (plan, apply), not for verify', () => {
    const scenario: Scenario = { sites: [...repeat(5, 'stale'), ...repeat(5, 'live')] };
    const verify = summarize(report(scenario, 'verify'), false);
    expect(verify).toMatchObject({ refusedByBrake: false, exitCode: EXIT.ok, staleDomainsCleaned: 0, keysDeleted: 0 });
  });

  it('counts only deleted groups of a real run; changed groups are reported apart', () => {
    // groups: s1.com, s2.com (domains), then custom-orphan0-com (orphan router)
    const summary = realRun({ sites: ['live', 'stale', 'stale'], orphanRouters: 1 }, (i) => (i === 1 ? 'changed' : 'deleted'));
    expect(summary).toMatchObject({
      staleDomainsCleaned: 1,
      orphansCleaned: 1,
      keysDeleted: 9 + 7,
      changedSinceRead: 1,
      exitCode: EXIT.ok,
    });
  });

  it('errors = unknown + invalid', () => {
    const summary = realRun({ sites: ['unknown', 'unknown', 'invalid', 'live', 'stale'] });
    expect(summary).toMatchObject({ unknown: 2, invalid: 1, live: 1, stale: 1, errors: 3, exitCode: EXIT.partial });
    expect(summary.errors).toBe(summary.unknown + summary.invalid);
  });

  it('also counts unknown orphan reverse verdicts as errors (they are not in the forward counts)', () => {
    const summary = realRun({ sites: ['live'], extraKeys: { 'x:y': 'gone.com' }, reverseVerdicts: { 'x:y': 'unknown' } });
    expect(summary).toMatchObject({ unknown: 0, invalid: 0, errors: 1, exitCode: EXIT.partial });
  });

  it('counts a dry run that found unknowns as partial, with the stale ones still listed', () => {
    const summary = dryRun({ sites: ['stale', 'unknown'] });
    expect(summary).toMatchObject({ staleDomainsCleaned: 1, keysDeleted: 9, errors: 1, exitCode: EXIT.partial });
  });

  it('counts a scan (no verdicts) without errors', () => {
    const summary = summarize(report({ sites: [], orphanRouters: 1, extraKeys: { 'custom_domain:a.com': 'o:a' } }, 'scan'), false);
    expect(summary).toMatchObject({ domainsScanned: 1, live: 0, stale: 0, errors: 0, exitCode: EXIT.ok, refusedByBrake: false });
  });
});
