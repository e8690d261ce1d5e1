import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may let the old generation grow past what survived its last full collection
 * before it collects again, in percent. Left to itself V8 grows it by up to 4× while a
 * program allocates fast, and a run allocates far more than it keeps (a key name per key
 * scanned, a request and an answer per repository): at 200,000 domains `verify` peaked at
 * 430 MB by default and at 295 MB with 10% (bench/scale.js, DESIGN §4.11 in
 * docs/architecture.md). Full collections come more often, but each finds mostly garbage.
 */
export const HEAP_GROWING_PERCENT = 10;

/** Sets V8's heap growing factor for this process; V8 reads it at every full collection. */
export function keepHeapNearLive(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
