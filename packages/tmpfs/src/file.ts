/**
 * Open file descriptions of tmpfs: regular files (read and write at any offset, O_APPEND,
 * holes, SEEK_DATA/SEEK_HOLE, ftruncate, fallocate), directories (getdents64 at stable
 * positions, see dir.ts) and O_PATH handles (stat only). What each call checks, in
 * Linux's order, is written beside it.
 */
import {
  MAX_OFFSET,
  O_ACCMODE,
  O_APPEND,
  O_NOATIME,
  O_RDONLY,
  O_WRONLY,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  SysError,
  direntSize,
  type Credentials,
  type OpenFile,
  type Stat,
  type Statx,
} from '@erofs-js/vfs';
import { DIR_OFFSET_EOD, DIR_OFFSET_FIRST } from './dir.js';
import type { TmpNode } from './inode.js';
import type { Tmpfs } from './tmpfs.js';

export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

export type TmpFileKind = 'file' | 'dir' | 'path';

const DOT = new Uint8Array([0x2e]);
const DOTDOT = new Uint8Array([0x2e, 0x2e]);

export class TmpFile implements OpenFile {
  offset = 0;
  private closed = false;

  constructor(
    private readonly fs: Tmpfs,
    /** Holds a reference until close(). */
    readonly node: TmpNode,
    readonly kind: TmpFileKind,
    public flags: number,
    /** The opener's credentials (Linux's f_cred): whose CAP_FSETID a write consults. */
    private readonly creds: Credentials,
  ) {
    node.incRef();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private live(): void {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    this.fs.checkAlive();
  }

  /** A description that does I/O: not O_PATH. */
  private io(): void {
    this.live();
    if (this.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
  }

  private readable(): void {
    this.io();
    if ((this.flags & O_ACCMODE) === O_WRONLY) throw new SysError('EBADF', 'not open for reading');
    if (this.kind === 'dir') throw new SysError('EISDIR', 'is a directory');
  }

  private writable(): void {
    this.io();
    if ((this.flags & O_ACCMODE) === O_RDONLY) throw new SysError('EBADF', 'not open for writing');
  }

  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
    this.node.decRef();
  }

  // ---- reading ----------------------------------------------------------------------

  read(dest: Uint8Array, destOffset = 0, length = dest.length - destOffset): number {
    const n = this.pread(dest, this.offset, destOffset, length);
    this.offset += n;
    return n;
  }

  /** pread(2): EBADF unless readable, EISDIR on a directory, EINVAL for a negative position; updates atime. */
  pread(dest: Uint8Array, position: number, destOffset = 0, length = dest.length - destOffset): number {
    this.readable();
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    if (!(destOffset >= 0 && length >= 0 && destOffset + length <= dest.length)) throw new RangeError('destination range outside the buffer');
    const inode = this.node.inode;
    const n = (inode.data as NonNullable<typeof inode.data>).read(position, dest, destOffset, length);
    this.accessed();
    return n;
  }

  readv(buffers: readonly Uint8Array[]): number {
    const n = this.preadv(buffers, this.offset);
    this.offset += n;
    return n;
  }

  preadv(buffers: readonly Uint8Array[], position: number): number {
    this.readable();
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    let total = 0;
    for (const b of buffers) {
      const n = this.pread(b, position + total);
      total += n;
      if (n < b.length) break;
    }
    return total;
  }

  private accessed(): void {
    if (!(this.flags & O_NOATIME)) this.fs.touchAtime(this.node.inode);
  }

  // ---- writing ----------------------------------------------------------------------

  write(src: Uint8Array, srcOffset = 0, length = src.length - srcOffset): number {
    const n = this.writeAt([src.subarray(srcOffset, srcOffset + length)], this.offset, true);
    return n;
  }

  /** pwrite(2); on an O_APPEND description it appends, as Linux's pwrite does. */
  pwrite(src: Uint8Array, position: number, srcOffset = 0, length = src.length - srcOffset): number {
    if (!(srcOffset >= 0 && length >= 0 && srcOffset + length <= src.length)) throw new RangeError('source range outside the buffer');
    return this.writeAt([src.subarray(srcOffset, srcOffset + length)], position, false);
  }

  writev(buffers: readonly Uint8Array[]): number {
    return this.writeAt(buffers, this.offset, true);
  }

  pwritev(buffers: readonly Uint8Array[], position: number): number {
    return this.writeAt(buffers, position, false);
  }

  /**
   * The one write path: EBADF unless open for writing; EINVAL for a negative position;
   * O_APPEND writes at the end; EFBIG at the size limit (a write crossing it is cut
   * short); nothing happens for zero bytes; then setuid/setgid are dropped (a caller
   * without CAP_FSETID) and mtime/ctime set, and the bytes go in, page by page, stopping
   * short at ENOSPC (the error only when nothing was written).
   */
  private writeAt(buffers: readonly Uint8Array[], position: number, moveOffset: boolean): number {
    this.writable();
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    const inode = this.node.inode;
    const data = inode.data as NonNullable<typeof inode.data>;
    let total = 0;
    for (const b of buffers) total += b.length;
    let pos = this.flags & O_APPEND ? data.size : position;
    if (total === 0) return 0;
    if (pos >= MAX_OFFSET) throw new SysError('EFBIG', 'file too large');
    if (pos + total > MAX_OFFSET) total = MAX_OFFSET - pos;
    this.fs.fileModified(inode, this.creds);
    let written = 0;
    try {
      for (const b of buffers) {
        // An empty buffer is passed over: the ones after it are still written (observed).
        if (b.length === 0) continue;
        const want = Math.min(b.length, total - written);
        if (want === 0) break;
        const n = data.write(pos, b, 0, want);
        written += n;
        pos += n;
        if (n < want) break;
      }
    } catch (e) {
      if (written === 0) throw e;
    }
    if (moveOffset) this.offset = pos;
    return written;
  }

  // ---- seeking ----------------------------------------------------------------------

  /**
   * lseek(2). Files: SET, CUR, END, DATA, HOLE (ENXIO at or past the end). Directories:
   * SET and CUR only, to any position that is not negative (EINVAL otherwise, as Linux's
   * offset directories); positions are dir.ts's.
   */
  lseek(offset: number, whence: number): number {
    this.io();
    const inode = this.node.inode;
    let pos: number;
    if (this.kind === 'dir') {
      if (whence === SEEK_SET) pos = offset;
      else if (whence === SEEK_CUR) pos = this.offset + offset;
      else throw new SysError('EINVAL', `bad whence ${whence} for a directory`);
      if (!(Number.isSafeInteger(pos) && pos >= 0)) throw new SysError('EINVAL', `offset ${pos} out of range`);
      this.offset = pos;
      return pos;
    }
    const data = inode.data as NonNullable<typeof inode.data>;
    switch (whence) {
      case SEEK_SET:
        pos = offset;
        break;
      case SEEK_CUR:
        pos = this.offset + offset;
        break;
      case SEEK_END:
        pos = data.size + offset;
        break;
      case SEEK_DATA:
        pos = data.seekData(offset);
        break;
      case SEEK_HOLE:
        pos = data.seekHole(offset);
        break;
      default:
        throw new SysError('EINVAL', `bad whence ${whence}`);
    }
    if (!(Number.isSafeInteger(pos) && pos >= 0 && pos <= MAX_OFFSET)) throw new SysError('EINVAL', `offset ${pos} out of range`);
    this.offset = pos;
    return pos;
  }

  // ---- directories ------------------------------------------------------------------

  /**
   * getdents64(2): packs linux_dirent64 records from the position: "." and ".." first,
   * then the entries in listing order from where the position points (dir.ts). Each
   * record is emitted at its own position and its d_off is the position of the record
   * after it, as filldir64 fills them; the description's position ends at the first
   * record that did not fit, or at DIR_OFFSET_EOD. EINVAL when dest cannot hold the next
   * record and nothing was written; ENOENT for a directory that was removed (Linux's
   * IS_DEADDIR); 0 at the end. Updates atime (an EINVAL listing too, as iterate_dir).
   */
  getdents64(dest: Uint8Array): number {
    this.io();
    const node = this.node;
    const inode = node.inode;
    const dir = inode.dir;
    if (!dir) throw new SysError('ENOTDIR', 'not a directory');
    if (inode.nlink === 0) throw new SysError('ENOENT', 'directory was removed');
    const dv = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
    let written = 0;
    let last = -1;
    let tooSmall = 0;
    let pos = this.offset;
    /** One record at position `at` (the position moves there first, as dir_emit's caller sets ctx->pos). */
    const emit = (at: number, ino: number, type: number, name: Uint8Array): boolean => {
      pos = at;
      const reclen = direntSize(name.length);
      if (written + reclen > dest.length) {
        if (written === 0) tooSmall = reclen;
        return false;
      }
      if (last >= 0) setOff(dv, last, at);
      writeDirent(dest, dv, written, ino, reclen, type, name);
      last = written;
      written += reclen;
      return true;
    };
    try {
      fill: {
        if (pos === 0) {
          if (!emit(0, inode.ino, 4, DOT)) break fill;
          pos = 1;
        }
        if (pos === 1) {
          const up = node.dirNode ?? node;
          if (!emit(1, up.inode.ino, 4, DOTDOT)) break fill;
          pos = DIR_OFFSET_FIRST;
        }
        if (pos === DIR_OFFSET_EOD) break fill;
        for (let c = dir.at(pos); c; c = c.older) {
          if (!emit(c.offset, c.inode.ino, (c.inode.mode >>> 12) & 15, keyToBytes(c.key))) break fill;
        }
        pos = DIR_OFFSET_EOD;
      }
    } finally {
      if (last >= 0) setOff(dv, last, pos);
      this.offset = pos;
    }
    this.accessed();
    if (tooSmall) throw new SysError('EINVAL', `a ${dest.length}-byte buffer cannot hold a ${tooSmall}-byte record`);
    return written;
  }

  // ---- attributes and the rest --------------------------------------------------------

  stat(): Stat {
    this.live();
    return this.fs.stat(this.node);
  }

  statx(): Statx {
    this.live();
    return this.fs.statx(this.node);
  }

  /**
   * ftruncate(2): EINVAL for a negative length or a description not open for writing
   * (EBADF for O_PATH), EINVAL on a directory, EFBIG past the size limit; mtime and ctime
   * change even when the size does not.
   */
  truncate(length: number): void {
    this.io();
    if (!(length >= 0)) throw new SysError('EINVAL', 'negative length');
    if ((this.flags & O_ACCMODE) === O_RDONLY || this.kind !== 'file') throw new SysError('EINVAL', 'not open for writing');
    this.fs.truncateInode(this.node.inode, length, this.creds, true);
  }

  /**
   * fallocate(2), in vfs_fallocate's order: EINVAL for offset < 0 or length <= 0;
   * EOPNOTSUPP for PUNCH_HOLE without KEEP_SIZE and for any mode tmpfs lacks (COLLAPSE,
   * ZERO, INSERT, UNSHARE ranges); EBADF unless open for writing; EFBIG past the size
   * limit; ENOSPC (nothing allocated) when the pages do not fit. Mode 0 and KEEP_SIZE
   * reserve pages (zeros, holes to SEEK_DATA until written); PUNCH_HOLE|KEEP_SIZE frees
   * them. Every mode sets mtime and ctime and drops setuid/setgid, as file_modified does.
   */
  fallocate(mode: number, offset: number, length: number): void {
    this.io();
    if (!(offset >= 0) || !(length > 0)) throw new SysError('EINVAL', `bad range ${offset}+${length}`);
    if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) throw new SysError('EOPNOTSUPP', 'PUNCH_HOLE needs KEEP_SIZE');
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) throw new SysError('EOPNOTSUPP', `fallocate mode 0x${mode.toString(16)} not supported by tmpfs`);
    this.writable();
    if (offset + length > MAX_OFFSET) throw new SysError('EFBIG', 'file too large');
    const inode = this.node.inode;
    const data = inode.data as NonNullable<typeof inode.data>;
    if (mode & FALLOC_FL_PUNCH_HOLE) data.punch(offset, length);
    else data.allocate(offset, length, (mode & FALLOC_FL_KEEP_SIZE) !== 0);
    this.fs.fileModified(inode, this.creds);
  }

  /** fsync(2): tmpfs has nothing to flush. */
  fsync(): void {
    this.io();
  }

  fdatasync(): void {
    this.io();
  }

  /** readlinkat(fd, ""): the target of an O_PATH symlink description. */
  readlink(): Uint8Array {
    this.live();
    return this.fs.readlink(this.node);
  }
}

function keyToBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/** A linux_dirent64 record; its d_off is set by setOff once the next position is known. */
function writeDirent(dest: Uint8Array, dv: DataView, at: number, ino: number, reclen: number, type: number, name: Uint8Array): void {
  dv.setUint32(at, ino % 2 ** 32, true);
  dv.setUint32(at + 4, Math.floor(ino / 2 ** 32), true);
  setOff(dv, at, 0);
  dv.setUint16(at + 16, reclen, true);
  dest[at + 18] = type;
  dest.set(name, at + 19);
  dest.fill(0, at + 19 + name.length, at + reclen);
}

function setOff(dv: DataView, at: number, off: number): void {
  dv.setUint32(at + 8, off % 2 ** 32, true);
  dv.setUint32(at + 12, Math.floor(off / 2 ** 32), true);
}
