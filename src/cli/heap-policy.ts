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
 * Sets this process's memory policy (each command, at start): V8's heap growing factor,
 * which V8 reads at every full collection, and WebAssembly kept at its baseline compiler.
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
}
