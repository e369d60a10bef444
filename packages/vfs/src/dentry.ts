/**
 * Dentries: the names of a filesystem's tree that are in use or recently used.
 *
 * A dentry with references (a caller's hold, an open description, a cwd, a mount point,
 * or a child dentry: every attached child holds one reference on its parent) is pinned.
 * When its count drops to zero it is parked at the head of its filesystem's LRU list;
 * the list holds at most `capacity` dentries, and the tail is evicted: detached from
 * its parent (dropping the reference the child held on it, which may park the parent in
 * turn) and its inode reference released. A referenced dentry is never evicted, so a
 * Dentry object a caller holds stays valid and attached until the caller lets go.
 */
import type { Filesystem } from './filesystem.js';
import type { Inode } from './inode.js';

/** Exact map key of a name: one char per byte (latin1), so any byte string maps 1:1. */
export function nameKey(name: Uint8Array): string {
  // One flat string per call: built a char at a time it is a rope, which the Map lookup
  // that follows must flatten before hashing (cached lookups ran about 10% faster so).
  if (name.length <= 4096) return String.fromCharCode.apply(null, name as unknown as number[]);
  let s = '';
  for (let i = 0; i < name.length; i += 4096) s += String.fromCharCode.apply(null, name.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/** The bytes of a name key. */
export function keyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/**
 * A 30-bit FNV-1a hash of the name bytes buf[start..end): a small-integer Map key, so a
 * path walk over byte paths can find a cached child without first making a key string.
 */
export function nameHash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h & 0x3fffffff;
}

/** nameHash() of the bytes a key stands for. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/** Whether `key` stands for the bytes buf[start..end). */
export function keyEquals(key: string, buf: Uint8Array, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

export class Dentry {
  /** References: holders outside the tree plus attached children. */
  refs = 0;
  /** Children looked up so far (created on first use: most dentries are leaves). */
  children: Map<string, Dentry> | null = null;
  /**
   * The same children by nameHash(), first come per hash (a colliding name is found
   * through `children` only): an index, `children` stays the truth. Null with it.
   */
  byHash: Map<number, Dentry> | null = null;
  /** keyHash(key), computed once at attach. */
  readonly hash: number;
  /** Evicted or released: a dead dentry must not be used. */
  dead = false;
  /** @internal LRU links, valid while `parked`. */
  prev: Dentry | null = null;
  /** @internal */
  next: Dentry | null = null;
  /** In the LRU list (refs === 0 and not yet evicted). */
  parked = false;

  constructor(
    readonly cache: DentryCache,
    /** Name bytes as a latin1 string ("" for the root). */
    readonly key: string,
    /** The parent directory, or null for the filesystem root. Never changes while attached. */
    readonly parent: Dentry | null,
    readonly inode: Inode,
  ) {
    this.hash = parent ? keyHash(key) : 0;
  }

  /** The filesystem the dentry belongs to (the contract's FsNode.fs). */
  get fs(): Filesystem {
    return this.inode.fs;
  }

  /** st_mode of its inode. */
  get mode(): number {
    return this.inode.mode;
  }

  /** Name bytes (a fresh copy). */
  get name(): Uint8Array {
    return keyBytes(this.key);
  }

  /** Takes a reference; returns this dentry for chaining. */
  incRef(): this {
    if (this.dead) throw new Error(`dentry "${this.key}" used after eviction`);
    if (this.refs++ === 0 && this.parked) this.cache.unpark(this);
    return this;
  }

  /** Drops a reference. Dropping one that was never taken throws: refcount bugs must not pass silently. */
  decRef(): void {
    if (this.refs <= 0 || this.dead) throw new Error(`dentry "${this.key}" released more times than referenced`);
    if (--this.refs === 0) this.cache.park(this);
  }

  /** The attached child named `key`, if cached. */
  child(key: string): Dentry | undefined {
    return this.children?.get(key);
  }

  /** Path bytes from the filesystem root ("/" for the root); for tools and messages. */
  path(): Uint8Array {
    const parts: string[] = [];
    for (let d: Dentry | null = this; d && d.parent; d = d.parent) parts.push(d.key);
    return keyBytes('/' + parts.reverse().join('/'));
  }
}

/** The LRU list of unreferenced dentries of one filesystem, and the count of attached ones. */
export class DentryCache {
  /** Attached dentries (pinned + parked). */
  live = 0;
  /** Parked (unreferenced, cached) dentries. */
  size = 0;
  evictions = 0;
  private head: Dentry | null = null;
  private tail: Dentry | null = null;
  private trimming = false;

  constructor(
    /** Most unreferenced dentries kept (0: evict as soon as unreferenced). */
    readonly capacity: number,
    /** Called for each evicted dentry, after it was detached: release its inode. */
    private readonly onEvict: (d: Dentry) => void,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 0)) throw new RangeError(`dentry cache size ${capacity} is not a non-negative integer`);
  }

  /** Creates a dentry for `inode` under `parent` (which gains a reference), unreferenced. */
  attach(parent: Dentry | null, key: string, inode: Inode): Dentry {
    const d = new Dentry(this, key, parent, inode);
    if (parent) {
      (parent.children ??= new Map()).set(key, d);
      const idx = (parent.byHash ??= new Map());
      if (!idx.has(d.hash)) idx.set(d.hash, d);
      parent.incRef();
    }
    this.live++;
    return d;
  }

  /** @internal Puts an unreferenced dentry at the head of the list, then trims the tail. */
  park(d: Dentry): void {
    d.parked = true;
    d.prev = null;
    d.next = this.head;
    if (this.head) this.head.prev = d;
    this.head = d;
    if (!this.tail) this.tail = d;
    this.size++;
    this.trim(this.capacity);
  }

  /** @internal Takes a dentry off the list (it gained a reference). */
  unpark(d: Dentry): void {
    if (d.prev) d.prev.next = d.next;
    else this.head = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.tail = d.prev;
    d.prev = d.next = null;
    d.parked = false;
    this.size--;
  }

  /**
   * Evicts from the tail until at most `limit` dentries are parked. Evicting a child
   * may park its parent; the loop, not recursion, takes care of that.
   */
  trim(limit: number): void {
    if (this.trimming) return;
    this.trimming = true;
    try {
      while (this.size > limit && this.tail) {
        const d = this.tail;
        this.unpark(d);
        d.dead = true;
        this.live--;
        this.evictions++;
        this.onEvict(d);
        const p = d.parent;
        if (p) {
          p.children!.delete(d.key);
          if (p.byHash!.get(d.hash) === d) p.byHash!.delete(d.hash);
          if (p.children!.size === 0) {
            p.children = null;
            p.byHash = null;
          }
          p.decRef();
        }
      }
    } finally {
      this.trimming = false;
    }
  }

  /** Parked dentries from most to least recently used (for tests and tools). */
  *lru(): Generator<Dentry> {
    for (let d = this.head; d; d = d.next) yield d;
  }
}
