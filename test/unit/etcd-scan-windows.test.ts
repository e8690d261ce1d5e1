/**
 * The etcd scan's window arithmetic (plugins/etcd/scan-windows.ts): where the next range
 * request ends. What a scan returns never depends on it; these pin that every window moves
 * forward and is as wide as asked, so a scan cannot stall or skip.
 */
import { firstWindow, growth, keyAfter, MAX_GROWTH, successor } from '../../plugins/etcd/scan-windows';

const b = (text: string) => Buffer.from(text, 'latin1');

describe('etcd scan windows', () => {
  it('ends a window past its start, as wide as the span times the ratio', () => {
    expect(keyAfter(b('k:10'), b('k:00'), b('k:10'), 1)).toEqual(b('k:20\0\0\0\0'));
    expect(keyAfter(b('k:10'), b('k:00'), b('k:10'), 0.5)).toEqual(b('k:1\xb0\0\0\0\0'));
    // A carry runs into the bytes before the difference.
    expect(keyAfter(b('a\xff'), b('a\x00'), b('a\xff'), 1)?.subarray(0, 2)).toEqual(b('b\xfe'));
  });

  it('always moves past the start, even for an empty span or a tiny ratio', () => {
    const from = b('custom_domain:site1.example1.com\0');
    for (const [lo, hi, ratio] of [
      [from, from, 1],
      [b('x'), b('x'), 0],
      [b('custom_domain:a'), b('custom_domain:b'), 1e-9],
      [b('z'), b('a'), 1],
    ] as Array<[Buffer, Buffer, number]>) {
      const to = keyAfter(from, lo, hi, ratio);
      expect(to).toBeDefined();
      expect(Buffer.compare(to!, from)).toBe(1);
    }
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const key = () => Buffer.from(Array.from({ length: 1 + Math.floor(random() * 12) }, () => Math.floor(random() * 256)));
    for (let i = 0; i < 2000; i++) {
      const [lo, hi] = [key(), key()].sort(Buffer.compare);
      const start = random() < 0.5 ? hi : successor(hi);
      const to = keyAfter(start, lo, hi, random() * 8);
      if (to) expect(Buffer.compare(to, start)).toBe(1);
    }
  });

  it('has no end past the last key of the same length: the window runs to the end of the range', () => {
    expect(keyAfter(b('\xff\xf0'), b('\xf0'), b('\xff'), 1)).toBeUndefined();
  });

  it('starts with the keys right after the start, and grows sparse or empty windows', () => {
    expect(firstWindow(b('p:'))).toEqual({ lo: b('p:'), hi: b('p:\x01') });
    expect(successor(b('k'))).toEqual(b('k\0'));
    expect(growth(2000, 2000)).toBe(1);
    expect(growth(4000, 2000)).toBe(0.5);
    expect(growth(1, 2000)).toBe(MAX_GROWTH);
    expect(growth(0, 2000, 1)).toBe(MAX_GROWTH);
    expect(growth(0, 2000, 2)).toBe(MAX_GROWTH ** 2);
    expect(growth(0, 2000, 10)).toBe(256);
  });
});
