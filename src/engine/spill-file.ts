import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkSpill } from '../core/domain-arena';
import { describeFsError, ExplainedError } from './explained-error';

const HINT = 'set TMPDIR to a writable directory on disk with room for it (a few tens of MB for a million domains)';

/** A file left open by a table nobody closed: closed once the table is collected. */
const closeWhenCollected = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed by the process's end of it: nothing to free.
  }
});

function spillError(action: string, directory: string, error: unknown): ExplainedError {
  const detail = describeFsError(error);
  const hint = action === 'read' ? 'run again; if it fails again, set TMPDIR to a directory on another disk' : HINT;
  return new ExplainedError(`could not ${action} the scan's overflow file in ${directory} (${detail})`, hint, { cause: error });
}

/**
 * The scan's overflow file: a table's chunks that no longer fit its memory budget
 * (`DomainArena`), in a file of the temporary directory (TMPDIR) readable by this user
 * alone, unlinked as soon as it is open, so that it is gone with the process however the
 * process ends. It holds domains and `owner:repo` values, never a secret.
 */
export class SpillFile implements ChunkSpill {
  private fd: number;

  private constructor(
    fd: number,
    private readonly directory: string,
  ) {
    this.fd = fd;
    closeWhenCollected.register(this, fd, this);
  }

  static open(directory = tmpdir()): SpillFile {
    const path = join(directory, `pages-reaper-${process.pid}-${randomBytes(6).toString('hex')}.spill`);
    let fd: number;
    try {
      fd = openSync(path, 'wx+', 0o600);
    } catch (error) {
      throw spillError('create', directory, error);
    }
    try {
      unlinkSync(path);
    } catch (error) {
      closeSync(fd);
      throw spillError('unlink', directory, error);
    }
    return new SpillFile(fd, directory);
  }

  write(source: Uint8Array, length: number, offset: number): void {
    try {
      for (let done = 0; done < length;) done += writeSync(this.openFd(), source, done, length - done, offset + done);
    } catch (error) {
      throw spillError('write', this.directory, error);
    }
  }

  read(target: Uint8Array, at: number, length: number, offset: number): void {
    try {
      for (let done = 0; done < length;) {
        const read = readSync(this.openFd(), target, at + done, length - done, offset + done);
        if (read === 0) throw new Error(`it ended ${offset + done} bytes in, short of what was written there`);
        done += read;
      }
    } catch (error) {
      throw spillError('read', this.directory, error);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    closeWhenCollected.unregister(this);
    closeSync(this.fd);
    this.fd = -1;
  }

  private openFd(): number {
    if (this.fd < 0) throw new Error('it was closed');
    return this.fd;
  }
}
