import { ErofsError } from './errors.js';

/**
 * The bytes of an image or of one of its extra devices. Reads are synchronous.
 * Callers check ranges against `size` before reading and report corruption themselves;
 * a source only throws EIO when asked for bytes it does not have or when it fails.
 */
export interface ByteSource {
  readonly size: number;
  /** Copies `length` bytes at `offset` into `dest` starting at `destOffset`. */
  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void;
  /**
   * Returns the bytes at [offset, offset + length). The result may alias the source's
   * own storage or a scratch buffer: it is valid only until the next call on this source,
   * and must not be written to.
   */
  view(offset: number, length: number): Uint8Array;
  /**
   * Optional, for sources with slow storage behind them (RangeSource): a hint to start
   * fetching [offset, offset + length) in the background. Returns at once, with the bytes
   * queued; never throws for the bytes themselves (a later read reports their failure).
   */
  prefetch?(offset: number, length: number): number;
  /** Optional, with prefetch: resolves once nothing prefetched is outstanding. Never rejects. */
  idle?(): Promise<void>;
  close?(): void;
}

export function checkRange(source: ByteSource, offset: number, length: number, what = 'source'): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= source.size)) {
    throw new ErofsError('EIO', what, offset, `read of ${length} bytes past the end (size ${source.size})`);
  }
}

/**
 * A copy of `bytes[start, end)` as a plain Uint8Array. Not `bytes.slice()`: on a Node
 * Buffer (a Uint8Array subclass, often a view into a shared pool) slice returns a view.
 */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

/**
 * An image held in memory: views are zero-copy subarrays. The caller's bytes are read,
 * never written, and must not change while the source is in use. A Node Buffer (or any
 * Uint8Array subclass) is taken as a plain Uint8Array over the same memory, so that views
 * handed on are plain arrays whose slice() copies.
 */
export class MemorySource implements ByteSource {
  readonly bytes: Uint8Array;
  readonly size: number;

  constructor(bytes: Uint8Array | ArrayBuffer | SharedArrayBuffer) {
    this.bytes =
      bytes instanceof Uint8Array
        ? bytes.constructor === Uint8Array
          ? bytes
          : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        : new Uint8Array(bytes);
    this.size = this.bytes.length;
  }

  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    checkRange(this, offset, length);
    dest.set(this.bytes.subarray(offset, offset + length), destOffset);
  }

  view(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/**
 * Wraps a source and counts its reads and bytes: used by tests and the fuzzer to show
 * that a walk of a hostile image does a bounded amount of work.
 */
export class CountingSource implements ByteSource {
  reads = 0;
  bytesRead = 0;
  constructor(readonly inner: ByteSource, readonly maxReads = Infinity) {}
  get size(): number {
    return this.inner.size;
  }
  private count(length: number): void {
    this.reads++;
    this.bytesRead += length;
    if (this.reads > this.maxReads) {
      throw new Error(`CountingSource: more than ${this.maxReads} reads`);
    }
  }
  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    this.count(length);
    this.inner.readInto(dest, destOffset, offset, length);
  }
  view(offset: number, length: number): Uint8Array {
    this.count(length);
    return this.inner.view(offset, length);
  }
}
