/**
 * Resolution within one filesystem, for tests, tools and the ZenFS backend: the one walker
 * (walker.ts) over a mount table of a single mount. Paths start at the filesystem root
 * (absolute paths, and absolute symlink targets) or at a given node; ".." of the root is
 * the root. The rules are the walker's, Linux's.
 */
import type { FsNode } from './contract.js';
import type { Credentials } from './credentials.js';
import type { Dentry } from './dentry.js';
import { SysError } from './errno.js';
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_TMPFILE, checkOpenFlags, type FileDescription } from './file.js';
import type { Filesystem } from './filesystem.js';
import { Walker, checkPath, pathBytes, soleMount, type Place, type WalkMount } from './walker.js';

export interface ResolveOptions {
  /** Follow a symlink named by the last component (default true). */
  follow?: boolean;
  /** The result must be a directory (ENOTDIR otherwise), like a trailing slash. */
  directory?: boolean;
  /** Where a relative path starts (default: the root). */
  at?: Dentry;
}

/** A walker over `fs` alone, and the place `at` (default: the root) in it. */
function walkerOf(fs: Filesystem, creds: Credentials, at?: FsNode): { w: Walker; start: (n?: FsNode) => Place } {
  const mount: WalkMount = soleMount(fs.root);
  const w = new Walker(creds, { mount, node: fs.root });
  return { w, start: (n = at ?? fs.root) => (n.incRef(), { mount, node: n }) };
}

/** The path as checked bytes (ENOENT when empty, ENAMETOOLONG at 4096). */
function checked(path: string | Uint8Array): Uint8Array {
  const b = pathBytes(path);
  checkPath(b);
  return b;
}

/** Resolves a path to a dentry, returned with a reference the caller drops with decRef(). */
export function resolve(fs: Filesystem, path: string | Uint8Array, creds: Credentials, options: ResolveOptions = {}): Dentry {
  const bytes = checked(path);
  const { w, start } = walkerOf(fs, creds, options.at);
  return w.walk(start(), bytes, options.follow ?? true, options.directory ?? false).node as Dentry;
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
  const bytes = checked(path);
  const { w, start } = walkerOf(fs, creds, at);
  const r = w.walkParent(start(), bytes);
  return { parent: r.parent.node as Dentry, last: r.last, trailingSlash: r.trailingSlash };
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
  let bytes = checked(path);
  const { w, start } = walkerOf(fs, creds, at);
  if (flags & O_PATH || !(flags & O_CREAT)) {
    const d = w.walk(start(), bytes, !(flags & O_NOFOLLOW), (flags & O_DIRECTORY) !== 0 || (flags & O_TMPFILE) === O_TMPFILE).node as Dentry;
    try {
      return fs.open(d, flags, creds);
    } finally {
      d.decRef();
    }
  }
  let from = start();
  for (;;) {
    const { parent: p, last, trailingSlash } = w.walkParent(from, bytes);
    const parent = p.node as Dentry;
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
        from = start(parent);
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
