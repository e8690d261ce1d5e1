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
export class HeapGovernor {
  private limit: number;
  private readonly collect: (() => void) | undefined;

  constructor(
    private readonly headroom = 0.5,
    private readonly floorBytes = 48 * 1024 * 1024,
  ) {
    this.collect = exposeGc();
    this.limit = this.nextLimit();
  }

  /** Collects when the heap has outgrown its limit; cheap enough to call per batch. */
  check(): void {
    if (!this.collect) return;
    if (getHeapStatistics().used_heap_size < this.limit) return;
    this.collect();
    this.limit = this.nextLimit();
  }

  private nextLimit(): number {
    return getHeapStatistics().used_heap_size * (1 + this.headroom) + this.floorBytes;
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
