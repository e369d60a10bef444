/**
 * The entries of one directory and their getdents64 positions, as Linux 6.18's tmpfs
 * keeps them (fs/libfs.c's "simple_offset" directories, which shmem uses).
 *
 * Two orders, kept apart because they differ after some renames:
 *
 * - Offsets. Each entry holds an offset, a number in [DIR_OFFSET_MIN, DIR_OFFSET_MAX]
 *   handed out cyclically: the first free one at or after the directory's next offset
 *   (which then moves past it), wrapping to DIR_OFFSET_MIN when the range is used up,
 *   ENOSPC when no offset is free. A rename onto an existing name gives the moved entry
 *   the replaced entry's offset; RENAME_EXCHANGE swaps the two offsets; any other rename
 *   takes a new offset in the new directory. Offsets are what positions name.
 * - The listing order: the order of the kernel's list of a directory's dentries, where
 *   a dentry goes to the front when it is made (create, mkdir, mknod, symlink, link, the
 *   whiteout of RENAME_WHITEOUT) and when a rename moves it (even within one directory;
 *   with RENAME_EXCHANGE the replaced side moves first, then the moved one). getdents64
 *   walks this list from the front: the newest entries first.
 *
 * A listing position p is read as the kernel does: 0 is ".", 1 is "..", 2
 * (DIR_OFFSET_FIRST) the front of the list; any other p starts at the live entry with the
 * largest offset at or below p (the front of the list when there is none) and goes on in
 * list order from there; DIR_OFFSET_EOD is the end. Each entry is emitted at its own
 * offset, so an entry's d_off is the offset of the entry after it in the list (EOD after
 * the last), "."'s is 1 and ".."'s is the first entry's offset. Entries made or moved
 * while a listing is in progress go to the front, behind the reader, so a loop that
 * renames what it reads ends; the price, which Linux pays too, is that an entry renamed
 * onto an older name's offset (or exchanged) can be seen twice or not at all by a
 * listing that was under way.
 */
import { SysError } from '@erofs-js/vfs';

export interface DirChild {
  /** The name bytes as a latin1 key. */
  readonly key: string;
  /** The position offset (assigned by the directory). */
  offset: number;
  /** Neighbours in listing order (the directory links them). */
  newer: DirChild | null;
  older: DirChild | null;
}

/** Position of the first entry (after "." at 0 and ".." at 1); no entry has it. */
export const DIR_OFFSET_FIRST = 2;
/** The position after the last entry (S32_MAX in Linux); no entry has it. */
export const DIR_OFFSET_EOD = 0x7fffffff;
/** The range entries' offsets come from. */
export const DIR_OFFSET_MIN = DIR_OFFSET_FIRST + 1;
export const DIR_OFFSET_MAX = DIR_OFFSET_EOD - 1;

export class Dir<T extends DirChild> {
  /** Name key -> child. */
  private readonly byName = new Map<string, T>();
  /**
   * The offset index: offsets ascending, with the child holding each or null for one
   * given up since the last compaction (so removal is O(1) and the arrays stay sorted).
   */
  private offsets: number[] = [];
  private holders: (T | null)[] = [];
  private holes = 0;
  /** The front of the listing order (the newest entry). */
  private front: T | null = null;
  /** Where the next offset search starts. */
  nextOffset = DIR_OFFSET_MIN;

  get size(): number {
    return this.byName.size;
  }

  get(key: string): T | undefined {
    return this.byName.get(key);
  }

  has(key: string): boolean {
    return this.byName.has(key);
  }

  /** The newest entry (where a listing at DIR_OFFSET_FIRST starts). */
  get first(): T | null {
    return this.front;
  }

  /** Adds a child under its key (which must be free) with a new offset, at the front. */
  add(child: T): void {
    this.insert(child, this.allocate());
  }

  /**
   * Hands out the next free offset (mtree_alloc_cyclic over [MIN, MAX]) without placing
   * anything there: insert() must follow before the next allocate().
   */
  allocate(): number {
    let from = this.nextOffset > DIR_OFFSET_MAX ? DIR_OFFSET_MIN : this.nextOffset;
    let o = this.firstFree(from);
    if (o === null && from > DIR_OFFSET_MIN) o = this.firstFree((from = DIR_OFFSET_MIN));
    if (o === null) throw new SysError('ENOSPC', 'no directory offsets left');
    this.nextOffset = o + 1;
    return o;
  }

  /** Places a child under its key (free) at a free offset, at the front of the list. */
  insert(child: T, offset: number): void {
    if (this.byName.has(child.key)) throw new Error(`directory entry "${child.key}" exists`);
    this.index(child, offset);
    this.byName.set(child.key, child);
    this.pushFront(child);
  }

  /** Takes a child (found by identity under its key) out: its name, its offset, its place in the list. */
  remove(child: T): void {
    if (this.byName.get(child.key) !== child) throw new Error(`directory entry "${child.key}" is not this child`);
    this.byName.delete(child.key);
    this.unindex(child);
    this.unlink(child);
  }

  /**
   * RENAME_EXCHANGE of `a` (in da) and `b` (in db), one directory or two: each takes the
   * other's name and offset; then b goes to the front of da's list and a to the front of
   * db's, in that order (the kernel's d_exchange).
   */
  static exchange<T extends DirChild>(da: Dir<T>, a: T, db: Dir<T>, b: T, setKey: (c: T, key: string) => void): void {
    const [ka, kb] = [a.key, b.key];
    const [oa, ob] = [a.offset, b.offset];
    da.remove(a);
    db.remove(b);
    setKey(a, kb);
    setKey(b, ka);
    da.insert(b, oa);
    db.insert(a, ob);
  }

  /**
   * The entry a listing at position `pos` (at least DIR_OFFSET_FIRST, not EOD) continues
   * with, or null: see the header.
   */
  at(pos: number): T | null {
    if (pos === DIR_OFFSET_FIRST) return this.front;
    let i = upperBound(this.offsets, pos) - 1;
    while (i >= 0 && this.holders[i] === null) i--;
    return i >= 0 ? this.holders[i] : this.front;
  }

  /** Children in listing order, newest first. */
  *entries(): IterableIterator<T> {
    for (let c = this.front; c; c = c.older as T | null) yield c;
  }

  // ---- the offset index ----------------------------------------------------------------

  /** The smallest free offset in [from, MAX], or null. */
  private firstFree(from: number): number | null {
    let want = from;
    for (let i = lowerBound(this.offsets, from); i < this.offsets.length && want <= DIR_OFFSET_MAX; i++) {
      if (this.holders[i] === null) continue;
      if (this.offsets[i] > want) break;
      want = this.offsets[i] + 1;
    }
    return want <= DIR_OFFSET_MAX ? want : null;
  }

  private index(child: T, offset: number): void {
    if (!(Number.isInteger(offset) && offset >= DIR_OFFSET_MIN && offset <= DIR_OFFSET_MAX)) throw new Error(`directory offset ${offset} out of range`);
    const n = this.offsets.length;
    if (n === 0 || this.offsets[n - 1] < offset) {
      this.offsets.push(offset);
      this.holders.push(child);
    } else {
      const i = lowerBound(this.offsets, offset);
      if (this.offsets[i] === offset) {
        if (this.holders[i] !== null) throw new Error(`directory offset ${offset} is taken`);
        this.holders[i] = child;
        this.holes--;
      } else {
        this.offsets.splice(i, 0, offset);
        this.holders.splice(i, 0, child);
      }
    }
    child.offset = offset;
  }

  private unindex(child: T): void {
    const i = lowerBound(this.offsets, child.offset);
    if (this.holders[i] !== child) throw new Error(`directory offset ${child.offset} is not held by "${child.key}"`);
    this.holders[i] = null;
    this.holes++;
    if (this.holes > 32 && this.holes * 2 > this.offsets.length) {
      const keep = this.holders.map((h) => h !== null);
      this.offsets = this.offsets.filter((_, j) => keep[j]);
      this.holders = this.holders.filter((h) => h !== null);
      this.holes = 0;
    }
  }

  // ---- the listing order -----------------------------------------------------------------

  private pushFront(child: T): void {
    child.newer = null;
    child.older = this.front;
    if (this.front) this.front.newer = child;
    this.front = child;
  }

  private unlink(child: T): void {
    if (child.newer) child.newer.older = child.older;
    else this.front = child.older as T | null;
    if (child.older) child.older.newer = child.newer;
    child.newer = null;
    child.older = null;
  }
}

/** First index whose value is >= x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x. */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
