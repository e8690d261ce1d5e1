/**
 * Redis Cluster hash slots (CRC16/XMODEM of the key, or of its `{hash tag}`, mod 16384),
 * computed here so that keys can be grouped per slot without asking the cluster.
 */
export const SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** The slot of a key (UTF-8 bytes for a string), honouring a non-empty `{hash tag}`. */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOTS;
  }
  return crc16(bytes, 0, bytes.length) % SLOTS;
}

let tags: string[] | undefined;

/** A short string per slot whose own slot is that slot: `{tag}` pins a name to a slot. */
export function slotTag(slot: number): string {
  if (!tags) {
    const found: string[] = new Array(SLOTS);
    let missing = SLOTS;
    for (let n = 0; missing > 0; n++) {
      const candidate = n.toString(36);
      const s = keySlot(candidate);
      if (found[s] === undefined) {
        found[s] = candidate;
        missing--;
      }
    }
    tags = found;
  }
  return tags[slot];
}
