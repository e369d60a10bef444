/**
 * Raw syscall adapter: the Task surface with the kernel's return convention, for an
 * emulator that forwards guest syscalls as they come.
 *
 * Every call returns a number: the result when non-negative, -errno on failure (it never
 * throws a SysError). Buffers are Uint8Array views of guest memory; structures are
 * written in the x86-64 layout (struct stat 144 bytes, struct statfs 120 bytes; struct
 * statx is the same everywhere, 256 bytes), and a buffer too small for the structure is
 * EFAULT's cousin here: a RangeError, since it is the emulator's bug, not the guest's.
 * Anything thrown that is neither a SysError nor a decoder error is a bug in this
 * library and is rethrown rather than turned into an errno.
 *
 *   const sys = new Syscalls(task);
 *   const fd = sys.openat(AT_FDCWD, '/etc/passwd', O_RDONLY, 0);   // 3, or -2 (ENOENT)
 *   sys.syscall('newfstatat', AT_FDCWD, '/bin', statBuf, 0);       // dispatch by name
 */
import { splitDev } from '@erofs-js/erofs';
import { ERRNO, toSysError, type Stat, type StatFs } from '@erofs-js/vfs';
import type { PathArg } from './resolve.js';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, type MountStatx, type Task } from './task.js';

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
export function errnoResult(fn: () => number): number {
  try {
    return fn();
  } catch (e) {
    return -toSysError(e).errno;
  }
}

export class Syscalls {
  constructor(readonly task: Task) {}

  /** Dispatches by syscall name; an unknown name is -ENOSYS. */
  syscall(name: string, ...args: unknown[]): number {
    if (!SYSCALL_NAMES.has(name)) return -ERRNO.ENOSYS;
    return (this as unknown as Record<string, (...a: unknown[]) => number>)[name](...args);
  }

  openat(dirfd: number, path: PathArg, flags = 0, mode = 0): number {
    return errnoResult(() => this.task.openat(dirfd, path, flags, mode));
  }
  open(path: PathArg, flags = 0, mode = 0): number {
    return this.openat(AT_FDCWD, path, flags, mode);
  }
  close(fd: number): number {
    return errnoResult(() => this.task.close(fd));
  }
  read(fd: number, buf: Uint8Array, count = buf.length): number {
    return errnoResult(() => this.task.read(fd, buf.subarray(0, count)));
  }
  pread64(fd: number, buf: Uint8Array, offset: number): number {
    return errnoResult(() => this.task.pread64(fd, buf, offset));
  }
  readv(fd: number, iov: readonly Uint8Array[]): number {
    return errnoResult(() => this.task.readv(fd, iov));
  }
  preadv(fd: number, iov: readonly Uint8Array[], offset: number): number {
    return errnoResult(() => this.task.preadv(fd, iov, offset));
  }
  lseek(fd: number, offset: number, whence: number): number {
    return errnoResult(() => this.task.lseek(fd, offset, whence));
  }
  getdents64(fd: number, buf: Uint8Array): number {
    return errnoResult(() => this.task.getdents64(fd, buf));
  }
  write(fd: number, buf: Uint8Array): number {
    return errnoResult(() => this.task.write(fd, buf));
  }
  fsync(fd: number): number {
    return errnoResult(() => this.task.fsync(fd));
  }
  fdatasync(fd: number): number {
    return this.fsync(fd);
  }
  fstat(fd: number, statbuf: Uint8Array): number {
    return errnoResult(() => (encodeStat(this.task.fstat(fd), statbuf), 0));
  }
  newfstatat(dirfd: number, path: PathArg, statbuf: Uint8Array, flags = 0): number {
    return errnoResult(() => (encodeStat(this.task.newfstatat(dirfd, path, flags), statbuf), 0));
  }
  stat(path: PathArg, statbuf: Uint8Array): number {
    return this.newfstatat(AT_FDCWD, path, statbuf, 0);
  }
  lstat(path: PathArg, statbuf: Uint8Array): number {
    return this.newfstatat(AT_FDCWD, path, statbuf, AT_SYMLINK_NOFOLLOW);
  }
  statx(dirfd: number, path: PathArg, flags: number, mask: number, statxbuf: Uint8Array): number {
    return errnoResult(() => (encodeStatx(this.task.statx(dirfd, path, flags, mask), statxbuf), 0));
  }
  readlinkat(dirfd: number, path: PathArg, buf: Uint8Array): number {
    return errnoResult(() => this.task.readlinkat(dirfd, path, buf));
  }
  readlink(path: PathArg, buf: Uint8Array): number {
    return this.readlinkat(AT_FDCWD, path, buf);
  }
  faccessat(dirfd: number, path: PathArg, mode: number): number {
    return errnoResult(() => this.task.faccessat(dirfd, path, mode));
  }
  faccessat2(dirfd: number, path: PathArg, mode: number, flags = 0): number {
    return errnoResult(() => this.task.faccessat2(dirfd, path, mode, flags));
  }
  access(path: PathArg, mode: number): number {
    return this.faccessat2(AT_FDCWD, path, mode, 0);
  }
  getxattr(path: PathArg, name: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => this.task.getxattr(path, name, buf));
  }
  lgetxattr(path: PathArg, name: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => this.task.lgetxattr(path, name, buf));
  }
  fgetxattr(fd: number, name: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => this.task.fgetxattr(fd, name, buf));
  }
  listxattr(path: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => this.task.listxattr(path, buf));
  }
  llistxattr(path: PathArg, buf: Uint8Array | null): number {
    return errnoResult(() => this.task.llistxattr(path, buf));
  }
  flistxattr(fd: number, buf: Uint8Array | null): number {
    return errnoResult(() => this.task.flistxattr(fd, buf));
  }
  statfs(path: PathArg, buf: Uint8Array): number {
    return errnoResult(() => (encodeStatfs(this.task.statfs(path), buf), 0));
  }
  fstatfs(fd: number, buf: Uint8Array): number {
    return errnoResult(() => (encodeStatfs(this.task.fstatfs(fd), buf), 0));
  }
  chdir(path: PathArg): number {
    return errnoResult(() => this.task.chdir(path));
  }
  fchdir(fd: number): number {
    return errnoResult(() => this.task.fchdir(fd));
  }
  chroot(path: PathArg): number {
    return errnoResult(() => this.task.chroot(path));
  }
  getcwd(buf: Uint8Array): number {
    return errnoResult(() => this.task.getcwd(buf));
  }
  dup(fd: number): number {
    return errnoResult(() => this.task.dup(fd));
  }
  dup2(oldfd: number, newfd: number): number {
    return errnoResult(() => this.task.dup2(oldfd, newfd));
  }
  dup3(oldfd: number, newfd: number, flags = 0): number {
    return errnoResult(() => this.task.dup3(oldfd, newfd, flags));
  }
  fcntl(fd: number, cmd: number, arg = 0): number {
    return errnoResult(() => this.task.fcntl(fd, cmd, arg));
  }
  mount(source: PathArg | null, target: PathArg, fstype: PathArg | null, flags = 0, data: unknown = null): number {
    return errnoResult(() => this.task.mount(source, target, fstype, flags, data));
  }
  umount2(target: PathArg, flags = 0): number {
    return errnoResult(() => this.task.umount2(target, flags));
  }
}

/** The names syscall() dispatches. */
export const SYSCALL_NAMES: ReadonlySet<string> = new Set(
  Object.getOwnPropertyNames(Syscalls.prototype).filter((n) => n !== 'constructor' && n !== 'syscall'),
);
