/**
 * Directory listings of the overlay, as Linux's fs/overlayfs/readdir.c makes them.
 *
 * A directory is listed one of two ways, decided at open (and again at each rewind):
 * - "real": a directory of one layer that cannot hold whiteouts (not merged, and without
 *   a trusted.overlay.origin xattr) is read through that layer's own directory: its
 *   getdents64 records, positions and lseek are the layer's (an EROFS directory's byte
 *   positions, a tmpfs directory's cookies).
 * - merged: every layer's entries are read once, on the first getdents64, into one list
 *   (the "cache"), shared by the descriptions open on the directory while it is unchanged:
 *   - the upper directory and the layers above the lowest are read in that order; a name
 *     goes into the list the first time a layer shows it (a whiteout included: a character
 *     device 0:0, or a zero-size regular file with trusted.overlay.whiteout in a directory
 *     marked trusted.overlay.opaque = "x");
 *   - the lowest layer is read last, and its entries come first: each of its names, in
 *     its order, either new or moved from where an upper layer put it, then the names the
 *     upper layers added, in the order they were added (so positions stay much the same
 *     as the upper layers change);
 *   - positions are indexes into that list; whiteouts take a position and are skipped;
 *     an entry's d_off is the position where the next call goes on (the next entry's
 *     index, or the end); lseek takes SEEK_SET and SEEK_CUR to any position (past the end
 *     reads nothing; SEEK_END is EINVAL);
 *   - the list is kept until a rewind (a getdents64 or lseek at position 0) finds the
 *     directory changed since it was made: a listing in progress goes on over the old
 *     list (names removed meanwhile are still listed, new ones are not); d_ino and d_type
 *     are those of the layer that listed the name first.
 * A buffer too small for the next record gives EINVAL when nothing was written yet.
 */
import {
  SEEK_CUR,
  SEEK_SET,
  SysError,
  direntSize,
  type AnyFilesystem,
  type FsNode,
  type OpenFile,
  type Stat,
  type Statx,
} from '@erofs-js/vfs';
import { isWhiteout, readRealDir, realLookup } from './layer.js';
import { keyOf } from './names.js';
import type { OvlNode } from './node.js';
import type { Overlay } from './overlay.js';

const DT_CHR = 2;
const DT_REG = 8;

/** One name of a merged listing. */
export interface MergedEntry {
  readonly key: string;
  readonly ino: number;
  readonly type: number;
  readonly whiteout: boolean;
  /** Listed by the upper layer. */
  readonly isUpper: boolean;
  /** @internal moved into the lowest layer's part. */
  moved?: boolean;
}

/** A merged listing and the directory version it was made at. */
export interface DirCache {
  readonly version: number;
  readonly entries: readonly MergedEntry[];
  refs: number;
}

/** One layer's directory taking part in a merged listing. */
export interface ListedLayer {
  fs: AnyFilesystem;
  dir: FsNode;
  isUpper: boolean;
  /** The directory is marked trusted.overlay.opaque = "x": its regular files may be xattr whiteouts. */
  xwhiteouts: boolean;
}

/** The merged list of the layers' directories (upper first), as the header describes. */
export function mergeListing(layers: readonly ListedLayer[]): MergedEntry[] {
  const byKey = new Map<string, MergedEntry>();
  const added: MergedEntry[] = [];
  const lowest: MergedEntry[] = [];
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    for (const e of readRealDir(l.fs, l.dir) as MergedEntry[]) {
      const have = byKey.size ? byKey.get(e.key) : undefined;
      if (have) {
        if (last && !have.moved) {
          have.moved = true;
          lowest.push(have);
        }
        continue;
      }
      // The entry read becomes the listing's (no second object per name).
      const maybe = e.type === DT_CHR || (l.xwhiteouts && e.type === DT_REG);
      const p = e as { -readonly [K in keyof MergedEntry]: MergedEntry[K] };
      p.whiteout = maybe && whiteoutIn(l, e.key);
      p.isUpper = l.isUpper;
      p.moved = last;
      if (last) lowest.push(p);
      else {
        byKey.set(e.key, p);
        added.push(p);
      }
    }
  });
  for (const p of added) if (!p.moved) lowest.push(p);
  return lowest;
}

function whiteoutIn(l: ListedLayer, key: string): boolean {
  if (key === '.' || key === '..') return false;
  const n = realLookup(l.fs, l.dir, keyOf(key));
  if (!n) return false;
  try {
    return isWhiteout(l.fs, n);
  } finally {
    n.decRef();
  }
}

/** An open directory of the overlay. */
export class OvlDirFile implements OpenFile {
  readonly kind = 'dir' as const;
  offset = 0;
  private closed = false;
  private cache: DirCache | null = null;

  constructor(
    private readonly ov: Overlay,
    readonly node: OvlNode,
    public flags: number,
    /** Opens the real directory (upper, else the top lower), read while the listing is "real". */
    private readonly openReal: () => OpenFile,
    private isReal: boolean,
  ) {
    node.incRef();
    if (isReal) this.real = openReal();
  }

  /** The real directory's description, opened when first needed (a merged listing needs none). */
  private real: OpenFile | null = null;

  get isClosed(): boolean {
    return this.closed;
  }

  private live(): void {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
  }

  /** Linux's ovl_dir_reset, at position 0: a stale list is dropped; a directory copied up since stops being "real". */
  private reset(): void {
    if (this.cache && this.cache.version !== this.node.version) this.putCache();
    if (this.isReal && !this.ov.isRealDir(this.node)) this.isReal = false;
  }

  private putCache(): void {
    const c = this.cache!;
    this.cache = null;
    if (--c.refs === 0 && this.node.cache === c) this.node.cache = null;
  }

  getdents64(dest: Uint8Array): number {
    this.live();
    if (this.offset === 0) this.reset();
    if (this.isReal) {
      const r = this.real!;
      r.offset = this.offset;
      const n = r.getdents64(dest);
      this.offset = r.offset;
      return n;
    }
    this.cache ??= this.ov.dirCache(this.node);
    const entries = this.cache.entries;
    const dv = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
    let written = 0;
    let last = -1;
    let pos = this.offset;
    for (; pos < entries.length; pos++) {
      const e = entries[pos];
      if (e.whiteout) continue;
      const reclen = direntSize(e.key.length);
      if (written + reclen > dest.length) {
        if (written === 0) throw new SysError('EINVAL', `a ${dest.length}-byte buffer cannot hold a ${reclen}-byte record`);
        break;
      }
      if (last >= 0) dv.setUint32(last + 8, pos, true);
      dv.setUint32(written, e.ino % 2 ** 32, true);
      dv.setUint32(written + 4, Math.floor(e.ino / 2 ** 32), true);
      dv.setUint32(written + 8, 0, true);
      dv.setUint32(written + 12, 0, true);
      dv.setUint16(written + 16, reclen, true);
      dest[written + 18] = e.type;
      for (let i = 0; i < e.key.length; i++) dest[written + 19 + i] = e.key.charCodeAt(i);
      dest.fill(0, written + 19 + e.key.length, written + reclen);
      last = written;
      written += reclen;
    }
    if (last >= 0) dv.setUint32(last + 8, pos, true);
    this.offset = pos;
    return written;
  }

  lseek(offset: number, whence: number): number {
    this.live();
    if (this.offset === 0) this.reset();
    if (this.isReal) {
      const r = this.real!;
      r.offset = this.offset;
      this.offset = r.lseek(offset, whence);
      return this.offset;
    }
    let pos: number;
    if (whence === SEEK_CUR) pos = this.offset + offset;
    else if (whence === SEEK_SET) pos = offset;
    else throw new SysError('EINVAL', `bad whence ${whence} for a merged directory`);
    if (!(Number.isSafeInteger(pos) && pos >= 0)) throw new SysError('EINVAL', `position ${pos} out of range`);
    this.offset = pos;
    return pos;
  }

  read(): number {
    this.live();
    throw new SysError('EISDIR', 'is a directory');
  }
  pread(): number {
    return this.read();
  }
  readv(): number {
    return this.read();
  }
  preadv(): number {
    return this.read();
  }
  write(): number {
    this.live();
    throw new SysError('EBADF', 'not open for writing');
  }
  pwrite(): number {
    return this.write();
  }
  writev(): number {
    return this.write();
  }
  pwritev(): number {
    return this.write();
  }
  stat(): Stat {
    this.live();
    return this.ov.stat(this.node);
  }
  statx(): Statx {
    this.live();
    return this.ov.statx(this.node);
  }
  truncate(): void {
    this.live();
    throw new SysError('EINVAL', 'not a regular file open for writing');
  }
  fallocate(): void {
    this.live();
    throw new SysError('EBADF', 'not open for writing');
  }
  /** fsync of the upper directory; a lower one is not synced (Linux avoids the layer's EROFS). */
  /**
   * fsync: succeeds. Linux syncs the upper directory (tmpfs has nothing to write back) and
   * never a lower one (which would answer EROFS's EINVAL).
   */
  fsync(): void {
    this.live();
  }
  fdatasync(): void {
    this.fsync();
  }
  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
    if (this.cache) this.putCache();
    this.real?.close();
    this.node.decRef();
  }
}

