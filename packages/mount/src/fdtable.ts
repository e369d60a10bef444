/**
 * A task's descriptor table: descriptor number -> entry, with Linux's allocation rule
 * (a new descriptor gets the lowest number not in use, at or above a floor: 0 for open
 * and dup, the argument of F_DUPFD) under a limit (RLIMIT_NOFILE: numbers below `max`),
 * and numbers the table never hands out (reserved, e.g. stdio owned by the emulator).
 *
 * Finding the lowest free number costs O(log n), not a scan from the floor: beside the
 * entries lives a bitmap of the numbers in use (open or reserved), 32 numbers a word,
 * with summary levels above it. Bit j of level k+1 is set exactly when word j of level k
 * is full, so a search that finds nothing free in one word asks the level above for the
 * next word that is not full, and comes back down: one word per level, and a table of
 * 2^20 numbers has four levels. The bitmap grows (doubling) with the highest number
 * used, so a large `max` costs nothing until descriptors are really that high.
 *
 * Invariants: a number is marked in level 0 if and only if it is reserved or has an
 * entry; reserved numbers never have one; every number >= capacity is free.
 */
import { SysError } from '@erofs-js/vfs';

/** The largest `max` a table accepts (Linux's nr_open cannot go much beyond 2^30 either). */
export const FD_TABLE_LIMIT = 2 ** 30;

const FULL = 0xffffffff;
/** Bit capacity a table starts with: 8 words. */
const INITIAL_BITS = 256;

/** Index of the lowest set bit of a non-zero 32-bit value. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export class FdTable<E> {
  /** Entries by number, as long as the bitmap's capacity (undefined where not open). */
  private entries: (E | undefined)[] = [];
  private count = 0;
  private readonly reserved: ReadonlySet<number>;
  /** levels[0]: one bit per number; levels[k + 1]: one bit per word of levels[k] (set when full). */
  private levels: Uint32Array[] = [];
  /** Numbers the bitmap covers (a power of two, at least 32). */
  private capacity = 0;

  constructor(
    /** Numbers are below this (RLIMIT_NOFILE). */
    readonly max: number,
    reserved: Iterable<number> = [],
  ) {
    if (!(Number.isInteger(max) && max >= 0 && max <= FD_TABLE_LIMIT)) throw new RangeError(`descriptor limit must be an integer in 0..2^30, not ${max}`);
    this.reserved = new Set(reserved);
    // Reserved numbers are marked in one pass and the summaries built once (a checkpoint
    // may reserve a million of them).
    let top = -1;
    for (const fd of this.reserved) if (this.inRange(fd) && fd > top) top = fd;
    let bits = INITIAL_BITS;
    while (bits <= top) bits *= 2;
    const base = new Uint32Array(bits / 32);
    for (const fd of this.reserved) if (this.inRange(fd)) base[fd >>> 5] |= 1 << (fd & 31);
    this.rebuild(base);
  }

  /** Open descriptors. */
  get size(): number {
    return this.count;
  }

  /** Whether `fd` is a number this table could hold (an integer in 0..max-1). */
  inRange(fd: number): boolean {
    return Number.isInteger(fd) && fd >= 0 && fd < this.max;
  }

  isReserved(fd: number): boolean {
    return this.reserved.has(fd);
  }

  /** Reserved numbers, ascending. */
  reservedFds(): number[] {
    return [...this.reserved].sort((a, b) => a - b);
  }

  /** The entry of an open descriptor (undefined for anything else, including non-numbers). */
  get(fd: number): E | undefined {
    return fd >= 0 && fd < this.capacity ? this.entries[fd] : undefined;
  }

  /** Open descriptor numbers, ascending. */
  fds(): number[] {
    const out: number[] = [];
    if (this.count === 0) return out;
    const e = this.entries;
    for (let fd = 0; fd < e.length; fd++) if (e[fd] !== undefined) out.push(fd);
    return out;
  }

  /** The lowest number at or above `from` that is neither open nor reserved; EMFILE when it would reach `max`. */
  lowestFree(from = 0): number {
    const start = Math.max(0, Math.ceil(from));
    const fd = start >= this.capacity ? start : this.scan(0, start);
    // Everything at or above the capacity is free: scan() answers `capacity` for "none below".
    const free = Math.max(fd, start);
    if (!(free < this.max)) throw new SysError('EMFILE', 'too many open files');
    return free;
  }

  /**
   * Puts an entry at `fd` (an in-range, unreserved number; the caller checks) and returns
   * the entry it replaces, if any (dup2 onto an open descriptor).
   */
  set(fd: number, entry: E): E | undefined {
    if (!this.inRange(fd) || this.reserved.has(fd)) throw new RangeError(`descriptor ${fd} cannot be set in this table`);
    const old = this.get(fd);
    if (old === undefined) {
      this.mark(fd);
      this.count++;
    }
    this.entries[fd] = entry;
    return old;
  }

  /** Takes the lowest free number at or above `from` for `entry` (EMFILE when none). */
  add(entry: E, from = 0): number {
    const fd = this.lowestFree(from);
    this.mark(fd);
    this.entries[fd] = entry;
    this.count++;
    return fd;
  }

  /** Removes an open descriptor; returns its entry (undefined when it was not open). */
  delete(fd: number): E | undefined {
    const e = this.get(fd);
    if (e === undefined) return undefined;
    this.entries[fd] = undefined;
    this.count--;
    this.unmark(fd);
    return e;
  }

  // ---- the bitmap -----------------------------------------------------------------------

  /** The lowest clear bit at index >= `from` in level `k`, or the level's bit count when none. */
  private scan(k: number, from: number): number {
    const words = this.levels[k];
    const bits = words.length * 32;
    if (from >= bits) return bits;
    let w = from >>> 5;
    const free = ~words[w] & (-1 << (from & 31));
    if (free !== 0) return w * 32 + lowestBit(free);
    let next: number;
    if (k + 1 < this.levels.length) {
      next = this.scan(k + 1, w + 1);
    } else {
      // The top level is one word: nothing lies beyond it.
      for (w++; w < words.length && words[w] === FULL; w++);
      next = w;
    }
    if (next >= words.length) return bits;
    return next * 32 + lowestBit(~words[next]);
  }

  private mark(fd: number): void {
    if (fd >= this.capacity) {
      let c = this.capacity;
      while (c <= fd) c *= 2;
      const base = new Uint32Array(c / 32);
      base.set(this.levels[0]);
      this.rebuild(base);
    }
    let i = fd;
    for (const words of this.levels) {
      const w = i >>> 5;
      words[w] |= 1 << (i & 31);
      if (words[w] !== FULL) return;
      i = w;
    }
  }

  private unmark(fd: number): void {
    let i = fd;
    for (const words of this.levels) {
      const w = i >>> 5;
      const wasFull = words[w] === FULL;
      words[w] &= ~(1 << (i & 31));
      if (!wasFull) return;
      i = w;
    }
  }

  /** Takes `base` as level 0 (its length times 32 a power of two), builds the summaries above it and sizes the entries to match. */
  private rebuild(base: Uint32Array): void {
    const levels = [base];
    for (let below = base; below.length > 1; ) {
      const up = new Uint32Array(Math.ceil(below.length / 32));
      for (let j = 0; j < below.length; j++) if (below[j] === FULL) up[j >>> 5] |= 1 << (j & 31);
      levels.push(up);
      below = up;
    }
    this.levels = levels;
    this.capacity = base.length * 32;
    // A packed array (no holes) keeps entry reads on V8's fast path.
    for (let i = this.entries.length; i < this.capacity; i++) this.entries.push(undefined);
  }
}
