/**
 * The entries of one directory, with getdents64 positions that stay valid while the
 * directory changes.
 *
 * Each entry gets a cookie when it is added (created, linked or renamed in), one more
 * than the last the directory gave out; cookies are never reused. Positions: 0 is ".",
 * 1 is "..", and p >= 2 means "the first entry whose cookie is at least p". So the d_off
 * of "." is 1, of ".." 2, and of an entry with cookie c is c + 1: a position survives
 * the removal of any entry (removed entries are simply not found) and the addition of
 * any (new ones come after every existing one).
 *
 * Linux 6.6+ tmpfs keeps such stable offsets too (lib/libfs.c's offset directories); 6.18
 * lists the newest entries first, where we list them in creation order. Both keep a
 * reader from seeing an entry twice; a listing in progress (see DirCursor) stops at the
 * entries that existed when it started, so a loop that creates or renames entries while
 * reading cannot run forever.
 */

export interface DirChild {
  /** The name bytes as a latin1 key. */
  readonly key: string;
  /** Position cookie in the parent (assigned by Dir.add). */
  cookie: number;
}

/** The first cookie a directory gives out: positions 0 and 1 are "." and "..". */
export const FIRST_COOKIE = 2;

export class Dir<T extends DirChild> {
  /** Name key -> child. */
  private readonly byName = new Map<string, T>();
  /** Children in cookie order; removed ones leave null until the next compaction. */
  private slots: (T | null)[] = [];
  private holes = 0;
  /** The cookie the next added entry gets. */
  nextCookie = FIRST_COOKIE;

  get size(): number {
    return this.byName.size;
  }

  get(key: string): T | undefined {
    return this.byName.get(key);
  }

  has(key: string): boolean {
    return this.byName.has(key);
  }

  /** Adds a child under its key with a fresh cookie (the key must be free). */
  add(child: T): void {
    if (this.byName.has(child.key)) throw new Error(`directory entry "${child.key}" exists`);
    child.cookie = this.nextCookie++;
    this.byName.set(child.key, child);
    this.slots.push(child);
  }

  /**
   * Puts a child back with the cookie it had (restore): cookies must come in increasing
   * order and below nextCookie, which the caller sets first.
   */
  addWithCookie(child: T, cookie: number): void {
    const last = this.slots.length > 0 ? this.slots[this.slots.length - 1] : null;
    if (this.byName.has(child.key) || (last && last.cookie >= cookie) || cookie >= this.nextCookie || cookie < FIRST_COOKIE) {
      throw new Error(`entry "${child.key}" with cookie ${cookie} out of order`);
    }
    child.cookie = cookie;
    this.byName.set(child.key, child);
    this.slots.push(child);
  }

  /** Removes the child (found by identity under its key). */
  remove(child: T): void {
    if (this.byName.get(child.key) !== child) throw new Error(`directory entry "${child.key}" is not this child`);
    this.byName.delete(child.key);
    const i = this.slotOf(child.cookie);
    this.slots[i] = null;
    this.holes++;
    if (this.holes > 32 && this.holes * 2 > this.slots.length) {
      this.slots = this.slots.filter((c) => c !== null);
      this.holes = 0;
    }
  }

  /**
   * Swaps the entries of two children for RENAME_EXCHANGE within one directory or across
   * two: each takes the other's key and cookie (the names keep their positions).
   */
  static exchange<T extends DirChild & { key: string }>(da: Dir<T>, a: T, db: Dir<T>, b: T, setKey: (c: T, key: string) => void): void {
    const ia = da.slotOf(a.cookie);
    const ib = db.slotOf(b.cookie);
    const ka = a.key;
    const kb = b.key;
    const ca = a.cookie;
    setKey(a, kb);
    setKey(b, ka);
    a.cookie = b.cookie;
    b.cookie = ca;
    da.slots[ia] = b;
    db.slots[ib] = a;
    da.byName.set(ka, b);
    db.byName.set(kb, a);
  }

  /** Index in `slots` of the live child with this cookie. */
  private slotOf(cookie: number): number {
    let i = this.lowerBound(cookie);
    while (i < this.slots.length && this.slots[i] === null) i++;
    if (i >= this.slots.length || this.slots[i]?.cookie !== cookie) throw new Error(`no directory slot with cookie ${cookie}`);
    return i;
  }

  /** The first slot index whose child's cookie is >= `cookie` (null slots are skipped over). */
  private lowerBound(cookie: number): number {
    let lo = 0;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // A null slot sits between its neighbours' cookies: look right for a live one.
      let j = mid;
      while (j < hi && this.slots[j] === null) j++;
      if (j === hi) {
        hi = mid;
        continue;
      }
      if ((this.slots[j] as T).cookie < cookie) lo = j + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first child with cookie >= `from` and < `limit`, or null. */
  next(from: number, limit: number): T | null {
    for (let i = this.lowerBound(from); i < this.slots.length; i++) {
      const c = this.slots[i];
      if (c === null) continue;
      return c.cookie < limit ? c : null;
    }
    return null;
  }

  /** Children in position order. */
  *entries(): IterableIterator<T> {
    for (const c of this.slots) if (c !== null) yield c;
  }
}
