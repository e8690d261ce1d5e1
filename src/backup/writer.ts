import { once } from 'node:events';
import { constants, promises as fs, createWriteStream, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import type { StoredEntry } from '../ports/key-value-store';
import { BACKUP_FORMAT, BACKUP_VERSION, EntryDigest, encodeEntry, type BackupHeader } from './format';

const CHUNK_BYTES = 64 * 1024;

/**
 * A temporary backup untouched this long was left by a run that could not clean up (killed
 * with SIGKILL, out of memory, the container stopped): every write refreshes it, and every
 * store call of a run is bounded. Process ids are no proof: a container's PID 1 is every
 * run's, and a volume may be shared by writers in other PID namespaces.
 */
export const ABANDONED_TEMPORARY_AGE_MS = 60 * 60 * 1000;
/** The names `timestampedPath` gives. */
const TIMESTAMPED_BACKUP = /^(reap|backup)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.jsonl(\.gz)?$/;
const TEMPORARY = /^\.(.+)\.\d+\.tmp$/;
/** Temporary files this process is writing: never anyone's leftovers. */
const openTemporaries = new Set<string>();

export interface BackupMeta {
  store: string;
  rootKey: string;
  reason: string;
}

/**
 * Writes a backup as a stream: to a temporary name beside the target, mode 0600,
 * flushed and fsynced, then renamed, so a reader never sees half a file. `-` is stdout.
 */
export class BackupWriter {
  private readonly digest = new EntryDigest();
  private failure: Error | undefined;
  /**
   * Entry lines are handed on in chunks: one zlib or fs write per line costs more than the
   * line. A chunk is encoded once, and those bytes are both hashed and written.
   */
  private pending: string[] = [];
  private pendingBytes = 0;

  private constructor(
    readonly path: string,
    private readonly out: Writable,
    private readonly target?: { tempPath: string; handle: fs.FileHandle; file: Writable },
  ) {
    for (const stream of new Set([out, target?.file])) stream?.on('error', (error: Error) => (this.failure ??= error));
  }

  static async open(path: string, meta: BackupMeta): Promise<BackupWriter> {
    let writer: BackupWriter;
    if (path === '-') {
      writer = new BackupWriter(path, process.stdout);
    } else {
      // The backup is renamed over its name: whatever is there is replaced, so only a file may be.
      const existing = await fs.lstat(path).catch(() => undefined);
      if (existing?.isDirectory()) throw new Error(`cannot write the backup to ${path}: it is a directory; give a file name`);
      if (existing?.isSymbolicLink())
        throw new Error(
          `cannot write the backup to ${path}: it is a symbolic link, which the backup would replace; give the file it points to, or a new name`,
        );
      if (existing && !existing.isFile())
        throw new Error(
          `cannot write the backup to ${path}: it is not a regular file (a device, a pipe or a socket); give a file name, or - for standard output`,
        );
      const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      } catch (error) {
        throw new Error(
          `cannot write a backup in ${dirname(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; choose a writable --backup-dir (or, for backup, --output)`,
        );
      }
      openTemporaries.add(tempPath);
      await removeAbandonedTemporaries(dirname(path), basename(path));
      const file = createWriteStream('', { fd: handle.fd, autoClose: false });
      const out = path.endsWith('.gz') ? createGzip() : file;
      if (out !== file) out.pipe(file);
      writer = new BackupWriter(path, out, { tempPath, handle, file });
    }
    const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_VERSION, ...meta, createdAt: new Date().toISOString() };
    await writer.write(`${JSON.stringify(header)}\n`);
    return writer;
  }

  /** Entries added so far, written or still pending. */
  get count(): number {
    return this.digest.count + this.pending.length;
  }

  /**
   * Adds an entry's line. A promise only when a chunk of lines is written out, to be
   * awaited before the next entry: a backup adds millions of entries, and an async
   * function's promise and await for each made 330 MB of the 1.98 GB a 100,000-domain
   * backup allocated.
   */
  add(entry: StoredEntry): Promise<void> | undefined {
    const line = encodeEntry(entry);
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
    return this.pendingBytes >= CHUNK_BYTES ? this.flush() : undefined;
  }

  /** Writes the trailer, makes the file durable and gives it its name. */
  async finish(): Promise<string> {
    await this.flush();
    await this.write(`${JSON.stringify({ trailer: true, count: this.digest.count, sha256: this.digest.hex() })}\n`);
    if (!this.target) return this.path;
    const finished = once(this.target.file, 'finish');
    this.out.end();
    await finished;
    this.throwIfFailed();
    await this.target.handle.sync();
    await this.target.handle.close();
    await fs.rename(this.target.tempPath, this.path);
    openTemporaries.delete(this.target.tempPath);
    return this.path;
  }

  /** Removes the temporary file; the target name is never touched. */
  async abandon(): Promise<void> {
    if (!this.target) return;
    this.out.destroy();
    this.target.file.destroy();
    await this.target.handle.close().catch(() => {});
    await fs.rm(this.target.tempPath, { force: true });
    openTemporaries.delete(this.target.tempPath);
  }

  /** The pending entry lines, hashed and written. */
  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(`${this.pending.join('\n')}\n`);
    this.digest.addLines(chunk, this.pending.length);
    this.pending = [];
    this.pendingBytes = 0;
    await this.write(chunk);
  }

  private async write(data: string | Buffer): Promise<void> {
    this.throwIfFailed();
    if (!this.out.write(data)) await once(this.out, 'drain');
  }

  private throwIfFailed(): void {
    if (this.failure) throw new Error(`cannot write the backup ${this.path}: ${this.failure.message}`);
  }
}

/**
 * Removes, from `dir`, the temporary files of backups that were never finished: those of
 * `target` (an earlier attempt at the same `--output`) and those of timestamped backups,
 * once untouched for `ABANDONED_TEMPORARY_AGE_MS`. They hold keys, sometimes sensitive
 * ones, and a sidecar killed mid-backup would otherwise leave one more at every restart.
 * None of them was ever used: a reap deletes only after its backup got its final name.
 * Best effort: what cannot be listed or removed stays, and the backup goes on.
 */
export async function removeAbandonedTemporaries(dir: string, target: string, now = Date.now()): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const base = TEMPORARY.exec(name)?.[1];
    if (base === undefined || (base !== target && !TIMESTAMPED_BACKUP.test(base))) continue;
    const path = join(dir, name);
    if (openTemporaries.has(path)) continue;
    const stat = await fs.lstat(path).catch(() => undefined);
    if (stat?.isFile() && now - stat.mtimeMs >= ABANDONED_TEMPORARY_AGE_MS) await fs.rm(path).catch(() => {});
  }
}

/**
 * `mkdir -p` that fails at once. Node's `mkdir({ recursive: true })` never returns for a
 * directory under /proc (it retries ENOENT forever, at full CPU): each level is made
 * here, once, and the first refusal is the answer.
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await fs.stat(dir)).isDirectory()) return;
      throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
  }
  await makeDirectory(dirname(dir));
  await fs.mkdir(dir, { mode: 0o700 }).catch(async (error: NodeJS.ErrnoException) => {
    // Made meanwhile by someone else: fine if it is a directory.
    if (error.code === 'EEXIST' && (await fs.stat(dir)).isDirectory()) return;
    throw error;
  });
}

/**
 * Why no backup could be written in `dir`, or undefined when one can: its nearest existing
 * part must be a directory this process can create an entry in (tried with an empty
 * directory, removed at once: root passes access(2) where sysfs or a read-only mount then
 * refuses the write). A reap asks before it reads anything, so a dry run exits as the real
 * run would, and a real run learns it before a scan of a million keys, not after it.
 */
export function backupDirectoryProblem(dir: string): string | undefined {
  let existing = resolve(dir);
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) return `cannot write a backup in ${dir}: ${existing} is not a directory`;
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = dirname(existing);
      if (code !== 'ENOENT' || parent === existing) return `cannot write a backup in ${dir} (${code})`;
      existing = parent;
    }
  }
  try {
    rmdirSync(mkdtempSync(join(existing, '.pages-reaper-check-')));
    return undefined;
  } catch (error) {
    return `cannot write a backup in ${dir} (${(error as NodeJS.ErrnoException).code})`;
  }
}

/** `reap-2026-11-25T20-13-00-000Z.jsonl` in `dir`, created (0700) when missing. */
export async function timestampedPath(dir: string, prefix: string, extension = '.jsonl'): Promise<string> {
  try {
    await makeDirectory(resolve(dir));
  } catch (error) {
    throw new Error(`cannot create the backup directory ${dir}: ${(error as NodeJS.ErrnoException).code}; choose a writable --backup-dir`);
  }
  return join(dir, `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}${extension}`);
}
