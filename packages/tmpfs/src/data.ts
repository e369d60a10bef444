/**
 * The bytes of a regular file: a sparse map of 4 KiB pages, as tmpfs keeps a file in the
 * page cache. A page that is absent is a hole: it reads as zeros and costs nothing. A page
 * fallocate reserved but nothing wrote yet is present without bytes (`null`): it counts
 * against the size limit and in st_blocks, reads as zeros, and SEEK_DATA treats it as a
 * hole, as Linux does for a page that is allocated but not uptodate (observed on 6.18:
 * fallocate(0, 8192, 4096) then SEEK_DATA from 0 gives ENXIO, SEEK_HOLE gives 0).
 *
 * Invariants: a page with bytes lies wholly or partly below `size` (writes extend the
 * size, truncation frees pages past it), and the bytes of such a page past `size` are
 * zero, so growing the file again reads zeros there.
 *
 * Pages are charged to a PageBudget (the filesystem's `size` option) one at a time, so a
 * write that runs out of space stops at a page boundary having written everything before
 * it, and says how much (Linux's short write).
 */
import { SysError } from '@erofs-js/vfs';

export const PAGE_SIZE = 4096;

/** Where a filesystem counts its pages. */
export interface PageBudget {
  /** Takes `n` pages from the budget; false (and nothing taken) when fewer are left. */
  reserve(n: number): boolean;
  /** Gives `n` pages back. */
  release(n: number): void;
}

export class FileData {
  /** Page index -> page bytes, or null for a page fallocated and not yet written. */
  readonly pages = new Map<number, Uint8Array | null>();
  /** st_size. */
  size = 0;
  /** The page indices in ascending order, rebuilt on demand after a page comes or goes. */
  private sorted: number[] | null = [];

  constructor(private readonly budget: PageBudget) {}

  /** Pages charged to the budget (st_blocks is 8 per page). */
  get pageCount(): number {
    return this.pages.size;
  }

  private indices(): number[] {
    if (!this.sorted) this.sorted = [...this.pages.keys()].sort((a, b) => a - b);
    return this.sorted;
  }

  private addPage(index: number, page: Uint8Array | null): void {
    if (!this.pages.has(index)) this.sorted = null;
    this.pages.set(index, page);
  }

  private dropPage(index: number): void {
    if (this.pages.delete(index)) {
      this.sorted = null;
      this.budget.release(1);
    }
  }

  /** Copies up to `length` bytes at `position` into dest; returns the count (0 at or past EOF). */
  read(position: number, dest: Uint8Array, destOffset: number, length: number): number {
    const end = Math.min(this.size, position + length);
    if (position >= end) return 0;
    let pos = position;
    let at = destOffset;
    while (pos < end) {
      const index = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, end - pos);
      const page = this.pages.get(index);
      if (page) dest.set(page.subarray(inPage, inPage + n), at);
      else dest.fill(0, at, at + n);
      pos += n;
      at += n;
    }
    return end - position;
  }

  /**
   * Writes src[srcOffset..+length) at `position`, page by page, taking a page from the
   * budget for each hole it fills. Returns the bytes written: fewer than asked when the
   * budget ran out after some were written; ENOSPC when none could be. The size grows to
   * cover what was written. The caller has checked the range against the size limit.
   */
  write(position: number, src: Uint8Array, srcOffset: number, length: number): number {
    let pos = position;
    let from = srcOffset;
    const end = position + length;
    while (pos < end) {
      const index = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, end - pos);
      let page = this.pages.get(index);
      if (page === undefined) {
        if (!this.budget.reserve(1)) break;
        page = null;
      }
      if (page === null) {
        page = new Uint8Array(PAGE_SIZE);
        this.addPage(index, page);
      }
      page.set(src.subarray(from, from + n), inPage);
      pos += n;
      from += n;
    }
    const written = pos - position;
    if (written === 0 && length > 0) throw new SysError('ENOSPC', 'no space left on device');
    if (pos > this.size) this.size = pos;
    return written;
  }

  /**
   * ftruncate's data side: pages wholly past the new size are freed, the tail of the page
   * the new end falls in is zeroed; growing leaves a hole.
   */
  truncate(size: number): void {
    if (size < this.size) {
      const keep = Math.ceil(size / PAGE_SIZE);
      for (const index of [...this.indices()]) if (index >= keep) this.dropPage(index);
      const inPage = size % PAGE_SIZE;
      if (inPage !== 0) this.pages.get(keep - 1)?.fill(0, inPage);
    }
    this.size = size;
  }

  /**
   * fallocate mode 0 / FALLOC_FL_KEEP_SIZE: reserves every missing page of the range,
   * all or nothing (ENOSPC, nothing changed), as Linux undoes a failed fallocate.
   * The size grows to offset + length unless keepSize.
   */
  allocate(offset: number, length: number, keepSize: boolean): void {
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.ceil((offset + length) / PAGE_SIZE);
    let missing = 0;
    for (let i = first; i < last; i++) if (!this.pages.has(i)) missing++;
    if (missing > 0) {
      if (!this.budget.reserve(missing)) throw new SysError('ENOSPC', `no space for ${missing} pages`);
      for (let i = first; i < last; i++) if (!this.pages.has(i)) this.addPage(i, null);
    }
    if (!keepSize && offset + length > this.size) this.size = offset + length;
  }

  /** FALLOC_FL_PUNCH_HOLE: zeros the partial pages at the ends, frees the whole pages between. */
  punch(offset: number, length: number): void {
    const end = offset + length;
    const firstWhole = Math.ceil(offset / PAGE_SIZE);
    const endWhole = Math.floor(end / PAGE_SIZE);
    if (firstWhole > endWhole) {
      // Inside one page.
      this.pages.get(endWhole)?.fill(0, offset % PAGE_SIZE, end % PAGE_SIZE);
      return;
    }
    if (offset % PAGE_SIZE !== 0) this.pages.get(firstWhole - 1)?.fill(0, offset % PAGE_SIZE);
    if (end % PAGE_SIZE !== 0) this.pages.get(endWhole)?.fill(0, 0, end % PAGE_SIZE);
    if (endWhole - firstWhole < this.pages.size) {
      for (let i = firstWhole; i < endWhole; i++) this.dropPage(i);
    } else {
      for (const index of [...this.indices()]) if (index >= firstWhole && index < endWhole) this.dropPage(index);
    }
  }

  /** SEEK_DATA: the first offset at or after `from` in a page with bytes; ENXIO when none before EOF. */
  seekData(from: number): number {
    if (!(from >= 0) || from >= this.size) throw new SysError('ENXIO', 'no data at or after the offset');
    const idx = this.indices();
    const start = Math.floor(from / PAGE_SIZE);
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idx[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < idx.length; i++) {
      const at = idx[i] * PAGE_SIZE;
      if (at >= this.size) break;
      if (this.pages.get(idx[i])) return Math.max(at, from);
    }
    throw new SysError('ENXIO', 'no data at or after the offset');
  }

  /** SEEK_HOLE: the first offset at or after `from` in a page without bytes, or the size. */
  seekHole(from: number): number {
    if (!(from >= 0) || from >= this.size) throw new SysError('ENXIO', 'offset at or past the end');
    for (let index = Math.floor(from / PAGE_SIZE); ; index++) {
      const at = index * PAGE_SIZE;
      if (at >= this.size) return this.size;
      if (!this.pages.get(index)) return Math.max(at, from);
    }
  }

  /**
   * Restore: the size and pages of a snapshot, charged to the budget all at once (ENOSPC,
   * nothing taken, when they do not fit). The caller validated them.
   */
  load(size: number, pages: readonly (readonly [number, Uint8Array | null])[]): void {
    if (this.pages.size > 0) throw new Error('load into a file that has pages');
    if (pages.length > 0 && !this.budget.reserve(pages.length)) throw new SysError('ENOSPC', `snapshot file of ${pages.length} pages does not fit the size limit`);
    for (const [index, bytes] of pages) this.pages.set(index, bytes ? bytes.slice() : null);
    this.sorted = null;
    this.size = size;
  }

  /** Frees every page (the inode is gone). */
  clear(): void {
    const n = this.pages.size;
    this.pages.clear();
    this.sorted = [];
    this.size = 0;
    if (n > 0) this.budget.release(n);
  }
}
