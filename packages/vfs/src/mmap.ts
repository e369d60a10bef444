/**
 * Memory mapping of regular files: the bytes of page ranges, for an emulator to place in
 * guest memory. Pages of plain data on an in-memory source (flat-plain blocks, chunks,
 * extra devices) are zero-copy views of the image bytes. Pages of compressed files come
 * from the page cache that read() and pread() use too (the image's share of it,
 * @erofs-js/erofs page-cache.ts): a page inside one decoded extent is a view of the cached
 * extent, so reading and mapping a file decode it once. Other pages (inline tails, holes,
 * data on a file source, a compressed page that straddles two extents, the partial last
 * page) are materialised into 4 KiB buffers; those of uncompressed files are cached as
 * pages in the same page cache.
 *
 * Every page handed out is read-only by contract: JS cannot freeze a typed array, so the
 * caller must copy a page before writing to it (MAP_PRIVATE copy-on-write is the
 * emulator's business). Writable MAP_SHARED mappings are refused with EACCES, as Linux
 * refuses them for a file not open for writing.
 *
 * Past end of file: the part of the last page beyond i_size reads as zeros; a page wholly
 * past end of file is the SIGBUS condition, reported as SysError EFAULT with the message
 * "SIGBUS: page past end of file" (see isSigbus), for the emulator to turn into a signal.
 */
import { SysError, decoding } from './errno.js';
import type { FileDescription } from './file.js';
import type { Filesystem } from './filesystem.js';
import type { CacheStats, CachedRange } from '@erofs-js/erofs';

export const PAGE_SIZE = 4096;

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;

export const SIGBUS_MESSAGE = 'SIGBUS: page past end of file';

/** Whether an error is the SIGBUS condition of a fault past end of file. */
export function isSigbus(e: unknown): e is SysError {
  return e instanceof SysError && e.code === 'EFAULT' && e.message.endsWith(SIGBUS_MESSAGE);
}

export interface PageCacheStats extends CacheStats {
  /** Bytes held, in pages (rounded up). */
  pages: number;
}

/** The filesystem's share of the page cache: its statistics (all zero when caching is off). */
export function pageCache(fs: Filesystem): { stats(): PageCacheStats } {
  return {
    stats() {
      const s = fs.image.cache?.stats() ?? { entries: 0, bytes: 0, budget: 0, hits: 0, misses: 0, evictions: 0 };
      return { ...s, pages: Math.ceil(s.bytes / PAGE_SIZE) };
    },
  };
}

function checkDescription(fd: FileDescription): void {
  if (fd.isClosed) throw new SysError('EBADF', 'description is closed');
  if (fd.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
  if (fd.fs.isReleased) throw new SysError('EIO', 'filesystem released');
}

/**
 * mmap(2)'s checks for a file mapping, in Linux's order: an unaligned offset EINVAL; a
 * closed or O_PATH description EBADF; a zero or unrepresentable length EINVAL; a map type
 * other than MAP_SHARED, MAP_SHARED_VALIDATE or MAP_PRIVATE EINVAL; PROT_WRITE with a
 * shared type EACCES (descriptions are never open for writing); a directory ENODEV. Other
 * flag bits (MAP_FIXED, MAP_POPULATE, ...) are the emulator's and are ignored here.
 * Mapping past end of file is allowed, as in Linux: faulting there is SIGBUS.
 */
export function checkMmap(fd: FileDescription, offset: number, length: number, prot: number, flags: number): void {
  if (!(Number.isSafeInteger(offset) && offset >= 0 && offset % PAGE_SIZE === 0)) throw new SysError('EINVAL', `offset ${offset} is not a multiple of the page size`);
  checkDescription(fd);
  if (!(Number.isSafeInteger(length) && length > 0 && offset + length <= Number.MAX_SAFE_INTEGER)) throw new SysError('EINVAL', `bad length ${length}`);
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) throw new SysError('EINVAL', `bad map type ${type}`);
  if (type !== MAP_PRIVATE && prot & PROT_WRITE) throw new SysError('EACCES', 'shared writable mapping of a file not open for writing');
  if (fd.kind !== 'file') throw new SysError('ENODEV', 'cannot map a directory');
}

/**
 * The page of the file at `offset` (a multiple of PAGE_SIZE): a view of the image bytes
 * when the page is plain data in memory, else a materialised page from the cache, zero
 * past i_size. A page wholly past end of file is SIGBUS (EFAULT). For emulators that
 * fault pages in lazily after checkMmap; the description must still be open.
 */
export function faultPage(fd: FileDescription, offset: number): Uint8Array {
  checkDescription(fd);
  if (fd.kind !== 'file') throw new SysError('ENODEV', 'cannot map a directory');
  if (!(Number.isSafeInteger(offset) && offset >= 0 && offset % PAGE_SIZE === 0)) throw new SysError('EINVAL', `offset ${offset} is not a multiple of the page size`);
  const inode = fd.inode;
  const size = inode.size;
  if (offset >= size) throw new SysError('EFAULT', SIGBUS_MESSAGE);
  const image = fd.fs.image;
  if (offset + PAGE_SIZE <= size && !inode.isCompressed) {
    const view = decoding(() => image.dataView(inode.raw, offset, PAGE_SIZE));
    if (view) return view;
  }
  const cache = image.cache;
  // A cached range holding the whole page: the page itself, or a view of the decoded extent.
  // Handed out for good: the cache must never reuse the range's memory (share()).
  const whole = (r: CachedRange | undefined) => {
    if (r === undefined || r.end < offset + PAGE_SIZE) return null;
    r.domain.share(r);
    const at = offset - r.start;
    return at === 0 && r.bytes.length === PAGE_SIZE ? r.bytes : r.bytes.subarray(at, at + PAGE_SIZE);
  };
  const hit = whole(cache?.find(inode.nid, offset));
  if (hit) return hit;
  const page = new Uint8Array(PAGE_SIZE);
  decoding(() => image.read(inode.raw, offset, page, 0, Math.min(PAGE_SIZE, size - offset)));
  if (cache) {
    if (inode.isCompressed) {
      // read() left the extents under the page in the cache: one holding the whole page
      // gives a view of itself, shared with later reads and faults.
      const view = whole(cache.peek(inode.nid, offset));
      if (view) return view;
    } else {
      // Reads of an uncompressed file never look in the cache, so its pages cannot
      // overlap a decoded extent.
      // The page is handed out: shared, so that its memory is never reused.
      const r = cache.insert(inode.nid, offset, page);
      if (r) cache.share(r);
    }
  }
  return page;
}

/**
 * mmap(2) of `length` bytes at `offset` of a regular-file description, eagerly: the
 * pages (ceil(length / PAGE_SIZE) of them, each PAGE_SIZE bytes, read-only by contract)
 * after checkMmap's checks. A range reaching a page wholly past end of file is SIGBUS
 * (EFAULT); map such a range with checkMmap and fault the pages in with faultPage.
 */
export function mapPages(fd: FileDescription, offset: number, length: number, prot: number, flags: number): Uint8Array[] {
  checkMmap(fd, offset, length, prot, flags);
  const pages: Uint8Array[] = [];
  for (let p = offset; p < offset + length; p += PAGE_SIZE) pages.push(faultPage(fd, p));
  return pages;
}
