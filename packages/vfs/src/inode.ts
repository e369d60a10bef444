/**
 * The VFS inode: one per NID while anything references it (hard links share it). It
 * wraps the decoder's plain inode value and keeps what is worth keeping per inode: the
 * decoded access ACL, and (through the filesystem's bounded cache) decoded directory
 * blocks for getdents.
 */
import {
  DataLayout,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  splitDev,
  type DirEntry,
  type Inode as RawInode,
} from '@erofs-js/erofs';
import { MAY_WRITE, checkPermission, parsePosixAcl, type Credentials, type PosixAcl } from './credentials.js';
import { SysError, decoding } from './errno.js';
import type { Filesystem } from './filesystem.js';

export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_CTIME = 0x80;
export const STATX_INO = 0x100;
export const STATX_SIZE = 0x200;
export const STATX_BLOCKS = 0x400;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;

export const STATX_ATTR_COMPRESSED = 0x4;
export const STATX_ATTR_IMMUTABLE = 0x10;
export const STATX_ATTR_AUTOMOUNT = 0x1000;
export const STATX_ATTR_MOUNT_ROOT = 0x2000;
export const STATX_ATTR_DAX = 0x200000;

/** The mask Linux returns for an EROFS inode: basic stats without atime (the mount is noatime by being read-only). */
export const EROFS_STATX_MASK = STATX_BASIC_STATS & ~STATX_ATIME;
/** Attributes Linux declares as supported: EROFS's two, plus the three the VFS always adds. */
export const EROFS_STATX_ATTRIBUTES_MASK =
  STATX_ATTR_COMPRESSED | STATX_ATTR_IMMUTABLE | STATX_ATTR_AUTOMOUNT | STATX_ATTR_MOUNT_ROOT | STATX_ATTR_DAX;

/** struct stat, with times as seconds and nanoseconds. */
export interface Stat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  /** 512-byte units. */
  blocks: number;
  atime: number;
  atimeNsec: number;
  mtime: number;
  mtimeNsec: number;
  ctime: number;
  ctimeNsec: number;
}

/** struct statx. STATX_ATTR_MOUNT_ROOT and the mount id are the mount layer's to add. */
export interface Statx {
  mask: number;
  blksize: number;
  attributes: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: number;
  size: number;
  blocks: number;
  attributesMask: number;
  atime: number;
  atimeNsec: number;
  btime: number;
  btimeNsec: number;
  ctime: number;
  ctimeNsec: number;
  mtime: number;
  mtimeNsec: number;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

export class Inode {
  /** Dentries (and other holders) referencing this inode. */
  refs = 0;
  /** undefined: not loaded yet; null: no access ACL. */
  private aclCache: PosixAcl | null | undefined;

  constructor(
    readonly fs: Filesystem,
    /** The decoder's inode value. */
    readonly raw: RawInode,
  ) {}

  get nid(): number {
    return this.raw.nid;
  }
  get ino(): number {
    return this.raw.ino;
  }
  get mode(): number {
    return this.raw.mode;
  }
  get uid(): number {
    return this.raw.uid;
  }
  get gid(): number {
    return this.raw.gid;
  }
  get size(): number {
    return this.raw.size;
  }
  get type(): number {
    return this.raw.mode & S_IFMT;
  }
  get isDir(): boolean {
    return (this.raw.mode & S_IFMT) === S_IFDIR;
  }
  get isReg(): boolean {
    return (this.raw.mode & S_IFMT) === S_IFREG;
  }
  get isSymlink(): boolean {
    return (this.raw.mode & S_IFMT) === S_IFLNK;
  }
  get isCompressed(): boolean {
    return this.raw.layout === DataLayout.CompressedFull || this.raw.layout === DataLayout.CompressedCompact;
  }

  /** The access ACL (system.posix_acl_access), decoded once; null when there is none. */
  acl(): PosixAcl | null {
    if (this.aclCache !== undefined) return this.aclCache;
    const value = decoding(() => this.fs.image.getXattr(this.raw, 'system.posix_acl_access'));
    this.aclCache = value ? parsePosixAcl(value) : null;
    return this.aclCache;
  }

  /**
   * Linux's inode_permission on a read-only filesystem: a write to a regular file,
   * directory or symlink is EROFS before anything else; then the mode, ACL and
   * capabilities decide (EACCES).
   */
  permission(c: Credentials, mask: number): void {
    if (mask & MAY_WRITE) {
      const t = this.raw.mode & S_IFMT;
      if (t === S_IFREG || t === S_IFDIR || t === S_IFLNK) throw new SysError('EROFS', 'read-only file system');
    }
    checkPermission(c, this.raw, mask, () => this.acl());
  }

  /**
   * The entries of the directory block starting at `start` (a multiple of the block
   * size), "." and ".." included, from the filesystem's bounded block cache.
   */
  dirBlock(start: number): readonly DirEntry[] {
    return this.fs.dirBlock(this, start);
  }

  stat(): Stat {
    const r = this.raw;
    return {
      dev: this.fs.dev,
      ino: r.ino,
      mode: r.mode,
      nlink: r.nlink,
      uid: r.uid,
      gid: r.gid,
      rdev: r.rdev,
      size: r.size,
      blksize: this.fs.image.blockSize,
      blocks: r.blocks,
      atime: r.mtime,
      atimeNsec: r.mtimeNsec,
      mtime: r.mtime,
      mtimeNsec: r.mtimeNsec,
      ctime: r.mtime,
      ctimeNsec: r.mtimeNsec,
    };
  }

  statx(): Statx {
    const r = this.raw;
    const rdev = splitDev(r.rdev);
    const dev = splitDev(this.fs.dev);
    return {
      mask: EROFS_STATX_MASK,
      blksize: this.fs.image.blockSize,
      attributes: STATX_ATTR_IMMUTABLE | (this.isCompressed ? STATX_ATTR_COMPRESSED : 0),
      nlink: r.nlink,
      uid: r.uid,
      gid: r.gid,
      mode: r.mode,
      ino: r.ino,
      size: r.size,
      blocks: r.blocks,
      attributesMask: EROFS_STATX_ATTRIBUTES_MASK,
      atime: r.mtime,
      atimeNsec: r.mtimeNsec,
      btime: 0,
      btimeNsec: 0,
      ctime: r.mtime,
      ctimeNsec: r.mtimeNsec,
      mtime: r.mtime,
      mtimeNsec: r.mtimeNsec,
      rdevMajor: rdev.major,
      rdevMinor: rdev.minor,
      devMajor: dev.major,
      devMinor: dev.minor,
    };
  }
}
