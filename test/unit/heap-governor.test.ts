import { getHeapStatistics } from 'node:v8';
import { HeapGovernor } from '../../src/engine/heap-governor';

describe('HeapGovernor', () => {
  it('collects once the heap outgrows what the last collection left, and not before', () => {
    const governor = new HeapGovernor(0, 8 * 1024 * 1024);
    // Garbage that reaches the old generation: kept across a few allocations, then dropped.
    let kept: string[][] = [];
    for (let i = 0; i < 40; i++) kept.push(Array.from({ length: 20_000 }, (_, j) => `garbage-${i}-${j}`));
    const grown = getHeapStatistics().used_heap_size;
    kept = [];
    governor.check();
    expect(getHeapStatistics().used_heap_size).toBeLessThan(grown - 8 * 1024 * 1024);
    expect(kept).toEqual([]);
  });

});
