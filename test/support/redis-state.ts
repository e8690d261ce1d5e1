/**
 * A full picture of a Redis database for before/after comparisons in backup and restore
 * tests: every key (binary-safe), its type, its content byte for byte and its absolute
 * expiry, so a restore can be proven to give back exactly what was there.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Redis } from 'ioredis';

export interface KeyState {
  type: string;
  /** strings: base64 of the bytes; other types: their content as sorted/ordered JSON. */
  content: string;
  /** Absolute expiry in ms since the epoch (now + PTTL when read), or null. */
  expiresAt: number | null;
}

/** Key names as text; a name that is not UTF-8 is shown as `hex:…`. */
export function keyName(key: Buffer): string {
  return isUtf8(key) ? key.toString('utf8') : `hex:${key.toString('hex')}`;
}

const b64 = (b: Buffer) => b.toString('base64');

async function contentOf(redis: Redis, key: Buffer, type: string): Promise<string> {
  switch (type) {
    case 'string':
      return b64((await redis.getBuffer(key))!);
    case 'hash': {
      const flat = await redis.hgetallBuffer(key);
      return JSON.stringify(
        Object.entries(flat)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([f, v]) => [f, b64(v)]),
      );
    }
    case 'list':
      return JSON.stringify((await redis.lrangeBuffer(key, 0, -1)).map(b64));
    case 'set':
      return JSON.stringify((await redis.smembersBuffer(key)).map(b64).sort());
    case 'zset':
      return JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'));
    default:
      return `<${type}>`;
  }
}

/** Every key of the current database. */
export async function fullDump(redis: Redis): Promise<Record<string, KeyState>> {
  const keys = new Map<string, Buffer>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const key of batch) keys.set(key.toString('hex'), key);
  } while (cursor !== '0');
  const out: Record<string, KeyState> = {};
  for (const key of [...keys.values()].sort(Buffer.compare)) {
    const type = await redis.type(key);
    const content = await contentOf(redis, key, type);
    const pttl = await redis.pttl(key);
    out[keyName(key)] = { type, content, expiresAt: pttl >= 0 ? Date.now() + pttl : null };
  }
  return out;
}

/**
 * Expects two dumps to hold the same keys, types and contents, and expiries that agree
 * within `toleranceMs` (an expiry is an absolute time, so it may not drift).
 */
export function expectSameState(actual: Record<string, KeyState>, expected: Record<string, KeyState>, toleranceMs = 1000): void {
  const strip = (d: Record<string, KeyState>) =>
    Object.fromEntries(Object.entries(d).map(([k, s]) => [k, { type: s.type, content: s.content, expires: s.expiresAt !== null }]));
  expect(strip(actual)).toEqual(strip(expected));
  for (const [key, state] of Object.entries(expected)) {
    if (state.expiresAt === null) continue;
    const drift = Math.abs(actual[key].expiresAt! - state.expiresAt);
    expect({ key, drift, withinTolerance: drift <= toleranceMs }).toEqual({ key, drift, withinTolerance: true });
  }
}

/** The dump without the named keys (each must be present). */
export function withoutKeys(dump: Record<string, KeyState>, keys: string[]): Record<string, KeyState> {
  const out = { ...dump };
  for (const key of keys) {
    expect(Object.keys(out)).toContain(key);
    delete out[key];
  }
  return out;
}

/** Only the named keys of a dump. */
export function onlyKeys(dump: Record<string, KeyState>, keys: string[]): Record<string, KeyState> {
  return Object.fromEntries(keys.map((key) => [key, dump[key]]));
}

/** A backup file's lines, checked the way the format says, independently of src/backup. */
export interface ParsedBackup {
  lines: string[];
  header: Record<string, unknown>;
  entryLines: string[];
  entries: Array<Record<string, any>>;
  trailer: { trailer: true; count: number; sha256: string };
  /** SHA-256 over the entry lines, each with its newline, recomputed here. */
  recomputedSha256: string;
}

export function parseBackupText(text: string): ParsedBackup {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines.length).toBeGreaterThanOrEqual(2);
  const entryLines = lines.slice(1, -1);
  return {
    lines,
    header: JSON.parse(lines[0]),
    entryLines,
    entries: entryLines.map((line) => JSON.parse(line)),
    trailer: JSON.parse(lines[lines.length - 1]),
    recomputedSha256: sha256Lines(entryLines),
  };
}

export function sha256Lines(entryLines: string[]): string {
  const hash = createHash('sha256');
  for (const line of entryLines) hash.update(line + '\n');
  return hash.digest('hex');
}

/** A whole backup file from its parts, with a correct trailer unless told otherwise. */
export function backupText(
  header: Record<string, unknown>,
  entries: Array<Record<string, unknown>>,
  trailer?: Record<string, unknown>,
): string {
  const entryLines = entries.map((entry) => JSON.stringify(entry));
  const end = trailer ?? { trailer: true, count: entryLines.length, sha256: sha256Lines(entryLines) };
  return [JSON.stringify(header), ...entryLines, JSON.stringify(end)].join('\n') + '\n';
}

export const HEADER = {
  format: 'pages-reaper-backup',
  version: 1,
  store: 'redis://127.0.0.1:6379/0',
  rootKey: 'traefik',
  createdAt: '2026-01-01T00:00:00.000Z',
  reason: 'written by hand in a test',
};
