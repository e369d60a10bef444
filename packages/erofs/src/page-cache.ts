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
 * with its own byte limit (a mount's share), its own index and its own statistics. Each
 * domain keeps its entries in a least-recently-used list (cache.ts); an entry is dropped
 * when its domain is over its limit, or when the host is over its budget and the entry is
 * the least recently used of all domains. The index of a domain is, per inode, its cached
 * ranges sorted by offset (they never overlap): a read finds its range by one Map lookup
 * and a binary search, without mapping the file again.
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

/** How many declined ranges a domain remembers (admit()). */
const GHOSTS = 16384;

/** Buffers are allocated in multiples of this, so that evicted ones can be reused. */
const GRAIN = 4096;

/**
 * The capacity of a buffer for `n` bytes: a multiple of 4 KiB, and above 16 KiB one of four
 * sizes per doubling (20, 24, 28, 32, 40, 48 KiB...), so that few classes serve every
 * extent length and an evicted buffer fits the next insertion more often than not (at most
 * a quarter of a buffer is slack, an eighth on average).
 */
function capacity(n: number): number {
  if (n <= 4 * GRAIN) return Math.max(GRAIN, Math.ceil(n / GRAIN) * GRAIN);
  const step = 2 ** Math.floor(Math.log2(n - 1)) / 4;
  return Math.ceil(n / step) * step;
}

/** Decoded bytes [start, end) of inode `nid`, in one domain. */
export interface CachedRange {
  readonly nid: number;
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
  readonly domain: CacheDomain;
  /** Memory held: the capacity of the buffer when the range owns it whole. */
  readonly size: number;
  /** Handed out as a view (a mapped page): its memory is never reused. */
  shared: boolean;
}

/**
 * The page cache of a host: a byte budget over every domain. Each domain keeps its entries
 * in its own LRU list; over the budget, the host evicts the least recently used entry of
 * all, which is the oldest of the domains' oldest (use stamps are global, cache.ts).
 *
 * Buffers of evicted entries are kept for reuse, up to a quarter of the budget (16 MiB at
 * most), in size classes (capacity() below): a walk inserts one decoded extent after another
 * and evicts about as much, and allocating each anew left a sixth of an LZ4 walk's time to
 * the garbage collector.
 */
export class PageCache {
  private readonly domains = new Set<CacheDomain>();
  private held = 0;
  private budgetBytes: number;
  private readonly pool = new Map<number, ArrayBuffer[]>();
  private pooled = 0;

  constructor(budget: number = DEFAULT_PAGE_CACHE_BYTES) {
    this.budgetBytes = checkBytes(budget);
  }

  get budget(): number {
    return this.budgetBytes;
  }

  /** A new budget; shrinking evicts at once. */
  set budget(n: number) {
    this.budgetBytes = checkBytes(n);
    this.fit();
  }

  /** A share for one image (a mount) of at most `limit` bytes (default: the whole budget). */
  domain(limit: number = this.budget): CacheDomain {
    return new CacheDomain(this, limit);
  }

  /** Over every domain (domains count their own hits and misses). */
  stats(): CacheStats {
    const s: CacheStats = { entries: 0, bytes: this.held, budget: this.budgetBytes, hits: 0, misses: 0, evictions: 0 };
    for (const d of this.domains) {
      const x = d.stats();
      s.entries += x.entries;
      s.hits += x.hits;
      s.misses += x.misses;
      s.evictions += x.evictions;
    }
    return s;
  }

  /** @internal Whether `n` more bytes fit in the budget without evicting. */
  room(n: number): boolean {
    return this.held + n <= this.budgetBytes;
  }

  /** @internal A buffer of `n` bytes for an entry (its content is not zeroed). */
  alloc(n: number): Uint8Array {
    const cap = capacity(n);
    const list = this.pool.get(cap);
    if (list !== undefined && list.length > 0) {
      this.pooled -= cap;
      return new Uint8Array(list.pop()!, 0, n);
    }
    return new Uint8Array(new ArrayBuffer(cap), 0, n);
  }

  /** @internal An entry's bytes were added (positive) or dropped (negative). */
  account(d: CacheDomain, bytes: number): void {
    this.held += bytes;
    if (bytes > 0) {
      this.domains.add(d);
      if (this.held > this.budgetBytes) this.fit();
    }
  }

  /** @internal An entry left its domain: keep its buffer for reuse when nothing else sees it. */
  recycle(r: CachedRange): void {
    const buf = r.bytes.buffer as ArrayBuffer;
    const cap = buf.byteLength;
    if (r.shared || r.bytes.byteOffset !== 0 || cap !== capacity(cap) || cap !== r.size) return;
    if (this.pooled + cap > Math.min(this.budgetBytes >> 2, 16 << 20)) return;
    let list = this.pool.get(cap);
    if (list === undefined) this.pool.set(cap, (list = []));
    list.push(buf);
    this.pooled += cap;
  }

  /** @internal A domain holds nothing any more. */
  emptied(d: CacheDomain): void {
    this.domains.delete(d);
  }

  /** Evicts the least recently used entries of all domains until within the budget. */
  private fit(): void {
    while (this.held > this.budgetBytes) {
      let oldest: CacheDomain | undefined;
      let stamp = Infinity;
      for (const d of this.domains) {
        const t = d.oldestStamp;
        if (t < stamp) {
          stamp = t;
          oldest = d;
        }
      }
      if (oldest === undefined) return;
      oldest.evictOldest();
    }
  }
}

/** One image's share of a page cache. */
export class CacheDomain {
  private readonly lru: BoundedCache<CachedRange, CachedRange>;
  private readonly files = new Map<number, CachedRange[]>();
  /** Ranges declined by admit() while the cache was full: admitted when asked again. */
  private readonly ghosts = new BoundedCache<string, true>(GHOSTS, { sizeOf: () => 1 });
  private hits = 0;
  private misses = 0;

  constructor(readonly host: PageCache, limit: number) {
    this.lru = new BoundedCache<CachedRange, CachedRange>(limit, {
      sizeOf: (r) => r.size,
      onEvict: (r) => this.dropped(r),
    });
  }

  /** Most bytes this domain holds. */
  get limit(): number {
    return this.lru.budget;
  }

  set limit(n: number) {
    this.lru.budget = n;
  }

  /** A buffer for an entry of `n` bytes, reused from evicted entries where one fits. */
  alloc(n: number): Uint8Array {
    return this.host.alloc(n);
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
   * Whether to cache a range a read decoded straight into its caller's buffer (a copy
   * would be needed): yes while the domain and the host have room for it; when full, only
   * a range asked for before (it is remembered, without its bytes, among the last 16384
   * declined). So a scan (a walk, a large file read once) neither copies everything it
   * reads into a full cache nor pushes out what is read again and again, while a cache with
   * room keeps everything, as the kernel's does (the second pass of a walk is served from
   * it). Ranges a read needs only part of are decoded into a cache buffer and always kept.
   * Measured with tools/bench/workloads.ts: see the README's "Benchmarks".
   */
  admit(nid: number, start: number, n: number): boolean {
    if (n > this.lru.budget || n > this.host.budget) return false;
    if (this.lru.size + n <= this.lru.budget && this.host.room(n)) return true;
    const key = `${nid}:${start}`;
    if (this.ghosts.delete(key)) return true;
    this.ghosts.set(key, true);
    return false;
  }

  /** Marks a range whose bytes were handed out as a view: its memory is never reused. */
  share(r: CachedRange): void {
    r.shared = true;
  }

  /**
   * Caches `bytes` as the decoded range [start, start + bytes.length) of inode `nid`, in
   * place of any cached range it overlaps. The cache keeps `bytes` (the caller must not
   * change them afterwards) and may reuse their memory once it evicts them, unless they
   * were shared. Returns the entry, or undefined when it is larger than the limit or the
   * host's budget.
   */
  insert(nid: number, start: number, bytes: Uint8Array): CachedRange | undefined {
    const n = bytes.length;
    const buf = bytes.buffer;
    const size = bytes.byteOffset === 0 && buf.byteLength - n < GRAIN ? buf.byteLength : n;
    if (n === 0 || size > this.lru.budget || size > this.host.budget) return undefined;
    const r: CachedRange = { nid, start, end: start + n, bytes, domain: this, size, shared: false };
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
    const replaced = list.splice(from, to - from, r);
    for (const old of replaced) {
      this.lru.delete(old);
      this.host.account(this, -old.size);
      this.host.recycle(old);
    }
    // Over the domain's limit its own oldest go (onEvict); then the host's budget.
    this.lru.set(r, r);
    this.host.account(this, size);
    return r;
  }

  /** @internal When this domain's least recently used entry was last used. */
  get oldestStamp(): number {
    return this.lru.oldestStamp;
  }

  /** @internal Evicts this domain's least recently used entry (for the host's budget). */
  evictOldest(): void {
    this.lru.evictOldest();
  }

  private dropped(r: CachedRange): void {
    const list = this.files.get(r.nid);
    if (list !== undefined) {
      const i = lastAtOrBefore(list, r.start);
      if (i >= 0 && list[i] === r) {
        list.splice(i, 1);
        if (list.length === 0) this.files.delete(r.nid);
      }
    }
    this.host.account(this, -r.size);
    this.host.recycle(r);
    if (this.lru.count === 0) this.host.emptied(this);
  }

  /** Drops every entry of this domain (an unmount, or a shrink under memory pressure). */
  clear(): void {
    this.host.account(this, -this.lru.size);
    this.lru.clear();
    this.files.clear();
    this.ghosts.clear();
    this.host.emptied(this);
  }

  stats(): CacheStats {
    const s = this.lru.stats();
    return { entries: s.entries, bytes: s.bytes, budget: s.budget, hits: this.hits, misses: this.misses, evictions: s.evictions };
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

function checkBytes(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`page cache budget must be a non-negative integer, not ${n}`);
  return n;
}
