/**
 * Where the etcd scan's next range request should end.
 *
 * etcd (3.4, and 3.5/3.6 alike) answers a range request by walking every key in
 * `[key, range_end)` of its in-memory index, under the index's read lock, to count them
 * (`treeIndex.Revisions` in mvcc/index.go), whatever `limit`, `keys_only`, `count_only` or
 * `serializable` say. A scan that pages with `limit` over `[last key, end of the prefix)`
 * therefore costs the square of the key count. The scan bounds each request to a window
 * expected to hold about one page of keys instead: key names read as numbers (big-endian
 * bytes), the next window is as wide as the keys just seen suggest, and a window that
 * turns out sparse or empty grows. The answer's `count` (the keys in the window) tells how
 * far off the guess was, so the next window is corrected from it.
 *
 * Only the cost depends on these guesses, never what the scan returns: the windows are
 * contiguous, so every key present throughout is returned exactly once.
 */

/** Bytes past the first difference of two keys that the arithmetic resolves (2^48 steps). */
const RESOLUTION = 6;
/** A window with fewer keys than wanted grows at most this much at once (sparse, or the first empty one). */
export const MAX_GROWTH = 4;
/** Empty windows in a row grow faster (×4, ×16, ×64, then ×256 each), to cross a gap between key families in few requests. */
const MAX_EMPTY_GROWTH = 256;

function commonPrefixLength(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The first `length` bytes of `key` as a big-endian number (zeros past its end). */
function toNumber(key: Buffer, length: number): bigint {
  let n = 0n;
  for (let i = 0; i < length; i++) n = (n << 8n) | BigInt(i < key.length ? key[i] : 0);
  return n;
}

function toKey(n: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/**
 * The key `ratio` times the distance from `lo` to `hi` past `from`, key names read as
 * numbers to RESOLUTION bytes past where `lo` and `hi` differ; `undefined` when that is
 * past every key of that length (the window runs to the end of the range). Always after
 * `from` in key order, so a window `[from, result)` is never empty by construction.
 */
export function keyAfter(from: Buffer, lo: Buffer, hi: Buffer, ratio: number): Buffer | undefined {
  const length = Math.max(commonPrefixLength(lo, hi) + RESOLUTION, 1);
  const span = toNumber(hi, length) - toNumber(lo, length);
  const scaled = span > 0n ? (span * BigInt(Math.max(1, Math.round(ratio * 65_536)))) / 65_536n : 1n;
  const end = toNumber(from, length) + (scaled > 0n ? scaled : 1n);
  if (end >= 1n << BigInt(8 * length)) return undefined;
  // `from` cut to `length` bytes is below `end`, so `from` itself is too.
  return toKey(end, length);
}

/** The key right after `key` in etcd's order: `key` followed by a zero byte. */
export function successor(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/**
 * The first window of a scan starting at `from`: the keys of `from` followed by a zero
 * byte, 1/256 of what lies under `from`. It grows from there while it finds nothing.
 */
export function firstWindow(from: Buffer): { lo: Buffer; hi: Buffer } {
  return { lo: from, hi: Buffer.concat([from, Buffer.from([1])]) };
}

/**
 * How much wider than the last window the next one should be: `wanted / found`, at most
 * MAX_GROWTH; after `emptyRun` empty windows in a row, MAX_GROWTH to that power (at most
 * MAX_EMPTY_GROWTH), so a wide gap between two families of keys costs a few requests.
 */
export function growth(found: number, wanted: number, emptyRun = 0): number {
  if (found > 0) return Math.min(MAX_GROWTH, wanted / found);
  return Math.min(MAX_EMPTY_GROWTH, MAX_GROWTH ** Math.max(1, emptyRun));
}
