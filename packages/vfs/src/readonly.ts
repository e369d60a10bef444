/**
 * What Linux answers to a write-type call on a read-only mount, in its order: the checks
 * that come before mnt_want_write() still give their own errors (a missing parent,
 * search permission, EEXIST for a name that exists, EISDIR for "." in unlink, bad flags),
 * and only then EROFS. These work on any filesystem through the contract, so the EROFS
 * filesystem (read-only by nature) and a read-only mount of a writable one (MS_RDONLY,
 * checked by the mount layer) give the same answers.
 *
 * Where each order comes from (fs/namei.c, fs/open.c, fs/xattr.c, fs/utimes.c):
 * - mkdir, mknod, symlink, link, open(O_CREAT) of a missing name: filename_create looks
 *   the name up before it reports mnt_want_write's error, so EEXIST beats EROFS;
 * - unlink, rmdir, rename: mnt_want_write comes right after the parent walk and the "."
 *   / ".." checks, before the name is looked up, so EROFS beats ENOENT;
 * - chmod, chown, utimes, truncate, setxattr, removexattr: the path is resolved first,
 *   then argument checks, then EROFS.
 */
import type { Credentials } from './credentials.js';
import type { FsNode } from './contract.js';
import { SysError } from './errno.js';

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 65536;
/** utimensat's "leave this time alone" and "now" nanosecond values. */
export const UTIME_OMIT = (1 << 30) - 2;
export const UTIME_NOW = (1 << 30) - 1;

const S_IFMT = 0o170000;
const DOT = new Uint8Array([0x2e]);

const isDot = (n: Uint8Array) => n.length === 1 && n[0] === 0x2e;
const isDotDot = (n: Uint8Array) => n.length === 2 && n[0] === 0x2e && n[1] === 0x2e;

/** A name for a single directory step: "/" and NUL cannot occur in one. */
export function checkComponent(name: Uint8Array): void {
  if (name.length === 0) throw new SysError('ENOENT', 'empty name');
  if (name.includes(0x2f) || name.includes(0)) throw new SysError('EINVAL', 'a name cannot hold "/" or NUL');
}

/** Search permission on a directory (ENOTDIR, EACCES), as a walk step checks it. */
export function checkSearch(dir: FsNode, creds: Credentials): void {
  dir.fs.lookup(dir, DOT, creds).decRef();
}

/** Throws EROFS. */
export function readOnly(): never {
  throw new SysError('EROFS', 'read-only file system');
}

/** filename_create's order for mkdir, mknod, symlink, link and O_CREAT: EEXIST for "." / ".." and existing names, then EROFS. */
export function refuseCreate(dir: FsNode, name: Uint8Array, creds: Credentials): never {
  checkSearch(dir, creds);
  checkComponent(name);
  if (isDot(name) || isDotDot(name)) throw new SysError('EEXIST', 'file exists');
  let existing: FsNode | undefined;
  try {
    existing = dir.fs.lookup(dir, name, creds);
  } catch (e) {
    if (!(e instanceof SysError && e.code === 'ENOENT')) throw e;
  }
  if (existing) {
    existing.decRef();
    throw new SysError('EEXIST', 'file exists');
  }
  return readOnly();
}

/**
 * mknod(2)'s type check, which comes before the name's: a directory EPERM, an unknown type
 * EINVAL. Returns the type to make (a type of 0 is a regular file).
 */
export function checkMknodType(mode: number): number {
  switch (mode & S_IFMT) {
    case 0:
      return 0o100000;
    case 0o100000:
    case 0o020000:
    case 0o060000:
    case 0o010000:
    case 0o140000:
      return mode & S_IFMT;
    case 0o040000:
      throw new SysError('EPERM', 'mknod cannot make a directory');
    default:
      throw new SysError('EINVAL', `bad file type in mode 0${mode.toString(8)}`);
  }
}

/** unlink(2): EISDIR for "." and ".."; then EROFS before any lookup. */
export function refuseUnlink(dir: FsNode, name: Uint8Array, creds: Credentials): never {
  checkSearch(dir, creds);
  checkComponent(name);
  if (isDot(name) || isDotDot(name)) throw new SysError('EISDIR', 'is a directory');
  return readOnly();
}

/** rmdir(2): EINVAL for ".", ENOTEMPTY for ".."; then EROFS. */
export function refuseRmdir(dir: FsNode, name: Uint8Array, creds: Credentials): never {
  checkSearch(dir, creds);
  checkComponent(name);
  if (isDot(name)) throw new SysError('EINVAL', 'cannot remove "."');
  if (isDotDot(name)) throw new SysError('ENOTEMPTY', 'directory not empty');
  return readOnly();
}

/** renameat2(2)'s flag checks, which come before everything else. */
export function checkRenameFlags(flags: number): void {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) throw new SysError('EINVAL', `bad rename flags ${flags}`);
  if (flags & RENAME_EXCHANGE && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) throw new SysError('EINVAL', 'RENAME_EXCHANGE with other flags');
}

/** renameat2(2): flags, EXDEV across filesystems, EBUSY for "." / ".." (EEXIST on the new side with NOREPLACE), then EROFS. */
export function refuseRename(oldDir: FsNode, oldName: Uint8Array, newDir: FsNode, newName: Uint8Array, flags: number, creds: Credentials): never {
  checkRenameFlags(flags);
  checkSearch(oldDir, creds);
  checkSearch(newDir, creds);
  if (oldDir.fs !== newDir.fs) throw new SysError('EXDEV', 'cross-filesystem rename');
  checkComponent(oldName);
  checkComponent(newName);
  if (isDot(oldName) || isDotDot(oldName)) throw new SysError('EBUSY', 'cannot rename "." or ".."');
  if (isDot(newName) || isDotDot(newName)) throw new SysError(flags & RENAME_NOREPLACE ? 'EEXIST' : 'EBUSY', 'cannot rename onto "." or ".."');
  return readOnly();
}

/** The nanosecond field check of utimensat(2). Returns false when both times are UTIME_OMIT (nothing to do, success). */
export function checkTimes(times: readonly [{ sec: number; nsec: number }, { sec: number; nsec: number }] | null): boolean {
  if (!times) return true;
  for (const t of times) {
    if (t.nsec !== UTIME_OMIT && t.nsec !== UTIME_NOW && !(Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec <= 999_999_999)) {
      throw new SysError('EINVAL', `bad nanoseconds ${t.nsec}`);
    }
  }
  return !(times[0].nsec === UTIME_OMIT && times[1].nsec === UTIME_OMIT);
}

/** utimensat(2) on a read-only mount: argument checks, nothing-to-do succeeds, else EROFS. */
export function refuseUtimes(times: readonly [{ sec: number; nsec: number }, { sec: number; nsec: number }] | null): void {
  if (checkTimes(times)) readOnly();
}

/** truncate(2) of a resolved path: EINVAL for a negative length, EISDIR, EINVAL for a non-regular file, then EROFS. */
export function refuseTruncate(n: FsNode, length: number): never {
  if (length < 0) throw new SysError('EINVAL', 'negative length');
  const t = n.mode & S_IFMT;
  if (t === 0o040000) throw new SysError('EISDIR', 'is a directory');
  if (t !== 0o100000) throw new SysError('EINVAL', 'not a regular file');
  return readOnly();
}

/** An xattr name's length check (ERANGE), which comes before anything else. */
export function checkXattrName(name: Uint8Array): void {
  if (name.length === 0 || name.length > XATTR_NAME_MAX) throw new SysError('ERANGE', `xattr name of ${name.length} bytes`);
}

/** setxattr(2)'s argument checks: flags (EINVAL), name (ERANGE), size (E2BIG). */
export function checkSetxattr(name: Uint8Array, value: Uint8Array, flags: number): void {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) throw new SysError('EINVAL', `bad setxattr flags ${flags}`);
  checkXattrName(name);
  if (value.length > XATTR_SIZE_MAX) throw new SysError('E2BIG', `xattr value of ${value.length} bytes`);
}

/** setxattr(2) on a read-only mount. */
export function refuseSetxattr(name: Uint8Array, value: Uint8Array, flags: number): never {
  checkSetxattr(name, value, flags);
  return readOnly();
}

/** removexattr(2) on a read-only mount. */
export function refuseRemovexattr(name: Uint8Array): never {
  checkXattrName(name);
  return readOnly();
}

