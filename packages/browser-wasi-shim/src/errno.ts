/**
 * Linux errno (what the VFS and mount layers throw, as SysError codes) to WASI preview1
 * errno (what a guest reads back from a wasi_snapshot_preview1 call). One table: the type
 * makes it name every code the VFS can produce, so a code added there fails to compile here
 * until it has a WASI answer.
 */
import { ERRNO, toSysError, type Errno } from '@erofs-js/vfs';
import { wasi } from '@bjorn3/browser_wasi_shim';

export const WASI_ERRNO: Readonly<Record<Errno, number>> = {
  EPERM: wasi.ERRNO_PERM, // 63
  ENOENT: wasi.ERRNO_NOENT, // 44
  EIO: wasi.ERRNO_IO, // 29
  ENXIO: wasi.ERRNO_NXIO, // 60
  E2BIG: wasi.ERRNO_2BIG, // 1
  EBADF: wasi.ERRNO_BADF, // 8
  EACCES: wasi.ERRNO_ACCES, // 2
  EFAULT: wasi.ERRNO_FAULT, // 21
  EBUSY: wasi.ERRNO_BUSY, // 10
  EEXIST: wasi.ERRNO_EXIST, // 20
  EXDEV: wasi.ERRNO_XDEV, // 75
  ENODEV: wasi.ERRNO_NODEV, // 43
  ENOTDIR: wasi.ERRNO_NOTDIR, // 54
  EISDIR: wasi.ERRNO_ISDIR, // 31
  EINVAL: wasi.ERRNO_INVAL, // 28
  EMFILE: wasi.ERRNO_MFILE, // 33
  EFBIG: wasi.ERRNO_FBIG, // 22
  ENOSPC: wasi.ERRNO_NOSPC, // 51
  ESPIPE: wasi.ERRNO_SPIPE, // 70
  EROFS: wasi.ERRNO_ROFS, // 69
  ERANGE: wasi.ERRNO_RANGE, // 68
  ENAMETOOLONG: wasi.ERRNO_NAMETOOLONG, // 37
  ENOSYS: wasi.ERRNO_NOSYS, // 52
  ENOTEMPTY: wasi.ERRNO_NOTEMPTY, // 55
  ELOOP: wasi.ERRNO_LOOP, // 32
  EAGAIN: wasi.ERRNO_AGAIN, // 6
  EPIPE: wasi.ERRNO_PIPE, // 64
  EOVERFLOW: wasi.ERRNO_OVERFLOW, // 61
  // WASI has no ENODATA (a missing xattr); xattrs are not part of preview1 anyway.
  ENODATA: wasi.ERRNO_NOENT,
  // Linux's EOPNOTSUPP and ENOTSUP are one number; WASI keeps only "notsup".
  EOPNOTSUPP: wasi.ERRNO_NOTSUP, // 58
  // A corrupt image: WASI has no EUCLEAN; an I/O error is what a guest can act on.
  EUCLEAN: wasi.ERRNO_IO,
};

/** The WASI errno for a Linux errno name (EIO for a name the table does not know). */
export function wasiErrno(code: string): number {
  return Object.hasOwn(WASI_ERRNO, code) ? WASI_ERRNO[code as Errno] : wasi.ERRNO_IO;
}

/**
 * The WASI errno for an error thrown by the layers below: SysError and ErofsError map by
 * code. Anything else is a bug in this stack, not a guest-visible condition, and is
 * rethrown (as the VFS's own toSysError does).
 */
export function errnoOf(e: unknown): number {
  return wasiErrno(toSysError(e).code);
}

/** Linux numbers, for tests and messages. */
export { ERRNO as LINUX_ERRNO };
