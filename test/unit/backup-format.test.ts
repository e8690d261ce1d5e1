import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { BACKUP_FORMAT, BACKUP_VERSION, BackupFormatError, EntryDigest, decodeEntry, encodeEntry } from '../../src/backup/format';
import type { StoredEntry } from '../../src/ports/key-value-store';

const NON_UTF8 = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

describe('backup format constants (DESIGN §7)', () => {
  it('names the format and its version', () => {
    expect(BACKUP_FORMAT).toBe('pages-reaper-backup');
    expect(BACKUP_VERSION).toBe(1);
  });
});

describe('encodeEntry / decodeEntry', () => {
  const roundTrip = (entry: StoredEntry) => decodeEntry(encodeEntry(entry), 2);

  it('writes a UTF-8 string as `value`, one line of JSON, and reads it back', () => {
    const entry: StoredEntry = {
      key: 'custom_domain:www.example.com',
      type: 'string',
      value: Buffer.from('alice:site'),
      expiresAt: undefined,
    };
    const line = encodeEntry(entry);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ key: 'custom_domain:www.example.com', type: 'string', value: 'alice:site', expiresAt: null });
    expect(roundTrip(entry)).toEqual(entry);
  });

  it.each([
    ['non-ASCII UTF-8', Buffer.from('Grüße, 日本 🌍')],
    ['the empty string', Buffer.alloc(0)],
    ['control characters and line breaks', Buffer.from('a\nb\r\nc\u0000d\u2028e\u2029f\t"\\')],
  ])('keeps %s as `value`, byte for byte', (_name, value) => {
    const line = encodeEntry({ key: 'k', type: 'string', value });
    expect(line).not.toMatch(/[\n\r]/);
    const parsed = JSON.parse(line);
    expect(parsed.base64).toBeUndefined();
    expect(typeof parsed.value).toBe('string');
    expect(roundTrip({ key: 'k', type: 'string', value }).value!.equals(value)).toBe(true);
  });

  it.each([
    ['0xff 0xfe 0x00 0x41', NON_UTF8],
    ['a lone continuation byte', Buffer.from([0x61, 0x80, 0x62])],
    ['a truncated multi-byte sequence', Buffer.from([0xe2, 0x82])],
    ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
  ])('writes bytes that are not UTF-8 (%s) as `base64` and gives back the same bytes', (_name, value) => {
    const parsed = JSON.parse(encodeEntry({ key: 'bin', type: 'string', value }));
    expect(parsed.value).toBeUndefined();
    expect(parsed.base64).toBe(value.toString('base64'));
    const back = roundTrip({ key: 'bin', type: 'string', value });
    expect(back.type).toBe('string');
    expect(back.value!.equals(value)).toBe(true);
  });

  it('writes a non-string as its `dump` (base64) and no value', () => {
    const dump = Buffer.from([0x10, 0x0d, 0x0d, 0x00, 0xff, 0x00, 0x01, 0x80]);
    const entry: StoredEntry = { key: 'h:profile', type: 'hash', dump, expiresAt: undefined };
    const parsed = JSON.parse(encodeEntry(entry));
    expect(parsed).toEqual({ key: 'h:profile', type: 'hash', dump: dump.toString('base64'), expiresAt: null });
    const back = roundTrip(entry);
    expect(back).toEqual({ key: 'h:profile', type: 'hash', dump, expiresAt: undefined });
    expect(back.value).toBeUndefined();
  });

  it('keeps a non-string without a dump (a store that cannot serialise it) as type only', () => {
    const back = roundTrip({ key: 'l', type: 'list' });
    expect(back).toEqual({ key: 'l', type: 'list', expiresAt: undefined });
    expect(back.dump).toBeUndefined();
  });

  it('writes expiresAt null for no expiry, an ISO time otherwise, and keeps the millisecond', () => {
    const at = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
    const withExpiry = JSON.parse(encodeEntry({ key: 'k', type: 'string', value: Buffer.from('v'), expiresAt: at }));
    expect(withExpiry.expiresAt).toBe('2031-05-06T07:08:09.123Z');
    expect(roundTrip({ key: 'k', type: 'string', value: Buffer.from('v'), expiresAt: at }).expiresAt).toBe(at);
    expect(JSON.parse(encodeEntry({ key: 'k', type: 'string', value: Buffer.from('v') })).expiresAt).toBeNull();
    expect(roundTrip({ key: 'k', type: 'string', value: Buffer.from('v') }).expiresAt).toBeUndefined();
    // An expiry in the past is still a time (restore decides to skip it, not the decoder).
    expect(roundTrip({ key: 'k', type: 'zset', dump: Buffer.from('x'), expiresAt: 1000 }).expiresAt).toBe(1000);
  });

  it('keeps keys with spaces, quotes, colons, glob characters and non-ASCII', () => {
    for (const key of ['a b', 'q"uote', 'x:y:branch:z', 'we*rd[1]?', 'clé/ü', 'traefik/http/routers/custom-a-b/entryPoints/0']) {
      expect(roundTrip({ key, type: 'string', value: Buffer.from('v') }).key).toBe(key);
    }
  });

  it('writes the text JSON.stringify gives the line as an object, members in the documented order', () => {
    const asObject = (entry: StoredEntry) => {
      const line: Record<string, unknown> = {
        key: entry.key,
        type: entry.type,
        expiresAt: entry.expiresAt === undefined ? null : new Date(entry.expiresAt).toISOString(),
      };
      if (entry.value !== undefined)
        line[isUtf8(entry.value) ? 'value' : 'base64'] = entry.value.toString(isUtf8(entry.value) ? 'utf8' : 'base64');
      if (entry.dump !== undefined) line.dump = entry.dump.toString('base64');
      return JSON.stringify(line);
    };
    const entries: StoredEntry[] = [
      { key: 'custom_domain:a.com', type: 'string', value: Buffer.from('o:r') },
      {
        key: 'k "q" \\ \u0001 \u2028 日本',
        type: 'string',
        value: Buffer.from('a\nb"\\\u0000 🌍'),
        expiresAt: Date.UTC(2030, 0, 2, 3, 4, 5, 6),
      },
      { key: 'bin', type: 'string', value: NON_UTF8 },
      { key: 'h', type: 'hash', dump: Buffer.from([0, 1, 2, 255]), expiresAt: 0 },
      { key: 'bare', type: 'zset' },
      { key: 'empty', type: 'string', value: Buffer.alloc(0) },
    ];
    for (const entry of entries) expect(encodeEntry(entry)).toBe(asObject(entry));
  });

  it('accepts the fields in any order (a person may have edited the file)', () => {
    const entry = decodeEntry('{"expiresAt":null,"value":"v","type":"string","key":"k"}', 3);
    expect(entry).toEqual({ key: 'k', type: 'string', value: Buffer.from('v'), expiresAt: undefined });
  });

  describe('decode errors are BackupFormatErrors that name the line number', () => {
    it.each([
      ['not JSON', '{"key":"k",', /^line 17 is not valid JSON$/],
      ['an empty line', '', /^line 17 is not valid JSON$/],
      ['null', 'null', /^line 17: not an entry$/],
      ['a JSON string', '"text"', /^line 17: not an entry$/],
      ['a number', '42', /^line 17: not an entry$/],
      ['no key', '{"type":"string","value":"v","expiresAt":null}', /^line 17: no key$/],
      ['an empty key', '{"key":"","type":"string","value":"v","expiresAt":null}', /^line 17: no key$/],
      ['a numeric key', '{"key":5,"type":"string","value":"v","expiresAt":null}', /^line 17: no key$/],
      ['no type', '{"key":"k","value":"v","expiresAt":null}', /^line 17: no type$/],
      [
        'a string without value or base64',
        '{"key":"k","type":"string","expiresAt":null}',
        /^line 17: a string entry without value or base64$/,
      ],
      [
        'expiresAt not a time',
        '{"key":"k","type":"string","value":"v","expiresAt":"soon"}',
        /^line 17: expiresAt is neither null nor a time$/,
      ],
      [
        'expiresAt a number',
        '{"key":"k","type":"string","value":"v","expiresAt":1700000000000}',
        /^line 17: expiresAt is neither null nor a time$/,
      ],
      ['expiresAt missing', '{"key":"k","type":"string","value":"v"}', /^line 17: expiresAt is neither null nor a time$/],
    ])('%s', (_name, text, message) => {
      let thrown: unknown;
      try {
        decodeEntry(text, 17);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(BackupFormatError);
      expect((thrown as Error).message).toMatch(message);
    });
  });
});

describe('EntryDigest', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('is the SHA-256 of the lines, each followed by a newline, and counts them', () => {
    const lines = [
      encodeEntry({ key: 'a', type: 'string', value: Buffer.from('1') }),
      encodeEntry({ key: 'bin', type: 'string', value: NON_UTF8 }),
      encodeEntry({ key: 'h', type: 'hash', dump: Buffer.from([1, 2, 3]), expiresAt: 2_000_000_000_000 }),
    ];
    const digest = new EntryDigest();
    for (const line of lines) digest.add(line);
    expect(digest.count).toBe(3);
    expect(digest.hex()).toBe(sha256(lines.map((l) => l + '\n').join('')));
  });

  it('gives the same checksum and count for lines added in chunks of bytes (how the writer adds them)', () => {
    const lines = Array.from({ length: 7 }, (_, i) => encodeEntry({ key: `k${i}`, type: 'string', value: Buffer.from(`v ü ${i}`) }));
    const byLine = new EntryDigest();
    for (const line of lines) byLine.add(line);
    const byChunk = new EntryDigest();
    byChunk.addLines(
      Buffer.from(
        lines
          .slice(0, 3)
          .map((l) => `${l}\n`)
          .join(''),
      ),
      3,
    );
    byChunk.addLines(
      Buffer.from(
        lines
          .slice(3)
          .map((l) => `${l}\n`)
          .join(''),
      ),
      4,
    );
    expect(byChunk.count).toBe(7);
    expect(byChunk.hex()).toBe(byLine.hex());
  });

  it('sums lines held back for one update as it sums them one by one: across batches, with bytes added between, multi-byte text included', () => {
    // 3,000 lines of about 60 characters: several of the 64 KiB batches the digest sums at once.
    const lines = Array.from({ length: 3_000 }, (_, i) =>
      encodeEntry({ key: `k${i}`, type: 'string', value: Buffer.from(`caf\u00e9 \u{1F600} ${'x'.repeat(i % 40)}`) }),
    );
    const expected = createHash('sha256');
    const digest = new EntryDigest();
    lines.forEach((line, i) => {
      // Every 700th line arrives as bytes (how the writer adds its lines), between lines held back.
      if (i % 700 === 0) digest.addLines(Buffer.from(`${line}\n`, 'utf8'), 1);
      else digest.add(line);
      expected.update(Buffer.from(`${line}\n`, 'utf8'));
    });
    expect(digest.count).toBe(3_000);
    expect(digest.hex()).toBe(expected.digest('hex'));
  });

  it('of no lines is the SHA-256 of nothing', () => {
    const digest = new EntryDigest();
    expect(digest.count).toBe(0);
    expect(digest.hex()).toBe(sha256(''));
  });

  it('hashes multi-byte characters as UTF-8, as they are written', () => {
    const digest = new EntryDigest();
    digest.add('{"key":"ü","type":"string","value":"日本","expiresAt":null}');
    expect(digest.hex()).toBe(
      createHash('sha256').update(Buffer.from('{"key":"ü","type":"string","value":"日本","expiresAt":null}\n', 'utf8')).digest('hex'),
    );
  });

  it('tells apart line splits and order (a newline is part of each line)', () => {
    const one = new EntryDigest();
    one.add('ab');
    const two = new EntryDigest();
    two.add('a');
    two.add('b');
    expect(one.hex()).not.toBe(two.hex());
    const ab = new EntryDigest();
    ab.add('a');
    ab.add('b');
    const ba = new EntryDigest();
    ba.add('b');
    ba.add('a');
    expect(ab.hex()).not.toBe(ba.hex());
  });
});
