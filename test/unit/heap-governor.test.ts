import { HeapGovernor, v8Heap, type HeapAccess } from '../../src/engine/heap-governor';

const MB = 1024 * 1024;

/** A heap whose size the test sets, and whose collection leaves `survivors` bytes. */
function fakeHeap(startBytes: number): HeapAccess & { used: number; survivors: number; collections: number } {
  const heap = {
    used: startBytes,
    survivors: startBytes,
    collections: 0,
    usedBytes: () => heap.used,
    collect: () => {
      heap.collections++;
      heap.used = heap.survivors;
    },
  };
  return heap;
}

describe('HeapGovernor', () => {
  it('collects once the heap outgrows what the last collection left plus its headroom, and not before', () => {
    const heap = fakeHeap(100 * MB);
    const governor = new HeapGovernor(0.5, 8 * MB, heap);
    // limit = 100 MB × 1.5 + 8 MB = 158 MB
    heap.used = 157 * MB;
    governor.check();
    expect(heap.collections).toBe(0);
    heap.used = 158 * MB;
    governor.check();
    expect(heap.collections).toBe(1);
    expect(heap.used).toBe(100 * MB);
  });

  it('sets the next limit from what the collection left, so a growing live state is not collected on every check', () => {
    const heap = fakeHeap(10 * MB);
    const governor = new HeapGovernor(0.5, 8 * MB, heap);
    heap.used = 30 * MB; // over 10 × 1.5 + 8 = 23 MB
    heap.survivors = 20 * MB; // the live state grew
    governor.check();
    expect(heap.collections).toBe(1);
    heap.used = 37 * MB; // under 20 × 1.5 + 8 = 38 MB
    governor.check();
    expect(heap.collections).toBe(1);
    heap.used = 38 * MB;
    governor.check();
    expect(heap.collections).toBe(2);
  });

  it('does nothing where V8 exposes no collection', () => {
    const heap = { usedBytes: () => 1e12, collect: undefined };
    expect(() => new HeapGovernor(0.5, 8 * MB, heap).check()).not.toThrow();
  });

  it('gets a full collection from V8 without --expose-gc, and reads the heap size', () => {
    expect(typeof v8Heap.collect).toBe('function');
    expect(() => v8Heap.collect!()).not.toThrow();
    expect(v8Heap.usedBytes()).toBeGreaterThan(0);
  });
});
