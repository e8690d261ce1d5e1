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

/**
 * How much V8 grows the young generation when much of it survives a scavenge: not at all.
 * Left to itself it doubles the semi-spaces up to 16 MB each (a young generation of 33.6
 * MB, all resident once touched), while what a run keeps lives in arenas outside the heap
 * and its garbage dies young: a scan of 100,000 domains in process peaked at 127 MB of RSS
 * with growth and 99 MB without, for the same CPU time (5.1–5.7 s user both ways). Unlike
 * `--max-semi-space-size`, which V8 reads only when the heap is set up, this factor is read
 * at every scavenge, so it can be set once the process runs.
 */
export const SEMI_SPACE_GROWTH_FACTOR = 1;

/**
 * Sets this process's memory policy (each command, at start): V8's heap growing factor,
 * which V8 reads at every full collection, the young generation kept at its initial size,
and WebAssembly kept at its baseline compiler.
 * undici parses HTTP with llhttp compiled to WebAssembly; once its parser function is hot,
 * V8 recompiles it with TurboFan, and that compile of one huge function takes about 35 MB
 * of malloc'd memory (v8.getHeapStatistics().peak_malloced_memory of a reap of 10,000
 * domains: 40 MB, 4–6 MB with Liftoff only; bench/floor-client.js's peak RSS: 100 → 67 MB)
 * and a core for a while, on a machine the Forgejo API may share. The baseline code parses
 * as fast as a run needs: the floor client, which sets the same flag, is not slower with
 * it. Set before the first request: undici compiles the module at its first connect.
 */
export function keepHeapNearLive(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString('--liftoff-only');
  setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
}
