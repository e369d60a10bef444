/**
 * A ByteSource over storage read synchronously in chunks: in the page's worker, a File (or
 * any Blob) read with FileReaderSync, so that a 200 MB image costs the blocks the decoder
 * touches, not 200 MB of memory. Blocks of `blockSize` bytes are kept in a bounded LRU
 * cache (the erofs package's BoundedCache); a view inside one block is zero-copy, a view
 * across blocks is assembled in a scratch buffer (valid until the next call, as the
 * ByteSource contract allows).
 */
import { BoundedCache, ErofsError, type ByteSource, type CacheStats } from '@erofs-js/erofs';

export interface ChunkedSourceOptions {
  /** Bytes per read and per cache entry (a power of two, default 64 KiB). */
  blockSize?: number;
  /** Budget of the block cache in bytes (default 32 MiB). */
  cacheBytes?: number;
  /** Shown in errors (default "image"). */
  name?: string;
}

export class ChunkedSource implements ByteSource {
  readonly size: number;
  private readonly bs: number;
  private readonly cache: BoundedCache<number, Uint8Array>;
  private scratch = new Uint8Array(0);
  private readonly name: string;
  /** Chunk reads made (cache misses). */
  reads = 0;

  /** `read(offset, length)` returns exactly those bytes of the storage, or throws. */
  constructor(size: number, private readonly readChunk: (offset: number, length: number) => Uint8Array, options: ChunkedSourceOptions = {}) {
    this.size = size;
    this.bs = options.blockSize ?? 1 << 16;
    if (this.bs & (this.bs - 1) || this.bs < 512) throw new RangeError('ChunkedSource: blockSize must be a power of two >= 512');
    this.cache = new BoundedCache(Math.max(this.bs, options.cacheBytes ?? 32 << 20));
    this.name = options.name ?? 'image';
  }

  /** A source over a Blob read with FileReaderSync (dedicated workers only). */
  static fromBlob(blob: Blob, options: ChunkedSourceOptions = {}): ChunkedSource {
    const Reader = (globalThis as { FileReaderSync?: new () => { readAsArrayBuffer(b: Blob): ArrayBuffer } }).FileReaderSync;
    if (!Reader) throw new ErofsError('EIO', options.name ?? 'image', undefined, 'FileReaderSync is only available in a Web Worker');
    const reader = new Reader();
    return new ChunkedSource(blob.size, (offset, length) => new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length))), options);
  }

  get stats(): CacheStats {
    return this.cache.stats();
  }

  private block(index: number): Uint8Array {
    let b = this.cache.get(index);
    if (b) return b;
    const start = index * this.bs;
    const length = Math.min(this.bs, this.size - start);
    try {
      b = this.readChunk(start, length);
    } catch (e) {
      throw new ErofsError('EIO', this.name, start, `read of ${length} bytes failed: ${(e as Error).message ?? e}`);
    }
    if (b.length !== length) throw new ErofsError('EIO', this.name, start, `read of ${length} bytes returned ${b.length} (the file changed?)`);
    this.reads++;
    this.cache.set(index, b);
    return b;
  }

  private check(offset: number, length: number): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw new ErofsError('EIO', this.name, offset, `read of ${length} bytes past the end (size ${this.size})`);
    }
  }

  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    this.check(offset, length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const b = this.block(Math.floor(pos / this.bs));
      const at = pos % this.bs;
      const n = Math.min(length - done, b.length - at);
      dest.set(b.subarray(at, at + n), destOffset + done);
      done += n;
    }
  }

  view(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const at = offset % this.bs;
    if (at + length <= this.bs) {
      const b = this.block(Math.floor(offset / this.bs));
      return b.subarray(at, at + length);
    }
    if (this.scratch.length < length) this.scratch = new Uint8Array(Math.max(length, this.scratch.length * 2));
    this.readInto(this.scratch, 0, offset, length);
    return this.scratch.subarray(0, length);
  }

  close(): void {
    this.cache.clear();
  }
}
