/**
 * Node-only sources. Kept apart from index.ts so that the decoder itself runs in a browser.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ErofsError } from './errors.js';
import { checkRange, type ByteSource } from './source.js';

export interface FileSourceOptions {
  /** Cache block size in bytes (power of two, default 16 KiB). */
  blockSize?: number;
  /**
   * Number of cached blocks (default 256, i.e. 4 MiB with the default block size). A walk
   * + read of the Debian minbase images (plain, LZ4, zstd; 117-190 MB) took the same time
   * with 4 MiB as with 16 MiB (within 5%, interleaved runs), and the peak RSS of the walk
   * fell by 10-20 MiB (tools/bench/walk-child.ts): reads of 16 KiB and more bypass the
   * cache, so it holds mostly metadata and the pclusters of small files.
   */
  cacheBlocks?: number;
  /** Name used in error messages when the source is given a descriptor (default "fd N"). */
  name?: string;
}

/**
 * An image file read with fs.readSync on one descriptor, through a small LRU cache of
 * aligned blocks. Large reads bypass the cache. Given a path it opens the file; given a
 * descriptor (a host that opened the image itself) it takes it over. Either way the
 * source owns the descriptor: close() closes it.
 */
export class FileSource implements ByteSource {
  readonly size: number;
  /** The path, or the name given for a descriptor: used in error messages. */
  readonly path: string;
  private fd: number;
  private readonly bsz: number;
  private readonly cap: number;
  /** block index -> block bytes; Map order is LRU order (oldest first). */
  private readonly cache = new Map<number, Uint8Array>();
  private scratch = new Uint8Array(0);
  /** The block block() returned last (always the newest in the cache), or -1. */
  private lastIndex = -1;
  private lastBlock: Uint8Array | undefined;
  reads = 0;

  constructor(pathOrFd: string | number, options: FileSourceOptions = {}) {
    this.path = typeof pathOrFd === 'number' ? (options.name ?? `fd ${pathOrFd}`) : pathOrFd;
    this.bsz = options.blockSize ?? 16384;
    this.cap = Math.max(1, options.cacheBlocks ?? 256);
    if (this.bsz & (this.bsz - 1) || this.bsz < 512) throw new RangeError('FileSource: blockSize must be a power of two >= 512');
    let st;
    try {
      this.fd = typeof pathOrFd === 'number' ? pathOrFd : openSync(pathOrFd, 'r');
      st = fstatSync(this.fd);
    } catch (e) {
      throw new ErofsError('EIO', 'image file', undefined, `${this.path}: ${(e as Error).message}`);
    }
    if (!st.isFile() && !st.isBlockDevice()) {
      if (typeof pathOrFd === 'string') closeSync(this.fd);
      throw new ErofsError('EINVAL', 'image file', undefined, `${this.path} is not a regular file`);
    }
    this.size = st.size;
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  private pread(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    if (this.fd < 0) throw new ErofsError('EIO', 'image file', offset, `${this.path}: source closed`);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(this.fd, dest, destOffset + done, length - done, offset + done);
      } catch (e) {
        throw new ErofsError('EIO', 'image file', offset + done, `${this.path}: ${(e as Error).message}`);
      }
      this.reads++;
      if (n <= 0) throw new ErofsError('EIO', 'image file', offset + done, `${this.path}: unexpected end of file`);
      done += n;
    }
  }

  private block(index: number): Uint8Array {
    // The block returned last is already the newest in LRU order; consecutive views of one
    // block (index entries, small pclusters, inodes side by side) skip the Map reordering,
    // which cost 16% of a walk over an LZ4 image.
    if (index === this.lastIndex) return this.lastBlock!;
    const hit = this.cache.get(index);
    if (hit) {
      this.cache.delete(index);
      this.cache.set(index, hit);
      this.lastIndex = index;
      this.lastBlock = hit;
      return hit;
    }
    const start = index * this.bsz;
    const len = Math.min(this.bsz, this.size - start);
    let buf: Uint8Array;
    if (this.cache.size >= this.cap) {
      const oldest = this.cache.keys().next().value as number;
      buf = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      if (buf.length !== len) buf = new Uint8Array(len);
    } else {
      buf = new Uint8Array(len);
    }
    this.lastIndex = -1;
    this.pread(buf, 0, start, len);
    this.cache.set(index, buf);
    this.lastIndex = index;
    this.lastBlock = buf;
    return buf;
  }

  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    checkRange(this, offset, length, this.path);
    if (length >= this.bsz) {
      this.pread(dest, destOffset, offset, length);
      return;
    }
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const idx = Math.floor(pos / this.bsz);
      const b = this.block(idx);
      const inBlock = pos - idx * this.bsz;
      const n = Math.min(length - done, b.length - inBlock);
      dest.set(b.subarray(inBlock, inBlock + n), destOffset + done);
      done += n;
    }
  }

  view(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length, this.path);
    const idx = Math.floor(offset / this.bsz);
    const inBlock = offset - idx * this.bsz;
    if (inBlock + length <= this.bsz && length < this.bsz) {
      const b = this.block(idx);
      return b.subarray(inBlock, inBlock + length);
    }
    if (this.scratch.length < length) this.scratch = new Uint8Array(length);
    const out = this.scratch.subarray(0, length);
    this.readInto(out, 0, offset, length);
    return out;
  }

  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.cache.clear();
      this.lastIndex = -1;
      this.lastBlock = undefined;
      closeSync(fd);
    }
  }
}

export { ErofsError };
export { createNodeDeflate, type NodeDeflateOptions } from './codecs/deflate-node.js';
export { openRangeSource, type NodeRangeSourceOptions } from './range-node.js';
export { DiskCache, type DiskCacheOptions, type DiskCacheStats } from './range-disk.js';
