/**
 * Raw syscall adapter: the Task surface with the kernel's return convention, for an
 * emulator that forwards guest syscalls as they come.
 *
 * Every call returns a number: the result when non-negative, -errno on failure (it never
 * throws for anything a guest passes). lseek alone may return a bigint: a position past
 * 2^53 (Linux allows up to 2^63 - 1). Buffers are Uint8Array views of guest memory;
 * structures are written in the x86-64 layout (struct stat 144 bytes, struct statfs 120
 * bytes; struct statx is the same everywhere, 256 bytes).
 *
 * Arguments are what the guest put in its registers, so every one is checked, whatever
 * its JS type:
 *  - a path, buffer, iovec array or structure that is not what the call needs (a path is
 *    a string or bytes, cut at the first NUL as a C string is; a buffer a Uint8Array; a
 *    structure buffer one at least the structure's size) is a bad pointer: EFAULT, at the
 *    point Linux would fault on it (a structure after the call's own errors: stat of a
 *    missing path is ENOENT whatever the buffer);
 *  - int arguments (descriptors, flags, modes, whence, commands) take an integer number or
 *    a bigint, of which the low 32 bits count, as the kernel reads an int from a 64-bit
 *    register; a descriptor of another type is no descriptor (-1: EBADF where one is
 *    needed, ignored beside an absolute path), any other int of another type EINVAL;
 *  - offsets take an integer number or a bigint, read as a 64-bit loff_t; byte counts must
 *    fit the buffer they describe (EFAULT), and anything else there is EINVAL.
 * Anything thrown that is neither a SysError nor a decoder error is a bug in this
 * library and is rethrown rather than turned into an errno.
 *
 *   const sys = new Syscalls(task);
 *   const fd = sys.openat(AT_FDCWD, '/etc/passwd', O_RDONLY, 0);   // 3, or -2 (ENOENT)
 *   sys.syscall('newfstatat', AT_FDCWD, '/bin', statBuf, 0);       // dispatch by name
 */
import { splitDev } from '@erofs-js/erofs';
import { ERRNO, SysError, toSysError, type Errno, type Stat, type StatFs } from '@erofs-js/vfs';
import type { PathArg } from './resolve.js';
import { AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, UIO_MAXIOV, type MountStatx, type Task } from './task.js';

export const SIZEOF_STAT = 144;
export const SIZEOF_STATX = 256;
export const SIZEOF_STATFS = 120;

function need(dest: Uint8Array, size: number, what: string): DataView {
  if (dest.length < size) throw new RangeError(`${what} needs ${size} bytes, the buffer has ${dest.length}`);
  dest.fill(0, 0, size);
  return new DataView(dest.buffer, dest.byteOffset, size);
}

const u64 = (dv: DataView, o: number, v: number | bigint) => dv.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), true);
const i64 = (dv: DataView, o: number, v: number | bigint) => dv.setBigInt64(o, BigInt.asIntN(64, BigInt(v)), true);

/** Writes an x86-64 struct stat. */
export function encodeStat(s: Stat, dest: Uint8Array): void {
  const dv = need(dest, SIZEOF_STAT, 'struct stat');
  u64(dv, 0, s.dev);
  u64(dv, 8, s.ino);
  u64(dv, 16, s.nlink);
  dv.setUint32(24, s.mode, true);
  dv.setUint32(28, s.uid, true);
  dv.setUint32(32, s.gid, true);
  u64(dv, 40, s.rdev);
  i64(dv, 48, s.size);
  i64(dv, 56, s.blksize);
  i64(dv, 64, s.blocks);
  i64(dv, 72, s.atime);
  i64(dv, 80, s.atimeNsec);
  i64(dv, 88, s.mtime);
  i64(dv, 96, s.mtimeNsec);
  i64(dv, 104, s.ctime);
  i64(dv, 112, s.ctimeNsec);
}

/** Writes a struct statx (mount id included). */
export function encodeStatx(s: MountStatx, dest: Uint8Array): void {
  const dv = need(dest, SIZEOF_STATX, 'struct statx');
  dv.setUint32(0, s.mask, true);
  dv.setUint32(4, s.blksize, true);
  u64(dv, 8, s.attributes);
  dv.setUint32(16, s.nlink, true);
  dv.setUint32(20, s.uid, true);
  dv.setUint32(24, s.gid, true);
  dv.setUint16(28, s.mode, true);
  u64(dv, 32, s.ino);
  u64(dv, 40, s.size);
  u64(dv, 48, s.blocks);
  u64(dv, 56, s.attributesMask);
  const ts = (o: number, sec: number, nsec: number) => {
    i64(dv, o, sec);
    dv.setUint32(o + 8, nsec, true);
  };
  ts(64, s.atime, s.atimeNsec);
  ts(80, s.btime, s.btimeNsec);
  ts(96, s.ctime, s.ctimeNsec);
  ts(112, s.mtime, s.mtimeNsec);
  dv.setUint32(128, s.rdevMajor, true);
  dv.setUint32(132, s.rdevMinor, true);
  dv.setUint32(136, s.devMajor, true);
  dv.setUint32(140, s.devMinor, true);
  u64(dv, 144, s.mntId);
}

/** Writes an x86-64 struct statfs. */
export function encodeStatfs(s: StatFs, dest: Uint8Array): void {
  const dv = need(dest, SIZEOF_STATFS, 'struct statfs');
  i64(dv, 0, s.type);
  i64(dv, 8, s.bsize);
  u64(dv, 16, s.blocks);
  u64(dv, 24, s.bfree);
  u64(dv, 32, s.bavail);
  u64(dv, 40, s.files);
  u64(dv, 48, s.ffree);
  dv.setUint32(56, s.fsid[0], true);
  dv.setUint32(60, s.fsid[1], true);
  i64(dv, 64, s.namelen);
  i64(dv, 72, s.frsize);
  i64(dv, 80, s.flags);
}

/** Decodes an x86-64 struct stat (for tests and guests' shims). */
export function decodeStat(src: Uint8Array): Stat {
  const dv = new DataView(src.buffer, src.byteOffset, SIZEOF_STAT);
  const n = (o: number) => Number(dv.getBigInt64(o, true));
  return {
    dev: Number(dv.getBigUint64(0, true)),
    ino: Number(dv.getBigUint64(8, true)),
    nlink: Number(dv.getBigUint64(16, true)),
    mode: dv.getUint32(24, true),
    uid: dv.getUint32(28, true),
    gid: dv.getUint32(32, true),
    rdev: Number(dv.getBigUint64(40, true)),
    size: n(48),
    blksize: n(56),
    blocks: n(64),
    atime: n(72),
    atimeNsec: n(80),
    mtime: n(88),
    mtimeNsec: n(96),
    ctime: n(104),
    ctimeNsec: n(112),
  };
}

/** st_dev as "major:minor". */
export function devString(dev: number): string {
  const { major, minor } = splitDev(dev);
  return `${major}:${minor}`;
}

/** Runs a call, mapping SysError (and decoder errors) to -errno. */
export function errnoResult<T extends number | bigint = number>(fn: () => T): T | number {
  try {
    return fn();
  } catch (e) {
    return -toSysError(e).errno;
  }
}

// ---- arguments as registers --------------------------------------------------------------

const utf8 = new TextEncoder();

function fault(what: string): SysError {
  return new SysError('EFAULT', `${what} is not readable or writable guest memory`);
}

/** A path: a string or bytes, read as a C string (up to the first NUL). */
function pathArg(v: unknown): Uint8Array {
  const b = typeof v === 'string' ? utf8.encode(v) : v instanceof Uint8Array ? v : null;
  if (b === null) throw fault('the path');
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/** A path that may be NULL (mount's source and type). */
function optPathArg(v: unknown): Uint8Array | null {
  return v === null || v === undefined ? null : pathArg(v);
}

function bufArg(v: unknown, what = 'the buffer'): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw fault(what);
}

/** The low 32 bits of a register as a signed int, or null when the value is no integer at all. */
function int32(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) ? v | 0 : null;
  if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
  return null;
}

/** A descriptor argument: no integer is no descriptor (-1). */
function fdArg(v: unknown): number {
  return int32(v) ?? -1;
}

/** A flags, mode, whence or command argument (EINVAL when it is no integer). */
function intArg(v: unknown, what: string, errno: Errno = 'EINVAL'): number {
  const n = int32(v);
  if (n === null) throw new SysError(errno, `${what} is not an integer`);
  return n;
}

/** An off_t / loff_t argument: 64 bits of a register; a number when it is a safe integer. */
function offArg(v: unknown): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (!Number.isInteger(v)) throw new SysError('EINVAL', `offset ${v} is not an integer`);
    v = BigInt(v);
  }
  if (typeof v !== 'bigint') throw new SysError('EINVAL', 'offset is not an integer');
  const o = BigInt.asIntN(64, v);
  return o >= BigInt(Number.MIN_SAFE_INTEGER) && o <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(o) : o;
}

/** A size_t count of bytes in `buf`: more than the buffer holds is EFAULT. */
function countArg(v: unknown, buf: Uint8Array): number {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new SysError('EINVAL', `count ${v} is not an integer`);
    n = BigInt.asUintN(64, BigInt(v));
  } else if (typeof v === 'bigint') {
    n = BigInt.asUintN(64, v);
  } else {
    throw new SysError('EINVAL', 'count is not an integer');
  }
  if (n > BigInt(buf.length)) throw new SysError('EFAULT', `count ${n} is past the end of a ${buf.length}-byte buffer`);
  return Number(n);
}

/** An iovec array: an array of buffers (EFAULT), at most UIO_MAXIOV of them (EINVAL). */
function iovArg(v: unknown): Uint8Array[] {
  if (!Array.isArray(v)) throw fault('the iovec array');
  if (v.length > UIO_MAXIOV) throw new SysError('EINVAL', `${v.length} buffers (at most ${UIO_MAXIOV})`);
  for (const b of v) if (!(b instanceof Uint8Array)) throw fault('an iovec buffer');
  return v as Uint8Array[];
}

/** A buffer that may be NULL (getxattr / listxattr asking for the size); `undefined` when it is neither. */
function optBufArg(v: unknown): Uint8Array | null | undefined {
  if (v === null || v === undefined) return null;
  return v instanceof Uint8Array ? v : undefined;
}

/** A descriptor that does I/O (EBADF when it is not open, or is O_PATH), checked before its buffer. */
function ioFd(task: Task, fd: number): void {
  if (task.description(fd).file.kind === 'path') throw new SysError('EBADF', 'O_PATH descriptor');
}

/**
 * The *xattr calls: a value or list buffer that is neither a Uint8Array nor null is a bad
 * pointer, met (as in Linux) only when there is something to copy: the call's own errors
 * come first.
 */
function xattrCall(buf: unknown, call: (b: Uint8Array | null) => number): number {
  const b = optBufArg(buf);
  if (b !== undefined) return call(b);
  call(null);
  throw fault('the value buffer');
}

/** Writes a structure into the guest's buffer: EFAULT when it is not one or is too small. */
function put<T>(value: T, dest: unknown, size: number, encode: (v: T, d: Uint8Array) => void): number {
  if (!(dest instanceof Uint8Array) || dest.length < size) throw fault(`a ${size}-byte structure buffer`);
  encode(value, dest);
  return 0;
}

/** A descriptor that writes: EBADF when it is not open, is O_PATH, or lacks write access. */
function writeFd(task: Task, fd: number): void {
  const f = task.description(fd).file;
  if (f.kind === 'path' || !(f.flags & 3)) throw new SysError('EBADF', 'not open for writing');
}

/** setxattr's value and size: the size must fit the buffer (EFAULT); default the whole buffer. */
function valueArg(v: unknown, size: unknown): Uint8Array {
  if (v === null || v === undefined) {
    if (size === undefined || size === 0 || size === 0n) return new Uint8Array(0);
    throw fault('the value');
  }
  const b = bufArg(v, 'the value');
  return size === undefined ? b : b.subarray(0, countArg(size, b));
}

/** struct timespec[2] (tv_sec, tv_nsec as 64-bit each) or NULL. */
function timesArg(v: unknown): [{ sec: number; nsec: number }, { sec: number; nsec: number }] | null {
  if (v === null || v === undefined) return null;
  if (!(v instanceof Uint8Array) || v.length < 32) throw fault('struct timespec[2]');
  const dv = new DataView(v.buffer, v.byteOffset, 32);
  const t = (o: number) => ({ sec: Number(dv.getBigInt64(o, true)), nsec: Number(dv.getBigInt64(o + 8, true)) });
  return [t(0), t(16)];
}

export class Syscalls {
  constructor(readonly task: Task) {}

  /** Dispatches by syscall name; an unknown name is -ENOSYS. lseek's result may be a bigint. */
  syscall(name: string, ...args: unknown[]): number | bigint {
    if (!SYSCALL_NAMES.has(name)) return -ERRNO.ENOSYS;
    return (this as unknown as Record<string, (...a: unknown[]) => number | bigint>)[name](...args);
  }

  openat(dirfd: number, path: PathArg, flags = 0, mode = 0): number {
    return errnoResult(() => {
      const fl = intArg(flags, 'flags');
      const m = intArg(mode, 'mode');
      return this.task.openat(fdArg(dirfd), pathArg(path), fl, m);
    });
  }
  open(path: PathArg, flags = 0, mode = 0): number {
    return this.openat(AT_FDCWD, path, flags, mode);
  }
  close(fd: number): number {
    return errnoResult(() => this.task.close(fdArg(fd)));
  }
  /** read(2) of `count` bytes (default: the buffer's length) into `buf`. */
  read(fd: number, buf: Uint8Array, count?: number | bigint): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      ioFd(this.task, f);
      const b = bufArg(buf);
      return this.task.read(f, count === undefined ? b : b.subarray(0, countArg(count, b)));
    });
  }
  pread64(fd: number, buf: Uint8Array, offset: number | bigint): number {
    return errnoResult(() => {
      const off = offArg(offset);
      if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
      const f = fdArg(fd);
      ioFd(this.task, f);
      return this.task.pread64(f, bufArg(buf), off);
    });
  }
  readv(fd: number, iov: readonly Uint8Array[]): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      ioFd(this.task, f);
      return this.task.readv(f, iovArg(iov));
    });
  }
  preadv(fd: number, iov: readonly Uint8Array[], offset: number | bigint): number {
    return errnoResult(() => {
      const off = offArg(offset);
      if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
      const f = fdArg(fd);
      ioFd(this.task, f);
      return this.task.preadv(f, iovArg(iov), off);
    });
  }
  /** lseek(2): the position, a bigint when it is past 2^53. */
  lseek(fd: number, offset: number | bigint, whence: number): number | bigint {
    return errnoResult(() => {
      const f = fdArg(fd);
      const off = offArg(offset);
      // A bigint offset asks the Task for the full-width result.
      return this.task.lseek(f, typeof off === 'bigint' ? off : BigInt(off), intArg(whence, 'whence'));
    });
  }
  getdents64(fd: number, buf: Uint8Array): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      ioFd(this.task, f);
      return this.task.getdents64(f, bufArg(buf));
    });
  }
  /** write(2) of `count` bytes (default: the buffer's length). A bad buffer is EFAULT after EBADF. */
  write(fd: number, buf: Uint8Array, count?: number | bigint): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      writeFd(this.task, f);
      const b = bufArg(buf);
      return this.task.write(f, count === undefined ? b : b.subarray(0, countArg(count, b)));
    });
  }
  pwrite64(fd: number, buf: Uint8Array, offset: number | bigint): number {
    return errnoResult(() => {
      const off = offArg(offset);
      if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
      const f = fdArg(fd);
      writeFd(this.task, f);
      return this.task.pwrite64(f, bufArg(buf), off);
    });
  }
  writev(fd: number, iov: readonly Uint8Array[]): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      writeFd(this.task, f);
      return this.task.writev(f, iovArg(iov));
    });
  }
  pwritev(fd: number, iov: readonly Uint8Array[], offset: number | bigint): number {
    return errnoResult(() => {
      const off = offArg(offset);
      if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
      const f = fdArg(fd);
      writeFd(this.task, f);
      return this.task.pwritev(f, iovArg(iov), off);
    });
  }
  ftruncate(fd: number, length: number | bigint): number {
    return errnoResult(() => {
      const len = offArg(length);
      if (len < 0) throw new SysError('EINVAL', `negative length ${len}`);
      return this.task.ftruncate(fdArg(fd), len);
    });
  }
  truncate(path: PathArg, length: number | bigint): number {
    return errnoResult(() => {
      const p = pathArg(path);
      const len = offArg(length);
      if (len < 0) throw new SysError('EINVAL', `negative length ${len}`);
      return this.task.truncate(p, len);
    });
  }
  fallocate(fd: number, mode: number, offset: number | bigint, length: number | bigint): number {
    return errnoResult(() => {
      const m = intArg(mode, 'mode');
      const off = offArg(offset);
      const len = offArg(length);
      if (off < 0 || len <= 0) throw new SysError('EINVAL', `bad range ${off}+${len}`);
      return this.task.fallocate(fdArg(fd), m, off, len);
    });
  }
  fsync(fd: number): number {
    return errnoResult(() => this.task.fsync(fdArg(fd)));
  }
  fdatasync(fd: number): number {
    return errnoResult(() => this.task.fdatasync(fdArg(fd)));
  }
  syncfs(fd: number): number {
    return errnoResult(() => this.task.syncfs(fdArg(fd)));
  }
  mkdirat(dirfd: number, path: PathArg, mode: number): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return this.task.mkdirat(fdArg(dirfd), p, intArg(mode, 'mode'));
    });
  }
  mkdir(path: PathArg, mode: number): number {
    return this.mkdirat(AT_FDCWD, path, mode);
  }
  mknodat(dirfd: number, path: PathArg, mode: number, dev: number | bigint): number {
    return errnoResult(() => {
      const p = pathArg(path);
      const m = intArg(mode, 'mode');
      // dev_t is 64 bits; the new_encode_dev form the kernel takes from mknod fits 32.
      return this.task.mknodat(fdArg(dirfd), p, m, intArg(dev, 'dev') >>> 0);
    });
  }
  mknod(path: PathArg, mode: number, dev: number | bigint): number {
    return this.mknodat(AT_FDCWD, path, mode, dev);
  }
  symlinkat(target: PathArg, newdirfd: number, linkpath: PathArg): number {
    return errnoResult(() => {
      const t = pathArg(target);
      return this.task.symlinkat(t, fdArg(newdirfd), pathArg(linkpath));
    });
  }
  symlink(target: PathArg, linkpath: PathArg): number {
    return this.symlinkat(target, AT_FDCWD, linkpath);
  }
  linkat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags = 0): number {
    return errnoResult(() => {
      const o = pathArg(oldpath);
      const n = pathArg(newpath);
      return this.task.linkat(fdArg(olddirfd), o, fdArg(newdirfd), n, intArg(flags, 'flags'));
    });
  }
  link(oldpath: PathArg, newpath: PathArg): number {
    return this.linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
  }
  unlinkat(dirfd: number, path: PathArg, flags = 0): number {
    return errnoResult(() => {
      const fl = intArg(flags, 'flags');
      return this.task.unlinkat(fdArg(dirfd), pathArg(path), fl);
    });
  }
  unlink(path: PathArg): number {
    return this.unlinkat(AT_FDCWD, path, 0);
  }
  rmdir(path: PathArg): number {
    return this.unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
  }
  renameat2(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags = 0): number {
    return errnoResult(() => {
      const fl = intArg(flags, 'flags');
      const o = pathArg(oldpath);
      const n = pathArg(newpath);
      return this.task.renameat2(fdArg(olddirfd), o, fdArg(newdirfd), n, fl);
    });
  }
  renameat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg): number {
    return this.renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
  }
  rename(oldpath: PathArg, newpath: PathArg): number {
    return this.renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
  }
  fchmodat2(dirfd: number, path: PathArg, mode: number, flags = 0): number {
    return errnoResult(() => {
      const p = pathArg(path);
      const m = intArg(mode, 'mode');
      return this.task.fchmodat2(fdArg(dirfd), p, m, intArg(flags, 'flags'));
    });
  }
  fchmodat(dirfd: number, path: PathArg, mode: number): number {
    return this.fchmodat2(dirfd, path, mode, 0);
  }
  chmod(path: PathArg, mode: number): number {
    return this.fchmodat2(AT_FDCWD, path, mode, 0);
  }
  fchmod(fd: number, mode: number): number {
    return errnoResult(() => this.task.fchmod(fdArg(fd), intArg(mode, 'mode')));
  }
  fchownat(dirfd: number, path: PathArg, uid: number, gid: number, flags = 0): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return this.task.fchownat(fdArg(dirfd), p, intArg(uid, 'uid'), intArg(gid, 'gid'), intArg(flags, 'flags'));
    });
  }
  chown(path: PathArg, uid: number, gid: number): number {
    return this.fchownat(AT_FDCWD, path, uid, gid, 0);
  }
  lchown(path: PathArg, uid: number, gid: number): number {
    return this.fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
  }
  fchown(fd: number, uid: number, gid: number): number {
    return errnoResult(() => this.task.fchown(fdArg(fd), intArg(uid, 'uid'), intArg(gid, 'gid')));
  }
  /** utimensat(2): `times` is struct timespec[2] in guest memory (32 bytes) or NULL for "now"; a NULL path with a descriptor is futimens. */
  utimensat(dirfd: number, path: PathArg | null, times: Uint8Array | null, flags = 0): number {
    return errnoResult(() => {
      const ts = timesArg(times);
      const fl = intArg(flags, 'flags');
      const p = path === null || path === undefined ? null : pathArg(path);
      return this.task.utimensat(fdArg(dirfd), p, ts, fl);
    });
  }
  futimens(fd: number, times: Uint8Array | null): number {
    return this.utimensat(fd, null, times, 0);
  }
  setxattr(path: PathArg, name: PathArg, value: Uint8Array, size?: number | bigint, flags = 0): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return this.task.setxattr(p, pathArg(name), valueArg(value, size), intArg(flags, 'flags'));
    });
  }
  lsetxattr(path: PathArg, name: PathArg, value: Uint8Array, size?: number | bigint, flags = 0): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return this.task.lsetxattr(p, pathArg(name), valueArg(value, size), intArg(flags, 'flags'));
    });
  }
  fsetxattr(fd: number, name: PathArg, value: Uint8Array, size?: number | bigint, flags = 0): number {
    return errnoResult(() => this.task.fsetxattr(fdArg(fd), pathArg(name), valueArg(value, size), intArg(flags, 'flags')));
  }
  removexattr(path: PathArg, name: PathArg): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return this.task.removexattr(p, pathArg(name));
    });
  }
  lremovexattr(path: PathArg, name: PathArg): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return this.task.lremovexattr(p, pathArg(name));
    });
  }
  fremovexattr(fd: number, name: PathArg): number {
    return errnoResult(() => this.task.fremovexattr(fdArg(fd), pathArg(name)));
  }
  /** umask(2): never fails; an argument that is no integer is read as 0. */
  umask(mask: number): number {
    return this.task.umask(int32(mask) ?? 0);
  }
  /** pipe2(2): writes the two descriptors (int[2], 8 bytes) into `pipefd`. */
  pipe2(pipefd: Uint8Array, flags = 0): number {
    return errnoResult(() => {
      const fl = intArg(flags, 'flags');
      if (!(pipefd instanceof Uint8Array) || pipefd.length < 8) throw fault('int pipefd[2]');
      const [r, w] = this.task.pipe2(fl);
      const dv = new DataView(pipefd.buffer, pipefd.byteOffset, 8);
      dv.setInt32(0, r, true);
      dv.setInt32(4, w, true);
      return 0;
    });
  }
  pipe(pipefd: Uint8Array): number {
    return this.pipe2(pipefd, 0);
  }
  fstat(fd: number, statbuf: Uint8Array): number {
    return errnoResult(() => put(this.task.fstat(fdArg(fd)), statbuf, SIZEOF_STAT, encodeStat));
  }
  newfstatat(dirfd: number, path: PathArg, statbuf: Uint8Array, flags = 0): number {
    return errnoResult(() => {
      const fl = intArg(flags, 'flags');
      return put(this.task.newfstatat(fdArg(dirfd), pathArg(path), fl), statbuf, SIZEOF_STAT, encodeStat);
    });
  }
  stat(path: PathArg, statbuf: Uint8Array): number {
    return this.newfstatat(AT_FDCWD, path, statbuf, 0);
  }
  lstat(path: PathArg, statbuf: Uint8Array): number {
    return this.newfstatat(AT_FDCWD, path, statbuf, AT_SYMLINK_NOFOLLOW);
  }
  statx(dirfd: number, path: PathArg, flags: number, mask: number, statxbuf: Uint8Array): number {
    return errnoResult(() => {
      const fl = intArg(flags, 'flags');
      const m = intArg(mask, 'mask');
      return put(this.task.statx(fdArg(dirfd), pathArg(path), fl, m), statxbuf, SIZEOF_STATX, encodeStatx);
    });
  }
  readlinkat(dirfd: number, path: PathArg, buf: Uint8Array): number {
    return errnoResult(() => {
      // Linux checks the buffer's size before it reads the path.
      const b = bufArg(buf);
      if (b.length === 0) throw new SysError('EINVAL', 'buffer size must be positive');
      return this.task.readlinkat(fdArg(dirfd), pathArg(path), b);
    });
  }
  readlink(path: PathArg, buf: Uint8Array): number {
    return this.readlinkat(AT_FDCWD, path, buf);
  }
  faccessat(dirfd: number, path: PathArg, mode: number): number {
    return errnoResult(() => {
      const m = intArg(mode, 'mode');
      return this.task.faccessat(fdArg(dirfd), pathArg(path), m);
    });
  }
  faccessat2(dirfd: number, path: PathArg, mode: number, flags = 0): number {
    return errnoResult(() => {
      const m = intArg(mode, 'mode');
      const fl = intArg(flags, 'flags');
      return this.task.faccessat2(fdArg(dirfd), pathArg(path), m, fl);
    });
  }
  access(path: PathArg, mode: number): number {
    return this.faccessat2(AT_FDCWD, path, mode, 0);
  }
  getxattr(path: PathArg, name: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => {
      const p = pathArg(path);
      const n = pathArg(name);
      return xattrCall(buf, (b) => this.task.getxattr(p, n, b));
    });
  }
  lgetxattr(path: PathArg, name: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => {
      const p = pathArg(path);
      const n = pathArg(name);
      return xattrCall(buf, (b) => this.task.lgetxattr(p, n, b));
    });
  }
  fgetxattr(fd: number, name: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      const n = pathArg(name);
      return xattrCall(buf, (b) => this.task.fgetxattr(f, n, b));
    });
  }
  listxattr(path: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return xattrCall(buf, (b) => this.task.listxattr(p, b));
    });
  }
  llistxattr(path: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => {
      const p = pathArg(path);
      return xattrCall(buf, (b) => this.task.llistxattr(p, b));
    });
  }
  flistxattr(fd: number, buf: Uint8Array | null): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      return xattrCall(buf, (b) => this.task.flistxattr(f, b));
    });
  }
  statfs(path: PathArg, buf: Uint8Array): number {
    return errnoResult(() => put(this.task.statfs(pathArg(path)), buf, SIZEOF_STATFS, encodeStatfs));
  }
  fstatfs(fd: number, buf: Uint8Array): number {
    return errnoResult(() => put(this.task.fstatfs(fdArg(fd)), buf, SIZEOF_STATFS, encodeStatfs));
  }
  chdir(path: PathArg): number {
    return errnoResult(() => this.task.chdir(pathArg(path)));
  }
  fchdir(fd: number): number {
    return errnoResult(() => this.task.fchdir(fdArg(fd)));
  }
  chroot(path: PathArg): number {
    return errnoResult(() => this.task.chroot(pathArg(path)));
  }
  getcwd(buf: Uint8Array): number {
    return errnoResult(() => this.task.getcwd(bufArg(buf)));
  }
  dup(fd: number): number {
    return errnoResult(() => this.task.dup(fdArg(fd)));
  }
  dup2(oldfd: number, newfd: number): number {
    return errnoResult(() => this.task.dup2(fdArg(oldfd), fdArg(newfd)));
  }
  dup3(oldfd: number, newfd: number, flags = 0): number {
    return errnoResult(() => this.task.dup3(fdArg(oldfd), fdArg(newfd), intArg(flags, 'flags')));
  }
  /** fcntl(2): the argument is read only by the commands that use it (F_DUPFD's floor, F_SETFD's flags). */
  fcntl(fd: number, cmd: number, arg: number | bigint = 0): number {
    return errnoResult(() => {
      const f = fdArg(fd);
      const c = intArg(cmd, 'command');
      return this.task.fcntl(f, c, int32(arg) ?? Number.NaN);
    });
  }
  mount(source: PathArg | null, target: PathArg, fstype: PathArg | null, flags: number | bigint = 0, data: unknown = null): number {
    return errnoResult(() => {
      // The order Linux copies them in: type, source, options, then the target's walk.
      const type = optPathArg(fstype);
      const src = optPathArg(source);
      if (data !== null && data !== undefined && typeof data !== 'string' && !(data instanceof Uint8Array)) throw fault('the mount options');
      const fl = intArg(flags, 'flags');
      return this.task.mount(src, pathArg(target), type, fl, data);
    });
  }
  umount2(target: PathArg, flags = 0): number {
    return errnoResult(() => {
      const p = pathArg(target);
      return this.task.umount2(p, intArg(flags, 'flags'));
    });
  }
}

/** The names syscall() dispatches. */
export const SYSCALL_NAMES: ReadonlySet<string> = new Set(
  Object.getOwnPropertyNames(Syscalls.prototype).filter((n) => n !== 'constructor' && n !== 'syscall'),
);
