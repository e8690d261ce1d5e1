/**
 * A backup the process may not read is one line naming the file and the fix, not an
 * 'error' event no one listens to (which ended `restore` with a stack trace). Run as root
 * every file is readable, so the refusal is simulated at the access check.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupReader } from '../../src/backup/reader';
import { BackupFormatError } from '../../src/backup/format';

describe('BackupReader.verify of an unreadable file', () => {
  afterEach(() => jest.restoreAllMocks());

  it('says permission denied and what to do, as a BackupFormatError', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backup-access-'));
    const file = path.join(dir, 'reap.jsonl');
    await fs.writeFile(file, '{}\n', { mode: 0o600 });
    const access = jest.spyOn(fs, 'access').mockRejectedValue(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
    try {
      const failure = await BackupReader.verify(file).catch((error: unknown) => error);
      expect(access).toHaveBeenCalledWith(file, fs.constants.R_OK);
      expect(failure).toBeInstanceOf(BackupFormatError);
      expect((failure as Error).message).toBe(
        `cannot read ${file}: permission denied (EACCES); run as a user who may read it, or copy it somewhere readable`,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
