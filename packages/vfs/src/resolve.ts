/**
 * A simple path resolver over one Filesystem, for tests and tools. Paths start at the
 * filesystem root (absolute, and symlink targets that are absolute) or at a given
 * dentry; ".." of the root is the root. The mount layer has its own resolver that
 * crosses mounts; this one follows the same Linux rules within one filesystem:
 * at most 40 symlinks followed over the whole resolution (ELOOP), paths of 4096 bytes
 * or more ENAMETOOLONG, components of more than 255 bytes ENAMETOOLONG, a trailing slash
 * on a non-directory ENOTDIR, search permission on every directory walked through.
 * A symlink whose target is empty (possible only in a crafted image) is followed to the
 * directory holding it, with the rest of the path walked from there, as Linux does.
 */
import type { Credentials } from './credentials.js';
import type { Dentry } from './dentry.js';
import { SysError } from './errno.js';
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_TMPFILE, checkOpenFlags, type FileDescription } from './file.js';
import type { Filesystem } from './filesystem.js';
import { splitPath } from '@erofs-js/erofs';

export const PATH_MAX = 4096;
export const MAX_SYMLINKS = 40;

export interface ResolveOptions {
  /** Follow a symlink named by the last component (default true). */
  follow?: boolean;
  /** The result must be a directory (ENOTDIR otherwise), like a trailing slash. */
  directory?: boolean;
  /** Where a relative path starts (default: the root). */
  at?: Dentry;
}

const SLASH = 0x2f;
const utf8 = new TextEncoder();

/** Components of an ASCII path: lookup() takes them as they are, with no UTF-8 round trip. */
function splitAscii(path: string): string[] {
  const parts: string[] = [];
  const n = path.length;
  let i = 0;
  while (i < n) {
    if (path.charCodeAt(i) === SLASH) {
      i++;
      continue;
    }
    let j = path.indexOf('/', i);
    if (j < 0) j = n;
    parts.push(path.slice(i, j));
    i = j;
  }
  return parts;
}

/**
 * The path to walk: ASCII strings stay strings (encoding every path to bytes and each
 * component back to a key string was most of the cost of a warm lookup); others become
 * UTF-8 bytes.
 */
function pathArg(path: string | Uint8Array): string | Uint8Array {
  let p: string | Uint8Array = path;
  if (typeof path === 'string') {
    for (let i = 0; i < path.length; i++) {
      if (path.charCodeAt(i) >= 0x80) {
        p = utf8.encode(path);
        break;
      }
    }
  }
  if (p.length === 0) throw new SysError('ENOENT', 'empty path');
  if (p.length >= PATH_MAX) throw new SysError('ENAMETOOLONG', `path of ${p.length} bytes`);
  return p;
}

/** The path as UTF-8 bytes, for the callers that cut it at its last component. */
function pathBytes(path: string | Uint8Array): Uint8Array {
  const p = pathArg(path);
  return typeof p === 'string' ? utf8.encode(p) : p;
}

const firstByte = (p: string | Uint8Array) => (typeof p === 'string' ? p.charCodeAt(0) : p[0]);
const lastByte = (p: string | Uint8Array) => (typeof p === 'string' ? p.charCodeAt(p.length - 1) : p[p.length - 1]);

/** One resolution: the symlink budget is shared by every walk it makes. */
class Walk {
  links = 0;
  constructor(
    readonly fs: Filesystem,
    readonly creds: Credentials,
  ) {}

  /**
   * Reads a symlink for following it, counting it against the budget. The target may be
   * empty (a crafted image's link whose body starts with a NUL): following it then adds
   * no component, so the walk goes on from the link's directory, as Linux's does.
   */
  follow(link: Dentry): Uint8Array {
    if (++this.links > MAX_SYMLINKS) throw new SysError('ELOOP', 'too many levels of symbolic links');
    return this.fs.readlink(link);
  }

  /**
   * Walks `bytes` from `start` (a held reference, consumed). Returns a held reference
   * to the result.
   */
  walk(start: Dentry, path: string | Uint8Array, followLast: boolean, mustDir: boolean): Dentry {
    let cur = firstByte(path) === SLASH ? (start.decRef(), this.fs.root.incRef()) : start;
    const pending: (string | Uint8Array)[] = (typeof path === 'string' ? splitAscii(path) : splitPath(path)).reverse();
    if (lastByte(path) === SLASH) {
      followLast = true;
      mustDir = true;
    }
    try {
      while (pending.length) {
        const comp = pending.pop()!;
        const last = pending.length === 0;
        const next = this.fs.lookup(cur, comp, this.creds);
        if (next.inode.isSymlink && (!last || followLast)) {
          let target: Uint8Array;
          try {
            target = this.follow(next);
          } finally {
            next.decRef();
          }
          if (target[0] === SLASH) {
            cur.decRef();
            cur = this.fs.root.incRef();
          }
          if (last && target[target.length - 1] === SLASH) mustDir = true;
          const parts = splitPath(target);
          for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]);
          continue;
        }
        cur.decRef();
        cur = next;
      }
      if (mustDir && !cur.inode.isDir) throw new SysError('ENOTDIR', 'not a directory');
      return cur;
    } catch (e) {
      cur.decRef();
      throw e;
    }
  }
}

/**
 * Resolves a path to a dentry, returned with a reference the caller drops with decRef().
 */
export function resolve(fs: Filesystem, path: string | Uint8Array, creds: Credentials, options: ResolveOptions = {}): Dentry {
  const p = pathArg(path);
  const start = (options.at ?? fs.root).incRef();
  return new Walk(fs, creds).walk(start, p, options.follow ?? true, options.directory ?? false);
}

/**
 * Splits a path into its parent (resolved, held) and last component. `last` is null for
 * a path with no last component ("/", or only slashes); `trailingSlash` tells whether
 * the path ended in "/".
 */
export function resolveParent(
  fs: Filesystem,
  path: string | Uint8Array,
  creds: Credentials,
  at?: Dentry,
): { parent: Dentry; last: Uint8Array | null; trailingSlash: boolean } {
  const bytes = pathBytes(path);
  return parentOf(new Walk(fs, creds), (at ?? fs.root).incRef(), bytes);
}

function parentOf(w: Walk, start: Dentry, bytes: Uint8Array): { parent: Dentry; last: Uint8Array | null; trailingSlash: boolean } {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === SLASH) end--;
  const trailingSlash = end < bytes.length;
  let s = end;
  while (s > 0 && bytes[s - 1] !== SLASH) s--;
  if (end === 0) {
    // "/" or "///": the root, no last component.
    return { parent: w.walk(start, bytes, true, true), last: null, trailingSlash };
  }
  const last = bytes.subarray(s, end);
  const parent = s === 0 ? start : w.walk(start, bytes.subarray(0, s), true, true);
  return { parent, last, trailingSlash };
}

/**
 * open(2) of a path: the flags checked first (checkOpenFlags), resolution with the flags'
 * rules (O_NOFOLLOW, O_DIRECTORY, O_CREAT following a symlink unless O_EXCL), then
 * Filesystem.open. With O_CREAT: a path naming a directory by "/", "." or ".." is EEXIST
 * with O_EXCL and EISDIR without (after search permission on the directory holding the
 * dot); a name followed by "/" is EISDIR; a missing name in an existing directory EROFS.
 */
export function openPath(fs: Filesystem, path: string | Uint8Array, flagsArg: number, creds: Credentials, at?: Dentry): FileDescription {
  const flags = checkOpenFlags(flagsArg);
  const w = new Walk(fs, creds);
  if (flags & O_PATH || !(flags & O_CREAT)) {
    const p = pathArg(path); // before the hold on the start: it may throw
    const d = w.walk((at ?? fs.root).incRef(), p, !(flags & O_NOFOLLOW), (flags & O_DIRECTORY) !== 0 || (flags & O_TMPFILE) === O_TMPFILE);
    try {
      return fs.open(d, flags, creds);
    } finally {
      d.decRef();
    }
  }
  let bytes = pathBytes(path);
  let start = (at ?? fs.root).incRef();
  for (;;) {
    const { parent, last, trailingSlash } = parentOf(w, start, bytes);
    try {
      const dots = last !== null && last[0] === 0x2e && (last.length === 1 || (last.length === 2 && last[1] === 0x2e));
      if (last === null || dots) {
        // An existing directory named without a name of its own: O_EXCL is checked before
        // "is a directory". A dot is one step of the walk (search permission first).
        if (dots) fs.lookup(parent, last, creds).decRef();
        throw new SysError(flags & O_EXCL ? 'EEXIST' : 'EISDIR', flags & O_EXCL ? 'file exists' : 'is a directory');
      }
      if (trailingSlash) throw new SysError('EISDIR', 'is a directory');
      let d: Dentry;
      try {
        d = fs.lookup(parent, last, creds);
      } catch (e) {
        if (e instanceof SysError && e.code === 'ENOENT') throw new SysError('EROFS', 'read-only file system');
        throw e;
      }
      if (d.inode.isSymlink && !(flags & (O_EXCL | O_NOFOLLOW))) {
        let target: Uint8Array;
        try {
          target = w.follow(d);
        } finally {
          d.decRef();
        }
        // Resolve the target from the link's directory, under the same budget.
        bytes = target;
        start = parent.incRef();
        continue;
      }
      try {
        return fs.open(d, flags, creds);
      } finally {
        d.decRef();
      }
    } finally {
      parent.decRef();
    }
  }
}
