import { corrupt } from './errors.js';
import { compareNames, type DirEntry } from './dirent.js';
import type { Image } from './image.js';
import { isDir, type Inode } from './inode.js';
import { formatNid } from './nid.js';

export interface WalkEntry {
  /** Path bytes from the root: "/" for the root, "/a/b" below it. */
  path: Uint8Array;
  inode: Inode;
  /** The dirent that led here (undefined for the root). */
  dirent: DirEntry | undefined;
  /** The parent directory (undefined for the root). */
  parent: Inode | undefined;
  depth: number;
}

export interface WalkOptions {
  /**
   * Refuse, as EUCLEAN, a directory whose names are not in strictly increasing byte order
   * (out of order, or the same name twice), as fsck does. The kernel's lookup assumes that
   * order; a tool that writes the tree to a host directory needs it so that each name is
   * made once (a duplicate could put a symlink where a directory of the same name is
   * expected next). Off by default: readers that only list keep what the image holds.
   */
  sorted?: boolean;
}

const SLASH = 0x2f;

function isDotOrDotDot(name: Uint8Array): boolean {
  return name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e));
}

function join(parent: Uint8Array, name: Uint8Array): Uint8Array {
  const base = parent.length === 1 ? 0 : parent.length;
  const out = new Uint8Array(base + 1 + name.length);
  out.set(parent.subarray(0, base));
  out[base] = SLASH;
  out.set(name, base + 1);
  return out;
}

/**
 * Visits every inode reachable from the root, depth first, each directory's children in
 * on-disk order. "." and ".." are not descended into. A directory met a second time (a
 * cycle, or a directory hard link, which EROFS cannot hold) is corruption: the walk
 * always terminates. Uses an explicit stack, so depth is bounded only by memory.
 * `visit` may return false to skip a directory's children.
 */
export function walk(image: Image, visit: (e: WalkEntry) => boolean | void, options: WalkOptions = {}): void {
  const sorted = options.sorted === true;
  const seenDirs = new Set<number>();
  const root = image.root();
  type Frame = { entry: WalkEntry; it: Iterator<DirEntry> | undefined; prev: Uint8Array | undefined };
  const rootEntry: WalkEntry = { path: new Uint8Array([SLASH]), inode: root, dirent: undefined, parent: undefined, depth: 0 };
  seenDirs.add(root.nid);
  const stack: Frame[] = [];
  if (visit(rootEntry) !== false) stack.push({ entry: rootEntry, it: image.readdir(root)[Symbol.iterator](), prev: undefined });
  while (stack.length) {
    const top = stack[stack.length - 1];
    const r = top.it!.next();
    if (r.done) {
      stack.pop();
      continue;
    }
    const d = r.value;
    if (sorted) {
      if (top.prev !== undefined && compareNames(top.prev, d.name) >= 0) {
        throw corrupt(`dirent of directory ${formatNid(top.entry.inode.nid)}`, d.offset, 'names are not sorted and unique');
      }
      top.prev = d.name;
    }
    if (isDotOrDotDot(d.name)) continue;
    if (d.name.includes(SLASH) || d.name.includes(0)) {
      throw corrupt(`dirent of directory ${formatNid(top.entry.inode.nid)}`, d.offset, 'name contains "/" or NUL');
    }
    const inode = image.inode(d.nid);
    const entry: WalkEntry = { path: join(top.entry.path, d.name), inode, dirent: d, parent: top.entry.inode, depth: top.entry.depth + 1 };
    if (isDir(inode)) {
      if (seenDirs.has(inode.nid)) {
        throw corrupt(`dirent of directory ${formatNid(top.entry.inode.nid)}`, d.offset, `directory ${formatNid(inode.nid)} is reachable twice (a cycle or a directory hard link)`);
      }
      seenDirs.add(inode.nid);
      if (visit(entry) !== false) stack.push({ entry, it: image.readdir(inode)[Symbol.iterator](), prev: undefined });
    } else {
      visit(entry);
    }
  }
}
