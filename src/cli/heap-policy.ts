import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may let the old generation grow past what survived its last full collection
 * before it collects again, in percent. Left to itself V8 grows it by up to 4× while a
 * program allocates fast, and a run allocates far more than it keeps (a key name per key
 * scanned, a request and an answer per repository), so by default its peak is mostly
 * garbage not yet collected (bench/scale.js measures peak RSS). Full collections come more
 * often, but each finds mostly garbage.
 */
export const HEAP_GROWING_PERCENT = 10;

/** Sets V8's heap growing factor for this process (each command, at start); V8 reads it at every full collection. */
export function keepHeapNearLive(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
