/**
 * Typed arrays for the scan's large tables (indexes, router records, name counts, sort
 * orders) in memory mapped for them alone and unmapped once they are collected, rather
 * than from malloc. glibc serves a block of 128 KiB or more by `mmap` only until the first
 * such block is freed; then it raises that threshold to the freed block's size (up to 32
 * MiB), so a table's later arrays come from its heap, and those a grown table let go stay
 * resident: at a million domains about 30 MB of a scan's peak (`scan --json` 194 MB, 165 MB
 * with the threshold fixed by `MALLOC_MMAP_THRESHOLD_`, which only the environment a
 * process starts with can set). A `WebAssembly.Memory` is mapped by V8 itself, outside
 * malloc, and its buffer is an ordinary `ArrayBuffer`: views of it are as fast as any.
 */

/** Smaller arrays come from malloc: they come and go within its heap at no cost. */
export const MAPPED_FROM_BYTES = 1 << 20;
const WASM_PAGE_BYTES = 65_536;

interface WasmMemoryConstructor {
  new (descriptor: { initial: number }): { buffer: ArrayBuffer };
}

const WasmMemory = (globalThis as { WebAssembly?: { Memory: WasmMemoryConstructor } }).WebAssembly?.Memory;

/** Zeroed memory of its own for `bytes`, or undefined where malloc's must do. */
function mappedBuffer(bytes: number): ArrayBuffer | undefined {
  if (bytes < MAPPED_FROM_BYTES || WasmMemory === undefined) return undefined;
  try {
    return new WasmMemory({ initial: Math.ceil(bytes / WASM_PAGE_BYTES) }).buffer;
  } catch {
    // No address space to reserve (a `ulimit -v`, many memories not yet collected): malloc's.
    return undefined;
  }
}

/** The typed arrays the tables use: made by length, or as a view of a buffer. */
interface TypedArrayKind<T> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A zeroed `Kind` of `length` elements, mapped when large (see above). */
export function mappedArray<T>(Kind: TypedArrayKind<T>, length: number): T {
  const buffer = mappedBuffer(length * Kind.BYTES_PER_ELEMENT);
  return buffer ? new Kind(buffer, 0, length) : new Kind(length);
}
