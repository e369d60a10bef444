/**
 * Memory mapping of regular files: the bytes of page ranges, for an emulator to place in
 * guest memory. Pages of plain data on an in-memory source (flat-plain blocks, chunks,
 * extra devices) are zero-copy views of the image bytes; everything else (inline tails,
 * holes, compressed data, the partial last page) is materialised into 4 KiB buffers held
 * in a bounded LRU page cache, one per filesystem (`pageCacheBytes`).
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

export interface PageCacheStats {
  pages: number;
  bytes: number;
  budget: number;
  hits: number;
  misses: number;
  evictions: number;
}

/** Materialised pages by key, least recently used first, at most `budget` bytes. */
export class PageCache {
  private readonly pages = new Map<string, Uint8Array>();
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly budget: number) {
    if (!(Number.isInteger(budget) && budget >= 0)) throw new RangeError(`page cache budget must be a non-negative integer, not ${budget}`);
  }

  get(key: string): Uint8Array | undefined {
    const page = this.pages.get(key);
    if (!page) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.pages.delete(key);
    this.pages.set(key, page);
    return page;
  }

  set(key: string, page: Uint8Array): void {
    if (page.length > this.budget) return;
    this.pages.delete(key);
    this.pages.set(key, page);
    while (this.pages.size * PAGE_SIZE > this.budget) {
      this.pages.delete(this.pages.keys().next().value as string);
      this.evictions++;
    }
  }

  clear(): void {
    this.pages.clear();
  }

  stats(): PageCacheStats {
    return {
      pages: this.pages.size,
      bytes: this.pages.size * PAGE_SIZE,
      budget: this.budget,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
    };
  }
}

const caches = new WeakMap<Filesystem, PageCache>();

/** The filesystem's page cache, made on first use with its `pageCacheBytes` option. */
export function pageCache(fs: Filesystem): PageCache {
  let cache = caches.get(fs);
  if (!cache) {
    cache = new PageCache(fs.options.pageCacheBytes);
    caches.set(fs, cache);
  }
  return cache;
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
  const cache = pageCache(fd.fs);
  const key = `${inode.nid}:${offset / PAGE_SIZE}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const page = new Uint8Array(PAGE_SIZE);
  decoding(() => image.read(inode.raw, offset, page, 0, Math.min(PAGE_SIZE, size - offset)));
  cache.set(key, page);
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
