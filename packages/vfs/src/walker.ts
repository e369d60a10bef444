/**
 * The one Linux path walker. Every resolution in erofs-js goes through it: the mount
 * layer's (across mounts, for Task and the host controller), a single filesystem's (tests,
 * tools, the ZenFS backend: one "mount" holding the filesystem), and through those the
 * adapters. Filesystems supply one step each (FilesystemImpl.lookup); the walk itself, with
 * Linux's rules, is written once here:
 *  - a walk starts at the walk root (absolute paths), or at a given place (relative paths),
 *    and takes one component at a time;
 *  - every step first needs search permission on the current directory (EACCES) and a
 *    directory to search in (ENOTDIR);
 *  - "." stays (and does not enter a mount stacked on the current directory);
 *  - ".." at the walk root stays; at the root of a mount it first climbs to the mount
 *    point in the parent mount (repeatedly), then to the parent directory, and then
 *    enters whatever is mounted there;
 *  - a name is looked up in the current filesystem, and if a mount covers the result the
 *    walk enters the newest mount's root (mounts are always crossed, even for a last
 *    component that is not followed);
 *  - a symlink in the middle of a path, or at its end unless told not to follow, is read
 *    and its target walked in place: an absolute target restarts at the walk root, never
 *    at the root of the filesystem holding the link and never anywhere on the host. At
 *    most 40 links are followed in one resolution (ELOOP). An empty target (only a crafted
 *    image has one) adds nothing: the walk goes on from the link's directory.
 * Paths of 4096 bytes or more are ENAMETOOLONG, components over 255 bytes too (from the
 * filesystem's lookup); an empty path is ENOENT; a trailing slash demands a directory
 * and follows a final symlink.
 *
 * Places returned are held (their node has a reference): release with releasePlace().
 */
import type { FsNode } from './contract.js';
import type { Credentials } from './credentials.js';
import { SysError } from './errno.js';

/** What the walker needs of a mount: a filesystem tree attached somewhere in a tree of mounts. */
export interface WalkMount {
  /** The root node of the mounted filesystem. */
  readonly root: FsNode;
  /** The parent mount while connected; null at the top. */
  readonly parent: WalkMount | null;
  /** The directory of the parent this mount covers (null at the top). */
  readonly mountpoint: FsNode | null;
  /** Child mounts by the directory they cover. */
  readonly children: ReadonlyMap<FsNode, WalkMount>;
}

/** A place in a tree of mounts: a node of a mount's filesystem. */
export interface Place<M extends WalkMount = WalkMount> {
  readonly mount: M;
  readonly node: FsNode;
}

/** Choices a caller of the walk may make where Linux's answer depends on who is walking. */
export interface WalkPolicy {
  /**
   * An absolute symlink target about to be walked from the walk root: returns the bytes
   * to walk instead, or throws. (The ZenFS backend, mounted below "/", maps targets inside
   * its own mount point and refuses the others with EXDEV.) Default: the target itself.
   */
  absoluteTarget?(target: Uint8Array): Uint8Array;
  /** ".." at the walk root: Linux stays there; this may throw instead. */
  dotdotAtRoot?(): void;
}

/** A mount of one filesystem alone: the walk of a filesystem without a mount table. */
export function soleMount(root: FsNode): WalkMount {
  return { root, parent: null, mountpoint: null, children: NO_CHILDREN };
}
const NO_CHILDREN: ReadonlyMap<FsNode, WalkMount> = new Map();

export const PATH_MAX = 4096;
export const MAX_SYMLINKS = 40;

const SLASH = 0x2f;
const DOT = 0x2e;
const DOT_NAME = new Uint8Array([DOT]);
const utf8 = new TextEncoder();

export type PathArg = string | Uint8Array;

/** A path argument as bytes (a string is UTF-8). */
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

const isDirMode = (n: FsNode) => (n.mode & 0o170000) === 0o040000;
const isLinkMode = (n: FsNode) => (n.mode & 0o170000) === 0o120000;

/** One step: the filesystem's byte fast path when it has one. */
function step(dir: FsNode, buf: Uint8Array, start: number, end: number, creds: Credentials): FsNode {
  const fs = dir.fs;
  return fs.lookupBytes ? fs.lookupBytes(dir, buf, start, end, creds) : fs.lookup(dir, buf.subarray(start, end), creds);
}

/** Search permission on a directory (ENOTDIR, EACCES), as one lookup step checks it. */
export function checkSearchStep(dir: FsNode, creds: Credentials): void {
  dir.fs.lookup(dir, DOT_NAME, creds).decRef();
}

/** Takes a reference on a place's node; returns the place. */
export function holdPlace<P extends Place<WalkMount>>(p: P): P {
  p.node.incRef();
  return p;
}

/** Drops the reference a held place carries. */
export function releasePlace(p: Place<WalkMount>): void {
  p.node.decRef();
}

/** While a mount covers the place, moves to the root of the newest one. Consumes and returns a held place. */
export function crossMounts<M extends WalkMount>(p: Place<M>): Place<M> {
  let cur = p;
  for (let c = cur.mount.children.get(cur.node) as M | undefined; c; c = cur.mount.children.get(cur.node) as M | undefined) {
    c.root.incRef();
    const next = { mount: c, node: c.root };
    cur.node.decRef();
    cur = next;
  }
  return cur;
}

export interface WalkResult<M extends WalkMount = WalkMount> {
  parent: Place<M>;
  /** The last component, or null for a path with none ("/", or only slashes). */
  last: Uint8Array | null;
  trailingSlash: boolean;
}

/** One resolution: its symlink budget is shared by every walk it makes. */
export class Walker<M extends WalkMount = WalkMount> {
  links = 0;

  constructor(
    readonly creds: Credentials,
    /** The walk root: absolute paths and absolute symlink targets start here; ".." stops here. */
    readonly root: Place<M>,
    readonly policy: WalkPolicy = {},
  ) {}

  /**
   * Reads a symlink to follow it, counting it against the budget. The target may be empty
   * (a crafted image's link whose body starts with a NUL): following it then adds no
   * component, so the walk goes on from the link's directory, as Linux's does.
   */
  follow(link: FsNode): Uint8Array {
    if (++this.links > MAX_SYMLINKS) throw new SysError('ELOOP', 'too many levels of symbolic links');
    return link.fs.readlink(link);
  }

  /** "..": see the module comment. Consumes and returns a held place. */
  dotdot(cur: Place<M>): Place<M> {
    checkSearchStep(cur.node, this.creds);
    let m: M = cur.mount;
    let n = cur.node;
    let stay = false;
    for (;;) {
      if (m === this.root.mount && n === this.root.node) {
        this.policy.dotdotAtRoot?.();
        stay = true;
        break;
      }
      if (n !== m.root) break;
      if (!m.parent) {
        stay = true;
        break;
      }
      n = m.mountpoint!;
      m = m.parent as M;
    }
    const up = stay ? n : (n.parent ?? n);
    up.incRef();
    cur.node.decRef();
    return crossMounts({ mount: m, node: up });
  }

  /**
   * Walks `bytes` from `start` (held; consumed). Returns the result held.
   * `followLast`: follow a symlink named by the last component. `mustDir`: ENOTDIR unless
   * the result is a directory (a trailing slash implies both).
   */
  walk(start: Place<M>, bytes: Uint8Array, followLast: boolean, mustDir: boolean): Place<M> {
    return this.walkFrom(start.mount, start.node, bytes, followLast, mustDir);
  }

  /**
   * walk() from a place given as its two parts (`node` held; consumed). The held place
   * being walked stays in two variables: a step inside one mount, or the jump of an
   * absolute path to the root, makes no object (the rare steps, "..", a symlink's jump to
   * the root, a mount crossing, do).
   */
  walkFrom(mount: M, node: FsNode, bytes: Uint8Array, followLast: boolean, mustDir: boolean): Place<M> {
    if (bytes[0] === SLASH) {
      this.root.node.incRef();
      node.decRef();
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
          checkSearchStep(node, this.creds);
          continue;
        }
        if (n === 2 && buf[s] === DOT && buf[s + 1] === DOT) {
          const up = this.dotdot({ mount, node });
          mount = up.mount;
          node = up.node;
          continue;
        }
        const next = step(node, buf, s, pos, this.creds);
        if (isLinkMode(next) && (followLast || !isLast(buf, pos, saved))) {
          const last = isLast(buf, pos, saved);
          let target: Uint8Array;
          try {
            target = this.follow(next);
          } finally {
            next.decRef();
          }
          if (target[0] === SLASH) {
            if (this.policy.absoluteTarget) target = this.policy.absoluteTarget(target);
            this.root.node.incRef();
            node.decRef();
            mount = this.root.mount;
            node = this.root.node;
          }
          if (last && target[target.length - 1] === SLASH) mustDir = true;
          (saved ??= []).push({ buf, pos });
          buf = target;
          pos = 0;
          continue;
        }
        node.decRef();
        node = next;
        if (mount.children.size !== 0) {
          const r = crossMounts({ mount, node });
          mount = r.mount;
          node = r.node;
        }
      }
      if (mustDir && !isDirMode(node)) throw new SysError('ENOTDIR', 'not a directory');
      return { mount, node };
    } catch (e) {
      node.decRef();
      throw e;
    }
  }

  /**
   * Splits a path into its parent directory (walked, held) and last component, for
   * calls that create or name an entry (open with O_CREAT, mkdir, unlink, ...). `start`
   * is held and consumed.
   */
  walkParent(start: Place<M>, bytes: Uint8Array): WalkResult<M> {
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
    if (s === 0 && !isDirMode(parent.node)) {
      parent.node.decRef();
      throw new SysError('ENOTDIR', 'not a directory');
    }
    return { parent, last, trailingSlash };
  }
}

/**
 * One whole resolution of `bytes` (checked: ENOENT when empty unless `emptyPath`,
 * ENAMETOOLONG) from `at` (not consumed) with `root` as the walk root. The result is held.
 */
export function resolveAt<M extends WalkMount>(root: Place<M>, bytes: Uint8Array, creds: Credentials, at: Place<M>, follow: boolean, directory: boolean, emptyPath: boolean): Place<M> {
  checkPath(bytes, emptyPath);
  at.node.incRef();
  if (bytes.length === 0) {
    if (directory && !isDirMode(at.node)) {
      at.node.decRef();
      throw new SysError('ENOTDIR', 'not a directory');
    }
    return { mount: at.mount, node: at.node };
  }
  return new Walker<M>(creds, root).walkFrom(at.mount, at.node, bytes, follow, directory);
}
