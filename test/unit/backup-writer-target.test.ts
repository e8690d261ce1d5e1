/**
 * What a backup may be written over: a finished backup is renamed over its name, so
 * whatever is there is replaced. Only a regular file may be; a symbolic link, a device or
 * a pipe is refused before anything is written, and left as it was.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupWriter } from '../../src/backup/writer';

const META = { reason: 'test' as const, store: 'redis://test', rootKey: 'traefik' };

describe('BackupWriter.open', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-target-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a symbolic link, a pipe and a device, and leaves them and their directory as they were', async () => {
    const target = path.join(dir, 'token.txt');
    fs.writeFileSync(target, 'keep me');
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync(target, link);
    const fifo = path.join(dir, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);

    await expect(BackupWriter.open(link, META)).rejects.toThrow(`cannot write the backup to ${link}: it is a symbolic link`);
    await expect(BackupWriter.open(fifo, META)).rejects.toThrow(
      /it is not a regular file \(a device, a pipe or a socket\); give a file name, or - for standard output$/,
    );
    await expect(BackupWriter.open('/dev/null', META)).rejects.toThrow(/^cannot write the backup to \/dev\/null: it is not a regular file/);

    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me');
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['link.jsonl', 'pipe.jsonl', 'token.txt']);
  });

  it('replaces a regular file with the finished backup', async () => {
    const file = path.join(dir, 'nightly.jsonl');
    fs.writeFileSync(file, 'yesterday');
    const writer = await BackupWriter.open(file, META);
    expect(await writer.finish()).toBe(file);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^\{"format":"pages-reaper-backup"/);
  });
});
