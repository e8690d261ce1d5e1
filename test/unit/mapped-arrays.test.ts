import { MAPPED_FROM_BYTES, mappedArray } from '../../src/core/mapped-arrays';

describe('mapped arrays', () => {
  it('gives zeroed arrays of the length asked, large ones in memory of their own, small ones as usual', () => {
    const large = mappedArray(Uint32Array, MAPPED_FROM_BYTES / 4 + 3);
    expect(large.length).toBe(MAPPED_FROM_BYTES / 4 + 3);
    expect(large.every((word) => word === 0)).toBe(true);
    // A memory of whole 64 KiB pages, the view at its start.
    expect(large.buffer.byteLength % 65_536).toBe(0);
    expect(large.buffer.byteLength).toBeGreaterThan(large.byteLength);
    expect(large.byteOffset).toBe(0);
    large[large.length - 1] = 0xffffffff;
    expect(large[large.length - 1]).toBe(0xffffffff);

    const words = mappedArray(Int32Array, MAPPED_FROM_BYTES);
    words[0] = -1;
    expect(words[0]).toBe(-1);
    expect(words.length).toBe(MAPPED_FROM_BYTES);

    const bytes = mappedArray(Uint8Array, MAPPED_FROM_BYTES + 1);
    bytes[MAPPED_FROM_BYTES] = 255;
    expect(bytes[MAPPED_FROM_BYTES]).toBe(255);

    const small = mappedArray(Uint32Array, 16);
    expect(small.buffer.byteLength).toBe(64);
  });

  it('keeps giving arrays while many large ones wait to be collected', () => {
    const kept: Uint32Array[] = [];
    for (let i = 0; i < 300; i++) {
      const words = mappedArray(Uint32Array, 300_000);
      words[299_999] = i;
      if (i % 3 === 0) kept.push(words);
    }
    expect(kept.map((words) => words[299_999])).toEqual(Array.from({ length: 100 }, (_, i) => 3 * i));
  });

  it("falls back to malloc's memory where no memory can be mapped", () => {
    const wasm = globalThis.WebAssembly;
    const failing = {
      ...wasm,
      Memory: function () {
        throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      },
    };
    Object.defineProperty(globalThis, 'WebAssembly', { value: failing, configurable: true, writable: true });
    try {
      jest.isolateModules(() => {
        const isolated = jest.requireActual<typeof import('../../src/core/mapped-arrays')>('../../src/core/mapped-arrays');
        const words = isolated.mappedArray(Int32Array, MAPPED_FROM_BYTES);
        expect(words.length).toBe(MAPPED_FROM_BYTES);
        expect(words.buffer.byteLength).toBe(4 * MAPPED_FROM_BYTES);
        words[5] = 7;
        expect(words[5]).toBe(7);
      });
    } finally {
      Object.defineProperty(globalThis, 'WebAssembly', { value: wasm, configurable: true, writable: true });
    }
  });
});
