import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps the heap near what is live. A run allocates far more than it keeps (a key name per
 * key scanned, a request and an answer per repository), and objects that outlive a round
 * trip reach the old generation, which V8 lets grow to several times what is live before it
 * collects it: at a million domains, a gigabyte of garbage. The governor runs a full
 * collection once the heap has grown by `headroom` of what the last one left, plus a floor,
 * so the peak stays within a fixed multiple of the live state (DESIGN §4.11). Checking costs
 * one call into V8; a collection of a few hundred MB takes a fraction of a second and comes
 * once per `headroom` of growth.
 */
export interface HeapAccess {
  usedBytes(): number;
  /** undefined where V8 refuses to expose a full collection: the governor then does nothing. */
  collect: (() => void) | undefined;
}

export const v8Heap: HeapAccess = { usedBytes: () => getHeapStatistics().used_heap_size, collect: exposeGc() };

export class HeapGovernor {
  private limit: number;

  constructor(
    private readonly headroom = 0.5,
    private readonly floorBytes = 48 * 1024 * 1024,
    private readonly heap: HeapAccess = v8Heap,
  ) {
    this.limit = this.nextLimit();
  }

  /** Collects when the heap has outgrown its limit; cheap enough to call per batch. */
  check(): void {
    if (!this.heap.collect) return;
    if (this.heap.usedBytes() < this.limit) return;
    this.heap.collect();
    this.limit = this.nextLimit();
  }

  private nextLimit(): number {
    return this.heap.usedBytes() * (1 + this.headroom) + this.floorBytes;
  }
}

/** `gc()` without starting node with --expose-gc; undefined where V8 refuses. */
function exposeGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
