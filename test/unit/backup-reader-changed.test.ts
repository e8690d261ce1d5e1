/**
 * A restore reads its backup twice: once to verify it whole, once to write its entries.
 * What the second pass reads must be what the first verified, or nothing more is written.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupFormatError } from '../../src/backup/format';
import { BackupReader } from '../../src/backup/reader';
import { BackupWriter } from '../../src/backup/writer';
import type { StoredEntry } from '../../src/ports/key-value-store';

const META = { store: 'redis://test', rootKey: 'traefik', reason: 'unit test' };
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backup-changed-'));
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

async function writeBackup(name: string, values: string[]): Promise<string> {
  const writer = await BackupWriter.open(path.join(dir, name), META);
  for (const [i, value] of values.entries()) await writer.add({ key: `k${i}`, type: 'string', value: Buffer.from(value) });
  return writer.finish();
}

async function readAll(reader: BackupReader): Promise<StoredEntry[]> {
  const entries: StoredEntry[] = [];
  for await (const entry of reader.entries()) entries.push(entry);
  return entries;
}

describe('BackupReader.entries after verify', () => {
  it('reads back what was verified', async () => {
    const file = await writeBackup('a.jsonl', ['one', 'two']);
    const reader = await BackupReader.verify(file);
    expect((await readAll(reader)).map((e) => e.value!.toString())).toEqual(['one', 'two']);
  });

  it('refuses, before its first entry, a file swapped for another under the same name', async () => {
    const file = await writeBackup('a.jsonl', ['one', 'two']);
    const other = await writeBackup('b.jsonl', ['evil', 'evil']);
    const reader = await BackupReader.verify(file);
    await fs.rename(other, file);
    const seen: StoredEntry[] = [];
    const failure = await (async () => {
      for await (const entry of reader.entries()) seen.push(entry);
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackupFormatError);
    expect((failure as Error).message).toMatch(
      /changed since it was verified \(another file, or other contents\); verify the file and run again$/,
    );
    expect(seen).toEqual([]);
  });

  it('refuses a file appended to since', async () => {
    const file = await writeBackup('a.jsonl', ['one']);
    const reader = await BackupReader.verify(file);
    await fs.appendFile(file, '{"key":"injected","type":"string","expiresAt":null,"value":"evil"}\n');
    await expect(readAll(reader)).rejects.toThrow(/changed since it was verified/);
  });

  it('refuses a file rewritten in place since, to the same size', async () => {
    const file = await writeBackup('a.jsonl', ['aaaa', 'bbbb']);
    const reader = await BackupReader.verify(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('bbbb', 'evil'));
    await expect(readAll(reader)).rejects.toThrow(/changed since it was verified/);
  });
});
