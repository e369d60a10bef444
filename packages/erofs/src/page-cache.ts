/**
 * The page cache: decoded file data kept so that reading it again costs a copy instead of
 * a decompression. What the kernel's page cache does for a guest that re-reads its shared
 * libraries, interpreters and modules.
 *
 * What is cached: the decoded extents of compressed files (each pcluster's output, keyed by
 * inode and file offset), which read(), pread() and the pages of mmap() all take from, and
 * the pages mmap() materialises for other files (inline tails, holes, data on a file
 * source). Plain data read through read() is not: it is a copy from the image source, whose
 * own bytes the host kernel (or the in-memory source) already holds.
 *
 * Shape: one `PageCache` per host with a byte budget; each image takes a `CacheDomain` of it
 * with its own byte limit (a mount's share), its own index and its own statistics. Both are
 * least-recently-used lists (cache.ts), so an entry is dropped when either its domain is
 * over its limit or the host is over its budget, whichever comes first. The index of a
 * domain is, per inode, its cached ranges sorted by offset (they never overlap): a read
 * finds its range by one Map lookup and a binary search, without mapping the file again.
 *
 * Budgets (tools/bench/workloads.ts, Debian minbase, walk + read twice, see the README's
 * "Benchmarks"): a second pass is served from the cache when the budget holds the tree's
 * decoded data; below that LRU gains little on a walk (each file is read once, front to
 * back) and the cache matters for files read again soon and for small reads within a
 * pcluster.
 *
 * Entries handed out as views (mmap pages) stay valid after eviction: the cache forgets
 * them but never reuses their memory.
 */
import { BoundedCache, type CacheStats } from './cache.js';

/** Budget of a host's page cache when none is given. */
export const DEFAULT_PAGE_CACHE_BYTES = 32 << 20;

/** Decoded bytes [start, end) of inode `nid`, in one domain. */
export interface CachedRange {
  readonly nid: number;
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
  readonly domain: CacheDomain;
}

/** The page cache of a host: every domain's entries in one LRU list with one byte budget. */
export class PageCache {
  private readonly lru: BoundedCache<CachedRange, CachedRange>;

  constructor(budget: number = DEFAULT_PAGE_CACHE_BYTES) {
    this.lru = new BoundedCache<CachedRange, CachedRange>(budget, {
      sizeOf: (r) => r.bytes.length,
      onEvict: (r) => r.domain.forget(r),
    });
  }

  get budget(): number {
    return this.lru.budget;
  }

  /** A new budget; shrinking evicts at once. */
  set budget(n: number) {
    this.lru.budget = n;
  }

  /** A share for one image (a mount) of at most `limit` bytes (default: the whole budget). */
  domain(limit: number = this.budget): CacheDomain {
    return new CacheDomain(this, limit);
  }

  /** Entries and bytes over all domains; hits and misses are counted by the domains. */
  stats(): CacheStats {
    return this.lru.stats();
  }

  /** @internal */
  add(r: CachedRange): void {
    this.lru.set(r, r);
  }

  /** @internal */
  touch(r: CachedRange): void {
    this.lru.touch(r);
  }

  /** @internal */
  remove(r: CachedRange): void {
    this.lru.delete(r);
  }
}

/** One image's share of a page cache. */
export class CacheDomain {
  private readonly lru: BoundedCache<CachedRange, CachedRange>;
  private readonly files = new Map<number, CachedRange[]>();
  private hits = 0;
  private misses = 0;
  private forgotten = 0;

  constructor(readonly host: PageCache, limit: number) {
    this.lru = new BoundedCache<CachedRange, CachedRange>(limit, {
      sizeOf: (r) => r.bytes.length,
      onEvict: (r) => {
        this.host.remove(r);
        this.unindex(r);
      },
    });
  }

  /** Most bytes this domain holds. */
  get limit(): number {
    return this.lru.budget;
  }

  set limit(n: number) {
    this.lru.budget = n;
  }

  /** The cached range holding byte `pos` of inode `nid`, made most recently used; counted. */
  find(nid: number, pos: number): CachedRange | undefined {
    const list = this.files.get(nid);
    if (list !== undefined) {
      const i = lastAtOrBefore(list, pos);
      if (i >= 0) {
        const r = list[i];
        if (pos < r.end) {
          this.hits++;
          this.lru.touch(r);
          this.host.touch(r);
          return r;
        }
      }
    }
    this.misses++;
    return undefined;
  }

  /** The cached range holding byte `pos` of inode `nid`, without counting or reordering. */
  peek(nid: number, pos: number): CachedRange | undefined {
    const list = this.files.get(nid);
    if (list === undefined) return undefined;
    const i = lastAtOrBefore(list, pos);
    return i >= 0 && pos < list[i].end ? list[i] : undefined;
  }

  /**
   * Caches `bytes` as the decoded range [start, start + bytes.length) of inode `nid`, in
   * place of any cached range it overlaps. The cache keeps `bytes` (the caller must not
   * change them afterwards). Returns the entry, or undefined when it is larger than the
   * limit or the host's budget.
   */
  insert(nid: number, start: number, bytes: Uint8Array): CachedRange | undefined {
    const n = bytes.length;
    if (n === 0 || n > this.lru.budget || n > this.host.budget) return undefined;
    const r: CachedRange = { nid, start, end: start + n, bytes, domain: this };
    let list = this.files.get(nid);
    if (list === undefined) {
      list = [];
      this.files.set(nid, list);
    }
    // Where r goes, and the ranges it overlaps (contiguous, as the list never overlaps).
    let from = lastAtOrBefore(list, start);
    if (from < 0 || list[from].end <= start) from++;
    let to = from;
    while (to < list.length && list[to].start < r.end) to++;
    for (let i = from; i < to; i++) {
      this.lru.delete(list[i]);
      this.host.remove(list[i]);
    }
    list.splice(from, to - from, r);
    // Over the domain's limit: its own oldest go (onEvict above); over the host's budget:
    // the host's oldest, of any domain (forget below).
    this.lru.set(r, r);
    this.host.add(r);
    return r;
  }

  /** @internal The host evicted `r`. */
  forget(r: CachedRange): void {
    if (this.lru.delete(r)) {
      this.unindex(r);
      this.forgotten++;
    }
  }

  private unindex(r: CachedRange): void {
    const list = this.files.get(r.nid);
    if (list === undefined) return;
    const i = lastAtOrBefore(list, r.start);
    if (i >= 0 && list[i] === r) {
      list.splice(i, 1);
      if (list.length === 0) this.files.delete(r.nid);
    }
  }

  /** Drops every entry of this domain (an unmount, or a shrink under memory pressure). */
  clear(): void {
    for (const r of this.lru.keys()) this.host.remove(r);
    this.lru.clear();
    this.files.clear();
  }

  stats(): CacheStats {
    const s = this.lru.stats();
    return { entries: s.entries, bytes: s.bytes, budget: s.budget, hits: this.hits, misses: this.misses, evictions: s.evictions + this.forgotten };
  }
}

/** Index of the last range starting at or before `pos`, or -1. */
function lastAtOrBefore(list: CachedRange[], pos: number): number {
  let lo = 0;
  let hi = list.length - 1;
  // Sequential reads ask for the last range most: check it first.
  if (hi >= 0 && list[hi].start <= pos) return hi;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].start <= pos) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}
