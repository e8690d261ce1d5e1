import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import type { StoredEntry } from '../ports/key-value-store';
import { strictBase64 } from '../core/strict-base64';

/**
 * The backup file (docs/backup-format.md): JSON Lines — a header, one line per key, a
 * trailer with the count and the SHA-256 of the entry lines — so a person can read it
 * and a program can prove it whole before restoring anything.
 */
export const BACKUP_FORMAT = 'pages-reaper-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  store: string;
  rootKey: string;
  createdAt: string;
  reason: string;
}

/** One key as a line: `value` when the bytes are UTF-8, else `base64`; `dump` for non-strings. */
export interface BackupLine {
  key: string;
  type: string;
  value?: string;
  base64?: string;
  /** The store's own serialisation of a non-string key (Redis DUMP), base64. */
  dump?: string;
  expiresAt: string | null;
}

export interface BackupTrailer {
  trailer: true;
  count: number;
  sha256: string;
}

/**
 * One entry as its line. Written out member by member rather than as an object given to
 * `JSON.stringify` (a backup encodes millions of them): the same text, the members in the
 * order `BackupLine` lists them.
 */
export function encodeEntry(entry: StoredEntry): string {
  const expiresAt = entry.expiresAt === undefined ? 'null' : `"${new Date(entry.expiresAt).toISOString()}"`;
  let line = `{"key":${JSON.stringify(entry.key)},"type":${JSON.stringify(entry.type)},"expiresAt":${expiresAt}`;
  if (entry.value !== undefined) {
    line += isUtf8(entry.value)
      ? `,"value":${JSON.stringify(entry.value.toString('utf8'))}`
      : `,"base64":"${entry.value.toString('base64')}"`;
  }
  if (entry.dump !== undefined) line += `,"dump":"${entry.dump.toString('base64')}"`;
  return `${line}}`;
}

export class BackupFormatError extends Error {}

export function decodeEntry(text: string, lineNumber: number): StoredEntry {
  let line: BackupLine;
  try {
    line = JSON.parse(text);
  } catch {
    throw new BackupFormatError(`line ${lineNumber} is not valid JSON`);
  }
  const bad = (what: string) => new BackupFormatError(`line ${lineNumber}: ${what}`);
  if (typeof line !== 'object' || line === null) throw bad('not an entry');
  if (typeof line.key !== 'string' || line.key === '') throw bad('no key');
  if (typeof line.type !== 'string' || line.type === '') throw bad('no type');
  let expiresAt: number | undefined;
  if (line.expiresAt !== null) {
    expiresAt = typeof line.expiresAt === 'string' ? Date.parse(line.expiresAt) : NaN;
    if (Number.isNaN(expiresAt)) throw bad('expiresAt is neither null nor a time');
  }
  const entry: StoredEntry = { key: line.key, type: line.type, expiresAt };
  // Only what the writer writes is read: one of value or base64 for a string; a dump, or
  // nothing (a store that cannot serialise the type), for any other; base64 decoding
  // strictly. Anything else is a damaged or hand-made line, and restore writes nothing.
  const has = (field: 'value' | 'base64' | 'dump') => line[field] !== undefined;
  const decoded = (field: 'base64' | 'dump') => {
    const bytes = typeof line[field] === 'string' ? strictBase64(line[field]) : undefined;
    if (bytes === undefined) throw bad(`its ${field} is not valid base64`);
    return bytes;
  };
  if (line.type === 'string') {
    if (!has('value') && !has('base64')) throw bad('a string entry without value or base64');
    if (has('dump') || (has('value') && has('base64'))) throw bad('a string entry holds one of value or base64, and no dump');
    if (has('value')) {
      if (typeof line.value !== 'string') throw bad('its value is not text');
      entry.value = Buffer.from(line.value, 'utf8');
    } else entry.value = decoded('base64');
  } else {
    if (has('value') || has('base64')) throw bad(`a ${line.type} entry holds a dump or nothing, not a value`);
    if (has('dump')) entry.dump = decoded('dump');
  }
  return entry;
}

/**
 * Characters of entry lines summed at once. Two updates of the hash for each line (the
 * line, its newline) were a twelfth of the time a reap of 100,000 domains spent reading
 * its backup back before its deletes; lines whole, in order, hash the same as one text.
 */
const DIGEST_BATCH_CHARS = 64 * 1024;

/** SHA-256 over the entry lines exactly as written, each with its newline. */
export class EntryDigest {
  private readonly hash: Hash = createHash('sha256');
  /** Lines added but not yet summed, each with its newline. */
  private pending = '';
  count = 0;

  add(line: string): void {
    this.pending += `${line}\n`;
    this.count++;
    if (this.pending.length >= DIGEST_BATCH_CHARS) this.sumPending();
  }

  /** `count` entry lines at once, each ending in its newline, as bytes. */
  addLines(lines: Buffer, count: number): void {
    this.sumPending();
    this.hash.update(lines);
    this.count += count;
  }

  hex(): string {
    this.sumPending();
    return this.hash.digest('hex');
  }

  private sumPending(): void {
    if (this.pending.length === 0) return;
    this.hash.update(this.pending);
    this.pending = '';
  }
}
