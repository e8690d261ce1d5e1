import { BackupReader } from '../backup/reader';
import { BackupWriter, type BackupMeta } from '../backup/writer';
import { FORWARD_PREFIX } from '../core/keys';
import { isSelected, mayBeSelected, mayHoldUnnamedKey, registrationOf, type Selection } from '../core/selection';
import type { DeletionGroup } from '../core/planner';
import type { ExpectedKey, KeyValueStore, PutMode, PutOutcome, StoredEntry } from '../ports/key-value-store';
import { noProgress, type Progress } from '../ports/progress';
import { ExplainedError } from './explained-error';

export interface ExportResult {
  written: number;
  /** Keys of types this store cannot serialise: reported, never silently dropped. */
  unsupported: string[];
  /** Domains of a `--domain` selection with no forward mapping in the store (spelled otherwise, or gone). */
  unmapped: string[];
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
  const mapped = new Set<string>();
  const write = async (entries: Array<StoredEntry | undefined>) => {
    for (const entry of entries) {
      if (!entry || !isSelected(entry, selection, rootKey)) continue;
      if (selection.kind === 'domains' && entry.key.startsWith(FORWARD_PREFIX)) mapped.add(entry.key.slice(FORWARD_PREFIX.length));
      // Redis takes an empty key name; a backup line must name its key (and etcd has no such key).
      if (entry.key === '') {
        unsupported.push('"" (an empty key name)');
        continue;
      }
      if (entry.type !== 'string' && entry.dump === undefined) {
        unsupported.push(entry.key);
        continue;
      }
      try {
        const flushing = writer.add(entry);
        if (flushing) await flushing;
      } catch (error) {
        // A value no line of text can hold (its base64 past V8's longest string, about 400 MB): named, not the run's end.
        if (!(error instanceof RangeError)) throw error;
        unsupported.push(`${entry.key} (its value is too large for a backup line)`);
      }
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
  const unmapped = selection.kind === 'domains' ? selection.domains.filter((domain) => !mapped.has(domain)) : [];
  return { written: writer.count, unsupported, unmapped };
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
    for (const { key, expected, expiresAt } of group.keys) {
      const flushing = writer.add({ key, type: 'string', value: expected, expiresAt });
      if (flushing) await flushing;
    }
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

/** `taken`: left alone with the rest of its registration, which the store holds for someone else now. */
export type RestoreOutcome = PutOutcome | 'expired' | 'taken';

export interface RestoreResult {
  counts: Record<RestoreOutcome, number>;
  /** Keys left alone because they hold another value (without --overwrite). */
  conflicts: string[];
  /** Keys left alone because another key of their registration holds another value (without --overwrite). */
  taken: string[];
  /** Keys written (or, in a dry run, that would be). */
  written: string[];
  unsupported: string[];
  /** Entries in the file that the --domain selection left out. */
  notSelected: number;
  /** Domains given with --domain whose forward mapping the backup does not hold (spelled otherwise, or not in it). */
  unmapped: string[];
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
    counts: { written: 0, replaced: 0, same: 0, exists: 0, unsupported: 0, expired: 0, taken: 0 },
    conflicts: [],
    taken: [],
    written: [],
    unsupported: [],
    notSelected: 0,
    unmapped: [],
  };
  const mapped = new Set<string>();
  const selection: Selection | undefined = options.domains?.length ? { kind: 'domains', domains: options.domains } : undefined;
  const rootKey = reader.header.rootKey;
  const restorable = (entry: StoredEntry) =>
    (!selection || isSelected(entry, selection, rootKey)) && (entry.expiresAt === undefined || entry.expiresAt > now());
  const { taken, conflicting } =
    options.mode === 'if-absent'
      ? await registrationsTaken(store, reader, restorable)
      : { taken: new Set<string>(), conflicting: new Set<string>() };
  let batch: StoredEntry[] = [];
  let done = 0;
  const flush = async () => {
    // A file written to while it is read applies nothing more: its digest would say so only at its end.
    await reader.unchangedSoFar();
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
    if (selection && entry.key.startsWith(FORWARD_PREFIX)) mapped.add(entry.key.slice(FORWARD_PREFIX.length));
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      result.counts.expired++;
      continue;
    }
    if (taken.size > 0) {
      const registration = registrationOf(entry, rootKey);
      if (registration !== undefined && taken.has(registration)) {
        // The keys that hold another value are named as such; the others are held with them.
        const [outcome, list] = conflicting.has(entry.key) ? (['exists', result.conflicts] as const) : (['taken', result.taken] as const);
        result.counts[outcome]++;
        if (list.length < LISTED_KEYS) list.push(entry.key);
        continue;
      }
    }
    batch.push(entry);
    if (batch.length >= RESTORE_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  result.unmapped = options.domains?.filter((domain) => !mapped.has(domain)) ?? [];
  return result;
}

/**
 * The registrations (`registrationOf`) of which some key the backup would restore holds
 * another value in the store: the domain was registered again since, for someone else
 * (its forward mapping names another repository) or under a name that shares its router.
 * Without --overwrite none of their keys is written, not even those the store lacks: a
 * redirect middleware or router sub-key that the new registration has no use for would
 * put the old owner's redirects on the new owner's live site. Read before the first
 * write; a registration the plugin makes between this read and the writes still keeps
 * every key it wrote (absent keys only are written), but may gain the old one's others.
 */
async function registrationsTaken(
  store: KeyValueStore,
  reader: BackupReader,
  restorable: (entry: StoredEntry) => boolean,
): Promise<{ taken: Set<string>; conflicting: Set<string> }> {
  const taken = new Set<string>();
  const conflicting = new Set<string>();
  const rootKey = reader.header.rootKey;
  let batch: Array<{ entry: StoredEntry; registration: string }> = [];
  const check = async () => {
    const current = await store.getMany(
      batch.map(({ entry }) => entry.key),
      { withTtl: false },
    );
    batch.forEach(({ entry, registration }, i) => {
      const existing = current[i];
      if (existing && !(existing.type === 'string' && entry.type === 'string' && existing.value!.equals(entry.value!))) {
        taken.add(registration);
        conflicting.add(entry.key);
      }
    });
    batch = [];
  };
  for await (const entry of reader.entries()) {
    const registration = registrationOf(entry, rootKey);
    if (registration === undefined || !restorable(entry)) continue;
    batch.push({ entry, registration });
    if (batch.length >= RESTORE_BATCH) await check();
  }
  if (batch.length > 0) await check();
  return { taken, conflicting };
}

/** What `putMany` would answer, from a read: for dry runs. */
async function predictPuts(store: KeyValueStore, entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
  const current = await store.getMany(
    entries.map((e) => e.key),
    { withDump: entries.some((e) => e.type !== 'string') },
  );
  return entries.map((entry, i) => {
    const existing = current[i];
    if (entry.type !== 'string' && (entry.dump === undefined || store.holdsOnlyStrings?.())) return 'unsupported';
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
