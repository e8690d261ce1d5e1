/**
 * Six bits a character for the text of domain names and `owner:repo` values: `-` `.`
 * `0-9` `:` `_` `a-z` have codes in their ASCII order, and an upper-case letter is an
 * escape code followed by its lower-case letter's. The characters of a plugin key are
 * nearly always among these, and a million domains held as text cost a quarter less.
 *
 * Codes are written most significant bit first and the last byte is padded with zero
 * bits, so two packed texts without an escape compare byte by byte, and then by their
 * number of codes, in the order of the texts themselves.
 */

const ESCAPE = 63;
const NOT_PACKABLE = -1;
/** The code of each ASCII character, NOT_PACKABLE where it has none. */
const CODE_OF = new Int8Array(128).fill(NOT_PACKABLE);
/** The character code of each code (the escape's is 0). */
const CHAR_OF = new Uint8Array(64);

{
  const alphabet = '-.0123456789:_abcdefghijklmnopqrstuvwxyz';
  for (let code = 0; code < alphabet.length; code++) {
    CODE_OF[alphabet.charCodeAt(code)] = code;
    CHAR_OF[code] = alphabet.charCodeAt(code);
  }
}

const UPPER_A = 65;
const UPPER_Z = 90;
const CASE_BIT = 0x20;

/**
 * How many codes `text` packs into, or -1 when it holds a character without one (or, with
 * `allowUpper` false, an upper-case letter).
 */
export function codeCount(text: string, allowUpper: boolean): number {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char < 128 && CODE_OF[char] !== NOT_PACKABLE) continue;
    if (!allowUpper || char < UPPER_A || char > UPPER_Z) return NOT_PACKABLE;
    count++;
  }
  return count;
}

/** Bytes that `codes` codes take. */
export function packedBytes(codes: number): number {
  return (codes * 6 + 7) >>> 3;
}

/** Writes `text` (one `codeCount` accepted) packed at `at`. */
export function pack(text: string, target: Uint8Array, at: number): void {
  let bits = 0;
  let pending = 0;
  let out = at;
  const put = (code: number): void => {
    pending = (pending << 6) | code;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      target[out++] = pending >>> bits;
      pending &= (1 << bits) - 1;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char >= UPPER_A && char <= UPPER_Z) {
      put(ESCAPE);
      put(CODE_OF[char | CASE_BIT]);
    } else {
      put(CODE_OF[char]);
    }
  }
  if (bits > 0) target[out] = pending << (8 - bits);
}

/** Where `unpack` writes characters before they become a string. */
let scratch = Buffer.allocUnsafe(256);

/** The text of `codes` codes packed at `at`. */
export function unpack(source: Uint8Array, at: number, codes: number): string {
  if (scratch.length < codes) scratch = Buffer.allocUnsafe(2 * codes);
  const chars = scratch;
  let length = 0;
  let bits = 0;
  let pending = 0;
  let upper = false;
  for (let i = 0, from = at; i < codes; i++) {
    if (bits < 6) {
      pending = (pending << 8) | source[from++];
      bits += 8;
    }
    bits -= 6;
    const code = pending >>> bits;
    pending &= (1 << bits) - 1;
    if (code === ESCAPE) {
      upper = true;
      continue;
    }
    chars[length++] = upper ? CHAR_OF[code] & ~CASE_BIT : CHAR_OF[code];
    upper = false;
  }
  return chars.toString('latin1', 0, length);
}

/**
 * The `index`-th character code of a text packed at `at` without escapes (a domain's: see
 * `DomainArena`), for comparing it with one that is not packed.
 */
export function packedCharAt(source: Uint8Array, at: number, index: number): number {
  const bit = index * 6;
  const from = at + (bit >>> 3);
  const word = (source[from] << 8) | (((bit & 7) > 2 ? source[from + 1] : 0) as number);
  return CHAR_OF[(word >>> (10 - (bit & 7))) & 63];
}

/** Whether `text` is the `codes` codes packed at `at` without escapes (a domain's: see `DomainArena`). */
export function packedEquals(source: Uint8Array, at: number, codes: number, text: string): boolean {
  if (text.length !== codes) return false;
  let bits = 0;
  let pending = 0;
  for (let i = 0, from = at; i < codes; i++) {
    if (bits < 6) {
      pending = (pending << 8) | source[from++];
      bits += 8;
    }
    bits -= 6;
    if (CHAR_OF[pending >>> bits] !== text.charCodeAt(i)) return false;
    pending &= (1 << bits) - 1;
  }
  return true;
}
