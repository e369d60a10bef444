/**
 * Open file descriptions: an open object, its flags and its offset. Regular files read
 * (read, pread, readv, preadv) and seek (SET, CUR, END, DATA, HOLE); directories list
 * themselves into packed linux_dirent64 records (getdents64) at byte positions that stay
 * valid across lseek and across dentry eviction; O_PATH descriptions (the only way to
 * open a symlink) only stat and readlink.
 */
import { ExtentKind, fileTypeToDtype, nidToIno, S_IFMT, S_IFDIR } from '@erofs-js/erofs';
import { MAY_READ, MAY_WRITE, ownerOrCapable, type Credentials } from './credentials.js';
import type { Dentry } from './dentry.js';
import { SysError, decoding, toSysError } from './errno.js';
import type { Filesystem } from './filesystem.js';
import type { Inode, Stat, Statx } from './inode.js';
import { mapPages } from './mmap.js';
import type { OpenFile } from './contract.js';

// Linux open(2) flags (x86-64 / generic values).
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;
const O_TMPFILE_BIT = 0o20000000;
/** The flags an O_PATH open keeps. */
const O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
/**
 * Every bit open(2) knows (x86-64 / generic): the access mode and the bits from O_CREAT
 * up to __O_TMPFILE, O_SYNC's and FASYNC's included. open and openat drop the others.
 */
const VALID_OPEN_FLAGS = O_ACCMODE | 0o37777700;

/**
 * open(2)'s checks of the flags alone, made before the path is looked at (so EINVAL here
 * beats EBADF of the dirfd, ENOENT of an empty path and ENAMETOOLONG): bits open(2) does
 * not know are dropped, as Linux drops them for open and openat; an O_PATH open keeps
 * only O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC beside O_PATH, whatever else was asked;
 * otherwise O_CREAT with O_DIRECTORY is EINVAL, and so is O_TMPFILE without O_DIRECTORY
 * or without write access (O_WRONLY, O_RDWR, or the access mode 3). Returns the flags the
 * open goes on with.
 */
export function checkOpenFlags(flags: number): number {
  const f = flags & VALID_OPEN_FLAGS;
  if (f & O_PATH) return f & O_PATH_FLAGS;
  if ((f & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) throw new SysError('EINVAL', 'O_CREAT with O_DIRECTORY');
  if (f & O_TMPFILE_BIT && (!(f & O_DIRECTORY) || (f & O_ACCMODE) === O_RDONLY)) throw new SysError('EINVAL', 'O_TMPFILE needs O_DIRECTORY and write access');
  return f;
}

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** Largest offset a description accepts (Linux allows 2^63-1; JS numbers are exact to 2^53). */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export const DT_DIR = 4;


export type DescriptionKind = 'file' | 'dir' | 'path';

/** Bytes one linux_dirent64 record takes for a name of `nameLen` bytes. */
export function direntSize(nameLen: number): number {
  return (19 + nameLen + 1 + 7) & ~7;
}

export class FileDescription implements OpenFile {
  /** Position: a byte offset in a file, a dirent position (Linux's d_off) in a directory. */
  offset = 0;
  private closed = false;

  constructor(
    readonly fs: Filesystem,
    /** Holds a reference until close(). */
    readonly dentry: Dentry,
    readonly kind: DescriptionKind,
    readonly flags: number,
  ) {
    dentry.incRef();
  }

  get inode(): Inode {
    return this.dentry.inode;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private live(): Inode {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    return this.dentry.inode;
  }

  /** Descriptions that do I/O: not O_PATH. */
  private io(): Inode {
    const inode = this.live();
    if (this.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
    return inode;
  }

  /** Drops the description's reference on its dentry. A second close is EBADF. */
  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
    this.dentry.decRef();
  }

  // ---- reading ----------------------------------------------------------------------

  /** read(2): up to `length` bytes at the offset into dest[destOffset..]; advances the offset. */
  read(dest: Uint8Array, destOffset = 0, length = dest.length - destOffset): number {
    const n = this.pread(dest, this.offset, destOffset, length);
    this.offset += n;
    return n;
  }

  /** pread(2): reads at `position` without moving the offset. */
  pread(dest: Uint8Array, position: number, destOffset = 0, length = dest.length - destOffset): number {
    const inode = this.io();
    if (this.kind === 'dir') throw new SysError('EISDIR', 'is a directory');
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    if (!(destOffset >= 0 && length >= 0 && destOffset + length <= dest.length)) throw new RangeError('destination range outside the buffer');
    if (position >= inode.size || length === 0) return 0;
    // decoding() spelled out: no closure per call on the hottest data path.
    try {
      return this.fs.image.read(inode.raw, position, dest, destOffset, length);
    } catch (e) {
      throw toSysError(e);
    }
  }

  /** readv(2): fills the buffers in turn from the offset; advances it. */
  readv(buffers: readonly Uint8Array[]): number {
    const n = this.preadv(buffers, this.offset);
    this.offset += n;
    return n;
  }

  /**
   * preadv(2): fills the buffers in turn from `position`, stopping at end of file. An
   * error after some bytes were read returns those bytes, as Linux does.
   */
  preadv(buffers: readonly Uint8Array[], position: number): number {
    this.io();
    let total = 0;
    for (const b of buffers) {
      let n: number;
      try {
        n = this.pread(b, position + total);
      } catch (e) {
        if (total > 0 && e instanceof SysError && e.code !== 'EISDIR' && e.code !== 'EBADF') return total;
        throw e;
      }
      total += n;
      if (n < b.length) break;
    }
    return total;
  }

  /**
   * mmap(2) of a page range: PAGE_SIZE-byte read-only views (zero-copy where the layout
   * allows), or the errors Linux gives; see mmap.ts.
   */
  mmap(offset: number, length: number, prot: number, flags: number): Uint8Array[] {
    return mapPages(this, offset, length, prot, flags);
  }

  // ---- seeking ----------------------------------------------------------------------

  /** lseek(2). Directories accept any position (getdents rounds it up to the next entry). */
  lseek(offset: number, whence: number): number {
    const inode = this.io();
    const size = inode.size;
    let pos: number;
    switch (whence) {
      case SEEK_SET:
        pos = offset;
        break;
      case SEEK_CUR:
        pos = this.offset + offset;
        break;
      case SEEK_END:
        pos = size + offset;
        break;
      case SEEK_DATA:
        if (!(offset >= 0) || offset >= size) throw new SysError('ENXIO', 'no data at or after the offset');
        pos = this.kind === 'file' ? this.seekData(inode, offset) : offset;
        break;
      case SEEK_HOLE:
        if (!(offset >= 0) || offset >= size) throw new SysError('ENXIO', 'offset at or past the end');
        pos = this.kind === 'file' ? this.seekHole(inode, offset) : size;
        break;
      default:
        throw new SysError('EINVAL', `bad whence ${whence}`);
    }
    if (!(Number.isSafeInteger(pos) && pos >= 0 && pos <= MAX_OFFSET)) throw new SysError('EINVAL', `offset ${pos} out of range`);
    this.offset = pos;
    return pos;
  }

  /**
   * The first offset at or after `from` that is not in a hole. Holes are chunk holes and
   * null FLAT_PLAIN blocks; compressed files report no holes (as Linux does).
   */
  private seekData(inode: Inode, from: number): number {
    if (inode.isCompressed) return from;
    const image = this.fs.image;
    let pos = from;
    while (pos < inode.size) {
      const ext = decoding(() => image.map(inode.raw, pos));
      if (ext.kind !== ExtentKind.Hole) return pos;
      pos = nextExtent(ext.logical, ext.length, pos);
    }
    throw new SysError('ENXIO', 'no data at or after the offset');
  }

  private seekHole(inode: Inode, from: number): number {
    if (inode.isCompressed) return inode.size;
    const image = this.fs.image;
    let pos = from;
    while (pos < inode.size) {
      const ext = decoding(() => image.map(inode.raw, pos));
      if (ext.kind === ExtentKind.Hole) return pos;
      pos = nextExtent(ext.logical, ext.length, pos);
    }
    return inode.size;
  }

  // ---- directories ------------------------------------------------------------------

  /**
   * getdents64(2): packs linux_dirent64 records {u64 d_ino, i64 d_off, u16 d_reclen,
   * u8 d_type, name, NUL, zero padding to 8 bytes} into `dest`, from the description's
   * position; returns the bytes written (0 at the end). d_off is the position of the
   * next entry (the directory size after the last). EINVAL when `dest` cannot hold the
   * next record and nothing was written. A directory without a stored "." (DOT_OMITTED)
   * gets one synthesized at the end, at position i_size, as Linux does. An error met
   * after some records were written is reported by the next call.
   */
  getdents64(dest: Uint8Array): number {
    const inode = this.io();
    if (this.kind !== 'dir') throw new SysError('ENOTDIR', 'not a directory');
    const size = inode.size;
    const bs = this.fs.image.blockSize;
    const dv = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
    let written = 0;
    let pos = this.offset;
    try {
      while (pos < size) {
        const start = pos - (pos % bs);
        const entries = inode.dirBlock(start);
        let i = Math.ceil((pos - start) / 12);
        // The kernel rounds a position between entries up before emitting anything.
        if (i < entries.length) pos = entries[i].offset;
        for (; i < entries.length; i++) {
          const e = entries[i];
          const reclen = direntSize(e.name.length);
          if (written + reclen > dest.length) {
            this.offset = pos;
            if (written === 0) throw new SysError('EINVAL', `a ${dest.length}-byte buffer cannot hold a ${reclen}-byte record`);
            return written;
          }
          writeDirent(dest, dv, written, nidToIno(e.nid), e.next, reclen, fileTypeToDtype(e.fileType), e.name);
          written += reclen;
          pos = e.next;
        }
        // Past the last entry of the block: on to the next block (or the end).
        pos = Math.max(pos, Math.min(start + bs, size));
      }
      if (pos === size && inode.raw.dotOmitted) {
        const reclen = direntSize(1);
        if (written + reclen > dest.length) {
          this.offset = pos;
          if (written === 0) throw new SysError('EINVAL', `a ${dest.length}-byte buffer cannot hold a ${reclen}-byte record`);
          return written;
        }
        writeDirent(dest, dv, written, inode.ino, size + 1, reclen, DT_DIR, DOT);
        written += reclen;
        pos = size + 1;
      }
    } catch (e) {
      this.offset = pos;
      if (written > 0) return written;
      throw toSysError(e);
    }
    this.offset = pos;
    return written;
  }

  // ---- attributes -------------------------------------------------------------------

  stat(): Stat {
    return this.live().stat();
  }

  statx(): Statx {
    return this.live().statx();
  }

  /** readlinkat(fd, ""): the target of an O_PATH symlink description. */
  readlink(): Uint8Array {
    this.live();
    return this.fs.readlink(this.dentry);
  }

  // ---- write-type calls on a read-only description ----------------------------------
  // An EROFS description is never open for writing (open refuses write access first).

  /** The node the description was opened on (the contract's OpenFile.node). */
  get node(): Dentry {
    return this.dentry;
  }

  /** write(2): the description is never open for writing. */
  write(_src: Uint8Array, _srcOffset?: number, _length?: number): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }

  pwrite(_src: Uint8Array, _position: number, _srcOffset?: number, _length?: number): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }

  writev(_buffers: readonly Uint8Array[]): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }

  pwritev(_buffers: readonly Uint8Array[], _position: number): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }

  /** ftruncate(2): EINVAL on a description not open for writing (EBADF on O_PATH). */
  truncate(_length: number): never {
    this.io();
    throw new SysError('EINVAL', 'not open for writing');
  }

  /** fallocate(2) needs a description open for writing: EBADF. */
  fallocate(_mode: number, _offset: number, _length: number): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }

  /** fsync(2) / fdatasync(2): EROFS has no fsync, so Linux answers EINVAL. */
  fsync(): never {
    this.io();
    throw new SysError('EINVAL', 'fsync not supported');
  }

  fdatasync(): never {
    return this.fsync();
  }
}

const DOT = new Uint8Array([0x2e]);

function nextExtent(logical: number, length: number, pos: number): number {
  const next = logical + length;
  if (!(next > pos)) throw new SysError('EUCLEAN', `mapping of offset ${pos} made no progress`);
  return next;
}

function writeDirent(dest: Uint8Array, dv: DataView, at: number, ino: number, off: number, reclen: number, type: number, name: Uint8Array): void {
  dv.setUint32(at, ino % 2 ** 32, true);
  dv.setUint32(at + 4, Math.floor(ino / 2 ** 32), true);
  dv.setUint32(at + 8, off % 2 ** 32, true);
  dv.setUint32(at + 12, Math.floor(off / 2 ** 32), true);
  dv.setUint16(at + 16, reclen, true);
  dest[at + 18] = type;
  dest.set(name, at + 19);
  dest.fill(0, at + 19 + name.length, at + reclen);
}

/** Decodes packed linux_dirent64 records (for tests, tools and guests' libc shims). */
export function parseDirents(buf: Uint8Array, length = buf.length): { ino: number; off: number; reclen: number; type: number; name: Uint8Array }[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = [];
  for (let p = 0; p < length; ) {
    const reclen = dv.getUint16(p + 16, true);
    if (reclen < 24 || p + reclen > length) throw new RangeError(`bad d_reclen ${reclen} at ${p}`);
    let end = p + 19;
    while (end < p + reclen && buf[end] !== 0) end++;
    out.push({
      ino: dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 2 ** 32,
      off: dv.getUint32(p + 8, true) + dv.getInt32(p + 12, true) * 2 ** 32,
      reclen,
      type: buf[p + 18],
      name: new Uint8Array(buf.subarray(p + 19, end)), // a copy, also when buf is a Buffer
    });
    p += reclen;
  }
  return out;
}

/**
 * open(2) of a resolved dentry, in Linux's order: O_PATH keeps only a handle (ENOTDIR
 * with O_DIRECTORY on a non-directory); O_TMPFILE needs write access (EINVAL) and then
 * is EROFS; O_CREAT on an existing name is EEXIST with O_EXCL and EISDIR on a directory;
 * O_DIRECTORY on a non-directory ENOTDIR; O_TRUNC of a regular file EROFS; a symlink
 * ELOOP; writing a directory EISDIR; then permission (EROFS for writes, EACCES);
 * O_NOATIME by a non-owner EPERM; devices, fifos and sockets ENXIO.
 */
export function openDescription(fs: Filesystem, d: Dentry, flags: number, creds: Credentials): FileDescription {
  const inode = d.inode;
  const type = inode.mode & S_IFMT;
  const isDir = type === S_IFDIR;
  if (flags & O_PATH) {
    if (flags & O_DIRECTORY && !isDir) throw new SysError('ENOTDIR', 'not a directory');
    return new FileDescription(fs, d, 'path', flags & O_PATH_FLAGS);
  }
  if ((flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) throw new SysError('EINVAL', 'O_CREAT with O_DIRECTORY');
  let acc = [MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE][flags & O_ACCMODE];
  if (flags & O_TMPFILE_BIT) {
    if ((flags & O_TMPFILE) !== O_TMPFILE || !(acc & MAY_WRITE)) throw new SysError('EINVAL', 'O_TMPFILE needs O_DIRECTORY and write access');
    if (!isDir) throw new SysError('ENOTDIR', 'not a directory');
    throw new SysError('EROFS', 'read-only file system');
  }
  if (flags & O_TRUNC) acc |= MAY_WRITE;
  if (flags & O_CREAT) {
    if (flags & O_EXCL) throw new SysError('EEXIST', 'file exists');
    if (isDir) throw new SysError('EISDIR', 'is a directory');
  }
  if (flags & O_DIRECTORY && !isDir) throw new SysError('ENOTDIR', 'not a directory');
  if (inode.isReg && flags & O_TRUNC) throw new SysError('EROFS', 'read-only file system');
  if (inode.isSymlink) throw new SysError('ELOOP', 'is a symbolic link (open it with O_PATH)');
  if (isDir && acc & MAY_WRITE) throw new SysError('EISDIR', 'is a directory');
  inode.permission(creds, acc);
  if (flags & O_NOATIME && !ownerOrCapable(creds, inode)) throw new SysError('EPERM', 'O_NOATIME by a non-owner');
  if (!isDir && !inode.isReg) throw new SysError('ENXIO', 'no device behind this special file');
  return new FileDescription(fs, d, isDir ? 'dir' : 'file', flags);
}
