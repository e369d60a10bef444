/**
 * The calls that name an entry to create, remove or change, across mounts, in the order
 * Linux's fs/namei.c, fs/open.c, fs/attr.c and fs/xattr.c make their checks. The mount
 * layer's share is what only it can know: which mount a path lands in (EXDEV for a
 * rename or link across mounts), whether that mount is read-only (EROFS, at the point
 * Linux's mnt_want_write() answers), and whether an entry is a mount point (EBUSY). The
 * rest goes to the filesystem through the contract.
 *
 * Orders kept here (each from the kernel's code path):
 * - create (mkdir, mknod, symlink, link, open O_CREAT): "/", "." and ".." are EEXIST; the
 *   name is looked up (EACCES, ENAMETOOLONG) and an existing one is EEXIST; a missing name
 *   followed by "/" is ENOENT unless a directory is being made; then EROFS; then (link)
 *   EXDEV; then the filesystem.
 * - unlink: "/", "." and ".." are EISDIR; EROFS; then the name (ENOENT; a trailing "/" is
 *   EISDIR for a directory, ENOTDIR otherwise); a mount point EBUSY; then the filesystem.
 * - rmdir: "." EINVAL, ".." ENOTEMPTY, "/" EBUSY; EROFS; ENOENT; a mount point EBUSY.
 * - rename: EXDEV across mounts; "/", "." or ".." on the old side EBUSY, on the new side
 *   EBUSY (EEXIST with RENAME_NOREPLACE); EROFS; a mount point on either side EBUSY.
 * - attribute changes (chmod, chown, utimes, truncate, xattrs): the path resolves first,
 *   then argument checks the call makes, then EROFS.
 */
import {
  MAY_WRITE,
  SysError,
  checkMknodType,
  checkRenameFlags,
  checkSearch,
  refuseTruncate,
  type Credentials,
} from '@erofs-js/vfs';
import type { Location, Mount } from './namespace.js';
import * as node from './node.js';
import { release, type Resolver } from './resolve.js';

const isDots = (n: Uint8Array) => n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e));
const isDot = (n: Uint8Array) => n.length === 1 && n[0] === 0x2e;

function readOnlyError(): SysError {
  return new SysError('EROFS', 'read-only file system');
}

/** EROFS when the mount refuses writes. */
export function wantWrite(m: Mount): void {
  if (m.readOnly) throw readOnlyError();
}

/** Whether `n` (a node of `m`'s filesystem) has a mount on it. */
function isMountPoint(m: Mount, n: node.Node): boolean {
  return m.children.size !== 0 && m.children.has(n);
}

/** Runs `fn` with the parent directory and last component of `bytes`, then releases the parent. */
function inParent<T>(r: Resolver, start: Location, bytes: Uint8Array, fn: (parent: Location, last: Uint8Array | null, trailingSlash: boolean) => T): T {
  const { parent, last, trailingSlash } = r.walkParent(start, bytes);
  try {
    return fn(parent, last, trailingSlash);
  } finally {
    release(parent);
  }
}

/** The child `name` of `dir`, or undefined when there is none (other errors propagate). */
function lookupOrNone(dir: node.Node, name: Uint8Array, creds: Credentials): node.Node | undefined {
  try {
    return node.lookup(dir, name, creds);
  } catch (e) {
    if (e instanceof SysError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * filename_create's checks for a new entry `last` in `parent`, up to and including the
 * mount's EROFS (see the module comment). `wantDir`: mkdir (a trailing slash is fine).
 */
export function prepareCreate(parent: Location, last: Uint8Array | null, trailingSlash: boolean, wantDir: boolean, creds: Credentials): asserts last is Uint8Array {
  if (last === null || isDots(last)) {
    if (last !== null) checkSearch(parent.node, creds);
    throw new SysError('EEXIST', 'file exists');
  }
  const existing = lookupOrNone(parent.node, last, creds);
  if (existing) {
    node.drop(existing);
    throw new SysError('EEXIST', 'file exists');
  }
  if (trailingSlash && !wantDir) throw new SysError('ENOENT', 'no such file or directory (a name ending in "/" names a directory)');
  wantWrite(parent.mount);
}

export function mkdir(r: Resolver, start: Location, bytes: Uint8Array, mode: number, creds: Credentials): void {
  inParent(r, start, bytes, (parent, last, slash) => {
    prepareCreate(parent, last, slash, true, creds);
    parent.node.fs.mkdir(parent.node, last, mode & 0o7777, creds);
  });
}

export function mknod(r: Resolver, start: Location, bytes: Uint8Array, mode: number, rdev: number, creds: Credentials): void {
  checkMknodType(mode);
  inParent(r, start, bytes, (parent, last, slash) => {
    prepareCreate(parent, last, slash, false, creds);
    // A type of 0 means a regular file, as in Linux.
    const m = (mode & 0o170000) === 0 ? mode | 0o100000 : mode;
    parent.node.fs.mknod(parent.node, last, m & 0o177777, rdev, creds);
  });
}

export function symlink(r: Resolver, start: Location, bytes: Uint8Array, target: Uint8Array, creds: Credentials): void {
  if (target.length === 0) throw new SysError('ENOENT', 'empty symlink target');
  inParent(r, start, bytes, (parent, last, slash) => {
    prepareCreate(parent, last, slash, false, creds);
    parent.node.fs.symlink(parent.node, last, target, creds);
  });
}

/** link(2): `existing` is the resolved old path (held by the caller). */
export function link(r: Resolver, existing: Location, start: Location, bytes: Uint8Array, creds: Credentials): void {
  inParent(r, start, bytes, (parent, last, slash) => {
    prepareCreate(parent, last, slash, false, creds);
    if (existing.mount !== parent.mount) throw new SysError('EXDEV', 'link across mounts');
    if (node.isDir(existing.node)) throw new SysError('EPERM', 'hard link to a directory');
    parent.node.fs.link(existing.node, parent.node, last, creds);
  });
}

export function unlink(r: Resolver, start: Location, bytes: Uint8Array, creds: Credentials): void {
  inParent(r, start, bytes, (parent, last, slash) => {
    if (last === null || isDots(last)) throw new SysError('EISDIR', 'is a directory');
    // Linux 6.18 looks the name up (search permission, EACCES) before mnt_want_write.
    checkSearch(parent.node, creds);
    wantWrite(parent.mount);
    const victim = node.lookup(parent.node, last, creds);
    try {
      if (slash) throw new SysError(node.isDir(victim) ? 'EISDIR' : 'ENOTDIR', node.isDir(victim) ? 'is a directory' : 'not a directory');
      if (isMountPoint(parent.mount, victim)) throw new SysError('EBUSY', 'a mount point');
    } finally {
      node.drop(victim);
    }
    parent.node.fs.unlink(parent.node, last, creds);
  });
}

export function rmdir(r: Resolver, start: Location, bytes: Uint8Array, creds: Credentials): void {
  inParent(r, start, bytes, (parent, last) => {
    if (last === null) throw new SysError('EBUSY', 'cannot remove the root');
    if (isDot(last)) throw new SysError('EINVAL', 'cannot remove "."');
    if (isDots(last)) throw new SysError('ENOTEMPTY', 'directory not empty');
    checkSearch(parent.node, creds);
    wantWrite(parent.mount);
    const victim = node.lookup(parent.node, last, creds);
    try {
      if (node.isDir(victim) && isMountPoint(parent.mount, victim)) throw new SysError('EBUSY', 'a mount point');
    } finally {
      node.drop(victim);
    }
    parent.node.fs.rmdir(parent.node, last, creds);
  });
}

/**
 * rename(2). Both starts are held and consumed; the new path is walked only after the old
 * one, so a start not yet handed to its walk when something fails (bad flags; the old
 * walk's ENOENT, ENOTDIR, ELOOP) is released here.
 */
export function rename(r: Resolver, oldStart: Location, oldBytes: Uint8Array, newStart: Location, newBytes: Uint8Array, flags: number, creds: Credentials): void {
  let oldHeld = true;
  let newHeld = true;
  try {
    checkRenameFlags(flags);
    oldHeld = false;
    inParent(r, oldStart, oldBytes, (op, oldLast, oldSlash) => {
      newHeld = false;
      inParent(r, newStart, newBytes, (np, newLast, newSlash) => {
        if (op.mount !== np.mount) throw new SysError('EXDEV', 'rename across mounts');
        if (oldLast === null || isDots(oldLast)) throw new SysError('EBUSY', 'cannot rename "/", "." or ".."');
        if (newLast === null || isDots(newLast)) throw new SysError(flags & 1 ? 'EEXIST' : 'EBUSY', 'cannot rename onto "/", "." or ".."');
        checkSearch(op.node, creds);
        checkSearch(np.node, creds);
        wantWrite(op.mount);
        if (oldSlash || newSlash) {
          // A name ending in "/" must be a directory: the source must be one (ENOTDIR), and
          // so must a source renamed to such a name (unless exchanging, where the target's
          // own type is checked by the filesystem).
          const from = node.lookup(op.node, oldLast, creds);
          const dir = node.isDir(from);
          node.drop(from);
          if (!dir && (oldSlash || !(flags & 2))) throw new SysError('ENOTDIR', 'not a directory');
        }
        if (op.mount.children.size !== 0) {
          // Mount points are EBUSY (vfs_rename), after the lookups' own answers: a missing
          // source ENOENT, an existing target EEXIST with RENAME_NOREPLACE.
          const from = node.lookup(op.node, oldLast, creds);
          const to = lookupOrNone(np.node, newLast, creds);
          try {
            if (to && flags & 1) throw new SysError('EEXIST', 'file exists');
            if (!to && flags & 2) throw new SysError('ENOENT', 'no such file or directory');
            if (isMountPoint(op.mount, from) || (to && isMountPoint(op.mount, to))) throw new SysError('EBUSY', 'a mount point');
          } finally {
            node.drop(from);
            if (to) node.drop(to);
          }
        }
        op.node.fs.rename(op.node, oldLast, np.node, newLast, flags, creds);
      });
    });
  } finally {
    if (oldHeld) release(oldStart);
    if (newHeld) release(newStart);
  }
}

/** truncate(2) of a resolved location. */
export function truncate(loc: Location, length: number, creds: Credentials): void {
  if (loc.mount.readOnly) {
    // vfs_truncate: EISDIR and EINVAL for the type, then mnt_want_write's EROFS.
    refuseTruncate(loc.node, length);
  }
  loc.node.fs.truncate(loc.node, length, creds);
}

/**
 * open(2) of an existing regular file for writing (or O_TRUNC) on a read-only mount of a
 * writable filesystem: the permission check comes first (EACCES), then EROFS.
 */
export function refuseWriteOpen(loc: Location, creds: Credentials): never {
  node.access(loc.node, MAY_WRITE, creds);
  throw readOnlyError();
}
