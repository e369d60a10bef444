/**
 * The layers of an overlay and what it asks of their real nodes, through the filesystem
 * contract only, with the mounter's credentials (Linux's overlayfs does every real
 * operation with the credentials of whoever mounted it; here that is root with every
 * capability and no umask).
 */
import { S_IFCHR, S_IFDIR, S_IFMT, S_IFREG } from '@erofs-js/erofs';
import { O_DIRECTORY, O_RDONLY, ROOT, nameKey, type AnyFilesystem, type Credentials, type Filesystem, type FsNode } from '@erofs-js/vfs';
import { XATTR_OPAQUE, XATTR_WHITEOUT, keyOf } from './names.js';

/** Root, every capability, umask 0: the credentials real operations run with. */
export const MOUNTER: Credentials = Object.freeze({ ...ROOT, umask: 0 });

/** A lower layer: a read-only filesystem and what the overlay needs to know of it. */
export interface OverlayLayer {
  fs: AnyFilesystem;
  /** How mountinfo's lowerdir= names it (default: "layerN"). */
  name?: string;
  /**
   * The filesystem's UUID (16 bytes): copy-up writes origin handles naming it, and a
   * copied-up file keeps the lower st_dev/st_ino. Without one (or all zero) origins are
   * written as "unknown" and a copied-up file shows the upper inode.
   */
  uuid?: Uint8Array;
  /**
   * Whether a POSIX ACL can be set on (or removed from) an object that is still on this
   * layer, by copying it up first. Linux checks the real inode before any copy-up and
   * answers EOPNOTSUPP when its filesystem has no set_acl, as EROFS has none: default true,
   * false from erofsLayer(). (Copy-up itself carries ACLs over from any layer.)
   */
  aclSet?: boolean;
}

/** An EROFS filesystem as a layer: its superblock UUID, and EROFS's lack of set_acl. */
export function erofsLayer(fs: Filesystem, name?: string): OverlayLayer {
  const uuid = fs.image.sb.uuid;
  return { fs, name, uuid: uuid.some((b) => b !== 0) ? uuid.slice() : undefined, aclSet: false };
}

/**
 * The errno name an error carries. By its code, not by class: a layer may come from another
 * copy of @erofs-js/vfs (a bundle, a dist beside sources) whose SysError is another class.
 */
export function errnoOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** A real lookup of one name: the node held, or null where Linux's overlay reads "nothing here" (ENOENT, ENAMETOOLONG). */
export function realLookup(fs: AnyFilesystem, dir: FsNode, name: Uint8Array): FsNode | null {
  try {
    return fs.lookupOrNull ? fs.lookupOrNull(dir, name, MOUNTER) : fs.lookup(dir, name, MOUNTER);
  } catch (e) {
    const c = errnoOf(e);
    if (c === 'ENOENT' || c === 'ENAMETOOLONG') return null;
    throw e;
  }
}

const xattrKeys = new Map<string, Uint8Array>();

/** A real xattr's value, or null when it is absent (ENODATA) or the filesystem has none (EOPNOTSUPP). */
export function realXattr(fs: AnyFilesystem, n: FsNode, name: string): Uint8Array | null {
  let key = xattrKeys.get(name);
  if (key === undefined) {
    key = keyOf(name);
    // The names asked are the overlay's own few (opaque, whiteout, origin, ...).
    if (xattrKeys.size < 64) xattrKeys.set(name, key);
  }
  try {
    // Most objects have no xattrs at all: the list's size says so without an ENODATA thrown.
    if (fs.listxattr(n, null, MOUNTER) === 0) return null;
    const size = fs.getxattr(n, key, null, MOUNTER);
    const out = new Uint8Array(size);
    if (size > 0) fs.getxattr(n, key, out, MOUNTER);
    return out;
  } catch (e) {
    const c = errnoOf(e);
    if (c === 'ENODATA' || c === 'EOPNOTSUPP') return null;
    throw e;
  }
}

/** The real xattr names of a node (as the filesystem lists them to the mounter). */
export function realXattrNames(fs: AnyFilesystem, n: FsNode): string[] {
  const size = fs.listxattr(n, null, MOUNTER);
  if (size === 0) return [];
  const buf = new Uint8Array(size);
  const got = fs.listxattr(n, buf, MOUNTER);
  const names: string[] = [];
  let start = 0;
  for (let i = 0; i < got; i++) {
    if (buf[i] === 0) {
      if (i > start) names.push(nameKey(buf.subarray(start, i)));
      start = i + 1;
    }
  }
  return names;
}

/**
 * Whether a real node is a whiteout: a character device 0:0, or a zero-size regular file
 * with trusted.overlay.whiteout (Linux honours that form in lookups in every layer).
 */
export function isWhiteout(fs: AnyFilesystem, n: FsNode): boolean {
  const type = n.mode & S_IFMT;
  if (type === S_IFCHR) return fs.stat(n).rdev === 0;
  if (type === S_IFREG && fs.stat(n).size === 0) return realXattr(fs, n, XATTR_WHITEOUT) !== null;
  return false;
}

/** trusted.overlay.opaque of a directory: "y" (opaque), "x" (may hold xattr whiteouts) or null. */
export function opaqueValue(fs: AnyFilesystem, n: FsNode): 'y' | 'x' | null {
  if ((n.mode & S_IFMT) !== S_IFDIR) return null;
  const v = realXattr(fs, n, XATTR_OPAQUE);
  if (!v || v.length !== 1) return null;
  return v[0] === 0x79 ? 'y' : v[0] === 0x78 ? 'x' : null;
}

/** One real directory entry. */
export interface RealEntry {
  key: string;
  ino: number;
  /** d_type. */
  type: number;
}

/** Every entry of a real directory in its getdents64 order ("." and ".." included), read with the mounter's credentials. */
export function readRealDir(fs: AnyFilesystem, dir: FsNode): RealEntry[] {
  const f = fs.open(dir, O_RDONLY | O_DIRECTORY, MOUNTER);
  const out: RealEntry[] = [];
  try {
    const buf = dirBuffer;
    const dv = new DataView(buf.buffer);
    let n: number;
    while ((n = f.getdents64(buf)) > 0) {
      // linux_dirent64 records read in place: { u64 ino, s64 off, u16 reclen, u8 type, name NUL }.
      for (let p = 0; p < n; ) {
        const reclen = dv.getUint16(p + 16, true);
        if (reclen < 20 || p + reclen > n) throw new RangeError(`bad d_reclen ${reclen} at ${p}`);
        let end = p + 19;
        while (end < p + reclen && buf[end] !== 0) end++;
        out.push({ key: nameKey(buf.subarray(p + 19, end)), ino: dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 2 ** 32, type: buf[p + 18] });
        p += reclen;
      }
    }
  } finally {
    f.close();
  }
  return out;
}

/** The buffer directories are read into (calls are synchronous: one is enough). */
const dirBuffer = new Uint8Array(32768);
