import { BackupReader } from '../backup/reader';
import { BackupWriter, type BackupMeta } from '../backup/writer';
import { isSelected, mayBeSelected, mayHoldUnnamedKey, type Selection } from '../core/selection';
import type { DeletionGroup } from '../core/planner';
import type { ExpectedKey, KeyValueStore, PutMode, PutOutcome, StoredEntry } from '../ports/key-value-store';
import { noProgress, type Progress } from '../ports/progress';
import { ExplainedError } from './explained-error';

export interface ExportResult {
  written: number;
  /** Keys of types this store cannot serialise: reported, never silently dropped. */
  unsupported: string[];
}

/**
 * Streams the selected entries from the store into a backup, a batch at a time. Three
 * steps overlap: the next SCAN page is asked for and this page's entries are read while
 * the previous page's entries are written, in page order.
 */
export async function exportEntries(
  store: KeyValueStore,
  rootKey: string,
  selection: Selection,
  writer: BackupWriter,
  progress: Progress = noProgress,
): Promise<ExportResult> {
  const unsupported: string[] = [];
  const write = async (entries: Array<StoredEntry | undefined>) => {
    for (const entry of entries) {
      if (!entry || !isSelected(entry, selection, rootKey)) continue;
      if (entry.type !== 'string' && entry.dump === undefined) {
        unsupported.push(entry.key);
        continue;
      }
      await writer.add(entry);
    }
    progress.entries(writer.count);
  };
  const prefixes = selection.kind === 'prefixes' ? selection.prefixes : [''];
  for (const prefix of prefixes) {
    const pages = store.scan(prefix)[Symbol.asyncIterator]();
    let reading: Promise<Array<StoredEntry | undefined>> | undefined;
    try {
      let upcoming = pages.next();
      for (let page = await upcoming; !page.done; page = await upcoming) {
        upcoming = pages.next();
        upcoming.catch(() => {}); // awaited next turn; a failure surfaces there
        const wanted = page.value.filter((key) => mayBeSelected(key, selection, rootKey));
        const previous = reading;
        reading = wanted.length > 0 ? store.getMany(wanted, { withDump: true }) : undefined;
        reading?.catch(() => {}); // awaited below or next turn
        if (previous) await write(await previous);
      }
      if (reading) await write(await reading);
    } finally {
      await pages.return?.();
    }
  }
  // SCAN may return a key twice: each is reported once.
  for (const name of new Set(store.skippedKeys?.() ?? [])) {
    if (mayHoldUnnamedKey(selection, name, rootKey)) unsupported.push(`${name} (its name is not UTF-8)`);
  }
  return { written: writer.count, unsupported };
}

export interface BackupResult extends ExportResult {
  /** Where the backup is ('-': stdout). */
  path: string;
}

/**
 * The backup command's work: opens the file, streams the selection into it, and
 * finishes it (checksum, rename into place); a backup that fails half-way is removed.
 */
export async function backupToFile(
  store: KeyValueStore,
  rootKey: string,
  selection: Selection,
  path: string,
  meta: Omit<BackupMeta, 'store' | 'rootKey'>,
  progress: Progress = noProgress,
): Promise<BackupResult> {
  const writer = await BackupWriter.open(path, { ...meta, store: store.describe(), rootKey });
  try {
    const result = await exportEntries(store, rootKey, selection, writer, progress).finally(() => progress.stop());
    return { ...result, path: await writer.finish() };
  } catch (error) {
    await writer.abandon();
    throw error;
  }
}

/** The entries a reap is about to delete, with the values it verified. */
export async function writePlanBackup(groups: Array<DeletionGroup<ExpectedKey>>, writer: BackupWriter): Promise<void> {
  for (const group of groups) {
    for (const { key, expected, expiresAt } of group.keys) await writer.add({ key, type: 'string', value: expected, expiresAt });
  }
}

export interface RestoreOptions {
  mode: PutMode;
  dryRun: boolean;
  /** Restore only these domains' key sets. */
  domains?: string[];
  now?: () => number;
  progress?: Progress;
}

export type RestoreOutcome = PutOutcome | 'expired';

export interface RestoreResult {
  counts: Record<RestoreOutcome, number>;
  /** Keys left alone because they hold another value (without --overwrite). */
  conflicts: string[];
  /** Keys written (or, in a dry run, that would be). */
  written: string[];
  unsupported: string[];
  /** Entries in the file that the --domain selection left out. */
  notSelected: number;
}

const RESTORE_BATCH = 500;
const LISTED_KEYS = 1000;

/**
 * Throws, naming the primary, when the store takes no writes (a Redis replica): `what`
 * is the run's own words, such as "a reap cannot delete from".
 */
export async function refuseReadOnly(store: KeyValueStore, what: string): Promise<void> {
  const readOnly = await store.readOnlyReason?.();
  if (readOnly !== undefined) throw new ExplainedError(`${what} ${store.describe()}: ${readOnly}`, 'point the reaper at the primary');
}

/**
 * Puts a verified backup back. Expired entries are skipped, the rest get their
 * remaining TTL. A dry run reads the store to say what would happen and writes nothing.
 */
export async function restoreEntries(store: KeyValueStore, reader: BackupReader, options: RestoreOptions): Promise<RestoreResult> {
  // A restore, and its dry run alike, ends before reading anything on a store it cannot write to.
  await refuseReadOnly(store, 'a restore cannot write to');
  const now = options.now ?? Date.now;
  const result: RestoreResult = {
    counts: { written: 0, replaced: 0, same: 0, exists: 0, unsupported: 0, expired: 0 },
    conflicts: [],
    written: [],
    unsupported: [],
    notSelected: 0,
  };
  const selection: Selection | undefined = options.domains?.length ? { kind: 'domains', domains: options.domains } : undefined;
  let batch: StoredEntry[] = [];
  let done = 0;
  const flush = async () => {
    const outcomes = options.dryRun ? await predictPuts(store, batch, options.mode) : await store.putMany(batch, options.mode);
    outcomes.forEach((outcome, i) => {
      result.counts[outcome]++;
      const list =
        outcome === 'exists'
          ? result.conflicts
          : outcome === 'written' || outcome === 'replaced'
            ? result.written
            : outcome === 'unsupported'
              ? result.unsupported
              : undefined;
      if (list && list.length < LISTED_KEYS) list.push(batch[i].key);
    });
    batch = [];
    done += outcomes.length;
    options.progress?.entries(done, reader.count);
  };
  for await (const entry of reader.entries()) {
    if (selection && !isSelected(entry, selection, reader.header.rootKey)) {
      result.notSelected++;
      continue;
    }
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      result.counts.expired++;
      continue;
    }
    batch.push(entry);
    if (batch.length >= RESTORE_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return result;
}

/** What `putMany` would answer, from a read: for dry runs. */
async function predictPuts(store: KeyValueStore, entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
  const current = await store.getMany(
    entries.map((e) => e.key),
    { withDump: entries.some((e) => e.type !== 'string') },
  );
  return entries.map((entry, i) => {
    const existing = current[i];
    if (entry.type !== 'string' && entry.dump === undefined) return 'unsupported';
    if (!existing) return 'written';
    const same =
      entry.type === 'string'
        ? existing.type === 'string' && existing.value!.equals(entry.value!)
        : existing.dump !== undefined && existing.dump.equals(entry.dump!);
    // --overwrite rewrites an identical key too, unless neither it nor the entry expires.
    if (same && (mode === 'if-absent' || (entry.expiresAt === undefined && existing.expiresAt === undefined))) return 'same';
    return mode === 'overwrite' ? 'replaced' : 'exists';
  });
}
