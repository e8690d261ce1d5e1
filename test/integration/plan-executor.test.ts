import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupReader } from '../../src/backup/reader';
import { BackupWriter } from '../../src/backup/writer';
import { createRuntime } from '../../src/container';
import type { Plan } from '../../src/core/planner';
import { DEFAULT_BRAKE } from '../../src/core/planner';
import type { RunReport } from '../../src/engine/engine';
import { statusOfRun } from '../../src/report/run-status';
import { deletionsOf } from '../../src/engine/explained-error';
import { applyFromBackup, HYDRATE_SLICE } from '../../src/engine/plan-executor';
import { Harness, keysOf, type Site } from '../support/harness';
import { siteEntries } from '../support/plugin-writer';
import { BACKENDS } from '../support/store-backend';
import { ReaperError } from '../../src/report/errors';
import { startCuttableRelay, type CuttableRelay } from '../support/hung-store';

/**
 * A reap hydrates its plan a slice at a time and deletes what the finished backup holds
 * (DESIGN §4.7, §4.11): every scenario on each store.
 */
describe.each(BACKENDS)('on $name', ({ create }) => {
  const h = new Harness(create());
  let backupDir: string;
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(async () => {
    await h.reset();
    backupDir = mkdtempSync(join(tmpdir(), 'reaper-slices-'));
  });
  afterEach(() => rmSync(backupDir, { recursive: true, force: true }));

  const site = (i: number): Site => ({ owner: `o${i % 7}`, repo: `r${i}`, domain: `s${i}.example.com`, redirects: i % 5 === 0 ? 1 : 0 });
  const force = { ...DEFAULT_BRAKE, force: true };

  it('reaps more stale domains than one slice holds: all of them, each key backed up once, the live ones untouched', async () => {
    const staleCount = HYDRATE_SLICE + 37;
    const staleKeys: string[] = [];
    for (let i = 0; i < staleCount; i++) staleKeys.push(...keysOf(await h.seedSite(site(i), false)));
    const live = await h.seedSite({ owner: 'alice', repo: 'site', domain: 'www.alice.com', branches: ['dev'] });

    const { report, summary } = await h.run('apply', { backupDir, brake: force });

    expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: staleCount, keysDeleted: staleKeys.length });
    expect(await h.dump()).toEqual(live);
    const [file] = readdirSync(backupDir);
    const backup = await BackupReader.verify(join(backupDir, file));
    const backedUp: string[] = [];
    for await (const entry of backup.entries()) backedUp.push(entry.key);
    expect(backedUp.sort()).toEqual(staleKeys.sort());
    // What the run keeps of its plan is key names: the values stay in the backup.
    expect(report.plan!.groups).toHaveLength(staleCount);
    for (const group of report.plan!.groups) for (const key of group.keys) expect(key.expected).toBeUndefined();
  });

  it('reaps more stale domains than one slice holds without a backup (--no-backup), in slices', async () => {
    const staleKeys: string[] = [];
    for (let i = 0; i < HYDRATE_SLICE + 3; i++) staleKeys.push(...keysOf(await h.seedSite(site(i), false)));
    const { summary } = await h.run('apply', { backupDir: undefined, brake: force });
    expect(summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: HYDRATE_SLICE + 3, keysDeleted: staleKeys.length });
    expect(await h.dump()).toEqual({});
  });

  it('writes no backup file, and deletes nothing, when every planned key vanished before it was read', async () => {
    // Leftover router keys (no mapping): their values are first read by the hydration.
    const routers = Object.fromEntries(Object.entries(siteEntries(site(1))).filter(([key]) => key.startsWith('traefik/http/routers/')));
    expect(Object.keys(routers).length).toBeGreaterThan(0);
    await h.store.mset(routers);
    const { report, summary } = await h.run('apply', { backupDir, brake: force }, (store) => {
      const getMany = store.getMany.bind(store);
      // The scan never reads a router's value; the hydration does: by then the keys are gone.
      store.getMany = async (keys, options) => {
        if (keys.some((key) => key.startsWith('traefik/http/routers/'))) await h.store.flush();
        return getMany(keys, options);
      };
    });
    expect(report.plan!.groups).toEqual([]);
    expect(report.backupPath).toBeUndefined();
    expect(report.outcomes).toBeUndefined();
    expect(summary.keysDeleted).toBe(0);
    expect(readdirSync(backupDir)).toEqual([]);
  });

  describe('applyFromBackup', () => {
    const group = (subject: string, keys: string[]): Plan['groups'][number] => ({
      kind: 'domain',
      subject,
      reason: 'stale',
      keys: keys.map((key) => ({ key })),
      guards: [],
    });
    const plan = (groups: Plan['groups']): Plan => ({
      groups,
      kept: [],
      brake: { mappedDomains: 0, staleDomains: 0, ratio: 0, maxStaleRatio: 1, minDomains: 0, forced: false, tripped: false },
    });

    async function backupOf(entries: Record<string, string>): Promise<string> {
      const writer = await BackupWriter.open(join(backupDir, 'b.jsonl'), { store: 'test', rootKey: 'traefik', reason: 'test' });
      for (const [key, value] of Object.entries(entries)) await writer.add({ key, type: 'string', value: Buffer.from(value) });
      return writer.finish();
    }

    async function withStore<T>(use: (store: Awaited<ReturnType<typeof createRuntime>>['store']) => Promise<T>): Promise<T> {
      const runtime = await createRuntime(h.settings(), { needsSource: false });
      try {
        return await use(runtime.store);
      } finally {
        await runtime.close();
      }
    }

    it('deletes a group only while its keys hold the bytes backed up', async () => {
      await h.store.mset({ 'custom_domain:a.com': 'o:a', 'o:a': 'a.com', 'custom_domain:b.com': 'o:b-now', 'o:b': 'b.com' });
      const path = await backupOf({ 'custom_domain:a.com': 'o:a', 'o:a': 'a.com', 'custom_domain:b.com': 'o:b', 'o:b': 'b.com' });
      const outcomes = await withStore((store) =>
        applyFromBackup(
          store,
          plan([group('a.com', ['custom_domain:a.com', 'o:a']), group('b.com', ['custom_domain:b.com', 'o:b'])]),
          path,
        ),
      );
      expect(outcomes).toEqual(['deleted', 'changed']);
      expect(await h.dump()).toEqual({ 'custom_domain:b.com': 'o:b-now', 'o:b': 'b.com' });
    });

    it('stops, deleting nothing more, when the backup does not hold the key the plan has next', async () => {
      await h.store.mset({ 'custom_domain:a.com': 'o:a', 'custom_domain:b.com': 'o:b' });
      const path = await backupOf({ 'custom_domain:a.com': 'o:a' });
      await expect(
        withStore((store) =>
          applyFromBackup(store, plan([group('a.com', ['custom_domain:a.com']), group('b.com', ['custom_domain:b.com'])]), path),
        ),
      ).rejects.toThrow(/does not hold custom_domain:b\.com where the plan has it; nothing more was deleted/);
      expect(await h.dump()).toEqual({ 'custom_domain:a.com': 'o:a', 'custom_domain:b.com': 'o:b' });
    });

    /** Files of the backup directory this process holds open (Linux: /proc/self/fd). */
    function openBackupFiles(): string[] {
      return readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.startsWith(backupDir) ? [target] : [];
        } catch {
          return []; // closed since the listing
        }
      });
    }

    it('closes the backup once its deletes are done or stopped mid-file (a sidecar runs again and again)', async () => {
      await h.store.mset({ 'custom_domain:a.com': 'o:a', 'custom_domain:b.com': 'o:b' });
      // Larger than a read of the file: a reader left mid-file still holds it open.
      const filler = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`filler:${i}`, 'x'.repeat(100)]));
      const path = await backupOf({ 'custom_domain:a.com': 'o:a', ...filler });
      // The plan ends long before the backup's trailer, and the second run stops mid-file.
      expect(await withStore((store) => applyFromBackup(store, plan([group('a.com', ['custom_domain:a.com'])]), path))).toEqual([
        'deleted',
      ]);
      await expect(
        withStore((store) =>
          applyFromBackup(store, plan([group('a.com', ['custom_domain:a.com']), group('b.com', ['custom_domain:b.com'])]), path),
        ),
      ).rejects.toThrow(/does not hold custom_domain:b\.com/);
      expect(openBackupFiles()).toEqual([]);
    });

    it('refuses a backup that does not read back whole, before any delete', async () => {
      await h.store.mset({ 'custom_domain:a.com': 'o:a' });
      const writer = await BackupWriter.open(join(backupDir, 'half.jsonl'), { store: 'test', rootKey: 'traefik', reason: 'test' });
      await writer.add({ key: 'custom_domain:a.com', type: 'string', value: Buffer.from('o:a') });
      await writer.abandon();
      await expect(
        withStore((store) => applyFromBackup(store, plan([group('a.com', ['custom_domain:a.com'])]), join(backupDir, 'half.jsonl'))),
      ).rejects.toThrow();
      expect(await h.dump()).toEqual({ 'custom_domain:a.com': 'o:a' });
    });
  });

  /** A run says how long each step it reached took (`phasesMs`), in the order they ran. */
  describe('step times', () => {
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
      const { report, summary } = await h.run('apply', { backupDir, brake: force });
      expect(summary.staleDomainsCleaned).toBe(1);
      expectPhases(report, ['scan', 'verify', 'plan', 'backup', 'delete']);
      // What the log line and the metrics are made of.
      expect(statusOfRun(report, summary, Date.now()).phasesMs).toEqual(report.phasesMs);
      // The owners of the Traefik names the scan found went to the plan, and are let go.
      expect(report.inventory.owners).toBeUndefined();
    });

    it('a reap without a backup (--no-backup): its reads and deletes are one step', async () => {
      await seed();
      const { report, summary } = await h.run('apply', { backupDir: undefined, brake: force });
      expect(summary.staleDomainsCleaned).toBe(1);
      expectPhases(report, ['scan', 'verify', 'plan', 'delete']);
    });

    it('a dry run, a reap the brake refused, a verify: no backup, no delete', async () => {
      await seed();
      expectPhases((await h.run('plan', { backupDir, brake: force })).report, ['scan', 'verify', 'plan']);
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
});

describe('a store lost while deleting (single Redis)', () => {
  const h = new Harness();
  let backupDir: string;
  let relay: CuttableRelay;
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(async () => {
    await h.reset();
    backupDir = mkdtempSync(join(tmpdir(), 'reaper-lost-'));
    relay = await startCuttableRelay(Number(h.store.settings().redisPort));
  });
  afterEach(async () => {
    await relay.cut();
    rmSync(backupDir, { recursive: true, force: true });
  });

  it('fails in one line that says how far the deletes got and where the backup is; the next run reaps the rest', async () => {
    const sites = Array.from({ length: 60 }, (_, i): Site => ({ owner: 'gone', repo: `r${i}`, domain: `old${i}.example.com` }));
    let staleKeys = 0;
    for (const site of sites) staleKeys += keysOf(await h.seedSite(site, false)).length;
    const live = await h.seedSite({ owner: 'alice', repo: 'site', domain: 'www.alice.com' });
    const force = { ...DEFAULT_BRAKE, force: true };
    let calls = 0;
    // The reaper reaches Redis through the relay; once its first delete call has answered,
    // the relay is cut: the server is gone for the reaper, and still there for the checks.
    const failure: unknown = await h
      .run('apply', { backupDir, brake: force, redisPort: relay.port }, (store) => {
        const deleteGroups = store.deleteGroupsIfUnchanged.bind(store);
        store.deleteGroupsIfUnchanged = async (groups) => {
          if (++calls === 2) await relay.cut();
          return deleteGroups(groups);
        };
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    const [file] = readdirSync(backupDir);
    const backupPath = join(backupDir, file);
    const { problem, hint } = ReaperError.from(failure);
    const escaped = backupPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(problem).toMatch(
      new RegExp(
        `^lost the store redis://127\\.0\\.0\\.1:${relay.port}/0 while deleting \\(.+\\); the reap stopped after \\d+ of 60 planned groups \\(the call in flight may have deleted more, the next run reaps the rest\\); every planned key is in the backup ${escaped}$`,
      ),
    );
    expect(hint).toBe('check that it is up and reachable, then run again');
    // What the line counts is what the store holds: the first call's groups are gone, no others.
    const done = Number(/stopped after (\d+) of/.exec(problem)![1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(60);
    expect(deletionsOf(failure)).toEqual({
      deleted: { groups: done, domains: done, orphans: 0, keys: (staleKeys / 60) * done },
      backupPath,
    });
    const after = await h.dump();
    expect(sites.filter((site) => `custom_domain:${site.domain}` in after)).toHaveLength(60 - done);
    for (const key of Object.keys(live)) expect(after[key]).toBe(live[key]);
    expect((await BackupReader.verify(backupPath)).count).toBe(staleKeys);

    const again = await h.run('apply', { backupDir, brake: force });
    expect(again.summary).toMatchObject({ exitCode: 0, staleDomainsCleaned: 60 - done });
    expect(await h.dump()).toEqual(live);
  });
});
