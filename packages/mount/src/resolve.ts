/**
 * Path resolution across mounts, the way Linux's path walk does it.
 *
 * A walk starts at the task's root (absolute paths), its cwd or an open directory
 * (relative paths), and takes one component at a time:
 *  - every step first needs search permission on the current directory (EACCES) and a
 *    directory to search in (ENOTDIR);
 *  - "." stays (and does not enter a mount stacked on the current directory);
 *  - ".." at the task root stays; at the root of a mount it first climbs to the mount
 *    point in the parent mount (repeatedly), then to the parent directory, and then
 *    enters whatever is mounted there;
 *  - a name is looked up in the current filesystem, and if a mount covers the result the
 *    walk enters the newest mount's root (mounts are always crossed, even for a last
 *    component that is not followed);
 *  - a symlink in the middle of a path, or at its end unless told not to follow, is read
 *    and its target walked in place: an absolute target restarts at the task root, never
 *    at the root of the image holding the link and never anywhere on the host. At most
 *    40 links are followed in one resolution (ELOOP). An empty target (only a crafted
 *    image has one) adds nothing: the walk goes on from the link's directory.
 * Paths of 4096 bytes or more are ENAMETOOLONG, components over 255 bytes too (from the
 * filesystem's lookup); an empty path is ENOENT; a trailing slash demands a directory
 * and follows a final symlink.
 *
 * Locations returned are held (their dentry has a reference): release with release().
 */
import { SysError, type Credentials } from '@erofs-js/vfs';
import type { Location } from './namespace.js';
import { checkSearch, drop, hold, isDir, isSymlink, lookupBytes, parentNode, readlink } from './node.js';

export const PATH_MAX = 4096;
export const MAXSYMLINKS = 40;

const SLASH = 0x2f;
const DOT = 0x2e;
const utf8 = new TextEncoder();

export type PathArg = string | Uint8Array;

export function pathBytes(path: PathArg): Uint8Array {
  return typeof path === 'string' ? utf8.encode(path) : path;
}

/** Length checks every path argument gets: ENOENT when empty (unless allowed), ENAMETOOLONG at 4096. */
export function checkPath(bytes: Uint8Array, emptyOk = false): void {
  if (bytes.length === 0 && !emptyOk) throw new SysError('ENOENT', 'empty path');
  if (bytes.length >= PATH_MAX) throw new SysError('ENAMETOOLONG', `path of ${bytes.length} bytes`);
}

/** No component follows `pos` in `buf` nor in any parked remainder: the component just taken is the last. */
function isLast(buf: Uint8Array, pos: number, saved: readonly { buf: Uint8Array; pos: number }[] | null): boolean {
  for (let i = pos; i < buf.length; i++) if (buf[i] !== SLASH) return false;
  if (saved) {
    for (const r of saved) {
      for (let i = r.pos; i < r.buf.length; i++) if (r.buf[i] !== SLASH) return false;
    }
  }
  return true;
}

/** Takes a reference on a location's node. */
export function holdLoc(loc: Location): Location {
  hold(loc.node);
  return loc;
}

/** Drops the reference a held location carries. */
export function release(loc: Location): void {
  drop(loc.node);
}

/** While a mount covers the location, moves to the root of the newest one. Consumes and returns a held location. */
export function crossMounts(loc: Location): Location {
  let cur = loc;
  for (let c = cur.mount.children.get(cur.node); c; c = cur.mount.children.get(cur.node)) {
    const next = { mount: c, node: hold(c.root) };
    drop(cur.node);
    cur = next;
  }
  return cur;
}

export interface WalkResult {
  parent: Location;
  /** The last component, or null for a path with none ("/", or only slashes). */
  last: Uint8Array | null;
  trailingSlash: boolean;
}

/** One resolution: its symlink budget is shared by every walk it makes. */
export class Resolver {
  links = 0;

  constructor(
    readonly creds: Credentials,
    /** The task root: absolute paths and absolute symlink targets start here; ".." stops here. */
    readonly root: Location,
  ) {}

  /**
   * Reads a symlink to follow it, counting it against the budget. The target may be empty
   * (a crafted image's link whose body starts with a NUL): following it then adds no
   * component, so the walk goes on from the link's directory, as Linux's does.
   */
  follow(link: Location['node']): Uint8Array {
    if (++this.links > MAXSYMLINKS) throw new SysError('ELOOP', 'too many levels of symbolic links');
    return readlink(link);
  }

  private jumpRoot(cur: Location): Location {
    const next = { mount: this.root.mount, node: hold(this.root.node) };
    drop(cur.node);
    return next;
  }

  /** "..": see the module comment. Consumes and returns a held location. */
  dotdot(cur: Location): Location {
    checkSearch(cur.node, this.creds);
    let m = cur.mount;
    let n = cur.node;
    let stay = false;
    for (;;) {
      if (m === this.root.mount && n === this.root.node) {
        stay = true;
        break;
      }
      if (n !== m.root) break;
      if (!m.parent) {
        stay = true;
        break;
      }
      n = m.mountpoint!;
      m = m.parent;
    }
    const next = { mount: m, node: hold(stay ? n : parentNode(n)) };
    drop(cur.node);
    return crossMounts(next);
  }

  /**
   * Walks `bytes` from `start` (held; consumed). Returns the result held.
   * `followLast`: follow a symlink named by the last component. `mustDir`: ENOTDIR unless
   * the result is a directory (a trailing slash implies both).
   */
  walk(start: Location, bytes: Uint8Array, followLast: boolean, mustDir: boolean): Location {
    return this.walkFrom(start.mount, start.node, bytes, followLast, mustDir);
  }

  /**
   * walk() from a location given as its two parts (`node` held; consumed). The held
   * location being walked stays in two variables: a step inside one mount, or the jump
   * of an absolute path to the root, makes no Location object (the rare steps, "..", a
   * symlink's jump to the root, a mount crossing, do).
   */
  walkFrom(mount: Location['mount'], node: Location['node'], bytes: Uint8Array, followLast: boolean, mustDir: boolean): Location {
    if (bytes[0] === SLASH) {
      hold(this.root.node);
      drop(node);
      mount = this.root.mount;
      node = this.root.node;
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === SLASH) {
      followLast = true;
      mustDir = true;
    }
    // Components are taken in place from the path (no split array, no per-path garbage
    // beyond the name views): `buf` is what is being walked, from `pos`; a followed
    // symlink parks the rest of it in `saved` and walks its target first.
    let buf = bytes;
    let pos = 0;
    let saved: { buf: Uint8Array; pos: number }[] | null = null;
    try {
      for (;;) {
        while (pos < buf.length && buf[pos] === SLASH) pos++;
        if (pos === buf.length) {
          if (saved === null || saved.length === 0) break;
          const r = saved.pop()!;
          buf = r.buf;
          pos = r.pos;
          continue;
        }
        const s = pos;
        while (pos < buf.length && buf[pos] !== SLASH) pos++;
        const n = pos - s;
        if (n === 1 && buf[s] === DOT) {
          checkSearch(node, this.creds);
          continue;
        }
        if (n === 2 && buf[s] === DOT && buf[s + 1] === DOT) {
          const up = this.dotdot({ mount, node });
          mount = up.mount;
          node = up.node;
          continue;
        }
        const next = lookupBytes(node, buf, s, pos, this.creds);
        if (isSymlink(next) && (followLast || !isLast(buf, pos, saved))) {
          const last = isLast(buf, pos, saved);
          let target: Uint8Array;
          try {
            target = this.follow(next);
          } finally {
            drop(next);
          }
          if (target[0] === SLASH) {
            const r = this.jumpRoot({ mount, node });
            mount = r.mount;
            node = r.node;
          }
          if (last && target[target.length - 1] === SLASH) mustDir = true;
          (saved ??= []).push({ buf, pos });
          buf = target;
          pos = 0;
          continue;
        }
        drop(node);
        node = next;
        if (mount.children.size !== 0) {
          const r = crossMounts({ mount, node });
          mount = r.mount;
          node = r.node;
        }
      }
      if (mustDir && !isDir(node)) throw new SysError('ENOTDIR', 'not a directory');
      return { mount, node };
    } catch (e) {
      drop(node);
      throw e;
    }
  }

  /**
   * Splits a path into its parent directory (walked, held) and last component, for
   * calls that create or name an entry (open with O_CREAT, mkdir, unlink, ...).
   */
  walkParent(start: Location, bytes: Uint8Array): WalkResult {
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === SLASH) end--;
    const trailingSlash = end < bytes.length;
    if (end === 0) return { parent: this.walk(start, bytes, true, true), last: null, trailingSlash };
    let s = end;
    while (s > 0 && bytes[s - 1] !== SLASH) s--;
    // A copy: `bytes` may be the caller's Buffer (whose slice() is a view), and the name
    // can outlive the call (a created entry keeps it).
    const last = new Uint8Array(bytes.subarray(s, end));
    const parent = s === 0 ? start : this.walk(start, bytes.subarray(0, s), true, true);
    if (s === 0 && !isDir(parent.node)) {
      drop(parent.node);
      throw new SysError('ENOTDIR', 'not a directory');
    }
    return { parent, last, trailingSlash };
  }
}

export interface ResolveOptions {
  /** Follow a final symlink (default true). */
  follow?: boolean;
  /** The result must be a directory. */
  directory?: boolean;
  /** Where a relative path starts (default: the root). Not consumed. */
  at?: Location;
  /** An empty path names `at` itself (AT_EMPTY_PATH). */
  emptyPath?: boolean;
}

/**
 * Resolves `path` for `creds` with `root` as the task root. The result is held: the
 * caller releases it with release().
 */
export function resolve(root: Location, path: PathArg, creds: Credentials, options: ResolveOptions = {}): Location {
  return resolveAt(root, pathBytes(path), creds, options.at ?? root, options.follow ?? true, options.directory ?? false, options.emptyPath ?? false);
}

/** resolve() with its options spelled out: what the syscall path calls (no options object per call). */
export function resolveAt(root: Location, bytes: Uint8Array, creds: Credentials, at: Location, follow: boolean, directory: boolean, emptyPath: boolean): Location {
  checkPath(bytes, emptyPath);
  hold(at.node);
  if (bytes.length === 0) {
    if (directory && !isDir(at.node)) {
      drop(at.node);
      throw new SysError('ENOTDIR', 'not a directory');
    }
    return { mount: at.mount, node: at.node };
  }
  return new Resolver(creds, root).walkFrom(at.mount, at.node, bytes, follow, directory);
}
