/**
 * What ZenFS's statSync returns for one of our inodes: the InodeLike fields, in
 * milliseconds where ZenFS counts time, and the extended attributes as ZenFS's
 * `Attributes`, decoded only when something asks for them (ZenFS's xattr calls read
 * `attributes` off a fresh statSync; ls-style walks never do).
 */
import { Attributes, type InodeLike } from '@zenfs/core';
import type { Inode as RawInode } from '@erofs-js/erofs';
import { SysError } from '@erofs-js/vfs';
import type { ErofsFS } from './filesystem.js';
import { nameToString } from './names.js';

const utf8 = new TextEncoder();
/** ZenFS's Attributes: a 4-byte count, then per entry two 4-byte sizes, the name and the value. */
const ATTR_HEAD = 8;
/**
 * ZenFS holds at most 3968 bytes per attribute (it keeps them inside a 4 KiB inode);
 * a larger one (EROFS allows 64 KiB) cannot be shown through ZenFS and is left out.
 */
const ATTR_MAX = 3968;

/** EROFS stores one timestamp per inode; Linux reports it as atime, mtime and ctime. */
function millis(sec: number, nsec: number): number {
  return sec * 1000 + nsec / 1e6;
}

export class ErofsInode implements InodeLike {
  ino: number;
  size: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** EROFS records no birth time; 0 is what Node reports on Linux when statx has none. */
  birthtimeMs = 0;
  /**
   * No inode flags. Not Immutable, though EROFS inodes are (statx says so): ZenFS answers
   * writes to immutable files with EPERM, and Linux with EROFS. Not NoAtime: the
   * filesystem's no_atime attribute already keeps reads from dirtying atime here, and an
   * inode flag would follow the file into a writable layer above (CopyOnWrite).
   */
  flags = 0;
  /** The NID: where the inode is in the image (ZenFS's "data" is the backend's own key). */
  data: number;
  version = 0;
  private attrs: Attributes | undefined;

  constructor(
    private readonly fs: ErofsFS,
    raw: RawInode,
    /** The path it was found at, to find its xattrs again when asked. */
    private readonly path: string,
  ) {
    this.ino = raw.ino;
    this.size = raw.size;
    this.mode = raw.mode;
    this.nlink = raw.nlink;
    this.uid = raw.uid;
    this.gid = raw.gid;
    this.rdev = raw.rdev;
    this.atimeMs = this.mtimeMs = this.ctimeMs = millis(raw.mtime, raw.mtimeNsec);
    this.data = raw.nid;
    // Keep the lazily built xattrs out of Object.assign and JSON copies.
    Object.defineProperty(this, 'attrs', { enumerable: false, writable: true, value: undefined });
    Object.defineProperty(this, 'fs', { enumerable: false });
    Object.defineProperty(this, 'path', { enumerable: false });
  }

  /** Every xattr our VFS shows the backend's credentials, in on-disk order. */
  get attributes(): Attributes {
    if (!this.attrs) {
      const all = [...this.fs.xattrs(this.path)].filter(([name, value]) => ATTR_HEAD + utf8.encode(name).length + value.length <= ATTR_MAX);
      let bytes = 4;
      for (const [name, value] of all) bytes += ATTR_HEAD + utf8.encode(name).length + value.length;
      // Room for one more attribute of the largest size: ZenFS's xattr.set adds it in place
      // before asking the backend to store it (which answers EROFS).
      const attrs = new Attributes(new ArrayBuffer(bytes + ATTR_MAX));
      for (const [name, value] of all) attrs.set(name, value);
      this.attrs = attrs;
    }
    return this.attrs;
  }

  set attributes(value: Attributes) {
    this.attrs = value;
  }
}

/**
 * The xattrs of the inode at `path` (not following a last symlink), through our VFS's
 * getxattr rules: trusted.* only for CAP_SYS_ADMIN, POSIX ACLs in their xattr form.
 */
export function readXattrs(fs: ErofsFS, path: string): Map<string, Uint8Array> {
  const d = fs.lookupPath(path);
  try {
    const out = new Map<string, Uint8Array>();
    for (const name of fs.vfs.xattrNames(d, fs.creds)) {
      try {
        out.set(nameToString(name), fs.vfs.xattrValue(d, name, fs.creds));
      } catch (e) {
        // Listed but not readable here (user.* on a symlink or device reads as absent on Linux).
        if (!(e instanceof SysError && e.code === 'ENODATA')) throw e;
      }
    }
    return out;
  } finally {
    d.decRef();
  }
}
