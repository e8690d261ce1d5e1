import { emptyInventory, ownersInSteps, type ForwardMapping, type Inventory } from '../core/inventory';
import { orphanReverseCandidates, planReap, reverseClaim, type BrakeOptions, type Plan } from '../core/planner';
import { reverseKey } from '../core/keys';
import { decideGrace, graceMarkKey, graceMarkValue, type GraceDecision, type GraceMark } from '../core/grace';
import { invalid, unknown, type Claim, type Verdict } from '../core/verdict';
import { verdictWithDns, type DnsEvidence } from '../core/dns-ownership';
import type { Clock } from '../ports/clock';
import type { KeyValueStore } from '../ports/key-value-store';
import { noProgress, type Progress, type ProgressCounts } from '../ports/progress';
import type { SourceOfTruth } from '../ports/source-of-truth';
import type { TxtResolver } from '../ports/txt-resolver';
import { DnsChecker } from './dns-checker';
import { nothingDeletedYet, type DeletedSoFar, type GroupOutcome } from './applier';
import { applyFromBackup, applySlice, hydrateInSlices } from './plan-executor';
import { refuseReadOnly, writePlanBackup } from './transfer';
import { BackupWriter, timestampedPath } from '../backup/writer';
import { untilDoneOrAborted } from './abortable';
import { scanStore, stepThrough } from './scanner';
import { TaskQueue } from './task-queue';
import { SpillFile } from './spill-file';
import { VerdictMap } from '../core/compact';
import { Verifier } from './verifier';
import { ExplainedError, FailedDeletes, InterruptedDeletes } from './explained-error';

export interface EngineOptions {
  rootKey: string;
  brake: BrakeOptions;
  /** Claims being verified at once: the CLI gives the requests in flight (`--concurrency`). */
  verifyParallelism?: number;
  /** Where a reap writes the backup of what it deletes; undefined only with --no-backup. */
  backupDir?: string;
  /** A stale mapping is reaped only once seen stale this long (0: at the first verdict). */
  graceMs?: number;
  /** How long a grace mark outlives its last write, so forgotten marks clean themselves up. */
  graceMarkTtlMs?: number;
  /** With --verify-dns: TXT lookups in flight at most. */
  dnsConcurrency?: number;
  /** Bytes of forward mappings a full scan keeps in memory before the rest go to a file (`FORWARDS_IN_MEMORY_BYTES`). */
  forwardsInMemoryBytes?: number;
  /** Where that file goes; by default the temporary directory (TMPDIR). */
  overflowDirectory?: string;
}

export const ENGINE_OPTIONS = Symbol.for('pages-reaper.EngineOptions');

/**
 * A run over part of the store (a webhook trigger): `collect` builds a small inventory
 * instead of the full scan, handing `onForward` only the mappings to verify; every step
 * after it (verify, grace, brake, plan, hydrate, backup, guarded deletes) is the same.
 */
export interface RunScope {
  collect(store: KeyValueStore, rootKey: string, onForward: (mapping: ForwardMapping) => void): Promise<Inventory>;
  /** Why what triggered the run says a verdict cannot be right (then it is unknown), if it does. */
  contradicts?(claim: Claim, verdict: Verdict): string | undefined;
  /** The brake measured against the whole store, not the few domains collected. */
  brake?(plan: Plan): Plan['brake'];
}

/**
 * Claims queued for verification at most before the scan waits. The scan outpaces
 * verification (at 100,000 domains and no latency, about 22,000 claims a second against
 * 8,000), so the queue sits at this size for most of a run and what waits in it (a claim,
 * its closures) outlives the young generation: 4,000 held a 100,000-domain `verify` at
 * 113 MB of peak RSS, 1,000 at 108 MB for the same time (whole-process medians of four
 * runs each). A page of the scan adds a few hundred claims, so verification never runs dry.
 */
const BACKLOG = 1_000;

/**
 * A claim verifying longer than this lends its place to the next (see `TaskQueue`): an
 * answer takes a few milliseconds, a retry's backoff at least 125 ms. With 5% of answers a
 * 503, a 10,000-domain `verify` took 4.2 s lending after 50 ms, 5.1 s after 100 ms (4.0 s
 * with four claims a place and no lending); lending after 25 ms, a reap at 64 in flight
 * lent places to answers merely slow under load (2.49 s against 2.40 s).
 */
const LEND_AFTER_MS = 50;
/** Claims verified at once, lent places included, per place: what verification ran before it lent any. */
const HELD_UP_AT_MOST = 4;

/** How far along the flow of DESIGN §5 a command goes. */
export type Stage = 'scan' | 'verify' | 'plan' | 'apply';

export interface RunReport {
  stage: Stage;
  inventory: Inventory;
  /** Verdict per forward-mapped domain (invalid ones included). */
  forwardVerdicts: Map<string, Verdict>;
  /** Verdict per orphan reverse key checked against the source. */
  reverseVerdicts: Map<string, Verdict>;
  plan?: Plan;
  /** Outcome per plan group, same index; absent when nothing was applied. */
  outcomes?: GroupOutcome[];
  /**
   * Indexes of stale domains' groups that came back changed while their own mapping still
   * names what was verified stale: a guard of another domain tripped (it took their Traefik
   * name meanwhile), their keys are left, and the run is partial (exit 2).
   */
  stillStale?: Set<number>;
  stoppedEarly?: string;
  /** With --verify-dns: the DNS evidence per forward-mapped domain Forgejo proved live. */
  dns?: Map<string, DnsEvidence>;
  /** With --verify-dns: the resolvers asked and the lookups sent. */
  dnsServers?: string;
  dnsLookups?: number;
  /** The backup of every key the apply stage deleted (or was about to). */
  backupPath?: string;
  /** With a grace period: when each stale domain was first seen stale, and who waits. */
  grace?: GraceDecision;
  requests: number;
  storeRoundTrips: number;
  startedAt: number;
  durationMs: number;
  /** Milliseconds each step the run reached took, in order (see `RunPhase`). */
  phasesMs?: Partial<Record<RunPhase, number>>;
}

/**
 * The run's steps, one after the other: `scan` reads the store (verification runs beside
 * it); `verify` waits for the answers still out once the scan is done; `plan` decides (and
 * in a dry run reads the values the plan lists); `backup` reads the planned keys' values
 * and writes, syncs the backup; `delete` reads the backup back and deletes (a reap without
 * a backup reads and deletes slice by slice, all of it `delete`).
 */
export type RunPhase = 'scan' | 'verify' | 'plan' | 'backup' | 'delete';

/**
 * The one flow every command runs a prefix of: scan → verify → plan → apply. Its parts,
 * in constructor order, are the ports' tokens KEY_VALUE_STORE, ENGINE_OPTIONS, CLOCK and
 * the optional SOURCE_OF_TRUTH, PROGRESS and TXT_RESOLVER; the composition root
 * (`src/container.ts`) resolves them.
 */
export class ReapEngine {
  constructor(
    private readonly store: KeyValueStore,
    private readonly options: EngineOptions,
    private readonly clock: Clock,
    private readonly source?: SourceOfTruth,
    private readonly progress: Progress = noProgress,
    private readonly txtResolver?: TxtResolver,
  ) {}

  /**
   * The run's parts (the verifier, the DNS checker) listen on a signal of the run's own,
   * which follows `signal` and is let go when the run ends: a sidecar hands every run its
   * one long-lived stop signal, and a listener left on it kept each finished run's verifier,
   * with its answers and its connection pool, for as long as the process ran.
   */
  async run(stage: Stage, signal?: AbortSignal, scope?: RunScope): Promise<RunReport> {
    const own = signal ? new AbortController() : undefined;
    const follow = () => own!.abort(signal!.reason);
    if (signal?.aborted) follow();
    else signal?.addEventListener('abort', follow, { once: true });
    try {
      return await this.runStages(stage, own?.signal, scope);
    } finally {
      signal?.removeEventListener('abort', follow);
      this.progress.stop();
    }
  }

  private async runStages(stage: Stage, signal?: AbortSignal, scope?: RunScope): Promise<RunReport> {
    const startedAt = this.clock.now();
    const phasesMs: NonNullable<RunReport['phasesMs']> = {};
    let phaseStart = startedAt;
    const phaseDone = (phase: RunPhase) => {
      const now = this.clock.now();
      phasesMs[phase] = now - phaseStart;
      phaseStart = now;
    };
    // A reap, and its dry run alike, ends before reading anything on a store it cannot delete from.
    if (stage === 'plan' || stage === 'apply') await refuseReadOnly(this.store, 'a reap cannot delete from');
    // Before the first read: a key the run deletes must be unwritten since (where the store can tell).
    if (stage === 'apply') await this.store.markReads?.();
    // The scan's table keeps the common verdict as a flag of each domain's entry.
    const scanned = scope
      ? undefined
      : emptyInventory(this.options.rootKey, {
          openSpill: () => SpillFile.open(this.options.overflowDirectory),
          spillAfterBytes: this.options.forwardsInMemoryBytes,
        });
    const forwardVerdicts = new VerdictMap(scanned?.forwards);
    const reverseVerdicts = new Map<string, Verdict>();
    const parallelism = this.options.verifyParallelism ?? 64;
    const queue = new TaskQueue(parallelism, { afterMs: LEND_AFTER_MS, most: HELD_UP_AT_MOST * parallelism });
    // --verify-dns: a mapping Forgejo proves live is looked up in DNS at once, in a queue
    // of its own, while the API requests go on; the DNS breaker stops the whole run.
    const dns = stage !== 'scan' && this.txtResolver ? new DnsChecker(this.txtResolver, signal) : undefined;
    const dnsQueue = new TaskQueue(this.options.dnsConcurrency ?? 16);
    const dnsEvidence = new Map<string, DnsEvidence>();
    const dnsStop = new AbortController();
    dns?.whenStopped((message) => dnsStop.abort(new Error(message)));
    const verifierSignal = dns ? (signal ? AbortSignal.any([signal, dnsStop.signal]) : dnsStop.signal) : signal;
    const verifier = stage === 'scan' ? undefined : new Verifier(this.requireSource(), verifierSignal);
    const counts: ProgressCounts = { keysScanned: 0, claims: 0, verified: 0 };
    const verified = (record: (verdict: Verdict) => void, verdict: Verdict) => {
      record(verdict);
      counts.verified++;
      if (!signal?.aborted) this.progress.update(counts);
    };
    const verify = (claim: Claim, record: (verdict: Verdict) => void, ownership = false) => {
      counts.claims++;
      queue.push(async () => {
        // An interrupted run starts nothing more: queued claims are dropped, not asked.
        if (signal?.aborted) return;
        const verdict = await verifier!.verify(claim);
        if (!dns || !ownership || verdict.status !== 'live') return verified(record, verdict);
        dnsQueue.push(async () => {
          if (signal?.aborted) return;
          const evidence = await dns.check(claim);
          dnsEvidence.set(claim.domain, evidence);
          verified(record, verdictWithDns(verdict, evidence));
        });
      });
    };

    const onForward = (mapping: ForwardMapping): void => {
      if (!mapping.target) {
        forwardVerdicts.set(mapping.domain, invalid(mapping.invalid ?? 'not a mapping'));
        return;
      }
      if (!verifier) return;
      const claim = { ...mapping.target, domain: mapping.domain };
      verify(
        claim,
        (verdict) => {
          const contradiction = scope?.contradicts?.(claim, verdict);
          forwardVerdicts.set(mapping.domain, contradiction === undefined ? verdict : unknown(contradiction));
        },
        true,
      );
    };
    const onBatch = (keysScanned: number) => {
      counts.keysScanned = keysScanned;
      this.progress.update(counts);
    };
    // The scan waits while too many claims are queued: queued work stays bounded.
    const pace = () => queue.whenBelow(BACKLOG);
    const inventory = scope
      ? await scope.collect(this.store, this.options.rootKey, onForward)
      : await scanStore(this.store, this.options.rootKey, onForward, onBatch, pace, scanned, signal);
    phaseDone('scan');

    if (verifier) {
      for (const reverse of orphanReverseCandidates(inventory)) {
        verify(reverseClaim(reverse), (verdict) => reverseVerdicts.set(reverse.key, verdict));
      }
      // DNS checks are pushed only by API checks: once those are done, none can follow.
      await untilDoneOrAborted(
        queue.drain().then(() => dnsQueue.drain()),
        signal,
      );
      verifier.settle();
      phaseDone('verify');
    }

    const report: RunReport = {
      stage,
      inventory,
      forwardVerdicts,
      reverseVerdicts,
      stoppedEarly: verifier?.stoppedEarly ?? dns?.stoppedEarly,
      ...(dns ? { dns: dnsEvidence, dnsServers: dns.describe() } : {}),
      requests: 0,
      storeRoundTrips: 0,
      startedAt,
      durationMs: 0,
      phasesMs,
    };
    // A run that stopped asking knows nothing for sure: it plans and deletes nothing.
    // Without verdicts (scan) the plan still names the orphans no mapping produces.
    if (!report.stoppedEarly) {
      let plannable: ReadonlyMap<string, Verdict> = forwardVerdicts;
      const graceMs = this.options.graceMs ?? 0;
      if (graceMs > 0 && stage !== 'scan') {
        const grace = decideGrace(inventory.forwards.values(), forwardVerdicts, inventory.graceMarks, this.clock.now(), graceMs, (domain) =>
          inventory.forwards.has(domain),
        );
        report.grace = grace;
        // The planner acts on stale verdicts alone: those due are all it needs, not a copy of every verdict.
        plannable = new Map([...grace.due].map((domain) => [domain, forwardVerdicts.get(domain)!]));
        // Only a real reap keeps time: verify and --dry-run change nothing.
        if (stage === 'apply') await this.updateGraceMarks(grace, inventory);
      }
      // No local of this frame holds the plan: it is let go once backed up (`backUpAndDelete`).
      report.plan = await this.plan(inventory, plannable, reverseVerdicts, signal);
      if (scope?.brake) report.plan.brake = scope.brake(report.plan);
      if (stage === 'plan' || stage === 'apply') {
        const applying = stage === 'apply' && !report.plan.brake.tripped && report.plan.groups.length > 0;
        if (applying) {
          // A reap's plan ends here; a dry run's goes on to read the values it lists.
          phaseDone('plan');
          if (this.options.backupDir !== undefined) await this.backUpAndDelete(report, signal, () => phaseDone('backup'));
          else {
            const planned = report.plan;
            const outcomes: GroupOutcome[] = [];
            const tally = nothingDeletedYet();
            report.plan = await deleting(planned, tally, signal, undefined, () =>
              hydrateInSlices(this.store, planned, applySlice(this.store, outcomes, signal, tally), signal),
            );
            if (report.plan.groups.length > 0) report.outcomes = outcomes;
          }
        } else report.plan = await hydrateInSlices(this.store, report.plan, async () => {}, signal);
        if (report.outcomes) await this.settleChangedGroups(inventory, report);
        // Every reap, with a grace period or not: a mark a --grace sidecar left of a domain a
        // plain reap deleted outlived it, and timed the grace of whoever registered it next.
        if (report.outcomes && inventory.graceMarks.size > 0) await this.clearGraceMarksOfReaped(inventory, report.plan, report.outcomes);
        phaseDone(applying ? 'delete' : 'plan');
      } else phaseDone('plan');
    }
    // Planning lets the scan's owners go; a run that stopped early does not plan, and its report keeps the inventory.
    else inventory.owners = undefined;
    report.requests = this.source?.requestCount() ?? 0;
    if (dns) report.dnsLookups = dns.lookupCount();
    report.storeRoundTrips = this.store.roundTrips();
    report.durationMs = this.clock.now() - startedAt;
    return report;
  }

  /**
   * Plans with the owners of every Traefik name, as the scan found them once complete
   * (`Inventory.owners`; found here in steps, the event loop turning between them, for an
   * inventory collected otherwise: a webhook's), and lets them go once planned: kept in the
   * run's own frame, their table (18 MB at a million dashed domains) lasted through the
   * backup and the deletes, where a reap's memory peaks. Found again here after the scan
   * had found them, a million-domain `scan --json` planned in 0.86 s and `verify --json` in
   * 1.90 s; taken from the scan, in 0.60 and 1.66 s.
   */
  private async plan(
    inventory: Inventory,
    verdicts: ReadonlyMap<string, Verdict>,
    reverseVerdicts: ReadonlyMap<string, Verdict>,
    signal?: AbortSignal,
  ): Promise<Plan> {
    const owners = inventory.owners ?? (await stepThrough(ownersInSteps(inventory), signal));
    inventory.owners = undefined;
    const limits = { maxGroupSize: this.store.maxGroupSize?.(), checksPerKey: this.store.checksPerKey?.() };
    return planReap(inventory, verdicts, reverseVerdicts, this.options.brake, limits, owners);
  }

  private async updateGraceMarks(grace: GraceDecision, inventory: Inventory): Promise<void> {
    const now = this.clock.now();
    const ttl = this.options.graceMarkTtlMs ?? 7 * 86_400_000;
    await this.store.putMany(
      grace.marksToWrite.map((domain) => ({
        key: graceMarkKey(domain),
        type: 'string',
        // Only a stale verdict writes a mark, and only a mapping with a target is judged.
        value: graceMarkValue(now, inventory.forwards.get(domain)!.target!),
        expiresAt: now + ttl,
      })),
      'overwrite',
    );
    await this.store.deleteGroupsIfUnchanged(grace.marksToClear.map((mark) => ({ keys: [{ key: mark.key, expected: mark.value }] })));
  }

  /**
   * A stale domain's group that came back changed was kept whole: re-registered, as a
   * rule, and then rightly. Its mapping and its reverse key are read once more (only
   * changed groups are), and the run says what is still stale (exit 2, run again) rather
   * than exit 0 with keys left that the next run deletes:
   * - the mapping still names the stale repository: the guard that tripped was another
   *   domain's, which took its Traefik name meanwhile; its stale keys are all still there
   *   (`stillStale`);
   * - the mapping now names another repository (or is gone) while the reverse key still
   *   names the domain for the repository verified stale: that key is an orphan now
   *   (DESIGN §4.8), listed as kept for a rerun. It is not reaped here: its guard would be
   *   the mapping as it is now, which etcd counts as changed by that very registration.
   */
  private async settleChangedGroups(inventory: Inventory, report: RunReport): Promise<void> {
    const plan = report.plan!;
    const outcomes = report.outcomes!;
    const changed = plan.groups.flatMap((group, index) => {
      const scanned = group.kind === 'domain' && outcomes[index] === 'changed' ? inventory.forwards.get(group.subject) : undefined;
      if (!scanned?.target) return [];
      const reverse = reverseKey(scanned.target.owner, scanned.target.repo, scanned.target.branch);
      return [{ index, scanned, target: scanned.target, reverse: group.keys.some((k) => k.key === reverse) ? reverse : undefined }];
    });
    if (changed.length === 0) return;
    const now = await this.store.getMany(
      changed.flatMap(({ scanned, reverse }) => (reverse === undefined ? [scanned.key] : [scanned.key, reverse])),
      { withTtl: false },
    );
    let at = 0;
    for (const { index, scanned, target, reverse } of changed) {
      const mapping = now[at++];
      const reverseNow = reverse === undefined ? undefined : now[at++];
      if (mapping?.value?.equals(scanned.value)) {
        (report.stillStale ??= new Set()).add(index);
        continue;
      }
      if (reverse === undefined || reverseNow?.type !== 'string' || reverseNow.value?.toString('utf8') !== scanned.domain) continue;
      if (mapping !== undefined && (mapping.type !== 'string' || mapping.value === undefined)) continue;
      const became =
        mapping === undefined
          ? `${scanned.domain}'s mapping was deleted`
          : `${scanned.domain} was registered for ${mapping.value!.toString('utf8')}`;
      plan.kept.push({
        subject: reverse,
        reason: `${became} during this run, while this reverse key still names it for ${target.owner}/${target.repo}, verified stale; the next run reaps it`,
        rerun: true,
      });
    }
  }

  /** A reaped domain's mark has done its job; a mark written this run is not in the inventory. */
  private async clearGraceMarksOfReaped(inventory: Inventory, plan: Plan, outcomes: GroupOutcome[]): Promise<void> {
    const reaped = plan.groups.filter((group, i) => group.kind === 'domain' && outcomes[i] === 'deleted').map((group) => group.subject);
    const marks = reaped.map((domain) => inventory.graceMarks.get(domain)).filter((mark): mark is GraceMark => mark !== undefined);
    await this.store.deleteGroupsIfUnchanged(marks.map((mark) => ({ keys: [{ key: mark.key, expected: mark.value }] })));
  }

  /**
   * No backup, no reap (DESIGN §4.7): the backup is finished and read back before the
   * first delete. What the deletes keep is the plan the backup returns (its keys' names);
   * the plan as planned goes once it is backed up. Held in a local of the run, it kept a
   * second object for each of a million-domain reap's 100,000 groups through the
   * deletes, where a reap's memory peaks.
   */
  private async backUpAndDelete(report: RunReport, signal: AbortSignal | undefined, backedUpNow: () => void): Promise<void> {
    const backedUp = await this.backUp(report.plan!, signal);
    backedUpNow();
    report.plan = backedUp.plan;
    const backupPath = backedUp.path;
    if (backupPath === undefined) return;
    report.backupPath = backupPath;
    const outcomes: GroupOutcome[] = [];
    const tally = nothingDeletedYet();
    report.outcomes = await deleting(backedUp.plan, tally, signal, backupPath, () =>
      applyFromBackup(this.store, backedUp.plan, backupPath, signal, outcomes, tally),
    );
  }

  /**
   * Hydrates the plan slice by slice into a backup; the plan returned keeps key names only.
   * No file is written when every planned key vanished before it was read.
   */
  private async backUp(plan: Plan, signal?: AbortSignal): Promise<{ plan: Plan; path?: string }> {
    let writer: BackupWriter | undefined;
    try {
      const hydrated = await hydrateInSlices(
        this.store,
        plan,
        async (slice) => {
          if (slice.groups.length === 0) return;
          writer ??= await BackupWriter.open(await timestampedPath(this.options.backupDir!, 'reap'), {
            store: this.store.describe(),
            rootKey: this.options.rootKey,
            reason: 'reap: every key planned for deletion, as verified',
          });
          await writePlanBackup(slice.groups, writer);
        },
        signal,
      );
      return { plan: hydrated, path: writer ? await writer.finish() : undefined };
    } catch (error) {
      await writer?.abandon();
      if (signal?.aborted) throw error;
      const failure = ExplainedError.partsOf(error);
      throw new ExplainedError(`no backup, no reap: ${failure.problem}; nothing was deleted`, failure.hint, { cause: error });
    }
  }

  private requireSource(): SourceOfTruth {
    if (!this.source) throw new Error('no source of truth configured: set --forgejo-host (or FORGEJO_HOST)');
    return this.source;
  }
}

/**
 * Runs the deletes of `plan`; a failure once they may have begun (a store lost mid-run)
 * says how far they got and where the backup is, so the operator knows what the store
 * holds: the groups whose calls answered are done, the call in flight may be, the rest
 * are left for the next run. An interruption says the same (`InterruptedDeletes`).
 */
async function deleting<T>(
  plan: Plan,
  tally: DeletedSoFar,
  signal: AbortSignal | undefined,
  backupPath: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (signal?.aborted) throw new InterruptedDeletes({ ...tally }, plan.groups.length, backupPath, { cause: error });
    const failure = ExplainedError.partsOf(error);
    const backup = backupPath === undefined ? '' : `; every planned key is in the backup ${backupPath}`;
    throw new FailedDeletes(
      `${failure.problem}; the reap stopped after ${tally.groups} of ${plan.groups.length} planned groups (the call in flight may have deleted more, the next run reaps the rest)${backup}`,
      failure.hint ?? 'run again once the cause is fixed',
      { ...tally },
      backupPath,
      { cause: error },
    );
  }
}
