import { constants as fsConstants, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { StoredEntry } from '../ports/key-value-store';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BackupFormatError,
  EntryDigest,
  decodeEntry,
  type BackupHeader,
  type BackupTrailer,
} from './format';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** Which file a path named when it was opened: the same one, unchanged, or not. */
interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Of a stat, the fields `sameFile` compares. */
const identityOf = ({ dev, ino, size, mtimeMs }: FileIdentity): FileIdentity => ({ dev, ino, size, mtimeMs });

/** A backup file's lines, and a way to let go of the file that resolves once it is closed. */
interface OpenLines {
  lines: AsyncIterable<string>;
  identity: FileIdentity;
  /** The file's identity now, by the handle read from (undefined once it is closed). */
  identityNow: () => Promise<FileIdentity | undefined>;
  close: () => Promise<void>;
}

/**
 * The file opened, but what it holds is not a whole backup (empty, cut short, damaged,
 * another format): a caller says what to give instead. The other format errors carry their
 * own fix in their words (a path that is no file, a version this build cannot read).
 */
export class NotWholeBackupError extends BackupFormatError {}

const notAFile = (path: string) => new BackupFormatError(`${path} is not a file; give the path of a backup file in it, not the directory`);

async function openLines(path: string): Promise<OpenLines> {
  let handle: fs.FileHandle;
  try {
    await fs.access(path, fsConstants.R_OK);
    // Opening a FIFO would wait for a writer: anything but a file is refused first, by its name.
    if (!(await fs.stat(path)).isFile()) throw notAFile(path);
    handle = await fs.open(path, fsConstants.O_RDONLY);
  } catch (error) {
    if (error instanceof BackupFormatError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupFormatError(
      code === 'EACCES' || code === 'EPERM'
        ? `cannot read ${path}: permission denied (${code}); run as a user who may read it, or copy it somewhere readable`
        : `cannot read ${path}: ${code}; give the path of a backup file (the reap prints it, as does backup)`,
    );
  }
  let file: ReturnType<fs.FileHandle['createReadStream']>;
  let identity: FileIdentity;
  let gzip: boolean;
  try {
    const stat = await handle.stat();
    // And by the handle: the name may have been given to something else in between.
    if (!stat.isFile()) throw notAFile(path);
    identity = identityOf(stat);
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    gzip = bytesRead === 2 && buffer.equals(GZIP_MAGIC);
    // From the handle opened here: the file read is the file checked, whatever the path names meanwhile.
    file = handle.createReadStream({ start: 0 });
  } catch (error) {
    await handle.close();
    throw error;
  }
  let stream: Readable = file;
  if (gzip) {
    const gunzip = createGunzip();
    stream.on('error', (error) => gunzip.destroy(error));
    stream = stream.pipe(gunzip);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  // Read to its end the file closes itself; left mid-file (the reader stopped early, or
  // failed) it stays open until destroyed, garbage collection or not.
  const close = () =>
    new Promise<void>((resolve) => {
      lines.close();
      if (stream !== file) stream.destroy();
      if (file.closed) return resolve();
      file.once('close', () => resolve());
      file.destroy();
    });
  const identityNow = async () => {
    if (file.closed) return undefined;
    try {
      return identityOf(await handle.stat());
    } catch {
      // Closed meanwhile: read to its end, the file's entries were summed.
      return undefined;
    }
  };
  return { lines, identity, identityNow, close };
}

const sameFile = (a: FileIdentity, b: FileIdentity) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

function parseHeader(text: string | undefined, path: string): BackupHeader {
  if (text === undefined) throw new NotWholeBackupError(`${path} is empty`);
  let header: Partial<BackupHeader>;
  try {
    header = JSON.parse(text);
  } catch {
    throw new NotWholeBackupError(`${path} does not start with a backup header`);
  }
  if (header?.format !== BACKUP_FORMAT)
    throw new NotWholeBackupError(`${path} is not a ${BACKUP_FORMAT} file (format '${header?.format}')`);
  if (header.version !== BACKUP_VERSION)
    throw new BackupFormatError(`${path} has format version ${header.version}; this pages-reaper reads version ${BACKUP_VERSION}`);
  return header as BackupHeader;
}

function asTrailer(text: string): BackupTrailer | undefined {
  if (!text.startsWith('{"trailer"')) return undefined;
  try {
    const trailer = JSON.parse(text);
    return trailer?.trailer === true ? trailer : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads a backup in two passes: `verify()` proves the whole file (header, every line,
 * count and checksum) without keeping it in memory; `entries()` then streams it again.
 */
export class BackupReader {
  private constructor(
    readonly path: string,
    readonly header: BackupHeader,
    readonly count: number,
    private readonly checksum: string,
    private readonly identity: FileIdentity,
  ) {}

  /** While `entries()` reads: whether the file is still as verified (see `unchangedSoFar`). */
  private identityNow?: () => Promise<FileIdentity | undefined>;

  /**
   * Throws when the file being read by `entries()` was written to since it was verified (its
   * size or modification time changed): a caller about to apply the entries read so far
   * asks first, and applies nothing of a file rewritten meanwhile. The digest summed while
   * reading says the same only at the file's end, once every batch before was applied.
   */
  async unchangedSoFar(): Promise<void> {
    const now = await this.identityNow?.();
    if (now !== undefined && !sameFile(now, this.identity)) throw this.changed('written to while it was read');
  }

  private changed(how: string): BackupFormatError {
    return new BackupFormatError(`${this.path} changed since it was verified (${how}); verify the file and run again`);
  }

  static async verify(path: string): Promise<BackupReader> {
    const digest = new EntryDigest();
    let header: BackupHeader | undefined;
    let trailer: BackupTrailer | undefined;
    let lineNumber = 0;
    const { lines, identity, close } = await openLines(path);
    try {
      for await (const line of lines) {
        lineNumber++;
        if (lineNumber === 1) {
          header = parseHeader(line, path);
          continue;
        }
        if (trailer) throw new NotWholeBackupError(`${path} has data after its trailer (line ${lineNumber})`);
        trailer = asTrailer(line);
        if (trailer) continue;
        try {
          decodeEntry(line, lineNumber);
        } catch (error) {
          throw new NotWholeBackupError(`${path} is damaged: ${(error as Error).message}`);
        }
        digest.add(line);
      }
    } catch (error) {
      if (error instanceof BackupFormatError) throw error;
      throw new NotWholeBackupError(`${path} is damaged: ${(error as Error).message}`);
    } finally {
      await close();
    }
    if (!header) throw new NotWholeBackupError(`${path} is empty`);
    if (!trailer) throw new NotWholeBackupError(`${path} is truncated: it has no trailer`);
    if (typeof trailer.count !== 'number' || typeof trailer.sha256 !== 'string')
      throw new NotWholeBackupError(`${path} is damaged: its trailer's count is not a number, or its checksum not text`);
    if (trailer.count !== digest.count)
      throw new NotWholeBackupError(`${path} is damaged: the trailer counts ${trailer.count} entries, the file holds ${digest.count}`);
    if (trailer.sha256 !== digest.hex()) throw new NotWholeBackupError(`${path} is damaged: its checksum does not match the trailer`);
    return new BackupReader(path, header, trailer.count, trailer.sha256, identity);
  }

  /**
   * The entries, streamed; only call after `verify()` succeeded. The file must be the one
   * verified, unchanged (swapped for another, appended to or rewritten since, it is
   * refused before its first entry), and its entries are summed again as they are read:
   * a file changed while they are, fails at its end.
   */
  async *entries(): AsyncIterable<StoredEntry> {
    let lineNumber = 0;
    const { lines, identity, identityNow, close } = await openLines(this.path);
    const digest = new EntryDigest();
    let trailerSeen = false;
    this.identityNow = identityNow;
    try {
      if (!sameFile(identity, this.identity)) throw this.changed('another file, or other contents');
      for await (const line of lines) {
        lineNumber++;
        if (lineNumber === 1) continue;
        if (trailerSeen) throw this.changed(`data after its trailer, line ${lineNumber}`);
        if (asTrailer(line)) {
          trailerSeen = true;
          continue;
        }
        digest.add(line);
        yield decodeEntry(line, lineNumber);
      }
    } finally {
      this.identityNow = undefined;
      await close();
    }
    if (!trailerSeen || digest.count !== this.count || digest.hex() !== this.checksum)
      throw this.changed('its entries differ from those verified');
  }
}
