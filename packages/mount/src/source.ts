/**
 * FdSource: the bytes of an image behind an already-open file descriptor, read with
 * fs.readSync through a small LRU cache of aligned blocks. The host controller opens
 * image paths itself (asynchronously) and hands the descriptor here; a host that opened
 * the image some other way passes the descriptor directly. The source owns the
 * descriptor: close() closes it.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { ErofsError, type ByteSource } from '@erofs-js/erofs';

export interface FdSourceOptions {
  /** Cache block size (power of two >= 512, default 16 KiB). */
  blockSize?: number;
  /** Cached blocks (default 256: 4 MiB). */
  cacheBlocks?: number;
  /** Name used in error messages (default "fd N"). */
  name?: string;
}

export class FdSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  private fd: number;
  private readonly bsz: number;
  private readonly cap: number;
  private readonly cache = new Map<number, Uint8Array>();
  private scratch = new Uint8Array(0);

  constructor(fd: number, options: FdSourceOptions = {}) {
    this.fd = fd;
    this.name = options.name ?? `fd ${fd}`;
    this.bsz = options.blockSize ?? 16384;
    this.cap = Math.max(1, options.cacheBlocks ?? 256);
    if (this.bsz & (this.bsz - 1) || this.bsz < 512) throw new RangeError('FdSource: blockSize must be a power of two >= 512');
    let st;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw new ErofsError('EIO', 'image file', undefined, `${this.name}: ${(e as Error).message}`);
    }
    if (!st.isFile() && !st.isBlockDevice()) throw new ErofsError('EINVAL', 'image file', undefined, `${this.name} is not a regular file`);
    this.size = st.size;
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  private pread(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    if (this.fd < 0) throw new ErofsError('EIO', 'image file', offset, `${this.name}: source closed`);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(this.fd, dest, destOffset + done, length - done, offset + done);
      } catch (e) {
        throw new ErofsError('EIO', 'image file', offset + done, `${this.name}: ${(e as Error).message}`);
      }
      if (n <= 0) throw new ErofsError('EIO', 'image file', offset + done, `${this.name}: unexpected end of file`);
      done += n;
    }
  }

  private check(offset: number, length: number): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw new ErofsError('EIO', this.name, offset, `read of ${length} bytes past the end (size ${this.size})`);
    }
  }

  private block(index: number): Uint8Array {
    const hit = this.cache.get(index);
    if (hit) {
      this.cache.delete(index);
      this.cache.set(index, hit);
      return hit;
    }
    const start = index * this.bsz;
    const buf = new Uint8Array(Math.min(this.bsz, this.size - start));
    this.pread(buf, 0, start, buf.length);
    if (this.cache.size >= this.cap) this.cache.delete(this.cache.keys().next().value as number);
    this.cache.set(index, buf);
    return buf;
  }

  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    this.check(offset, length);
    if (length >= this.bsz) return this.pread(dest, destOffset, offset, length);
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
    this.check(offset, length);
    const idx = Math.floor(offset / this.bsz);
    const inBlock = offset - idx * this.bsz;
    if (inBlock + length <= this.bsz) {
      const b = this.block(idx);
      if (inBlock + length <= b.length) return b.subarray(inBlock, inBlock + length);
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
      closeSync(fd);
    }
  }
}
